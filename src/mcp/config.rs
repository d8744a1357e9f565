//! `[mcp.NAME]` tables of `config.toml`: reading them into [`ServerConfig`]s, and the edits
//! `pincer mcp add` / `remove` make (through `toml_edit`, so comments and other keys survive).
//!
//! An entry that cannot be used (no command and no url, a bad timeout) is reported with its
//! reason and the others still work.

use std::path::PathBuf;
use std::time::Duration;

use toml_edit::{Array, InlineTable, Item, Table, Value as TomlValue, value};

use crate::config::Config;

pub const KEY_MCP: &str = "mcp";
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_TOOL_TIMEOUT: Duration = Duration::from_secs(60);
/// Server names are part of tool names (`mcp__NAME__TOOL`, at most 64 characters in all).
pub const MAX_NAME_LEN: usize = 32;
/// Separates the parts of a tool name, so it may not appear inside a server name.
pub const NAME_SEPARATOR: &str = "__";
/// A pre-registered OAuth client of an HTTP server (SPEC §11).
pub const KEY_CLIENT_ID: &str = "client_id";
/// The https URL of a Client ID Metadata Document to sign in as, where servers accept one.
pub const KEY_CLIENT_METADATA_URL: &str = "client_metadata_url";
/// Refused in config.toml: a client secret lives in auth.json.
pub const KEY_CLIENT_SECRET: &str = "client_secret";

#[derive(Debug, Clone, PartialEq)]
pub enum TransportConfig {
    Stdio { command: String, args: Vec<String>, env: Vec<(String, String)>, cwd: Option<PathBuf> },
    Http { url: String, headers: Vec<(String, String)> },
}

impl TransportConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            TransportConfig::Stdio { .. } => "stdio",
            TransportConfig::Http { .. } => "http",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    pub name: String,
    pub transport: TransportConfig,
    pub enabled: bool,
    pub startup_timeout: Duration,
    pub tool_timeout: Duration,
}

/// An `[mcp.NAME]` table pincer cannot use, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct BadEntry {
    pub name: String,
    pub transport: &'static str,
    pub reason: String,
}

/// Every `[mcp.NAME]` table, in file order.
pub fn servers(config: &Config) -> Vec<Result<ServerConfig, BadEntry>> {
    let Some(table) = config.document().get(KEY_MCP).and_then(Item::as_table_like) else { return Vec::new() };
    table.iter().map(|(name, item)| parse_entry(name, item)).collect()
}

fn parse_entry(name: &str, item: &Item) -> Result<ServerConfig, BadEntry> {
    let t = item.as_table_like();
    let text = |k: &str| t.and_then(|t| t.get(k)).and_then(Item::as_str).map(str::to_string);
    let kind = if text("url").is_some() { "http" } else { "stdio" };
    let bad = |reason: String| BadEntry { name: name.to_string(), transport: kind, reason };
    let Some(t) = t else { return Err(bad("[mcp.NAME] must be a table".into())) };
    validate_name(name).map_err(bad)?;
    let secs = |k: &str, default: Duration| -> Result<Duration, BadEntry> {
        let Some(v) = t.get(k) else { return Ok(default) };
        let n = v.as_float().or_else(|| v.as_integer().map(|i| i as f64));
        n.and_then(|n| Duration::try_from_secs_f64(n).ok())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| bad(format!("{k} must be a positive number of seconds")))
    };
    let pairs = |k: &str| -> Vec<(String, String)> {
        t.get(k)
            .and_then(Item::as_table_like)
            .map(|h| h.iter().filter_map(|(k, v)| Some((k.to_string(), v.as_str()?.to_string()))).collect())
            .unwrap_or_default()
    };
    let transport = match (text("command"), text("url")) {
        (Some(_), Some(_)) => return Err(bad("has both `command` and `url`: keep one".into())),
        (None, None) => return Err(bad("has neither `command` (stdio) nor `url` (HTTP)".into())),
        (Some(command), None) => TransportConfig::Stdio {
            command,
            args: t
                .get("args")
                .and_then(Item::as_array)
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                .unwrap_or_default(),
            env: pairs("env"),
            cwd: text("cwd").map(PathBuf::from),
        },
        (None, Some(url)) => {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(bad(format!("url {url:?} is not an http(s) URL")));
            }
            let (headers, secret): (Vec<_>, Vec<_>) =
                pairs("headers").into_iter().partition(|(k, _)| !is_auth_header(k));
            if !secret.is_empty() {
                return Err(bad("headers hold an Authorization header: secrets do not belong in config.toml".into()));
            }
            if t.contains_key(KEY_CLIENT_SECRET) {
                return Err(bad(format!(
                    "has a {KEY_CLIENT_SECRET}: secrets do not belong in config.toml; remove it and give it once with `pincer auth login --mcp {name} --client-secret`"
                )));
            }
            TransportConfig::Http { url, headers }
        }
    };
    Ok(ServerConfig {
        name: name.to_string(),
        transport,
        enabled: t.get("enabled").and_then(Item::as_bool).unwrap_or(true),
        startup_timeout: secs("startup_timeout", DEFAULT_STARTUP_TIMEOUT)?,
        tool_timeout: secs("tool_timeout", DEFAULT_TOOL_TIMEOUT)?,
    })
}

pub fn is_auth_header(name: &str) -> bool {
    ["authorization", "proxy-authorization", "cookie"].iter().any(|h| name.eq_ignore_ascii_case(h))
}

/// Letters, digits, `-` and `_`, without `__`, at most [`MAX_NAME_LEN`] characters.
pub fn validate_name(name: &str) -> Result<(), String> {
    let ok_chars = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if name.is_empty() || name.len() > MAX_NAME_LEN || !ok_chars || name.contains(NAME_SEPARATOR) {
        return Err(format!(
            "{name:?} is not a valid server name: use up to {MAX_NAME_LEN} letters, digits, - and _ (no \"{NAME_SEPARATOR}\")"
        ));
    }
    Ok(())
}

/// Adds `[mcp.NAME]`. An existing entry of that name is never replaced.
pub fn add(config: &mut Config, name: &str, transport: &TransportConfig) -> Result<(), String> {
    validate_name(name)?;
    let doc = config.document_mut();
    let mcp = doc.entry(KEY_MCP).or_insert_with(|| {
        let mut t = Table::new();
        t.set_implicit(true);
        Item::Table(t)
    });
    let Some(mcp) = mcp.as_table_like_mut() else { return Err("`mcp` in config.toml is not a table".into()) };
    if mcp.contains_key(name) {
        return Err(format!("a server named {name:?} is already configured"));
    }
    let mut entry = Table::new();
    let inline = |pairs: &[(String, String)]| {
        let mut t = InlineTable::new();
        for (k, v) in pairs {
            t.insert(k, TomlValue::from(v.as_str()));
        }
        t
    };
    match transport {
        TransportConfig::Stdio { command, args, env, cwd } => {
            entry.insert("command", value(command.as_str()));
            entry.insert("args", value(args.iter().map(String::as_str).collect::<Array>()));
            if !env.is_empty() {
                entry.insert("env", value(inline(env)));
            }
            if let Some(cwd) = cwd {
                entry.insert("cwd", value(cwd.to_string_lossy().as_ref()));
            }
        }
        TransportConfig::Http { url, headers } => {
            entry.insert("url", value(url.as_str()));
            if !headers.is_empty() {
                entry.insert("headers", value(inline(headers)));
            }
        }
    }
    mcp.insert(name, Item::Table(entry));
    Ok(())
}

/// Removes `[mcp.NAME]`; false when there was none.
pub fn remove(config: &mut Config, name: &str) -> bool {
    config.document_mut().get_mut(KEY_MCP).and_then(Item::as_table_like_mut).is_some_and(|t| t.remove(name).is_some())
}

/// The sign-in keys of `[mcp.NAME]`: who pincer is to the server's authorization server.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SignInConfig {
    pub client_id: Option<String>,
    pub client_metadata_url: Option<String>,
}

/// The sign-in keys of `[mcp.NAME]`; an unusable value is reported with what to write instead.
pub fn sign_in_config(config: &Config, name: &str) -> Result<SignInConfig, String> {
    let table = config
        .document()
        .get(KEY_MCP)
        .and_then(Item::as_table_like)
        .and_then(|t| t.get(name))
        .and_then(Item::as_table_like);
    let Some(t) = table else { return Ok(SignInConfig::default()) };
    let text = |k: &str| -> Result<Option<String>, String> {
        match t.get(k) {
            None => Ok(None),
            Some(v) => match v.as_str().map(str::trim) {
                Some(s) if !s.is_empty() => Ok(Some(s.to_string())),
                _ => Err(format!("[mcp.{name}] {k} must be a non-empty string")),
            },
        }
    };
    let client_id = text(KEY_CLIENT_ID)?;
    let client_metadata_url = text(KEY_CLIENT_METADATA_URL)?;
    if let Some(url) = &client_metadata_url {
        crate::mcp::oauth::registration::check_metadata_url(url).map_err(|e| format!("[mcp.{name}] {e}"))?;
    }
    Ok(SignInConfig { client_id, client_metadata_url })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        Config::parse(PathBuf::from("/nonexistent/config.toml"), text).unwrap()
    }

    #[test]
    fn reads_both_transports_and_reports_bad_entries() {
        let c = config(
            "[mcp.files]\ncommand = \"npx\"\nargs = [\"-y\", \"fs\"]\nenv = { K = \"v\" }\ntool_timeout = 5\n\
             [mcp.remote]\nurl = \"https://example.com/mcp\"\nheaders = { x-team = \"blue\" }\nenabled = false\n\
             [mcp.both]\ncommand = \"a\"\nurl = \"http://b\"\n[mcp.none]\n[mcp.\"bad name\"]\ncommand = \"x\"\n\
             [mcp.slow]\ncommand = \"x\"\nstartup_timeout = -1\n[mcp.secret]\nurl = \"http://x\"\nheaders = { Authorization = \"Bearer t\" }\n",
        );
        let all = servers(&c);
        let files = all[0].as_ref().unwrap();
        assert_eq!(
            files.transport,
            TransportConfig::Stdio {
                command: "npx".into(),
                args: vec!["-y".into(), "fs".into()],
                env: vec![("K".into(), "v".into())],
                cwd: None
            }
        );
        assert_eq!(
            (files.tool_timeout, files.startup_timeout, files.enabled),
            (Duration::from_secs(5), DEFAULT_STARTUP_TIMEOUT, true)
        );
        let remote = all[1].as_ref().unwrap();
        assert!(!remote.enabled);
        assert_eq!(
            remote.transport,
            TransportConfig::Http {
                url: "https://example.com/mcp".into(),
                headers: vec![("x-team".into(), "blue".into())]
            }
        );
        for (i, needle) in
            [(2, "both"), (3, "neither"), (4, "not a valid server name"), (5, "startup_timeout"), (6, "secrets")]
        {
            let bad = all[i].as_ref().unwrap_err();
            assert!(bad.reason.contains(needle), "{i}: {bad:?}");
        }
    }

    #[test]
    fn add_and_remove_keep_comments_and_refuse_duplicates() {
        let text = "# mine\ndefault_model = \"x\" # keep\n\n[mcp.old]  # old one\ncommand = \"a\"\n";
        let mut c = config(text);
        add(&mut c, "new", &TransportConfig::Http { url: "http://127.0.0.1:1/mcp".into(), headers: vec![] }).unwrap();
        add(
            &mut c,
            "cli",
            &TransportConfig::Stdio {
                command: "node".into(),
                args: vec!["s.js".into()],
                env: vec![("A".into(), "1".into())],
                cwd: None,
            },
        )
        .unwrap();
        assert!(
            add(&mut c, "old", &TransportConfig::Http { url: "http://x".into(), headers: vec![] })
                .unwrap_err()
                .contains("already")
        );
        let out = c.to_text();
        assert!(out.starts_with(text), "{out}");
        assert!(out.contains("[mcp.new]\nurl = \"http://127.0.0.1:1/mcp\""), "{out}");
        assert!(out.contains("args = [\"s.js\"]") && out.contains("env = { A = \"1\" }"), "{out}");
        assert_eq!(servers(&c).len(), 3);
        assert!(remove(&mut c, "new"));
        assert!(!remove(&mut c, "new"));
        assert!(c.to_text().contains("# old one"));
        assert!(validate_name("a__b").is_err() && validate_name("").is_err() && validate_name("ok-1_x").is_ok());
    }

    #[test]
    fn sign_in_keys_are_read_and_a_client_secret_is_refused() {
        let c = config(
            "[mcp.a]\nurl = \"https://a.example/mcp\"\nclient_id = \" cid \"\n\
             [mcp.b]\nurl = \"https://b.example/mcp\"\nclient_metadata_url = \"https://me.example/pincer.json\"\n\
             [mcp.c]\nurl = \"https://c.example/mcp\"\nclient_secret = \"s\"\n\
             [mcp.d]\nurl = \"https://d.example/mcp\"\nclient_metadata_url = \"http://me.example/x.json\"\nclient_id = 5\n",
        );
        assert_eq!(sign_in_config(&c, "a").unwrap().client_id.as_deref(), Some("cid"));
        assert_eq!(
            sign_in_config(&c, "b").unwrap().client_metadata_url.as_deref(),
            Some("https://me.example/pincer.json")
        );
        assert_eq!(sign_in_config(&c, "missing").unwrap(), SignInConfig::default());
        assert!(sign_in_config(&c, "d").unwrap_err().contains("client_id must be"));
        let all = servers(&c);
        let bad = all[2].as_ref().unwrap_err();
        assert!(bad.reason.contains("client_secret") && bad.reason.contains("--client-secret"), "{bad:?}");
    }
}
