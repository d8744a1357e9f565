//! The fresh-or-cached policy of `auth status`: ask the usage endpoint (and, with `--probe`,
//! read the unified headers of a one-token request), record what came back in `usage.json`, and
//! when the endpoint cannot answer, fall back to the figures last seen — with one line saying why.
//!
//! Usage problems never make the command fail: each ends up as a [`UsageReport`] state.

use serde::Serialize;

use super::cache::{UsageCache, credential_key};
use super::fetch::{self, UsageAnswer};
use super::{UsageSnapshot, UsageSource};
use crate::auth::credential::Method;
use crate::auth::resolve::{ANTHROPIC, ResolvedCredential};
use crate::providers::anthropic::{self, Verification};
use crate::providers::api_error::ApiError;
use crate::providers::refusal;

#[derive(Debug, Serialize)]
pub struct UsageReport {
    /// `ok`, `scope_missing`, `unauthorized`, `rate_limited`, `unavailable`, `skipped`.
    pub state: &'static str,
    /// One line explaining a state other than `ok`.
    pub message: Option<String>,
    /// The figures shown: fresh from the endpoint when `state` is `ok`, else the last seen.
    pub snapshot: Option<UsageSnapshot>,
    pub probe: Option<ProbeReport>,
}

#[derive(Debug, Serialize)]
pub struct ProbeReport {
    pub ok: bool,
    pub error: Option<String>,
}

/// Where usage questions go; `None` in [`report`] means "do not contact the provider".
pub struct Remote<'a> {
    pub agent: &'a crate::http::Client,
    pub base: &'a str,
    /// The model of the one-token probe, when `--probe` was given.
    pub probe_model: Option<&'a str>,
}

/// Usage for an Anthropic OAuth credential; for an Anthropic API key only with `--probe` (what
/// it checked); `None` for credentials that have no subscription windows.
pub fn report(cache: &UsageCache, cred: &ResolvedCredential, remote: Option<Remote<'_>>) -> Option<UsageReport> {
    if cred.provider != ANTHROPIC {
        return None;
    }
    if cred.method == Method::ApiKey {
        let remote = remote.filter(|r| r.probe_model.is_some())?;
        return Some(probe_api_key(cred, &remote));
    }
    let key = credential_key(&cred.provider, cred.secret.expose());
    let Some(remote) = remote else {
        return Some(UsageReport {
            state: "skipped",
            message: None,
            snapshot: cache.get(&key).latest().cloned(),
            probe: None,
        });
    };
    // An environment token that fails the rules is never sent, not even to ask for usage.
    if let Err(e) = cred.check_before_sending() {
        return Some(UsageReport {
            state: "skipped",
            message: Some(format!("not asked: {} does not hold a usable credential", e.var)),
            snapshot: cache.get(&key).latest().cloned(),
            probe: None,
        });
    }
    let (agent, base) = (remote.agent, remote.base);
    let probe = remote.probe_model.map(|model| run_probe(agent, base, cred, model, cache, &key));

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
    let (state, message, snapshot) = match fetch::fetch_usage(agent, base, &cred.secret) {
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
    agent: &crate::http::Client,
    base: &str,
    cred: &ResolvedCredential,
    model: &str,
    cache: &UsageCache,
    key: &str,
) -> ProbeReport {
    match fetch::probe(agent, base, cred.method, &cred.secret, model) {
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

/// Only a message that points at the token kind gets the subscription explanation.
fn explain_probe_error(e: &ApiError) -> String {
    if let Some(refusal) = refusal::classify(e) {
        return format!("probe refused ({}): {}; {}", e.summary(), refusal.meaning(), refusal::WAYS_OUT);
    }
    match e.status {
        401 => format!("probe refused ({}): the token is invalid or revoked; log in again", e.summary()),
        _ => format!("probe failed ({})", e.summary()),
    }
}

/// An API key has no subscription windows, so `--probe` checks the key itself with the free
/// `GET /v1/models` call and says so, rather than spending a token on headers it will not get.
fn probe_api_key(cred: &ResolvedCredential, remote: &Remote<'_>) -> UsageReport {
    let checked = "API keys have no subscription windows; --probe checked the key with a free GET /v1/models";
    let no_windows = |ok, message: String, error| UsageReport {
        state: "skipped",
        message: Some(message),
        snapshot: None,
        probe: Some(ProbeReport { ok, error }),
    };
    if let Err(e) = cred.check_before_sending() {
        return no_windows(false, format!("not asked: {} does not hold a usable credential", e.var), None);
    }
    match anthropic::verify_api_key(remote.agent, remote.base, &cred.secret) {
        Verification::Valid => no_windows(true, format!("{checked}: the key works"), None),
        Verification::Rejected(e) => no_windows(
            false,
            format!("{checked}: Anthropic rejected the key"),
            Some(format!("probe refused ({}): check the key at console.anthropic.com", e.summary())),
        ),
        Verification::Unverified(reason) => {
            no_windows(false, format!("{checked}: no answer"), Some(format!("probe failed: {reason}")))
        }
        Verification::Unsendable(e) => {
            no_windows(false, format!("{checked}: not sent"), e.to_string().lines().next().map(str::to_string))
        }
    }
}
