//! The one list of environment variables pincer reads, read in one place.
//!
//! Everything else receives an [`Env`] value, so tests can inject any environment and no module
//! reaches for `std::env::var` on its own.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::auth::secret::Secret;

/// Home folder override (tests always set it).
pub const PINCER_HOME: &str = "PINCER_HOME";
/// Base URL of every Anthropic endpoint.
pub const ANTHROPIC_BASE_URL: &str = "ANTHROPIC_BASE_URL";
/// An Anthropic API key that takes precedence over `auth.json`.
pub const ANTHROPIC_API_KEY: &str = "ANTHROPIC_API_KEY";
/// A setup token (from `claude setup-token`) that takes precedence over `auth.json`.
pub const CLAUDE_CODE_OAUTH_TOKEN: &str = "CLAUDE_CODE_OAUTH_TOKEN";
/// An OpenAI(-compatible) API key that takes precedence over `auth.json`.
pub const OPENAI_API_KEY: &str = "OPENAI_API_KEY";
/// Base URL of the OpenAI-compatible provider.
pub const OPENAI_BASE_URL: &str = "OPENAI_BASE_URL";
/// Any value turns colour off.
pub const NO_COLOR: &str = "NO_COLOR";
/// The terminal type: `dumb` (Emacs shells, some CI logs) means no escape sequences, so no colour.
pub const TERM: &str = "TERM";
/// The terminal type that cannot show escape sequences.
const DUMB_TERMINAL: &str = "dumb";
/// Log filter for `tracing` (preferred).
pub const PINCER_LOG: &str = "PINCER_LOG";
/// Log filter for `tracing` (fallback).
pub const RUST_LOG: &str = "RUST_LOG";
/// The user's home, for the default `~/.pincer`.
pub const HOME: &str = "HOME";
/// The user's home on Windows, where `HOME` is usually unset.
pub const USERPROFILE: &str = "USERPROFILE";

/// Every variable above, for `--help` and the docs.
pub const ALL: &[(&str, &str)] = &[
    (PINCER_HOME, "home folder (default ~/.pincer)"),
    (ANTHROPIC_BASE_URL, "base URL of every Anthropic endpoint (default https://api.anthropic.com)"),
    (ANTHROPIC_API_KEY, "Anthropic API key; takes precedence over auth.json"),
    (CLAUDE_CODE_OAUTH_TOKEN, "Anthropic setup token; takes precedence over auth.json"),
    (OPENAI_API_KEY, "OpenAI-compatible API key; takes precedence over auth.json"),
    (OPENAI_BASE_URL, "OpenAI-compatible base URL (default https://api.openai.com/v1)"),
    (NO_COLOR, "disable colour"),
    (TERM, "`dumb` disables colour too"),
    (PINCER_LOG, "log filter, e.g. debug or pincer=trace (RUST_LOG also works); logs go to stderr"),
];

/// A snapshot of the environment, taken once at start-up.
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub pincer_home: Option<PathBuf>,
    pub home: Option<PathBuf>,
    pub anthropic_base_url: Option<String>,
    pub anthropic_api_key: Option<Secret<String>>,
    pub claude_code_oauth_token: Option<Secret<String>>,
    pub openai_api_key: Option<Secret<String>>,
    pub openai_base_url: Option<String>,
    pub no_color: bool,
    pub log_filter: Option<String>,
}

impl Env {
    /// Reads the process environment. The only place pincer calls `std::env::var_os`.
    pub fn from_process() -> Env {
        Env::from_lookup(|name| std::env::var_os(name))
    }

    /// Builds an `Env` from any lookup function (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<OsString>) -> Env {
        // Empty values count as unset: `FOO= pincer …` is how people clear a variable.
        let text = |name: &str| {
            lookup(name).and_then(|v| v.into_string().ok()).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
        };
        let path = |name: &str| lookup(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        Env {
            pincer_home: path(PINCER_HOME),
            home: path(HOME).or_else(|| if cfg!(windows) { path(USERPROFILE) } else { None }),
            anthropic_base_url: text(ANTHROPIC_BASE_URL),
            anthropic_api_key: text(ANTHROPIC_API_KEY).map(Secret::new),
            claude_code_oauth_token: text(CLAUDE_CODE_OAUTH_TOKEN).map(Secret::new),
            openai_api_key: text(OPENAI_API_KEY).map(Secret::new),
            openai_base_url: text(OPENAI_BASE_URL),
            // NO_COLOR: "when present and not an empty string" (no-color.org); a dumb terminal
            // shows escape sequences as garbage, so it means the same.
            no_color: lookup(NO_COLOR).is_some_and(|v| !v.is_empty()) || text(TERM).as_deref() == Some(DUMB_TERMINAL),
            log_filter: text(PINCER_LOG).or_else(|| text(RUST_LOG)),
        }
    }

    /// The home folder: `$PINCER_HOME`, else `~/.pincer`.
    pub fn pincer_home(&self) -> anyhow::Result<PathBuf> {
        if let Some(home) = &self.pincer_home {
            return Ok(home.clone());
        }
        match &self.home {
            Some(home) => Ok(home.join(".pincer")),
            None => anyhow::bail!(
                "neither {PINCER_HOME} nor {HOME} is set\nhint: set {PINCER_HOME} to the folder pincer should use"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Env {
        let map: HashMap<String, OsString> = pairs.iter().map(|(k, v)| (k.to_string(), OsString::from(v))).collect();
        Env::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn empty_values_are_unset_and_values_are_trimmed() {
        let e = env(&[(ANTHROPIC_API_KEY, ""), (ANTHROPIC_BASE_URL, " http://x \n"), (NO_COLOR, "")]);
        assert!(e.anthropic_api_key.is_none());
        assert_eq!(e.anthropic_base_url.as_deref(), Some("http://x"));
        assert!(!e.no_color);
    }

    #[test]
    fn home_defaults_to_dot_pincer_and_pincer_home_wins() {
        assert_eq!(env(&[(HOME, "/h")]).pincer_home().unwrap(), PathBuf::from("/h/.pincer"));
        assert_eq!(env(&[(HOME, "/h"), (PINCER_HOME, "/p")]).pincer_home().unwrap(), PathBuf::from("/p"));
        assert!(env(&[]).pincer_home().is_err());
    }

    #[test]
    fn a_dumb_terminal_means_no_colour() {
        assert!(env(&[(TERM, "dumb")]).no_color);
        assert!(!env(&[(TERM, "xterm-256color")]).no_color);
        assert!(!env(&[]).no_color);
    }

    #[test]
    fn pincer_log_wins_over_rust_log() {
        assert_eq!(env(&[(RUST_LOG, "warn"), (PINCER_LOG, "trace")]).log_filter.as_deref(), Some("trace"));
        assert_eq!(env(&[(RUST_LOG, "warn")]).log_filter.as_deref(), Some("warn"));
    }
}
