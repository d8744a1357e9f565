//! One turn of a conversation: stream the model's answer; while it asks for tools, run them and
//! send the results back; stop when it ends its turn, at the step limit, or when cancelled.
//!
//! The turn talks to the outside only through [`TurnEvents`] (what to show), the permission
//! [`Policy`] with an [`Approver`] (what the rules say, and what the person approves) and a
//! [`CancelToken`]; it never touches stdout, a TTY or a global. The same engine serves `-m`, the REPL, `--json`, and later a chat channel.
//!
//! The conversation stays valid whatever happens: every `tool_use` is answered by exactly one
//! `tool_result`, in the calls' order, in the next user message — a call that cannot run gets an
//! error result, a cancelled turn answers every open call with "cancelled by the user", and an
//! answer the API would reject back (empty, refused) is never stored.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde_json::Value;

use super::events::{CancelToken, ToolCallView, ToolResultView, TurnEvents};
use crate::providers::chat::{ChatError, ChatRequest, Limits, Sink};
use crate::providers::message::{ChatMessage, ContentBlock, ImageSource, Message, Role, StreamEvent, ToolSpec, Usage};
use crate::providers::routing::Endpoint;
use crate::tools::approve::{Answer, ApprovalRequest, Approver};
use crate::tools::policy::{self, Decision, Policy, Rule};
use crate::tools::{OutputPart, Registry, ToolContext, ToolOutput, check_input};
use crate::usage::cache::UsageCache;

/// Model calls per turn unless `--max-steps` says otherwise.
pub const DEFAULT_MAX_STEPS: u32 = 40;
/// Calls one answer may ask for; the rest are answered with an error (a hostile or confused model
/// asking for hundreds at once gets told to ask for fewer).
pub const MAX_CALLS_PER_STEP: usize = 32;
/// Largest tool input run (serialized JSON); `write_file` of more is refused.
pub const MAX_TOOL_INPUT_BYTES: usize = 8 * 1024 * 1024;
/// Characters of a result shown to the person as a preview.
const PREVIEW_CHARS: usize = 400;
const CANCEL_POLL: Duration = Duration::from_millis(50);
/// The text of a result whose tool produced none (the API rejects empty text blocks).
const NO_OUTPUT: &str = "(no output)";
pub const CANCELLED_BY_USER: &str = "cancelled by the user";
const INTERRUPTED_RESULT: &str = "no result: the conversation was interrupted before this call finished";

/// Saves a rule the person chose to keep (`[s]ave as a rule`) to config.toml.
pub type SaveRule = dyn Fn(&Rule) -> anyhow::Result<()>;

/// Where completed steps go as they happen: the session file, so a crash keeps what was done.
pub trait Transcript {
    fn append(&mut self, messages: &[ChatMessage]) -> anyhow::Result<()>;
}

/// No transcript: a conversation kept in memory only.
pub struct NoTranscript;

impl Transcript for NoTranscript {
    fn append(&mut self, _: &[ChatMessage]) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Everything a conversation's turns share with one model.
#[derive(Clone)]
pub struct ModelSettings {
    pub endpoint: Endpoint,
    pub model: String,
    pub system: Option<String>,
    pub max_tokens: Option<u64>,
    pub temperature: Option<f64>,
    pub limits: Limits,
    pub max_steps: u32,
    /// The model's context window in tokens, when known (compaction starts near it).
    pub context_window: Option<u64>,
    /// Where rate-limit headers are recorded (`usage.json`), and under which key.
    pub usage: Option<(UsageCache, String)>,
}

/// The tools of a conversation and where they work.
pub struct Workbench {
    pub registry: Registry,
    /// Canonical.
    pub workspace: PathBuf,
    /// `$PINCER_HOME`, canonical.
    pub home: PathBuf,
    /// Files read in this conversation (`write_file` wants a read first).
    pub read_files: Mutex<HashSet<PathBuf>>,
}

impl Workbench {
    /// The tools as the model sees them, in the registry's stable order.
    pub fn specs(&self) -> Vec<ToolSpec> {
        self.registry
            .iter()
            .map(|t| ToolSpec {
                name: t.name().to_string(),
                description: t.description().to_string(),
                input_schema: t.input_schema(),
            })
            .collect()
    }
}

/// One tool call, for `--json`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ToolCallRecord {
    pub name: String,
    pub input: Value,
    pub is_error: bool,
    pub duration_ms: u64,
}

/// How a turn ended.
#[derive(Debug)]
pub enum TurnEnd {
    /// The model ended its turn with an answer.
    Completed,
    /// The model's last answer is not one to keep (refused, or empty): nothing of it was stored.
    NoAnswer(super::keep::NotKept),
    /// `--max-steps` model calls were made and the model still wanted tools.
    MaxSteps,
    Cancelled,
    Failed(ChatError),
}

/// What a turn did.
#[derive(Debug)]
pub struct TurnReport {
    pub end: TurnEnd,
    /// The model's last answer, as received (its stop reason, for notices).
    pub last: Option<Message>,
    /// Every piece of text the model wrote in this turn, in order.
    pub text: String,
    /// Model calls made.
    pub steps: u32,
    pub tool_calls: Vec<ToolCallRecord>,
    /// Token counts summed over the steps.
    pub usage: Usage,
}

/// One turn, borrowing what the conversation owns.
pub struct Turn<'a> {
    pub settings: &'a ModelSettings,
    pub http: &'a crate::http::Client,
    /// `None`: a plain chat, no tools sent.
    pub workbench: Option<&'a Workbench>,
    pub policy: &'a mut Policy,
    pub approver: &'a mut dyn Approver,
    /// Saves a rule the person chose to keep (`[s]ave`) to config.toml.
    pub save_rule: &'a SaveRule,
    pub events: Arc<Mutex<dyn TurnEvents>>,
    pub cancel: CancelToken,
    /// Collect the model's text in the report (`--json`); otherwise it is only in the history.
    pub collect_text: bool,
}

impl Turn<'_> {
    /// Runs the turn that `user` starts. Completed steps are added to `history` and to
    /// `transcript` as they happen; a step that produced nothing storable adds nothing.
    pub fn run(
        &mut self,
        history: &mut Vec<ChatMessage>,
        user: ChatMessage,
        transcript: &mut dyn Transcript,
    ) -> TurnReport {
        let mut report = TurnReport {
            end: TurnEnd::Completed,
            last: None,
            text: String::new(),
            steps: 0,
            tool_calls: Vec::new(),
            usage: Usage::default(),
        };
        let specs: Arc<Vec<ToolSpec>> = Arc::new(self.workbench.map(Workbench::specs).unwrap_or_default());
        // Messages of this turn not yet in `history`: the user's, until the first answer is kept.
        let mut pending = vec![user];
        loop {
            if self.cancel.is_cancelled() {
                report.end = TurnEnd::Cancelled;
                break;
            }
            report.steps += 1;
            let request = request_messages(history.iter().chain(pending.iter()));
            let mut answer = match self.stream_step(request, specs.clone(), &mut report.tool_calls) {
                Ok(answer) => answer,
                Err(ChatError::Cancelled) => {
                    report.end = TurnEnd::Cancelled;
                    break;
                }
                Err(e) => {
                    report.end = TurnEnd::Failed(e);
                    break;
                }
            };
            add_usage(&mut report.usage, &answer.usage);
            if self.collect_text {
                for block in &answer.content {
                    if let ContentBlock::Text { text, .. } = block {
                        report.text.push_str(text);
                    }
                }
            }
            // The content moves into the history (a long answer is not copied); the report keeps
            // the rest (stop reason, usage).
            let content = std::mem::take(&mut answer.content);
            let stored = super::keep::keep_answer(answer.stop_reason.as_deref(), content);
            let input_errors = std::mem::take(&mut answer.tool_input_errors);
            report.last = Some(answer);
            let assistant = match stored {
                Ok(assistant) => assistant,
                Err(not_kept) => {
                    report.end = TurnEnd::NoAnswer(not_kept);
                    break;
                }
            };
            // Without tools (a plain chat) a tool call is kept as the model sent it; the next
            // request answers it as interrupted.
            let calls: Vec<(String, String, Value)> = match self.workbench {
                Some(_) => assistant
                    .tool_uses()
                    .map(|(id, name, input)| (id.to_string(), name.to_string(), input.clone()))
                    .collect(),
                None => Vec::new(),
            };
            pending.push(assistant);
            // The calls are kept before they run: a crash mid-tool leaves them open, and the next
            // request answers them as interrupted instead of losing what was asked.
            self.commit(history, &mut pending, transcript);
            if calls.is_empty() {
                break;
            }
            let at_limit = report.steps >= self.settings.max_steps;
            let results = self.run_calls(&calls, &input_errors, at_limit, &mut report.tool_calls);
            pending.push(ChatMessage { role: Role::User, content: results });
            self.commit(history, &mut pending, transcript);
            if self.cancel.is_cancelled() {
                report.end = TurnEnd::Cancelled;
                break;
            }
            if at_limit {
                report.end = TurnEnd::MaxSteps;
                break;
            }
        }
        report
    }

    /// One model call over `messages` (the same tools are sent, so the prompt cache still holds),
    /// and the text it answered: how a long conversation's summary is written.
    pub fn summarize(&self, messages: Vec<ChatMessage>) -> Result<String, ChatError> {
        let specs: Arc<Vec<ToolSpec>> = Arc::new(self.workbench.map(Workbench::specs).unwrap_or_default());
        let answer = self.stream_step(request_messages(messages.iter()), specs, &mut Vec::new())?;
        let text: String = answer
            .content
            .iter()
            .filter_map(|b| match b {
                ContentBlock::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        if text.trim().is_empty() {
            return Err(ChatError::Interrupted("the model wrote no summary".into()));
        }
        Ok(text)
    }

    /// Moves this turn's finished messages into the history and the transcript.
    fn commit(
        &mut self,
        history: &mut Vec<ChatMessage>,
        pending: &mut Vec<ChatMessage>,
        transcript: &mut dyn Transcript,
    ) {
        if pending.is_empty() {
            return;
        }
        if let Err(e) = transcript.append(pending) {
            self.notice(&format!("{e:#}"));
        }
        history.append(pending);
    }

    fn notice(&self, text: &str) {
        lock(&self.events).notice(text);
    }

    /// Streams one model call on a worker thread and waits for it, watching the cancel token:
    /// a blocked socket read cannot be interrupted, so a cancelled worker is left to end on its
    /// own, silent (it checks the token before every write) — except a local program's, which
    /// is waited for (briefly) so that nothing of it outlives the turn. Tools the provider ran on
    /// its own are added to `records`.
    fn stream_step(
        &self,
        messages: Vec<ChatMessage>,
        tools: Arc<Vec<ToolSpec>>,
        records: &mut Vec<ToolCallRecord>,
    ) -> Result<Message, ChatError> {
        let (tx, rx) = mpsc::channel();
        let settings = self.settings.clone();
        let http = self.http.clone();
        let foreign = Arc::new(Mutex::new(Vec::new()));
        let mut sink = StepSink {
            events: self.events.clone(),
            cancel: self.cancel.clone(),
            usage: settings.usage.clone(),
            text: String::new(),
            thinking: String::new(),
            foreign: foreign.clone(),
        };
        std::thread::spawn(move || {
            let request = ChatRequest {
                model: &settings.model,
                system: settings.system.as_deref(),
                messages: &messages,
                max_tokens: settings.max_tokens,
                temperature: settings.temperature,
                tools: &tools,
            };
            let result = settings.endpoint.stream(&http, &request, settings.limits, &mut sink);
            let _ = tx.send(result);
        });
        let take_foreign = |records: &mut Vec<ToolCallRecord>| {
            records.append(&mut foreign.lock().unwrap_or_else(|p| p.into_inner()));
        };
        loop {
            match rx.recv_timeout(CANCEL_POLL) {
                Ok(result) => {
                    take_foreign(records);
                    // What was printed ends on a new line, also when the answer broke off.
                    let ended = lock(&self.events).step_end();
                    let message = result?;
                    ended.map_err(ChatError::Output)?;
                    return Ok(message);
                }
                Err(mpsc::RecvTimeoutError::Timeout) if self.cancel.is_cancelled() => {
                    if let Some(wait) = self.settings.endpoint.cancel_wait() {
                        let _ = rx.recv_timeout(wait);
                    }
                    take_foreign(records);
                    return Err(ChatError::Cancelled);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(ChatError::Interrupted("the request thread ended unexpectedly".into()));
                }
            }
        }
    }

    /// Answers every call of `assistant`, in order: one result each, whatever happens.
    fn run_calls(
        &mut self,
        calls: &[(String, String, Value)],
        input_errors: &[(String, String)],
        at_limit: bool,
        records: &mut Vec<ToolCallRecord>,
    ) -> Vec<ContentBlock> {
        let mut results: Vec<Option<ToolOutput>> = vec![None; calls.len()];
        // Calls allowed without asking that may run side by side, waiting to be run.
        let mut batch: Vec<usize> = Vec::new();
        for (i, (id, name, input)) in calls.iter().enumerate() {
            let refusal = if self.cancel.is_cancelled() {
                Some(ToolOutput::error(CANCELLED_BY_USER))
            } else if at_limit {
                Some(ToolOutput::error(format!(
                    "not run: this turn reached its limit of {} model calls (--max-steps)",
                    self.settings.max_steps
                )))
            } else if i >= MAX_CALLS_PER_STEP {
                Some(ToolOutput::error(format!(
                    "not run: at most {MAX_CALLS_PER_STEP} tool calls are run per answer; ask for fewer at a time"
                )))
            } else if let Some((_, problem)) = input_errors.iter().find(|(call, _)| call == id) {
                Some(ToolOutput::error(problem.clone()))
            } else {
                None
            };
            if let Some(refusal) = refusal {
                results[i] = Some(refusal);
                continue;
            }
            match self.permit(name, input) {
                Permit::Run { parallel: true } => batch.push(i),
                Permit::Run { parallel: false } => {
                    self.run_batch(calls, std::mem::take(&mut batch), &mut results, records);
                    self.run_batch(calls, vec![i], &mut results, records);
                }
                Permit::Refused(output) => {
                    results[i] = Some(output);
                }
            }
        }
        self.run_batch(calls, batch, &mut results, records);
        calls
            .iter()
            .zip(results)
            .map(|((id, _, _), output)| {
                result_block(id, output.unwrap_or_else(|| ToolOutput::error(CANCELLED_BY_USER)))
            })
            .collect()
    }

    /// Whether one call may run: its tool exists, its input fits the schema and the hard limits,
    /// and the rules or the person allow it.
    fn permit(&mut self, name: &str, input: &Value) -> Permit {
        let Some(workbench) = self.workbench else {
            return Permit::Refused(ToolOutput::error(format!("unknown tool `{name}`: no tools are enabled")));
        };
        let Some(tool) = workbench.registry.get(name) else {
            let known: Vec<&str> = workbench.registry.iter().map(|t| t.name()).collect();
            return Permit::Refused(ToolOutput::error(format!(
                "unknown tool `{name}`; the tools are: {}",
                known.join(", ")
            )));
        };
        if let Err(problem) = check_input(&tool.input_schema(), input) {
            return Permit::Refused(ToolOutput::error(format!("invalid input for {name}: {problem}")));
        }
        if input.to_string().len() > MAX_TOOL_INPUT_BYTES {
            return Permit::Refused(ToolOutput::error(format!(
                "the input is larger than {} MiB; pass less at a time",
                MAX_TOOL_INPUT_BYTES / (1024 * 1024)
            )));
        }
        let read_files = &workbench.read_files;
        let no_progress = |_: &str| {};
        let ctx = ToolContext {
            workspace: &workbench.workspace,
            home: &workbench.home,
            cancel: &self.cancel,
            read_files,
            progress: &no_progress,
        };
        let target = match tool.access(input, &ctx) {
            Ok(target) => target,
            Err(problem) => return Permit::Refused(ToolOutput::error(problem)),
        };
        let parallel = tool.parallel_safe();
        let class = tool.class();
        let verdict = self.policy.decide(name, class, &target);
        match verdict.decision {
            Decision::Allow => Permit::Run { parallel },
            Decision::Deny => {
                self.notice(&format!("refused {name} {}: {}", tool.display(input), verdict.explain()));
                Permit::Refused(ToolOutput::error(format!("not run: {}", verdict.explain())))
            }
            Decision::Ask => {
                let suggestion = policy::suggest_rule(name, class, &target);
                if !self.approver.can_ask() {
                    let fix = suggestion.as_ref().map(policy::allow_flag).unwrap_or_else(|| format!("--allow {name}"));
                    self.notice(&format!(
                        "refused {name} {}: it needs approval and there is no terminal to ask on ({fix} allows it)",
                        tool.display(input)
                    ));
                    return Permit::Refused(ToolOutput::error(policy::refused_without_terminal(
                        name,
                        suggestion.as_ref(),
                    )));
                }
                let display = tool.display(input);
                let detail = tool.approval_detail(input, &ctx);
                let request = ApprovalRequest {
                    tool: name,
                    class,
                    display: &display,
                    detail: &detail,
                    suggested: suggestion.as_ref(),
                };
                match self.approver.ask(&request) {
                    Answer::Yes => Permit::Run { parallel: false },
                    Answer::Always(grant) => {
                        self.policy.allow_for_session(&grant);
                        Permit::Run { parallel: false }
                    }
                    Answer::Save(grant) => {
                        if let Err(e) = (self.save_rule)(grant.rule()) {
                            self.notice(&format!("the rule `{}` was not saved: {e:#}", grant.rule()));
                        }
                        self.policy.allow_for_session(&grant);
                        Permit::Run { parallel: false }
                    }
                    Answer::No => Permit::Refused(ToolOutput::error("the person declined this call; it was not run")),
                    Answer::Cancel => {
                        self.cancel.cancel();
                        Permit::Refused(ToolOutput::error(CANCELLED_BY_USER))
                    }
                }
            }
        }
    }

    /// Runs calls (side by side when there are several), reporting each to the events.
    fn run_batch(
        &self,
        calls: &[(String, String, Value)],
        batch: Vec<usize>,
        results: &mut [Option<ToolOutput>],
        records: &mut Vec<ToolCallRecord>,
    ) {
        let Some(workbench) = self.workbench else { return };
        if batch.is_empty() {
            return;
        }
        // Reads wait in the batch while a later call is asked about; Ctrl-C there means none runs.
        if self.cancel.is_cancelled() {
            for i in batch {
                results[i] = Some(ToolOutput::error(CANCELLED_BY_USER));
            }
            return;
        }
        let displays: Vec<String> = batch
            .iter()
            .map(|&i| workbench.registry.get(&calls[i].1).map(|t| t.display(&calls[i].2)).unwrap_or_default())
            .collect();
        for (&i, display) in batch.iter().zip(&displays) {
            let view = ToolCallView { id: &calls[i].0, name: &calls[i].1, display };
            lock(&self.events).tool_start(&view);
        }
        let events = &self.events;
        let cancel = &self.cancel;
        let run_one = |i: usize, display: &str| -> (ToolOutput, Duration) {
            let (id, name, input) = &calls[i];
            let started = Instant::now();
            let Some(tool) = workbench.registry.get(name) else {
                return (ToolOutput::error(format!("unknown tool `{name}`")), started.elapsed());
            };
            let progress = move |line: &str| {
                let view = ToolCallView { id, name, display };
                lock(events).tool_progress(&view, line);
            };
            let ctx = ToolContext {
                workspace: &workbench.workspace,
                home: &workbench.home,
                cancel,
                read_files: &workbench.read_files,
                progress: &progress,
            };
            (tool.call(input, &ctx), started.elapsed())
        };
        let outcomes: Vec<(ToolOutput, Duration)> = if batch.len() == 1 {
            vec![run_one(batch[0], &displays[0])]
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> =
                    batch.iter().zip(&displays).map(|(&i, display)| scope.spawn(move || run_one(i, display))).collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| (ToolOutput::error("the tool failed unexpectedly"), Duration::ZERO))
                    })
                    .collect()
            })
        };
        for ((&i, display), (output, duration)) in batch.iter().zip(&displays).zip(outcomes) {
            let (id, name, input) = &calls[i];
            let text = output.joined_text();
            let preview: String = text.chars().take(PREVIEW_CHARS).collect();
            let view = ToolCallView { id, name, display };
            let result = ToolResultView {
                is_error: output.is_error,
                duration,
                summary: &output.summary,
                bytes: output.size(),
                preview: &preview,
            };
            lock(&self.events).tool_end(&view, &result);
            records.push(ToolCallRecord {
                name: name.clone(),
                input: input.clone(),
                is_error: output.is_error,
                duration_ms: duration.as_millis().try_into().unwrap_or(u64::MAX),
            });
            results[i] = Some(output);
        }
    }
}

/// The outcome of asking whether a call may run.
enum Permit {
    /// Allowed; `parallel` when it may run beside other allowed reads.
    Run {
        parallel: bool,
    },
    Refused(ToolOutput),
}

fn lock(events: &Mutex<dyn TurnEvents>) -> std::sync::MutexGuard<'_, dyn TurnEvents + 'static> {
    // A panic while holding the lock leaves the renderer usable enough to report it.
    events.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn add_usage(total: &mut Usage, step: &Usage) {
    let add = |a: &mut Option<u64>, b: Option<u64>| {
        if let Some(b) = b {
            *a = Some(a.unwrap_or(0) + b);
        }
    };
    add(&mut total.input_tokens, step.input_tokens);
    add(&mut total.output_tokens, step.output_tokens);
    add(&mut total.cache_creation_input_tokens, step.cache_creation_input_tokens);
    add(&mut total.cache_read_input_tokens, step.cache_read_input_tokens);
}

/// A tool's output as the `tool_result` block that answers call `id`.
fn result_block(id: &str, output: ToolOutput) -> ContentBlock {
    let mut content: Vec<ContentBlock> = output
        .parts
        .into_iter()
        .filter_map(|part| match part {
            OutputPart::Text(text) if text.is_empty() => None,
            OutputPart::Text(text) => Some(ContentBlock::Text { text, citations: Vec::new() }),
            OutputPart::Image { media_type, data } => {
                Some(ContentBlock::Image { source: ImageSource { kind: "base64".into(), media_type, data } })
            }
        })
        .collect();
    if content.is_empty() {
        content.push(ContentBlock::text(NO_OUTPUT));
    }
    ContentBlock::ToolResult { tool_use_id: id.to_string(), content, is_error: output.is_error }
}

/// The history as it is sent: consecutive messages of one role merged (a turn that ended on tool
/// results is followed by the person's next message), every `tool_use` answered in the next user
/// message (a crash or an older session may have left one open), results without their call
/// dropped, empty text blocks and empty messages removed, and the history starting with the user.
pub fn request_messages<'m>(history: impl Iterator<Item = &'m ChatMessage>) -> Vec<ChatMessage> {
    let mut merged: Vec<ChatMessage> = Vec::new();
    for message in super::keep::sendable_iter(history) {
        if merged.is_empty() && message.role == Role::Assistant {
            continue;
        }
        match merged.last_mut() {
            Some(last) if last.role == message.role => last.content.extend(message.content),
            _ => merged.push(message),
        }
    }
    let mut out: Vec<ChatMessage> = Vec::with_capacity(merged.len() + 1);
    let mut open_calls: Vec<String> = Vec::new();
    for message in merged {
        match message.role {
            Role::Assistant => {
                if !open_calls.is_empty() {
                    out.push(ChatMessage { role: Role::User, content: interrupted_results(&open_calls, &[]) });
                }
                open_calls = message.tool_uses().map(|(id, _, _)| id.to_string()).collect();
                out.push(message);
            }
            Role::User => {
                let mut results = Vec::new();
                let mut rest = Vec::new();
                for block in message.content {
                    match &block {
                        ContentBlock::ToolResult { tool_use_id, .. } => {
                            let answers_open_call = open_calls.contains(tool_use_id);
                            let first_answer = !results.iter().any(
                                |r| matches!(r, ContentBlock::ToolResult { tool_use_id: t, .. } if t == tool_use_id),
                            );
                            if answers_open_call && first_answer {
                                results.push(block);
                            }
                        }
                        _ => rest.push(block),
                    }
                }
                // Results in the calls' order, a missing one filled in; then the person's words.
                let mut content = interrupted_results(&open_calls, &results);
                open_calls.clear();
                content.extend(rest);
                if !content.is_empty() {
                    out.push(ChatMessage { role: Role::User, content });
                }
            }
        }
    }
    if !open_calls.is_empty() {
        out.push(ChatMessage { role: Role::User, content: interrupted_results(&open_calls, &[]) });
    }
    out
}

/// One result per open call, in the calls' order: the one given, or an "interrupted" error.
fn interrupted_results(open_calls: &[String], given: &[ContentBlock]) -> Vec<ContentBlock> {
    let mut content: Vec<ContentBlock> = open_calls
        .iter()
        .map(|id| {
            given
                .iter()
                .find(|b| matches!(b, ContentBlock::ToolResult { tool_use_id, .. } if tool_use_id == id))
                .cloned()
                .unwrap_or_else(|| ContentBlock::ToolResult {
                    tool_use_id: id.clone(),
                    content: vec![ContentBlock::text(INTERRUPTED_RESULT)],
                    is_error: true,
                })
        })
        .collect();
    if open_calls.is_empty() {
        content.extend(given.iter().cloned());
    }
    content
}

/// Feeds a model call's stream to the events: text batched per network read (one lock and one
/// flush per read, no allocation per delta), rate-limit headers recorded.
struct StepSink {
    events: Arc<Mutex<dyn TurnEvents>>,
    cancel: CancelToken,
    usage: Option<(UsageCache, String)>,
    text: String,
    thinking: String,
    /// Tools the provider ran on its own (Claude Code's), for the turn's report.
    foreign: Arc<Mutex<Vec<ToolCallRecord>>>,
}

impl StepSink {
    /// Hands the batched pieces over, thinking first when both are waiting.
    fn forward(&mut self, events: &mut dyn TurnEvents) -> std::io::Result<()> {
        if !self.thinking.is_empty() {
            events.thinking(&self.thinking);
            self.thinking.clear();
        }
        if !self.text.is_empty() {
            let result = events.text(&self.text);
            self.text.clear();
            result?;
        }
        Ok(())
    }
}

impl Sink for StepSink {
    fn event(&mut self, event: &StreamEvent<'_>) -> std::io::Result<()> {
        match event {
            StreamEvent::TextDelta(text) => {
                if !self.thinking.is_empty() {
                    let events = self.events.clone();
                    self.forward(&mut *lock(&events))?;
                }
                self.text.push_str(text);
            }
            StreamEvent::ThinkingDelta(text) => {
                if !self.text.is_empty() {
                    let events = self.events.clone();
                    self.forward(&mut *lock(&events))?;
                }
                self.thinking.push_str(text);
            }
            StreamEvent::ForeignToolStart(call) => {
                if self.cancelled() {
                    return Ok(());
                }
                let events = self.events.clone();
                let mut events = lock(&events);
                // The text before the call is shown, on a line of its own, before its status line.
                self.forward(&mut *events)?;
                events.step_end()?;
                events.tool_start(&ToolCallView { id: &call.id, name: &call.name, display: &call.display });
            }
            StreamEvent::ForeignToolEnd(call, outcome) => {
                self.foreign.lock().unwrap_or_else(|p| p.into_inner()).push(ToolCallRecord {
                    name: call.name.clone(),
                    input: call.input.clone(),
                    is_error: outcome.is_error,
                    duration_ms: outcome.duration.as_millis().try_into().unwrap_or(u64::MAX),
                });
                if self.cancelled() {
                    return Ok(());
                }
                let view = ToolCallView { id: &call.id, name: &call.name, display: &call.display };
                let result = ToolResultView {
                    is_error: outcome.is_error,
                    duration: outcome.duration,
                    summary: &outcome.summary,
                    bytes: outcome.bytes,
                    preview: &outcome.preview,
                };
                lock(&self.events).tool_end(&view, &result);
            }
            _ => {}
        }
        Ok(())
    }

    fn after_read(&mut self) -> std::io::Result<()> {
        if self.cancelled() {
            return Ok(());
        }
        let events = self.events.clone();
        let mut events = lock(&events);
        self.forward(&mut *events)?;
        events.flush()
    }

    fn response_headers(&mut self, headers: &ureq::http::HeaderMap) {
        let Some(snapshot) = crate::usage::headers::parse(crate::http::header_pairs(headers), Timestamp::now()) else {
            return;
        };
        if let Some((cache, key)) = &self.usage
            && let Err(e) = cache.record(key, snapshot.clone())
        {
            tracing::warn!("cannot update usage.json: {e:#}");
        }
        if !self.cancelled() {
            lock(&self.events).rate_limits(&snapshot);
        }
    }

    fn notice(&mut self, text: &str) {
        if !self.cancelled() {
            lock(&self.events).notice(text);
        }
    }

    fn cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(text: &str) -> ChatMessage {
        ChatMessage::user_text(text)
    }

    fn assistant(blocks: Vec<ContentBlock>) -> ChatMessage {
        ChatMessage { role: Role::Assistant, content: blocks }
    }

    fn call(id: &str) -> ContentBlock {
        ContentBlock::ToolUse { id: id.into(), name: "t".into(), input: json!({}) }
    }

    fn result(id: &str, text: &str) -> ContentBlock {
        ContentBlock::ToolResult { tool_use_id: id.into(), content: vec![ContentBlock::text(text)], is_error: false }
    }

    fn ids(message: &ChatMessage) -> Vec<String> {
        message
            .content
            .iter()
            .filter_map(|b| match b {
                ContentBlock::ToolResult { tool_use_id, .. } => Some(tool_use_id.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_valid_history_is_sent_as_is() {
        let h =
            [user("q"), assistant(vec![call("a")]), ChatMessage { role: Role::User, content: vec![result("a", "r")] }];
        assert_eq!(request_messages(h.iter()), h);
    }

    #[test]
    fn open_calls_get_interrupted_results_and_orphans_are_dropped() {
        // A crash after the call was stored: the next question follows an open call.
        let h = [user("q"), assistant(vec![call("a"), call("b")]), user("next")];
        let sent = request_messages(h.iter());
        assert_eq!(sent.len(), 3);
        assert_eq!(ids(&sent[2]), ["a", "b"]);
        assert!(matches!(sent[2].content.last(), Some(ContentBlock::Text { text, .. }) if text == "next"));
        // Results out of order, duplicated, or for a call that does not exist.
        let h = [
            user("q"),
            assistant(vec![ContentBlock::text("x"), call("a"), call("b")]),
            ChatMessage {
                role: Role::User,
                content: vec![result("b", "rb"), result("zz", "orphan"), result("a", "ra"), result("a", "again")],
            },
        ];
        let sent = request_messages(h.iter());
        assert_eq!(ids(&sent[2]), ["a", "b"]);
        assert!(
            matches!(&sent[2].content[0], ContentBlock::ToolResult { content, .. } if content == &vec![ContentBlock::text("ra")])
        );
        // The history ends on an open call.
        let sent = request_messages([user("q"), assistant(vec![call("a")])].iter());
        assert_eq!(ids(&sent[2]), ["a"]);
    }

    #[test]
    fn same_role_messages_merge_and_empty_ones_vanish() {
        let h = [
            assistant(vec![ContentBlock::text("stray start")]),
            user("q"),
            assistant(vec![call("a")]),
            ChatMessage { role: Role::User, content: vec![result("a", "r")] },
            user("and now?"),
        ];
        let sent = request_messages(h.iter());
        assert_eq!(sent.len(), 3, "{sent:#?}");
        assert_eq!(sent[0], user("q"));
        assert_eq!(sent[2].content.len(), 2);
        assert_eq!(ids(&sent[2]), ["a"]);
    }

    #[test]
    fn results_are_never_empty() {
        let block = result_block("a", ToolOutput::text("", ""));
        assert_eq!(
            block,
            ContentBlock::ToolResult {
                tool_use_id: "a".into(),
                content: vec![ContentBlock::text(NO_OUTPUT)],
                is_error: false
            }
        );
    }
}
