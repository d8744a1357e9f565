//! `config.toml`: models, the default model and per-provider options.
//!
//! The file is the user's: pincer edits it with `toml_edit`, so comments, order and unknown keys
//! survive, and it only ever adds what is missing — never changes a value the user set.

use std::path::{Path, PathBuf};

use anyhow::Context;
use toml_edit::{DocumentMut, Item, Table, value};

use crate::auth::resolve::ANTHROPIC;
use crate::fsutil::{self, FileLock};

pub const CONFIG_FILE: &str = "config.toml";
/// Not secret (credentials live in auth.json), but private like the rest of the home folder.
const CONFIG_FILE_MODE: u32 = 0o600;
pub const KEY_DEFAULT_MODEL: &str = "default_model";
pub const KEY_MODELS: &str = "models";
/// Names tried, in order, for the Anthropic model that login adds.
const ANTHROPIC_MODEL_NAMES: &[&str] = &["sonnet", "claude-sonnet", "anthropic-sonnet"];

const NEW_FILE_HEADER: &str = "\
# pincer configuration. Comments and unknown keys are kept when pincer edits this file.
# default_model: a name from [models] or \"provider/model-id\".
";

/// A configured model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelEntry {
    pub name: String,
    pub provider: String,
    pub model: String,
    pub base_url: Option<String>,
    pub max_tokens: Option<u64>,
    pub temperature: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct Config {
    path: PathBuf,
    doc: DocumentMut,
}

/// What [`Config::ensure_anthropic_model`] changed, for the login summary.
#[derive(Debug, Default, PartialEq)]
pub struct Changes {
    pub added_model: Option<String>,
    pub set_default: Option<String>,
}

impl Config {
    pub fn path_in(home: &Path) -> PathBuf {
        home.join(CONFIG_FILE)
    }

    /// Reads `config.toml`; a missing file is an empty config.
    pub fn load(home: &Path) -> anyhow::Result<Config> {
        let path = Self::path_in(home);
        let text = match fsutil::read_optional(&path)? {
            Some(bytes) => String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8 text", path.display()))?,
            None => String::new(),
        };
        Self::parse(path, &text)
    }

    /// Parses config text (no I/O); `path` is only for messages and a later save.
    pub fn parse(path: PathBuf, text: &str) -> anyhow::Result<Config> {
        let doc = text
            .parse::<DocumentMut>()
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| format!("{} is not valid TOML", path.display()))?;
        Ok(Config { path, doc })
    }

    /// The file's text as it would be saved.
    pub fn to_text(&self) -> String {
        self.doc.to_string()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn default_model(&self) -> Option<&str> {
        self.doc.get(KEY_DEFAULT_MODEL).and_then(Item::as_str)
    }

    /// Every `[models.NAME]` table that names a provider and a model.
    pub fn models(&self) -> Vec<ModelEntry> {
        let Some(models) = self.doc.get(KEY_MODELS).and_then(Item::as_table_like) else {
            return Vec::new();
        };
        models
            .iter()
            .filter_map(|(name, item)| {
                let t = item.as_table_like()?;
                let text = |k: &str| t.get(k).and_then(Item::as_str).map(str::to_string);
                Some(ModelEntry {
                    name: name.to_string(),
                    provider: text("provider")?,
                    model: text("model")?,
                    base_url: text("base_url"),
                    max_tokens: t.get("max_tokens").and_then(Item::as_integer).and_then(|n| u64::try_from(n).ok()),
                    temperature: t
                        .get("temperature")
                        .and_then(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64))),
                })
            })
            .collect()
    }

    /// `[aliases]`: short names for models (`fast = "local"`, `big = "anthropic/claude-opus-4-8"`).
    pub fn aliases(&self) -> Vec<(String, String)> {
        let Some(table) = self.doc.get("aliases").and_then(Item::as_table_like) else { return Vec::new() };
        table.iter().filter_map(|(k, v)| Some((k.to_string(), v.as_str()?.to_string()))).collect()
    }

    /// `[providers.anthropic] probe_model`, the model `auth status --probe` uses.
    pub fn provider_option(&self, provider: &str, key: &str) -> Option<String> {
        self.doc.get("providers")?.get(provider)?.get(key)?.as_str().map(str::to_string)
    }

    /// `[network] connect_timeout` / `read_timeout`, in seconds; defaults where unset.
    pub fn timeouts(&self) -> crate::http::Timeouts {
        let secs = |key: &str| {
            let v = self.doc.get("network")?.get(key)?;
            let secs = v.as_float().or_else(|| v.as_integer().map(|i| i as f64))?;
            std::time::Duration::try_from_secs_f64(secs).ok().filter(|d| !d.is_zero())
        };
        let default = crate::http::Timeouts::default();
        crate::http::Timeouts {
            connect: secs("connect_timeout").unwrap_or(default.connect),
            read: secs("read_timeout").unwrap_or(default.read),
        }
    }

    /// `[network] max_response_time`, in seconds: the longest one answer may take.
    pub fn max_response_time(&self) -> std::time::Duration {
        self.doc
            .get("network")
            .and_then(|n| n.get("max_response_time"))
            .and_then(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)))
            .and_then(|secs| std::time::Duration::try_from_secs_f64(secs).ok())
            .filter(|d| !d.is_zero())
            .unwrap_or(crate::providers::chat::DEFAULT_MAX_RESPONSE_TIME)
    }

    /// `[network] max_response_mb`: the largest streamed answer read before giving up.
    pub fn max_response_bytes(&self) -> u64 {
        const MIB: f64 = 1024.0 * 1024.0;
        self.doc
            .get("network")
            .and_then(|n| n.get("max_response_mb"))
            .and_then(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)))
            .filter(|mb| *mb > 0.0)
            .map(|mb| (mb * MIB) as u64)
            .unwrap_or(crate::providers::chat::DEFAULT_MAX_RESPONSE_BYTES)
    }

    /// A list option of `[providers.NAME]`, e.g. `betas = ["a", "b"]` (a single string also works).
    pub fn provider_list(&self, provider: &str, key: &str) -> Vec<String> {
        let Some(item) = self.doc.get("providers").and_then(|p| p.get(provider)).and_then(|p| p.get(key)) else {
            return Vec::new();
        };
        match item.as_array() {
            Some(a) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
            None => item.as_str().map(|s| vec![s.to_string()]).unwrap_or_default(),
        }
    }

    /// `[providers.NAME.headers]`: extra headers sent with every request to that provider.
    pub fn provider_headers(&self, provider: &str) -> Vec<(String, String)> {
        let Some(table) = self
            .doc
            .get("providers")
            .and_then(|p| p.get(provider))
            .and_then(|p| p.get("headers"))
            .and_then(Item::as_table_like)
        else {
            return Vec::new();
        };
        table
            .iter()
            .filter(|(name, _)| !is_auth_header(name))
            .filter_map(|(name, v)| Some((name.to_string(), v.as_str()?.to_string())))
            .collect()
    }

    /// After an Anthropic login: add an Anthropic model if none exists, and set the default model
    /// if none is set. Nothing the user wrote is changed.
    pub fn ensure_anthropic_model(&mut self, model_id: &str) -> Changes {
        let mut changes = Changes::default();
        let existing = self.models().into_iter().find(|m| m.provider == ANTHROPIC).map(|m| m.name);
        let anthropic_name = match existing {
            Some(name) => name,
            None => {
                let taken = self.doc.get(KEY_MODELS).and_then(Item::as_table_like);
                let name = ANTHROPIC_MODEL_NAMES
                    .iter()
                    .find(|n| taken.is_none_or(|t| !t.contains_key(n)))
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| format!("anthropic-{}", model_id));
                let models = self.doc.entry(KEY_MODELS).or_insert_with(|| {
                    let mut t = Table::new();
                    t.set_implicit(true);
                    Item::Table(t)
                });
                if let Some(models) = models.as_table_like_mut() {
                    let mut entry = Table::new();
                    entry.decor_mut().set_prefix("\n# added by `pincer auth login`\n");
                    entry.insert("provider", value(ANTHROPIC));
                    entry.insert("model", value(model_id));
                    models.insert(&name, Item::Table(entry));
                    changes.added_model = Some(name.clone());
                }
                name
            }
        };
        if self.doc.get(KEY_DEFAULT_MODEL).is_none() {
            self.doc.insert(KEY_DEFAULT_MODEL, value(&anthropic_name));
            // Root keys must come before every table, so this lands at the top: say who put it there.
            if let Some(mut key) = self.doc.as_table_mut().key_mut(KEY_DEFAULT_MODEL) {
                key.leaf_decor_mut()
                    .set_prefix("# the model used when --model is not given (set by `pincer auth login`)\n");
            }
            changes.set_default = Some(anthropic_name);
        }
        changes
    }

    /// The parsed document, for modules that keep a table of their own (`[mcp]`, see `mcp::config`).
    pub(crate) fn document(&self) -> &DocumentMut {
        &self.doc
    }

    pub(crate) fn document_mut(&mut self) -> &mut DocumentMut {
        &mut self.doc
    }

    /// Writes the file atomically under `config.toml.lock`, if anything changed since `load`.
    pub fn save(&self, _lock: &FileLock) -> anyhow::Result<()> {
        let mut text = self.doc.to_string();
        if !self.path.exists() {
            text = format!("{NEW_FILE_HEADER}{}", text.trim_start());
        }
        fsutil::write_atomic(&self.path, text.as_bytes(), CONFIG_FILE_MODE)
    }

    /// Load, change and save under the lock, so two logins cannot lose each other's edit.
    pub fn update<T>(home: &Path, change: impl FnOnce(&mut Config) -> T) -> anyhow::Result<T> {
        fsutil::ensure_private_dir(home)?;
        let lock = FileLock::acquire(&Self::path_in(home))?;
        let mut config = Self::load(home)?;
        let before = config.doc.to_string();
        let result = change(&mut config);
        if config.doc.to_string() != before || !config.path.exists() {
            config.save(&lock)?;
        }
        Ok(result)
    }
}

/// Credentials travel only in the headers the provider layer builds from the store.
fn is_auth_header(name: &str) -> bool {
    ["authorization", "x-api-key", "anthropic-version", "anthropic-beta"].iter().any(|h| name.eq_ignore_ascii_case(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        Config { path: PathBuf::from("/nonexistent/config.toml"), doc: text.parse().unwrap() }
    }

    #[test]
    fn adds_model_and_default_to_empty_config() {
        let mut c = config("");
        let changes = c.ensure_anthropic_model("claude-sonnet-4-6");
        assert_eq!(changes, Changes { added_model: Some("sonnet".into()), set_default: Some("sonnet".into()) });
        assert_eq!(c.default_model(), Some("sonnet"));
        assert_eq!(c.models()[0].model, "claude-sonnet-4-6");
        // Idempotent.
        assert_eq!(c.ensure_anthropic_model("claude-sonnet-4-6"), Changes::default());
    }

    #[test]
    fn keeps_comments_user_default_and_user_models() {
        let text = "\
# my settings
default_model = \"local\" # I like local

[models.local]   # llama
provider = \"openai\"
model = \"qwen2.5-0.5b\"
base_url = \"http://127.0.0.1:8080/v1\"
unknown_key = [1, 2]
";
        let mut c = config(text);
        let changes = c.ensure_anthropic_model("claude-sonnet-4-6");
        assert_eq!(changes.added_model.as_deref(), Some("sonnet"));
        assert_eq!(changes.set_default, None);
        let out = c.doc.to_string();
        assert!(out.starts_with(text), "user text must be kept verbatim:\n{out}");
        assert!(out.contains("[models.sonnet]"));
        assert_eq!(c.default_model(), Some("local"));
    }

    #[test]
    fn existing_anthropic_model_is_never_touched() {
        let text = "[models.opus]\nprovider = \"anthropic\"\nmodel = \"claude-opus-4-8\"\n";
        let mut c = config(text);
        let changes = c.ensure_anthropic_model("claude-sonnet-4-6");
        assert_eq!(changes, Changes { added_model: None, set_default: Some("opus".into()) });
        assert_eq!(c.models().len(), 1);
        assert_eq!(c.models()[0].model, "claude-opus-4-8");
    }

    #[test]
    fn provider_betas_and_headers_never_carry_credentials() {
        let c = config(
            "[providers.anthropic]\nbetas = [\"x-1\", \"y-2\"]\n[providers.anthropic.headers]\nx-team = \"t\"\nAuthorization = \"Bearer evil\"\nx-api-key = \"k\"\n",
        );
        assert_eq!(c.provider_list("anthropic", "betas"), ["x-1", "y-2"]);
        assert_eq!(c.provider_headers("anthropic"), [("x-team".to_string(), "t".to_string())]);
        assert!(config("").provider_list("anthropic", "betas").is_empty());
    }

    #[test]
    fn a_taken_name_is_not_overwritten() {
        let mut c = config("[models.sonnet]\nprovider = \"openai\"\nmodel = \"x\"\n");
        let changes = c.ensure_anthropic_model("claude-sonnet-4-6");
        assert_eq!(changes.added_model.as_deref(), Some("claude-sonnet"));
        assert_eq!(c.models().iter().find(|m| m.name == "sonnet").unwrap().provider, "openai");
    }
}
