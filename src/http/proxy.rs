//! Which proxy a request goes through, decided from the variables [`crate::env`] read, and how a
//! proxy is named in messages (never with its credentials).
//!
//! The rules are curl's: `https://` requests use `HTTPS_PROXY`, `http://` requests `HTTP_PROXY`,
//! either falls back to `ALL_PROXY`; a host matching `NO_PROXY` goes direct. One addition, Go's
//! rule: loopback hosts (`localhost`, `127.x.x.x`, `::1`) are never proxied, so a local model
//! server keeps working when a corporate proxy is set.

use crate::env::Env;

/// A proxy chosen for a request, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyChoice {
    /// The variable as spelled in the environment (`HTTPS_PROXY`, `https_proxy`, …).
    pub var: &'static str,
    /// The URL as given, credentials included: only for the HTTP stack, never for messages.
    pub url: String,
}

impl ProxyChoice {
    /// `http://***@proxy.corp:3128 (from HTTPS_PROXY)`.
    pub fn describe(&self) -> String {
        format!("{} (from {})", mask_userinfo(&self.url), self.var)
    }
}

/// A proxy variable whose value pincer cannot use: a usage error naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var} is not a proxy pincer can use ({}): {why}\nhint: set it to http://HOST:PORT (or https://), or unset it (`unset {var}`)", mask_userinfo(.value))]
pub struct ProxyError {
    pub var: &'static str,
    pub value: String,
    pub why: &'static str,
}

/// The proxy for a request to `scheme://host`, if any.
pub fn choose(env: &Env, scheme: &str, host: &str) -> Option<ProxyChoice> {
    if is_loopback(host) || env.no_proxy.as_deref().is_some_and(|list| no_proxy_matches(list, host)) {
        return None;
    }
    let specific = if scheme.eq_ignore_ascii_case("https") { &env.https_proxy } else { &env.http_proxy };
    specific.as_ref().or(env.all_proxy.as_ref()).map(|(var, url)| ProxyChoice { var, url: url.clone() })
}

/// Checks what the HTTP stack would do with the value, so a typo is reported before anything is
/// sent, not as a confusing connection failure. SOCKS needs a feature pincer does not build with.
pub fn to_ureq(choice: &ProxyChoice) -> Result<ureq::Proxy, ProxyError> {
    let error = |why| ProxyError { var: choice.var, value: choice.url.clone(), why };
    let scheme = choice.url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        None | Some("http") | Some("https") => {}
        Some(s) if s.starts_with("socks") => return Err(error("SOCKS proxies are not supported")),
        Some(_) => return Err(error("the scheme must be http or https")),
    }
    ureq::Proxy::new(&choice.url).map_err(|_| error("not a valid URL"))
}

/// `NO_PROXY` as curl reads it: comma- or space-separated; `*` matches every host; `example.com`,
/// `.example.com` and `*.example.com` match that domain and every host under it; a `:port` is
/// ignored. Matching ignores case.
pub fn no_proxy_matches(list: &str, host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']').trim_end_matches('.').to_ascii_lowercase();
    list.split([',', ' ']).map(str::trim).filter(|e| !e.is_empty()).any(|entry| {
        if entry == "*" {
            return true;
        }
        let entry = strip_port(entry).trim_start_matches("*.").trim_start_matches('.').to_ascii_lowercase();
        !entry.is_empty()
            && (host == entry || host.strip_suffix(entry.as_str()).is_some_and(|head| head.ends_with('.')))
    })
}

/// `host:port` → `host`; `[::1]:8080` → `::1`; a bare IPv6 address stays whole.
fn strip_port(entry: &str) -> &str {
    if let Some(rest) = entry.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => entry,
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A URL with any `user:pass@` replaced by `***@`, for messages.
pub fn mask_userinfo(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let masked = match rest[..authority_end].rfind('@') {
        Some(at) => format!("***{}", &rest[at..]),
        None => rest.to_string(),
    };
    match scheme {
        Some(scheme) => format!("{scheme}://{masked}"),
        None => masked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(https: Option<&str>, http: Option<&str>, all: Option<&str>, no: Option<&str>) -> Env {
        Env {
            https_proxy: https.map(|v| ("HTTPS_PROXY", v.to_string())),
            http_proxy: http.map(|v| ("http_proxy", v.to_string())),
            all_proxy: all.map(|v| ("ALL_PROXY", v.to_string())),
            no_proxy: no.map(str::to_string),
            ..Env::default()
        }
    }

    #[test]
    fn scheme_picks_the_variable_and_all_proxy_is_the_fallback() {
        let e = env(Some("http://s:1"), Some("http://p:2"), Some("http://a:3"), None);
        assert_eq!(choose(&e, "https", "api.anthropic.com").unwrap().var, "HTTPS_PROXY");
        assert_eq!(choose(&e, "http", "gpu.lan").unwrap().var, "http_proxy");
        let e = env(None, None, Some("http://a:3"), None);
        assert_eq!(choose(&e, "https", "api.anthropic.com").unwrap().url, "http://a:3");
        assert_eq!(choose(&env(None, None, None, None), "https", "api.anthropic.com"), None);
        // An https proxy variable does not apply to http requests.
        assert_eq!(choose(&env(Some("http://s:1"), None, None, None), "http", "gpu.lan"), None);
    }

    #[test]
    fn no_proxy_and_loopback_go_direct() {
        let e = env(Some("http://s:1"), Some("http://p:2"), None, Some("internal.example, .corp.test,*.lab:8080"));
        assert_eq!(choose(&e, "https", "internal.example"), None);
        assert_eq!(choose(&e, "https", "api.internal.example"), None);
        assert_eq!(choose(&e, "https", "API.CORP.TEST"), None);
        assert_eq!(choose(&e, "http", "gpu.lab"), None);
        assert!(choose(&e, "https", "notinternal.example").is_some(), "a suffix must end at a dot");
        assert!(choose(&e, "https", "api.anthropic.com").is_some());
        for host in ["localhost", "127.0.0.1", "127.1.2.3", "[::1]", "::1"] {
            assert_eq!(choose(&e, "http", host), None, "{host}");
        }
        assert_eq!(choose(&env(Some("http://s:1"), None, None, Some("*")), "https", "anything"), None);
        assert!(no_proxy_matches("10.0.0.5", "10.0.0.5") && !no_proxy_matches("10.0.0.5", "10.0.0.50"));
        assert!(no_proxy_matches("[fd00::1]:443", "[fd00::1]"));
    }

    #[test]
    fn credentials_are_masked() {
        assert_eq!(mask_userinfo("http://user:s3cret@proxy.corp:3128"), "http://***@proxy.corp:3128");
        assert_eq!(mask_userinfo("http://tok@proxy:1/path@x"), "http://***@proxy:1/path@x");
        assert_eq!(mask_userinfo("user:pw@proxy:8080"), "***@proxy:8080");
        assert_eq!(mask_userinfo("http://proxy:3128"), "http://proxy:3128");
        let c = ProxyChoice { var: "HTTPS_PROXY", url: "http://u:p@h:1".into() };
        assert_eq!(c.describe(), "http://***@h:1 (from HTTPS_PROXY)");
    }

    #[test]
    fn unusable_values_are_refused_by_name() {
        let bad = |url: &str| to_ureq(&ProxyChoice { var: "https_proxy", url: url.into() }).unwrap_err();
        assert_eq!(bad("socks5://u:pw@s:1080").why, "SOCKS proxies are not supported");
        assert_eq!(bad("ftp://p:1").why, "the scheme must be http or https");
        let e = bad("http://u:pw@[broken").to_string();
        assert!(e.starts_with("https_proxy is not a proxy pincer can use (http://***@[broken)"), "{e}");
        assert!(!e.contains("pw"), "{e}");
        assert!(to_ureq(&ProxyChoice { var: "HTTPS_PROXY", url: "http://proxy:3128".into() }).is_ok());
        assert!(to_ureq(&ProxyChoice { var: "HTTPS_PROXY", url: "proxy:3128".into() }).is_ok());
    }
}
