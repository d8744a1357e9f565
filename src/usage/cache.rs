//! `usage.json`: the last usage figures seen per credential and source, with when they were seen.
//!
//! Not secret, but written the same careful way (atomic replace under `usage.json.lock`) because
//! chats and `auth status --probe` may update it at the same time. Credentials are keyed by
//! provider and masked token (`anthropic:sk-ant-oat01-abc…xyz`), never by the secret. A file that
//! does not parse is a stale cache, not user data: it is reported once and replaced. A symlinked
//! `usage.json` is written through to its target (as `config.toml` is), never replaced by a file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::{UsageSnapshot, UsageSource};
use crate::auth::credential::mask;
use crate::fsutil::{self, FileLock, PRIVATE_FILE_MODE};

pub const USAGE_FILE: &str = "usage.json";
const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Default, Serialize, Deserialize)]
struct UsageFile {
    version: u32,
    #[serde(default)]
    credentials: BTreeMap<String, CredentialUsage>,
}

/// The newest snapshot from each source.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct CredentialUsage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<UsageSnapshot>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<UsageSnapshot>,
}

impl CredentialUsage {
    /// The most recently seen snapshot of either source.
    pub fn latest(&self) -> Option<&UsageSnapshot> {
        match (&self.endpoint, &self.headers) {
            (Some(e), Some(h)) => Some(if h.seen_at > e.seen_at { h } else { e }),
            (e, h) => e.as_ref().or(h.as_ref()),
        }
    }
}

/// The key of a credential in `usage.json`.
pub fn credential_key(provider: &str, secret: &str) -> String {
    format!("{provider}:{}", mask(secret))
}

#[derive(Debug, Clone)]
pub struct UsageCache {
    path: PathBuf,
}

impl UsageCache {
    pub fn in_home(home: &Path) -> UsageCache {
        UsageCache { path: home.join(USAGE_FILE) }
    }

    pub fn get(&self, key: &str) -> CredentialUsage {
        self.read().credentials.remove(key).unwrap_or_default()
    }

    /// Stores a snapshot as the newest of its source for `key`; header figures are merged into
    /// the ones already known (see [`UsageSnapshot::merge_headers`]).
    pub fn record(&self, key: &str, snapshot: UsageSnapshot) -> anyhow::Result<()> {
        if let Some(dir) = self.path.parent() {
            fsutil::ensure_private_dir(dir)?;
        }
        let _lock = FileLock::acquire(&self.path)?;
        let mut file = self.read();
        file.version = SCHEMA_VERSION;
        let entry = file.credentials.entry(key.to_string()).or_default();
        match (snapshot.source, &mut entry.headers) {
            (UsageSource::Endpoint, _) => entry.endpoint = Some(snapshot),
            // Headers update the windows they carry and keep the others.
            (UsageSource::Headers, Some(known)) => known.merge_headers(snapshot),
            (UsageSource::Headers, None) => entry.headers = Some(snapshot),
        }
        let mut json = serde_json::to_vec_pretty(&file).context("cannot encode usage")?;
        json.push(b'\n');
        fsutil::write_atomic(&self.path, &json, PRIVATE_FILE_MODE)
    }

    fn read(&self) -> UsageFile {
        match fsutil::read_optional(&self.path) {
            Ok(Some(bytes)) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                crate::notice::warn(&format!(
                    "{} is not valid ({e}); its cached figures are ignored and it will be rewritten",
                    self.path.display()
                ));
                UsageFile::default()
            }),
            Ok(None) => UsageFile::default(),
            Err(e) => {
                crate::notice::warn(&format!("{e:#}"));
                UsageFile::default()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::Window;

    fn snap(source: UsageSource, at: &str, pct: f64) -> UsageSnapshot {
        UsageSnapshot {
            source,
            seen_at: at.parse().unwrap(),
            windows: vec![Window {
                id: "five_hour".into(),
                label: "5-hour".into(),
                percent: Some(pct),
                resets_at: None,
                status: None,
                severity: None,
            }],
            extra_usage: None,
            status: None,
            representative_claim: None,
            resets_at: None,
        }
    }

    #[test]
    fn records_per_source_and_picks_latest() {
        let dir = tempfile::tempdir().unwrap();
        let cache = UsageCache::in_home(dir.path());
        let key = credential_key("anthropic", "sk-ant-oat01-abcdefghijklmnopqrstuvwxyz");
        assert!(!key.contains("ghijklmnop"));
        cache.record(&key, snap(UsageSource::Headers, "2026-01-01T00:00:00Z", 10.0)).unwrap();
        cache.record(&key, snap(UsageSource::Endpoint, "2026-01-02T00:00:00Z", 20.0)).unwrap();
        let got = cache.get(&key);
        assert_eq!(got.headers.as_ref().unwrap().windows[0].percent, Some(10.0));
        assert_eq!(got.latest().unwrap().source, UsageSource::Endpoint);
        assert!(cache.get("other").latest().is_none());
    }

    #[test]
    fn header_figures_update_their_windows_and_keep_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let cache = UsageCache::in_home(dir.path());
        let mut both = snap(UsageSource::Headers, "2026-01-01T00:00:00Z", 10.0);
        let mut weekly = both.windows[0].clone();
        weekly.id = "seven_day".into();
        weekly.percent = Some(60.0);
        both.windows.push(weekly);
        cache.record("k", both).unwrap();
        // A 429 carrying only the 5-hour window, now used up.
        let mut limited = snap(UsageSource::Headers, "2026-01-01T01:00:00Z", 100.0);
        limited.status = Some("rejected".into());
        limited.windows[0].status = Some("rejected".into());
        cache.record("k", limited).unwrap();
        let got = cache.get("k").headers.unwrap();
        let pct: Vec<(String, Option<f64>)> = got.windows.iter().map(|w| (w.id.clone(), w.percent)).collect();
        assert_eq!(pct, [("five_hour".to_string(), Some(100.0)), ("seven_day".to_string(), Some(60.0))]);
        assert_eq!(got.status.as_deref(), Some("rejected"));
        assert_eq!(got.seen_at, "2026-01-01T01:00:00Z".parse::<jiff::Timestamp>().unwrap());
        assert_eq!(got.exhausted_windows(), ["5-hour"]);
    }

    #[test]
    fn corrupt_cache_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let cache = UsageCache::in_home(dir.path());
        std::fs::write(dir.path().join(USAGE_FILE), "{oops").unwrap();
        assert!(cache.get("k").latest().is_none());
        cache.record("k", snap(UsageSource::Headers, "2026-01-01T00:00:00Z", 1.0)).unwrap();
        assert!(cache.get("k").headers.is_some());
    }

    #[test]
    fn a_symlinked_cache_is_written_through_and_the_link_kept() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("elsewhere.json");
        let home = dir.path().join("home");
        std::fs::create_dir(&home).unwrap();
        std::os::unix::fs::symlink(&real, home.join(USAGE_FILE)).unwrap();
        let cache = UsageCache::in_home(&home);
        cache.record("k", snap(UsageSource::Headers, "2026-01-01T00:00:00Z", 1.0)).unwrap();
        cache.record("k", snap(UsageSource::Endpoint, "2026-01-02T00:00:00Z", 2.0)).unwrap();
        assert!(std::fs::symlink_metadata(home.join(USAGE_FILE)).unwrap().file_type().is_symlink());
        let text = std::fs::read_to_string(&real).unwrap();
        assert!(text.contains("\"headers\"") && text.contains("\"endpoint\""), "{text}");
        assert!(cache.get("k").endpoint.is_some());
    }
}
