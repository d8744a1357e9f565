//! The token endpoint: redeeming an authorization code (with the PKCE verifier) and refreshing,
//! both with the `resource` parameter (RFC 8707), and the client authenticated as registered.
//!
//! An answer is checked before anything is kept: a Bearer token (other token types need
//! machinery pincer does not have), made of characters an HTTP header can carry (a token with a
//! line break would let a server inject headers into pincer's requests), of sane length.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use url::Url;
use zeroize::Zeroizing;

use super::registration::{AuthMethod, Client};
use super::wire::{Body, Wire, parse_document};
use super::{OAuthError, split_scopes, urls};
use crate::secret::Secret;

/// Tokens longer than this are not tokens (JWTs with many claims stay under 8 KiB).
pub const MAX_TOKEN_CHARS: usize = 16 * 1024;
/// The longest lifetime believed; a larger `expires_in` is treated as this (refreshing early is
/// harmless, trusting a token for decades is not).
const MAX_LIFETIME_SECS: i64 = 366 * 24 * 3600;
const TOKEN_TYPE_BEARER: &str = "bearer";

/// What the token endpoint granted. `Debug` is safe: the tokens are [`Secret`]s.
#[derive(Debug, Clone)]
pub struct TokenSet {
    pub access_token: Secret<String>,
    pub expires_at: Option<Timestamp>,
    pub refresh_token: Option<Secret<String>>,
    /// The scopes the server says it granted; `None` when it did not say (then: those asked for).
    pub scopes: Option<Vec<String>>,
}

/// Redeems an authorization code (OAuth 2.1 §4.1.3).
pub fn redeem_code(
    wire: &dyn Wire,
    endpoint: &Url,
    client: &Client,
    code: &Secret<String>,
    verifier: &Secret<String>,
    redirect_uri: &str,
    resource: &str,
) -> Result<TokenSet, OAuthError> {
    let pairs = vec![
        ("grant_type", "authorization_code"),
        ("code", code.expose().as_str()),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier.expose().as_str()),
        ("resource", resource),
    ];
    request(wire, endpoint, client, pairs)
}

/// Trades a refresh token for new tokens (OAuth 2.1 §4.3), asking for the scopes already granted.
pub fn refresh(
    wire: &dyn Wire,
    endpoint: &Url,
    client: &Client,
    refresh_token: &Secret<String>,
    scopes: &[String],
    resource: &str,
) -> Result<TokenSet, OAuthError> {
    let scope = super::join_scopes(scopes);
    let mut pairs = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.expose().as_str()),
        ("resource", resource),
    ];
    if !scope.is_empty() {
        pairs.push(("scope", scope.as_str()));
    }
    request(wire, endpoint, client, pairs)
}

/// Revokes a token (RFC 7009), best effort: the answer only says whether it worked.
pub fn revoke(
    wire: &dyn Wire,
    endpoint: &Url,
    client: &Client,
    token: &Secret<String>,
    hint: &str,
) -> Result<(), OAuthError> {
    let mut pairs = vec![("token", token.expose().as_str()), ("token_type_hint", hint)];
    let basic = authenticate(client, &mut pairs);
    let answer = wire.post(endpoint, Body::Form(&pairs), basic.as_ref())?;
    if answer.ok() { Ok(()) } else { Err(OAuthError::refused("the revocation endpoint", answer.status, &answer.body)) }
}

/// Adds the client's credentials to a token endpoint request: the `Authorization` header
/// value for Basic, else `client_id` (and `client_secret`) in the body.
fn authenticate<'a>(client: &'a Client, pairs: &mut Vec<(&'a str, &'a str)>) -> Option<Secret<String>> {
    let secret = client.secret.as_ref().map(|s| s.expose().as_str());
    match (client.method, secret) {
        (AuthMethod::ClientSecretBasic, Some(secret)) => return Some(basic_authorization(&client.id, secret)),
        (AuthMethod::ClientSecretPost, Some(secret)) => {
            pairs.push(("client_id", client.id.as_str()));
            pairs.push(("client_secret", secret));
        }
        _ => pairs.push(("client_id", client.id.as_str())),
    }
    None
}

fn request<'a>(
    wire: &dyn Wire,
    endpoint: &Url,
    client: &'a Client,
    mut pairs: Vec<(&'a str, &'a str)>,
) -> Result<TokenSet, OAuthError> {
    let basic = authenticate(client, &mut pairs);
    let answer = wire.post(endpoint, Body::Form(&pairs), basic.as_ref())?;
    if !answer.ok() {
        return Err(OAuthError::refused("the token endpoint", answer.status, &answer.body));
    }
    let what = format!("the token endpoint {}", urls::without_query(endpoint));
    let parsed: TokenAnswer = parse_document(&answer, &what)?;
    parsed.check(&what, Timestamp::now())
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
fn basic_authorization(id: &str, secret: &str) -> Secret<String> {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = Zeroizing::new(format!("{}:{}", encode(id), Zeroizing::new(encode(secret)).as_str()));
    Secret::new(format!("Basic {}", STANDARD.encode(pair.as_bytes())))
}

/// RFC 6749 §5.1.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Secret<String>,
    token_type: Option<String>,
    /// A number, or (from some servers) a string of digits.
    expires_in: Option<serde_json::Value>,
    refresh_token: Option<Secret<String>>,
    scope: Option<String>,
}

impl TokenAnswer {
    fn check(self, what: &str, now: Timestamp) -> Result<TokenSet, OAuthError> {
        if let Some(kind) = &self.token_type
            && !kind.eq_ignore_ascii_case(TOKEN_TYPE_BEARER)
        {
            return Err(OAuthError::metadata(
                what,
                format!("it issued a {:?} token; pincer uses Bearer tokens only", super::quote(kind)),
            ));
        }
        check_token(self.access_token.expose(), what, "access token")?;
        // An empty refresh token is no refresh token (some servers send "").
        let refresh_token = self.refresh_token.filter(|r| !r.expose().is_empty());
        if let Some(r) = &refresh_token {
            check_token(r.expose(), what, "refresh token")?;
        }
        let seconds = match &self.expires_in {
            Some(serde_json::Value::Number(n)) => n.as_f64(),
            Some(serde_json::Value::String(s)) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        let expires_at = seconds
            .filter(|s| s.is_finite())
            .map(|s| (s as i64).clamp(0, MAX_LIFETIME_SECS))
            .and_then(|s| now.checked_add(SignedDuration::from_secs(s)).ok());
        Ok(TokenSet {
            access_token: self.access_token,
            expires_at,
            refresh_token,
            scopes: self.scope.map(|s| split_scopes(&s)),
        })
    }
}

/// A token must fit an HTTP header: visible ASCII only, not empty, not huge.
fn check_token(token: &str, what: &str, kind: &str) -> Result<(), OAuthError> {
    if token.is_empty() {
        return Err(OAuthError::metadata(what, format!("it issued an empty {kind}")));
    }
    if token.len() > MAX_TOKEN_CHARS {
        return Err(OAuthError::metadata(
            what,
            format!("it issued an {kind} longer than {} KiB", MAX_TOKEN_CHARS / 1024),
        ));
    }
    if let Some(i) = token.bytes().position(|b| !(0x21..=0x7e).contains(&b)) {
        return Err(OAuthError::metadata(
            what,
            format!(
                "its {kind} has a character no token may hold (position {}), which could forge HTTP headers",
                i + 1
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::registration::ClientSource;
    use super::super::wire::fake::FakeWire;
    use super::*;

    const TOKEN: &str = "https://auth.example.com/token";

    fn client(method: AuthMethod, secret: Option<&str>) -> Client {
        Client {
            id: "my client".into(),
            secret: secret.map(|s| Secret::new(s.into())),
            method,
            source: ClientSource::PreRegistered,
        }
    }

    fn answer(body: &str) -> Result<TokenSet, OAuthError> {
        let parsed: TokenAnswer = serde_json::from_str(body).map_err(|e| OAuthError::metadata("t", e.to_string()))?;
        parsed.check("the token endpoint", "2026-01-01T00:00:00Z".parse().unwrap())
    }

    #[test]
    fn code_redemption_carries_verifier_resource_and_client_auth() {
        let wire = FakeWire::new(&[(
            TOKEN,
            200,
            r#"{"access_token": "at", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "rt", "scope": "a b"}"#,
        )]);
        let url = Url::parse(TOKEN).unwrap();
        let (code, verifier) = (Secret::new("the-code".to_string()), Secret::new("the-verifier".to_string()));
        let set = redeem_code(
            &wire,
            &url,
            &client(AuthMethod::None, None),
            &code,
            &verifier,
            "http://127.0.0.1:5/callback",
            "https://m.example/mcp",
        )
        .unwrap();
        assert_eq!(set.access_token.expose(), "at");
        assert_eq!(set.refresh_token.unwrap().expose(), "rt");
        assert_eq!(set.scopes, Some(vec!["a".to_string(), "b".to_string()]));
        let sent = &wire.calls()[0];
        for part in [
            "grant_type=authorization_code",
            "code=the-code",
            "code_verifier=the-verifier",
            "resource=https://m.example/mcp",
            "redirect_uri=http://127.0.0.1:5/callback",
            "client_id=my client",
        ] {
            assert!(sent.contains(part), "{part} in {sent}");
        }
        assert!(!sent.contains("client_secret"), "{sent}");
    }

    #[test]
    fn client_secret_basic_and_post() {
        let url = Url::parse(TOKEN).unwrap();
        let rt = Secret::new("old-rt".to_string());
        let ok = r#"{"access_token": "at", "token_type": "bearer"}"#;
        let wire = FakeWire::new(&[(TOKEN, 200, ok)]);
        refresh(
            &wire,
            &url,
            &client(AuthMethod::ClientSecretBasic, Some("s:e/cret")),
            &rt,
            &["x".into(), "y".into()],
            "https://m.example",
        )
        .unwrap();
        let sent = &wire.calls()[0];
        // "my+client:s%3Ae%2Fcret", base64.
        let expected = format!("[Basic {}]", STANDARD.encode("my+client:s%3Ae%2Fcret"));
        assert!(sent.contains(&expected), "{sent}");
        assert!(
            sent.contains("grant_type=refresh_token")
                && sent.contains("refresh_token=old-rt")
                && sent.contains("scope=x y"),
            "{sent}"
        );
        assert!(!sent.contains("client_id=") && !sent.contains("client_secret="), "{sent}");
        let wire = FakeWire::new(&[(TOKEN, 200, ok)]);
        refresh(&wire, &url, &client(AuthMethod::ClientSecretPost, Some("sec")), &rt, &[], "r").unwrap();
        let sent = &wire.calls()[0];
        assert!(
            sent.contains("client_id=my client") && sent.contains("client_secret=sec") && !sent.contains("[Basic"),
            "{sent}"
        );
        assert!(!sent.contains("scope="), "no scope when none was granted: {sent}");
    }

    #[test]
    fn errors_name_the_oauth_error_never_the_tokens() {
        let url = Url::parse(TOKEN).unwrap();
        let wire = FakeWire::new(&[(TOKEN, 400, r#"{"error": "invalid_grant", "error_description": "expired"}"#)]);
        let rt = Secret::new("SECRET-RT".to_string());
        let err = refresh(&wire, &url, &client(AuthMethod::None, None), &rt, &[], "r").unwrap_err().to_string();
        assert!(err.contains("invalid_grant") && err.contains("expired") && !err.contains("SECRET"), "{err}");
    }

    #[test]
    fn hostile_token_answers_are_refused() {
        assert!(
            answer(r#"{"access_token": "a\r\nx-evil: 1", "token_type": "Bearer"}"#)
                .unwrap_err()
                .to_string()
                .contains("forge HTTP headers")
        );
        assert!(
            answer(r#"{"access_token": "ok", "token_type": "mac"}"#)
                .unwrap_err()
                .to_string()
                .contains("Bearer tokens only")
        );
        assert!(answer(r#"{"access_token": ""}"#).is_err());
        let big = format!(r#"{{"access_token": "{}"}}"#, "a".repeat(MAX_TOKEN_CHARS + 1));
        assert!(answer(&big).unwrap_err().to_string().contains("longer than"));
        assert!(answer(r#"{"access_token": "ok", "refresh_token": "b a d"}"#).is_err());
        assert!(answer(r#"{"token_type": "Bearer"}"#).is_err());
    }

    #[test]
    fn lifetimes_are_read_leniently_and_bounded() {
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let at = |body: &str| answer(body).unwrap().expires_at;
        assert_eq!(at(r#"{"access_token": "a", "expires_in": 60}"#), Some(now + SignedDuration::from_secs(60)));
        assert_eq!(at(r#"{"access_token": "a", "expires_in": "60"}"#), Some(now + SignedDuration::from_secs(60)));
        assert_eq!(at(r#"{"access_token": "a", "expires_in": -5}"#), Some(now));
        assert_eq!(
            at(r#"{"access_token": "a", "expires_in": 1e300}"#),
            Some(now + SignedDuration::from_secs(MAX_LIFETIME_SECS))
        );
        assert_eq!(at(r#"{"access_token": "a"}"#), None);
        assert_eq!(at(r#"{"access_token": "a", "expires_in": null, "refresh_token": ""}"#), None);
        assert!(answer(r#"{"access_token": "a", "refresh_token": ""}"#).unwrap().refresh_token.is_none());
    }
}
