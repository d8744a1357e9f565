//! The typed view of `config.toml`: every section pincer reads, parsed once and checked, with the
//! line of every problem.
//!
//! A value of the wrong type never vanishes silently: it becomes a [`Problem`] (the key, what was
//! expected, what was found, the line) that pincer prints once per run, and the setting falls back
//! to its default. Settings that guard something (`[tools.bash] sandbox`, `network`,
//! `[tools.web_fetch] allow_private`) fall back to their safe value instead, whatever the default.
//! A `[models]` or `[mcp]` entry with any problem is kept as broken, with the reason, and never
//! used half-read: a `base_url` of the wrong type must not send a local model's requests to the
//! default server. Unknown keys are not problems (they may be a newer pincer's); `toml_edit`
//! keeps them on every rewrite.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use toml_edit::{Item, TableLike, Value};

use crate::http::Timeouts;

/// `[network] max_response_mb` when unset: the largest streamed answer read before giving up.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 256 * 1024 * 1024;
/// `[network] max_response_time` when unset; long enough for the longest extended-thinking answers.
pub const DEFAULT_MAX_RESPONSE_TIME: Duration = Duration::from_secs(30 * 60);
/// `[tools.bash] timeout` when unset (SPEC §9).
pub const DEFAULT_BASH_TIMEOUT: Duration = Duration::from_secs(120);
/// The longest `[tools.bash] timeout` (and `bash {timeout}`) SPEC §9 allows.
pub const MAX_BASH_TIMEOUT: Duration = Duration::from_secs(600);
/// `[mcp.NAME] startup_timeout` when unset (SPEC §10).
pub const DEFAULT_MCP_STARTUP_TIMEOUT: Duration = Duration::from_secs(10);
/// `[mcp.NAME] tool_timeout` when unset (SPEC §10).
pub const DEFAULT_MCP_TOOL_TIMEOUT: Duration = Duration::from_secs(60);
const BYTES_PER_MIB: f64 = 1024.0 * 1024.0;

/// Headers that carry credentials: those come only from the credential store or the environment.
const CREDENTIAL_HEADERS: &[&str] = &["authorization", "x-api-key", "anthropic-version", "anthropic-beta"];

/// Everything pincer reads from `config.toml`.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `default_model`: the model used when `--model` is not given.
    pub default_model: Option<String>,
    /// `[models.NAME]`, in file order, broken entries included (see [`ModelEntry::problem`]).
    pub models: Vec<ModelEntry>,
    /// `[aliases]`: `fast = "local"`, `big = "anthropic/claude-opus-4-8"`.
    pub aliases: Vec<(String, String)>,
    /// `[providers.NAME]`.
    pub providers: BTreeMap<String, ProviderSettings>,
    pub network: NetworkSettings,
    pub permissions: Permissions,
    pub tools: ToolSettings,
    /// `[mcp.NAME]` servers that can be started, in file order.
    pub mcp: Vec<McpServer>,
    /// `[mcp.NAME]` entries that cannot be used, with why.
    pub broken_mcp: Vec<BrokenEntry>,
    /// Every problem found, in file order.
    pub problems: Vec<Problem>,
}

/// A configured model.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelEntry {
    pub name: String,
    pub provider: String,
    pub model: String,
    pub base_url: Option<String>,
    pub max_tokens: Option<u64>,
    pub temperature: Option<f64>,
    /// `context_window`: the tokens the model takes, for compaction (SPEC §13).
    pub context_window: Option<u64>,
    /// Why the entry cannot be used (`line 7: \`models.x.max_tokens\` should be …`); `None` when
    /// it can. A broken entry's other fields hold whatever could be read.
    pub problem: Option<String>,
}

/// `[providers.NAME]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProviderSettings {
    /// `base_url`: declares a named OpenAI-compatible provider.
    pub base_url: Option<String>,
    /// `probe_model`: the model `auth status --probe` asks for one token (Anthropic).
    pub probe_model: Option<String>,
    /// `betas`: extra `anthropic-beta` flags (a list, or one string).
    pub betas: Vec<String>,
    /// `[providers.NAME.headers]`: extra headers on every request; credential headers are refused.
    pub headers: Vec<(String, String)>,
    /// `command`: the program of a provider that is a local program (`claude-code`, SPEC §12).
    pub command: Option<String>,
    /// `args`: arguments given to `command` before pincer's own.
    pub args: Vec<String>,
}

/// `[network]`, with the defaults applied.
#[derive(Debug, Clone, Copy)]
pub struct NetworkSettings {
    /// `connect_timeout`, `read_timeout` (seconds).
    pub timeouts: Timeouts,
    /// `max_response_time` (seconds): the longest one answer may take.
    pub max_response_time: Duration,
    /// `max_response_mb`, in bytes: the largest streamed answer.
    pub max_response_bytes: u64,
}

impl Default for NetworkSettings {
    fn default() -> Self {
        NetworkSettings {
            timeouts: Timeouts::default(),
            max_response_time: DEFAULT_MAX_RESPONSE_TIME,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

/// `[permissions]` (SPEC §9): rules as written, each checked for shape (`class`, `tool` or
/// `tool(pattern)`); what a pattern means is the policy's business.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Permissions {
    pub allow: Vec<String>,
    pub deny: Vec<String>,
    /// A deny entry could not be read (wrong type or shape): the person meant to forbid something
    /// pincer cannot name, so a policy should fail closed (ask, never allow by rule) while this is set.
    pub deny_incomplete: bool,
}

/// `[tools]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToolSettings {
    pub bash: BashSettings,
    pub web_fetch: WebFetchSettings,
}

/// `[tools.bash]`.
#[derive(Debug, Clone, PartialEq)]
pub struct BashSettings {
    /// `sandbox` (default on): Landlock in the child.
    pub sandbox: bool,
    /// `network` (default on): `false` blocks outgoing TCP where the kernel allows.
    pub network: bool,
    /// `writable`: extra writable roots (caches such as `~/.cargo`), as written: `~/` is the
    /// sandbox's to expand.
    pub writable: Vec<String>,
    /// `timeout` (seconds, at most [`MAX_BASH_TIMEOUT`]): for calls that give none.
    pub timeout: Duration,
}

impl Default for BashSettings {
    fn default() -> Self {
        BashSettings { sandbox: true, network: true, writable: Vec::new(), timeout: DEFAULT_BASH_TIMEOUT }
    }
}

/// `[tools.web_fetch]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebFetchSettings {
    /// `allow_private` (default off): fetch loopback, private and link-local addresses too.
    pub allow_private: bool,
}

/// `[mcp.NAME]` (SPEC §10).
#[derive(Debug, Clone, PartialEq)]
pub struct McpServer {
    pub name: String,
    pub transport: McpTransport,
    /// `enabled` (default true).
    pub enabled: bool,
    /// `startup_timeout` (seconds, default 10).
    pub startup_timeout: Duration,
    /// `tool_timeout` (seconds, default 60).
    pub tool_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub enum McpTransport {
    /// `command`, `args`, `env = {K = "V"}`, `cwd`.
    Stdio { command: String, args: Vec<String>, env: Vec<(String, String)>, cwd: Option<String> },
    /// `url`, `headers = {k = "v"}` (no credentials: SPEC §11), `client_id`.
    Http { url: String, headers: Vec<(String, String)>, client_id: Option<String> },
}

/// An entry that cannot be used, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokenEntry {
    pub name: String,
    pub problem: String,
}

/// One thing wrong in `config.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub line: Option<usize>,
    /// The dotted key: `models.local.max_tokens`.
    pub key: String,
    /// What is wrong: `should be a positive integer, not a string`.
    pub what: String,
    /// What pincer does about it: `it is ignored`.
    pub effect: String,
}

impl Problem {
    /// `line 7: `key` what`, without the effect.
    pub fn reason(&self) -> String {
        match self.line {
            Some(line) => format!("line {line}: `{}` {}", self.key, self.what),
            None => format!("`{}` {}", self.key, self.what),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}; {}", self.reason(), self.effect)
    }
}

/// Why a permission rule is malformed, or `Ok`. Shape only: `read`, `web_fetch`, `bash(git status)`,
/// `mcp__server__tool`; the policy gives patterns their meaning.
pub fn check_rule(rule: &str) -> Result<(), &'static str> {
    let rule = rule.trim();
    if rule.is_empty() {
        return Err("is empty");
    }
    let (name, pattern) = match rule.split_once('(') {
        Some((name, rest)) => match rest.strip_suffix(')') {
            Some(pattern) => (name, Some(pattern)),
            None => return Err("has a `(` but does not end with `)`"),
        },
        None => (rule, None),
    };
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err("should be a class or tool name (letters, digits, `_`, `-`), optionally with a (pattern)");
    }
    if pattern.is_some_and(|p| p.trim().is_empty()) {
        return Err("has nothing between its parentheses");
    }
    Ok(())
}

/// How one kind of value is read: what is expected (for messages) and the conversion, which says
/// what it found when the value does not fit.
struct Kind<T> {
    expected: &'static str,
    read: fn(&Item) -> Result<T, String>,
}

const NAME: Kind<String> = Kind { expected: "a non-empty string", read: read_name };
const BOOL: Kind<bool> = Kind { expected: "true or false", read: read_bool };
const POSITIVE_INTEGER: Kind<u64> = Kind { expected: "a positive integer", read: read_positive_integer };
const NON_NEGATIVE_NUMBER: Kind<f64> = Kind { expected: "a number of 0 or more", read: read_non_negative };
const SECONDS: Kind<Duration> = Kind { expected: "a number of seconds above 0", read: read_seconds };
const BASH_SECONDS: Kind<Duration> = Kind { expected: "a number of seconds from 1 to 600", read: read_bash_seconds };
const MEBIBYTES: Kind<u64> = Kind { expected: "a number of MiB above 0", read: read_mebibytes };
const STRING_OR_LIST: Kind<Vec<String>> =
    Kind { expected: "a list of strings (or one string)", read: read_string_or_list };
const STRING_LIST: Kind<Vec<String>> = Kind { expected: "a list of strings", read: read_string_list };
const STRING_TABLE: Kind<Vec<(String, String)>> =
    Kind { expected: "a table of strings (name = \"value\")", read: read_string_table };
const HTTP_URL: Kind<String> = Kind { expected: "an http:// or https:// URL", read: read_http_url };

/// `a string`, `an integer`, …: what a value is, for messages (never the value: it could be anything).
pub(super) fn type_of(item: &Item) -> &'static str {
    match item {
        Item::None => "nothing",
        Item::Table(_) | Item::Value(Value::InlineTable(_)) => "a table",
        Item::ArrayOfTables(_) => "an array of tables",
        Item::Value(Value::String(_)) => "a string",
        Item::Value(Value::Integer(_)) => "an integer",
        Item::Value(Value::Float(_)) => "a float",
        Item::Value(Value::Boolean(_)) => "a boolean",
        Item::Value(Value::Datetime(_)) => "a date-time",
        Item::Value(Value::Array(_)) => "an array",
    }
}

fn found(item: &Item) -> String {
    type_of(item).to_string()
}

fn read_name(item: &Item) -> Result<String, String> {
    match item.as_str() {
        Some(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Some(_) => Err("an empty string".into()),
        None => Err(found(item)),
    }
}

fn read_bool(item: &Item) -> Result<bool, String> {
    item.as_bool().ok_or_else(|| found(item))
}

fn read_positive_integer(item: &Item) -> Result<u64, String> {
    match item.as_integer() {
        Some(n) if n > 0 => Ok(n.unsigned_abs()),
        Some(n) => Err(n.to_string()),
        None => Err(found(item)),
    }
}

/// An integer or a float, as TOML writes `30` and `30.5` alike for a number.
fn read_number(item: &Item) -> Result<f64, String> {
    match item.as_float().or_else(|| item.as_integer().map(|i| i as f64)) {
        Some(n) if n.is_finite() => Ok(n),
        Some(n) => Err(n.to_string()),
        None => Err(found(item)),
    }
}

fn read_non_negative(item: &Item) -> Result<f64, String> {
    match read_number(item)? {
        n if n >= 0.0 => Ok(n),
        n => Err(n.to_string()),
    }
}

fn read_seconds(item: &Item) -> Result<Duration, String> {
    let n = read_number(item)?;
    Duration::try_from_secs_f64(n).ok().filter(|d| !d.is_zero()).ok_or_else(|| n.to_string())
}

fn read_bash_seconds(item: &Item) -> Result<Duration, String> {
    let d = read_seconds(item)?;
    if d < Duration::from_secs(1) || d > MAX_BASH_TIMEOUT {
        return Err(d.as_secs_f64().to_string());
    }
    Ok(d)
}

fn read_mebibytes(item: &Item) -> Result<u64, String> {
    match read_number(item)? {
        // `as` saturates: a huge figure means "no practical limit", which is what was asked.
        mb if mb > 0.0 => Ok((mb * BYTES_PER_MIB) as u64),
        mb => Err(mb.to_string()),
    }
}

fn read_string_list(item: &Item) -> Result<Vec<String>, String> {
    let Some(array) = item.as_array() else { return Err(found(item)) };
    array
        .iter()
        .map(|v| v.as_str().map(str::to_string).ok_or_else(|| format!("a list holding {}", found_value(v))))
        .collect()
}

fn read_string_or_list(item: &Item) -> Result<Vec<String>, String> {
    match item.as_str() {
        Some(s) => Ok(vec![s.to_string()]),
        None => read_string_list(item),
    }
}

fn read_string_table(item: &Item) -> Result<Vec<(String, String)>, String> {
    let Some(table) = item.as_table_like() else { return Err(found(item)) };
    table
        .iter()
        .map(|(k, v)| match v.as_str() {
            Some(s) => Ok((k.to_string(), s.to_string())),
            None => Err(format!("a table holding {} (`{k}`)", found(v))),
        })
        .collect()
}

fn read_http_url(item: &Item) -> Result<String, String> {
    let url = read_name(item)?;
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("http" | "https") => Ok(url),
        _ => Err(format!("{url:?}")),
    }
}

fn found_value(v: &Value) -> String {
    found(&Item::Value(v.clone()))
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

/// Walks the parsed document, collecting problems.
struct Reader<'a> {
    text: &'a str,
    problems: Vec<Problem>,
}

impl Settings {
    /// Reads the typed settings from a parsed document; `text` is its source, for line numbers.
    pub fn read(root: &dyn TableLike, text: &str) -> Settings {
        let mut r = Reader { text, problems: Vec::new() };
        let default_model = r.get(root, "", "default_model", &NAME, "it is ignored");
        let models = r.models(root);
        let aliases = r.aliases(root);
        let providers = r.providers(root);
        let network = r.network(root);
        let permissions = r.permissions(root);
        let tools = r.tools(root);
        let (mcp, broken_mcp) = r.mcp(root);
        // In file order, as a person reads them (a stable sort keeps one line's problems in order).
        r.problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
        Settings {
            default_model,
            models,
            aliases,
            providers,
            network,
            permissions,
            tools,
            mcp,
            broken_mcp,
            problems: r.problems,
        }
    }
}

impl Reader<'_> {
    fn line(&self, span: Option<Range<usize>>) -> Option<usize> {
        let start = span?.start;
        Some(self.text.get(..start)?.bytes().filter(|b| *b == b'\n').count() + 1)
    }

    /// The line of `key` in `table`: where the key is written, else its value, else (for a table
    /// made implicitly by dotted keys) its first entry.
    fn line_of(&self, table: &dyn TableLike, key: &str) -> Option<usize> {
        let item = table.get(key);
        let span = table.key(key).and_then(|k| k.span()).or_else(|| item.and_then(Item::span));
        self.line(span).or_else(|| {
            let inner = item?.as_table_like()?;
            let (first, _) = inner.iter().next()?;
            self.line_of(inner, first)
        })
    }

    fn problem(&mut self, line: Option<usize>, key: String, what: String, effect: &str) {
        self.problems.push(Problem { line, key, what, effect: effect.to_string() });
    }

    /// `table.key` read as `kind`; absent is `None`, and so is a value that does not fit (a problem).
    fn get<T>(&mut self, table: &dyn TableLike, path: &str, key: &str, kind: &Kind<T>, effect: &str) -> Option<T> {
        let item = table.get(key)?;
        match (kind.read)(item) {
            Ok(v) => Some(v),
            Err(found) => {
                let line = self.line_of(table, key);
                self.problem(line, join(path, key), format!("should be {}, not {found}", kind.expected), effect);
                None
            }
        }
    }

    /// Like [`Reader::get`], for a key the entry cannot do without.
    fn required<T>(
        &mut self,
        table: &dyn TableLike,
        at: Option<usize>,
        path: &str,
        key: &str,
        kind: &Kind<T>,
        effect: &str,
    ) -> Option<T> {
        if table.get(key).is_none() {
            self.problem(at, join(path, key), format!("is missing (it should be {})", kind.expected), effect);
            return None;
        }
        self.get(table, path, key, kind, effect)
    }

    /// A sub-table; a value that is not a table is a problem.
    fn table<'t>(
        &mut self,
        parent: &'t dyn TableLike,
        path: &str,
        key: &str,
        effect: &str,
    ) -> Option<&'t dyn TableLike> {
        let item = parent.get(key)?;
        match item.as_table_like() {
            Some(t) => Some(t),
            None => {
                let line = self.line_of(parent, key);
                self.problem(line, join(path, key), format!("should be a table, not {}", found(item)), effect);
                None
            }
        }
    }

    fn models(&mut self, root: &dyn TableLike) -> Vec<ModelEntry> {
        let Some(models) = self.table(root, "", "models", "no model from config.toml can be used") else {
            return Vec::new();
        };
        models.iter().map(|(name, item)| self.model(models, name, item)).collect()
    }

    fn model(&mut self, models: &dyn TableLike, name: &str, item: &Item) -> ModelEntry {
        let path = format!("models.{name}");
        let effect = format!("the model `{name}` cannot be used until this is fixed");
        let before = self.problems.len();
        let mut entry = ModelEntry { name: name.to_string(), ..ModelEntry::default() };
        let at = self.line_of(models, name);
        match item.as_table_like() {
            None => self.problem(
                at,
                path,
                format!("should be a table with provider and model, not {}", found(item)),
                &effect,
            ),
            Some(t) => {
                entry.provider = self.required(t, at, &path, "provider", &NAME, &effect).unwrap_or_default();
                entry.model = self.required(t, at, &path, "model", &NAME, &effect).unwrap_or_default();
                entry.base_url = self.get(t, &path, "base_url", &NAME, &effect);
                entry.max_tokens = self.get(t, &path, "max_tokens", &POSITIVE_INTEGER, &effect);
                entry.temperature = self.get(t, &path, "temperature", &NON_NEGATIVE_NUMBER, &effect);
                entry.context_window = self.get(t, &path, "context_window", &POSITIVE_INTEGER, &effect);
            }
        }
        entry.problem = self.problems.get(before).map(Problem::reason);
        entry
    }

    fn aliases(&mut self, root: &dyn TableLike) -> Vec<(String, String)> {
        let Some(table) = self.table(root, "", "aliases", "no alias from config.toml can be used") else {
            return Vec::new();
        };
        table
            .iter()
            .filter_map(|(alias, _)| {
                Some((alias.to_string(), self.get(table, "aliases", alias, &NAME, "the alias is ignored")?))
            })
            .collect()
    }

    fn providers(&mut self, root: &dyn TableLike) -> BTreeMap<String, ProviderSettings> {
        let mut out = BTreeMap::new();
        let Some(table) = self.table(root, "", "providers", "it is ignored") else { return out };
        for (name, _) in table.iter() {
            let path = format!("providers.{name}");
            let Some(t) = self.table(table, "providers", name, "it is ignored") else { continue };
            let ignored = "it is ignored";
            let mut headers = self.get(t, &path, "headers", &STRING_TABLE, ignored).unwrap_or_default();
            let headers_table = t.get("headers").and_then(Item::as_table_like);
            headers.retain(|(header, _)| {
                let refused = CREDENTIAL_HEADERS.iter().any(|h| header.eq_ignore_ascii_case(h));
                if refused {
                    let line = headers_table.and_then(|h| self.line_of(h, header));
                    self.problem(
                        line,
                        format!("{path}.headers.{header}"),
                        "is not allowed here: credentials and protocol headers come from pincer itself (auth.json or the environment)".into(),
                        ignored,
                    );
                }
                !refused
            });
            let settings = ProviderSettings {
                base_url: self.get(t, &path, "base_url", &NAME, ignored),
                probe_model: self.get(t, &path, "probe_model", &NAME, ignored),
                betas: self.get(t, &path, "betas", &STRING_OR_LIST, ignored).unwrap_or_default(),
                headers,
                command: self.get(t, &path, "command", &NAME, ignored),
                args: self.get(t, &path, "args", &STRING_LIST, ignored).unwrap_or_default(),
            };
            out.insert(name.to_string(), settings);
        }
        out
    }

    fn network(&mut self, root: &dyn TableLike) -> NetworkSettings {
        let mut out = NetworkSettings::default();
        let Some(t) = self.table(root, "", "network", "the defaults are used") else { return out };
        let default = |d: Duration| format!("the default ({} s) is used", d.as_secs());
        let connect_default = default(out.timeouts.connect);
        let read_default = default(out.timeouts.read);
        let time_default = default(out.max_response_time);
        let mb_default = format!("the default ({} MiB) is used", DEFAULT_MAX_RESPONSE_BYTES / (1024 * 1024));
        if let Some(d) = self.get(t, "network", "connect_timeout", &SECONDS, &connect_default) {
            out.timeouts.connect = d;
        }
        if let Some(d) = self.get(t, "network", "read_timeout", &SECONDS, &read_default) {
            out.timeouts.read = d;
        }
        if let Some(d) = self.get(t, "network", "max_response_time", &SECONDS, &time_default) {
            out.max_response_time = d;
        }
        if let Some(bytes) = self.get(t, "network", "max_response_mb", &MEBIBYTES, &mb_default) {
            out.max_response_bytes = bytes;
        }
        out
    }

    fn permissions(&mut self, root: &dyn TableLike) -> Permissions {
        let mut out = Permissions::default();
        let Some(t) = self.table(root, "", "permissions", "no rule from config.toml applies") else {
            // A `permissions` that is not a table may have meant to deny something.
            out.deny_incomplete = root.contains_key("permissions");
            return out;
        };
        out.allow = self.rules(t, "allow", "the rule is ignored").0;
        let (deny, complete) =
            self.rules(t, "deny", "the rule is ignored: pincer cannot tell what it was meant to forbid");
        out.deny = deny;
        out.deny_incomplete = !complete;
        out
    }

    /// The rules of one list, and whether every entry could be read.
    fn rules(&mut self, t: &dyn TableLike, list: &str, effect: &str) -> (Vec<String>, bool) {
        let path = format!("permissions.{list}");
        let Some(item) = t.get(list) else { return (Vec::new(), true) };
        let values: Vec<(String, &Value)> = match item {
            Item::Value(Value::Array(a)) => a.iter().enumerate().map(|(i, v)| (format!("{path}[{i}]"), v)).collect(),
            Item::Value(v @ Value::String(_)) => vec![(path.clone(), v)],
            other => {
                let line = self.line_of(t, list);
                self.problem(line, path, format!("should be a list of rules, not {}", found(other)), effect);
                return (Vec::new(), false);
            }
        };
        let mut rules = Vec::new();
        let mut complete = true;
        for (key, value) in values {
            let line = self.line(value.span()).or_else(|| self.line_of(t, list));
            let what = match value.as_str() {
                None => Some(format!("should be a rule (a string), not {}", found_value(value))),
                Some(rule) => check_rule(rule).err().map(|why| format!("({rule:?}) {why}")),
            };
            match (what, value.as_str()) {
                (None, Some(rule)) => rules.push(rule.trim().to_string()),
                (what, _) => {
                    complete = false;
                    self.problem(line, key, what.unwrap_or_default(), effect);
                }
            }
        }
        (rules, complete)
    }

    fn tools(&mut self, root: &dyn TableLike) -> ToolSettings {
        let mut out = ToolSettings::default();
        let Some(tools) = self.table(root, "", "tools", "the defaults are used") else { return out };
        if let Some(t) = self.table(tools, "tools", "bash", "the defaults are used") {
            let path = "tools.bash";
            // A guard that cannot be read takes its safe value, whatever its default.
            out.bash.sandbox = self.get(t, path, "sandbox", &BOOL, "the sandbox stays on").unwrap_or(true);
            out.bash.network = match t.get("network") {
                None => true,
                Some(_) => {
                    self.get(t, path, "network", &BOOL, "the safe value (network blocked) is used").unwrap_or(false)
                }
            };
            out.bash.writable =
                self.get(t, path, "writable", &STRING_OR_LIST, "no extra folder is writable").unwrap_or_default();
            let timeout_default = format!("the default ({} s) is used", DEFAULT_BASH_TIMEOUT.as_secs());
            out.bash.timeout =
                self.get(t, path, "timeout", &BASH_SECONDS, &timeout_default).unwrap_or(DEFAULT_BASH_TIMEOUT);
        }
        if let Some(t) = self.table(tools, "tools", "web_fetch", "the defaults are used") {
            out.web_fetch.allow_private = self
                .get(t, "tools.web_fetch", "allow_private", &BOOL, "private addresses stay refused")
                .unwrap_or(false);
        }
        out
    }

    fn mcp(&mut self, root: &dyn TableLike) -> (Vec<McpServer>, Vec<BrokenEntry>) {
        let (mut servers, mut broken) = (Vec::new(), Vec::new());
        let Some(table) = self.table(root, "", "mcp", "no MCP server is started") else { return (servers, broken) };
        for (name, item) in table.iter() {
            let before = self.problems.len();
            let server = self.mcp_server(table, name, item);
            match (server, self.problems.get(before)) {
                (Some(server), None) => servers.push(server),
                (_, problem) => broken.push(BrokenEntry {
                    name: name.to_string(),
                    problem: problem.map(Problem::reason).unwrap_or_else(|| format!("`mcp.{name}` cannot be read")),
                }),
            }
        }
        (servers, broken)
    }

    fn mcp_server(&mut self, table: &dyn TableLike, name: &str, item: &Item) -> Option<McpServer> {
        let path = format!("mcp.{name}");
        let effect = format!("the MCP server `{name}` is not started until this is fixed");
        let at = self.line_of(table, name);
        // Its tools are named `mcp__NAME__TOOL`: the name must not make that ambiguous.
        if name.is_empty()
            || name.contains("__")
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            self.problem(
                at,
                path.clone(),
                "is not a usable server name (letters, digits, `-`, `_`, and no `__`)".into(),
                &effect,
            );
        }
        let Some(t) = item.as_table_like() else {
            self.problem(at, path, format!("should be a table with a command or a url, not {}", found(item)), &effect);
            return None;
        };
        let transport = match (t.contains_key("command"), t.contains_key("url")) {
            (true, false) => McpTransport::Stdio {
                command: self.get(t, &path, "command", &NAME, &effect)?,
                args: self.get(t, &path, "args", &STRING_LIST, &effect).unwrap_or_default(),
                env: self.get(t, &path, "env", &STRING_TABLE, &effect).unwrap_or_default(),
                cwd: self.get(t, &path, "cwd", &NAME, &effect),
            },
            (false, true) => {
                let headers = self.get(t, &path, "headers", &STRING_TABLE, &effect).unwrap_or_default();
                if let Some((header, _)) =
                    headers.iter().find(|(h, _)| CREDENTIAL_HEADERS.iter().any(|c| h.eq_ignore_ascii_case(c)))
                {
                    let line = t.get("headers").and_then(Item::as_table_like).and_then(|h| self.line_of(h, header));
                    self.problem(
                        line,
                        format!("{path}.headers.{header}"),
                        format!("is not allowed: credentials do not belong in config.toml (sign in with `pincer auth login --mcp {name}`)"),
                        &effect,
                    );
                }
                McpTransport::Http {
                    url: self.get(t, &path, "url", &HTTP_URL, &effect)?,
                    headers,
                    client_id: self.get(t, &path, "client_id", &NAME, &effect),
                }
            }
            (both, _) => {
                let what = if both {
                    "has both command and url (a server is one or the other)"
                } else {
                    "needs a command (a local server) or a url (a remote one)"
                };
                self.problem(at, path, what.into(), &effect);
                return None;
            }
        };
        Some(McpServer {
            name: name.to_string(),
            transport,
            enabled: self.get(t, &path, "enabled", &BOOL, &effect).unwrap_or(true),
            startup_timeout: self
                .get(t, &path, "startup_timeout", &SECONDS, &effect)
                .unwrap_or(DEFAULT_MCP_STARTUP_TIMEOUT),
            tool_timeout: self.get(t, &path, "tool_timeout", &SECONDS, &effect).unwrap_or(DEFAULT_MCP_TOOL_TIMEOUT),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Settings {
        let doc = toml_edit::Document::parse(text).unwrap();
        Settings::read(doc.as_table(), text)
    }

    /// `(line, key)` of every problem, for compact assertions.
    fn where_(s: &Settings) -> Vec<(Option<usize>, &str)> {
        s.problems.iter().map(|p| (p.line, p.key.as_str())).collect()
    }

    #[test]
    fn every_section_is_read_into_its_type() {
        let s = read(
            r#"
default_model = "local"
[models.local]
provider = "openai"
model = "qwen2.5-0.5b"
base_url = "http://127.0.0.1:8080/v1"
max_tokens = 512
temperature = 0
context_window = 32768
[aliases]
fast = "local"
[providers.lab]
base_url = "http://10.0.0.5:4000/v1"
betas = "one-beta"
[providers.lab.headers]
x-team = "blue"
[providers.claude-code]
command = "claude"
args = ["--permission-mode", "acceptEdits"]
[network]
connect_timeout = 2.5
read_timeout = 30
max_response_time = 90
max_response_mb = 0.5
[permissions]
allow = ["bash(cargo test:*)", "web_fetch(domain:docs.rs)"]
deny  = ["read_file(.env)", "bash(rm:*)"]
[tools.bash]
sandbox = false
network = false
writable = ["~/.cargo", "~/.npm"]
timeout = 300
[tools.web_fetch]
allow_private = true
[mcp.files]
command = "npx"
args = ["-y", "server-filesystem", "/notes"]
env = { KEY = "value" }
cwd = "/tmp"
enabled = false
startup_timeout = 5
tool_timeout = 30
[mcp.remote]
url = "https://example.com/mcp"
headers = { x-team = "blue" }
client_id = "pincer-test"
"#,
        );
        assert!(s.problems.is_empty(), "{:?}", s.problems);
        assert_eq!(s.default_model.as_deref(), Some("local"));
        let m = &s.models[0];
        assert_eq!((m.name.as_str(), m.provider.as_str(), m.model.as_str()), ("local", "openai", "qwen2.5-0.5b"));
        assert_eq!(m.base_url.as_deref(), Some("http://127.0.0.1:8080/v1"));
        assert_eq!(
            (m.max_tokens, m.temperature, m.context_window, &m.problem),
            (Some(512), Some(0.0), Some(32768), &None)
        );
        assert_eq!(s.aliases, [("fast".to_string(), "local".to_string())]);
        let lab = &s.providers["lab"];
        assert_eq!(lab.base_url.as_deref(), Some("http://10.0.0.5:4000/v1"));
        assert_eq!(lab.betas, ["one-beta"]);
        assert_eq!(lab.headers, [("x-team".to_string(), "blue".to_string())]);
        let cc = &s.providers["claude-code"];
        assert_eq!(
            (cc.command.as_deref(), cc.args.as_slice()),
            (Some("claude"), &["--permission-mode".to_string(), "acceptEdits".into()][..])
        );
        assert_eq!(s.network.timeouts.connect, Duration::from_millis(2500));
        assert_eq!(s.network.timeouts.read, Duration::from_secs(30));
        assert_eq!(s.network.max_response_time, Duration::from_secs(90));
        assert_eq!(s.network.max_response_bytes, 512 * 1024);
        assert_eq!(s.permissions.allow, ["bash(cargo test:*)", "web_fetch(domain:docs.rs)"]);
        assert_eq!(s.permissions.deny, ["read_file(.env)", "bash(rm:*)"]);
        assert!(!s.permissions.deny_incomplete);
        assert_eq!(
            s.tools.bash,
            BashSettings {
                sandbox: false,
                network: false,
                writable: vec!["~/.cargo".into(), "~/.npm".into()],
                timeout: Duration::from_secs(300)
            }
        );
        assert!(s.tools.web_fetch.allow_private);
        assert_eq!(
            s.mcp,
            [
                McpServer {
                    name: "files".into(),
                    transport: McpTransport::Stdio {
                        command: "npx".into(),
                        args: vec!["-y".into(), "server-filesystem".into(), "/notes".into()],
                        env: vec![("KEY".into(), "value".into())],
                        cwd: Some("/tmp".into()),
                    },
                    enabled: false,
                    startup_timeout: Duration::from_secs(5),
                    tool_timeout: Duration::from_secs(30),
                },
                McpServer {
                    name: "remote".into(),
                    transport: McpTransport::Http {
                        url: "https://example.com/mcp".into(),
                        headers: vec![("x-team".into(), "blue".into())],
                        client_id: Some("pincer-test".into()),
                    },
                    enabled: true,
                    startup_timeout: DEFAULT_MCP_STARTUP_TIMEOUT,
                    tool_timeout: DEFAULT_MCP_TOOL_TIMEOUT,
                },
            ]
        );
    }

    #[test]
    fn an_empty_file_is_all_defaults() {
        let s = read("");
        assert!(s.problems.is_empty() && s.models.is_empty() && s.mcp.is_empty());
        assert_eq!(s.network.max_response_bytes, DEFAULT_MAX_RESPONSE_BYTES);
        assert_eq!(s.network.max_response_time, DEFAULT_MAX_RESPONSE_TIME);
        assert_eq!(s.tools.bash, BashSettings::default());
        assert!(s.tools.bash.sandbox && s.tools.bash.network && !s.tools.web_fetch.allow_private);
        assert_eq!(s.tools.bash.timeout, DEFAULT_BASH_TIMEOUT);
    }

    #[test]
    fn wrong_types_are_problems_with_key_type_and_line() {
        let s = read(
            r#"default_model = 5
[models.local]
provider = "openai"
model = "q"
max_tokens = "8192"
[models.nop]
model = "x"
[models.ok]
provider = "anthropic"
model = "claude-sonnet-4-6"
[network]
read_timeout = "60"
max_response_mb = -1
[aliases]
fast = 1
"#,
        );
        assert_eq!(
            where_(&s),
            [
                (Some(1), "default_model"),
                (Some(5), "models.local.max_tokens"),
                (Some(6), "models.nop.provider"),
                (Some(12), "network.read_timeout"),
                (Some(13), "network.max_response_mb"),
                (Some(15), "aliases.fast"),
            ]
        );
        let text: Vec<String> = s.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(text[0], "line 1: `default_model` should be a non-empty string, not an integer; it is ignored");
        assert_eq!(
            text[1],
            "line 5: `models.local.max_tokens` should be a positive integer, not a string; the model `local` cannot be used until this is fixed"
        );
        assert!(text[2].contains("`models.nop.provider` is missing"), "{}", text[2]);
        assert!(text[3].ends_with("not a string; the default (60 s) is used"), "{}", text[3]);
        assert!(text[4].contains("not -1"), "{}", text[4]);
        // Broken entries stay, with their reason; good ones are untouched; defaults stand in.
        let names: Vec<(&str, bool)> = s.models.iter().map(|m| (m.name.as_str(), m.problem.is_some())).collect();
        assert_eq!(names, [("local", true), ("nop", true), ("ok", false)]);
        assert_eq!(
            s.models[0].problem.as_deref(),
            Some("line 5: `models.local.max_tokens` should be a positive integer, not a string")
        );
        assert_eq!(s.default_model, None);
        assert!(s.aliases.is_empty());
        assert_eq!(s.network.timeouts.read, Timeouts::default().read);
        assert_eq!(s.network.max_response_bytes, DEFAULT_MAX_RESPONSE_BYTES);
    }

    #[test]
    fn lines_are_found_in_inline_and_dotted_tables_too() {
        let s = read("\n\nmodels.a.provider = 1\nmodels.a.model = \"m\"\n");
        assert_eq!(where_(&s), [(Some(3), "models.a.provider")]);
        let s = read("[models]\nb = { provider = \"openai\" }\n");
        assert_eq!(where_(&s), [(Some(2), "models.b.model")]);
        let s = read("models = 3\n[mcp]\nx = 1\n");
        assert_eq!(where_(&s), [(Some(1), "models"), (Some(3), "mcp.x")]);
        assert!(s.problems[0].what.contains("should be a table, not an integer"));
    }

    #[test]
    fn guards_that_cannot_be_read_take_their_safe_value() {
        let s = read(
            "[tools.bash]\nsandbox = \"no\"\nnetwork = \"false\"\ntimeout = 900\n[tools.web_fetch]\nallow_private = \"yes\"\n",
        );
        assert_eq!(
            where_(&s),
            [
                (Some(2), "tools.bash.sandbox"),
                (Some(3), "tools.bash.network"),
                (Some(4), "tools.bash.timeout"),
                (Some(6), "tools.web_fetch.allow_private")
            ]
        );
        assert!(s.tools.bash.sandbox, "sandbox stays on");
        assert!(!s.tools.bash.network, "an unreadable `network` blocks it");
        assert!(!s.tools.web_fetch.allow_private);
        assert_eq!(s.tools.bash.timeout, DEFAULT_BASH_TIMEOUT);
        assert!(s.problems[2].what.contains("from 1 to 600, not 900"), "{}", s.problems[2]);
    }

    #[test]
    fn rules_are_checked_one_by_one_and_an_unreadable_deny_is_flagged() {
        let s =
            read("[permissions]\nallow = [\n  \"bash(cargo test:*)\",\n  5,\n  \"bash(\",\n]\ndeny = \"bash(rm:*)\"\n");
        assert_eq!(where_(&s), [(Some(4), "permissions.allow[1]"), (Some(5), "permissions.allow[2]")]);
        assert_eq!(s.permissions.allow, ["bash(cargo test:*)"]);
        assert_eq!(s.permissions.deny, ["bash(rm:*)"], "one string is a list of one");
        assert!(!s.permissions.deny_incomplete);
        let s = read("[permissions]\ndeny = [\"bash(rm:*\", \"edit\"]\n");
        assert_eq!(s.permissions.deny, ["edit"]);
        assert!(s.permissions.deny_incomplete);
        assert!(s.problems[0].to_string().contains("\"bash(rm:*\""), "{}", s.problems[0]);
        assert!(read("permissions = 1\n").permissions.deny_incomplete);
        assert!(read("[permissions]\ndeny = 1\n").permissions.deny_incomplete);
        for bad in ["", "bash()", "(x)", "ba sh", "bash(x"] {
            assert!(check_rule(bad).is_err(), "{bad:?}");
        }
        for good in ["read", "web_fetch", "bash(git status)", "mcp__files__read", "edit_file(src/**)"] {
            assert_eq!(check_rule(good), Ok(()), "{good:?}");
        }
    }

    #[test]
    fn credential_headers_are_refused_with_a_problem() {
        let s = read("[providers.anthropic.headers]\nx-team = \"t\"\nAuthorization = \"Bearer evil\"\n");
        assert_eq!(s.providers["anthropic"].headers, [("x-team".to_string(), "t".to_string())]);
        assert_eq!(where_(&s), [(Some(3), "providers.anthropic.headers.Authorization")]);
        assert!(!s.problems[0].to_string().contains("evil"), "values are never quoted");
    }

    #[test]
    fn broken_mcp_servers_are_kept_with_why() {
        let s = read(
            "[mcp.both]\ncommand = \"x\"\nurl = \"http://x\"\n[mcp.none]\nenabled = true\n[mcp.ftp]\nurl = \"ftp://x\"\n[mcp.a__b]\ncommand = \"x\"\n[mcp.secret]\nurl = \"https://x\"\nheaders = { Authorization = \"Bearer t\" }\n[mcp.slow]\ncommand = \"x\"\ntool_timeout = 0\n[mcp.good]\ncommand = \"srv\"\n",
        );
        let broken: Vec<&str> = s.broken_mcp.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(broken, ["both", "none", "ftp", "a__b", "secret", "slow"]);
        assert_eq!(s.mcp.len(), 1);
        assert_eq!(s.mcp[0].name, "good");
        assert!(
            s.broken_mcp[0].problem.starts_with("line 1: `mcp.both` has both command and url"),
            "{:?}",
            s.broken_mcp[0]
        );
        assert!(s.broken_mcp[2].problem.contains("http:// or https://"));
        assert!(s.broken_mcp[4].problem.contains("auth login --mcp secret"));
    }
}
