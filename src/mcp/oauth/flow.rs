//! One sign-in, start to end: discover, pick the client, send the person to the authorization
//! page with PKCE, `state` and `resource`, take the redirect (from the loopback listener, or
//! pasted back), check it, and redeem the code.
//!
//! The flow knows no terminal: it tells the person what to do through [`Ui`] (the commands
//! print to stderr), and takes a pasted address through [`Ui::paste`].

use std::time::Instant;

use jiff::Timestamp;
use url::Url;

use super::challenge::Challenge;
use super::discovery::{Discovered, discover};
use super::entry::{McpSignIn, Stored};
use super::listener::{Expected, Listener, Verdict, judge};
use super::pkce::{self, Pkce};
use super::registration::{ClientSettings, client_for};
use super::tokens::redeem_code;
use super::urls::without_query;
use super::wire::Wire;
use super::{OAuthError, join_scopes, union_scopes};
use crate::secret::Secret;

/// How the person is reached during a sign-in.
pub trait Ui {
    /// A line for the person (stderr on a terminal).
    fn notice(&self, text: &str);
    /// The address the browser was sent back to, pasted (`--no-browser`); `None` when this
    /// interface cannot take input.
    fn paste(&self, prompt: &str) -> Option<Result<Secret<String>, OAuthError>>;
    /// True once the person asked to stop (Ctrl-C): the wait for the browser ends.
    fn cancelled(&self) -> bool {
        false
    }
}

/// How the authorization page is opened.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Start the browser (`BROWSER`, else the desktop's opener); the listener takes the redirect.
    Browser { browser: Option<String> },
    /// Print the address; the person pastes back where the browser ended up.
    Paste,
}

/// What to sign in to, and with what.
pub struct Request<'a> {
    pub name: &'a str,
    pub server: &'a Url,
    /// What the server's 401 or 403 said.
    pub challenge: Option<&'a Challenge>,
    /// Scopes to keep on top of the selected ones: those granted before, and in a step-up,
    /// those the server now asks for.
    pub more_scopes: &'a [String],
    /// `--scope`: these, instead of the selection strategy.
    pub scope_override: Option<&'a [String]>,
    pub client: &'a ClientSettings,
    pub mode: Mode,
}

/// A finished sign-in.
pub struct Outcome {
    pub stored: Stored,
    pub discovered: Discovered,
}

/// The authorization request (OAuth 2.1 §4.1.1 with RFC 7636 and RFC 8707). The endpoint's own
/// query is kept, as OAuth requires.
pub fn authorization_url(
    endpoint: &Url,
    client_id: &str,
    redirect_uri: &str,
    challenge: &str,
    state: &str,
    scopes: Option<&[String]>,
    resource: &str,
) -> Url {
    let mut url = endpoint.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code");
        q.append_pair("client_id", client_id);
        q.append_pair("redirect_uri", redirect_uri);
        q.append_pair("code_challenge", challenge);
        q.append_pair("code_challenge_method", pkce::S256);
        q.append_pair("state", state);
        if let Some(scopes) = scopes.filter(|s| !s.is_empty()) {
            q.append_pair("scope", &join_scopes(scopes));
        }
        q.append_pair("resource", resource);
    }
    url
}

/// The scopes to ask for: `--scope` if given; else the selected ones together with those to keep.
pub fn scopes_to_request(selected: Option<&[String]>, more: &[String], over: Option<&[String]>) -> Option<Vec<String>> {
    if let Some(over) = over {
        return Some(over.to_vec());
    }
    match (selected, more.is_empty()) {
        (Some(s), _) => Some(union_scopes(s, more)),
        (None, false) => Some(more.to_vec()),
        (None, true) => None,
    }
}

/// Runs a whole sign-in.
pub fn sign_in(wire: &dyn Wire, req: &Request<'_>, ui: &dyn Ui) -> Result<Outcome, OAuthError> {
    let found = discover(wire, req.server, req.challenge)?;
    let scopes = scopes_to_request(found.scopes.as_deref(), req.more_scopes, req.scope_override);
    // Bound before anything is registered or opened: the redirect URI names its port.
    let listener = Listener::bind()?;
    let redirect_uri = listener.redirect_uri();
    let client = client_for(wire, req.client, &found, &redirect_uri)?;
    let pkce = Pkce::new();
    let state = pkce::new_state();
    let url = authorization_url(
        &found.endpoints.authorization,
        &client.id,
        &redirect_uri,
        &pkce.challenge,
        state.expose(),
        scopes.as_deref(),
        &found.resource,
    );
    let expected = Expected { state: &state, issuer: &found.issuer, iss_required: found.iss_parameter };
    let what = match &scopes {
        Some(s) => format!(" for {}", join_scopes(s)),
        None => String::new(),
    };
    let code = match &req.mode {
        Mode::Browser { browser } => {
            tracing::info!("authorization request to {}", without_query(&found.endpoints.authorization));
            match super::browser::open(browser.as_deref(), url.as_str()) {
                Ok(program) => ui.notice(&format!(
                    "Signing in to {} at {}{what}: {program} opened the sign-in page.\nIf no page opened, open this address in a browser on this computer:\n  {url}",
                    req.name, found.issuer
                )),
                Err(why) => ui.notice(&format!(
                    "Could not open a browser ({why}).\nTo sign in to {} at {}{what}, open this address in a browser on this computer:\n  {url}",
                    req.name, found.issuer
                )),
            }
            listener.wait(&expected, req.name, Instant::now() + super::listener::SIGN_IN_TIMEOUT, &|| ui.cancelled())?
        }
        Mode::Paste => {
            ui.notice(&format!(
                "To sign in to {} at {}{what}, open this address in any browser:\n  {url}\nAfter signing in, the browser goes to {redirect_uri}?… (the page may not load there: that is expected).\nCopy that whole address from the address bar and paste it here.",
                req.name, found.issuer
            ));
            let pasted = ui
                .paste("Address the browser went to (input hidden): ")
                .ok_or_else(|| OAuthError::Usage("no way to read a pasted address here\nhint: run `pincer auth login --mcp NAME --no-browser` in a terminal".into()))??;
            drop(listener);
            code_from_pasted(pasted.expose(), &expected)?
        }
    };
    let tokens =
        redeem_code(wire, &found.endpoints.token, &client, &code, &pkce.verifier, &redirect_uri, &found.resource)?;
    let granted = tokens.scopes.clone().or(scopes).unwrap_or_default();
    let stored = Stored {
        access_token: tokens.access_token,
        expires_at: tokens.expires_at,
        saved_at: Timestamp::now(),
        sign_in: McpSignIn {
            server_url: req.server.to_string(),
            resource: found.resource.clone(),
            issuer: found.issuer.clone(),
            token_endpoint: found.endpoints.token.to_string(),
            revocation_endpoint: found.endpoints.revocation.as_ref().map(Url::to_string),
            client_id: client.id,
            client_secret: client.secret,
            token_endpoint_auth_method: client.method,
            client: client.source,
            refresh_token: tokens.refresh_token,
            scopes: granted,
            unknown: Default::default(),
        },
    };
    Ok(Outcome { stored, discovered: found })
}

/// The code from a pasted address (the whole URL, or only its `?…` part).
fn code_from_pasted(pasted: &str, expected: &Expected<'_>) -> Result<Secret<String>, OAuthError> {
    let text = pasted.trim();
    let query = text.split_once('?').map(|(_, q)| q).unwrap_or(text);
    let query = query.split('#').next().unwrap_or_default();
    match judge(query, expected) {
        Verdict::Code(code) => Ok(code),
        Verdict::Failed(e) => Err(e),
        Verdict::NotOurs(why) => Err(OAuthError::Callback(format!(
            "the pasted address is not this sign-in's ({why})\nhint: paste the whole address from the browser's address bar, after signing in"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorization_url_carries_everything_once_and_keeps_the_endpoint_query() {
        let endpoint = Url::parse("https://auth.example.com/authorize?tenant=x").unwrap();
        let scopes = vec!["files:read".to_string(), "files:write".to_string()];
        let url = authorization_url(
            &endpoint,
            "client 1",
            "http://127.0.0.1:5/callback",
            "CH",
            "ST&=",
            Some(&scopes),
            "https://m.example/mcp",
        );
        let pairs: Vec<(String, String)> = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let get = |k: &str| pairs.iter().filter(|(n, _)| n == k).map(|(_, v)| v.as_str()).collect::<Vec<_>>();
        assert_eq!(get("tenant"), ["x"]);
        assert_eq!(get("response_type"), ["code"]);
        assert_eq!(get("client_id"), ["client 1"]);
        assert_eq!(get("redirect_uri"), ["http://127.0.0.1:5/callback"]);
        assert_eq!(get("code_challenge"), ["CH"]);
        assert_eq!(get("code_challenge_method"), ["S256"]);
        assert_eq!(get("state"), ["ST&="]);
        assert_eq!(get("scope"), ["files:read files:write"]);
        assert_eq!(get("resource"), ["https://m.example/mcp"]);
        assert_eq!(url.host_str(), Some("auth.example.com"));
        let bare = authorization_url(&endpoint, "c", "r", "CH", "S", None, "res");
        assert!(!bare.as_str().contains("scope="), "{bare}");
        let empty = authorization_url(&endpoint, "c", "r", "CH", "S", Some(&[]), "res");
        assert!(!empty.as_str().contains("scope="), "{empty}");
    }

    #[test]
    fn scope_choice_override_union_or_nothing() {
        let s = |t: &str| super::super::split_scopes(t);
        assert_eq!(scopes_to_request(Some(&s("a b")), &s("b c"), None), Some(s("a b c")));
        assert_eq!(scopes_to_request(None, &s("c"), None), Some(s("c")));
        assert_eq!(scopes_to_request(None, &[], None), None);
        assert_eq!(scopes_to_request(Some(&s("a")), &s("b"), Some(&s("z"))), Some(s("z")));
    }

    #[test]
    fn pasted_addresses_are_checked_like_redirects() {
        let state = Secret::new("st".to_string());
        let expected = Expected { state: &state, issuer: "https://a.example", iss_required: false };
        assert_eq!(
            code_from_pasted(" http://127.0.0.1:5/callback?code=c1&state=st#x \n", &expected).unwrap().expose(),
            "c1"
        );
        assert_eq!(code_from_pasted("code=c2&state=st", &expected).unwrap().expose(), "c2");
        let err =
            code_from_pasted("http://127.0.0.1:5/callback?code=c&state=other", &expected).unwrap_err().to_string();
        assert!(err.contains("not this sign-in") && err.contains("hint:"), "{err}");
        assert!(
            code_from_pasted("http://127.0.0.1:5/callback?error=access_denied&state=st", &expected)
                .unwrap_err()
                .to_string()
                .contains("declined")
        );
    }
}
