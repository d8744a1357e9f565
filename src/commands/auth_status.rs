//! `pincer auth status`: each credential (stored or from the environment) and, for Anthropic
//! subscription tokens, the usage of each rate-limit window.
//!
//! A thin command: it collects the credentials, asks [`crate::usage::status`] for their usage
//! (the calls and the fresh-or-cached policy live there) and renders the result.

use std::collections::BTreeSet;
use std::process::ExitCode;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;

use super::Context;
use crate::auth::credential::{Method, SETUP_TOKEN_WARN_AGE_DAYS, mask};
use crate::auth::resolve::{self, ANTHROPIC, OPENAI, ResolvedCredential, Source};
use crate::auth::store::Store;
use crate::cli::StatusArgs;
use crate::config::Config;
use crate::providers::claude_code::{self, install::Installation};
use crate::term::style::{BOLD, DIM, YELLOW, paint, stdout_color};
use crate::usage::cache::UsageCache;
use crate::usage::status::{self, Remote, UsageReport};
use crate::usage::{UsageSource, fetch, render};

/// Version of the `--json` shape; bumped only on incompatible changes.
pub const JSON_VERSION: u32 = 1;
const SECONDS_PER_DAY: i64 = 86_400;
/// A save time this far ahead of the clock is "in the future", not clock jitter.
const CLOCK_SKEW_SECONDS: i64 = 5 * 60;

#[derive(Debug, Serialize)]
struct Report {
    version: u32,
    credentials: Vec<CredentialReport>,
    /// MCP sign-ins (SPEC §11), when there are any (never with `--provider`). Left out when
    /// empty, so the report of someone without MCP sign-ins is what it always was.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    mcp: Vec<super::auth_mcp::SignInReport>,
    /// Whether Claude Code (the `claude-code` provider, which uses its own login) is installed;
    /// left out when `--provider` names another provider.
    #[serde(skip_serializing_if = "Option::is_none")]
    claude_code: Option<Installation>,
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

pub fn run(ctx: &Context, args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let store = Store::in_home(&ctx.home);
    let file = store.load()?;
    let config = Config::load(&ctx.home).ok();

    let providers: BTreeSet<String> = match &args.provider {
        Some(p) => BTreeSet::from([p.trim().to_ascii_lowercase()]),
        None => [ANTHROPIC.to_string(), OPENAI.to_string()]
            .into_iter()
            .chain(file.credentials.keys().filter(|k| !k.starts_with(crate::mcp::oauth::entry::KEY_PREFIX)).cloned())
            .collect(),
    };
    let now = Timestamp::now();
    let cache = UsageCache::in_home(&ctx.home);
    // Built only when the provider is contacted: `--no-usage` stays free of network set-up.
    let base = ctx.anthropic_base_url()?;
    let agent = (!args.no_usage).then(|| ctx.client(&base)).transpose()?;
    let probe_model = args.probe.then(|| {
        config
            .as_ref()
            .and_then(|c| c.provider(ANTHROPIC).probe_model.clone())
            .unwrap_or_else(|| fetch::DEFAULT_PROBE_MODEL.to_string())
    });
    let mut reports = Vec::new();
    for provider in &providers {
        for (i, cred) in resolve::candidates(provider, &ctx.env, &file).into_iter().enumerate() {
            let remote = agent.as_ref().map(|agent| Remote { agent, base: &base, probe_model: probe_model.as_deref() });
            let usage = status::report(&cache, &cred, remote);
            reports.push(credential_report(&cred, i == 0, now, usage));
        }
    }
    let mcp = if args.provider.is_some() { Vec::new() } else { super::auth_mcp::reports(&file, now) };
    // Local (`claude --version`): no network, no credential read; `--no-usage`, which must
    // start in a few milliseconds, only finds it.
    let claude_code = args
        .provider
        .as_deref()
        .is_none_or(|p| p.trim().eq_ignore_ascii_case(claude_code::PROVIDER))
        .then(|| Installation::check(config.as_ref(), &ctx.env, !args.no_usage));
    let report = Report { version: JSON_VERSION, credentials: reports, mcp, claude_code };

    let text = if args.json {
        serde_json::to_string_pretty(&report)? + "\n"
    } else {
        let (tz, color) = (TimeZone::system(), stdout_color(ctx.env.no_color));
        let mut text = render_human(&report, now, &tz, color);
        if !report.mcp.is_empty() {
            if report.credentials.is_empty() {
                text.clear();
            }
            text.push_str(
                super::auth_mcp::render(&report.mcp, now, &tz, color)
                    .trim_start_matches(|c| c == '\n' && report.credentials.is_empty()),
            );
        }
        text
    };
    crate::term::output::write_stdout(text.as_bytes())?;
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
    if let Err(e) = cred.check_before_sending() {
        warnings.push(format!(
            "{} does not look right: {}; nothing is sent with it: fix it, or unset it (`unset {}`) to use auth.json",
            e.var, e.problem, e.var
        ));
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

fn render_human(report: &Report, now: Timestamp, tz: &TimeZone, color: bool) -> String {
    let mut out = render_credentials(report, now, tz, color);
    if let Some(installation) = &report.claude_code {
        out.push('\n');
        out.push_str(&format!("{}  {}\n", paint(claude_code::PROVIDER, BOLD, color), installation.describe()));
        if installation.installed {
            out.push_str("  login    Claude Code's own (pincer sends it no credential)\n");
        }
    }
    out
}

fn render_credentials(report: &Report, now: Timestamp, tz: &TimeZone, color: bool) -> String {
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
            let exhausted = s.exhausted_windows();
            if !exhausted.is_empty() {
                let reset = s.resets_at.map(|t| format!(", resets {}", render::when(t, now, tz))).unwrap_or_default();
                out.push_str(&format!("  limit reached: the {} window{reset}\n", exhausted.join(" and ")));
            }
        }
        None if u.state != "ok" && u.probe.is_none() => {
            out.push_str(
                "  usage    no figures seen yet: run `pincer auth status --probe` (uses one token) or chat once\n",
            );
        }
        None => {}
    }
    out
}
