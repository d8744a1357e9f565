//! `auth.json`: the credential store.
//!
//! Schema (version 1, documented in the README):
//! `{"version": 1, "credentials": {"<provider>": {"provider", "method", "secret", "saved_at",
//! "expires_at"?, "account"?}}}`. Unknown keys are kept, so a newer pincer's additions survive an
//! older one's rewrite. The file is 0600, replaced atomically, and every read-modify-write holds
//! `auth.json.lock`: [`Store::lock`] hands out the guard that [`Store::save`] demands, so an
//! unlocked write does not compile. A file that does not parse is reported and never overwritten.

use std::collections::BTreeMap;
#[cfg(unix)]
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use super::credential::Method;
use crate::fsutil::{self, FileLock, PRIVATE_FILE_MODE};
use crate::secret::Secret;

pub const AUTH_FILE: &str = "auth.json";
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthFile {
    pub version: u32,
    #[serde(default)]
    pub credentials: BTreeMap<String, StoredCredential>,
    #[serde(flatten)]
    pub unknown: serde_json::Map<String, serde_json::Value>,
}

impl Default for AuthFile {
    fn default() -> Self {
        AuthFile { version: SCHEMA_VERSION, credentials: BTreeMap::new(), unknown: Default::default() }
    }
}

/// One credential. `Debug` is safe: the secret is a [`Secret`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredCredential {
    pub provider: String,
    pub method: Method,
    pub secret: Secret<String>,
    pub saved_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// An MCP server's sign-in (entries `mcp:NAME`, see `auth::mcp_sign_in`). Older pincers
    /// keep it as an unknown key: the rest of the entry is an ordinary OAuth credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp: Option<super::mcp_sign_in::McpSignIn>,
    #[serde(flatten)]
    pub unknown: serde_json::Map<String, serde_json::Value>,
}

/// Proof that the caller holds `auth.json.lock`.
#[derive(Debug)]
pub struct StoreGuard(#[allow(dead_code)] FileLock);

#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
}

impl Store {
    pub fn in_home(home: &Path) -> Store {
        Store { path: home.join(AUTH_FILE) }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the store without locking: the atomic rename means a reader sees a whole file.
    pub fn load(&self) -> anyhow::Result<AuthFile> {
        self.check_ownership()?;
        let Some(mut bytes) = fsutil::read_optional(&self.path)? else {
            return Ok(AuthFile::default());
        };
        self.warn_if_readable_by_others();
        let parsed = parse(&bytes);
        bytes.zeroize();
        parsed.with_context(|| format!("{} is not a valid pincer credential file", self.path.display()))
    }

    /// Locks the store for a read-modify-write and reads it.
    pub fn lock(&self) -> anyhow::Result<(AuthFile, StoreGuard)> {
        if let Some(dir) = self.path.parent() {
            fsutil::ensure_private_dir(dir)?;
        }
        let guard = StoreGuard(FileLock::acquire(&self.path)?);
        let file = self.load()?;
        Ok((file, guard))
    }

    /// Writes the store; the guard proves the lock is held.
    pub fn save(&self, file: &AuthFile, _guard: &StoreGuard) -> anyhow::Result<()> {
        if std::fs::symlink_metadata(&self.path).is_ok_and(|m| m.file_type().is_symlink()) {
            anyhow::bail!(
                "{} is a symbolic link; pincer writes it by atomic rename, which would replace the link with a file\nhint: set PINCER_HOME to the folder that holds the real file",
                self.path.display()
            );
        }
        let mut json = serde_json::to_vec_pretty(file).context("cannot encode credentials")?;
        json.push(b'\n');
        let written = fsutil::write_atomic(&self.path, &json, PRIVATE_FILE_MODE);
        json.zeroize();
        written
    }

    /// Like ssh with keys: credentials owned by someone else are not used, and a home folder that
    /// others can write to (and so swap files in) is worth a warning.
    #[cfg(unix)]
    fn check_ownership(&self) -> anyhow::Result<()> {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if let Ok(meta) = std::fs::metadata(&self.path)
            && meta.uid() != me
        {
            anyhow::bail!(
                "{} belongs to another user (uid {}, you are uid {me}); pincer will not use someone else's credentials\nhint: set PINCER_HOME to your own folder, or fix the owner with chown",
                self.path.display(),
                meta.uid()
            );
        }
        if let Some(dir) = self.path.parent()
            && let Ok(meta) = std::fs::metadata(dir)
            && meta.permissions().mode() & 0o022 != 0
        {
            crate::notice::warn(&format!(
                "{} can be written by other users, who could replace your credentials; run `chmod 700 {}`",
                dir.display(),
                dir.display()
            ));
        }
        Ok(())
    }

    /// Windows has owners and ACLs, not uids and modes: a file under the user's profile is
    /// private to that user by default, and this check has no cheap equivalent there.
    #[cfg(not(unix))]
    fn check_ownership(&self) -> anyhow::Result<()> {
        Ok(())
    }

    #[cfg(not(unix))]
    fn warn_if_readable_by_others(&self) {}

    #[cfg(unix)]
    fn warn_if_readable_by_others(&self) {
        if let Ok(meta) = std::fs::metadata(&self.path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                crate::notice::warn(&format!(
                    "{} is readable by other users (mode {mode:o}); run `chmod 600 {}` (pincer sets 0600 on its next write)",
                    self.path.display(),
                    self.path.display()
                ));
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum ParseError {
    // serde's own messages can quote file content, a secret included: give only the position.
    #[error(
        "{what} at line {line}, column {column}\nhint: fix the file by hand or move it aside; pincer will not overwrite it"
    )]
    Invalid { what: &'static str, line: usize, column: usize },
    #[error(
        "it has schema version {0}, newer than this pincer understands ({SCHEMA_VERSION})\nhint: upgrade pincer; it will not overwrite a newer file"
    )]
    NewerVersion(u32),
    /// A field that is missing, empty or of the wrong kind, named (never quoted).
    #[error(
        "{what}{}\nhint: fix that field by hand, or move the file aside and log in again; pincer will not overwrite it",
        position.map(|(line, column)| format!(" (line {line}, column {column})")).unwrap_or_default()
    )]
    Field { what: String, position: Option<(usize, usize)> },
}

/// Parses `auth.json` content (no I/O). Errors give a position, never content.
pub fn parse_auth_json(bytes: &[u8]) -> anyhow::Result<AuthFile> {
    Ok(parse(bytes)?)
}

fn parse(bytes: &[u8]) -> Result<AuthFile, ParseError> {
    let invalid = |e: serde_json::Error| {
        let what = match e.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => "invalid JSON",
            _ => "unexpected content",
        };
        ParseError::Invalid { what, line: e.line(), column: e.column() }
    };
    // Check the version before the shape, so a newer schema gets the right message. Only the
    // version is read here, so no copy of a secret is made outside a `Secret`.
    #[derive(Deserialize)]
    struct VersionOnly {
        #[serde(default)]
        version: Option<serde_json::Number>,
    }
    let head: VersionOnly = serde_json::from_slice(bytes).map_err(invalid)?;
    let version = head.version.and_then(|v| v.as_u64()).unwrap_or(0);
    if version > u64::from(SCHEMA_VERSION) {
        return Err(ParseError::NewerVersion(u32::try_from(version).unwrap_or(u32::MAX)));
    }
    if version != u64::from(SCHEMA_VERSION) {
        return Err(ParseError::Invalid { what: "missing or unknown \"version\"", line: 1, column: 1 });
    }
    // serde's messages name no field path (and may quote content): name the field ourselves.
    let field = super::fields::first_problem(bytes);
    match (serde_json::from_slice(bytes), field) {
        (Ok(file), None) => Ok(file),
        (Ok(_), Some(what)) => Err(ParseError::Field { what, position: None }),
        (Err(e), Some(what)) => Err(ParseError::Field { what, position: Some((e.line(), e.column())) }),
        (Err(e), None) => Err(invalid(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(secret: &str) -> StoredCredential {
        StoredCredential {
            provider: "anthropic".into(),
            method: Method::OAuth,
            secret: Secret::new(secret.into()),
            saved_at: "2026-11-28T10:00:00Z".parse().unwrap(),
            expires_at: None,
            account: None,
            mcp: None,
            unknown: Default::default(),
        }
    }

    #[test]
    fn round_trip_keeps_unknown_keys_and_is_0600() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::in_home(dir.path());
        std::fs::write(
            store.path(),
            r#"{"version":1,"future":{"x":1},"credentials":{"openai":{"provider":"openai","method":"api_key","secret":"k","saved_at":"2026-01-01T00:00:00Z","label":"mine"}}}"#,
        )
        .unwrap();
        let (mut file, guard) = store.lock().unwrap();
        file.credentials.insert("anthropic".into(), entry("tok"));
        store.save(&file, &guard).unwrap();
        let text = std::fs::read_to_string(store.path()).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["future"]["x"], 1);
        assert_eq!(v["credentials"]["openai"]["label"], "mine");
        assert_eq!(v["credentials"]["anthropic"]["secret"], "tok");
        assert_eq!(v["credentials"]["anthropic"]["method"], "oauth");
        let mode = std::fs::metadata(store.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn corrupt_file_is_reported_with_path_and_position_without_content() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::in_home(dir.path());
        let corrupt = r#"{"version":1,"credentials":{"anthropic":"sk-ant-oat01-LEAKME"}}"#;
        std::fs::write(store.path(), corrupt).unwrap();
        let err = format!("{:#}", store.lock().unwrap_err());
        assert!(err.contains(&store.path().display().to_string()), "{err}");
        assert!(err.contains("line 1"), "{err}");
        assert!(!err.contains("LEAKME"), "{err}");
        assert_eq!(std::fs::read_to_string(store.path()).unwrap(), corrupt);
        std::fs::write(store.path(), "{not json").unwrap();
        assert!(format!("{:#}", store.load().unwrap_err()).contains("invalid JSON"));
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::in_home(dir.path());
        std::fs::write(store.path(), r#"{"version":2,"credentials":{}}"#).unwrap();
        let err = format!("{:#}", store.load().unwrap_err());
        assert!(err.contains("schema version 2"), "{err}");
    }

    #[test]
    fn a_symlinked_auth_json_is_read_but_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        std::fs::write(&real, r#"{"version":1,"credentials":{}}"#).unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir(&home).unwrap();
        std::os::unix::fs::symlink(&real, home.join(AUTH_FILE)).unwrap();
        let store = Store::in_home(&home);
        let (file, guard) = store.lock().unwrap();
        let err = format!("{:#}", store.save(&file, &guard).unwrap_err());
        assert!(err.contains("is a symbolic link"), "{err}");
        assert!(std::fs::symlink_metadata(store.path()).unwrap().file_type().is_symlink());
    }

    #[test]
    fn missing_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Store::in_home(dir.path()).load().unwrap().credentials.is_empty());
    }

    #[test]
    fn empty_or_wrong_fields_are_named_without_their_content() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::in_home(dir.path());
        let cases = [
            (r#""secret":"""#, "`credentials.anthropic.secret` is empty"),
            (r#""secret":"sk-ant-oat01-LEAKME","saved_at":"""#, "`credentials.anthropic.saved_at` is empty"),
            (r#""secret":["sk-ant-oat01-LEAKME"]"#, "`credentials.anthropic.secret` should be a string, not an array"),
        ];
        for (fields, expected) in cases {
            let body = if fields.contains("saved_at") {
                format!(
                    r#"{{"version":1,"credentials":{{"anthropic":{{"provider":"anthropic","method":"oauth",{fields}}}}}}}"#
                )
            } else {
                format!(
                    r#"{{"version":1,"credentials":{{"anthropic":{{"provider":"anthropic","method":"oauth",{fields},"saved_at":"2026-01-01T00:00:00Z"}}}}}}"#
                )
            };
            std::fs::write(store.path(), &body).unwrap();
            let err = format!("{:#}", store.load().unwrap_err());
            assert!(err.contains(&store.path().display().to_string()), "{err}");
            assert!(err.contains(expected), "{body}\n{err}");
            assert!(err.contains("hint:") && !err.contains("LEAKME"), "{err}");
            assert_eq!(std::fs::read_to_string(store.path()).unwrap(), body, "the file is left as it was");
        }
    }
}
