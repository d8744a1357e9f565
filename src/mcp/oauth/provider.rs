//! The `Authorization` header of a signed-in server, kept fresh.
//!
//! [`lookup`] gives every HTTP server an [`OAuthProvider`]: with a stored sign-in it sends the
//! access token (to that server's origin only: a sign-in made for another URL is not used), and
//! refreshes it shortly before it expires; without one it sends nothing, and a 401 says which
//! command signs in. When the server refuses a token:
//!
//! - 401: another pincer may have renewed it already (read from `auth.json`), else the refresh
//!   token is used, once per refused token. The refresh runs under the store's lock, so two
//!   processes never spend the same refresh token, and a rotated one replaces the old at once.
//! - 403 `insufficient_scope`: a step-up sign-in for the union of the granted scopes and those
//!   the server names, when a person can be reached ([`Ui`]) and the scopes are new; at most
//!   [`MAX_STEP_UPS`] times per connection. Otherwise the advice names the command and scopes.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use jiff::{SignedDuration, Timestamp};
use url::Url;

use super::challenge::{self, Challenge};
use super::entry::{self, Stored};
use super::flow::{self, Mode, Ui};
use super::registration::{ClientSettings, ClientSource};
use super::tokens;
use super::urls::{require_secure, same_origin};
use super::wire::{UreqWire, Wire};
use super::{OAuthError, join_scopes, union_scopes};
use crate::auth::store::Store;
use crate::env::Env;
use crate::http::Timeouts;
use crate::mcp::http::{AuthProvider, Retry};
use crate::mcp::manager::AuthLookup;
use crate::secret::Secret;

/// Refresh this long before the access token expires: a request in flight should not carry a
/// token that dies on the way.
pub const REFRESH_MARGIN: SignedDuration = SignedDuration::from_secs(60);
/// After a failed refresh before expiry, requests go out with the old token for this long
/// before the next try (a down authorization server must not be asked once per request).
const REFRESH_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(30);
/// Step-up sign-ins per connection. The spec asks for a limit ("no more than a few times");
/// the conformance suite counts at most three authorization requests in all.
pub const MAX_STEP_UPS: usize = 2;

/// The providers for every HTTP server. `ui` is how a step-up reaches the person; `None` when
/// nobody can be asked (then the advice says what to run).
pub fn lookup(env: &Env, home: PathBuf, timeouts: Timeouts, ui: Option<Arc<dyn Ui + Send + Sync>>) -> Arc<AuthLookup> {
    let wire: Arc<dyn Wire> = Arc::new(UreqWire { env: env.clone(), timeouts });
    let browser = env.browser.clone();
    Arc::new(move |name: &str, url: &str| -> Option<Arc<dyn AuthProvider>> {
        let server = Url::parse(url).ok()?;
        let provider = OAuthProvider::load(name, server, home.clone(), Arc::clone(&wire), ui.clone(), browser.clone());
        Some(Arc::new(provider))
    })
}

pub struct OAuthProvider {
    name: String,
    server: Url,
    home: PathBuf,
    store: Store,
    wire: Arc<dyn Wire>,
    ui: Option<Arc<dyn Ui + Send + Sync>>,
    browser: Option<String>,
    state: Mutex<State>,
    /// Held while a refresh or a sign-in runs: one at a time.
    renewing: Mutex<()>,
}

#[derive(Default)]
struct State {
    stored: Option<Stored>,
    /// Why there is no usable sign-in (for the advice).
    problem: Option<String>,
    /// The token a refresh was last tried for: a second 401 for it gives up.
    refreshed_from: Option<Secret<String>>,
    /// When a refresh before expiry last failed.
    refresh_failed_at: Option<std::time::Instant>,
    step_ups: usize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl OAuthProvider {
    pub fn load(
        name: &str,
        server: Url,
        home: PathBuf,
        wire: Arc<dyn Wire>,
        ui: Option<Arc<dyn Ui + Send + Sync>>,
        browser: Option<String>,
    ) -> OAuthProvider {
        let store = Store::in_home(&home);
        let mut state = State::default();
        match store.load() {
            Ok(file) => {
                if let Some(stored) = entry::get(&file, name) {
                    match usable_for(&stored, &server) {
                        Ok(()) => state.stored = Some(stored),
                        Err(why) => state.problem = Some(why),
                    }
                }
            }
            Err(e) => state.problem = Some(format!("{e:#}")),
        }
        OAuthProvider {
            name: name.to_string(),
            server,
            home,
            store,
            wire,
            ui,
            browser,
            state: Mutex::new(state),
            renewing: Mutex::new(()),
        }
    }

    fn login_command(&self) -> String {
        format!("pincer auth login --mcp {}", self.name)
    }

    fn current_token(&self) -> Option<Secret<String>> {
        lock(&self.state).stored.as_ref().map(|s| s.access_token.clone())
    }

    /// Renews the access token: takes one another process saved, else refreshes. Runs under the
    /// store's lock from reading to writing.
    fn refresh(&self, refused: Option<&Secret<String>>) -> Result<(), String> {
        let (mut file, guard) = self.store.lock().map_err(|e| format!("{e:#}"))?;
        let Some(saved) = entry::get(&file, &self.name) else {
            return Err("the sign-in was removed (pincer auth logout)".into());
        };
        usable_for(&saved, &self.server)?;
        let ours = self.current_token();
        let newer = ours.as_ref().is_none_or(|t| t.expose() != saved.access_token.expose())
            && refused.is_none_or(|r| r.expose() != saved.access_token.expose())
            && !expires_soon(&saved, Timestamp::now());
        if newer {
            tracing::debug!(server = %self.name, "using the token another pincer saved");
            lock(&self.state).stored = Some(saved);
            return Ok(());
        }
        let Some(refresh_token) = saved.sign_in.refresh_token.clone() else {
            return Err("the server gave no refresh token".into());
        };
        let endpoint = Url::parse(&saved.sign_in.token_endpoint)
            .map_err(|e| format!("the stored token endpoint is not a URL ({e})"))?;
        require_secure(&endpoint, "the token endpoint").map_err(|e| e.to_string())?;
        let client = saved.sign_in.client();
        let set = tokens::refresh(
            self.wire.as_ref(),
            &endpoint,
            &client,
            &refresh_token,
            &saved.sign_in.scopes,
            &saved.sign_in.resource,
        )
        .map_err(|e| e.to_string())?;
        let mut sign_in = saved.sign_in.clone();
        // A rotated refresh token replaces the old one now: the old one is spent.
        if let Some(rotated) = set.refresh_token {
            sign_in.refresh_token = Some(rotated);
        }
        if let Some(scopes) = set.scopes {
            sign_in.scopes = scopes;
        }
        let renewed =
            Stored { access_token: set.access_token, expires_at: set.expires_at, saved_at: Timestamp::now(), sign_in };
        entry::put(&mut file, &self.name, &renewed);
        self.store.save(&file, &guard).map_err(|e| format!("{e:#}"))?;
        drop(guard);
        tracing::info!(server = %self.name, "refreshed the access token");
        lock(&self.state).stored = Some(renewed);
        Ok(())
    }

    /// The step-up: a new sign-in for more scopes, in the browser.
    fn step_up(&self, challenge: &Challenge, wanted: &[String], ui: &(dyn Ui + Send + Sync)) -> Result<(), OAuthError> {
        let config = crate::config::Config::load(&self.home).map_err(OAuthError::Other)?;
        let keys = crate::mcp::config::sign_in_config(&config, &self.name).map_err(OAuthError::Usage)?;
        let previous = lock(&self.state).stored.clone();
        let settings = client_settings(&keys, previous.as_ref());
        let request = flow::Request {
            name: &self.name,
            server: &self.server,
            challenge: Some(challenge),
            more_scopes: wanted,
            scope_override: None,
            client: &settings,
            mode: Mode::Browser { browser: self.browser.clone() },
        };
        let outcome = flow::sign_in(self.wire.as_ref(), &request, ui)?;
        entry::save(&self.store, &self.name, &outcome.stored)?;
        lock(&self.state).stored = Some(outcome.stored);
        Ok(())
    }

    fn on_unauthorized(&self, sent: Option<&Secret<String>>) -> Retry {
        let login = self.login_command();
        let (has_sign_in, problem, tried) = {
            let state = lock(&self.state);
            let tried = match (&state.refreshed_from, sent) {
                (Some(a), Some(b)) => a.expose() == b.expose(),
                _ => false,
            };
            (state.stored.is_some(), state.problem.clone(), tried)
        };
        if !has_sign_in {
            let advice = match problem {
                Some(why) => format!("{why}: run `{login}`"),
                None => format!("the server needs a sign-in: run `{login}`"),
            };
            return Retry::No { advice: Some(advice) };
        }
        if tried {
            return Retry::No {
                advice: Some(format!("the server refuses the sign-in even after renewing it: run `{login}`")),
            };
        }
        lock(&self.state).refreshed_from = sent.cloned();
        match self.refresh(sent) {
            Ok(()) => Retry::Yes,
            Err(why) => Retry::No {
                advice: Some(format!(
                    "the sign-in has expired or was revoked, and renewing it failed ({why}): run `{login}`"
                )),
            },
        }
    }

    fn on_insufficient_scope(&self, challenge: &Challenge) -> Retry {
        let needed = challenge.scope.clone().unwrap_or_default();
        let granted = lock(&self.state).stored.as_ref().map(|s| s.sign_in.scopes.clone()).unwrap_or_default();
        let wanted = union_scopes(&granted, &needed);
        let login = self.login_command();
        if needed.is_empty() {
            return Retry::No {
                advice: Some(
                    "the server refuses this with insufficient_scope but names no scope to ask for".to_string(),
                ),
            };
        }
        if wanted.len() == granted.len() {
            // Asking again for what was granted cannot help (and could loop forever).
            return Retry::No {
                advice: Some(format!(
                    "the server refuses this even with the scopes it asks for ({}); the account may lack the right",
                    join_scopes(&needed)
                )),
            };
        }
        let scope_arg = format!("{login} --scope \"{}\"", join_scopes(&wanted));
        let step_ups = lock(&self.state).step_ups;
        if step_ups >= MAX_STEP_UPS {
            return Retry::No {
                advice: Some(format!(
                    "the server still asks for more access after {step_ups} sign-ins; pincer stopped asking: run `{scope_arg}`"
                )),
            };
        }
        let Some(ui) = &self.ui else {
            return Retry::No {
                advice: Some(format!("this needs more access (scope {}): run `{scope_arg}`", join_scopes(&needed))),
            };
        };
        lock(&self.state).step_ups += 1;
        ui.notice(&format!(
            "mcp server {} needs more access for this ({}): signing in again.",
            self.name,
            join_scopes(&needed)
        ));
        match self.step_up(challenge, &wanted, ui.as_ref()) {
            Ok(()) => Retry::Yes,
            Err(e) => Retry::No {
                advice: Some(format!(
                    "this needs more access (scope {}), and the sign-in failed: {e}",
                    join_scopes(&needed)
                )),
            },
        }
    }
}

impl AuthProvider for OAuthProvider {
    fn authorization(&self) -> Option<Secret<String>> {
        let refreshable = {
            let state = lock(&self.state);
            let resting = state.refresh_failed_at.is_some_and(|t| t.elapsed() < REFRESH_RETRY_AFTER);
            !resting
                && state
                    .stored
                    .as_ref()
                    .is_some_and(|s| s.sign_in.refresh_token.is_some() && expires_soon(s, Timestamp::now()))
        };
        if refreshable
            && let Ok(_renewing) = self.renewing.try_lock()
            && let Err(why) = self.refresh(None)
        {
            // The server may still take it; if not, its 401 says what to do.
            tracing::warn!(server = %self.name, "could not refresh the access token: {why}");
            lock(&self.state).refresh_failed_at = Some(std::time::Instant::now());
        }
        self.current_token().map(|t| Secret::new(format!("Bearer {}", t.expose())))
    }

    fn refused(&self, sent: Option<&Secret<String>>, status: u16, www_authenticate: Option<&str>) -> Retry {
        let _renewing = lock(&self.renewing);
        let sent_token = sent.and_then(|s| s.expose().strip_prefix("Bearer ").map(|t| Secret::new(t.to_string())));
        // Another request renewed the token meanwhile: just send again.
        if let (Some(now), Some(was)) = (self.current_token(), &sent_token)
            && now.expose() != was.expose()
        {
            return Retry::Yes;
        }
        if sent_token.is_none() && self.current_token().is_some() {
            return Retry::Yes;
        }
        let challenge = www_authenticate.and_then(challenge::parse).unwrap_or_default();
        match status {
            403 if challenge.insufficient_scope() => self.on_insufficient_scope(&challenge),
            401 => self.on_unauthorized(sent_token.as_ref()),
            _ => Retry::No { advice: None },
        }
    }
}

/// A stored sign-in is used only for the URL it was made for (the same origin): a config edit
/// must not send a token to another server.
fn usable_for(stored: &Stored, server: &Url) -> Result<(), String> {
    match Url::parse(&stored.sign_in.server_url) {
        Ok(signed) if same_origin(&signed, server) => Ok(()),
        _ => Err(format!("the sign-in was made for {}, not {}", stored.sign_in.server_url, server)),
    }
}

fn expires_soon(stored: &Stored, now: Timestamp) -> bool {
    stored.expires_at.is_some_and(|at| at.duration_since(now) < REFRESH_MARGIN)
}

/// The client for a sign-in: config's keys, with the pre-registered client's stored secret when
/// the stored sign-in used that same client.
pub fn client_settings(keys: &crate::mcp::config::SignInConfig, previous: Option<&Stored>) -> ClientSettings {
    let secret = previous
        .filter(|p| {
            p.sign_in.client == ClientSource::PreRegistered && Some(&p.sign_in.client_id) == keys.client_id.as_ref()
        })
        .and_then(|p| p.sign_in.client_secret.clone());
    ClientSettings {
        client_id: keys.client_id.clone(),
        client_secret: secret,
        metadata_url: keys.client_metadata_url.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::entry::McpSignIn;
    use super::super::registration::AuthMethod;
    use super::super::wire::fake::FakeWire;
    use super::*;

    const SERVER: &str = "https://m.example/mcp";
    const TOKEN: &str = "https://a.example/token";

    fn stored(access: &str, expires_in: i64) -> Stored {
        Stored {
            access_token: Secret::new(access.into()),
            expires_at: Some(Timestamp::now() + SignedDuration::from_secs(expires_in)),
            saved_at: Timestamp::now(),
            sign_in: McpSignIn {
                server_url: SERVER.into(),
                resource: SERVER.into(),
                issuer: "https://a.example".into(),
                token_endpoint: TOKEN.into(),
                revocation_endpoint: None,
                client_id: "cid".into(),
                client_secret: None,
                token_endpoint_auth_method: AuthMethod::None,
                client: ClientSource::DynamicRegistration,
                refresh_token: Some(Secret::new("rt-1".into())),
                scopes: vec!["read".into()],
                unknown: Default::default(),
            },
        }
    }

    fn provider(home: &std::path::Path, wire: Arc<FakeWire>, url: &str) -> OAuthProvider {
        OAuthProvider::load("notes", Url::parse(url).unwrap(), home.to_path_buf(), wire, None, None)
    }

    fn bearer(t: &str) -> Secret<String> {
        Secret::new(format!("Bearer {t}"))
    }

    #[test]
    fn no_sign_in_means_no_header_and_advice_naming_the_command() {
        let home = tempfile::tempdir().unwrap();
        let p = provider(home.path(), Arc::new(FakeWire::new(&[])), SERVER);
        assert!(p.authorization().is_none());
        match p.refused(None, 401, Some("Bearer resource_metadata=\"https://m.example/prm\"")) {
            Retry::No { advice: Some(a) } => assert!(a.contains("pincer auth login --mcp notes"), "{a}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tokens_go_only_to_the_origin_they_were_made_for() {
        let home = tempfile::tempdir().unwrap();
        entry::save(&Store::in_home(home.path()), "notes", &stored("at-1", 3600)).unwrap();
        let same = provider(home.path(), Arc::new(FakeWire::new(&[])), "https://m.example/other-path");
        assert_eq!(same.authorization().unwrap().expose(), "Bearer at-1");
        let moved = provider(home.path(), Arc::new(FakeWire::new(&[])), "https://elsewhere.example/mcp");
        assert!(moved.authorization().is_none());
        match moved.refused(None, 401, None) {
            Retry::No { advice: Some(a) } => assert!(a.contains("made for https://m.example/mcp"), "{a}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_token_about_to_expire_is_refreshed_and_the_rotated_refresh_token_saved() {
        let home = tempfile::tempdir().unwrap();
        let store = Store::in_home(home.path());
        entry::save(&store, "notes", &stored("at-old", 10)).unwrap();
        let wire = Arc::new(FakeWire::new(&[(
            TOKEN,
            200,
            r#"{"access_token": "at-new", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "rt-2"}"#,
        )]));
        let p = provider(home.path(), Arc::clone(&wire), SERVER);
        assert_eq!(p.authorization().unwrap().expose(), "Bearer at-new");
        let sent = &wire.calls()[0];
        assert!(
            sent.contains("grant_type=refresh_token")
                && sent.contains("refresh_token=rt-1")
                && sent.contains("scope=read")
                && sent.contains(&format!("resource={SERVER}")),
            "{sent}"
        );
        let saved = entry::get(&store.load().unwrap(), "notes").unwrap();
        assert_eq!(saved.access_token.expose(), "at-new");
        assert_eq!(saved.sign_in.refresh_token.unwrap().expose(), "rt-2");
        // Fresh now: no more refreshes.
        assert_eq!(p.authorization().unwrap().expose(), "Bearer at-new");
        assert_eq!(wire.calls().len(), 1);
    }

    #[test]
    fn a_failing_refresh_before_expiry_is_not_retried_on_every_request() {
        let home = tempfile::tempdir().unwrap();
        entry::save(&Store::in_home(home.path()), "notes", &stored("at-old", 10)).unwrap();
        let wire = Arc::new(FakeWire::new(&[(TOKEN, 503, "down")]));
        let p = provider(home.path(), Arc::clone(&wire), SERVER);
        for _ in 0..5 {
            assert_eq!(p.authorization().unwrap().expose(), "Bearer at-old");
        }
        assert_eq!(wire.calls().len(), 1, "{:?}", wire.calls());
    }

    #[test]
    fn a_401_refreshes_once_then_gives_up_with_advice() {
        let home = tempfile::tempdir().unwrap();
        entry::save(&Store::in_home(home.path()), "notes", &stored("at-1", 3600)).unwrap();
        let wire = Arc::new(FakeWire::new(&[(TOKEN, 200, r#"{"access_token": "at-2"}"#)]));
        let p = provider(home.path(), Arc::clone(&wire), SERVER);
        assert_eq!(p.refused(Some(&bearer("at-1")), 401, None), Retry::Yes);
        assert_eq!(p.authorization().unwrap().expose(), "Bearer at-2");
        // A refusal of the old token, arriving late, needs no second refresh.
        assert_eq!(p.refused(Some(&bearer("at-1")), 401, None), Retry::Yes);
        // The renewed one refused as well: once more, then stop.
        assert_eq!(p.refused(Some(&bearer("at-2")), 401, None), Retry::Yes);
        match p.refused(Some(&bearer("at-2")), 401, None) {
            Retry::No { advice: Some(a) } => {
                assert!(a.contains("even after renewing") && a.contains("--mcp notes"), "{a}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_failed_refresh_says_to_log_in_again() {
        let home = tempfile::tempdir().unwrap();
        entry::save(&Store::in_home(home.path()), "notes", &stored("at-1", 3600)).unwrap();
        let wire = Arc::new(FakeWire::new(&[(TOKEN, 400, r#"{"error": "invalid_grant"}"#)]));
        let p = provider(home.path(), wire, SERVER);
        match p.refused(Some(&bearer("at-1")), 401, None) {
            Retry::No { advice: Some(a) } => {
                assert!(a.contains("invalid_grant") && a.contains("pincer auth login --mcp notes"), "{a}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_token_another_pincer_renewed_is_taken_without_a_refresh() {
        let home = tempfile::tempdir().unwrap();
        let store = Store::in_home(home.path());
        entry::save(&store, "notes", &stored("at-1", 3600)).unwrap();
        let wire = Arc::new(FakeWire::new(&[]));
        let p = provider(home.path(), Arc::clone(&wire), SERVER);
        entry::save(&store, "notes", &stored("at-other", 3600)).unwrap();
        assert_eq!(p.refused(Some(&bearer("at-1")), 401, None), Retry::Yes);
        assert_eq!(p.authorization().unwrap().expose(), "Bearer at-other");
        assert!(wire.calls().is_empty(), "{:?}", wire.calls());
    }

    #[test]
    fn insufficient_scope_without_a_person_names_the_command_and_the_union() {
        let home = tempfile::tempdir().unwrap();
        entry::save(&Store::in_home(home.path()), "notes", &stored("at-1", 3600)).unwrap();
        let p = provider(home.path(), Arc::new(FakeWire::new(&[])), SERVER);
        let header = r#"Bearer error="insufficient_scope", scope="write""#;
        match p.refused(Some(&bearer("at-1")), 403, Some(header)) {
            Retry::No { advice: Some(a) } => assert!(a.contains("--scope \"read write\""), "{a}"),
            other => panic!("{other:?}"),
        }
        // The scopes already granted: asking again cannot help.
        match p.refused(Some(&bearer("at-1")), 403, Some(r#"Bearer error="insufficient_scope", scope="read""#)) {
            Retry::No { advice: Some(a) } => assert!(a.contains("even with the scopes"), "{a}"),
            other => panic!("{other:?}"),
        }
        // A plain 403 is not a sign-in matter.
        assert_eq!(p.refused(Some(&bearer("at-1")), 403, None), Retry::No { advice: None });
    }

    #[test]
    fn a_pre_registered_secret_is_reused_only_for_the_same_client() {
        let mut previous = stored("a", 60);
        previous.sign_in.client = ClientSource::PreRegistered;
        previous.sign_in.client_secret = Some(Secret::new("s".into()));
        let keys = crate::mcp::config::SignInConfig { client_id: Some("cid".into()), client_metadata_url: None };
        assert!(client_settings(&keys, Some(&previous)).client_secret.is_some());
        let other = crate::mcp::config::SignInConfig { client_id: Some("other".into()), client_metadata_url: None };
        assert!(client_settings(&other, Some(&previous)).client_secret.is_none());
        previous.sign_in.client = ClientSource::DynamicRegistration;
        assert!(client_settings(&keys, Some(&previous)).client_secret.is_none());
    }
}
