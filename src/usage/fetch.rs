//! The calls that read a subscription's usage: `GET /api/oauth/usage` and the one-token probe
//! whose response headers carry the unified rate-limit figures. Their headers come from
//! [`anthropic::auth_headers`], the one place a credential becomes headers.

use std::time::Duration;

use jiff::Timestamp;

use super::UsageSnapshot;
use crate::auth::credential::Method;
use crate::http;
use crate::providers::anthropic;
use crate::providers::api_error::ApiError;
use crate::secret::Secret;

pub const PATH_OAUTH_USAGE: &str = "/api/oauth/usage";
/// The longest one usage call (or probe) may take, whatever the read timeout: `auth status` is
/// a quick look and must not hang on a server that accepts the connection and stays silent.
pub const CALL_TIME_LIMIT: Duration = Duration::from_secs(5);
/// The model `auth status --probe` asks for one token, unless config names another.
pub const DEFAULT_PROBE_MODEL: &str = "claude-haiku-4-5";

/// The answer of the usage endpoint.
#[derive(Debug)]
pub enum UsageAnswer {
    Figures(UsageSnapshot),
    /// 403: the token lacks the `user:profile` scope (every setup token does).
    ScopeMissing(ApiError),
    /// 401: invalid, expired or revoked.
    Unauthorized(ApiError),
    /// 429: polled too often.
    RateLimited(ApiError),
    /// Another status or an unreadable body.
    Failed(String),
    /// The server could not be reached.
    Unreachable(String),
}

/// `GET /api/oauth/usage` with an OAuth token. Figures come back as percent.
pub fn fetch_usage(agent: &http::Client, base: &str, token: &Secret<String>) -> UsageAnswer {
    let url = format!("{base}{PATH_OAUTH_USAGE}");
    tracing::debug!(%url, "fetching usage");
    let headers = match anthropic::auth_headers(Method::OAuth, token, &[]) {
        Ok(headers) => headers,
        Err(e) => return UsageAnswer::Failed(first_line(&e)),
    };
    let request = anthropic::with_headers(agent.get(&url), headers)
        .header("accept", "application/json")
        .config()
        .timeout_global(Some(CALL_TIME_LIMIT))
        .build();
    let mut response = match request.call() {
        Ok(r) => r,
        Err(e) => return UsageAnswer::Unreachable(unreachable(agent, &e)),
    };
    let status = response.status().as_u16();
    tracing::debug!(status, "usage answered");
    let request_id = http::header(response.headers(), anthropic::HEADER_REQUEST_ID).map(str::to_string);
    let body = match http::read_body(&mut response) {
        Ok(b) => b,
        Err(e) => return UsageAnswer::Unreachable(e.to_string()),
    };
    if response.status().is_success() {
        return match super::endpoint::parse(&body, Timestamp::now()) {
            Ok(snapshot) => UsageAnswer::Figures(snapshot),
            Err(e) => UsageAnswer::Failed(format!("unreadable usage answer ({e})")),
        };
    }
    let error = ApiError::parse(status, &body, request_id.as_deref());
    match status {
        401 => UsageAnswer::Unauthorized(error),
        403 => UsageAnswer::ScopeMissing(error),
        429 => UsageAnswer::RateLimited(error),
        _ => UsageAnswer::Failed(error.summary()),
    }
}

/// What a probe learned.
#[derive(Debug)]
pub struct ProbeAnswer {
    /// Unified rate-limit figures from the response headers, if it had any.
    pub usage: Option<UsageSnapshot>,
    /// The error, when the request was refused (headers may still have come with it).
    pub error: Option<ApiError>,
}

/// Sends the smallest possible request (`max_tokens: 1`) to read the unified rate-limit headers.
pub fn probe(
    agent: &http::Client,
    base: &str,
    method: Method,
    secret: &Secret<String>,
    model: &str,
) -> Result<ProbeAnswer, String> {
    let url = format!("{base}{}", anthropic::PATH_MESSAGES);
    tracing::debug!(%url, model, "probing rate limits");
    let body = serde_json::json!({
        "model": model,
        "max_tokens": 1,
        "messages": [{"role": "user", "content": "hi"}],
    });
    let headers = anthropic::auth_headers(method, secret, &[]).map_err(|e| first_line(&e))?;
    let request = anthropic::with_headers(agent.post(&url), headers)
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .config()
        .timeout_global(Some(CALL_TIME_LIMIT))
        .build();
    let mut response = request.send(body.to_string().as_bytes()).map_err(|e| unreachable(agent, &e))?;
    let status = response.status().as_u16();
    tracing::debug!(status, "probe answered");
    let usage = super::headers::parse(http::header_pairs(response.headers()), Timestamp::now());
    let error = if response.status().is_success() {
        None
    } else {
        let request_id = http::header(response.headers(), anthropic::HEADER_REQUEST_ID).map(str::to_string);
        let body = http::read_body(&mut response).unwrap_or_default();
        Some(ApiError::parse(status, &body, request_id.as_deref()))
    };
    Ok(ProbeAnswer { usage, error })
}

fn first_line(e: &impl std::fmt::Display) -> String {
    e.to_string().lines().next().unwrap_or_default().to_string()
}

/// Why a call failed; running out of [`CALL_TIME_LIMIT`] says so instead of a bare "timed out".
fn unreachable(agent: &http::Client, e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(ureq::Timeout::Global) => {
            format!("no answer within {} s", CALL_TIME_LIMIT.as_secs())
        }
        _ => agent.failure(e).one_line(),
    }
}
