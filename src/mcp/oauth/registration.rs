//! Who pincer is to an authorization server, in the MCP spec's order of preference:
//!
//! 1. a pre-registered client: `client_id` in `[mcp.NAME]`, its secret (if any) given once with
//!    `pincer auth login --mcp NAME --client-secret` and kept in `auth.json`;
//! 2. a Client ID Metadata Document, when the server advertises
//!    `client_id_metadata_document_supported` and `[mcp.NAME] client_metadata_url` names one. The
//!    client_id is then the https URL of a document the authorization server fetches, so it
//!    must be hosted somewhere the server can reach. A program on a laptop has no such address,
//!    and pincer's project hosts none, so pincer never invents one: you (or your organisation)
//!    host the document and name it (the README shows its content);
//! 3. dynamic client registration (RFC 7591), a fresh public client for each sign-in (the
//!    loopback redirect's port changes every time).
//!
//! Token endpoint authentication follows what was registered or advertised: `none`,
//! `client_secret_post` or `client_secret_basic`.

use serde::Deserialize;
use url::Url;

use super::discovery::Discovered;
use super::wire::{Body, Wire, parse_document};
use super::{OAuthError, urls};
pub use crate::auth::mcp_sign_in::{AuthMethod, ClientSource};
use crate::secret::Secret;

/// The name pincer registers under: honest about what it is.
pub const CLIENT_NAME: &str = "pincer";
/// RFC 8414 §2: the default when a server does not list its methods.
const DEFAULT_AUTH_METHOD: AuthMethod = AuthMethod::ClientSecretBasic;

/// A client identity. `Debug` is safe: the secret is a [`Secret`].
#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    pub secret: Option<Secret<String>>,
    pub method: AuthMethod,
    pub source: ClientSource,
}

/// What the person configured for a server's client.
#[derive(Debug, Clone, Default)]
pub struct ClientSettings {
    /// `[mcp.NAME] client_id`.
    pub client_id: Option<String>,
    /// The pre-registered client's secret (from `--client-secret`, or kept in `auth.json`).
    pub client_secret: Option<Secret<String>>,
    /// `[mcp.NAME] client_metadata_url`.
    pub metadata_url: Option<String>,
}

/// Checks a Client ID Metadata Document URL: https with a path (the draft's rule).
pub fn check_metadata_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("client_metadata_url {text:?} is not a URL ({e})"))?;
    if url.scheme() != "https" || url.path().trim_matches('/').is_empty() || url.fragment().is_some() {
        return Err(format!(
            "client_metadata_url {text:?} must be an https URL with a path and no fragment, e.g. https://example.com/pincer-client.json"
        ));
    }
    Ok(url)
}

/// The client identity for this sign-in.
pub fn client_for(
    wire: &dyn Wire,
    settings: &ClientSettings,
    found: &Discovered,
    redirect_uri: &str,
) -> Result<Client, OAuthError> {
    if let Some(id) = &settings.client_id {
        let method = match &settings.client_secret {
            Some(_) => method_for_secret(found.auth_methods.as_deref())?,
            None => AuthMethod::None,
        };
        return Ok(Client {
            id: id.clone(),
            secret: settings.client_secret.clone(),
            method,
            source: ClientSource::PreRegistered,
        });
    }
    if let Some(url) = &settings.metadata_url {
        if found.metadata_documents {
            return Ok(Client {
                id: url.clone(),
                secret: None,
                method: AuthMethod::None,
                source: ClientSource::MetadataDocument,
            });
        }
        tracing::info!("the authorization server does not accept client ID metadata documents; registering instead");
    }
    let Some(endpoint) = &found.endpoints.registration else {
        return Err(OAuthError::NoSignIn(format!(
            "the authorization server {} offers no dynamic client registration{}\nhint: register a client for pincer there (redirect URI http://127.0.0.1/callback, any port) and set client_id in [mcp.NAME] of config.toml",
            found.issuer,
            if found.metadata_documents {
                " (it accepts client ID metadata documents: set client_metadata_url)"
            } else {
                ""
            }
        )));
    };
    register(wire, endpoint, found.auth_methods.as_deref(), redirect_uri)
}

/// The method a client with a secret uses: Basic if offered (the default when nothing is
/// listed), else the secret in the body.
fn method_for_secret(supported: Option<&[String]>) -> Result<AuthMethod, OAuthError> {
    let Some(list) = supported else { return Ok(DEFAULT_AUTH_METHOD) };
    for m in [AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost, AuthMethod::None] {
        if list.iter().any(|s| s == m.as_str()) {
            return Ok(m);
        }
    }
    Err(unsupported_methods(list))
}

fn unsupported_methods(list: &[String]) -> OAuthError {
    OAuthError::NoSignIn(format!(
        "the authorization server authenticates clients only by {}, which pincer does not support (it offers none, client_secret_post, client_secret_basic)",
        super::quote(&list.join(", "))
    ))
}

/// RFC 7591 registration of a public client (or, when the server takes no public clients, one
/// with a secret).
fn register(
    wire: &dyn Wire,
    endpoint: &Url,
    supported: Option<&[String]>,
    redirect_uri: &str,
) -> Result<Client, OAuthError> {
    let wanted = match supported {
        None => AuthMethod::None,
        Some(list) => [AuthMethod::None, AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost]
            .into_iter()
            .find(|m| list.iter().any(|s| s == m.as_str()))
            .ok_or_else(|| unsupported_methods(list))?,
    };
    let metadata = serde_json::json!({
        "client_name": CLIENT_NAME,
        "software_version": env!("CARGO_PKG_VERSION"),
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": wanted.as_str(),
    });
    let answer = wire.post(endpoint, Body::Json(&metadata), None)?;
    if !answer.ok() {
        return Err(OAuthError::refused("the client registration", answer.status, &answer.body));
    }
    #[derive(Deserialize)]
    struct Registered {
        client_id: String,
        client_secret: Option<Secret<String>>,
        token_endpoint_auth_method: Option<String>,
    }
    let what = format!("the client registration at {}", urls::without_query(endpoint));
    let registered: Registered = parse_document(&answer, &what)?;
    if registered.client_id.trim().is_empty() {
        return Err(OAuthError::metadata(what, "it gave an empty client_id"));
    }
    // What was registered, as the server says; when it says nothing, what was asked for.
    let method = match registered.token_endpoint_auth_method.as_deref() {
        Some(m) => AuthMethod::parse(m).ok_or_else(|| unsupported_methods(&[m.to_string()]))?,
        None => wanted,
    };
    if method != AuthMethod::None && registered.client_secret.is_none() {
        return Err(OAuthError::metadata(what, format!("it registered {} but gave no client_secret", method.as_str())));
    }
    Ok(Client {
        id: registered.client_id,
        secret: registered.client_secret,
        method,
        source: ClientSource::DynamicRegistration,
    })
}

#[cfg(test)]
mod tests {
    use super::super::discovery::{Endpoints, Era};
    use super::super::wire::fake::FakeWire;
    use super::*;

    const REGISTER: &str = "https://auth.example.com/register";

    fn found(methods: Option<&[&str]>, registration: bool, cimd: bool) -> Discovered {
        let u = |s: &str| Url::parse(s).unwrap();
        Discovered {
            era: Era::ProtectedResource,
            resource: "https://mcp.example.com/mcp".into(),
            issuer: "https://auth.example.com".into(),
            endpoints: Endpoints {
                authorization: u("https://auth.example.com/authorize"),
                token: u("https://auth.example.com/token"),
                registration: registration.then(|| u(REGISTER)),
                revocation: None,
            },
            scopes: None,
            server_scopes: None,
            auth_methods: methods.map(|m| m.iter().map(|s| s.to_string()).collect()),
            metadata_documents: cimd,
            iss_parameter: false,
        }
    }

    #[test]
    fn a_pre_registered_client_wins_and_picks_basic_when_offered() {
        let wire = FakeWire::new(&[]);
        let settings = ClientSettings {
            client_id: Some("mine".into()),
            client_secret: Some(Secret::new("s".into())),
            metadata_url: Some("https://x.example/c.json".into()),
        };
        let c = client_for(
            &wire,
            &settings,
            &found(Some(&["client_secret_post", "client_secret_basic"]), true, true),
            "http://127.0.0.1:1/callback",
        )
        .unwrap();
        assert_eq!(
            (c.id.as_str(), c.method, c.source),
            ("mine", AuthMethod::ClientSecretBasic, ClientSource::PreRegistered)
        );
        let c = client_for(&wire, &settings, &found(Some(&["client_secret_post"]), true, true), "r").unwrap();
        assert_eq!(c.method, AuthMethod::ClientSecretPost);
        let c = client_for(&wire, &settings, &found(None, true, true), "r").unwrap();
        assert_eq!(c.method, AuthMethod::ClientSecretBasic, "RFC 8414's default");
        let err = client_for(&wire, &settings, &found(Some(&["private_key_jwt"]), true, true), "r").unwrap_err();
        assert!(err.to_string().contains("private_key_jwt"));
        let public = ClientSettings { client_id: Some("pub".into()), ..Default::default() };
        assert_eq!(
            client_for(&wire, &public, &found(Some(&["client_secret_basic"]), false, false), "r").unwrap().method,
            AuthMethod::None
        );
        assert!(wire.calls().is_empty(), "nothing registered: {:?}", wire.calls());
    }

    #[test]
    fn a_metadata_document_is_used_only_where_supported() {
        let wire = FakeWire::new(&[(REGISTER, 201, r#"{"client_id": "dyn"}"#)]);
        let settings = ClientSettings { metadata_url: Some("https://x.example/c.json".into()), ..Default::default() };
        let c = client_for(&wire, &settings, &found(None, true, true), "r").unwrap();
        assert_eq!((c.id.as_str(), c.source), ("https://x.example/c.json", ClientSource::MetadataDocument));
        let c = client_for(&wire, &settings, &found(None, true, false), "r").unwrap();
        assert_eq!((c.id.as_str(), c.source), ("dyn", ClientSource::DynamicRegistration));
        assert!(check_metadata_url("https://x.example/c.json").is_ok());
        for bad in ["http://x.example/c.json", "https://x.example/", "https://x.example/c#f", "nope"] {
            assert!(check_metadata_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn registration_asks_for_a_public_client_and_follows_what_was_registered() {
        let wire = FakeWire::new(&[(
            REGISTER,
            201,
            r#"{"client_id": "c1", "client_secret": "s1", "token_endpoint_auth_method": "client_secret_post"}"#,
        )]);
        let c = client_for(
            &wire,
            &ClientSettings::default(),
            &found(Some(&["client_secret_post"]), true, false),
            "http://127.0.0.1:9/callback",
        )
        .unwrap();
        assert_eq!((c.id.as_str(), c.method), ("c1", AuthMethod::ClientSecretPost));
        assert_eq!(c.secret.unwrap().expose(), "s1");
        let sent = &wire.calls()[0];
        assert!(sent.contains("\"token_endpoint_auth_method\":\"client_secret_post\""), "{sent}");
        assert!(
            sent.contains("\"redirect_uris\":[\"http://127.0.0.1:9/callback\"]") && sent.contains("refresh_token"),
            "{sent}"
        );

        let wire = FakeWire::new(&[(REGISTER, 201, r#"{"client_id": "c2", "client_secret": "ignored"}"#)]);
        let c = client_for(
            &wire,
            &ClientSettings::default(),
            &found(Some(&["none", "client_secret_basic"]), true, false),
            "r",
        )
        .unwrap();
        assert_eq!(c.method, AuthMethod::None);
        assert!(wire.calls()[0].contains("\"token_endpoint_auth_method\":\"none\""));
    }

    #[test]
    fn registration_failures_say_what_to_do() {
        let err = client_for(&FakeWire::new(&[]), &ClientSettings::default(), &found(None, false, false), "r")
            .unwrap_err()
            .to_string();
        assert!(err.contains("no dynamic client registration") && err.contains("client_id"), "{err}");
        let wire = FakeWire::new(&[(REGISTER, 400, r#"{"error": "invalid_redirect_uri"}"#)]);
        let err =
            client_for(&wire, &ClientSettings::default(), &found(None, true, false), "r").unwrap_err().to_string();
        assert!(err.contains("invalid_redirect_uri"), "{err}");
        let wire = FakeWire::new(&[(
            REGISTER,
            201,
            r#"{"client_id": "c", "token_endpoint_auth_method": "client_secret_basic"}"#,
        )]);
        assert!(
            client_for(&wire, &ClientSettings::default(), &found(None, true, false), "r")
                .unwrap_err()
                .to_string()
                .contains("no client_secret")
        );
        let wire = FakeWire::new(&[(REGISTER, 201, r#"{"client_secret": "LEAK"}"#)]);
        let err =
            client_for(&wire, &ClientSettings::default(), &found(None, true, false), "r").unwrap_err().to_string();
        assert!(!err.contains("LEAK"), "{err}");
    }
}
