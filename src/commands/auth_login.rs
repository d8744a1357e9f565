//! `pincer auth login`: read a credential from a prompt or stdin, check it, store it, and make
//! sure there is a model to use it with.

use std::process::ExitCode;

use jiff::Timestamp;

use super::Context;
use crate::auth::credential::{self, Method, mask};
use crate::auth::resolve::{self, ANTHROPIC, OPENAI, Source};
use crate::auth::store::{Store, StoredCredential};
use crate::cli::LoginArgs;
use crate::config::Config;
use crate::exit::UsageError;
use crate::providers::anthropic::{self, Verification};
use crate::secret::Secret;
use crate::term::prompt::Input;
use crate::term::style::{note, warn};

const MENU_TITLE: &str = "How do you want to log in to Anthropic?";
const MENU_OPTIONS: &[&str] = &["Setup token (from `claude setup-token`)", "API key (from console.anthropic.com)"];
/// Names tried, in order, for the Anthropic model that login adds to config.toml.
const ANTHROPIC_MODEL_NAMES: &[&str] = &["sonnet", "claude-sonnet", "anthropic-sonnet"];

/// Said once, factually, whenever a setup token is saved.
pub const OAUTH_TERMS_NOTICE: &str = "\
note: Anthropic's terms restrict subscription (OAuth) tokens to Anthropic's own apps; requests
      from pincer with this token may be refused. An API key (`--api-key`) always works.";

pub fn run(ctx: &Context, args: &LoginArgs, input: &mut Input) -> anyhow::Result<ExitCode> {
    let provider = args.provider.as_deref().unwrap_or_default().trim().to_ascii_lowercase();
    let method = choose_method(ctx, &provider, args, input)?;
    let secret = read_secret(&provider, method, input)?;

    let mut verified = false;
    if provider == ANTHROPIC && method == Method::ApiKey && !args.no_verify {
        let base = ctx.anthropic_base_url()?;
        match anthropic::verify_api_key(&ctx.client(&base)?, &base, &secret) {
            Verification::Valid => verified = true,
            Verification::Rejected(error) => anyhow::bail!(
                "Anthropic rejected the API key ({})\nnothing was saved\nhint: check that the key is active at console.anthropic.com, or pass --no-verify to save it anyway",
                error.summary()
            ),
            Verification::Unsendable(e) => return Err(e.into()),
            Verification::Unverified(reason) => {
                warn(&format!("could not verify the API key ({reason}); saving it anyway"))
            }
        }
    }

    let store = Store::in_home(&ctx.home);
    let (mut file, guard) = store.lock()?;
    file.credentials.insert(
        provider.clone(),
        StoredCredential {
            provider: provider.clone(),
            method,
            secret: secret.clone(),
            saved_at: Timestamp::now(),
            expires_at: None,
            account: None,
            mcp: None,
            unknown: Default::default(),
        },
    );
    store.save(&file, &guard)?;
    drop(guard);

    let masked = mask(secret.expose());
    note(&format!(
        "Saved {provider} {} {masked} to {}{}",
        method.describe(),
        store.path().display(),
        if verified { " (verified)" } else { "" }
    ));

    if provider == ANTHROPIC {
        update_config(ctx);
    }
    if let Some(winner) = resolve::resolve(&provider, &ctx.env, &file)
        && let Source::Env(var) = winner.source
    {
        warn(&format!("{var} is set and takes precedence over the saved credential; unset it to use this one"));
    }
    if method == Method::OAuth {
        note(OAUTH_TERMS_NOTICE);
        note(
            "There is no free check for a setup token. To check it (uses one token of quota):\n  pincer auth status --probe",
        );
    } else {
        note("Next: pincer auth status");
    }
    Ok(ExitCode::SUCCESS)
}

fn choose_method(ctx: &Context, provider: &str, args: &LoginArgs, input: &mut Input) -> anyhow::Result<Method> {
    match provider {
        ANTHROPIC => Ok(if args.setup_token {
            Method::OAuth
        } else if args.api_key {
            Method::ApiKey
        } else {
            match input.choose(MENU_TITLE, MENU_OPTIONS, 0)? {
                0 => Method::OAuth,
                _ => Method::ApiKey,
            }
        }),
        OPENAI => api_key_only(provider, args),
        // Claude Code signs in on its own; pincer keeps no credential for it (SPEC §12).
        crate::providers::claude_code::PROVIDER => Err(UsageError(
            "the claude-code provider uses Claude Code's own login, so pincer stores no credential for it\nhint: run `claude` and log in there (/login); then `--model claude-code/sonnet` works".into(),
        )
        .into()),
        other => {
            let config = Config::load(&ctx.home)?;
            if config.provider(other).base_url.is_none() {
                return Err(UsageError(format!(
                    "unknown provider `{other}`\nhint: use anthropic or openai, or declare it in {} as [providers.{other}] with a base_url",
                    config.path().display()
                ))
                .into());
            }
            api_key_only(provider, args)
        }
    }
}

fn api_key_only(provider: &str, args: &LoginArgs) -> anyhow::Result<Method> {
    if args.setup_token {
        return Err(UsageError(format!(
            "{provider} has no setup tokens\nhint: run `pincer auth login --provider {provider} --api-key`"
        ))
        .into());
    }
    Ok(Method::ApiKey)
}

fn read_secret(provider: &str, method: Method, input: &mut Input) -> anyhow::Result<Secret<String>> {
    let (prompt, what) = match (provider, method) {
        (ANTHROPIC, Method::OAuth) => {
            if input.is_tty() {
                note("Run `claude setup-token` (in any terminal) and paste the token it prints.");
            }
            ("Setup token (input hidden): ", "a setup token was entered")
        }
        (ANTHROPIC, Method::ApiKey) => ("Anthropic API key (input hidden): ", "an API key was entered"),
        _ => ("API key (input hidden): ", "an API key was entered"),
    };
    let secret = input.secret(prompt, what)?;
    let checked = match (provider, method) {
        (ANTHROPIC, Method::OAuth) => credential::check_setup_token(secret.expose()),
        (ANTHROPIC, Method::ApiKey) => credential::check_api_key(secret.expose()),
        _ => credential::check_openai_key(secret.expose()),
    };
    if let Err(e) = checked {
        // The rest of a refused paste, still arriving, must not reach the shell.
        input.discard_typeahead();
        return Err(e.into());
    }
    Ok(secret)
}

/// Adds an Anthropic model and a default model when missing. A config problem never undoes the
/// saved credential: it is reported and the file left as it was.
fn update_config(ctx: &Context) {
    match Config::update(&ctx.home, |c| c.ensure_model(ANTHROPIC, anthropic::DEFAULT_MODEL, ANTHROPIC_MODEL_NAMES)) {
        Ok(changes) => {
            if let Some(name) = &changes.added_model {
                note(&format!("Added model `{name}` ({}) to config.toml", anthropic::DEFAULT_MODEL));
            }
            if let Some(name) = &changes.set_default {
                note(&format!("Set the default model to `{name}`"));
            }
        }
        Err(e) => warn(&format!("config.toml was left unchanged: {e:#}")),
    }
}
