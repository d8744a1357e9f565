//! Base URLs: checked before anything is sent, and named by where they came from (a config key
//! or a variable), so a typo is a usage error that says what to fix — not a confusing
//! connection failure after a credential went out. A 404 gets a hint about the `/v1` convention:
//! Anthropic's paths start with `/v1` (the base must not end with it), while an OpenAI-compatible
//! base usually ends with it.

use std::path::PathBuf;

use super::Protocol;
use crate::exit::UsageError;
use crate::http::proxy::mask_userinfo;
use crate::sanitize::sanitize;

const API_VERSION_SEGMENT: &str = "/v1";

/// Where a base URL came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Variable(&'static str),
    /// `base_url` of `[models.NAME]`.
    ModelEntry {
        model: String,
        file: PathBuf,
    },
    /// `base_url` of `[providers.NAME]`.
    ProviderEntry {
        provider: String,
        file: PathBuf,
    },
    Default,
}

impl Origin {
    pub fn describe(&self) -> String {
        match self {
            Origin::Variable(var) => (*var).to_string(),
            Origin::ModelEntry { model, file } => format!("`base_url` of [models.{model}] in {}", file.display()),
            Origin::ProviderEntry { provider, file } => {
                format!("`base_url` of [providers.{provider}] in {}", file.display())
            }
            Origin::Default => "the built-in default".to_string(),
        }
    }
}

/// Checks a base URL: `http://` or `https://`, a host, no query, fragment or credentials.
pub fn validate(url: &str, origin: &Origin) -> Result<(), UsageError> {
    let problem = problem(url);
    match problem {
        None => Ok(()),
        Some(why) => Err(UsageError(format!(
            "the base URL `{}` (from {}) is not usable: {why}\nhint: set {} to a URL like https://api.example.com/v1; nothing was sent",
            sanitize(&mask_userinfo(url)),
            origin.describe(),
            origin.describe()
        ))),
    }
}

fn problem(url: &str) -> Option<&'static str> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("it contains spaces or control characters");
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Some("it has no scheme (it must start with http:// or https://)");
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Some("the scheme must be http:// or https://");
    }
    if rest.contains(['?', '#']) {
        return Some("a base URL has no query (`?`) or fragment (`#`)");
    }
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        return Some("it has no host");
    }
    if authority.contains('@') {
        return Some("credentials do not belong in a base URL (pincer sends them in headers)");
    }
    match url.parse::<ureq::http::Uri>() {
        Ok(uri) if uri.host().is_some_and(|h| !h.is_empty()) => None,
        Ok(_) => Some("it has no host"),
        Err(_) => Some("it is not a valid URL"),
    }
}

/// A hint for a 404, when the base URL breaks the `/v1` convention of its protocol.
pub fn not_found_hint(protocol: Protocol, base: &str, origin: &Origin) -> Option<String> {
    let ends_in_v1 = base.trim_end_matches('/').ends_with(API_VERSION_SEGMENT);
    match protocol {
        Protocol::Anthropic if ends_in_v1 => Some(format!(
            "Anthropic's paths already start with /v1, so the base URL must not end in /v1: remove it from {} (e.g. https://api.anthropic.com)",
            origin.describe()
        )),
        Protocol::OpenAi if !ends_in_v1 => Some(format!(
            "an OpenAI-compatible base URL usually ends in /v1 (e.g. http://127.0.0.1:8080/v1): check {}",
            origin.describe()
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_urls_pass() {
        for url in
            ["https://api.anthropic.com", "http://127.0.0.1:8080/v1", "https://gw.corp/anthropic", "http://[::1]:9/v1"]
        {
            assert_eq!(validate(url, &Origin::Default).map_err(|e| e.0), Ok(()), "{url}");
        }
    }

    #[test]
    fn bad_urls_are_usage_errors_naming_their_origin() {
        let var = Origin::Variable("ANTHROPIC_BASE_URL");
        for (url, why) in [
            ("api.anthropic.com", "no scheme"),
            ("ftp://api.anthropic.com", "scheme must be http:// or https://"),
            ("htps://api.anthropic.com", "scheme must be http:// or https://"),
            ("https://", "no host"),
            ("https://api.anthropic.com/?x=1", "no query"),
            ("https://api anthropic.com", "spaces"),
            ("https://user:hunter2@gw.corp", "credentials do not belong"),
            ("https://[::1", "not a valid URL"),
        ] {
            let e = validate(url, &var).unwrap_err().0;
            assert!(e.contains(why), "{url}: {e}");
            assert!(e.contains("(from ANTHROPIC_BASE_URL)") && e.contains("hint: set ANTHROPIC_BASE_URL"), "{e}");
            assert!(!e.contains("hunter2"), "{e}");
        }
        let entry = Origin::ModelEntry { model: "local".into(), file: "/h/config.toml".into() };
        let e = validate("localhost:8080/v1", &entry).unwrap_err().0;
        assert!(e.contains("(from `base_url` of [models.local] in /h/config.toml)"), "{e}");
    }

    #[test]
    fn not_found_hints_follow_the_v1_convention() {
        let var = Origin::Variable("ANTHROPIC_BASE_URL");
        assert!(not_found_hint(Protocol::Anthropic, "https://gw/v1", &var).unwrap().contains("must not end in /v1"));
        assert_eq!(not_found_hint(Protocol::Anthropic, "https://api.anthropic.com", &var), None);
        let o = Origin::Variable("OPENAI_BASE_URL");
        assert!(not_found_hint(Protocol::OpenAi, "http://127.0.0.1:8080", &o).unwrap().contains("usually ends in /v1"));
        assert_eq!(not_found_hint(Protocol::OpenAi, "http://127.0.0.1:8080/v1/", &o), None);
    }
}
