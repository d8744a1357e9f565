//! `pincer auth login --mcp NAME`, `auth logout --mcp NAME`, and the MCP part of `auth status`
//! (SPEC §11). The OAuth work is in [`crate::mcp::oauth`]; this is the terminal around it.

use std::cell::RefCell;
use std::process::ExitCode;
use std::sync::Arc;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;
use url::Url;

use super::Context;
use crate::auth::store::{AuthFile, Store};
use crate::cli::LoginArgs;
use crate::config::Config;
use crate::exit::UsageError;
use crate::mcp::config::{self as mcp_config, ServerConfig, TransportConfig};
use crate::mcp::oauth::entry::{self, Stored};
use crate::mcp::oauth::flow::{self, Mode, Ui};
use crate::mcp::oauth::provider::client_settings;
use crate::mcp::oauth::wire::UreqWire;
use crate::mcp::oauth::{OAuthError, challenge, join_scopes, split_scopes, tokens, urls};
use crate::mcp::{CallOptions, ConnectOptions, Decline, McpError};
use crate::secret::Secret;
use crate::term::prompt::Input;
use crate::term::style::{BOLD, DIM, YELLOW, note, paint, warn};

/// The terminal's side of a sign-in: notices on stderr, a pasted address from `input`.
struct LoginUi<'a> {
    input: RefCell<&'a mut Input>,
}

impl Ui for LoginUi<'_> {
    fn notice(&self, text: &str) {
        note(text);
    }

    fn paste(&self, prompt: &str) -> Option<Result<Secret<String>, OAuthError>> {
        let mut input = self.input.borrow_mut();
        Some(input.secret(prompt, "the address was pasted").map_err(OAuthError::Other))
    }
}

/// A step-up's side in `mcp` commands (and the agent): notices only; nothing is read.
pub struct NoticeUi;

impl Ui for NoticeUi {
    fn notice(&self, text: &str) {
        note(text);
    }

    fn paste(&self, _prompt: &str) -> Option<Result<Secret<String>, OAuthError>> {
        None
    }

    fn cancelled(&self) -> bool {
        crate::term::interrupt::interrupted()
    }
}

/// The `AuthLookup` of commands that connect to servers: stored sign-ins, and step-ups in the
/// browser when a person is there to finish them (a terminal, or a `BROWSER` that acts alone).
pub fn auth_lookup(ctx: &Context) -> Arc<crate::mcp::manager::AuthLookup> {
    use std::io::IsTerminal;
    lookup_with(ctx, std::io::stderr().is_terminal() || ctx.env.browser.is_some())
}

fn lookup_with(ctx: &Context, someone_there: bool) -> Arc<crate::mcp::manager::AuthLookup> {
    let ui: Option<Arc<dyn Ui + Send + Sync>> = if someone_there { Some(Arc::new(NoticeUi)) } else { None };
    crate::mcp::oauth::lookup(&ctx.env, ctx.home.clone(), ctx.timeouts, ui)
}

/// Maps an OAuth error to the command's error, usage problems to exit 2.
fn command_error(e: OAuthError) -> anyhow::Error {
    match e {
        OAuthError::Usage(text) => UsageError(text).into(),
        OAuthError::Interrupted => crate::exit::Interrupted.into(),
        other => anyhow::anyhow!("{other}"),
    }
}

/// The configured HTTP server `name`, or a usage error saying what is wrong.
fn http_server(config: &Config, name: &str) -> anyhow::Result<(ServerConfig, Url)> {
    let all = mcp_config::servers(config);
    let names: Vec<String> =
        all.iter().map(|s| s.as_ref().map(|c| c.name.clone()).unwrap_or_else(|b| b.name.clone())).collect();
    let Some(found) =
        all.into_iter().find(|s| s.as_ref().map(|c| c.name.as_str()).unwrap_or_else(|b| b.name.as_str()) == name)
    else {
        return Err(UsageError(format!(
            "no MCP server named {name:?} in config.toml\nhint: add it with `pincer mcp add {name} --url URL`{}",
            if names.is_empty() { String::new() } else { format!(" (configured: {})", names.join(", ")) }
        ))
        .into());
    };
    let server = found.map_err(|bad| {
        UsageError(format!("[mcp.{name}] cannot be used: {}\nhint: fix it in config.toml", bad.reason))
    })?;
    let TransportConfig::Http { url, .. } = &server.transport else {
        return Err(UsageError(format!(
            "{name} is a stdio server: it takes credentials from its environment, not from a sign-in\nhint: give them with `pincer mcp add {name} --env KEY=VALUE -- COMMAND`"
        ))
        .into());
    };
    let url = Url::parse(url).map_err(|e| UsageError(format!("[mcp.{name}] url {url:?} is not a URL ({e})")))?;
    Ok((server, url))
}

fn connect_options(
    ctx: &Context,
    auth: Option<Arc<crate::mcp::manager::AuthLookup>>,
) -> anyhow::Result<ConnectOptions> {
    Ok(ConnectOptions {
        workspace: std::env::current_dir().map_err(|e| anyhow::anyhow!("cannot read the current folder: {e}"))?,
        elicitor: Arc::new(Decline),
        connect_timeout: ctx.timeouts.connect,
        auth,
        env: ctx.env.clone(),
    })
}

/// What the server says without a sign-in: `Some(challenge)` when it refused (its
/// `WWW-Authenticate`, possibly empty), `None` when it answered.
fn probe(ctx: &Context, server: &ServerConfig) -> anyhow::Result<Option<challenge::Challenge>> {
    let refused = |www: Option<String>| Some(www.as_deref().and_then(challenge::parse).unwrap_or_default());
    let client = match crate::mcp::manager::connect(server, &connect_options(ctx, None)?) {
        Ok(client) => client,
        Err(McpError::Unauthorized { www_authenticate, .. }) => return Ok(refused(www_authenticate)),
        Err(e) => anyhow::bail!(
            "mcp server {}: {}\nhint: check that the server is running and its url in config.toml",
            server.name,
            crate::sanitize::sanitize(&e.to_string())
        ),
    };
    // Some servers take the handshake without a sign-in and refuse the first real request.
    match client.list_tools(&CallOptions::timeout(server.startup_timeout)) {
        Err(McpError::Unauthorized { www_authenticate, .. }) => Ok(refused(www_authenticate)),
        _ => Ok(None),
    }
}

pub fn login(ctx: &Context, name: &str, args: &LoginArgs, input: &mut Input) -> anyhow::Result<ExitCode> {
    let config = Config::load(&ctx.home)?;
    let (server, url) = http_server(&config, name)?;
    let keys = mcp_config::sign_in_config(&config, name)
        .map_err(|e| UsageError(format!("{e}\nhint: fix it in config.toml")))?;
    if args.client_secret && keys.client_id.is_none() {
        return Err(UsageError(format!(
            "--client-secret is the secret of a pre-registered client, and [mcp.{name}] has no client_id\nhint: add client_id = \"…\" to [mcp.{name}] in config.toml"
        ))
        .into());
    }
    let scope_override = match &args.scope {
        Some(text) if split_scopes(text).is_empty() => {
            return Err(UsageError("--scope is empty\nhint: e.g. --scope \"files:read files:write\"".into()).into());
        }
        Some(text) if !text.split_ascii_whitespace().all(crate::mcp::oauth::is_scope) => {
            return Err(UsageError(
                "--scope holds a character no scope may have (a quote, a backslash, or one outside ASCII)\nhint: e.g. --scope \"files:read files:write\"".into(),
            )
            .into());
        }
        Some(text) => Some(split_scopes(text)),
        None => None,
    };
    let store = Store::in_home(&ctx.home);
    let previous = entry::get(&store.load()?, name);
    let mut settings = client_settings(&keys, previous.as_ref());
    if args.client_secret {
        let secret = input.secret(
            &format!("Client secret of {} (input hidden): ", keys.client_id.as_deref().unwrap_or_default()),
            "a client secret was entered",
        )?;
        check_client_secret(secret.expose())?;
        settings.client_secret = Some(secret);
    }
    // Scopes granted before stay asked for: signing in again should not lose permissions.
    let keep: Vec<String> = previous
        .as_ref()
        .filter(|p| Url::parse(&p.sign_in.server_url).is_ok_and(|u| urls::same_origin(&u, &url)))
        .map(|p| p.sign_in.scopes.clone())
        .unwrap_or_default();

    let found_challenge = probe(ctx, &server)?;
    let mode = if args.no_browser { Mode::Paste } else { Mode::Browser { browser: ctx.env.browser.clone() } };
    let request = flow::Request {
        name,
        server: &url,
        challenge: found_challenge.as_ref(),
        more_scopes: &keep,
        scope_override: scope_override.as_deref(),
        client: &settings,
        mode,
    };
    let wire = UreqWire { env: ctx.env.clone(), timeouts: ctx.timeouts };
    let ui = LoginUi { input: RefCell::new(input) };
    let outcome = match flow::sign_in(&wire, &request, &ui) {
        Ok(o) => o,
        Err(OAuthError::NoSignIn(why)) if found_challenge.is_none() => {
            note(&format!("mcp server {name}: {why}"));
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return Err(command_error(e).context(format!("cannot sign in to mcp server {name}"))),
    };
    entry::save(&store, name, &outcome.stored)?;
    let s = &outcome.stored;
    let scopes =
        if s.sign_in.scopes.is_empty() { "no particular scopes".to_string() } else { join_scopes(&s.sign_in.scopes) };
    note(&format!(
        "Signed in to mcp server {name} at {} ({scopes}; {}; {}). Saved to {}",
        s.sign_in.issuer,
        expiry_words(s, Timestamp::now()),
        s.sign_in.client.describe(),
        store.path().display()
    ));
    // `--no-browser` means no browser here: a step-up then names the command instead.
    let lookup = if args.no_browser { lookup_with(ctx, false) } else { auth_lookup(ctx) };
    verify(ctx, &server, name, lookup)
}

/// Connects with the new sign-in, as every later command will (a step-up may still happen).
fn verify(
    ctx: &Context,
    server: &ServerConfig,
    name: &str,
    lookup: Arc<crate::mcp::manager::AuthLookup>,
) -> anyhow::Result<ExitCode> {
    let checked = crate::mcp::manager::connect(server, &connect_options(ctx, Some(lookup))?)
        .and_then(|client| client.list_tools(&CallOptions::timeout(server.startup_timeout)));
    match checked {
        Ok(tools) => {
            note(&format!("The server accepts the sign-in: {} tools. Next: pincer mcp tools {name}", tools.len()));
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ McpError::Unauthorized { .. }) => anyhow::bail!(
            "mcp server {name} refuses the new sign-in: {}\nhint: check with the server's operator that your account has access",
            crate::sanitize::sanitize(&e.to_string())
        ),
        Err(e) => {
            warn(&format!(
                "the sign-in is saved, but the server could not be checked: {}",
                crate::sanitize::sanitize(&e.to_string())
            ));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A client secret is sent in a header or a form: no spaces or control characters.
fn check_client_secret(secret: &str) -> Result<(), UsageError> {
    if secret.is_empty() {
        return Err(UsageError(
            "no client secret was entered\nhint: paste the secret the server's operator gave you".into(),
        ));
    }
    if let Some(i) = secret.chars().position(|c| c.is_control() || c.is_whitespace()) {
        return Err(UsageError(format!(
            "character {} of the client secret is a space or control character, which a secret never holds\nhint: copy the secret again",
            i + 1
        )));
    }
    Ok(())
}

pub fn logout(ctx: &Context, name: &str) -> anyhow::Result<ExitCode> {
    let store = Store::in_home(&ctx.home);
    if !store.path().exists() {
        note(&format!("No sign-in stored for mcp server {name}."));
        return Ok(ExitCode::SUCCESS);
    }
    let (mut file, guard) = store.lock()?;
    let Some(removed) = entry::remove(&mut file, name) else {
        note(&format!("No sign-in stored for mcp server {name}."));
        return Ok(ExitCode::SUCCESS);
    };
    store.save(&file, &guard)?;
    drop(guard);
    note(&format!("Removed the sign-in to mcp server {name} from {}", store.path().display()));
    revoke(ctx, name, &removed);
    Ok(ExitCode::SUCCESS)
}

/// Tells the authorization server, when it offers revocation, that the tokens are no longer
/// wanted. Best effort: the local sign-in is gone either way.
pub fn revoke(ctx: &Context, name: &str, removed: &Stored) {
    let Some(endpoint) = removed.sign_in.revocation_endpoint.as_deref().and_then(|e| Url::parse(e).ok()) else {
        return;
    };
    if urls::require_secure(&endpoint, "the revocation endpoint").is_err() {
        return;
    }
    let wire = UreqWire { env: ctx.env.clone(), timeouts: ctx.timeouts };
    let (token, hint) = match &removed.sign_in.refresh_token {
        Some(rt) => (rt, "refresh_token"),
        None => (&removed.access_token, "access_token"),
    };
    match tokens::revoke(&wire, &endpoint, &removed.sign_in.client(), token, hint) {
        Ok(()) => note(&format!("Revoked it at {}", removed.sign_in.issuer)),
        Err(e) => warn(&format!(
            "could not revoke the sign-in to {name} at {} ({e}); it ends when it expires",
            removed.sign_in.issuer
        )),
    }
}

/// One MCP sign-in in `auth status --json` (never a token).
#[derive(Debug, Serialize)]
pub struct SignInReport {
    pub server: String,
    pub url: String,
    pub issuer: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<Timestamp>,
    pub expired: bool,
    /// A refresh token is kept: an expired access token is renewed without a browser.
    pub renewable: bool,
    /// `pre_registered`, `metadata_document` or `dynamic_registration`.
    pub client: crate::mcp::oauth::registration::ClientSource,
    pub saved_at: Timestamp,
}

pub fn reports(file: &AuthFile, now: Timestamp) -> Vec<SignInReport> {
    entry::all(file)
        .into_iter()
        .map(|(name, s)| SignInReport {
            server: name,
            url: s.sign_in.server_url.clone(),
            issuer: s.sign_in.issuer.clone(),
            scopes: s.sign_in.scopes.clone(),
            expires_at: s.expires_at,
            expired: s.expires_at.is_some_and(|t| t <= now),
            renewable: s.sign_in.refresh_token.is_some(),
            client: s.sign_in.client,
            saved_at: s.saved_at,
        })
        .collect()
}

fn expiry_words(s: &Stored, now: Timestamp) -> String {
    let renewed = if s.sign_in.refresh_token.is_some() { ", renewed automatically" } else { "" };
    match s.expires_at {
        None => "no expiry given".to_string(),
        Some(t) if t <= now => format!("expired{renewed}"),
        Some(t) => format!("expires in {}{renewed}", crate::usage::render::span(t.as_second() - now.as_second())),
    }
}

/// The human `auth status` block of each sign-in.
pub fn render(reports: &[SignInReport], now: Timestamp, tz: &TimeZone, color: bool) -> String {
    let mut out = String::new();
    for r in reports {
        out.push('\n');
        out.push_str(&format!(
            "{}  MCP sign-in (OAuth)  {}\n",
            paint(&format!("mcp:{}", r.server), BOLD, color),
            paint(&format!("[{}]", r.client.describe()), DIM, color)
        ));
        out.push_str(&format!("  server   {}\n", r.url));
        out.push_str(&format!("  issuer   {}\n", r.issuer));
        let scopes = if r.scopes.is_empty() { "(none named)".to_string() } else { join_scopes(&r.scopes) };
        out.push_str(&format!("  scopes   {scopes}\n"));
        let renew = if r.renewable { "; renewed automatically" } else { "" };
        match r.expires_at {
            Some(t) => {
                let local = t.to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M").to_string();
                let when = if r.expired {
                    "expired".to_string()
                } else {
                    format!("in {}", crate::usage::render::span(t.as_second() - now.as_second()))
                };
                out.push_str(&format!("  expires  {local} ({when}{renew})\n"));
            }
            None => out.push_str(&format!("  expires  not given{renew}\n")),
        }
        if r.expired && !r.renewable {
            out.push_str(&format!(
                "  {} the sign-in has expired: run `pincer auth login --mcp {}`\n",
                paint("warning:", YELLOW, color),
                r.server
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_secrets_are_checked_without_being_shown() {
        assert!(check_client_secret("abc-123_~.").is_ok());
        assert!(check_client_secret("").unwrap_err().to_string().contains("no client secret"));
        let err = check_client_secret("abc def").unwrap_err().to_string();
        assert!(err.contains("character 4") && !err.contains("abc"), "{err}");
    }
}
