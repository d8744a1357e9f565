//! Signing in to remote MCP servers with OAuth 2.1 (SPEC §11).
//!
//! The path of a sign-in: a server's 401 names what it wants ([`challenge`]: `resource_metadata`,
//! `scope`); [`discovery`] finds and checks the protected-resource metadata (RFC 9728) and the
//! authorization server's metadata (RFC 8414, then OpenID discovery), or falls back to the
//! 2025-03-26 rules; [`registration`] decides who pincer is to that server (a pre-registered
//! client, a Client ID Metadata Document, or dynamic registration, RFC 7591); [`flow`] runs the
//! authorization code grant with PKCE ([`pkce`]) through the browser ([`browser`]) and a loopback
//! [`listener`], or a pasted address; [`tokens`] talks to the token endpoint; [`entry`] keeps the
//! result in `auth.json`; [`provider`] puts the access token on each request, refreshes it, and
//! asks for more access when a server says `insufficient_scope`. [`urls`] holds the pure URL
//! rules all of them share, and [`wire`] the HTTP calls (behind a trait, so the rules are tested
//! without a network).
//!
//! Nothing secret (tokens, codes, client secrets, the PKCE verifier, `state`) reaches a log, an
//! error message or a command line: they live in [`Secret`](crate::secret::Secret)s.

pub mod browser;
pub mod challenge;
pub mod discovery;
pub mod entry;
pub mod flow;
pub mod listener;
pub mod pkce;
pub mod provider;
pub mod registration;
pub mod tokens;
pub mod urls;
pub mod wire;

pub use provider::lookup;

use crate::sanitize::sanitize;

/// The longest piece of a server's own text (an `error_description`) quoted in a message.
pub const QUOTE_CHARS: usize = 200;

/// Why a sign-in (or a refresh) did not happen. Messages never hold a secret; text from servers
/// is sanitised and shortened.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The network failed on the way to `what`.
    #[error("cannot reach {what}: {reason}")]
    Network { what: String, reason: String },
    /// An address pincer would send a secret to (or open) is not https on another computer.
    #[error(
        "{what} {url} is plain http on another computer: pincer sends sign-in secrets only over TLS\nhint: ask the server's operator for its https address (plain http is accepted only for 127.0.0.1, ::1 and localhost)"
    )]
    Insecure { what: &'static str, url: String },
    /// A metadata document pincer will not use, and why.
    #[error("{what}: {problem}")]
    Metadata { what: String, problem: String },
    /// Nothing says how to sign in to this server.
    #[error("{0}")]
    NoSignIn(String),
    /// An OAuth endpoint answered with an error.
    #[error("{what} refused: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Refused { what: &'static str, error: String, description: Option<String> },
    /// The redirect back from the browser was not the expected one.
    #[error("{0}")]
    Callback(String),
    /// The person (or the authorization server) declined.
    #[error("the sign-in was declined: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Denied { error: String, description: Option<String> },
    #[error("no sign-in within {minutes} minutes\nhint: run the command again and finish the sign-in in the browser")]
    TimedOut { minutes: u64 },
    /// Configuration or input that cannot work (exit 2).
    #[error("{0}")]
    Usage(String),
    #[error("interrupted")]
    Interrupted,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl OAuthError {
    pub(crate) fn metadata(what: impl Into<String>, problem: impl Into<String>) -> OAuthError {
        OAuthError::Metadata { what: what.into(), problem: problem.into() }
    }

    /// An OAuth error answer (`{"error", "error_description"}`), or the status when the body
    /// is not one.
    pub(crate) fn refused(what: &'static str, status: u16, body: &[u8]) -> OAuthError {
        #[derive(serde::Deserialize)]
        struct ErrorBody {
            error: Option<String>,
            error_description: Option<String>,
        }
        let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
        let (error, description) = match parsed {
            Some(ErrorBody { error: Some(error), error_description }) => {
                (quote(&error), error_description.map(|d| quote(&d)))
            }
            _ => (format!("HTTP {status}"), None),
        };
        OAuthError::Refused { what, error, description }
    }
}

/// Server text made safe for a terminal and short enough for one line.
pub(crate) fn quote(text: &str) -> String {
    let clean = sanitize(text).replace('\n', " ");
    if clean.chars().count() <= QUOTE_CHARS {
        return clean;
    }
    let mut short: String = clean.chars().take(QUOTE_CHARS).collect();
    short.push('…');
    short
}

/// `a b c`: scopes as OAuth writes them.
pub(crate) fn join_scopes(scopes: &[String]) -> String {
    scopes.join(" ")
}

/// RFC 6749 §3.3: a scope is visible ASCII but `"` and `\`. Anything else from a server is
/// dropped, never sent on, stored or shown.
pub fn is_scope(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| matches!(b, 0x21 | 0x23..=0x5b | 0x5d..=0x7e))
}

/// Scopes from a space-separated list, without empties, repeats or malformed ones, in order.
pub fn split_scopes(text: &str) -> Vec<String> {
    valid_scopes(text.split_ascii_whitespace())
}

/// The well-formed scopes of a list, once each, in order.
pub(crate) fn valid_scopes<'a>(list: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in list {
        if is_scope(s) && !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        } else if !is_scope(s) {
            tracing::debug!("ignored a malformed scope");
        }
    }
    out
}

/// `a` then every scope of `b` not already in it.
pub(crate) fn union_scopes(a: &[String], b: &[String]) -> Vec<String> {
    let mut out = a.to_vec();
    for s in b {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_split_join_and_union_keep_order_without_repeats() {
        assert_eq!(split_scopes("  a b\ta  c "), vec!["a", "b", "c"]);
        assert!(split_scopes("   ").is_empty());
        assert_eq!(split_scopes("ok a\u{b}b \"q\" back\\slash é files:read"), vec!["ok", "files:read"]);
        assert!(is_scope("https://scopes.example/x.read") && !is_scope("") && !is_scope("a b"));
        let u = union_scopes(&split_scopes("a b"), &split_scopes("b c"));
        assert_eq!(join_scopes(&u), "a b c");
    }

    #[test]
    fn refusals_quote_the_server_briefly_and_safely() {
        let e = OAuthError::refused(
            "the token endpoint",
            400,
            br#"{"error":"invalid_grant","error_description":"bad \u001b[31m code"}"#,
        );
        let text = e.to_string();
        assert!(text.contains("invalid_grant") && text.contains("^["), "{text}");
        let e = OAuthError::refused("the token endpoint", 502, b"<html>gateway</html>");
        assert!(e.to_string().contains("HTTP 502"));
        assert!(quote(&"x".repeat(1000)).chars().count() <= QUOTE_CHARS + 1);
    }
}
