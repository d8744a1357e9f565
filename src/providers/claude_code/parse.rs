//! Claude Code's `--output-format stream-json` output, read as events: bytes in, events out, no
//! I/O — so it is tested on recorded real output (tests/fixtures/claude-code/).
//!
//! Each line is one JSON object with a `type`: `system` (`init` names the session, the model and
//! the version), `stream_event` (the raw Anthropic stream, with `--include-partial-messages`),
//! `assistant` (each finished content block: tool calls arrive whole here), `user` (the results of
//! the tools Claude Code ran), and `result` (the turn's end: cost, usage, errors). Unknown types
//! and fields are ignored, as are lines that are not JSON; a line past [`MAX_LINE_BYTES`] is an
//! error (nothing legitimate is that long: Claude Code caps what its tools return).
//!
//! Text is taken from the stream events, as it arrives; an assistant message whose text was not
//! streamed (an older Claude Code, a non-streaming fallback) is shown whole when it arrives.
//! Claude Code's own notes (`model: "<synthetic>"`, e.g. "Not logged in") are not answers: the
//! `result` line carries them as errors. Subagents' activity (`parent_tool_use_id` set) is left
//! out: the calls that started them are shown.

use std::collections::HashSet;

use serde_json::Value;

use crate::providers::message::Usage;

/// Longest line accepted.
pub const MAX_LINE_BYTES: usize = 32 * 1024 * 1024;
/// The model Claude Code names on messages it wrote itself (errors, interruptions).
const SYNTHETIC_MODEL: &str = "<synthetic>";

/// What one line meant.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The session started: its id (for `--resume`), model and Claude Code's version.
    Init { session_id: String, model: Option<String>, version: Option<String> },
    /// Answer text, to show as it arrives.
    Text(String),
    /// Extended thinking, as it arrives.
    Thinking(String),
    /// A tool call Claude Code is about to run.
    ToolUse { id: String, name: String, input: Value },
    /// A tool call's result, as Claude Code will send it to the model.
    ToolResult { id: String, is_error: bool, text: String },
    /// The turn ended.
    Result(Box<Summary>),
}

/// The `result` line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// `success`, `error_during_execution`, `error_max_turns`, `error_max_budget_usd`, …
    pub subtype: String,
    pub is_error: bool,
    /// The final answer's text, or the error's (`Invalid API key · Fix external API key`).
    pub result: Option<String>,
    pub session_id: Option<String>,
    pub stop_reason: Option<String>,
    /// The HTTP status of a failed API call, when one failed.
    pub api_error_status: Option<u16>,
    /// `authentication_error`, `rate_limit_error`, …
    pub api_error_type: Option<String>,
    /// Errors outside the API (`No conversation found with session ID: …`).
    pub errors: Vec<String>,
    /// What Claude Code reckons the turn cost at API prices.
    pub total_cost_usd: Option<f64>,
    pub duration_ms: Option<u64>,
    /// Model calls made.
    pub num_turns: Option<u64>,
    pub usage: Usage,
    /// Tool calls Claude Code's permissions refused: (tool, input).
    pub permission_denials: Vec<(String, Value)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("Claude Code wrote a line longer than {} MiB", MAX_LINE_BYTES / (1024 * 1024))]
    LineTooLong,
}

/// Splits the output into lines and turns each into events.
#[derive(Debug, Default)]
pub struct StreamJsonParser {
    line: Vec<u8>,
    /// Set while an over-long line is being skipped to its end.
    overflowed: bool,
    /// The API message the stream events belong to now.
    streaming: Option<String>,
    /// API messages whose text arrived as stream events.
    streamed: HashSet<String>,
}

impl StreamJsonParser {
    pub fn new() -> StreamJsonParser {
        StreamJsonParser::default()
    }

    /// Feeds a piece of output (split anywhere); complete lines' events go to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Event>) -> Result<(), ParseError> {
        let mut rest = bytes;
        while let Some(end) = memchr::memchr(b'\n', rest) {
            let (piece, after) = rest.split_at(end);
            rest = &after[1..];
            if self.overflowed {
                self.overflowed = false;
                self.line.clear();
                continue;
            }
            if self.line.is_empty() {
                self.parse_line(piece, out);
            } else {
                self.line.extend_from_slice(piece);
                let line = std::mem::take(&mut self.line);
                self.parse_line(&line, out);
                self.line = line;
                self.line.clear();
            }
        }
        if self.overflowed {
            return Ok(());
        }
        self.line.extend_from_slice(rest);
        if self.line.len() > MAX_LINE_BYTES {
            self.line = Vec::new();
            self.overflowed = true;
            return Err(ParseError::LineTooLong);
        }
        Ok(())
    }

    /// The output ended: a last line without a newline still counts.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        if !self.overflowed && !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.parse_line(&line, out);
        }
    }

    fn parse_line(&mut self, line: &[u8], out: &mut Vec<Event>) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        let Ok(value) = serde_json::from_slice::<Value>(line) else {
            tracing::debug!(bytes = line.len(), "claude-code: a line that is not JSON, ignored");
            return;
        };
        // Subagents' own streams and messages: their calls' results are shown instead.
        if value.get("parent_tool_use_id").is_some_and(|p| !p.is_null()) {
            return;
        }
        match str_at(&value, "type") {
            Some("system") => init(&value, out),
            Some("stream_event") => self.stream_event(value.get("event").unwrap_or(&Value::Null), out),
            Some("assistant") => self.assistant(value.get("message").unwrap_or(&Value::Null), out),
            Some("user") => tool_results(value.get("message").unwrap_or(&Value::Null), out),
            Some("result") => out.push(Event::Result(Box::new(summary(&value)))),
            _ => {}
        }
    }

    fn stream_event(&mut self, event: &Value, out: &mut Vec<Event>) {
        match str_at(event, "type") {
            Some("message_start") => {
                self.streaming = event.get("message").and_then(|m| str_at(m, "id")).map(str::to_string);
            }
            Some("content_block_delta") => {
                let delta = event.get("delta").unwrap_or(&Value::Null);
                let (kind, key) = match str_at(delta, "type") {
                    Some("text_delta") => (true, "text"),
                    Some("thinking_delta") => (false, "thinking"),
                    _ => return,
                };
                let Some(text) = str_at(delta, key).filter(|t| !t.is_empty()) else { return };
                if kind {
                    if let Some(id) = &self.streaming {
                        self.streamed.insert(id.clone());
                    }
                    out.push(Event::Text(text.to_string()));
                } else {
                    out.push(Event::Thinking(text.to_string()));
                }
            }
            _ => {}
        }
    }

    fn assistant(&mut self, message: &Value, out: &mut Vec<Event>) {
        let synthetic = str_at(message, "model") == Some(SYNTHETIC_MODEL);
        let streamed = str_at(message, "id").is_some_and(|id| self.streamed.contains(id));
        for block in blocks(message) {
            match str_at(block, "type") {
                Some("text") if !synthetic && !streamed => {
                    if let Some(text) = str_at(block, "text").filter(|t| !t.is_empty()) {
                        out.push(Event::Text(text.to_string()));
                    }
                }
                Some("tool_use") => out.push(Event::ToolUse {
                    id: str_at(block, "id").unwrap_or_default().to_string(),
                    name: str_at(block, "name").unwrap_or_default().to_string(),
                    input: block.get("input").cloned().unwrap_or(Value::Null),
                }),
                _ => {}
            }
        }
    }
}

fn init(value: &Value, out: &mut Vec<Event>) {
    if str_at(value, "subtype") != Some("init") {
        return;
    }
    let Some(session_id) = str_at(value, "session_id") else { return };
    out.push(Event::Init {
        session_id: session_id.to_string(),
        model: str_at(value, "model").map(str::to_string),
        version: str_at(value, "claude_code_version").map(str::to_string),
    });
}

fn tool_results(message: &Value, out: &mut Vec<Event>) {
    for block in blocks(message) {
        if str_at(block, "type") != Some("tool_result") {
            continue;
        }
        out.push(Event::ToolResult {
            id: str_at(block, "tool_use_id").unwrap_or_default().to_string(),
            is_error: block.get("is_error").and_then(Value::as_bool).unwrap_or(false),
            text: result_text(block.get("content").unwrap_or(&Value::Null)),
        });
    }
}

/// A result's content as text: a string, or text blocks joined (an image is named, not shown).
fn result_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| match str_at(p, "type") {
                Some("text") => str_at(p, "text").map(str::to_string),
                Some("image") => Some("[image]".to_string()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn summary(value: &Value) -> Summary {
    let count = |v: &Value, key: &str| v.get(key).and_then(Value::as_u64);
    let usage = value.get("usage").unwrap_or(&Value::Null);
    Summary {
        subtype: str_at(value, "subtype").unwrap_or_default().to_string(),
        is_error: value.get("is_error").and_then(Value::as_bool).unwrap_or(false),
        result: str_at(value, "result").map(str::to_string),
        session_id: str_at(value, "session_id").map(str::to_string),
        stop_reason: str_at(value, "stop_reason").map(str::to_string),
        api_error_status: count(value, "api_error_status").and_then(|s| u16::try_from(s).ok()),
        api_error_type: str_at(value, "api_error_type").map(str::to_string),
        errors: value
            .get("errors")
            .and_then(Value::as_array)
            .map(|e| e.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default(),
        total_cost_usd: value.get("total_cost_usd").and_then(Value::as_f64),
        duration_ms: count(value, "duration_ms"),
        num_turns: count(value, "num_turns"),
        usage: Usage {
            input_tokens: count(usage, "input_tokens"),
            output_tokens: count(usage, "output_tokens"),
            cache_creation_input_tokens: count(usage, "cache_creation_input_tokens"),
            cache_read_input_tokens: count(usage, "cache_read_input_tokens"),
        },
        permission_denials: value
            .get("permission_denials")
            .and_then(Value::as_array)
            .map(|d| {
                d.iter()
                    .map(|d| {
                        let name = str_at(d, "tool_name").unwrap_or_default().to_string();
                        (name, d.get("tool_input").cloned().unwrap_or(Value::Null))
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn str_at<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    value.get(key).and_then(Value::as_str)
}

fn blocks(message: &Value) -> impl Iterator<Item = &Value> {
    message.get("content").and_then(Value::as_array).into_iter().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/claude-code/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn events(bytes: &[u8]) -> Vec<Event> {
        let mut parser = StreamJsonParser::new();
        let mut out = Vec::new();
        parser.feed(bytes, &mut out).unwrap();
        parser.finish(&mut out);
        out
    }

    fn text(events: &[Event]) -> String {
        events.iter().filter_map(|e| if let Event::Text(t) = e { Some(t.as_str()) } else { None }).collect()
    }

    fn result(events: &[Event]) -> &Summary {
        match events.last() {
            Some(Event::Result(s)) => s,
            other => panic!("the last event is not the result: {other:?}"),
        }
    }

    #[test]
    fn a_plain_answer_streams_once_and_ends_with_its_result() {
        let events = events(&fixture("text.jsonl"));
        let Event::Init { session_id, version, .. } = &events[0] else { panic!("{:?}", events[0]) };
        assert_eq!(session_id.len(), 36, "a UUID: {session_id}");
        assert_eq!(version.as_deref(), Some("2.1.332"));
        // Streamed, and not repeated when the whole message arrives.
        assert_eq!(text(&events), "Hello from the fake.");
        let r = result(&events);
        assert_eq!((r.subtype.as_str(), r.is_error, r.stop_reason.as_deref()), ("success", false, Some("end_turn")));
        assert_eq!(r.session_id.as_deref(), Some(session_id.as_str()));
        assert_eq!((r.usage.input_tokens, r.usage.output_tokens), (Some(12), Some(5)));
        assert!(r.total_cost_usd.is_some_and(|c| c > 0.0) && r.num_turns == Some(1) && r.duration_ms.is_some());
    }

    #[test]
    fn tool_calls_and_their_results_are_told_apart_from_text() {
        let events = events(&fixture("tool-read.jsonl"));
        assert_eq!(text(&events), "Let me look.Hello from the fake.");
        let calls: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::ToolUse { id, name, input } => Some((id.as_str(), name.as_str(), input["file_path"].clone())),
                _ => None,
            })
            .collect();
        assert_eq!(calls, [("toolu_01", "Read", json!("/tmp/cc-home/work/a.txt"))]);
        let results: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::ToolResult { id, is_error, text } => Some((id.as_str(), *is_error, text.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(results, [("toolu_01", false, "1\thi\n2\t")]);
        // The call comes before its result, and the result before the text that follows it.
        let position = |f: &dyn Fn(&Event) -> bool| events.iter().position(f).unwrap();
        let call = position(&|e| matches!(e, Event::ToolUse { .. }));
        let answer = position(&|e| matches!(e, Event::ToolResult { .. }));
        let after = position(&|e| matches!(e, Event::Text(t) if t.starts_with("Hello")));
        assert!(call < answer && answer < after);
        assert_eq!(result(&events).num_turns, Some(2));
    }

    #[test]
    fn a_refused_call_is_an_error_result_and_a_denial() {
        let events = events(&fixture("tool-denied.jsonl"));
        assert!(
            events.iter().any(
                |e| matches!(e, Event::ToolResult { is_error: true, text, .. } if text.contains("needs approval"))
            )
        );
        let r = result(&events);
        assert!(!r.is_error);
        assert_eq!(r.permission_denials.len(), 1);
        assert_eq!(r.permission_denials[0].0, "Bash");
        assert_eq!(r.permission_denials[0].1["command"], "touch made-by-claude");
    }

    #[test]
    fn api_errors_are_results_not_answers() {
        for (name, status, kind, words) in [
            ("api-error-401.jsonl", Some(401), Some("authentication_error"), "Invalid API key"),
            (
                "api-error-400.jsonl",
                Some(400),
                Some("invalid_request_error"),
                "only authorized for use with Claude Code",
            ),
            ("api-error-429.jsonl", Some(429), Some("rate_limit_error"), "rate limited"),
            ("api-error-500.jsonl", Some(500), Some("api_error"), "boom"),
            ("not-logged-in.jsonl", None, None, "Not logged in"),
        ] {
            let events = events(&fixture(name));
            // Claude Code's synthetic message repeats the error: it is not shown as the answer.
            assert_eq!(text(&events), "", "{name}");
            let r = result(&events);
            assert!(r.is_error, "{name}");
            assert_eq!((r.api_error_status, r.api_error_type.as_deref()), (status, kind), "{name}");
            assert!(r.result.as_deref().unwrap_or_default().contains(words), "{name}: {:?}", r.result);
        }
    }

    #[test]
    fn a_missing_session_is_an_error_with_its_reason() {
        let events = events(&fixture("resume-missing.jsonl"));
        let r = result(&events);
        assert_eq!((r.subtype.as_str(), r.is_error), ("error_during_execution", true));
        assert_eq!(r.errors, ["No conversation found with session ID: 00000000-c3ba-4ae3-9f01-f725ed429bc5"]);
    }

    #[test]
    fn output_split_at_every_byte_gives_the_same_events() {
        let bytes = fixture("tool-read.jsonl");
        let whole = events(&bytes);
        for step in [1, 2, 7, 64, 1000] {
            let mut parser = StreamJsonParser::new();
            let mut out = Vec::new();
            for piece in bytes.chunks(step) {
                parser.feed(piece, &mut out).unwrap();
            }
            parser.finish(&mut out);
            assert_eq!(out, whole, "pieces of {step} bytes");
        }
    }

    #[test]
    fn odd_lines_are_ignored_and_a_last_line_without_newline_counts() {
        let input = b"not json\n\n{\"type\":\"mystery\"}\r\n{\"type\":\"stream_event\",\"parent_tool_use_id\":\"toolu_9\",\"event\":{\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"subagent\"}}}\n{\"type\":\"stream_event\",\"event\":{\"type\":\"content_block_delta\",\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hm\"}}}\n{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"result\":\"x\"}";
        let events = events(input);
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(events[0], Event::Thinking("hm".into()));
        assert_eq!(result(&events).result.as_deref(), Some("x"));
    }

    #[test]
    fn an_unstreamed_message_is_shown_whole() {
        let input = br#"{"type":"assistant","message":{"id":"m1","model":"claude-x","content":[{"type":"text","text":"whole"}]}}
{"type":"assistant","message":{"id":"m2","model":"<synthetic>","content":[{"type":"text","text":"Not logged in"}]}}
"#;
        assert_eq!(text(&events(input)), "whole");
    }

    #[test]
    fn an_endless_line_is_refused_and_the_next_one_still_read() {
        let mut parser = StreamJsonParser::new();
        let mut out = Vec::new();
        let chunk = vec![b'x'; 1024 * 1024];
        let mut refused = false;
        for _ in 0..=MAX_LINE_BYTES / chunk.len() {
            refused |= parser.feed(&chunk, &mut out) == Err(ParseError::LineTooLong);
        }
        assert!(refused);
        assert!(parser.line.capacity() < 2 * chunk.len(), "the long line is not kept");
        parser.feed(b"\n{\"type\":\"result\",\"subtype\":\"success\"}\n", &mut out).unwrap();
        assert!(matches!(out.as_slice(), [Event::Result(_)]), "{out:?}");
    }
}
