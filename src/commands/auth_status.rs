//! `pincer auth status`: each credential (stored or from the environment) and, for Anthropic
//! subscription tokens, the usage of each rate-limit window.
//!
//! Usage problems never make the command fail: a 403 (setup tokens lack the `user:profile`
//! scope), 401, 429 or network failure is explained in one line, and the figures last seen in
//! response headers (`usage.json`) are shown instead.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::ExitCode;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;

use super::Context;
use crate::auth::credential::{self, Method, SETUP_TOKEN_WARN_AGE_DAYS, mask};
use crate::auth::resolve::{self, ANTHROPIC, OPENAI, ResolvedCredential, Source};
use crate::auth::store::Store;
use crate::cli::StatusArgs;
use crate::config::Config;
use crate::providers::anthropic::{self, UsageAnswer};
use crate::providers::api_error::ApiError;
use crate::term::style::{BOLD, DIM, YELLOW, paint, stdout_color};
use crate::usage::cache::{UsageCache, credential_key};
use crate::usage::{UsageSnapshot, UsageSource, render};

/// Version of the `--json` shape; bumped only on incompatible changes.
pub const JSON_VERSION: u32 = 1;
const SECONDS_PER_DAY: i64 = 86_400;
/// A save time this far ahead of the clock is "in the future", not clock jitter.
const CLOCK_SKEW_SECONDS: i64 = 5 * 60;

#[derive(Debug, Serialize)]
struct Report {
    version: u32,
    credentials: Vec<CredentialReport>,
}

#[derive(Debug, Serialize)]
struct CredentialReport {
    provider: String,
    method: &'static str,
    /// `store` or `env`.
    source: &'static str,
    env_var: Option<&'static str>,
    /// Masked: `sk-ant-oat01-abc…xyz`.
    token: String,
    saved_at: Option<Timestamp>,
    age_days: Option<i64>,
    /// The first credential of a provider is the one requests use.
    in_use: bool,
    warnings: Vec<String>,
    usage: Option<UsageReport>,
}

#[derive(Debug, Serialize)]
struct UsageReport {
    /// `ok`, `scope_missing`, `unauthorized`, `rate_limited`, `unavailable`, `skipped`.
    state: &'static str,
    /// One line explaining a state other than `ok`.
    message: Option<String>,
    /// The figures shown: fresh from the endpoint when `state` is `ok`, else the last seen.
    snapshot: Option<UsageSnapshot>,
    probe: Option<ProbeReport>,
}

#[derive(Debug, Serialize)]
struct ProbeReport {
    ok: bool,
    error: Option<String>,
}

pub fn run(ctx: &Context, args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let store = Store::in_home(&ctx.home);
    let file = store.load()?;
    let config = Config::load(&ctx.home).ok();

    let providers: BTreeSet<String> = match &args.provider {
        Some(p) => BTreeSet::from([p.trim().to_ascii_lowercase()]),
        None => {
            [ANTHROPIC.to_string(), OPENAI.to_string()].into_iter().chain(file.credentials.keys().cloned()).collect()
        }
    };
    let now = Timestamp::now();
    let mut reports = Vec::new();
    for provider in &providers {
        for (i, cred) in resolve::candidates(provider, &ctx.env, &file).into_iter().enumerate() {
            let usage = usage_report(ctx, args, config.as_ref(), &cred);
            reports.push(credential_report(&cred, i == 0, now, usage));
        }
    }
    let report = Report { version: JSON_VERSION, credentials: reports };

    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        let tz = TimeZone::system();
        write!(out, "{}", render_human(&report, now, &tz, stdout_color(ctx.env.no_color)))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn credential_report(
    cred: &ResolvedCredential,
    in_use: bool,
    now: Timestamp,
    usage: Option<UsageReport>,
) -> CredentialReport {
    let age_days = cred.saved_at.map(|t| (now.as_second() - t.as_second()) / SECONDS_PER_DAY);
    let mut warnings = Vec::new();
    if let Some(saved) = cred.saved_at
        && saved_in_future(saved, now)
    {
        warnings.push(format!(
            "it was saved in the future ({}): the system clock, or saved_at in auth.json, is wrong",
            saved.strftime("%Y-%m-%d")
        ));
    }
    if cred.method == Method::OAuth
        && let Some(age) = age_days
        && age >= SETUP_TOKEN_WARN_AGE_DAYS
    {
        warnings.push(format!(
            "this setup token is {age} days old and they last about a year: run `claude setup-token` and log in again"
        ));
    }
    if let Some(expires) = cred.expires_at
        && expires <= now
    {
        warnings.push("this credential has expired: log in again".to_string());
    }
    if let Source::Env(var) = cred.source
        && cred.provider == ANTHROPIC
    {
        let check = match cred.method {
            Method::OAuth => credential::check_setup_token(cred.secret.expose()),
            Method::ApiKey => credential::check_api_key(cred.secret.expose()),
        };
        if let Err(e) = check {
            let first_line = e.to_string().lines().next().unwrap_or_default().to_string();
            warnings.push(format!("{var} does not look right: {first_line}"));
        }
    }
    CredentialReport {
        provider: cred.provider.clone(),
        method: cred.method.as_str(),
        source: cred.source.kind(),
        env_var: match cred.source {
            Source::Env(var) => Some(var),
            Source::Store => None,
        },
        token: mask(cred.secret.expose()),
        saved_at: cred.saved_at,
        age_days,
        in_use,
        warnings,
        usage,
    }
}

/// Usage for an Anthropic OAuth credential; `None` for credentials that have no subscription windows.
fn usage_report(
    ctx: &Context,
    args: &StatusArgs,
    config: Option<&Config>,
    cred: &ResolvedCredential,
) -> Option<UsageReport> {
    if cred.provider != ANTHROPIC || cred.method != Method::OAuth {
        return None;
    }
    let cache = UsageCache::in_home(&ctx.home);
    let key = credential_key(&cred.provider, cred.secret.expose());
    if args.no_usage {
        return Some(UsageReport {
            state: "skipped",
            message: None,
            snapshot: cache.get(&key).latest().cloned(),
            probe: None,
        });
    }
    let agent = ctx.agent();
    let base = ctx.anthropic_base_url();
    let probe = args.probe.then(|| {
        let model = config
            .and_then(|c| c.provider(ANTHROPIC).probe_model.clone())
            .unwrap_or_else(|| anthropic::DEFAULT_PROBE_MODEL.to_string());
        run_probe(&agent, &base, cred, &model, &cache, &key)
    });

    let record = |snapshot: &UsageSnapshot| {
        if let Err(e) = cache.record(&key, snapshot.clone()) {
            tracing::warn!("cannot update usage.json: {e:#}");
        }
    };
    let cached = |source: Option<UsageSource>| {
        let entry = cache.get(&key);
        match source {
            Some(UsageSource::Headers) => entry.headers,
            Some(UsageSource::Endpoint) => entry.endpoint,
            None => entry.latest().cloned(),
        }
    };
    let (state, message, snapshot) = match anthropic::fetch_usage(&agent, &base, &cred.secret) {
        UsageAnswer::Figures(snapshot) => {
            record(&snapshot);
            ("ok", None, Some(snapshot))
        }
        UsageAnswer::ScopeMissing(_) => (
            "scope_missing",
            Some("Anthropic's usage endpoint needs the user:profile scope, which setup tokens do not have; showing the figures last seen in response headers".to_string()),
            cached(Some(UsageSource::Headers)),
        ),
        UsageAnswer::Unauthorized(e) => (
            "unauthorized",
            Some(format!(
                "the token is invalid or revoked ({}): log in again with `pincer auth login --provider anthropic`",
                e.summary()
            )),
            cached(None),
        ),
        UsageAnswer::RateLimited(_) => (
            "rate_limited",
            Some("the usage endpoint is rate limiting requests (HTTP 429); showing the last figures seen".to_string()),
            cached(None),
        ),
        UsageAnswer::Failed(reason) | UsageAnswer::Unreachable(reason) => {
            ("unavailable", Some(format!("usage unavailable: {reason}")), cached(None))
        }
    };
    Some(UsageReport { state, message, snapshot, probe })
}

fn run_probe(
    agent: &ureq::Agent,
    base: &str,
    cred: &ResolvedCredential,
    model: &str,
    cache: &UsageCache,
    key: &str,
) -> ProbeReport {
    match anthropic::probe(agent, base, cred.method, &cred.secret, model) {
        Err(reason) => ProbeReport { ok: false, error: Some(format!("probe failed: {reason}")) },
        Ok(answer) => {
            if let Some(snapshot) = answer.usage
                && let Err(e) = cache.record(key, snapshot)
            {
                tracing::warn!("cannot update usage.json: {e:#}");
            }
            match answer.error {
                None => ProbeReport { ok: true, error: None },
                Some(e) => ProbeReport { ok: false, error: Some(explain_probe_error(&e)) },
            }
        }
    }
}

fn explain_probe_error(e: &ApiError) -> String {
    match e.status {
        401 => format!("probe refused ({}): the token is invalid or revoked; log in again", e.summary()),
        400 | 403 | 429 => format!(
            "probe refused ({}): Anthropic may refuse subscription tokens outside its own apps; an API key always works",
            e.summary()
        ),
        _ => format!("probe failed ({})", e.summary()),
    }
}

fn render_human(report: &Report, now: Timestamp, tz: &TimeZone, color: bool) -> String {
    if report.credentials.is_empty() {
        return "No credentials.\nLog in with: pincer auth login --provider anthropic\n".to_string();
    }
    let mut out = String::new();
    for (i, c) in report.credentials.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let method = if c.method == Method::OAuth.as_str() { Method::OAuth } else { Method::ApiKey };
        let tag = if c.in_use { "in use" } else { "overridden" };
        out.push_str(&format!(
            "{}  {}  {}\n",
            paint(&c.provider, BOLD, color),
            method.describe(),
            paint(&format!("[{tag}]"), DIM, color)
        ));
        out.push_str(&format!("  token    {}\n", c.token));
        let source = match c.env_var {
            Some(var) => Source::Env(var).describe(),
            None => Source::Store.describe(),
        };
        out.push_str(&format!("  source   {source}\n"));
        if let (Some(saved), Some(age)) = (c.saved_at, c.age_days) {
            let local = saved.to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M").to_string();
            let age = match age {
                _ if saved_in_future(saved, now) => "in the future".to_string(),
                ..=0 => "today".to_string(),
                1 => "1 day ago".to_string(),
                n => format!("{n} days ago"),
            };
            out.push_str(&format!("  saved    {local} ({age})\n"));
        }
        for w in &c.warnings {
            out.push_str(&format!("  {} {w}\n", paint("warning:", YELLOW, color)));
        }
        if let Some(u) = &c.usage {
            out.push_str(&render_usage(u, now, tz, color));
        }
    }
    out
}

/// Later than now by more than clock jitter.
fn saved_in_future(saved: Timestamp, now: Timestamp) -> bool {
    saved.as_second() - now.as_second() > CLOCK_SKEW_SECONDS
}

fn render_usage(u: &UsageReport, now: Timestamp, tz: &TimeZone, color: bool) -> String {
    let mut out = String::new();
    if let Some(p) = &u.probe
        && let Some(e) = &p.error
    {
        out.push_str(&format!("  {} {e}\n", paint("probe:", YELLOW, color)));
    }
    if let Some(m) = &u.message {
        out.push_str(&format!("  usage    {m}\n"));
    }
    match &u.snapshot {
        Some(s) => {
            let seen = s.seen_at.to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M").to_string();
            let ago = render::span((now.as_second() - s.seen_at.as_second()).max(0));
            let source = match s.source {
                UsageSource::Endpoint => "usage endpoint",
                UsageSource::Headers => "response headers",
            };
            let fresh = u.state == "ok";
            let head = if fresh {
                format!("from the {source}")
            } else {
                format!("last seen {seen} ({ago} ago), from {source}")
            };
            out.push_str(&format!("  usage    {head}\n"));
            if s.windows.is_empty() {
                out.push_str("  (no windows reported)\n");
            }
            out.push_str(&render::windows(&s.windows, now, tz, color));
            if let Some(x) = &s.extra_usage
                && x.is_enabled == Some(true)
            {
                let dollars = |c: Option<f64>| c.map(|c| format!("{:.2}", c / 100.0)).unwrap_or_else(|| "?".into());
                let currency = x.currency.as_deref().unwrap_or("USD");
                out.push_str(&format!(
                    "  extra usage          {} of {} {currency} this month\n",
                    dollars(x.used_cents),
                    dollars(x.monthly_limit_cents)
                ));
            }
            if s.status.as_deref() == Some("rejected") {
                let reset = s.resets_at.map(|t| format!(", resets {}", render::when(t, now, tz))).unwrap_or_default();
                out.push_str(&format!("  limit reached{reset}\n"));
            }
        }
        None if u.state != "ok" => {
            out.push_str(
                "  usage    no figures seen yet: run `pincer auth status --probe` (uses one token) or chat once\n",
            );
        }
        None => {}
    }
    out
}
