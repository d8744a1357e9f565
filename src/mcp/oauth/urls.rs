//! The URL rules of a sign-in, pure and table-tested: which addresses may carry a secret, the
//! well-known locations to look for metadata (in the MCP authorization spec's order), the
//! canonical resource identifier, and when a protected-resource document speaks for a server.

use url::Url;

use super::OAuthError;

pub const PRM_WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";
pub const OAUTH_WELL_KNOWN: &str = "/.well-known/oauth-authorization-server";
pub const OPENID_WELL_KNOWN: &str = "/.well-known/openid-configuration";

/// Parses an absolute http(s) URL without a fragment (RFC 8707 and RFC 8414 forbid fragments
/// in resource and issuer identifiers and endpoints).
pub fn parse_http(text: &str, what: &str) -> Result<Url, OAuthError> {
    let url = Url::parse(text.trim())
        .map_err(|e| OAuthError::metadata(what, format!("{:?} is not a URL ({e})", super::quote(text))))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(OAuthError::metadata(what, format!("{:?} is not an http(s) URL", super::quote(text))));
    }
    if url.fragment().is_some() {
        return Err(OAuthError::metadata(
            what,
            format!("{:?} has a fragment (#…), which is not allowed", super::quote(text)),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(OAuthError::metadata(what, "the URL holds a user name or password, which pincer never sends"));
    }
    Ok(url)
}

/// `localhost` (and `*.localhost`), `127.0.0.0/8` and `::1`: this computer, where plain http
/// carries nothing across a network.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// https, or plain http to this computer; anything else would carry a secret (or a sign-in
/// page) in clear text.
pub fn require_secure(url: &Url, what: &'static str) -> Result<(), OAuthError> {
    if url.scheme() == "https" || is_loopback(url) {
        Ok(())
    } else {
        Err(OAuthError::Insecure { what, url: without_query(url) })
    }
}

pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.origin() == b.origin()
}

/// `scheme://host[:port]`: the origin as an identifier, without a trailing slash.
pub fn origin_text(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// A URL for messages and logs: the query (which may carry `state` or a code) and the fragment
/// left out.
pub fn without_query(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// The path without its trailing slash (`""` for the root).
fn trimmed_path(url: &Url) -> &str {
    url.path().trim_end_matches('/')
}

/// The canonical URI of an MCP server (RFC 8707 §2, MCP "Canonical Server URI"): lower-case
/// scheme and host (the parser does that), no fragment, no trailing slash.
pub fn canonical_resource(url: &Url) -> String {
    let mut text = format!("{}{}", origin_text(url), trimmed_path(url));
    if let Some(q) = url.query() {
        text.push('?');
        text.push_str(q);
    }
    text
}

/// Where to look for a server's protected-resource metadata when its 401 names none
/// (RFC 9728 §3.1, MCP order): at the path of the MCP endpoint, then at the root.
pub fn protected_resource_urls(server: &Url) -> Vec<Url> {
    let root = origin_text(server);
    let path = trimmed_path(server);
    let mut out = Vec::new();
    if !path.is_empty() {
        out.extend(Url::parse(&format!("{root}{PRM_WELL_KNOWN}{path}")));
    }
    out.extend(Url::parse(&format!("{root}{PRM_WELL_KNOWN}")));
    out
}

/// Where an issuer's metadata may be (MCP "Authorization Server Metadata Discovery"): with a
/// path, RFC 8414 path insertion, OpenID path insertion, then OpenID path appending; without,
/// RFC 8414 then OpenID at the root.
pub fn auth_server_metadata_urls(issuer: &Url) -> Vec<Url> {
    let root = origin_text(issuer);
    let path = trimmed_path(issuer);
    let texts = if path.is_empty() {
        vec![format!("{root}{OAUTH_WELL_KNOWN}"), format!("{root}{OPENID_WELL_KNOWN}")]
    } else {
        vec![
            format!("{root}{OAUTH_WELL_KNOWN}{path}"),
            format!("{root}{OPENID_WELL_KNOWN}{path}"),
            format!("{root}{path}{OPENID_WELL_KNOWN}"),
        ]
    };
    texts.iter().filter_map(|t| Url::parse(t).ok()).collect()
}

/// True when a protected-resource document naming `resource` speaks for `server`: the same
/// origin, and a path that is the server's or one of its parents (whole segments:
/// `/mcp` covers `/mcp` and `/mcp/x`, never `/mcpx`).
pub fn resource_covers(resource: &Url, server: &Url) -> bool {
    if !same_origin(resource, server) {
        return false;
    }
    let (r, s) = (trimmed_path(resource), trimmed_path(server));
    r.is_empty() || s == r || s.strip_prefix(r).is_some_and(|rest| rest.starts_with('/'))
}

/// RFC 8414 §3.3: the issuer in a document must be the one its address was built from. A
/// trailing slash is not a difference worth refusing a server for.
pub fn same_issuer(expected: &str, found: &str) -> bool {
    expected.trim_end_matches('/') == found.trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn texts(urls: Vec<Url>) -> Vec<String> {
        urls.into_iter().map(|u| u.to_string()).collect()
    }

    #[test]
    fn protected_resource_locations_path_first_then_root() {
        assert_eq!(
            texts(protected_resource_urls(&u("https://example.com/public/mcp"))),
            [
                "https://example.com/.well-known/oauth-protected-resource/public/mcp",
                "https://example.com/.well-known/oauth-protected-resource"
            ]
        );
        assert_eq!(
            texts(protected_resource_urls(&u("https://example.com/mcp/?x=1"))),
            [
                "https://example.com/.well-known/oauth-protected-resource/mcp",
                "https://example.com/.well-known/oauth-protected-resource"
            ]
        );
        assert_eq!(
            texts(protected_resource_urls(&u("http://localhost:3000/"))),
            ["http://localhost:3000/.well-known/oauth-protected-resource"]
        );
    }

    #[test]
    fn authorization_server_locations_in_the_spec_order() {
        assert_eq!(
            texts(auth_server_metadata_urls(&u("https://auth.example.com/tenant1"))),
            [
                "https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
                "https://auth.example.com/.well-known/openid-configuration/tenant1",
                "https://auth.example.com/tenant1/.well-known/openid-configuration"
            ]
        );
        assert_eq!(
            texts(auth_server_metadata_urls(&u("https://auth.example.com/"))),
            [
                "https://auth.example.com/.well-known/oauth-authorization-server",
                "https://auth.example.com/.well-known/openid-configuration"
            ]
        );
    }

    #[test]
    fn canonical_resource_is_lower_case_without_trailing_slash_or_fragment() {
        assert_eq!(canonical_resource(&u("HTTPS://MCP.Example.COM/")), "https://mcp.example.com");
        assert_eq!(canonical_resource(&u("https://mcp.example.com:8443/mcp/")), "https://mcp.example.com:8443/mcp");
        assert_eq!(canonical_resource(&u("https://mcp.example.com:443/a#frag")), "https://mcp.example.com/a");
        assert_eq!(canonical_resource(&u("http://127.0.0.1:9/s?t=1")), "http://127.0.0.1:9/s?t=1");
    }

    #[test]
    fn a_resource_covers_its_server_and_children_only() {
        let server = u("https://example.com/mcp");
        for (resource, ok) in [
            ("https://example.com/mcp", true),
            ("https://example.com/mcp/", true),
            ("https://example.com", true),
            ("https://EXAMPLE.com:443/", true),
            ("https://example.com/mc", false),
            ("https://example.com/mcp/deeper", false),
            ("https://example.com:8443/mcp", false),
            ("http://example.com/mcp", false),
            ("https://evil.example.com/mcp", false),
        ] {
            assert_eq!(resource_covers(&u(resource), &server), ok, "{resource}");
        }
        assert!(resource_covers(&u("https://example.com/a"), &u("https://example.com/a/b")));
        assert!(!resource_covers(&u("https://example.com/a"), &u("https://example.com/ab")));
    }

    #[test]
    fn only_tls_or_this_computer_may_carry_secrets() {
        for ok in [
            "https://a.example/x",
            "http://127.0.0.1:5/x",
            "http://127.8.9.1/",
            "http://[::1]:80/",
            "http://localhost:3/",
            "http://app.localhost/",
        ] {
            assert!(require_secure(&u(ok), "endpoint").is_ok(), "{ok}");
        }
        for bad in ["http://example.com/token", "http://10.0.0.1/", "http://localhost.evil.com/", "http://[::2]/"] {
            let err = require_secure(&u(bad), "the token endpoint").unwrap_err().to_string();
            assert!(err.contains("plain http") && err.contains("hint:"), "{bad}: {err}");
        }
    }

    #[test]
    fn parse_refuses_what_an_identifier_cannot_be() {
        assert!(parse_http("https://a.example/x", "t").is_ok());
        for bad in [
            "ftp://a.example/",
            "https://a.example/#f",
            "not a url",
            "https://user:pw@a.example/",
            "file:///etc/passwd",
        ] {
            assert!(parse_http(bad, "t").is_err(), "{bad}");
        }
    }

    #[test]
    fn issuers_compare_exactly_but_for_a_trailing_slash() {
        assert!(same_issuer("https://a.example", "https://a.example/"));
        assert!(!same_issuer("https://a.example/t1", "https://a.example/t2"));
        assert!(!same_issuer("https://a.example", "https://evil.example"));
        assert!(without_query(&u("https://a.example/authorize?state=s&code_challenge=c")).ends_with("/authorize"));
    }
}
