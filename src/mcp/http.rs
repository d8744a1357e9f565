//! The streamable HTTP transport.
//!
//! Every message is its own POST (`Accept: application/json, text/event-stream`); a request's
//! answer is one JSON body or an event stream carrying notifications, server requests and
//! finally the response. Legacy revisions add a session (`Mcp-Session-Id`, ended with DELETE),
//! the `MCP-Protocol-Version` header after the handshake, a GET stream for messages the server
//! sends unasked, and resumption: a stream that ends before its response is picked up again
//! with GET and `Last-Event-ID`, after the `retry` delay the server asked for. The modern
//! revision (2026-07-28) has none of those, and mirrors each request's method and name into
//! `Mcp-Method` / `Mcp-Name` headers instead.
//!
//! Sign-in (SPEC §11) plugs in through [`AuthProvider`]: its header goes on every request, and
//! a 401/403 comes back as `Failure::Unauthorized` with the `WWW-Authenticate` header, so the
//! OAuth layer can read `resource_metadata` and `scope` from it.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::client::{Failure, Inbox, Outgoing, Transport, lock};
use super::protocol::{Era, MODERN_REVISION};
use super::stdio::MAX_MESSAGE_BYTES;
use crate::providers::sse::{SseError, SseParser};
use crate::secret::Secret;

const ACCEPT_POST: &str = "application/json, text/event-stream";
const ACCEPT_SSE: &str = "text/event-stream";
const CONTENT_JSON: &str = "application/json";
const HEADER_SESSION: &str = "mcp-session-id";
const HEADER_PROTOCOL_VERSION: &str = "mcp-protocol-version";
const HEADER_LAST_EVENT_ID: &str = "last-event-id";
const HEADER_WWW_AUTHENTICATE: &str = "www-authenticate";
/// Wait before reconnecting when the server sent no `retry` field.
const DEFAULT_RETRY: Duration = Duration::from_secs(1);
/// The longest `retry` honoured (a server asking for an hour would stall the call).
const MAX_RETRY: Duration = Duration::from_secs(30);
/// Reconnections of one stream without any new event before giving up.
const MAX_RESUMES: usize = 5;
/// How long the handshake waits for the server's own stream to open: a server may send an
/// elicitation there during the very next call, and would wait forever if nobody listened.
const LISTEN_WAIT: Duration = Duration::from_secs(2);
const READ_CHUNK: usize = 8 * 1024;

/// The longest run of refusals one message lives through: a refresh, a step-up, and one more
/// try with what they gave. The provider bounds its own sign-ins as well.
const MAX_AUTH_ROUNDS: usize = 3;

/// Supplies the `Authorization` header for a server (OAuth tokens, SPEC §11).
pub trait AuthProvider: Send + Sync {
    /// The header's whole value (`Bearer …`), or `None` to send none.
    fn authorization(&self) -> Option<Secret<String>>;

    /// The server refused a request sent with `sent` (HTTP 401 or 403): whether sending it
    /// again (with a renewed token) may help, or what the person should do.
    fn refused(&self, sent: Option<&Secret<String>>, status: u16, www_authenticate: Option<&str>) -> Retry {
        let _ = (sent, status, www_authenticate);
        Retry::No { advice: None }
    }
}

/// An [`AuthProvider`]'s answer to a refusal.
#[derive(Debug, Clone, PartialEq)]
pub enum Retry {
    /// Send the request again: the header has changed.
    Yes,
    /// Give up; `advice` says what to do (`run pincer auth login --mcp NAME`).
    No { advice: Option<String> },
}

pub struct HttpSpec {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub auth: Option<Arc<dyn AuthProvider>>,
}

#[derive(Default)]
struct State {
    era: Option<Era>,
    revision: Option<String>,
    session: Option<String>,
}

struct Shared {
    spec: HttpSpec,
    agent: crate::http::Client,
    inbox: Arc<Inbox>,
    state: Mutex<State>,
    closed: AtomicBool,
}

pub(crate) struct HttpTransport {
    shared: Arc<Shared>,
}

impl HttpTransport {
    pub fn new(spec: HttpSpec, agent: crate::http::Client, inbox: Arc<Inbox>) -> HttpTransport {
        HttpTransport {
            shared: Arc::new(Shared {
                spec,
                agent,
                inbox,
                // The first message is the modern probe, which must carry its revision header.
                state: Mutex::new(State {
                    era: Some(Era::Modern),
                    revision: Some(MODERN_REVISION.to_string()),
                    session: None,
                }),
                closed: AtomicBool::new(false),
            }),
        }
    }
}

/// What one HTTP exchange gave.
enum Answer {
    /// 202, or a JSON body that was delivered.
    Done,
    /// An event stream that ended; `resume` holds the last event id and the retry delay.
    StreamEnded { last_event_id: String, retry: Option<Duration> },
}

impl Shared {
    fn common_headers(
        &self,
        req: ureq::RequestBuilder<ureq::typestate::WithBody>,
        token: Option<&Secret<String>>,
    ) -> ureq::RequestBuilder<ureq::typestate::WithBody> {
        let mut req = req;
        for (k, v) in &self.spec.headers {
            req = req.header(k, v);
        }
        let state = lock(&self.state);
        if let Some(revision) = &state.revision {
            req = req.header(HEADER_PROTOCOL_VERSION, revision);
        }
        if let Some(session) = &state.session {
            req = req.header(HEADER_SESSION, session);
        }
        drop(state);
        if let Some(value) = token.and_then(sensitive_header) {
            req = req.header("authorization", value);
        }
        req
    }

    fn without_body_headers(
        &self,
        mut req: ureq::RequestBuilder<ureq::typestate::WithoutBody>,
    ) -> ureq::RequestBuilder<ureq::typestate::WithoutBody> {
        for (k, v) in &self.spec.headers {
            req = req.header(k, v);
        }
        let state = lock(&self.state);
        if let Some(revision) = &state.revision {
            req = req.header(HEADER_PROTOCOL_VERSION, revision);
        }
        if let Some(session) = &state.session {
            req = req.header(HEADER_SESSION, session);
        }
        drop(state);
        if let Some(value) = self.spec.auth.as_ref().and_then(|a| a.authorization()).and_then(|t| sensitive_header(&t))
        {
            req = req.header("authorization", value);
        }
        req
    }

    /// POSTs one message. A refusal goes to the [`AuthProvider`], which may renew the token
    /// (a refresh, a step-up sign-in) and have the message sent again.
    fn post(&self, out: &Outgoing) -> Result<Answer, Failure> {
        let body = out.message.to_string();
        let mut round = 0;
        loop {
            let token = self.spec.auth.as_ref().and_then(|a| a.authorization());
            let mut req = self
                .common_headers(self.agent.post(&self.spec.url), token.as_ref())
                .header("accept", ACCEPT_POST)
                .header("content-type", CONTENT_JSON);
            for (k, v) in &out.headers {
                req = req.header(k, v);
            }
            let response = req.send(body.as_bytes()).map_err(|e| transport_failure(&e))?;
            match self.read_answer(response, out.id) {
                Err(Failure::Unauthorized { status, www_authenticate, .. }) => {
                    round += 1;
                    let retry = match &self.spec.auth {
                        Some(auth) if round < MAX_AUTH_ROUNDS => {
                            auth.refused(token.as_ref(), status, www_authenticate.as_deref())
                        }
                        _ => Retry::No { advice: None },
                    };
                    match retry {
                        Retry::Yes => continue,
                        Retry::No { advice } => return Err(Failure::Unauthorized { status, www_authenticate, advice }),
                    }
                }
                other => return other,
            }
        }
    }

    /// GET: the server's own stream (`last_event_id` empty) or the resumption of one.
    fn get(&self, last_event_id: &str, post_id: Option<u64>) -> Result<Answer, Failure> {
        let response = self.get_request(last_event_id).call().map_err(|e| transport_failure(&e))?;
        self.read_answer(response, post_id)
    }

    fn get_request(&self, last_event_id: &str) -> ureq::RequestBuilder<ureq::typestate::WithoutBody> {
        let mut req = self.without_body_headers(self.agent.get(&self.spec.url)).header("accept", ACCEPT_SSE);
        if !last_event_id.is_empty() {
            req = req.header(HEADER_LAST_EVENT_ID, last_event_id);
        }
        req
    }

    /// A GET of the server's own stream that says (once) when its status is known.
    fn get_notifying(&self, last_event_id: &str, opened: &std::sync::mpsc::Sender<()>) -> Result<Answer, Failure> {
        let response = self.get_request(last_event_id).call();
        let _ = opened.send(());
        self.read_answer(response.map_err(|e| transport_failure(&e))?, None)
    }

    fn read_answer(
        &self,
        mut response: ureq::http::Response<ureq::Body>,
        post_id: Option<u64>,
    ) -> Result<Answer, Failure> {
        let status = response.status().as_u16();
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        if let Some(session) = header(HEADER_SESSION) {
            let mut state = lock(&self.state);
            if state.session.is_none() {
                state.session = Some(session);
            }
        }
        if status == 401 || status == 403 {
            return Err(Failure::Unauthorized {
                status,
                www_authenticate: header(HEADER_WWW_AUTHENTICATE),
                advice: None,
            });
        }
        let content_type = header("content-type").unwrap_or_default().to_ascii_lowercase();
        if status == 202 || status == 204 {
            return Ok(Answer::Done);
        }
        if !(200..300).contains(&status) {
            let body = read_capped(&mut response).unwrap_or_default();
            let text = String::from_utf8_lossy(&body);
            // A JSON-RPC error body says more than the status does.
            if let Some(super::jsonrpc::Incoming::Response { outcome: Err(e), .. }) =
                super::jsonrpc::parse(&text).into_iter().next()
            {
                return Err(Failure::Rpc(e));
            }
            if status == 404 && lock(&self.state).session.is_some() {
                return Err(Failure::Closed("the server ended the session (HTTP 404)".into()));
            }
            return Err(Failure::Http { status, body: text.into_owned() });
        }
        if content_type.starts_with(ACCEPT_SSE) {
            return self.read_stream(response, post_id);
        }
        let body = read_capped(&mut response).map_err(|e| Failure::Closed(format!("cannot read the answer: {e}")))?;
        if body.len() > MAX_MESSAGE_BYTES {
            return Err(Failure::Closed(format!(
                "the server sent an answer larger than {} MiB",
                MAX_MESSAGE_BYTES >> 20
            )));
        }
        let text = String::from_utf8_lossy(&body);
        if !text.trim().is_empty() {
            self.inbox.deliver_text(&text, post_id);
        }
        Ok(Answer::Done)
    }

    fn read_stream(
        &self,
        mut response: ureq::http::Response<ureq::Body>,
        post_id: Option<u64>,
    ) -> Result<Answer, Failure> {
        let mut parser = SseParser::with_max_line_bytes(MAX_MESSAGE_BYTES);
        let mut reader = response.body_mut().as_reader();
        let mut chunk = vec![0u8; READ_CHUNK];
        loop {
            // A cancelled (or timed-out) request is no longer pending: stop reading, which
            // closes the stream (the modern era's cancellation signal).
            if post_id.is_some_and(|id| !self.inbox.is_pending(id)) || self.closed.load(Ordering::SeqCst) {
                return Ok(Answer::Done);
            }
            let n = match reader.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                // A broken stream is resumable like a closed one.
                Err(_) => break,
            };
            let fed = parser.feed(&chunk[..n], |event| -> Result<(), SseError> {
                if event.event == "message" && !event.data.trim().is_empty() {
                    self.inbox.deliver_text(event.data, post_id);
                }
                Ok(())
            });
            if let Err(e) = fed {
                return Err(Failure::Closed(format!("the server's event stream broke: {e}")));
            }
        }
        let retry = parser.retry_ms().map(Duration::from_millis);
        Ok(Answer::StreamEnded { last_event_id: parser.last_event_id().to_string(), retry })
    }

    /// Sends one message and follows its answer to the end, resuming as the legacy era allows.
    fn exchange(self: &Arc<Self>, out: Outgoing) {
        let id = out.id;
        let mut answer = self.post(&out);
        let mut resumes = 0;
        loop {
            match answer {
                Err(f) => {
                    if let Some(id) = id {
                        self.inbox.complete(id, Err(f));
                    }
                    return;
                }
                Ok(Answer::Done) => break,
                Ok(Answer::StreamEnded { last_event_id, retry }) => {
                    let Some(id) = id.filter(|id| self.inbox.is_pending(*id)) else { break };
                    let legacy = lock(&self.state).era == Some(Era::Legacy);
                    if !legacy
                        || last_event_id.is_empty()
                        || resumes == MAX_RESUMES
                        || self.closed.load(Ordering::SeqCst)
                    {
                        // 2026-07-28: a broken stream loses the request.
                        self.inbox.complete(
                            id,
                            Err(Failure::Closed("the server closed the response stream without answering".into())),
                        );
                        return;
                    }
                    resumes += 1;
                    std::thread::sleep(retry.unwrap_or(DEFAULT_RETRY).min(MAX_RETRY));
                    answer = self.get(&last_event_id, Some(id));
                }
            }
        }
        if let Some(id) = id.filter(|id| self.inbox.is_pending(*id)) {
            // A JSON body that was not our response, or a stream that ended cleanly without it.
            self.inbox
                .complete(id, Err(Failure::Closed("the server answered without a response to the request".into())));
        }
    }

    /// The server's own stream (legacy era): messages it sends unasked (list changes, requests
    /// such as elicitation), reconnecting after `retry` until pincer closes the connection.
    fn listen(self: &Arc<Self>, opened: std::sync::mpsc::Sender<()>) {
        let mut last_event_id = String::new();
        let mut failures = 0;
        while !self.closed.load(Ordering::SeqCst) {
            let answer = self.get_notifying(&last_event_id, &opened);
            match answer {
                Ok(Answer::StreamEnded { last_event_id: id, retry }) => {
                    if !id.is_empty() {
                        last_event_id = id;
                    }
                    failures = 0;
                    std::thread::sleep(retry.unwrap_or(DEFAULT_RETRY).min(MAX_RETRY));
                }
                Ok(Answer::Done) => return,
                // 405 (the server offers no such stream) or another refusal: nothing to listen to.
                Err(Failure::Http { .. } | Failure::Rpc(_) | Failure::Unauthorized { .. }) => return,
                Err(f) => {
                    failures += 1;
                    if failures > MAX_RESUMES {
                        tracing::info!(server = %self.inbox.name, "gave up the server's event stream: {f:?}");
                        return;
                    }
                    std::thread::sleep(DEFAULT_RETRY * failures as u32);
                }
            }
        }
    }
}

/// The `Authorization` value, marked sensitive so the HTTP stack never logs it; `None` (and a
/// warning) for a value no header can carry, which is then not sent at all.
fn sensitive_header(token: &Secret<String>) -> Option<ureq::http::HeaderValue> {
    match crate::providers::secret_header::sensitive(token.expose()) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!("not sending the Authorization header: {e}");
            None
        }
    }
}

fn read_capped(response: &mut ureq::http::Response<ureq::Body>) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    response.body_mut().as_reader().take(MAX_MESSAGE_BYTES as u64 + 1).read_to_end(&mut body)?;
    Ok(body)
}

fn transport_failure(e: &ureq::Error) -> Failure {
    Failure::Closed(format!("cannot reach the server: {}", crate::http::describe_error(e)))
}

impl Transport for HttpTransport {
    fn send(&self, out: Outgoing) -> Result<(), Failure> {
        if self.shared.closed.load(Ordering::SeqCst) {
            return Err(Failure::Closed("the connection was closed".into()));
        }
        if out.id.is_some() {
            // A request: its answer is read on a thread of its own, so the caller can wait
            // with a deadline, cancel, and see other answers meanwhile.
            let shared = Arc::clone(&self.shared);
            std::thread::spawn(move || shared.exchange(out));
            return Ok(());
        }
        // A notification or a response: the server acknowledges it at once (202).
        match self.shared.post(&out) {
            Ok(_) => Ok(()),
            Err(f) => Err(f),
        }
    }

    fn set_revision(&self, era: Era, revision: &str) {
        let mut state = lock(&self.shared.state);
        state.era = Some(era);
        state.revision = Some(revision.to_string());
    }

    fn ready(&self) {
        // The GET stream exists only before 2026-07-28, and only with a session to listen to.
        let listen = {
            let state = lock(&self.shared.state);
            state.era == Some(Era::Legacy) && state.session.is_some()
        };
        if listen {
            let shared = Arc::clone(&self.shared);
            let (opened, is_open) = std::sync::mpsc::channel();
            std::thread::spawn(move || shared.listen(opened));
            let _ = is_open.recv_timeout(LISTEN_WAIT);
        }
    }

    fn cancel_by_notification(&self) -> bool {
        lock(&self.shared.state).era == Some(Era::Legacy)
    }

    fn close(&self) {
        if self.shared.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        let session = lock(&self.shared.state).session.clone();
        if session.is_some() {
            // Ends the session; 405 (the server does not allow it) is fine.
            let req = self.shared.without_body_headers(self.shared.agent.delete(&self.shared.spec.url));
            if let Err(e) = req.call() {
                tracing::debug!(server = %self.shared.inbox.name, "DELETE of the session failed: {e}");
            }
        }
        self.shared.inbox.close("the connection was closed");
    }
}
