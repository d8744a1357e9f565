//! The one list of environment variables pincer reads, read in one place.
//!
//! Everything else receives an [`Env`] value, so tests can inject any environment and no module
//! reaches for `std::env::var` on its own.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use crate::secret::Secret;

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
/// A PEM file of the certificate authorities to trust instead of the platform's store.
pub const SSL_CERT_FILE: &str = "SSL_CERT_FILE";
/// Folders (`:`-separated) of PEM files of certificate authorities to trust instead of the platform's.
pub const SSL_CERT_DIR: &str = "SSL_CERT_DIR";
/// Proxy for `https://` requests (the lower-case spelling is read first, as curl does).
pub const HTTPS_PROXY: &str = "HTTPS_PROXY";
/// Proxy for `http://` requests.
pub const HTTP_PROXY: &str = "HTTP_PROXY";
/// Proxy for requests that have no scheme-specific proxy.
pub const ALL_PROXY: &str = "ALL_PROXY";
/// Hosts reached directly, without a proxy (`host`, `.domain`, `*`, comma-separated).
pub const NO_PROXY: &str = "NO_PROXY";
/// The program that opens web pages (MCP sign-in): `prog`, `prog --flag %s`, or several
/// separated by `:`, tried in order. It is run directly, never through a shell.
pub const BROWSER: &str = "BROWSER";
/// The proxy variables in the order they are looked up, each upper-case and lower-case.
pub const PROXY_VARS: &[(&str, &str)] =
    &[(HTTPS_PROXY, "https_proxy"), (HTTP_PROXY, "http_proxy"), (ALL_PROXY, "all_proxy"), (NO_PROXY, "no_proxy")];
/// Where programs are looked up (the `claude` of the `claude-code` provider).
pub const PATH: &str = "PATH";
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
    (SSL_CERT_FILE, "PEM file of CA certificates to trust instead of the system's (corporate TLS proxies)"),
    (SSL_CERT_DIR, "folders of PEM CA certificates to trust instead of the system's"),
    (HTTPS_PROXY, "proxy for https:// requests (also https_proxy; ALL_PROXY as fallback)"),
    (HTTP_PROXY, "proxy for http:// requests (also http_proxy)"),
    (NO_PROXY, "hosts reached without a proxy, e.g. localhost,.internal.example"),
    (BROWSER, "program that opens the MCP sign-in page (`prog`, `prog %s`, or several joined by :)"),
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
    pub ssl_cert_file: Option<PathBuf>,
    pub ssl_cert_dir: Option<OsString>,
    /// Proxy settings: (the variable as spelled in the environment, its value).
    pub https_proxy: Option<(&'static str, String)>,
    pub http_proxy: Option<(&'static str, String)>,
    pub all_proxy: Option<(&'static str, String)>,
    pub no_proxy: Option<String>,
    pub browser: Option<String>,
    /// `PATH`, as it is.
    pub path: Option<OsString>,
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
        // Lower-case first, as curl reads them; the spelling found is kept for messages.
        let proxy = |(upper, lower): (&'static str, &'static str)| {
            text(lower).map(|v| (lower, v)).or_else(|| text(upper).map(|v| (upper, v)))
        };
        let [https, http, all, no] = [0, 1, 2, 3].map(|i| proxy(PROXY_VARS[i]));
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
            ssl_cert_file: path(SSL_CERT_FILE),
            ssl_cert_dir: lookup(SSL_CERT_DIR).filter(|v| !v.is_empty()),
            https_proxy: https,
            http_proxy: http,
            all_proxy: all,
            no_proxy: no.map(|(_, v)| v),
            browser: text(BROWSER),
            path: lookup(PATH).filter(|v| !v.is_empty()),
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

/// Credentials that commands pincer starts must not inherit: pincer's own (above), any
/// `PINCER_*` variable, and other services' keys of the same kind (`*_API_KEY`,
/// `*_AUTH_TOKEN`, `*_OAUTH_TOKEN`: `GEMINI_API_KEY`, `ANTHROPIC_AUTH_TOKEN`…), in any case.
/// Other tokens (`GH_TOKEN`, `AWS_*`, `SSH_AUTH_SOCK`) pass on purpose: the commands people run
/// need them, and the same credentials sit in files the commands can read anyway.
pub fn is_credential(name: &OsStr) -> bool {
    let name = name.to_string_lossy().to_ascii_uppercase();
    [ANTHROPIC_API_KEY, CLAUDE_CODE_OAUTH_TOKEN, OPENAI_API_KEY].contains(&name.as_str())
        || name.starts_with(CREDENTIAL_PREFIX)
        || CREDENTIAL_SUFFIXES.iter().any(|suffix| name.ends_with(suffix))
}

const CREDENTIAL_PREFIX: &str = "PINCER_";
const CREDENTIAL_SUFFIXES: &[&str] = &["_API_KEY", "_AUTH_TOKEN", "_OAUTH_TOKEN"];

/// This process's whole environment, for the commands pincer starts (the bash tool removes
/// the credentials from it).
pub fn vars_for_commands() -> Vec<(OsString, OsString)> {
    std::env::vars_os().collect()
}

/// Removes every credential variable ([`is_credential`]) from this process's environment and
/// overwrites its bytes where the kernel keeps showing them: `/proc/<pid>/environ` reads the
/// block pincer was started with, whatever `unsetenv` did since. Processes pincer starts then
/// inherit none of them either (they get what they need explicitly).
///
/// Call once at start-up, after [`Env::from_process`] and before any thread starts: the
/// environment must not change under it, and every entry must still be the kernel's.
#[cfg(unix)]
pub fn scrub_credentials_from_process() {
    use std::os::unix::ffi::OsStrExt;
    unsafe extern "C" {
        static mut environ: *mut *mut std::ffi::c_char;
    }
    let mut found: Vec<(Vec<u8>, *mut u8, usize)> = Vec::new();
    // SAFETY: `environ` is a NULL-terminated array of NUL-terminated strings, and nothing
    // changes it meanwhile (the caller's promise).
    unsafe {
        let mut entry = environ;
        while !entry.is_null() && !(*entry).is_null() {
            let bytes = std::ffi::CStr::from_ptr(*entry).to_bytes();
            let name = bytes.split(|&b| b == b'=').next().unwrap_or_default();
            if is_credential(OsStr::from_bytes(name)) {
                found.push((name.to_vec(), (*entry).cast::<u8>(), bytes.len()));
            }
            entry = entry.add(1);
        }
    }
    for (name, bytes, len) in found {
        // SAFETY: no other thread reads or writes the environment (the caller's promise); once
        // unset, the entry's bytes (the kernel's writable block) are referenced by nobody.
        unsafe {
            std::env::remove_var(OsStr::from_bytes(&name));
            std::ptr::write_bytes(bytes, 0, len);
        }
    }
}

/// Windows: the variables are removed, so processes pincer starts inherit none of them. The
/// bytes are not overwritten: Windows keeps the block itself and moves it as it changes, and no
/// other user's process can read it (a same-user process could, as it could read pincer's memory
/// there anyway).
#[cfg(windows)]
pub fn scrub_credentials_from_process() {
    let names: Vec<OsString> = std::env::vars_os().map(|(name, _)| name).filter(|name| is_credential(name)).collect();
    for name in names {
        // SAFETY: no other thread reads or writes the environment (the caller's promise).
        unsafe { std::env::remove_var(&name) };
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
    fn proxy_variables_in_both_spellings_lower_case_first() {
        let e =
            env(&[(HTTPS_PROXY, "http://upper:1"), ("https_proxy", "http://lower:2"), ("HTTP_PROXY", "http://h:3")]);
        assert_eq!(e.https_proxy, Some(("https_proxy", "http://lower:2".to_string())));
        assert_eq!(e.http_proxy, Some((HTTP_PROXY, "http://h:3".to_string())));
        let e = env(&[("all_proxy", "socks5://s:4"), ("no_proxy", "localhost"), (SSL_CERT_FILE, "/ca.pem")]);
        assert_eq!(e.all_proxy, Some(("all_proxy", "socks5://s:4".to_string())));
        assert_eq!(e.no_proxy.as_deref(), Some("localhost"));
        assert_eq!(e.ssl_cert_file, Some(PathBuf::from("/ca.pem")));
        assert!(env(&[(HTTPS_PROXY, "")]).https_proxy.is_none(), "empty is unset");
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

    #[test]
    fn credentials_are_told_from_other_variables() {
        for name in [ANTHROPIC_API_KEY, CLAUDE_CODE_OAUTH_TOKEN, OPENAI_API_KEY, "PINCER_HOME", "PINCER_X"] {
            assert!(is_credential(OsStr::new(name)), "{name}");
        }
        for name in ["GEMINI_API_KEY", "ANTHROPIC_AUTH_TOKEN", "groq_api_key", "X_OAUTH_TOKEN"] {
            assert!(is_credential(OsStr::new(name)), "{name}");
        }
        for name in ["PATH", "HOME", "GH_TOKEN", "SSH_AUTH_SOCK", "ANTHROPIC_BASE_URL", "API_KEYS_DIR"] {
            assert!(!is_credential(OsStr::new(name)), "{name}");
        }
    }
}
