//! Streaming a chat answer, whatever the provider: send the request (retrying failures before any
//! output), then read the body, feeding each network read through the SSE parser into the
//! provider's decoder and flushing the output once per read.
//!
//! A provider contributes two things: the HTTP request ([`HttpRequest`]) and a [`Decoder`] that
//! turns its SSE events into the common [`StreamEvent`]s and final [`Message`].

use std::io::Read;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use ureq::http::HeaderValue;

use super::anthropic_stream::{MessageAccumulator, StreamError};
use super::api_error::ApiError;
use super::message::{ChatMessage, Message, StreamEvent, ToolSpec};
use super::openai_stream::OpenAiAccumulator;
use super::refusal::{self, SubscriptionRefused};
use super::retry::{self, Decision, Failure};
use super::sse::{SseError, SseEvent, SseParser};
use crate::http;

/// Bytes asked of the socket per read; each read ends with one flush of the output.
const READ_BUFFER_BYTES: usize = 16 * 1024;
pub const EVENT_STREAM: &str = "text/event-stream";
const CANCEL_POLL: Duration = Duration::from_millis(50);

/// What the user asked, in provider-neutral terms.
pub struct ChatRequest<'a> {
    pub model: &'a str,
    pub system: Option<&'a str>,
    pub messages: &'a [ChatMessage],
    /// `None`: the provider's default (Anthropic requires one; others may omit it).
    pub max_tokens: Option<u64>,
    pub temperature: Option<f64>,
    /// Tools the model may call, in a stable order; empty for a plain chat.
    pub tools: &'a [ToolSpec],
}

/// A ready-to-send POST.
pub struct HttpRequest {
    pub url: String,
    pub headers: Vec<(String, HeaderValue)>,
    pub body: String,
}

/// Turns one provider's SSE events into the common stream model.
pub trait Decoder {
    fn push<'e>(&mut self, event: &SseEvent<'e>) -> Result<Option<StreamEvent<'e>>, StreamError>;
    /// True once the stream's explicit end arrived; reading stops there.
    fn is_complete(&self) -> bool;
    /// The whole message, or `CutOff` when the stream ended early.
    fn finish(self) -> Result<Message, StreamError>;
}

impl Decoder for MessageAccumulator {
    fn push<'e>(&mut self, event: &SseEvent<'e>) -> Result<Option<StreamEvent<'e>>, StreamError> {
        MessageAccumulator::push(self, event)
    }
    fn is_complete(&self) -> bool {
        MessageAccumulator::is_complete(self)
    }
    fn finish(self) -> Result<Message, StreamError> {
        MessageAccumulator::finish(self)
    }
}

impl Decoder for OpenAiAccumulator {
    fn push<'e>(&mut self, event: &SseEvent<'e>) -> Result<Option<StreamEvent<'e>>, StreamError> {
        OpenAiAccumulator::push(self, event)
    }
    fn is_complete(&self) -> bool {
        OpenAiAccumulator::is_complete(self)
    }
    fn finish(self) -> Result<Message, StreamError> {
        OpenAiAccumulator::finish(self)
    }
}

/// Where the stream goes: the terminal renderer, or a test's collector.
pub trait Sink {
    fn event(&mut self, event: &StreamEvent<'_>) -> std::io::Result<()>;
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
    Network { reason: String, hint: Option<String>, retries: u32 },
    /// A redirect, which pincer never follows with a credential.
    #[error(
        "the server answered HTTP {status}, a redirect to {location}; pincer does not follow redirects, so credentials never go elsewhere\nhint: set the base URL to the final address"
    )]
    Redirected { status: u16, location: String },
    /// The body went past the size limit (an endless or runaway stream).
    #[error(
        "the response passed {0} MiB and was abandoned\nhint: raise [network] max_response_mb in config.toml if this was expected"
    )]
    TooLarge(u64),
    /// The answer took longer than the time limit.
    #[error(
        "the answer took longer than {0} s and was abandoned\nhint: raise [network] max_response_time in config.toml if this was expected"
    )]
    TooSlow(u64),
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
    /// The endpoint needs a credential and none was resolved.
    #[error("no credential for this provider\nhint: run `pincer auth login`")]
    MissingCredential,
    /// Writing the answer failed (e.g. stdout closed).
    #[error(transparent)]
    Output(std::io::Error),
    /// A subscription token refused for its kind (never retried).
    #[error(transparent)]
    Refused(#[from] super::refusal::SubscriptionRefused),
    /// The credential cannot be a header value; nothing was sent.
    #[error(transparent)]
    Unsendable(#[from] super::secret_header::UnsendableCredential),
    /// Claude Code (the `claude-code` provider) failed, or could not run.
    #[error(transparent)]
    ClaudeCode(#[from] super::claude_code::failure::Failure),
}

/// Limits that keep a hostile or broken server from holding pincer forever or filling memory.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_retries: u32,
    /// Bytes of one response body, after which the answer is abandoned as too large.
    pub max_response_bytes: u64,
    /// Time for one whole answer: a server trickling bytes just inside the idle timeout
    /// (slowloris) cannot hold pincer forever.
    pub max_response_time: Duration,
}

/// The defaults are `[network]`'s, so config.toml and the stream loop cannot disagree. 256 MiB of
/// events is about 17 MB of text: far beyond any real answer.
pub use crate::config::{DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_MAX_RESPONSE_TIME};

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_retries: super::retry::DEFAULT_MAX_RETRIES,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_response_time: DEFAULT_MAX_RESPONSE_TIME,
        }
    }
}

/// Sends `request`, retrying failures before any output, then streams the answer into `sink`.
pub fn stream<D: Decoder>(
    agent: &http::Client,
    request: &HttpRequest,
    new_decoder: impl Fn() -> D,
    limits: Limits,
    sink: &mut dyn Sink,
) -> Result<Message, ChatError> {
    let max_retries = limits.max_retries;
    let mut retries = 0;
    loop {
        tracing::debug!(url = %request.url, attempt = retries + 1, "sending chat request");
        let mut req =
            agent.post(&request.url).header("content-type", "application/json").header("accept", EVENT_STREAM);
        for (name, value) in &request.headers {
            req = req.header(name.as_str(), value.clone());
        }
        let (wait, reason) = match req.send(request.body.as_bytes()) {
            Err(e) => {
                let failure = agent.failure(&e);
                tracing::debug!(reason = %failure.reason, "chat request failed");
                let decision = if failure.retry {
                    retry::decide(&Failure::Connection, retries, max_retries, Timestamp::now(), retry::clock_jitter())
                } else {
                    Decision::GiveUp
                };
                match decision {
                    Decision::GiveUp => {
                        return Err(ChatError::Network { reason: failure.reason, hint: failure.hint, retries });
                    }
                    Decision::Retry(wait) => (wait, failure.reason),
                }
            }
            Ok(mut response) => {
                sink.response_headers(response.headers());
                let status = response.status().as_u16();
                tracing::debug!(status, "chat response");
                if response.status().is_success() {
                    return read_stream(response, new_decoder(), limits, sink);
                }
                if response.status().is_redirection() {
                    // Never followed: a credential must not travel to another address.
                    let location = http::header(response.headers(), "location").unwrap_or("(no location)");
                    return Err(ChatError::Redirected {
                        status,
                        location: crate::sanitize::sanitize(location).into_owned(),
                    });
                }
                let headers: Vec<(String, String)> =
                    http::header_pairs(response.headers()).map(|(n, v)| (n.to_string(), v.to_string())).collect();
                let request_id = http::header(response.headers(), "request-id").map(str::to_string);
                let bytes = http::read_body(&mut response).unwrap_or_default();
                let error = ApiError::parse(status, &bytes, request_id.as_deref());
                // A refusal of the token's kind cannot be waited out.
                if let Some(refusal) = refusal::classify(&error) {
                    return Err(SubscriptionRefused { refusal, error }.into());
                }
                let failure = Failure::Status { status, headers: &headers };
                match retry::decide(&failure, retries, max_retries, Timestamp::now(), retry::clock_jitter()) {
                    Decision::GiveUp => return Err(ChatError::Api { error, headers, retries }),
                    Decision::Retry(wait) => (wait, error.summary()),
                }
            }
        };
        retries += 1;
        sink.notice(&format!("{reason}; retrying in {:.1}s ({retries}/{max_retries})", wait.as_secs_f64()));
        sleep_unless_cancelled(wait, sink)?;
    }
}

fn sleep_unless_cancelled(wait: Duration, sink: &dyn Sink) -> Result<(), ChatError> {
    let until = Instant::now() + wait;
    while Instant::now() < until {
        if sink.cancelled() {
            return Err(ChatError::Cancelled);
        }
        std::thread::sleep(CANCEL_POLL.min(until.saturating_duration_since(Instant::now())));
    }
    Ok(())
}

/// Errors inside the parse callback.
enum Step {
    Stream(StreamError),
    Output(std::io::Error),
}

impl From<SseError> for Step {
    fn from(e: SseError) -> Self {
        Step::Stream(e.into())
    }
}

fn read_stream<D: Decoder>(
    response: ureq::http::Response<ureq::Body>,
    mut decoder: D,
    limits: Limits,
    sink: &mut dyn Sink,
) -> Result<Message, ChatError> {
    let started = Instant::now();
    let content_type = http::header(response.headers(), "content-type").unwrap_or("").to_string();
    if !content_type.to_ascii_lowercase().starts_with(EVENT_STREAM) {
        return Err(ChatError::NotAStream(crate::sanitize::sanitize(&content_type).into_owned()));
    }
    // ureq's own body limit (10 MB by default) is for whole bodies; a stream is bounded here.
    let mut reader = response.into_body().into_with_config().limit(u64::MAX).reader();
    let mut parser = SseParser::new();
    let mut buf = vec![0u8; READ_BUFFER_BYTES];
    let mut total: u64 = 0;
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
        total += n as u64;
        if total > limits.max_response_bytes {
            sink.after_read().map_err(ChatError::Output)?;
            return Err(ChatError::TooLarge(limits.max_response_bytes / (1024 * 1024)));
        }
        if started.elapsed() > limits.max_response_time {
            sink.after_read().map_err(ChatError::Output)?;
            return Err(ChatError::TooSlow(limits.max_response_time.as_secs()));
        }
        let fed = parser.feed(&buf[..n], |event| match decoder.push(&event) {
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
        if decoder.is_complete() {
            break;
        }
    }
    Ok(decoder.finish()?)
}

fn read_failure(e: &std::io::Error) -> String {
    // ureq reports its own timeouts inside an io::Error.
    let ureq_timeout = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<ureq::Error>())
        .is_some_and(|u| matches!(u, ureq::Error::Timeout(_)));
    if ureq_timeout || matches!(e.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) {
        "no data arrived within the read timeout".into()
    } else {
        format!("the connection failed mid-answer ({e})")
    }
}
