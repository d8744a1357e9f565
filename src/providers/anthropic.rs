//! Anthropic's API: the one place a credential becomes headers, and the calls `auth` needs
//! (key verification, the usage endpoint, the rate-limit probe).

use jiff::Timestamp;
use ureq::http::HeaderValue;

use super::api_error::ApiError;
use crate::auth::credential::Method;
use crate::auth::secret::Secret;
use crate::http;
use crate::usage::{self, UsageSnapshot};

pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
pub const API_VERSION: &str = "2023-06-01";
/// Required with any OAuth Bearer token; without it the API answers 401.
pub const OAUTH_BETA: &str = "oauth-2025-04-20";
pub const HEADER_VERSION: &str = "anthropic-version";
pub const HEADER_BETA: &str = "anthropic-beta";
pub const HEADER_API_KEY: &str = "x-api-key";
pub const HEADER_AUTHORIZATION: &str = "authorization";
pub const HEADER_REQUEST_ID: &str = "request-id";
pub const PATH_MODELS: &str = "/v1/models";
pub const PATH_MESSAGES: &str = "/v1/messages";
pub const PATH_OAUTH_USAGE: &str = "/api/oauth/usage";
/// The model `auth status --probe` asks for one token, unless config names another.
pub const DEFAULT_PROBE_MODEL: &str = "claude-haiku-4-5";
pub const DEFAULT_MODEL: &str = "claude-sonnet-4-6";

/// The base URL without a trailing slash.
pub fn base_url(configured: Option<&str>) -> String {
    configured.unwrap_or(DEFAULT_BASE_URL).trim_end_matches('/').to_string()
}

/// The headers that authenticate a request, and the only code that decides them:
/// a setup token (OAuth) gets `Authorization: Bearer` plus the OAuth beta flag, an API key gets
/// `x-api-key`; never both. `extra_betas` are merged as a set. Secret values are marked sensitive.
pub fn auth_headers(
    method: Method,
    secret: &Secret<String>,
    extra_betas: &[String],
) -> Vec<(&'static str, HeaderValue)> {
    let mut betas: Vec<&str> = Vec::new();
    let mut headers = Vec::with_capacity(3);
    headers.push((HEADER_VERSION, HeaderValue::from_static(API_VERSION)));
    match method {
        Method::OAuth => {
            headers.push((HEADER_AUTHORIZATION, sensitive(&format!("Bearer {}", secret.expose()))));
            betas.push(OAUTH_BETA);
        }
        Method::ApiKey => headers.push((HEADER_API_KEY, sensitive(secret.expose()))),
    }
    for beta in extra_betas.iter().flat_map(|b| b.split(',')).map(str::trim).filter(|b| !b.is_empty()) {
        if !betas.contains(&beta) {
            betas.push(beta);
        }
    }
    if !betas.is_empty()
        && let Ok(value) = HeaderValue::from_str(&betas.join(","))
    {
        headers.push((HEADER_BETA, value));
    }
    headers
}

fn sensitive(value: &str) -> HeaderValue {
    // Token rules keep secrets to header-safe characters; an env value might not be.
    let mut v = HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("invalid"));
    v.set_sensitive(true);
    v
}

fn with_headers<B>(
    mut request: ureq::RequestBuilder<B>,
    headers: Vec<(&'static str, HeaderValue)>,
) -> ureq::RequestBuilder<B> {
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request
}

/// The result of checking an API key.
#[derive(Debug)]
pub enum Verification {
    Valid,
    /// 401/403: the key does not work.
    Rejected(ApiError),
    /// Network failure or an unexpected answer: the key may be fine.
    Unverified(String),
}

/// Checks an API key with a free call: `GET /v1/models?limit=1`.
pub fn verify_api_key(agent: &ureq::Agent, base: &str, key: &Secret<String>) -> Verification {
    let url = format!("{base}{PATH_MODELS}?limit=1");
    tracing::debug!(%url, "verifying API key");
    let request = with_headers(agent.get(&url), auth_headers(Method::ApiKey, key, &[]));
    match request.call() {
        Err(e) => Verification::Unverified(http::describe_error(&e)),
        Ok(mut response) => {
            let status = response.status().as_u16();
            tracing::debug!(status, "verification answered");
            if response.status().is_success() {
                return Verification::Valid;
            }
            let request_id = http::header(response.headers(), HEADER_REQUEST_ID).map(str::to_string);
            let body = http::read_body(&mut response).unwrap_or_default();
            let error = ApiError::parse(status, &body, request_id.as_deref());
            match status {
                401 | 403 => Verification::Rejected(error),
                _ => Verification::Unverified(error.summary()),
            }
        }
    }
}

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
pub fn fetch_usage(agent: &ureq::Agent, base: &str, token: &Secret<String>) -> UsageAnswer {
    let url = format!("{base}{PATH_OAUTH_USAGE}");
    tracing::debug!(%url, "fetching usage");
    let request =
        with_headers(agent.get(&url), auth_headers(Method::OAuth, token, &[])).header("accept", "application/json");
    let mut response = match request.call() {
        Ok(r) => r,
        Err(e) => return UsageAnswer::Unreachable(http::describe_error(&e)),
    };
    let status = response.status().as_u16();
    tracing::debug!(status, "usage answered");
    let request_id = http::header(response.headers(), HEADER_REQUEST_ID).map(str::to_string);
    let body = match http::read_body(&mut response) {
        Ok(b) => b,
        Err(e) => return UsageAnswer::Unreachable(e.to_string()),
    };
    if response.status().is_success() {
        return match usage::endpoint::parse(&body, Timestamp::now()) {
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
    agent: &ureq::Agent,
    base: &str,
    method: Method,
    secret: &Secret<String>,
    model: &str,
) -> Result<ProbeAnswer, String> {
    let url = format!("{base}{PATH_MESSAGES}");
    tracing::debug!(%url, model, "probing rate limits");
    let body = serde_json::json!({
        "model": model,
        "max_tokens": 1,
        "messages": [{"role": "user", "content": "hi"}],
    });
    let request = with_headers(agent.post(&url), auth_headers(method, secret, &[]))
        .header("content-type", "application/json")
        .header("accept", "application/json");
    let mut response = request.send(body.to_string().as_bytes()).map_err(|e| http::describe_error(&e))?;
    let status = response.status().as_u16();
    tracing::debug!(status, "probe answered");
    let usage = usage::headers::parse(http::header_pairs(response.headers()), Timestamp::now());
    let error = if response.status().is_success() {
        None
    } else {
        let request_id = http::header(response.headers(), HEADER_REQUEST_ID).map(str::to_string);
        let body = http::read_body(&mut response).unwrap_or_default();
        Some(ApiError::parse(status, &body, request_id.as_deref()))
    };
    Ok(ProbeAnswer { usage, error })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(h: &[(&'static str, HeaderValue)]) -> Vec<&'static str> {
        h.iter().map(|(n, _)| *n).collect()
    }

    #[test]
    fn oauth_gets_bearer_and_beta_never_api_key() {
        let h = auth_headers(Method::OAuth, &Secret::new("sk-ant-oat01-x".into()), &[]);
        assert_eq!(names(&h), [HEADER_VERSION, HEADER_AUTHORIZATION, HEADER_BETA]);
        assert_eq!(h[1].1.to_str().unwrap(), "Bearer sk-ant-oat01-x");
        assert!(h[1].1.is_sensitive());
        assert_eq!(h[2].1.to_str().unwrap(), OAUTH_BETA);
    }

    #[test]
    fn api_key_gets_x_api_key_never_bearer() {
        let h = auth_headers(Method::ApiKey, &Secret::new("sk-ant-api03-x".into()), &[]);
        assert_eq!(names(&h), [HEADER_VERSION, HEADER_API_KEY]);
        assert_eq!(h[1].1.to_str().unwrap(), "sk-ant-api03-x");
        assert!(h[1].1.is_sensitive());
    }

    #[test]
    fn extra_betas_merge_as_a_set() {
        let extra = vec!["a-1, oauth-2025-04-20".to_string(), "b-2".into(), "a-1".into()];
        let h = auth_headers(Method::OAuth, &Secret::new("t".into()), &extra);
        assert_eq!(h.last().unwrap().1.to_str().unwrap(), "oauth-2025-04-20,a-1,b-2");
        let h = auth_headers(Method::ApiKey, &Secret::new("k".into()), &extra);
        assert_eq!(h.last().unwrap().1.to_str().unwrap(), "a-1,oauth-2025-04-20,b-2");
    }

    #[test]
    fn base_url_trims_slash() {
        assert_eq!(base_url(None), DEFAULT_BASE_URL);
        assert_eq!(base_url(Some("http://127.0.0.1:9/")), "http://127.0.0.1:9");
    }
}

/// Streaming chat: `POST /v1/messages` with `stream: true`.
pub mod chat {
    use std::io::Read;
    use std::time::Duration;

    use jiff::Timestamp;
    use serde_json::json;

    use super::{HEADER_REQUEST_ID, PATH_MESSAGES, auth_headers, with_headers};
    use crate::auth::credential::Method;
    use crate::auth::secret::Secret;
    use crate::chat::session::ChatMessage;
    use crate::http;
    use crate::providers::anthropic_stream::{Message, MessageAccumulator, StreamError, StreamEvent};
    use crate::providers::api_error::ApiError;
    use crate::providers::retry::{self, Decision, Failure};
    use crate::providers::sse::SseParser;

    /// Bytes asked of the socket per read; each read ends with one flush of the output.
    const READ_BUFFER_BYTES: usize = 16 * 1024;
    const EVENT_STREAM: &str = "text/event-stream";

    pub struct ChatRequest<'a> {
        pub model: &'a str,
        pub system: Option<&'a str>,
        pub messages: &'a [ChatMessage],
        pub max_tokens: u64,
        pub temperature: Option<f64>,
    }

    impl ChatRequest<'_> {
        pub fn body(&self) -> serde_json::Value {
            let mut body = json!({
                "model": self.model,
                "max_tokens": self.max_tokens,
                "stream": true,
                "messages": self.messages,
            });
            if let Some(system) = self.system {
                body["system"] = json!(system);
            }
            if let Some(t) = self.temperature {
                body["temperature"] = json!(t);
            }
            body
        }
    }

    /// Where the stream goes: the terminal renderer, or a test's collector.
    pub trait Sink {
        fn event(&mut self, event: &StreamEvent) -> std::io::Result<()>;
        /// Called after each network read: flush output here, once.
        fn after_read(&mut self) -> std::io::Result<()>;
        /// Called for every HTTP response, including errors (rate-limit headers ride on both).
        fn response_headers(&mut self, headers: &ureq::http::HeaderMap);
        /// A notice for the person (retries), on stderr.
        fn notice(&mut self, text: &str);
        fn cancelled(&self) -> bool;
    }

    #[derive(Debug, thiserror::Error)]
    pub enum ChatError {
        /// An HTTP error answer, after any retries.
        #[error("{}", .error.summary())]
        Api { error: ApiError, headers: Vec<(String, String)>, retries: u32 },
        /// The server could not be reached, after any retries.
        #[error("{reason}")]
        Network { reason: String, retries: u32 },
        /// A 200 whose body is not an event stream (a proxy's page, a misrouted base URL).
        #[error("expected an event stream but got `{0}`\nhint: check the base URL")]
        NotAStream(String),
        /// The stream broke or ended early, or the server sent an error event.
        #[error(transparent)]
        Stream(#[from] StreamError),
        /// The connection dropped or stalled mid-answer.
        #[error("the response was cut off: {0}")]
        Interrupted(String),
        #[error("cancelled")]
        Cancelled,
        /// Writing the answer failed (e.g. stdout closed).
        #[error(transparent)]
        Output(std::io::Error),
    }

    pub struct Target<'a> {
        pub agent: &'a ureq::Agent,
        pub base: &'a str,
        pub method: Method,
        pub secret: &'a Secret<String>,
        pub extra_betas: &'a [String],
        pub extra_headers: &'a [(String, String)],
        pub max_retries: u32,
    }

    /// Sends the request (retrying failures before any output), then streams the answer into `sink`.
    pub fn stream(target: &Target<'_>, request: &ChatRequest<'_>, sink: &mut dyn Sink) -> Result<Message, ChatError> {
        let url = format!("{}{PATH_MESSAGES}", target.base);
        let body = request.body().to_string();
        let mut retries = 0;
        loop {
            tracing::debug!(%url, model = request.model, attempt = retries + 1, "sending chat request");
            let mut req =
                with_headers(target.agent.post(&url), auth_headers(target.method, target.secret, target.extra_betas))
                    .header("content-type", "application/json")
                    .header("accept", EVENT_STREAM);
            for (name, value) in target.extra_headers {
                req = req.header(name.as_str(), value.as_str());
            }
            let failure_wait = match req.send(body.as_bytes()) {
                Err(e) => {
                    let reason = http::describe_error(&e);
                    tracing::debug!(%reason, "chat request failed");
                    match retry::decide(
                        &Failure::Connection,
                        retries,
                        target.max_retries,
                        Timestamp::now(),
                        retry::clock_jitter(),
                    ) {
                        Decision::GiveUp => return Err(ChatError::Network { reason, retries }),
                        Decision::Retry(wait) => (wait, reason),
                    }
                }
                Ok(mut response) => {
                    sink.response_headers(response.headers());
                    let status = response.status().as_u16();
                    tracing::debug!(status, "chat response");
                    if response.status().is_success() {
                        return read_stream(response, sink);
                    }
                    let headers: Vec<(String, String)> =
                        http::header_pairs(response.headers()).map(|(n, v)| (n.to_string(), v.to_string())).collect();
                    let request_id = http::header(response.headers(), HEADER_REQUEST_ID).map(str::to_string);
                    let bytes = http::read_body(&mut response).unwrap_or_default();
                    let error = ApiError::parse(status, &bytes, request_id.as_deref());
                    let failure = Failure::Status { status, headers: &headers };
                    match retry::decide(&failure, retries, target.max_retries, Timestamp::now(), retry::clock_jitter())
                    {
                        Decision::GiveUp => return Err(ChatError::Api { error, headers, retries }),
                        Decision::Retry(wait) => (wait, error.summary()),
                    }
                }
            };
            let (wait, reason) = failure_wait;
            retries += 1;
            sink.notice(&format!(
                "{reason}; retrying in {:.1}s ({retries}/{})",
                wait.as_secs_f64(),
                target.max_retries
            ));
            sleep_unless_cancelled(wait, sink)?;
        }
    }

    fn sleep_unless_cancelled(wait: Duration, sink: &dyn Sink) -> Result<(), ChatError> {
        const TICK: Duration = Duration::from_millis(50);
        let until = std::time::Instant::now() + wait;
        while std::time::Instant::now() < until {
            if sink.cancelled() {
                return Err(ChatError::Cancelled);
            }
            std::thread::sleep(TICK.min(until.saturating_duration_since(std::time::Instant::now())));
        }
        Ok(())
    }

    /// Errors inside the parse callback.
    enum Step {
        Stream(StreamError),
        Output(std::io::Error),
    }

    impl From<crate::providers::sse::SseError> for Step {
        fn from(e: crate::providers::sse::SseError) -> Self {
            Step::Stream(e.into())
        }
    }

    fn read_stream(response: ureq::http::Response<ureq::Body>, sink: &mut dyn Sink) -> Result<Message, ChatError> {
        let content_type = http::header(response.headers(), "content-type").unwrap_or("").to_string();
        if !content_type.to_ascii_lowercase().starts_with(EVENT_STREAM) {
            return Err(ChatError::NotAStream(crate::term::sanitize::sanitize(&content_type).into_owned()));
        }
        let mut reader = response.into_body().into_reader();
        let mut parser = SseParser::new();
        let mut accumulator = MessageAccumulator::new();
        let mut buf = vec![0u8; READ_BUFFER_BYTES];
        loop {
            if sink.cancelled() {
                return Err(ChatError::Cancelled);
            }
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    sink.after_read().map_err(ChatError::Output)?;
                    return Err(ChatError::Interrupted(read_failure(&e)));
                }
            };
            let fed = parser.feed(&buf[..n], |event| match accumulator.push(&event) {
                Ok(Some(e)) => sink.event(&e).map_err(Step::Output),
                Ok(None) => Ok(()),
                Err(e) => Err(Step::Stream(e)),
            });
            let flushed = sink.after_read();
            match fed {
                Err(Step::Stream(e)) => return Err(e.into()),
                Err(Step::Output(e)) => return Err(ChatError::Output(e)),
                Ok(()) => {}
            }
            flushed.map_err(ChatError::Output)?;
            if accumulator.is_complete() {
                break;
            }
        }
        Ok(accumulator.finish()?)
    }

    fn read_failure(e: &std::io::Error) -> String {
        // ureq reports its own timeouts inside an io::Error.
        let ureq_timeout = e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<ureq::Error>())
            .is_some_and(|u| matches!(u, ureq::Error::Timeout(_)));
        match e.kind() {
            _ if ureq_timeout => "no data arrived within the read timeout".into(),
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                "no data arrived within the read timeout".into()
            }
            _ => format!("the connection failed mid-answer ({e})"),
        }
    }
}
