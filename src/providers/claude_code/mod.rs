//! The `claude-code` provider (SPEC §12): a subscription used the sanctioned way, by running
//! Anthropic's own Claude Code.
//!
//! Each turn runs `claude -p` in its headless streaming mode (`--output-format stream-json
//! --input-format stream-json --verbose --include-partial-messages`) in the workspace, writes the
//! person's new message on its stdin (never on argv, which other users can read), and turns its
//! output ([`parse`]) into pincer's stream events: text as it arrives, the tools Claude Code runs
//! as tool status lines, its result as usage, a notice and, when it failed, a typed error.
//!
//! Claude Code keeps the conversation, its tools and its permissions; pincer keeps only the
//! session id ([`link`]) and resumes it on the next turn (`--resume`). It never sees pincer's
//! credentials ([`process::child_environment`]) nor pincer's tools. One process per turn: a
//! cancelled turn kills the process group, and the next one resumes the session.

mod child;
pub mod failure;
pub mod install;
pub mod link;
pub mod parse;
#[cfg(unix)]
mod process;
#[cfg(windows)]
#[path = "process_windows.rs"]
mod process;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub use self::failure::{Failure, INSTALL_HINT};
use self::link::Link;
use self::parse::{Event, StreamJsonParser, Summary};
use self::process::{Output, Running};
use super::chat::{ChatError, ChatRequest, Limits, Sink};
use super::message::{ChatMessage, ContentBlock, ForeignOutcome, ForeignTool, Message, Role, StreamEvent};
use crate::sanitize::sanitize;

/// The provider's name in `--model claude-code/…` and `[providers.claude-code]`.
pub const PROVIDER: &str = "claude-code";
/// The program run when `[providers.claude-code] command` is not set.
pub const DEFAULT_COMMAND: &str = "claude";
/// The model name that leaves the choice to Claude Code (`--model claude-code/default`).
pub const DEFAULT_MODEL: &str = "default";

/// What pincer always asks of Claude Code, after the person's own `args`.
const HEADLESS_FLAGS: &[&str] = &[
    "-p",
    "--output-format",
    "stream-json",
    "--input-format",
    "stream-json",
    "--verbose",
    "--include-partial-messages",
];
/// Given as `--flag=value`: a value that starts with `-` (a model name, a system prompt) stays a value.
const MODEL_FLAG: &str = "--model";
const RESUME_FLAG: &str = "--resume";
const SYSTEM_FLAG: &str = "--append-system-prompt";
/// Bytes asked of the pipe per read; each read ends with one flush of the output.
const READ_BUFFER_BYTES: usize = 16 * 1024;
const CANCEL_POLL: Duration = Duration::from_millis(50);
/// After its result, how long Claude Code may take to save its session and exit.
const EXIT_GRACE: Duration = Duration::from_secs(10);
/// How long the turn engine waits, after Ctrl-C, for the process to be stopped.
pub const CANCEL_WAIT: Duration = Duration::from_millis(process::TERM_GRACE.as_millis() as u64 + 1000);
/// Characters of an error text shown; characters of a tool result previewed.
const MAX_MESSAGE_CHARS: usize = 500;
const PREVIEW_CHARS: usize = 400;
/// What Claude Code says when a session id is unknown to it.
const SESSION_GONE: &str = "No conversation found with session ID";
/// Input keys that say best what a tool call does, in order of preference.
const DISPLAY_KEYS: &[&str] =
    &["command", "file_path", "notebook_path", "path", "pattern", "url", "query", "skill", "description", "prompt"];

/// The Claude Code that a model entry runs, and the session its turns continue.
#[derive(Debug, Clone)]
pub struct ClaudeCode {
    program: PathBuf,
    args: Vec<String>,
    workspace: PathBuf,
    /// Shared by every copy of the endpoint: the REPL's turns continue one session.
    link: Arc<Mutex<Link>>,
}

impl ClaudeCode {
    /// `program` as found ([`install::locate`]), the person's `args`, the workspace Claude Code
    /// works in, and the link file of a `--session` (none: the session lives as long as pincer).
    pub fn new(program: PathBuf, args: Vec<String>, workspace: PathBuf, link: Option<PathBuf>) -> anyhow::Result<Self> {
        if let Some(kind) = args.iter().find_map(|a| crate::secret_scan::find_credential(a)) {
            return Err(crate::exit::UsageError(format!(
                "`args` of [providers.claude-code] holds what looks like {kind}; arguments are visible to every user of this machine, so it is not used\nhint: give Claude Code its credential its own way (`claude` then /login, or an apiKeyHelper in ~/.claude/settings.json), and remove it from config.toml"
            ))
            .into());
        }
        Ok(ClaudeCode { program, args, workspace, link: Arc::new(Mutex::new(Link::load(link)?)) })
    }

    fn link(&self) -> std::sync::MutexGuard<'_, Link> {
        self.link.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next turn starts a new Claude Code conversation (`/new`).
    pub fn start_over(&self) -> anyhow::Result<()> {
        self.link().forget()
    }

    /// Runs one turn: the last user message of `request` goes to Claude Code, which holds the
    /// rest of the conversation.
    pub fn stream(&self, request: &ChatRequest<'_>, limits: Limits, sink: &mut dyn Sink) -> Result<Message, ChatError> {
        let content = new_message(request.messages)?;
        let resume = self.link().id().map(str::to_string);
        if resume.is_none() && request.messages.len() > 1 {
            sink.notice(
                "Claude Code starts a new conversation here: it keeps its own history, so the earlier messages of this one are not sent to it",
            );
        }
        match self.run(request, &content, resume.as_deref(), limits, sink) {
            Err(ChatError::ClaudeCode(Failure::SessionGone { id })) => {
                sink.notice(&format!("Claude Code no longer has conversation {id}; starting a new one"));
                if let Err(e) = self.link().forget() {
                    sink.notice(&format!("{e:#}"));
                }
                self.run(request, &content, None, limits, sink)
            }
            other => other,
        }
    }

    fn arguments(&self, request: &ChatRequest<'_>, resume: Option<&str>) -> Vec<String> {
        let mut args = self.args.clone();
        args.extend(HEADLESS_FLAGS.iter().map(|f| f.to_string()));
        if !request.model.is_empty() && request.model != DEFAULT_MODEL {
            args.push(format!("{MODEL_FLAG}={}", request.model));
        }
        if let Some(id) = resume {
            args.push(format!("{RESUME_FLAG}={id}"));
        }
        if let Some(system) = request.system.filter(|s| !s.trim().is_empty()) {
            args.push(format!("{SYSTEM_FLAG}={system}"));
        }
        args
    }

    fn run(
        &self,
        request: &ChatRequest<'_>,
        content: &[ContentBlock],
        resume: Option<&str>,
        limits: Limits,
        sink: &mut dyn Sink,
    ) -> Result<Message, ChatError> {
        let mut input = serde_json::to_vec(&json!({"type": "user", "message": {"role": "user", "content": content}}))
            .map_err(|e| ChatError::Interrupted(e.to_string()))?;
        input.push(b'\n');
        let args = self.arguments(request, resume);
        tracing::debug!(program = %self.program.display(), ?args, "starting Claude Code");
        let mut child = Running::start(&self.program, &args, &self.workspace, input).map_err(|e| {
            let program = self.program.display().to_string();
            match e.kind() {
                std::io::ErrorKind::NotFound => Failure::NotInstalled { command: program },
                _ => Failure::CannotStart { program, reason: e.to_string() },
            }
        })?;
        let mut turn = TurnState::default();
        let mut parser = StreamJsonParser::new();
        let mut events = Vec::new();
        let mut buf = vec![0u8; READ_BUFFER_BYTES];
        let started = Instant::now();
        let mut total: u64 = 0;
        loop {
            // The result is in: a program that keeps its output open past the grace is done.
            if turn.result_at.is_some_and(|at| at.elapsed() > EXIT_GRACE) {
                break;
            }
            if sink.cancelled() {
                child.stop();
                return Err(ChatError::Cancelled);
            }
            if started.elapsed() > limits.max_response_time {
                child.stop();
                sink.after_read().map_err(ChatError::Output)?;
                return Err(ChatError::TooSlow(limits.max_response_time.as_secs()));
            }
            let n = match child.read(&mut buf, CANCEL_POLL) {
                Ok(Output::Stdout(n)) => n,
                Ok(Output::Idle) => continue,
                Ok(Output::End) => break,
                Err(e) => return Err(ChatError::Interrupted(format!("cannot read Claude Code's output: {e}"))),
            };
            total += n as u64;
            if total > limits.max_response_bytes {
                child.stop();
                sink.after_read().map_err(ChatError::Output)?;
                return Err(ChatError::TooLarge(limits.max_response_bytes / (1024 * 1024)));
            }
            let parsed = parser.feed(&buf[..n], &mut events);
            for event in events.drain(..) {
                self.handle(event, &mut turn, sink)?;
            }
            sink.after_read().map_err(ChatError::Output)?;
            if let Err(e) = parsed {
                child.stop();
                return Err(ChatError::Interrupted(e.to_string()));
            }
        }
        parser.finish(&mut events);
        for event in events.drain(..) {
            self.handle(event, &mut turn, sink)?;
        }
        sink.after_read().map_err(ChatError::Output)?;
        let status = child.wait(EXIT_GRACE);
        let Some(summary) = turn.summary.take() else {
            let stderr = child.stderr_tail();
            let detail = match stderr.lines().rev().find(|l| !l.trim().is_empty()) {
                Some(line) => format!(": {}", clip(&sanitize(line.trim()))),
                None => String::new(),
            };
            let hint = format!(
                "run `{} -p \"hello\"` in {} to see what it says, and check `args` in [providers.claude-code] of config.toml",
                self.program.display(),
                self.workspace.display()
            );
            return Err(Failure::Exited { status: status.to_string(), detail, hint }.into());
        };
        if let Some(failure) = failure(&summary) {
            return Err(failure.into());
        }
        for notice in notices(&summary) {
            sink.notice(&notice);
        }
        Ok(turn.into_message(summary))
    }

    /// Shows one event and keeps what the answer needs.
    fn handle(&self, event: Event, turn: &mut TurnState, sink: &mut dyn Sink) -> Result<(), ChatError> {
        match event {
            Event::Init { session_id, model, .. } => {
                // Saved now: a turn cut short is still continued next time.
                if let Err(e) = self.link().remember(&session_id, &self.workspace) {
                    sink.notice(&format!("{e:#}"));
                }
                turn.model = model.unwrap_or_default();
            }
            Event::Text(text) => {
                sink.event(&StreamEvent::TextDelta(text.as_str().into())).map_err(ChatError::Output)?;
                match turn.text.last_mut() {
                    Some(last) if !turn.block_closed => last.push_str(&text),
                    _ => turn.text.push(text),
                }
                turn.block_closed = false;
            }
            Event::Thinking(text) => {
                sink.event(&StreamEvent::ThinkingDelta(text.as_str().into())).map_err(ChatError::Output)?;
            }
            Event::ToolUse { id, name, input } => {
                let call = ForeignTool { display: display(&input), id: id.clone(), name, input };
                sink.event(&StreamEvent::ForeignToolStart(Box::new(call.clone()))).map_err(ChatError::Output)?;
                turn.open.insert(id, (call, Instant::now()));
                turn.block_closed = true;
            }
            Event::ToolResult { id, is_error, text } => {
                let (call, started) = turn.open.remove(&id).unwrap_or_else(|| {
                    let unknown = ForeignTool { id, name: "tool".into(), display: String::new(), input: Value::Null };
                    (unknown, Instant::now())
                });
                let summary =
                    if is_error { text.lines().next().unwrap_or_default().trim().to_string() } else { String::new() };
                let outcome = ForeignOutcome {
                    is_error,
                    duration: started.elapsed(),
                    summary,
                    bytes: text.len(),
                    preview: text.chars().take(PREVIEW_CHARS).collect(),
                };
                sink.event(&StreamEvent::ForeignToolEnd(Box::new(call), Box::new(outcome)))
                    .map_err(ChatError::Output)?;
            }
            Event::Result(summary) => {
                if let Some(id) = &summary.session_id
                    && let Err(e) = self.link().remember(id, &self.workspace)
                {
                    sink.notice(&format!("{e:#}"));
                }
                turn.summary = Some(*summary);
                turn.result_at = Some(Instant::now());
            }
        }
        Ok(())
    }
}

/// What one run gathered.
#[derive(Default)]
struct TurnState {
    model: String,
    /// The answer's text, one piece per stretch between tool calls.
    text: Vec<String>,
    block_closed: bool,
    /// Calls started and not yet answered, with when they started.
    open: HashMap<String, (ForeignTool, Instant)>,
    summary: Option<Summary>,
    result_at: Option<Instant>,
}

impl TurnState {
    /// The answer as pincer keeps it: the text the person saw (Claude Code keeps the rest).
    fn into_message(self, summary: Summary) -> Message {
        Message {
            id: summary.session_id.clone().unwrap_or_default(),
            model: self.model,
            content: self.text.iter().filter(|t| !t.is_empty()).map(|t| ContentBlock::text(t)).collect(),
            stop_reason: summary.stop_reason.clone(),
            usage: summary.usage,
            ..Message::default()
        }
    }
}

/// The person's new message: the last one, which is the user's. Text and images go as they are.
fn new_message(messages: &[ChatMessage]) -> Result<Vec<ContentBlock>, ChatError> {
    let content: Vec<ContentBlock> = messages
        .last()
        .filter(|m| m.role == Role::User)
        .map(|m| {
            m.content
                .iter()
                .filter(|b| {
                    matches!(b, ContentBlock::Text { text, .. } if !text.is_empty())
                        || matches!(b, ContentBlock::Image { .. })
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    if content.is_empty() {
        return Err(ChatError::Interrupted("there is no new message to send to Claude Code".into()));
    }
    Ok(content)
}

/// A tool call in one line: the input field that says most (a command, a path), else the input.
fn display(input: &Value) -> String {
    DISPLAY_KEYS
        .iter()
        .find_map(|key| input.get(key).and_then(Value::as_str).filter(|s| !s.trim().is_empty()))
        .map(|s| s.lines().next().unwrap_or_default().to_string())
        .unwrap_or_else(|| match input {
            Value::Null => String::new(),
            other => other.to_string(),
        })
}

/// The failure a result reports, if it reports one.
fn failure(summary: &Summary) -> Option<Failure> {
    if !summary.is_error {
        return None;
    }
    let text = summary.result.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let errors = summary.errors.join("; ");
    let message = clip(&sanitize(text.unwrap_or(if errors.is_empty() { summary.subtype.as_str() } else { &errors })));
    if let Some(gone) = summary.errors.iter().find(|e| e.contains(SESSION_GONE)) {
        let id = gone.rsplit(' ').next().unwrap_or_default();
        return Some(Failure::SessionGone { id: sanitize(id).into_owned() });
    }
    let auth = matches!(summary.api_error_status, Some(401 | 403))
        || summary.api_error_type.as_deref() == Some("authentication_error")
        || message.starts_with("Not logged in");
    if auth {
        return Some(Failure::NotLoggedIn { message });
    }
    if let Some(status) = summary.api_error_status {
        let hint = match status {
            429 => {
                "Claude Code was rate limited or reached a usage limit: wait, then try again (`claude`, then /usage, shows its limits)"
            }
            500..=599 => "a server-side problem, usually temporary: try again in a moment",
            _ => "run `claude` in the workspace to see more",
        };
        return Some(Failure::Api { status: Some(status), message, hint });
    }
    let (reason, hint) = match summary.subtype.as_str() {
        "error_max_turns" => (
            format!("it reached its limit of model calls ({message})"),
            "raise `--max-turns` in `args` of [providers.claude-code], or ask for less per message",
        ),
        "error_max_budget_usd" => (
            format!("it reached its spending limit ({message})"),
            "raise `--max-budget-usd` in `args` of [providers.claude-code]",
        ),
        _ => (message, "run `claude` in the workspace to see more"),
    };
    Some(Failure::Stopped { reason, hint })
}

/// What a person should know of a finished turn: its cost and time, and the calls Claude Code's
/// permissions refused (with how to allow them: its permissions are its own).
fn notices(summary: &Summary) -> Vec<String> {
    let mut out = Vec::new();
    let mut figures = Vec::new();
    if let Some(n) = summary.num_turns {
        figures.push(if n == 1 { "1 model call".to_string() } else { format!("{n} model calls") });
    }
    if let Some(ms) = summary.duration_ms {
        figures.push(format!("{:.1} s", ms as f64 / 1000.0));
    }
    if let Some(cost) = summary.total_cost_usd.filter(|c| *c > 0.0) {
        figures.push(format!("${cost:.4} at API prices"));
    }
    if !figures.is_empty() {
        out.push(format!("Claude Code: {}", figures.join(", ")));
    }
    if !summary.permission_denials.is_empty() {
        let refused: Vec<String> = summary
            .permission_denials
            .iter()
            .map(|(name, input)| {
                let call = display(input);
                if call.is_empty() {
                    sanitize(name).into_owned()
                } else {
                    format!("{} ({})", sanitize(name), clip(&sanitize(&call)))
                }
            })
            .collect();
        out.push(format!(
            "Claude Code's permissions refused: {}; they are Claude Code's own: allow tools with `args` in [providers.claude-code] of config.toml, e.g. [\"--allowedTools\", \"Bash(git *)\"] or [\"--permission-mode\", \"acceptEdits\"]",
            refused.join(", ")
        ));
    }
    out
}

fn clip(text: &str) -> String {
    match text.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// Where a link file goes for a session file, for the composition root.
pub fn link_file(session: &Path) -> PathBuf {
    link::file_for(session)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary_of(name: &str) -> Summary {
        let path = format!("{}/tests/fixtures/claude-code/{name}", env!("CARGO_MANIFEST_DIR"));
        let mut parser = StreamJsonParser::new();
        let mut events = Vec::new();
        parser.feed(&std::fs::read(path).unwrap(), &mut events).unwrap();
        match events.pop() {
            Some(Event::Result(s)) => *s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn results_map_to_failures_with_hints() {
        let text = |f: Option<Failure>| f.map(|f| f.to_string()).unwrap_or_default();
        assert_eq!(failure(&summary_of("text.jsonl")), None);
        assert_eq!(failure(&summary_of("tool-denied.jsonl")), None);
        let e = text(failure(&summary_of("api-error-401.jsonl")));
        assert!(e.starts_with("Claude Code could not authenticate: Invalid API key"), "{e}");
        assert!(e.lines().last().unwrap().starts_with("hint: run `claude` and log in"), "{e}");
        assert!(e.contains("never passes it pincer's credentials"), "{e}");
        let e = text(failure(&summary_of("not-logged-in.jsonl")));
        assert!(e.starts_with("Claude Code could not authenticate: Not logged in"), "{e}");
        let e = failure(&summary_of("api-error-429.jsonl")).unwrap();
        assert!(matches!(&e, Failure::Api { status: Some(429), .. }), "{e:?}");
        assert!(e.to_string().contains("rate limited") && e.to_string().contains("/usage"), "{e}");
        let e = text(failure(&summary_of("api-error-500.jsonl")));
        assert!(e.contains("API Error: 500 boom") && e.contains("hint: a server-side problem"), "{e}");
        let e = text(failure(&summary_of("api-error-400.jsonl")));
        assert!(e.starts_with("Claude Code's request failed: API Error: 400 This credential"), "{e}");
        assert_eq!(
            failure(&summary_of("resume-missing.jsonl")),
            Some(Failure::SessionGone { id: "00000000-c3ba-4ae3-9f01-f725ed429bc5".into() })
        );
        let limits = Summary { is_error: true, subtype: "error_max_turns".into(), ..Summary::default() };
        assert!(text(failure(&limits)).contains("--max-turns"));
    }

    #[test]
    fn a_finished_turn_tells_its_cost_and_refused_calls() {
        let n = notices(&summary_of("text.jsonl"));
        assert_eq!(n.len(), 1, "{n:?}");
        assert!(n[0].starts_with("Claude Code: 1 model call, ") && n[0].contains("at API prices"), "{n:?}");
        let n = notices(&summary_of("tool-denied.jsonl"));
        assert!(n[0].starts_with("Claude Code: 2 model calls"), "{n:?}");
        assert!(n[1].contains("refused: Bash (touch made-by-claude)") && n[1].contains("--allowedTools"), "{n:?}");
    }

    #[test]
    fn a_credential_in_args_is_refused_before_anything_runs() {
        let key = format!("sk-ant-api03-{}", "k".repeat(95));
        let args = vec!["--settings".to_string(), format!(r#"{{"env":{{"ANTHROPIC_API_KEY":"{key}"}}}}"#)];
        let err = ClaudeCode::new("/bin/claude".into(), args, "/w".into(), None).unwrap_err();
        let text = format!("{err:#}");
        assert!(err.is::<crate::exit::UsageError>() && text.contains("[providers.claude-code]"), "{text}");
        assert!(!text.contains(&key) && text.lines().last().unwrap().starts_with("hint: "), "{text}");
    }

    #[test]
    fn tool_calls_show_what_they_do() {
        assert_eq!(display(&json!({"command": "cargo test\n--all", "description": "Run"})), "cargo test");
        assert_eq!(display(&json!({"file_path": "/w/a.txt"})), "/w/a.txt");
        assert_eq!(display(&json!({"todos": [1]})), r#"{"todos":[1]}"#);
        assert_eq!(display(&Value::Null), "");
    }

    #[test]
    fn only_the_new_message_goes_and_pincer_adds_its_flags_after_the_persons() {
        let history = [
            ChatMessage::user_text("first"),
            ChatMessage { role: Role::Assistant, content: vec![ContentBlock::text("answer")] },
            ChatMessage::user_text("second"),
        ];
        assert_eq!(new_message(&history).unwrap(), vec![ContentBlock::text("second")]);
        assert!(new_message(&history[..2]).is_err(), "no new message: nothing is sent");
        let cc = ClaudeCode::new(
            "/bin/claude".into(),
            vec!["--permission-mode".into(), "acceptEdits".into()],
            "/w".into(),
            None,
        )
        .unwrap();
        let request = ChatRequest {
            model: "sonnet",
            system: Some("be brief"),
            messages: &history,
            max_tokens: None,
            temperature: None,
            tools: &[],
        };
        let args = cc.arguments(&request, Some("3e341030-c3ba-4ae3-9f01-f725ed429bc5"));
        assert_eq!(&args[..2], ["--permission-mode", "acceptEdits"]);
        let joined = args.join(" ");
        assert!(joined.contains("-p --output-format stream-json --input-format stream-json --verbose"), "{joined}");
        assert_eq!(
            &args[args.len() - 3..],
            ["--model=sonnet", "--resume=3e341030-c3ba-4ae3-9f01-f725ed429bc5", "--append-system-prompt=be brief"]
        );
        assert!(!joined.contains("second"), "the message goes on stdin, not argv");
        // A value that looks like a flag stays the flag's value.
        let odd = ChatRequest { model: "--dangerously-skip-permissions", ..request };
        assert!(cc.arguments(&odd, None).contains(&"--model=--dangerously-skip-permissions".to_string()));
        let default = ChatRequest { model: DEFAULT_MODEL, system: None, ..request };
        let flags = [MODEL_FLAG, RESUME_FLAG, SYSTEM_FLAG];
        assert!(!cc.arguments(&default, None).iter().any(|a| flags.iter().any(|f| a.starts_with(f))));
    }
}
