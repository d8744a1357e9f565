//! Finding out how to sign in to a server, in the MCP authorization spec's order, and checking
//! every document before trusting it.
//!
//! 1. The protected-resource metadata (RFC 9728): the URL a 401's `resource_metadata` names,
//!    else the well-known locations (at the server's path, then the root). Its `resource` must
//!    speak for the server's URL (same origin, the server's path or a parent of it).
//! 2. The authorization server it names: RFC 8414 metadata, then OpenID discovery, with the
//!    path-insertion variants. The document's `issuer` must be the one asked about.
//! 3. Without protected-resource metadata (servers of the 2025-03-26 revision), the server's
//!    origin is its own authorization server: metadata at its root, else the default `/authorize`,
//!    `/token` and `/register`. Nobody named that authorization server, so everything it
//!    advertises must stay on the server's origin.
//!
//! Every address that will carry a secret or a sign-in page must be https (or this computer).
//! PKCE S256 must be offered: the 2025-11-25 revision requires refusing a server whose metadata
//! does not list `code_challenge_methods_supported`; a 2025-03-26 server (which required PKCE of
//! every client without advertising it) is refused only when it lists methods without S256.

use serde::Deserialize;
use url::Url;

use super::challenge::Challenge;
use super::urls::{self, parse_http, require_secure, same_issuer, same_origin};
use super::wire::{Wire, parse_document};
use super::{OAuthError, pkce};

/// The scope that asks for a refresh token; requested when the authorization server lists it.
pub const OFFLINE_ACCESS: &str = "offline_access";
/// The 2025-03-26 default endpoints, relative to the server's origin.
const DEFAULT_AUTHORIZE: &str = "/authorize";
const DEFAULT_TOKEN: &str = "/token";
const DEFAULT_REGISTER: &str = "/register";
const RESPONSE_TYPE_CODE: &str = "code";
const GRANT_AUTHORIZATION_CODE: &str = "authorization_code";

/// Which rules the server follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// Protected-resource metadata names the authorization server (2025-06-18 and later).
    ProtectedResource,
    /// No protected-resource metadata: the server's origin is the authorization server (2025-03-26).
    Legacy,
}

#[derive(Debug, Clone)]
pub struct Endpoints {
    pub authorization: Url,
    pub token: Url,
    pub registration: Option<Url>,
    pub revocation: Option<Url>,
}

/// Everything a sign-in needs to know about a server and its authorization server.
#[derive(Debug, Clone)]
pub struct Discovered {
    pub era: Era,
    /// The `resource` parameter (RFC 8707) of every authorization and token request.
    pub resource: String,
    /// The issuer the authorization response's `iss` must match (RFC 9207).
    pub issuer: String,
    pub endpoints: Endpoints,
    /// The scopes to ask for (`None`: no `scope` parameter), by the spec's selection strategy.
    pub scopes: Option<Vec<String>>,
    /// The authorization server's own `scopes_supported` (for `offline_access`).
    pub server_scopes: Option<Vec<String>>,
    pub auth_methods: Option<Vec<String>>,
    pub metadata_documents: bool,
    /// The server promised `iss` in every authorization response.
    pub iss_parameter: bool,
}

/// RFC 9728 §2 (the fields pincer reads).
#[derive(Debug, Deserialize)]
struct ProtectedResource {
    resource: Option<String>,
    #[serde(default)]
    authorization_servers: Vec<String>,
    scopes_supported: Option<Vec<String>>,
}

/// RFC 8414 §2 / OpenID Provider Metadata (the fields pincer reads).
#[derive(Debug, Deserialize)]
struct ServerMetadata {
    issuer: Option<String>,
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
    registration_endpoint: Option<String>,
    revocation_endpoint: Option<String>,
    scopes_supported: Option<Vec<String>>,
    response_types_supported: Option<Vec<String>>,
    grant_types_supported: Option<Vec<String>>,
    code_challenge_methods_supported: Option<Vec<String>>,
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    client_id_metadata_document_supported: bool,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}

/// Discovers how to sign in to `server`. `challenge` is what its 401 (or 403) said, if it said
/// anything; without one, a server that publishes no protected-resource metadata is taken as one
/// that needs no sign-in.
pub fn discover(wire: &dyn Wire, server: &Url, challenge: Option<&Challenge>) -> Result<Discovered, OAuthError> {
    require_secure(server, "the MCP server")?;
    let found = protected_resource(wire, server, challenge)?;
    let (era, resource, issuer, metadata) = match found {
        Some((prm, prm_url)) => {
            let what = format!("the protected-resource metadata at {}", urls::without_query(&prm_url));
            let Some(first) = prm.authorization_servers.first() else {
                return Err(OAuthError::metadata(
                    what,
                    "it names no authorization server (authorization_servers is empty)",
                ));
            };
            let issuer_url = parse_http(first, &what)?;
            require_secure(&issuer_url, "the authorization server")?;
            if issuer_url.query().is_some() {
                return Err(OAuthError::metadata(
                    what,
                    "the authorization server's address has a query, which an issuer never has",
                ));
            }
            let Some((doc, at)) = server_metadata(wire, &issuer_url)? else {
                return Err(OAuthError::NoSignIn(format!(
                    "the authorization server {first} publishes no metadata (tried {})\nhint: check the server's sign-in set-up with its operator",
                    tried(&urls::auth_server_metadata_urls(&issuer_url))
                )));
            };
            let resource = prm.resource.unwrap_or_default();
            (Era::ProtectedResource, resource, first.clone(), Some((doc, at, prm.scopes_supported)))
        }
        None => {
            if challenge.is_none() {
                return Err(OAuthError::NoSignIn(format!(
                    "{} did not ask for a sign-in, and publishes no protected-resource metadata (tried {})\nhint: nothing to do: the server works without signing in",
                    urls::without_query(server),
                    tried(&urls::protected_resource_urls(server))
                )));
            }
            let origin = urls::origin_text(server);
            let origin_url =
                Url::parse(&origin).map_err(|e| OAuthError::metadata("the server's address", e.to_string()))?;
            let found = server_metadata(wire, &origin_url)?;
            (Era::Legacy, urls::canonical_resource(server), origin, found.map(|(doc, at)| (doc, at, None)))
        }
    };
    let challenge_scopes = challenge.and_then(|c| c.scope.clone()).filter(|s| !s.is_empty());
    match metadata {
        Some((doc, at, prm_scopes)) => {
            let checked = check_server_metadata(doc, &at, &issuer, era, server)?;
            let prm_scopes = prm_scopes.map(|s| super::valid_scopes(s.iter().map(String::as_str)));
            let mut scopes = challenge_scopes.or(prm_scopes.filter(|s| !s.is_empty()));
            if let (Some(scopes), Some(offered)) = (scopes.as_mut(), &checked.server_scopes)
                && offered.iter().any(|s| s == OFFLINE_ACCESS)
                && !scopes.iter().any(|s| s == OFFLINE_ACCESS)
            {
                scopes.push(OFFLINE_ACCESS.to_string());
            }
            Ok(Discovered { era, resource, scopes, ..checked })
        }
        None => {
            let at = |path: &str| {
                Url::parse(&format!("{issuer}{path}"))
                    .map_err(|e| OAuthError::metadata("the default endpoints", e.to_string()))
            };
            Ok(Discovered {
                era,
                resource,
                issuer: issuer.clone(),
                endpoints: Endpoints {
                    authorization: at(DEFAULT_AUTHORIZE)?,
                    token: at(DEFAULT_TOKEN)?,
                    registration: Some(at(DEFAULT_REGISTER)?),
                    revocation: None,
                },
                scopes: challenge_scopes,
                server_scopes: None,
                auth_methods: None,
                metadata_documents: false,
                iss_parameter: false,
            })
        }
    }
}

fn tried(urls: &[Url]) -> String {
    urls.iter().map(|u| u.to_string()).collect::<Vec<_>>().join(", ")
}

/// The protected-resource metadata and where it was found, or `None` when there is none.
fn protected_resource(
    wire: &dyn Wire,
    server: &Url,
    challenge: Option<&Challenge>,
) -> Result<Option<(ProtectedResource, Url)>, OAuthError> {
    let mut candidates = Vec::new();
    if let Some(named) = challenge.and_then(|c| c.resource_metadata.as_deref()) {
        let url = parse_http(named, "the resource_metadata the server named")?;
        require_secure(&url, "the protected-resource metadata")?;
        candidates.push(url);
    }
    // The named document first; the well-known locations only when it is missing.
    candidates.extend(urls::protected_resource_urls(server));
    for url in candidates {
        let answer = wire.get(&url)?;
        if !answer.ok() {
            tracing::debug!(status = answer.status, "no protected-resource metadata at {}", urls::without_query(&url));
            continue;
        }
        let what = format!("the protected-resource metadata at {}", urls::without_query(&url));
        let prm: ProtectedResource = parse_document(&answer, &what)?;
        let Some(resource) = prm.resource.as_deref() else {
            return Err(OAuthError::metadata(what, "it has no `resource`"));
        };
        let resource_url = parse_http(resource, &what)?;
        if !urls::resource_covers(&resource_url, server) {
            return Err(OAuthError::metadata(
                what,
                format!(
                    "it describes {}, not {} (RFC 9728 §3.3): pincer will not sign in with it\nhint: the server may be misconfigured, or someone is trying to collect a sign-in meant for another server",
                    super::quote(resource),
                    urls::without_query(server)
                ),
            ));
        }
        return Ok(Some((prm, url)));
    }
    Ok(None)
}

/// The first metadata document found for `issuer`, and where.
fn server_metadata(wire: &dyn Wire, issuer: &Url) -> Result<Option<(ServerMetadata, Url)>, OAuthError> {
    for url in urls::auth_server_metadata_urls(issuer) {
        let answer = wire.get(&url)?;
        if !answer.ok() {
            tracing::debug!(status = answer.status, "no authorization server metadata at {url}");
            continue;
        }
        let what = format!("the authorization server metadata at {url}");
        let doc: ServerMetadata = parse_document(&answer, &what)?;
        return Ok(Some((doc, url)));
    }
    Ok(None)
}

/// The checks of a metadata document (RFC 8414 §3.3 and the MCP security rules).
fn check_server_metadata(
    doc: ServerMetadata,
    at: &Url,
    issuer: &str,
    era: Era,
    server: &Url,
) -> Result<Discovered, OAuthError> {
    let what = format!("the authorization server metadata at {at}");
    let found_issuer = doc.issuer.as_deref().unwrap_or_default();
    let issuer_ok = match era {
        Era::ProtectedResource => same_issuer(issuer, found_issuer),
        // 2025-03-26 servers predate the issuer rule and often name a path of their own
        // (`https://host/oauth`); the document is the origin's word about itself, so an issuer
        // on that origin is accepted, and nothing else.
        Era::Legacy => parse_http(found_issuer, &what).is_ok_and(|u| same_origin(&u, server)),
    };
    if !issuer_ok {
        return Err(OAuthError::metadata(
            what,
            format!(
                "its issuer is {:?}, but it was asked for {issuer} (RFC 8414 §3.3): pincer will not use it\nhint: the authorization server is misconfigured, or another server is impersonating it",
                super::quote(found_issuer)
            ),
        ));
    }
    let endpoint = |value: &Option<String>, name: &'static str| -> Result<Option<Url>, OAuthError> {
        let Some(text) = value else { return Ok(None) };
        let url = parse_http(text, &format!("{what}: {name}"))?;
        require_secure(&url, name)?;
        if era == Era::Legacy && !same_origin(&url, server) {
            return Err(OAuthError::metadata(
                &what,
                format!(
                    "its {name} {} is on another origin than the server: without protected-resource metadata the server is its own authorization server (MCP 2025-03-26), so pincer sends nothing elsewhere",
                    urls::without_query(&url)
                ),
            ));
        }
        Ok(Some(url))
    };
    let required = |value: &Option<String>, name: &'static str| -> Result<Url, OAuthError> {
        endpoint(value, name)?.ok_or_else(|| OAuthError::metadata(&what, format!("it has no {name}")))
    };
    let authorization = required(&doc.authorization_endpoint, "authorization_endpoint")?;
    let token = required(&doc.token_endpoint, "token_endpoint")?;
    let registration = endpoint(&doc.registration_endpoint, "registration_endpoint")?;
    let revocation = endpoint(&doc.revocation_endpoint, "revocation_endpoint")?;
    if let Some(types) = &doc.response_types_supported
        && !types.iter().any(|t| t == RESPONSE_TYPE_CODE)
    {
        return Err(OAuthError::metadata(
            what,
            "it does not offer the authorization code flow (response_types_supported lacks \"code\")",
        ));
    }
    if let Some(grants) = &doc.grant_types_supported
        && !grants.iter().any(|g| g == GRANT_AUTHORIZATION_CODE)
    {
        return Err(OAuthError::metadata(what, "it does not offer the authorization_code grant"));
    }
    match (&doc.code_challenge_methods_supported, era) {
        (Some(methods), _) if !methods.iter().any(|m| m == pkce::S256) => {
            return Err(OAuthError::metadata(
                what,
                "it does not offer PKCE with S256 (code_challenge_methods_supported), which pincer requires to keep authorization codes from being stolen",
            ));
        }
        (None, Era::ProtectedResource) => {
            return Err(OAuthError::metadata(
                what,
                "it does not list code_challenge_methods_supported, so it may not support PKCE; the MCP authorization spec requires refusing such a server\nhint: the server's operator can add \"code_challenge_methods_supported\": [\"S256\"] to its metadata",
            ));
        }
        _ => {}
    }
    Ok(Discovered {
        era,
        resource: String::new(),
        // The document's own spelling: what `iss` in the authorization response must equal.
        issuer: found_issuer.to_string(),
        endpoints: Endpoints { authorization, token, registration, revocation },
        scopes: None,
        server_scopes: doc.scopes_supported,
        auth_methods: doc.token_endpoint_auth_methods_supported,
        metadata_documents: doc.client_id_metadata_document_supported,
        iss_parameter: doc.authorization_response_iss_parameter_supported,
    })
}

#[cfg(test)]
mod tests {
    use super::super::wire::fake::FakeWire;
    use super::*;

    const SERVER: &str = "https://mcp.example.com/mcp";
    const PRM_PATH: &str = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";
    const PRM_ROOT: &str = "https://mcp.example.com/.well-known/oauth-protected-resource";
    const AS_META: &str = "https://auth.example.com/.well-known/oauth-authorization-server";

    fn server() -> Url {
        Url::parse(SERVER).unwrap()
    }

    fn prm(resource: &str, issuer: &str) -> String {
        serde_json::json!({"resource": resource, "authorization_servers": [issuer], "scopes_supported": ["mcp:read"]})
            .to_string()
    }

    fn meta(issuer: &str, extra: serde_json::Value) -> String {
        let mut doc = serde_json::json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "registration_endpoint": format!("{issuer}/register"),
            "code_challenge_methods_supported": ["S256"],
            "response_types_supported": ["code"],
        });
        for (k, v) in extra.as_object().unwrap() {
            doc[k] = v.clone();
        }
        doc.to_string()
    }

    fn challenge(header: &str) -> Challenge {
        super::super::challenge::parse(header).unwrap()
    }

    #[test]
    fn the_named_metadata_is_used_and_the_well_known_ones_are_not_asked() {
        let wire = FakeWire::new(&[
            ("https://mcp.example.com/custom/prm.json", 200, &prm(SERVER, "https://auth.example.com")),
            (
                AS_META,
                200,
                &meta(
                    "https://auth.example.com",
                    serde_json::json!({"scopes_supported": ["mcp:read", "offline_access"]}),
                ),
            ),
        ]);
        let c = challenge(r#"Bearer resource_metadata="https://mcp.example.com/custom/prm.json", scope="mcp:write""#);
        let d = discover(&wire, &server(), Some(&c)).unwrap();
        assert_eq!(wire.calls(), ["GET https://mcp.example.com/custom/prm.json".to_string(), format!("GET {AS_META}")]);
        assert_eq!(d.era, Era::ProtectedResource);
        assert_eq!(d.resource, SERVER);
        assert_eq!(d.endpoints.token.as_str(), "https://auth.example.com/token");
        // The challenge's scope wins over scopes_supported; offline_access is added when offered.
        assert_eq!(d.scopes, Some(vec!["mcp:write".to_string(), OFFLINE_ACCESS.to_string()]));
    }

    #[test]
    fn well_known_order_path_then_root_and_openid_with_path_insertion() {
        let wire = FakeWire::new(&[
            (PRM_ROOT, 200, &prm("https://mcp.example.com", "https://auth.example.com/tenant1")),
            (
                "https://auth.example.com/tenant1/.well-known/openid-configuration",
                200,
                &meta("https://auth.example.com/tenant1", serde_json::json!({})),
            ),
        ]);
        let d = discover(&wire, &server(), None).unwrap();
        assert_eq!(
            wire.calls(),
            [
                format!("GET {PRM_PATH}"),
                format!("GET {PRM_ROOT}"),
                "GET https://auth.example.com/.well-known/oauth-authorization-server/tenant1".to_string(),
                "GET https://auth.example.com/.well-known/openid-configuration/tenant1".to_string(),
                "GET https://auth.example.com/tenant1/.well-known/openid-configuration".to_string(),
            ]
        );
        assert_eq!(d.resource, "https://mcp.example.com");
        assert_eq!(d.issuer, "https://auth.example.com/tenant1");
        // No challenge scope: scopes_supported of the protected resource, all of them.
        assert_eq!(d.scopes, Some(vec!["mcp:read".to_string()]));
    }

    #[test]
    fn scope_is_omitted_when_nobody_names_one() {
        let doc =
            serde_json::json!({"resource": SERVER, "authorization_servers": ["https://auth.example.com"]}).to_string();
        let wire = FakeWire::new(&[
            (PRM_PATH, 200, &doc),
            (
                AS_META,
                200,
                &meta("https://auth.example.com", serde_json::json!({"scopes_supported": ["offline_access"]})),
            ),
        ]);
        let d = discover(&wire, &server(), Some(&challenge("Bearer error=\"invalid_token\""))).unwrap();
        assert_eq!(d.scopes, None, "offline_access alone would narrow a grant that names no scope");
    }

    #[test]
    fn a_document_for_another_resource_is_refused() {
        for resource in [
            "https://evil.example.com/mcp",
            "https://mcp.example.com/other",
            "http://mcp.example.com/mcp",
            "https://mcp.example.com/mcpx",
        ] {
            let wire = FakeWire::new(&[
                (PRM_PATH, 200, &prm(resource, "https://auth.example.com")),
                (AS_META, 200, &meta("https://auth.example.com", serde_json::json!({}))),
            ]);
            let err = discover(&wire, &server(), Some(&challenge("Bearer"))).unwrap_err().to_string();
            assert!(err.contains("not https://mcp.example.com/mcp") && err.contains("hint:"), "{resource}: {err}");
            assert_eq!(wire.calls().len(), 1, "nothing after the bad document: {:?}", wire.calls());
        }
    }

    #[test]
    fn a_wrong_issuer_is_refused() {
        let wire = FakeWire::new(&[
            (PRM_PATH, 200, &prm(SERVER, "https://auth.example.com")),
            (AS_META, 200, &meta("https://evil.example.com", serde_json::json!({}))),
        ]);
        let err = discover(&wire, &server(), None).unwrap_err().to_string();
        assert!(err.contains("its issuer is \"https://evil.example.com\"") && err.contains("RFC 8414"), "{err}");
        // A missing issuer is as wrong as another one.
        let doc = meta("https://auth.example.com", serde_json::json!({"issuer": null}));
        let wire = FakeWire::new(&[(PRM_PATH, 200, &prm(SERVER, "https://auth.example.com")), (AS_META, 200, &doc)]);
        assert!(discover(&wire, &server(), None).unwrap_err().to_string().contains("issuer"));
    }

    #[test]
    fn plain_http_to_other_computers_is_refused_everywhere() {
        // An endpoint.
        let doc =
            meta("https://auth.example.com", serde_json::json!({"token_endpoint": "http://auth.example.com/token"}));
        let wire = FakeWire::new(&[(PRM_PATH, 200, &prm(SERVER, "https://auth.example.com")), (AS_META, 200, &doc)]);
        let err = discover(&wire, &server(), None).unwrap_err().to_string();
        assert!(err.contains("token_endpoint http://auth.example.com/token is plain http"), "{err}");
        // The authorization server itself.
        let wire = FakeWire::new(&[(PRM_PATH, 200, &prm(SERVER, "http://auth.example.com"))]);
        assert!(
            discover(&wire, &server(), None)
                .unwrap_err()
                .to_string()
                .contains("the authorization server http://auth.example.com/")
        );
        // The named metadata, and the MCP server.
        let c = challenge(r#"Bearer resource_metadata="http://mcp.example.com/prm""#);
        assert!(discover(&FakeWire::new(&[]), &server(), Some(&c)).unwrap_err().to_string().contains("plain http"));
        let plain = Url::parse("http://mcp.example.com/mcp").unwrap();
        assert!(discover(&FakeWire::new(&[]), &plain, None).unwrap_err().to_string().contains("the MCP server"));
    }

    #[test]
    fn pkce_s256_must_be_offered() {
        for (extra, ok) in [
            (serde_json::json!({"code_challenge_methods_supported": ["plain"]}), false),
            (serde_json::json!({"code_challenge_methods_supported": null}), false),
            (serde_json::json!({"code_challenge_methods_supported": ["plain", "S256"]}), true),
        ] {
            let doc = meta("https://auth.example.com", extra.clone());
            let wire =
                FakeWire::new(&[(PRM_PATH, 200, &prm(SERVER, "https://auth.example.com")), (AS_META, 200, &doc)]);
            let result = discover(&wire, &server(), None);
            assert_eq!(result.is_ok(), ok, "{extra}: {:?}", result.err());
            if let Err(e) = result {
                assert!(e.to_string().contains("PKCE"), "{e}");
            }
        }
        let doc = meta("https://auth.example.com", serde_json::json!({"response_types_supported": ["token"]}));
        let wire = FakeWire::new(&[(PRM_PATH, 200, &prm(SERVER, "https://auth.example.com")), (AS_META, 200, &doc)]);
        assert!(discover(&wire, &server(), None).unwrap_err().to_string().contains("authorization code"));
    }

    #[test]
    fn giant_and_malformed_documents_are_refused_without_quoting_them() {
        let giant = format!(
            "{{\"resource\": \"{SERVER}\", \"pad\": \"{}\"}}",
            "x".repeat(super::super::wire::MAX_DOCUMENT_BYTES)
        );
        let wire = FakeWire::new(&[(PRM_PATH, 200, &giant)]);
        let err = discover(&wire, &server(), None).unwrap_err().to_string();
        assert!(err.contains("larger than 256 KiB") && err.len() < 400, "{err}");
        for bad in [
            "[1,2]",
            "{\"resource\": 5}",
            "not json SECRET",
            "{\"resource\": \"x\", \"authorization_servers\": \"one\"}",
        ] {
            let wire = FakeWire::new(&[(PRM_PATH, 200, bad)]);
            let err = discover(&wire, &server(), None).unwrap_err().to_string();
            assert!(err.contains("protected-resource metadata") && !err.contains("SECRET"), "{bad}: {err}");
        }
        let wire = FakeWire::new(&[(
            PRM_PATH,
            200,
            &serde_json::json!({"resource": SERVER, "authorization_servers": []}).to_string(),
        )]);
        assert!(discover(&wire, &server(), None).unwrap_err().to_string().contains("names no authorization server"));
    }

    #[test]
    fn no_metadata_and_no_challenge_means_no_sign_in_is_needed() {
        let wire = FakeWire::new(&[]);
        let err = discover(&wire, &server(), None).unwrap_err().to_string();
        assert!(err.contains("did not ask for a sign-in"), "{err}");
        assert_eq!(wire.calls().len(), 2, "only the two protected-resource locations: {:?}", wire.calls());
    }

    #[test]
    fn legacy_servers_use_their_origin_and_default_endpoints() {
        let wire = FakeWire::new(&[]);
        let d = discover(&wire, &server(), Some(&challenge("Bearer"))).unwrap();
        assert_eq!(d.era, Era::Legacy);
        assert_eq!(d.resource, SERVER);
        assert_eq!(d.endpoints.authorization.as_str(), "https://mcp.example.com/authorize");
        assert_eq!(d.endpoints.token.as_str(), "https://mcp.example.com/token");
        assert_eq!(d.endpoints.registration.as_ref().unwrap().as_str(), "https://mcp.example.com/register");
        assert_eq!(wire.calls().last().unwrap(), "GET https://mcp.example.com/.well-known/openid-configuration");
    }

    #[test]
    fn legacy_metadata_may_name_a_path_but_never_leave_the_origin() {
        let root = "https://mcp.example.com/.well-known/oauth-authorization-server";
        let doc = meta("https://mcp.example.com/oauth", serde_json::json!({"code_challenge_methods_supported": null}));
        let wire = FakeWire::new(&[(root, 200, &doc)]);
        let d = discover(&wire, &server(), Some(&challenge("Bearer"))).unwrap();
        assert_eq!(d.endpoints.authorization.as_str(), "https://mcp.example.com/oauth/authorize");
        for extra in [
            serde_json::json!({"issuer": "https://evil.example.com"}),
            serde_json::json!({"token_endpoint": "https://evil.example.com/token"}),
            serde_json::json!({"authorization_endpoint": "https://evil.example.com/authorize"}),
        ] {
            let wire = FakeWire::new(&[(root, 200, &meta("https://mcp.example.com/oauth", extra.clone()))]);
            let err = discover(&wire, &server(), Some(&challenge("Bearer"))).unwrap_err().to_string();
            assert!(err.contains("evil.example.com"), "{extra}: {err}");
        }
        // Listing methods without S256 is refused in this era too.
        let wire = FakeWire::new(&[(
            root,
            200,
            &meta("https://mcp.example.com", serde_json::json!({"code_challenge_methods_supported": ["plain"]})),
        )]);
        assert!(discover(&wire, &server(), Some(&challenge("Bearer"))).unwrap_err().to_string().contains("S256"));
    }

    #[test]
    fn loopback_servers_may_use_plain_http() {
        let local = Url::parse("http://localhost:3000/mcp").unwrap();
        let wire = FakeWire::new(&[
            (
                "http://localhost:3000/.well-known/oauth-protected-resource/mcp",
                200,
                &prm("http://localhost:3000/mcp", "http://localhost:4000"),
            ),
            (
                "http://localhost:4000/.well-known/oauth-authorization-server",
                200,
                &meta("http://localhost:4000", serde_json::json!({})),
            ),
        ]);
        assert!(discover(&wire, &local, None).is_ok());
    }
}
