//! `pincer agent` (alias `chat`): one message from `-m` or stdin, or a REPL on a terminal.
//!
//! Each turn runs on a worker thread while this thread watches for Ctrl-C, so an answer in flight
//! can be cancelled even while the socket read blocks: the REPL goes back to its prompt, a
//! one-shot run exits 130 keeping what was printed (it is flushed after every network read).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use jiff::Timestamp;

use super::Context;
use crate::auth::resolve::{self, ANTHROPIC, ResolvedCredential};
use crate::auth::store::Store;
use crate::chat::keep;
use crate::chat::render::Renderer;
use crate::chat::session::{ChatMessage, Session};
use crate::cli::{AgentArgs, LoginArgs};
use crate::config::Config;
use crate::exit::{Interrupted, UsageError};
use crate::providers::anthropic;
use crate::providers::anthropic_stream::MessageAccumulator;
use crate::providers::chat::{self, ChatError, ChatRequest, Sink};
use crate::providers::message::{Message, StreamEvent};
use crate::providers::model_id::{self, ModelChoice};
use crate::providers::openai;
use crate::providers::openai_stream::OpenAiAccumulator;
use crate::providers::retry;
use crate::providers::routing::{self, Protocol};
use crate::term::interrupt;
use crate::term::output::{self, OutputError};
use crate::term::prompt::Input;
use crate::term::style::{self, note, warn};
use crate::usage::cache::{UsageCache, credential_key};
use crate::usage::render as usage_render;

const FALLBACK_MODEL: &str = "sonnet";
const CANCEL_POLL: Duration = Duration::from_millis(50);

/// How a turn reaches its provider.
#[derive(Clone)]
pub enum Backend {
    Anthropic {
        credential: ResolvedCredential,
        extra_betas: Vec<String>,
    },
    /// OpenAI-compatible; local servers may need no key at all.
    OpenAi {
        credential: Option<ResolvedCredential>,
    },
}

/// Everything a turn needs, owned so a worker thread can take it.
#[derive(Clone)]
pub struct Turn {
    pub choice: ModelChoice,
    pub backend: Backend,
    pub base: String,
    pub system: Option<String>,
    pub max_tokens: Option<u64>,
    pub extra_headers: Vec<(String, String)>,
    pub client: crate::http::Client,
    /// Where `base` came from, for hints.
    pub base_origin: crate::providers::base_url::Origin,
    pub limits: chat::Limits,
    pub usage: UsageCache,
    pub show_thinking: bool,
    pub color: bool,
}

impl Turn {
    fn protocol(&self) -> Protocol {
        match self.backend {
            Backend::Anthropic { .. } => Protocol::Anthropic,
            Backend::OpenAi { .. } => Protocol::OpenAi,
        }
    }

    fn credential(&self) -> Option<&ResolvedCredential> {
        match &self.backend {
            Backend::Anthropic { credential, .. } => Some(credential),
            Backend::OpenAi { credential } => credential.as_ref(),
        }
    }
}

pub fn run(ctx: &Context, args: &AgentArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(&ctx.home)?;
    let name =
        args.model.clone().or_else(|| config.default_model().map(str::to_string)).unwrap_or(FALLBACK_MODEL.into());
    let choice =
        model_id::resolve(&name, &config.models(), &config.aliases()).map_err(|e| UsageError(e.to_string()))?;
    let session = args.session.as_deref().map(|n| Session::open(&ctx.home, n)).transpose()?;
    let stdin_tty = std::io::stdin().is_terminal();
    // `-m` leaves a terminal's stdin free, so the login offer works there too.
    let mut turn = prepare(ctx, &config, choice, stdin_tty)?;
    turn.system = args.system.clone();
    interrupt::install();

    if let Some(message) = &args.message {
        if message.trim().is_empty() {
            return Err(
                UsageError("no message: -m was empty\nhint: pass the text to send, e.g. -m \"Hello\"".into()).into()
            );
        }
        return one_shot(&turn, session.as_ref(), message);
    }
    if !stdin_tty {
        let message = crate::term::stdin_message::read()?;
        return one_shot(&turn, session.as_ref(), &message);
    }
    crate::chat::repl::run(ctx, turn, session, &config)
}

/// Resolves where a model's requests go and with which credential. On a terminal (`can_ask`), a
/// missing Anthropic credential is offered a login.
pub fn prepare(ctx: &Context, config: &Config, choice: ModelChoice, can_ask: bool) -> anyhow::Result<Turn> {
    let entry = choice.entry.clone();
    let route = routing::route(&choice, config, &ctx.env, &Store::in_home(&ctx.home).load()?)?;
    let credential_required = route.credential_required();
    let backend = match (route.protocol, route.credential) {
        (Protocol::Anthropic, Some(credential)) => {
            Backend::Anthropic { credential, extra_betas: config.provider_list(ANTHROPIC, "betas") }
        }
        (Protocol::Anthropic, None) => Backend::Anthropic {
            credential: login_now(ctx, can_ask)?,
            extra_betas: config.provider_list(ANTHROPIC, "betas"),
        },
        (Protocol::OpenAi, None) if credential_required => anyhow::bail!(
            "no OpenAI API key\nhint: run `pincer auth login --provider openai --api-key`, or set OPENAI_API_KEY"
        ),
        (Protocol::OpenAi, credential) => Backend::OpenAi { credential },
    };
    let base = route.base;
    let client = ctx.client(&base)?;
    Ok(Turn {
        max_tokens: entry.as_ref().and_then(|e| e.max_tokens),
        extra_headers: config.provider_headers(&choice.provider),
        choice,
        backend,
        base,
        system: None,
        client,
        base_origin: route.base_origin,
        limits: chat::Limits {
            max_response_bytes: config.max_response_bytes(),
            max_response_time: config.max_response_time(),
            ..chat::Limits::default()
        },
        usage: UsageCache::in_home(&ctx.home),
        show_thinking: std::io::stderr().is_terminal(),
        color: style::stderr_color(),
    })
}

fn one_shot(turn: &Turn, session: Option<&Session>, message: &str) -> anyhow::Result<ExitCode> {
    let mut history = match session {
        Some(s) => s.load()?,
        None => Vec::new(),
    };
    let user = ChatMessage::user_text(message);
    history.push(user.clone());
    let answer = run_turn(turn, history)?;
    let code = report_stop(&answer);
    if let Some(s) = session {
        match keep::answer_to_keep(&answer) {
            Ok(assistant) => s.append(&[user, assistant])?,
            Err(not_kept) => note(&format!("({}; {} is unchanged)", not_kept.notice(), s.path().display())),
        }
    }
    Ok(code)
}

/// Runs one request on a worker thread and waits for it, watching for Ctrl-C.
///
/// Each turn has its own cancel token: a cancelled worker may stay blocked in a read for a while,
/// and must stay silent even after the next turn has started.
pub fn run_turn(turn: &Turn, history: Vec<ChatMessage>) -> anyhow::Result<Message> {
    interrupt::reset();
    let cancel = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let worker_turn = turn.clone();
    let worker_cancel = cancel.clone();
    std::thread::spawn(move || {
        let result = stream_turn(&worker_turn, &history, &worker_cancel);
        let _ = tx.send(result);
    });
    loop {
        match rx.recv_timeout(CANCEL_POLL) {
            Ok(result) => return result.map_err(|e| explain(turn, e)),
            Err(mpsc::RecvTimeoutError::Timeout) if interrupt::interrupted() => {
                // The worker sees its token and stops writing; it is left to end on its own.
                cancel.store(true, Ordering::SeqCst);
                interrupt::reset();
                let _ = output::data().flush();
                note("");
                return Err(Interrupted.into());
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => anyhow::bail!("the request thread ended unexpectedly"),
        }
    }
}

fn stream_turn(turn: &Turn, history: &[ChatMessage], cancel: &AtomicBool) -> Result<Message, ChatError> {
    let agent = &turn.client;
    let request = ChatRequest {
        model: &turn.choice.model,
        system: turn.system.as_deref(),
        messages: history,
        max_tokens: turn.max_tokens,
        temperature: turn.choice.entry.as_ref().and_then(|e| e.temperature),
        tools: &[],
    };
    let mut sink = TerminalSink {
        renderer: Renderer::new(output::data(), turn.show_thinking, turn.color),
        usage: &turn.usage,
        usage_key: turn.credential().map(|c| credential_key(&c.provider, c.secret.expose())),
        cancel,
    };
    let limits = turn.limits;
    let result = match &turn.backend {
        Backend::Anthropic { credential, extra_betas } => {
            let http = anthropic::chat_request(
                &turn.base,
                credential.method,
                &credential.secret,
                extra_betas,
                &turn.extra_headers,
                &request,
            )?;
            chat::stream(agent, &http, MessageAccumulator::new, limits, &mut sink)
        }
        Backend::OpenAi { credential } => {
            let key = credential.as_ref().map(|c| &c.secret);
            let http = openai::chat_request(&turn.base, key, &turn.extra_headers, &request)?;
            chat::stream(agent, &http, OpenAiAccumulator::new, limits, &mut sink)
        }
    };
    if !sink.cancelled()
        && let Err(e) = sink.renderer.finish()
        && result.is_ok()
    {
        return Err(ChatError::Output(e));
    }
    result
}

struct TerminalSink<'a> {
    renderer: Renderer<output::Data>,
    usage: &'a UsageCache,
    usage_key: Option<String>,
    cancel: &'a AtomicBool,
}

impl Sink for TerminalSink<'_> {
    fn event(&mut self, event: &StreamEvent<'_>) -> std::io::Result<()> {
        if self.cancelled() {
            return Ok(());
        }
        match event {
            StreamEvent::TextDelta(text) => self.renderer.text(text),
            StreamEvent::ThinkingDelta(text) => {
                self.renderer.thinking(text);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn after_read(&mut self) -> std::io::Result<()> {
        if self.cancelled() { Ok(()) } else { self.renderer.flush() }
    }

    fn response_headers(&mut self, headers: &ureq::http::HeaderMap) {
        if let Some(key) = &self.usage_key
            && let Some(snapshot) = crate::usage::headers::parse(crate::http::header_pairs(headers), Timestamp::now())
            && let Err(e) = self.usage.record(key, snapshot)
        {
            tracing::warn!("cannot update usage.json: {e:#}");
        }
    }

    fn notice(&mut self, text: &str) {
        note(&format!("pincer: {text}"));
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }
}

/// Notices for how the answer ended; the exit code for a one-shot run.
pub fn report_stop(answer: &Message) -> ExitCode {
    let has_text = answer
        .content
        .iter()
        .any(|b| matches!(b, crate::providers::ContentBlock::Text { text, .. } if !text.is_empty()));
    match answer.stop_reason.as_deref() {
        Some("refusal") => {
            warn("the model declined to answer (stop_reason: refusal)");
            return ExitCode::from(crate::exit::FAILURE);
        }
        Some("max_tokens") => {
            warn("the answer was cut short: max_tokens reached (raise max_tokens for this model in config.toml)")
        }
        Some("model_context_window_exceeded") => {
            warn("the conversation no longer fits the model's context window; start a new one")
        }
        Some("pause_turn") => warn("the model paused its turn (stop_reason: pause_turn)"),
        _ => {}
    }
    if answer.content.is_empty() || !has_text && answer.stop_reason.as_deref() != Some("tool_use") {
        warn("the model returned an empty answer");
        return ExitCode::from(crate::exit::FAILURE);
    }
    ExitCode::SUCCESS
}

/// Turns a chat failure into the message a person needs.
fn explain(turn: &Turn, error: ChatError) -> anyhow::Error {
    let anthropic = matches!(turn.backend, Backend::Anthropic { .. });
    let who = if anthropic { "Anthropic".to_string() } else { format!("the {} server", turn.choice.provider) };
    match error {
        ChatError::Cancelled => Interrupted.into(),
        // The reader of stdout went away (`| head`): the answer stops there and is not stored.
        ChatError::Output(e) => OutputError::from(e).into(),
        ChatError::Api { error, headers, retries } => {
            let header =
                |name: &str| headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
            let after = retries_note(retries);
            if error.status == 429 && retry::window_exhausted(&header) {
                let reset = header("anthropic-ratelimit-unified-reset")
                    .and_then(|v| v.parse::<i64>().ok())
                    .and_then(|s| Timestamp::from_second(s).ok())
                    .map(|t| {
                        format!(
                            "; it resets {}",
                            usage_render::when(t, Timestamp::now(), &jiff::tz::TimeZone::system())
                        )
                    })
                    .unwrap_or_default();
                let window = header("anthropic-ratelimit-unified-representative-claim")
                    .map_or_else(|| "subscription".to_string(), crate::usage::claim_label);
                return anyhow::anyhow!(
                    "the {window} usage limit is reached{reset}\nhint: `pincer auth status` shows every window"
                );
            }
            match error.status {
                401 => anyhow::anyhow!(
                    "{who} rejected the credential ({}){after}\nhint: log in again with `pincer auth login --provider {}`",
                    error.summary(),
                    turn.choice.provider
                ),
                // Refusals of the token's kind arrive as ChatError::Refused; any other status is itself.
                404 => match crate::providers::base_url::not_found_hint(turn.protocol(), &turn.base, &turn.base_origin)
                {
                    Some(hint) => anyhow::anyhow!("{who} answered {}{after}\nhint: {hint}", error.summary()),
                    None => anyhow::anyhow!("{who} answered {}{after}", error.summary()),
                },
                _ => anyhow::anyhow!("{who} answered {}{after}", error.summary()),
            }
        }
        ChatError::Network { reason, hint, retries } => {
            let hint = hint.unwrap_or_else(|| format!("check your network, or {}", turn.base_origin.describe()));
            anyhow::anyhow!("cannot reach {who} at {}: {reason}{}\nhint: {hint}", turn.base, retries_note(retries))
        }
        other => anyhow::Error::new(other),
    }
}

fn retries_note(retries: u32) -> String {
    match retries {
        0 => String::new(),
        1 => " (after 1 retry)".into(),
        n => format!(" (after {n} retries)"),
    }
}

/// No Anthropic credential: say so, and on a terminal offer to log in now.
fn login_now(ctx: &Context, can_ask: bool) -> anyhow::Result<ResolvedCredential> {
    let missing =
        "no Anthropic credential\nhint: run `pincer auth login --provider anthropic`, or set ANTHROPIC_API_KEY";
    if !can_ask {
        anyhow::bail!(missing);
    }
    let mut input = Input::stdin();
    let answer = input.choose("No Anthropic credential found. Log in now?", &["Yes, log in", "No"], 0)?;
    if answer != 0 {
        anyhow::bail!(missing);
    }
    let args = LoginArgs { provider: Some(ANTHROPIC.into()), ..Default::default() };
    super::auth_login::run(ctx, &args, &mut input)?;
    resolve::resolve(ANTHROPIC, &ctx.env, &Store::in_home(&ctx.home).load()?).ok_or_else(|| anyhow::anyhow!(missing))
}
