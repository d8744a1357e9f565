//! What a turn tells the outside world as it runs, and nothing else: the turn engine never writes
//! to stdout or reads a global. The terminal renderer, `--json` and tests implement [`TurnEvents`];
//! a chat channel can be one later.

use std::io;
use std::time::Duration;

use crate::usage::UsageSnapshot;

pub use crate::cancel::CancelToken;

/// A tool call as a person sees it.
#[derive(Debug, Clone, Copy)]
pub struct ToolCallView<'a> {
    pub id: &'a str,
    pub name: &'a str,
    /// The call in one line: `cargo test`, `src/main.rs`.
    pub display: &'a str,
}

/// How a tool call ended.
#[derive(Debug, Clone, Copy)]
pub struct ToolResultView<'a> {
    pub is_error: bool,
    pub duration: Duration,
    /// `exit 0`, `120 lines`, `denied by rule bash(rm:*)`.
    pub summary: &'a str,
    /// Bytes of the result sent to the model.
    pub bytes: usize,
    /// The start of the result's text (untrusted: a renderer sanitises it).
    pub preview: &'a str,
}

/// Receives a turn's progress. Called from the turn's threads (hence `Send`); text arrives in
/// batches, one per network read, followed by [`TurnEvents::flush`].
pub trait TurnEvents: Send {
    /// Model text as it streams (untrusted).
    fn text(&mut self, text: &str) -> io::Result<()>;
    /// Extended thinking as it streams (untrusted).
    fn thinking(&mut self, text: &str);
    /// Makes what arrived visible: called once per network read.
    fn flush(&mut self) -> io::Result<()>;
    /// One model call's answer is complete.
    fn step_end(&mut self) -> io::Result<()>;
    fn tool_start(&mut self, call: &ToolCallView<'_>);
    /// A running call's latest line of progress or output (untrusted).
    fn tool_progress(&mut self, call: &ToolCallView<'_>, line: &str);
    fn tool_end(&mut self, call: &ToolCallView<'_>, result: &ToolResultView<'_>);
    /// Something the person should know: a retry, a refused call, a warning.
    fn notice(&mut self, text: &str);
    /// Fresh rate-limit figures from a response's headers.
    fn rate_limits(&mut self, _snapshot: &UsageSnapshot) {}
}
