//! One connection to one MCP server: requests and their answers, whatever the transport.
//!
//! A transport (stdio or HTTP) only moves messages. Everything a server sends lands in the
//! connection's [`Inbox`], from whichever thread read it: responses are matched to waiting
//! requests by id (so answers may come in any order, with notifications between them),
//! server-to-client requests are always answered (each on its own thread, so a slow elicitation
//! never stops the reading), and when the connection dies every waiting request learns why at
//! once. A caller waits with a deadline and a cancel token, so no server can make pincer hang.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::elicit::{ElicitRequest, Elicitor};
use super::jsonrpc::{self, Incoming, RpcError};
use super::protocol::{self, Era};
use crate::cancel::CancelToken;
use crate::sanitize::sanitize;

/// How often a waiting request looks at its cancel token.
const CANCEL_POLL: Duration = Duration::from_millis(25);
/// Lines of a server's stderr kept to explain a failure.
const STDERR_TAIL_LINES: usize = 3;
/// The longest piece of server text quoted in an error.
const QUOTE_BYTES: usize = 200;
/// Rounds of "input required" answered for one call before giving up (a server that keeps
/// asking would otherwise loop forever).
const MAX_INPUT_ROUNDS: usize = 8;
/// Methods that may answer with an interim `input_required` result (2026-07-28 MRTR).
const MRTR_METHODS: [&str; 3] = ["tools/call", "prompts/get", "resources/read"];

/// Why a request got no result.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum McpError {
    #[error("{method}: {error}")]
    Rpc { method: String, error: RpcError },
    #[error("{method}: no answer within {}", seconds(*timeout))]
    Timeout { method: String, timeout: Duration },
    #[error("cancelled")]
    Cancelled,
    /// The connection is gone (the process exited, the stream broke, garbage was sent).
    #[error("{0}")]
    Closed(String),
    /// HTTP 401/403: the OAuth layer (SPEC §11) reads `www_authenticate` to sign in, and says
    /// in `advice` what the person can do about it.
    #[error("{}", unauthorized_text(*status, www_authenticate.as_deref(), advice.as_deref()))]
    Unauthorized { status: u16, www_authenticate: Option<String>, advice: Option<String> },
    #[error("{0}")]
    Transport(String),
    #[error("{0}")]
    Protocol(String),
}

/// A refusal for people: the advice when there is one (it knows more than the header), else
/// the header as the server sent it.
fn unauthorized_text(status: u16, www_authenticate: Option<&str>, advice: Option<&str>) -> String {
    match (advice, www_authenticate) {
        (Some(advice), _) => format!("{} (HTTP {status})", sanitize(advice)),
        (None, Some(w)) => format!("the server refused the request (HTTP {status}): {}", sanitize(w)),
        (None, None) => format!("the server refused the request (HTTP {status})"),
    }
}

/// `2 s`, `0.5 s`: a timeout as people set it.
fn seconds(d: Duration) -> String {
    let text = format!("{:.1}", d.as_secs_f64());
    format!("{} s", text.strip_suffix(".0").unwrap_or(&text))
}

/// A failure delivered to a waiting request.
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    Rpc(RpcError),
    Unauthorized {
        status: u16,
        www_authenticate: Option<String>,
        advice: Option<String>,
    },
    /// An HTTP error status without a JSON-RPC body.
    Http {
        status: u16,
        body: String,
    },
    Closed(String),
}

pub(crate) type Reply = Result<Value, Failure>;

/// A message to send, with the HTTP headers the modern era mirrors from its body.
pub(crate) struct Outgoing {
    /// `Some` for a request: its answer is awaited.
    pub id: Option<u64>,
    pub message: Value,
    pub headers: Vec<(String, String)>,
}

/// Moves messages to a server; what comes back goes to the [`Inbox`] it was built with.
pub(crate) trait Transport: Send + Sync {
    fn send(&self, out: Outgoing) -> Result<(), Failure>;
    /// After the handshake: the era and revision every later message is sent under.
    fn set_revision(&self, era: Era, revision: &str);
    /// The handshake is complete (HTTP opens the server's own stream here).
    fn ready(&self) {}
    /// True when cancelling means sending `notifications/cancelled` (stdio, and HTTP before
    /// 2026-07-28); a modern HTTP request is cancelled by closing its stream.
    fn cancel_by_notification(&self) -> bool;
    /// Ends the connection: kill the process, delete the session.
    fn close(&self);
}

/// What answers a server's own questions.
pub struct ServerRequests {
    pub elicitor: Arc<dyn Elicitor>,
    /// Folders the server may work in (`roots/list`): the workspace.
    pub roots: Vec<PathBuf>,
}

/// Everything that arrives from one server.
pub(crate) struct Inbox {
    pub name: String,
    pending: Mutex<HashMap<u64, Sender<Reply>>>,
    progress: Mutex<HashMap<u64, Sender<String>>>,
    closed: Mutex<Option<String>>,
    tools_changed: AtomicBool,
    stderr_tail: Mutex<VecDeque<String>>,
    noise: Mutex<Option<String>>,
    answers: ServerRequests,
    transport: OnceLock<Weak<dyn Transport>>,
}

impl Inbox {
    pub fn new(name: &str, answers: ServerRequests) -> Arc<Inbox> {
        Arc::new(Inbox {
            name: name.to_string(),
            pending: Mutex::default(),
            progress: Mutex::default(),
            closed: Mutex::default(),
            tools_changed: AtomicBool::new(false),
            stderr_tail: Mutex::default(),
            noise: Mutex::default(),
            answers,
            transport: OnceLock::new(),
        })
    }

    pub fn attach(&self, transport: &Arc<dyn Transport>) {
        let _ = self.transport.set(Arc::downgrade(transport));
    }

    fn register(&self, id: u64) -> Receiver<Reply> {
        let (tx, rx) = mpsc::channel();
        lock(&self.pending).insert(id, tx);
        rx
    }

    pub fn is_pending(&self, id: u64) -> bool {
        lock(&self.pending).contains_key(&id)
    }

    /// Ends a request with `reply` (the first reply wins; later ones are dropped).
    pub fn complete(&self, id: u64, reply: Reply) {
        if let Some(tx) = lock(&self.pending).remove(&id) {
            let _ = tx.send(reply);
        }
    }

    fn forget(&self, id: u64) {
        lock(&self.pending).remove(&id);
        lock(&self.progress).remove(&id);
    }

    /// The connection is gone: every waiting request fails with `reason`, and so does every
    /// later one. The first reason is kept (it is the cause; later ones are consequences).
    pub fn close(&self, reason: &str) {
        let reason = {
            let mut closed = lock(&self.closed);
            closed.get_or_insert_with(|| reason.to_string()).clone()
        };
        for (_, tx) in lock(&self.pending).drain() {
            let _ = tx.send(Err(Failure::Closed(reason.clone())));
        }
    }

    pub fn closed_reason(&self) -> Option<String> {
        lock(&self.closed).clone()
    }

    pub fn mark_tools_changed(&self) {
        self.tools_changed.store(true, Ordering::SeqCst);
    }

    pub fn take_tools_changed(&self) -> bool {
        self.tools_changed.swap(false, Ordering::SeqCst)
    }

    pub fn stderr_line(&self, line: &str) {
        tracing::info!(target: "pincer::mcp::stderr", server = %self.name, "{}", sanitize(line));
        let mut tail = lock(&self.stderr_tail);
        if tail.len() == STDERR_TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(quote(line));
    }

    /// The server's last stderr lines, for an error message (`""` when it said nothing).
    pub fn stderr_tail(&self) -> String {
        let tail = lock(&self.stderr_tail);
        if tail.is_empty() {
            String::new()
        } else {
            format!(" (its stderr: {})", tail.iter().cloned().collect::<Vec<_>>().join(" | "))
        }
    }

    /// Takes one framed message. `post_id` is the id of the HTTP request whose response body
    /// carried it, so an error without an id can still be matched.
    pub fn deliver_text(self: &Arc<Self>, text: &str, post_id: Option<u64>) {
        for message in jsonrpc::parse(text) {
            self.deliver(message, post_id);
        }
    }

    pub fn deliver(self: &Arc<Self>, message: Incoming, post_id: Option<u64>) {
        match message {
            Incoming::Response { id, outcome } => {
                let id = jsonrpc::own_id(&id).or(if id.is_null() { post_id } else { None });
                match id {
                    Some(id) => self.complete(id, outcome.map_err(Failure::Rpc)),
                    None => tracing::warn!(server = %self.name, "a response to no request of ours"),
                }
            }
            Incoming::Notification { method, params } => self.notification(&method, &params),
            Incoming::Request { id, method, params } => {
                let inbox = Arc::clone(self);
                // Answered on a thread of its own: an elicitation may wait for a person, and
                // the reader must go on reading meanwhile.
                std::thread::spawn(move || inbox.answer(id, &method, &params));
            }
            Incoming::Invalid(why) => {
                tracing::warn!(server = %self.name, "ignored a message that is not JSON-RPC: {why}");
                *lock(&self.noise) = Some(why);
            }
        }
    }

    fn notification(&self, method: &str, params: &Value) {
        match method {
            "notifications/progress" => {
                let token = params.get("progressToken").and_then(Value::as_u64);
                if let Some(tx) = token.and_then(|t| lock(&self.progress).get(&t).cloned()) {
                    let _ = tx.send(progress_text(params));
                }
            }
            "notifications/tools/list_changed" => self.tools_changed.store(true, Ordering::SeqCst),
            "notifications/message" => {
                let level = params.get("level").and_then(Value::as_str).unwrap_or("info");
                let data = params.get("data").map(|d| d.as_str().map(str::to_string).unwrap_or_else(|| d.to_string()));
                let text = sanitize(&data.unwrap_or_default()).into_owned();
                match level {
                    "debug" => tracing::debug!(target: "pincer::mcp::log", server = %self.name, "{text}"),
                    "info" | "notice" => tracing::info!(target: "pincer::mcp::log", server = %self.name, "{text}"),
                    _ => tracing::warn!(target: "pincer::mcp::log", server = %self.name, level, "{text}"),
                }
            }
            other => tracing::debug!(server = %self.name, "notification {other}"),
        }
    }

    /// Answers a server-to-client request (legacy era). Never leaves one unanswered.
    fn answer(&self, id: Value, method: &str, params: &Value) {
        let response = match self.answer_one(method, params) {
            Ok(result) => jsonrpc::result_response(&id, result),
            Err((code, message)) => jsonrpc::error_response(&id, code, &message),
        };
        let Some(transport) = self.transport.get().and_then(Weak::upgrade) else { return };
        if let Err(e) = transport.send(Outgoing { id: None, message: response, headers: Vec::new() }) {
            // Usually a question that came as pincer was closing the connection.
            tracing::debug!(server = %self.name, "could not answer the server's {method}: {e:?}");
        }
    }

    /// The result for one server question, or a JSON-RPC error (code, message).
    pub fn answer_one(&self, method: &str, params: &Value) -> Result<Value, (i64, String)> {
        match method {
            "ping" => Ok(json!({})),
            "roots/list" => Ok(json!({"roots": self.answers.roots.iter().map(|p| json!({
                "uri": file_uri(p),
                "name": p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "/".into()),
            })).collect::<Vec<_>>()})),
            "elicitation/create" => {
                let request = ElicitRequest::from_params(params);
                Ok(self.answers.elicitor.elicit(&self.name, &request).to_result())
            }
            "sampling/createMessage" => {
                Err((jsonrpc::METHOD_NOT_FOUND, "pincer does not offer sampling to MCP servers".into()))
            }
            other => Err((jsonrpc::METHOD_NOT_FOUND, format!("pincer does not handle {other}"))),
        }
    }

    fn noise(&self) -> Option<String> {
        lock(&self.noise).clone()
    }
}

fn progress_text(params: &Value) -> String {
    let message = params.get("message").and_then(Value::as_str).map(|m| sanitize(m).into_owned());
    let progress = params.get("progress").and_then(Value::as_f64);
    let total = params.get("total").and_then(Value::as_f64);
    let figures = match (progress, total) {
        (Some(p), Some(t)) if t > 0.0 => Some(format!("{p}/{t}")),
        (Some(p), _) => Some(format!("{p}")),
        _ => None,
    };
    match (message, figures) {
        (Some(m), Some(f)) => format!("{m} ({f})"),
        (Some(m), None) => m,
        (None, Some(f)) => f,
        (None, None) => String::new(),
    }
}

/// `file:///a/b%20c`: bytes outside the unreserved set (and `/`) are percent-encoded.
/// Windows: `C:\a` (or `\\?\C:\a`) is `file:///C:/a`, as RFC 8089 writes a drive letter.
pub fn file_uri(path: &std::path::Path) -> String {
    #[cfg(unix)]
    let (bytes, kept): (&[u8], &[u8]) = (std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()), b"/-._~");
    #[cfg(windows)]
    let windows_path = windows_uri_path(&path.to_string_lossy());
    #[cfg(windows)]
    let (bytes, kept): (&[u8], &[u8]) = (windows_path.as_bytes(), b"/-._~:");
    let mut uri = String::from("file://");
    for &b in bytes {
        if b.is_ascii_alphanumeric() || kept.contains(&b) {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri
}

/// The path of a Windows path's file URI, with `/` for `\`: `C:\a` and `\\?\C:\a` are `/C:/a`; a
/// share (`\\server\share`, `\\?\UNC\server\share`) is `//server/share` (`file:////server/share`).
#[cfg(any(windows, test))]
fn windows_uri_path(path: &str) -> String {
    let text = path.replace('\\', "/");
    text.strip_prefix("//?/UNC/")
        .map(|share| format!("//{share}"))
        .or_else(|| text.strip_prefix("//?/").map(|local| format!("/{local}")))
        .unwrap_or_else(|| if text.starts_with("//") { text.clone() } else { format!("/{text}") })
}

/// Untrusted server text, short and terminal-safe, for error messages.
pub(crate) fn quote(text: &str) -> String {
    let text = text.trim();
    let mut end = text.len().min(QUOTE_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let cut = if end < text.len() { "…" } else { "" };
    format!("{}{cut}", sanitize(&text[..end]))
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How one request waits.
pub struct CallOptions<'a> {
    pub timeout: Duration,
    pub cancel: Option<&'a CancelToken>,
    /// Receives progress notifications' text (from the waiting thread).
    pub progress: Option<&'a (dyn Fn(&str) + Sync)>,
}

impl CallOptions<'_> {
    pub fn timeout(timeout: Duration) -> CallOptions<'static> {
        CallOptions { timeout, cancel: None, progress: None }
    }
}

/// A live connection after the handshake.
pub struct Client {
    pub(crate) inbox: Arc<Inbox>,
    transport: Arc<dyn Transport>,
    next_id: AtomicU64,
    era: Mutex<Era>,
    revision: Mutex<String>,
    /// The server's `serverInfo` (self-reported; for display only).
    pub(crate) server_info: Mutex<Option<Value>>,
    pub(crate) instructions: Mutex<Option<String>>,
    /// Over HTTP, `x-mcp-header` arguments are mirrored into `Mcp-Param-*` headers.
    http: bool,
    param_headers: Mutex<HashMap<String, Vec<protocol::ParamHeader>>>,
}

impl Client {
    #[cfg(test)]
    pub(crate) fn new(inbox: Arc<Inbox>, transport: Arc<dyn Transport>) -> Client {
        Self::with_kind(inbox, transport, false)
    }

    pub(crate) fn with_kind(inbox: Arc<Inbox>, transport: Arc<dyn Transport>, http: bool) -> Client {
        inbox.attach(&transport);
        Client {
            inbox,
            transport,
            next_id: AtomicU64::new(1),
            era: Mutex::new(Era::Modern),
            revision: Mutex::new(protocol::MODERN_REVISION.to_string()),
            server_info: Mutex::default(),
            instructions: Mutex::default(),
            http,
            param_headers: Mutex::default(),
        }
    }

    pub fn name(&self) -> &str {
        &self.inbox.name
    }

    pub fn era(&self) -> Era {
        *lock(&self.era)
    }

    /// The agreed protocol revision (`2026-07-28`, `2025-11-25`, …).
    pub fn revision(&self) -> String {
        lock(&self.revision).clone()
    }

    pub fn tools_changed(&self) -> bool {
        self.inbox.take_tools_changed()
    }

    pub(crate) fn set_revision(&self, era: Era, revision: &str) {
        *lock(&self.era) = era;
        *lock(&self.revision) = revision.to_string();
        self.transport.set_revision(era, revision);
    }

    /// Why the connection is gone, if it is.
    pub fn closed_reason(&self) -> Option<String> {
        self.inbox.closed_reason()
    }

    /// The handshake: `server/discover`, else `initialize` with the legacy revisions.
    /// `deadline` bounds the whole of it; `probe_timeout` bounds the probe alone (a legacy
    /// server may never answer a method it does not know).
    pub(crate) fn handshake(&self, deadline: Instant, probe_timeout: Duration) -> Result<(), McpError> {
        let total = deadline.saturating_duration_since(Instant::now());
        // Half the budget at most, so a server that ignores the probe can still be initialized.
        let probe_timeout = probe_timeout.min(total / 2);
        let outcome = self.handshake_within(deadline, probe_timeout);
        match outcome {
            Err(McpError::Timeout { method, .. }) => Err(McpError::Timeout { method, timeout: total }),
            other => other,
        }
    }

    fn handshake_within(&self, deadline: Instant, probe_timeout: Duration) -> Result<(), McpError> {
        let probe = self.raw_request(
            "server/discover",
            protocol::with_modern_meta(json!({})),
            &CallOptions::timeout(probe_timeout),
            true,
        );
        let probe = match probe {
            Ok(v) => Some(Ok(v)),
            Err(McpError::Rpc { error, .. }) => Some(Err(error)),
            Err(McpError::Timeout { .. }) => None,
            Err(McpError::Transport(why)) if why.starts_with(LEGACY_HTTP_STATUS) => None,
            Err(e) => return Err(e),
        };
        match protocol::interpret_probe(probe.as_ref()) {
            protocol::Probe::Modern { server_info, capabilities: _ } => {
                if let Some(Ok(result)) = &probe {
                    *lock(&self.instructions) = result.get("instructions").and_then(Value::as_str).map(str::to_string);
                }
                *lock(&self.server_info) = server_info;
                self.set_revision(Era::Modern, protocol::MODERN_REVISION);
                Ok(())
            }
            protocol::Probe::Incompatible { supported } => Err(McpError::Protocol(format!(
                "the server supports protocol revisions {} and pincer none of them (pincer: {}, {})",
                supported.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", "),
                protocol::MODERN_REVISION,
                protocol::LEGACY_REVISIONS.join(", ")
            ))),
            protocol::Probe::Legacy { offer } => self.initialize(&offer, deadline),
        }
    }

    fn initialize(&self, offer: &[&'static str], deadline: Instant) -> Result<(), McpError> {
        let mut last = None;
        for revision in offer {
            let timeout = deadline.saturating_duration_since(Instant::now());
            self.transport.set_revision(Era::Legacy, revision);
            match self.raw_request(
                "initialize",
                protocol::initialize_params(revision),
                &CallOptions::timeout(timeout),
                false,
            ) {
                Ok(result) => {
                    let agreed = protocol::agreed_revision(&result).map_err(McpError::Protocol)?;
                    *lock(&self.server_info) = result.get("serverInfo").cloned();
                    *lock(&self.instructions) = result.get("instructions").and_then(Value::as_str).map(str::to_string);
                    self.set_revision(Era::Legacy, agreed);
                    self.notify("notifications/initialized", None)?;
                    self.transport.ready();
                    return Ok(());
                }
                // A modern server that was slow to answer the probe says so here: use it.
                Err(McpError::Rpc { error, .. })
                    if error.code == protocol::UNSUPPORTED_PROTOCOL_VERSION
                        && protocol::supported_versions(&error).iter().any(|v| v == protocol::MODERN_REVISION) =>
                {
                    self.set_revision(Era::Modern, protocol::MODERN_REVISION);
                    return Ok(());
                }
                // The server refused this revision: offer the next older one.
                Err(e @ McpError::Rpc { .. }) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| McpError::Protocol("no protocol revision to offer".into())))
    }

    pub(crate) fn notify(&self, method: &str, params: Option<Value>) -> Result<(), McpError> {
        let message = jsonrpc::notification(method, params);
        self.transport
            .send(Outgoing { id: None, message, headers: Vec::new() })
            .map_err(|f| failure_error(method, f, &self.inbox))
    }

    /// A request, answered in full: in the modern era, interim "input required" results are
    /// answered (elicitation, roots) and the request retried, as 2026-07-28 MRTR says.
    pub fn request(&self, method: &str, params: Value, opts: &CallOptions<'_>) -> Result<Value, McpError> {
        self.request_with(method, params, Vec::new(), opts)
    }

    fn request_with(
        &self,
        method: &str,
        params: Value,
        extra: Vec<(String, String)>,
        opts: &CallOptions<'_>,
    ) -> Result<Value, McpError> {
        let modern = self.era() == Era::Modern;
        let extra_headers = extra;
        let deadline = Instant::now() + opts.timeout;
        let mut extra: Option<(Value, Option<Value>)> = None;
        for _ in 0..MAX_INPUT_ROUNDS {
            let mut p = params.clone();
            if let (Some((responses, state)), Some(obj)) = (&extra, p.as_object_mut()) {
                obj.insert("inputResponses".into(), responses.clone());
                if let Some(state) = state {
                    obj.insert("requestState".into(), state.clone());
                }
            }
            let round = CallOptions { timeout: deadline.saturating_duration_since(Instant::now()), ..*opts };
            let p = if modern { protocol::with_modern_meta(p) } else { p };
            let result = match self.raw_request_with(method, p, extra_headers.clone(), &round, modern) {
                // Say the whole budget, not what was left of it for this round.
                Err(McpError::Timeout { method, .. }) => {
                    return Err(McpError::Timeout { method, timeout: opts.timeout });
                }
                other => other?,
            };
            let interim = result.get("resultType").and_then(Value::as_str) == Some(protocol::RESULT_INPUT_REQUIRED);
            if !(modern && interim && MRTR_METHODS.contains(&method)) {
                return Ok(result);
            }
            extra = Some((self.input_responses(&result), result.get("requestState").cloned()));
        }
        Err(McpError::Protocol(format!(
            "{method}: the server asked for input {MAX_INPUT_ROUNDS} times without finishing"
        )))
    }

    /// The `inputResponses` for an `InputRequiredResult`'s `inputRequests`. Requests pincer
    /// declines (sampling) are left out; the server then asks again or fails the call.
    fn input_responses(&self, result: &Value) -> Value {
        let mut responses = serde_json::Map::new();
        if let Some(requests) = result.get("inputRequests").and_then(Value::as_object) {
            for (key, request) in requests {
                let method = request.get("method").and_then(Value::as_str).unwrap_or("");
                let params = request.get("params").cloned().unwrap_or(Value::Null);
                match self.inbox.answer_one(method, &params) {
                    Ok(answer) => {
                        responses.insert(key.clone(), answer);
                    }
                    Err((_, why)) => {
                        tracing::info!(server = %self.name(), "left input request {key} unanswered: {why}")
                    }
                }
            }
        }
        Value::Object(responses)
    }

    /// One request/response exchange, bounded by `opts`.
    fn raw_request(
        &self,
        method: &str,
        params: Value,
        opts: &CallOptions<'_>,
        modern_headers: bool,
    ) -> Result<Value, McpError> {
        self.raw_request_with(method, params, Vec::new(), opts, modern_headers)
    }

    fn raw_request_with(
        &self,
        method: &str,
        mut params: Value,
        extra_headers: Vec<(String, String)>,
        opts: &CallOptions<'_>,
        modern_headers: bool,
    ) -> Result<Value, McpError> {
        if let Some(reason) = self.inbox.closed_reason() {
            return Err(McpError::Closed(reason));
        }
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let progress_rx = opts.progress.map(|_| {
            let (tx, rx) = mpsc::channel();
            lock(&self.inbox.progress).insert(id, tx);
            if let Some(obj) = params.as_object_mut() {
                let meta = obj.entry("_meta").or_insert_with(|| json!({}));
                if let Some(meta) = meta.as_object_mut() {
                    meta.insert("progressToken".into(), id.into());
                }
            }
            rx
        });
        let mut headers = Vec::new();
        if modern_headers {
            headers.push(("Mcp-Method".to_string(), method.to_string()));
            if let Some(name) = protocol::mcp_name(method, &params) {
                headers.push(("Mcp-Name".to_string(), protocol::header_value(&name)));
            }
            headers.extend(extra_headers);
        }
        let rx = self.inbox.register(id);
        let message = jsonrpc::request(id, method, params);
        if let Err(f) = self.transport.send(Outgoing { id: Some(id), message, headers }) {
            self.inbox.forget(id);
            return Err(failure_error(method, f, &self.inbox));
        }
        let deadline = Instant::now() + opts.timeout;
        let outcome = loop {
            if let (Some(rx), Some(show)) = (&progress_rx, opts.progress) {
                while let Ok(text) = rx.try_recv() {
                    show(&text);
                }
            }
            let now = Instant::now();
            if opts.cancel.is_some_and(CancelToken::is_cancelled) {
                self.cancel(id, "cancelled by the user");
                break Err(McpError::Cancelled);
            }
            if now >= deadline {
                self.cancel(id, "timed out");
                let mut why = McpError::Timeout { method: method.to_string(), timeout: opts.timeout };
                if let Some(noise) = self.inbox.noise() {
                    why = McpError::Protocol(format!(
                        "{why}; the server only wrote output that is not JSON-RPC ({noise})"
                    ));
                }
                break Err(why);
            }
            match rx.recv_timeout(CANCEL_POLL.min(deadline - now)) {
                Ok(Ok(value)) => break Ok(value),
                Ok(Err(f)) => break Err(failure_error(method, f, &self.inbox)),
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => {
                    break Err(McpError::Closed(
                        self.inbox.closed_reason().unwrap_or_else(|| "connection closed".into()),
                    ));
                }
            }
        };
        // Progress that came just before the answer.
        if let (Some(rx), Some(show)) = (&progress_rx, opts.progress) {
            while let Ok(text) = rx.try_recv() {
                show(&text);
            }
        }
        self.inbox.forget(id);
        outcome
    }

    fn cancel(&self, id: u64, reason: &str) {
        self.inbox.forget(id);
        if self.transport.cancel_by_notification() {
            let _ = self.notify("notifications/cancelled", Some(json!({"requestId": id, "reason": reason})));
        }
    }

    /// Every tool, following `nextCursor` until the list ends.
    /// Every tool, following `nextCursor` until the list ends. Over HTTP, a tool whose
    /// `x-mcp-header` annotations break the 2026-07-28 rules is left out (with a log line).
    pub fn list_tools(&self, opts: &CallOptions<'_>) -> Result<Vec<Value>, McpError> {
        let tools = self.list_all_tools(opts)?;
        let mut annotations = lock(&self.param_headers);
        annotations.clear();
        let mut kept = Vec::new();
        for tool in tools {
            let name = tool.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
            let schema = tool.get("inputSchema").cloned().unwrap_or(Value::Null);
            match protocol::param_headers(&schema) {
                Ok(found) => {
                    if !found.is_empty() {
                        annotations.insert(name, found);
                    }
                    kept.push(tool);
                }
                Err(why) if self.http => tracing::warn!(server = %self.name(), "left out tool {}: {why}", quote(&name)),
                Err(_) => kept.push(tool),
            }
        }
        Ok(kept)
    }

    fn list_all_tools(&self, opts: &CallOptions<'_>) -> Result<Vec<Value>, McpError> {
        /// A bound on pages, against a server that hands out cursors forever.
        const MAX_PAGES: usize = 100;
        let deadline = Instant::now() + opts.timeout;
        let mut tools = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let params = match &cursor {
                Some(c) => json!({"cursor": c}),
                None => json!({}),
            };
            let page = CallOptions { timeout: deadline.saturating_duration_since(Instant::now()), ..*opts };
            let result = self.request("tools/list", params, &page)?;
            if let Some(list) = result.get("tools").and_then(Value::as_array) {
                tools.extend(list.iter().cloned());
            }
            match result.get("nextCursor").and_then(Value::as_str) {
                Some(next) if !next.is_empty() && cursor.as_deref() != Some(next) => cursor = Some(next.to_string()),
                _ => return Ok(tools),
            }
        }
        Err(McpError::Protocol(format!("tools/list: more than {MAX_PAGES} pages")))
    }

    pub fn call_tool(&self, name: &str, arguments: &Value, opts: &CallOptions<'_>) -> Result<Value, McpError> {
        let headers = match (self.http, lock(&self.param_headers).get(name)) {
            (true, Some(found)) => protocol::param_header_values(found, arguments),
            _ => Vec::new(),
        };
        self.request_with("tools/call", json!({"name": name, "arguments": arguments}), headers, opts)
    }

    /// Asks for `notifications/tools/list_changed` in the modern era (`subscriptions/listen`:
    /// a request whose answer is a stream that stays open). Legacy servers send them unasked.
    pub(crate) fn listen_for_changes(&self) {
        if self.era() != Era::Modern {
            return;
        }
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let params = protocol::with_modern_meta(json!({"notifications": {"toolsListChanged": true}}));
        let headers = vec![("Mcp-Method".to_string(), "subscriptions/listen".to_string())];
        // Registered so a late answer is matched, never awaited.
        drop(self.inbox.register(id));
        let message = jsonrpc::request(id, "subscriptions/listen", params);
        if let Err(f) = self.transport.send(Outgoing { id: Some(id), message, headers }) {
            tracing::info!(server = %self.name(), "no change notifications: {f:?}");
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.transport.close();
    }
}

/// A prefix the HTTP transport puts on "this status means a legacy server" errors.
pub(crate) const LEGACY_HTTP_STATUS: &str = "legacy-http-status";

fn failure_error(method: &str, f: Failure, inbox: &Inbox) -> McpError {
    match f {
        Failure::Rpc(error) => {
            McpError::Rpc { method: method.to_string(), error: RpcError { message: quote(&error.message), ..error } }
        }
        Failure::Unauthorized { status, www_authenticate, advice } => {
            McpError::Unauthorized { status, www_authenticate, advice }
        }
        Failure::Http { status, body } => {
            if (400..500).contains(&status) && method == "server/discover" {
                return McpError::Transport(format!("{LEGACY_HTTP_STATUS} {status}"));
            }
            let body = if body.trim().is_empty() { String::new() } else { format!(": {}", quote(&body)) };
            McpError::Transport(format!("{method}: HTTP {status}{body}"))
        }
        Failure::Closed(reason) => McpError::Closed(format!("{reason}{}", inbox.stderr_tail())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::elicit::Decline;

    type Sent = Arc<Mutex<Vec<Value>>>;

    struct Recorder(Sent);
    impl Transport for Recorder {
        fn send(&self, out: Outgoing) -> Result<(), Failure> {
            lock(&self.0).push(out.message);
            Ok(())
        }
        fn set_revision(&self, _: Era, _: &str) {}
        fn cancel_by_notification(&self) -> bool {
            true
        }
        fn close(&self) {}
    }

    fn inbox() -> Arc<Inbox> {
        Inbox::new("t", ServerRequests { elicitor: Arc::new(Decline), roots: vec![PathBuf::from("/w/my proj")] })
    }

    #[test]
    fn answers_arrive_in_any_order_with_notifications_between() {
        let inbox = inbox();
        let a = inbox.register(1);
        let b = inbox.register(2);
        inbox.deliver_text(
            r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"hi"}}"#,
            None,
        );
        inbox.deliver_text(r#"{"jsonrpc":"2.0","id":2,"result":{"n":2}}"#, None);
        inbox.deliver_text(r#"{"jsonrpc":"2.0","id":1,"result":{"n":1}}"#, None);
        assert_eq!(b.recv().unwrap().unwrap()["n"], 2);
        assert_eq!(a.recv().unwrap().unwrap()["n"], 1);
        // A duplicate or unknown response is dropped, not a panic.
        inbox.deliver_text(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#, None);
    }

    #[test]
    fn closing_fails_every_waiting_request_with_the_first_reason() {
        let inbox = inbox();
        let a = inbox.register(1);
        inbox.close("the server exited");
        inbox.close("later");
        assert!(matches!(a.recv().unwrap(), Err(Failure::Closed(r)) if r == "the server exited"));
    }

    #[test]
    fn server_questions_are_answered_or_declined() {
        let inbox = inbox();
        let roots = inbox.answer_one("roots/list", &Value::Null).unwrap();
        assert_eq!(roots["roots"][0]["uri"], "file:///w/my%20proj");
        assert_eq!(inbox.answer_one("ping", &Value::Null).unwrap(), json!({}));
        assert_eq!(inbox.answer_one("elicitation/create", &json!({"message": "?"})).unwrap()["action"], "decline");
        assert_eq!(inbox.answer_one("sampling/createMessage", &Value::Null).unwrap_err().0, jsonrpc::METHOD_NOT_FOUND);
        assert_eq!(inbox.answer_one("x/y", &Value::Null).unwrap_err().0, jsonrpc::METHOD_NOT_FOUND);
    }

    #[test]
    fn a_server_request_is_answered_through_the_transport() {
        let inbox = inbox();
        let sent = Sent::default();
        let client = Client::new(Arc::clone(&inbox), Arc::new(Recorder(Arc::clone(&sent))));
        inbox.deliver_text(r#"{"jsonrpc":"2.0","id":"s1","method":"ping"}"#, None);
        let deadline = Instant::now() + Duration::from_secs(5);
        while lock(&sent).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(lock(&sent)[0], json!({"jsonrpc": "2.0", "id": "s1", "result": {}}));
        drop(client);
    }

    #[test]
    fn timeouts_and_cancellation_end_the_wait_and_tell_the_server() {
        let sent = Sent::default();
        let client = Client::new(inbox(), Arc::new(Recorder(Arc::clone(&sent))));
        let err = client.raw_request("tools/list", json!({}), &CallOptions::timeout(Duration::from_millis(50)), false);
        assert!(matches!(err, Err(McpError::Timeout { .. })), "{err:?}");
        let cancel = CancelToken::new();
        cancel.cancel();
        let opts = CallOptions { timeout: Duration::from_secs(30), cancel: Some(&cancel), progress: None };
        assert_eq!(client.raw_request("tools/call", json!({}), &opts, false), Err(McpError::Cancelled));
        let sent = lock(&sent).clone();
        let cancelled: Vec<&Value> = sent.iter().filter(|m| m["method"] == "notifications/cancelled").collect();
        assert_eq!(cancelled.len(), 2);
        assert_eq!(cancelled[1]["params"]["requestId"], sent[2]["id"]);
    }

    /// Answers `initialize` as a modern-only server does, and never answers the probe.
    struct SlowModern(Arc<Inbox>, Sent);
    impl Transport for SlowModern {
        fn send(&self, out: Outgoing) -> Result<(), Failure> {
            if out.message["method"] == "initialize" {
                let id = out.message["id"].clone();
                let error = json!({"jsonrpc": "2.0", "id": id, "error": {"code": protocol::UNSUPPORTED_PROTOCOL_VERSION,
                    "message": "Unsupported protocol version", "data": {"supported": [protocol::MODERN_REVISION]}}});
                self.0.deliver_text(&error.to_string(), None);
            }
            lock(&self.1).push(out.message);
            Ok(())
        }
        fn set_revision(&self, _: Era, _: &str) {}
        fn cancel_by_notification(&self) -> bool {
            true
        }
        fn close(&self) {}
    }

    #[test]
    fn a_modern_server_too_slow_for_the_probe_is_recognised_by_its_refusal() {
        let inbox = inbox();
        let sent = Sent::default();
        let client = Client::new(Arc::clone(&inbox), Arc::new(SlowModern(Arc::clone(&inbox), Arc::clone(&sent))));
        let deadline = Instant::now() + Duration::from_secs(5);
        client.handshake(deadline, Duration::from_millis(50)).unwrap();
        assert_eq!(client.era(), Era::Modern);
        assert_eq!(client.revision(), protocol::MODERN_REVISION);
        let methods: Vec<Value> = lock(&sent).iter().map(|m| m["method"].clone()).collect();
        assert_eq!(methods, [json!("server/discover"), json!("notifications/cancelled"), json!("initialize")]);
    }

    #[test]
    fn progress_text_reads_well() {
        assert_eq!(progress_text(&json!({"progress": 3, "total": 10, "message": "step"})), "step (3/10)");
        assert_eq!(progress_text(&json!({"progress": 1})), "1");
    }

    #[test]
    fn roots_are_file_uris_on_unix_and_windows() {
        assert_eq!(file_uri(std::path::Path::new("/home/a b/ü")), "file:///home/a%20b/%C3%BC");
        assert_eq!(windows_uri_path(r"C:\Users\a b"), "/C:/Users/a b");
        assert_eq!(windows_uri_path(r"\\?\C:\work"), "/C:/work");
        assert_eq!(windows_uri_path(r"\\?\UNC\server\share\x"), "//server/share/x");
        assert_eq!(windows_uri_path(r"\\server\share"), "//server/share");
    }
}
