//! `config.toml`: models, the default model, per-provider options, network limits, and the
//! agent's sections (`[permissions]`, `[tools]`, `[mcp]`).
//!
//! The file is the user's. It is parsed once into typed [`Settings`] (each problem with its line,
//! see `settings.rs`), and pincer edits it with `toml_edit`, so comments, order and unknown keys
//! survive; it only adds what is missing — never changes a value the user set. Writes are atomic
//! under `config.toml.lock`, and go through a symbolic link to its target (dotfile managers).
//!
//! This module knows no provider, terminal or tool: it imports only leaves (`fsutil`, `http`).

mod settings;

use std::path::{Path, PathBuf};

use anyhow::Context;
use toml_edit::{Array, DocumentMut, Item, Table, Value, value};

use crate::fsutil::{self, FileLock};
pub use settings::{
    BashSettings, BrokenEntry, DEFAULT_BASH_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_MAX_RESPONSE_TIME,
    DEFAULT_MCP_STARTUP_TIMEOUT, DEFAULT_MCP_TOOL_TIMEOUT, MAX_BASH_TIMEOUT, McpServer, McpTransport, ModelEntry,
    NetworkSettings, Permissions, Problem, ProviderSettings, Settings, ToolSettings, WebFetchSettings, check_rule,
};

pub const CONFIG_FILE: &str = "config.toml";
/// Not secret (credentials live in auth.json), but private like the rest of the home folder.
const CONFIG_FILE_MODE: u32 = 0o600;
pub const KEY_DEFAULT_MODEL: &str = "default_model";
pub const KEY_MODELS: &str = "models";
pub const KEY_PERMISSIONS: &str = "permissions";

const NEW_FILE_HEADER: &str = "\
# pincer configuration. Comments and unknown keys are kept when pincer edits this file.
# default_model: a name from [models] or \"provider/model-id\".
";
const NEW_PERMISSIONS_COMMENT: &str = "\n# rules for the agent's tools; answering [s]ave at a prompt adds one here\n";

/// A provider nobody configured: no options.
static NO_PROVIDER: ProviderSettings = ProviderSettings {
    base_url: None,
    probe_model: None,
    betas: Vec::new(),
    headers: Vec::new(),
    command: None,
    args: Vec::new(),
};

#[derive(Debug, Clone)]
pub struct Config {
    path: PathBuf,
    doc: DocumentMut,
    /// The typed view of `doc`, renewed after every edit.
    settings: Settings,
}

/// What [`Config::ensure_model`] changed, for the login summary.
#[derive(Debug, Default, PartialEq)]
pub struct Changes {
    pub added_model: Option<String>,
    pub set_default: Option<String>,
}

/// The two lists of `[permissions]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleList {
    Allow,
    Deny,
}

impl RuleList {
    pub fn key(self) -> &'static str {
        match self {
            RuleList::Allow => "allow",
            RuleList::Deny => "deny",
        }
    }
}

/// An edit pincer will not make, because it would change what the person wrote.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error(
        "`{rule}` is not a permission rule: it {why}\nhint: a rule is a class (edit), a tool (web_fetch), or a tool with a pattern (bash(cargo test:*))"
    )]
    InvalidRule { rule: String, why: &'static str },
    #[error(
        "`{key}` in config.toml is {found}, not {expected}; pincer will not change it\nhint: fix it by hand, then try again"
    )]
    NotEditable { key: String, found: &'static str, expected: &'static str },
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
        let spanned = toml_edit::Document::parse(text)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| format!("{} is not valid TOML", path.display()))?;
        let settings = Settings::read(spanned.as_table(), text);
        Ok(Config { path, doc: spanned.into_mut(), settings })
    }

    /// Renews the typed view after an edit of the document.
    fn refresh(&mut self) {
        let text = self.doc.to_string();
        if let Ok(spanned) = toml_edit::Document::parse(text.as_str()) {
            self.settings = Settings::read(spanned.as_table(), &text);
        }
    }

    /// The file's text as it would be saved.
    pub fn to_text(&self) -> String {
        self.doc.to_string()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Everything read from the file.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// What is wrong in the file, in file order (each already says what pincer does about it).
    pub fn problems(&self) -> &[Problem] {
        &self.settings.problems
    }

    pub fn default_model(&self) -> Option<&str> {
        self.settings.default_model.as_deref()
    }

    /// Every `[models.NAME]`, broken ones included (they carry a `problem`).
    pub fn models(&self) -> &[ModelEntry] {
        &self.settings.models
    }

    /// `[aliases]`: short names for models (`fast = "local"`, `big = "anthropic/claude-opus-4-8"`).
    pub fn aliases(&self) -> &[(String, String)] {
        &self.settings.aliases
    }

    /// `[providers.NAME]`; a provider without a section has no options.
    pub fn provider(&self, name: &str) -> &ProviderSettings {
        self.settings.providers.get(name).unwrap_or(&NO_PROVIDER)
    }

    /// `[network] connect_timeout` / `read_timeout`, in seconds; defaults where unset.
    pub fn timeouts(&self) -> crate::http::Timeouts {
        self.settings.network.timeouts
    }

    /// `[network] max_response_time`, in seconds: the longest one answer may take.
    pub fn max_response_time(&self) -> std::time::Duration {
        self.settings.network.max_response_time
    }

    /// `[network] max_response_mb`: the largest streamed answer read before giving up.
    pub fn max_response_bytes(&self) -> u64 {
        self.settings.network.max_response_bytes
    }

    /// `[permissions]`.
    pub fn permissions(&self) -> &Permissions {
        &self.settings.permissions
    }

    /// `[tools.bash]`, `[tools.web_fetch]`.
    pub fn tools(&self) -> &ToolSettings {
        &self.settings.tools
    }

    /// `[mcp.NAME]` servers that can be started.
    pub fn mcp_servers(&self) -> &[McpServer] {
        &self.settings.mcp
    }

    /// `[mcp.NAME]` entries that cannot be used, with why.
    pub fn broken_mcp_servers(&self) -> &[BrokenEntry] {
        &self.settings.broken_mcp
    }

    /// After a login: add a model of `provider` if none exists (named by the first free name of
    /// `names`, else `PROVIDER-MODEL`), and set the default model if none is set. Nothing the user
    /// wrote is changed.
    pub fn ensure_model(&mut self, provider: &str, model_id: &str, names: &[&str]) -> Changes {
        let mut changes = Changes::default();
        let existing =
            self.models().iter().find(|m| m.provider == provider && m.problem.is_none()).map(|m| m.name.clone());
        let model_name = match existing {
            Some(name) => name,
            None => {
                let taken = self.doc.get(KEY_MODELS).and_then(Item::as_table_like);
                let name = names
                    .iter()
                    .find(|n| taken.is_none_or(|t| !t.contains_key(n)))
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| format!("{provider}-{model_id}"));
                let models = self.doc.entry(KEY_MODELS).or_insert_with(|| {
                    let mut t = Table::new();
                    t.set_implicit(true);
                    Item::Table(t)
                });
                if let Some(models) = models.as_table_like_mut() {
                    let mut entry = Table::new();
                    entry.decor_mut().set_prefix("\n# added by `pincer auth login`\n");
                    entry.insert("provider", value(provider));
                    entry.insert("model", value(model_id));
                    models.insert(&name, Item::Table(entry));
                    changes.added_model = Some(name.clone());
                }
                name
            }
        };
        if self.doc.get(KEY_DEFAULT_MODEL).is_none() {
            self.doc.insert(KEY_DEFAULT_MODEL, value(&model_name));
            // Root keys must come before every table, so this lands at the top: say who put it there.
            if let Some(mut key) = self.doc.as_table_mut().key_mut(KEY_DEFAULT_MODEL) {
                key.leaf_decor_mut()
                    .set_prefix("# the model used when --model is not given (set by `pincer auth login`)\n");
            }
            changes.set_default = Some(model_name);
        }
        self.refresh();
        changes
    }

    /// The parsed document, for modules that keep a table of their own (`[mcp]`, see `mcp::config`).
    pub(crate) fn document(&self) -> &DocumentMut {
        &self.doc
    }

    pub(crate) fn document_mut(&mut self) -> &mut DocumentMut {
        &mut self.doc
    }

    /// Appends `rule` to `[permissions] allow` or `deny`, in the list's own layout, keeping every
    /// comment; `false` when the rule is there already. A list of another type is left alone.
    pub fn add_permission_rule(&mut self, list: RuleList, rule: &str) -> Result<bool, EditError> {
        let rule = rule.trim();
        check_rule(rule).map_err(|why| EditError::InvalidRule { rule: rule.to_string(), why })?;
        let not_editable = |key: String, item: &Item, expected| EditError::NotEditable {
            key,
            found: settings::type_of(item),
            expected,
        };
        let permissions = self.doc.entry(KEY_PERMISSIONS).or_insert_with(|| {
            let mut t = Table::new();
            t.decor_mut().set_prefix(NEW_PERMISSIONS_COMMENT);
            Item::Table(t)
        });
        if permissions.as_table_like().is_none() {
            return Err(not_editable(KEY_PERMISSIONS.into(), permissions, "a table"));
        }
        let table = permissions.as_table_like_mut().expect("checked above");
        let key = format!("{KEY_PERMISSIONS}.{}", list.key());
        let added = match table.get_mut(list.key()) {
            None => {
                table.insert(list.key(), value(Array::from_iter([rule])));
                true
            }
            Some(item) => match item.as_value_mut() {
                Some(Value::Array(array)) => {
                    if array.iter().any(|v| v.as_str().is_some_and(|r| r.trim() == rule)) {
                        false
                    } else {
                        push_like_siblings(array, rule);
                        true
                    }
                }
                Some(single @ Value::String(_)) if single.as_str().is_some_and(|r| r.trim() == rule) => false,
                Some(single @ Value::String(_)) => {
                    // One rule written as a string becomes a list of two, its comments kept.
                    let decor = single.decor().clone();
                    let mut array = Array::new();
                    array.push(single.as_str().unwrap_or_default());
                    array.push(rule);
                    *single = Value::Array(array);
                    *single.decor_mut() = decor;
                    true
                }
                _ => return Err(not_editable(key, item, "a list of rules")),
            },
        };
        self.refresh();
        Ok(added)
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
        Self::try_update(home, |c| Ok(change(c)))
    }

    /// [`Config::update`] for a change that can fail: then nothing is written.
    pub fn try_update<T>(home: &Path, change: impl FnOnce(&mut Config) -> anyhow::Result<T>) -> anyhow::Result<T> {
        fsutil::ensure_private_dir(home)?;
        let lock = FileLock::acquire(&Self::path_in(home))?;
        let mut config = Self::load(home)?;
        let before = config.doc.to_string();
        let result = change(&mut config)?;
        if config.doc.to_string() != before || !config.path.exists() {
            config.save(&lock)?;
        }
        Ok(result)
    }
}

/// Saves a permission rule (the agent's "save as a rule" answer): appended to `[permissions]
/// allow` or `deny` under `config.toml.lock`, comments kept. `false` when it was there already.
pub fn save_permission_rule(home: &Path, list: RuleList, rule: &str) -> anyhow::Result<bool> {
    Config::try_update(home, |c| Ok(c.add_permission_rule(list, rule)?))
}

/// Appends `rule` to `array` laid out like the entry before it: on its own line, indented the
/// same, when the list is written one per line.
fn push_like_siblings(array: &mut Array, rule: &str) {
    let mut entry = Value::from(rule);
    if let Some(last) = array.iter().last() {
        let prefix = last.decor().prefix().and_then(|p| p.as_str()).unwrap_or(" ");
        // Only the line break and indentation: a comment above the last entry stays with it.
        let layout = prefix.rfind('\n').map_or(" ", |i| &prefix[i..]);
        entry.decor_mut().set_prefix(layout.to_string());
    }
    array.push_formatted(entry);
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: &[&str] = &["sonnet", "claude-sonnet", "anthropic-sonnet"];

    fn config(text: &str) -> Config {
        Config::parse(PathBuf::from("/nonexistent/config.toml"), text).unwrap()
    }

    #[test]
    fn adds_model_and_default_to_empty_config() {
        let mut c = config("");
        let changes = c.ensure_model("anthropic", "claude-sonnet-4-6", NAMES);
        assert_eq!(changes, Changes { added_model: Some("sonnet".into()), set_default: Some("sonnet".into()) });
        assert_eq!(c.default_model(), Some("sonnet"));
        assert_eq!(c.models()[0].model, "claude-sonnet-4-6");
        // Idempotent.
        assert_eq!(c.ensure_model("anthropic", "claude-sonnet-4-6", NAMES), Changes::default());
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
        let changes = c.ensure_model("anthropic", "claude-sonnet-4-6", NAMES);
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
        let changes = c.ensure_model("anthropic", "claude-sonnet-4-6", NAMES);
        assert_eq!(changes, Changes { added_model: None, set_default: Some("opus".into()) });
        assert_eq!(c.models().len(), 1);
        assert_eq!(c.models()[0].model, "claude-opus-4-8");
    }

    #[test]
    fn provider_betas_and_headers_never_carry_credentials() {
        let c = config(
            "[providers.anthropic]\nbetas = [\"x-1\", \"y-2\"]\n[providers.anthropic.headers]\nx-team = \"t\"\nAuthorization = \"Bearer evil\"\nx-api-key = \"k\"\n",
        );
        assert_eq!(c.provider("anthropic").betas, ["x-1", "y-2"]);
        assert_eq!(c.provider("anthropic").headers, [("x-team".to_string(), "t".to_string())]);
        assert!(config("").provider("anthropic").betas.is_empty());
    }

    #[test]
    fn a_taken_name_is_not_overwritten() {
        let mut c = config("[models.sonnet]\nprovider = \"openai\"\nmodel = \"x\"\n");
        let changes = c.ensure_model("anthropic", "claude-sonnet-4-6", NAMES);
        assert_eq!(changes.added_model.as_deref(), Some("claude-sonnet"));
        assert_eq!(c.models().iter().find(|m| m.name == "sonnet").unwrap().provider, "openai");
    }

    #[test]
    fn a_saved_rule_keeps_comments_layout_and_unknown_keys() {
        let text = "\
# mine
future_key = { x = 1 }   # a newer pincer's

[permissions]   # my rules
allow = [
    \"bash(cargo test:*)\",   # tests are fine
    # docs too
    \"web_fetch(domain:docs.rs)\",
]
unknown = true
";
        let mut c = config(text);
        assert!(c.add_permission_rule(RuleList::Allow, " bash(git status) ").unwrap());
        let out = c.to_text();
        assert_eq!(
            out,
            text.replace(
                "    \"web_fetch(domain:docs.rs)\",\n",
                "    \"web_fetch(domain:docs.rs)\",\n    \"bash(git status)\",\n"
            ),
            "{out}"
        );
        // The typed view follows the edit; saving the same rule again changes nothing.
        assert_eq!(c.permissions().allow.last().map(String::as_str), Some("bash(git status)"));
        assert!(!c.add_permission_rule(RuleList::Allow, "bash(git status)").unwrap());
        assert_eq!(c.to_text(), out);
        // A deny list that does not exist yet is added to the same table.
        assert!(c.add_permission_rule(RuleList::Deny, "bash(rm:*)").unwrap());
        assert_eq!(c.permissions().deny, ["bash(rm:*)"]);
        assert!(c.to_text().starts_with(&out.replace("unknown = true\n", "")), "{}", c.to_text());
    }

    #[test]
    fn rules_go_into_a_new_table_an_inline_list_or_a_single_string() {
        let mut c = config("default_model = \"x\"\n");
        assert!(c.add_permission_rule(RuleList::Allow, "edit").unwrap());
        assert!(c.to_text().contains("\n[permissions]\nallow = [\"edit\"]\n"), "{}", c.to_text());
        let mut c = config("[permissions]\ndeny = [\"a\", \"b\"] # keep\n");
        c.add_permission_rule(RuleList::Deny, "c").unwrap();
        assert_eq!(c.to_text(), "[permissions]\ndeny = [\"a\", \"b\", \"c\"] # keep\n");
        let mut c = config("[permissions]\nallow = \"read\" # one\n");
        c.add_permission_rule(RuleList::Allow, "edit").unwrap();
        assert_eq!(c.to_text(), "[permissions]\nallow = [\"read\", \"edit\"] # one\n");
        let mut c = config("permissions = { allow = [] }\n");
        c.add_permission_rule(RuleList::Allow, "edit").unwrap();
        assert_eq!(c.permissions().allow, ["edit"]);
    }

    #[test]
    fn a_rule_edit_that_would_change_what_the_person_wrote_is_refused() {
        for text in ["permissions = 3\n", "[permissions]\nallow = 7\n"] {
            let mut c = config(text);
            let err = c.add_permission_rule(RuleList::Allow, "edit").unwrap_err().to_string();
            assert!(err.contains("pincer will not change it") && err.contains("hint:"), "{err}");
            assert_eq!(c.to_text(), text);
        }
        let mut c = config("");
        let err = c.add_permission_rule(RuleList::Allow, "bash(rm").unwrap_err().to_string();
        assert!(err.contains("not a permission rule"), "{err}");
        assert_eq!(c.to_text(), "");
    }

    #[test]
    fn save_permission_rule_writes_through_a_symlinked_config_under_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let dotfiles = dir.path().join("dotfiles");
        std::fs::create_dir(&dotfiles).unwrap();
        let real = dotfiles.join("pincer.toml");
        std::fs::write(&real, "# managed by my dotfiles\ndefault_model = \"local\"\n").unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir(&home).unwrap();
        let link = Config::path_in(&home);
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(save_permission_rule(&home, RuleList::Allow, "bash(cargo test:*)").unwrap());
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link was replaced");
        let text = std::fs::read_to_string(&real).unwrap();
        assert!(text.starts_with("# managed by my dotfiles\ndefault_model = \"local\"\n"), "{text}");
        assert_eq!(Config::load(&home).unwrap().permissions().allow, ["bash(cargo test:*)"]);
        // A refused edit writes nothing.
        let before = std::fs::read_to_string(&real).unwrap();
        assert!(save_permission_rule(&home, RuleList::Deny, "(").is_err());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), before);
    }
}
