//! Accumulates an OpenAI-compatible `chat/completions` stream into the common [`Message`].
//!
//! The stream is SSE `data:` lines, each a `chat.completion.chunk` JSON object, ended by
//! `data: [DONE]`. Deltas carry `content` (and, on servers that think aloud, `reasoning_content`
//! or `reasoning`); the last choice chunk has a `finish_reason`; with
//! `stream_options.include_usage` a final chunk with empty `choices` carries `usage`. An error
//! may arrive as `data: {"error": {...}}` after the 200. The same rule as for Anthropic holds: a
//! stream that ends before `[DONE]` and without a `finish_reason` is cut off, never a success.
//!
//! Finish reasons are mapped to Anthropic's stop reasons so the rest of pincer has one
//! vocabulary: `stop` → `end_turn`, `length` → `max_tokens`, `content_filter` → `refusal`,
//! `tool_calls` → `tool_use`.

use std::borrow::Cow;

use serde::Deserialize;

use super::anthropic_stream::StreamError;
use super::message::{ContentBlock, Message, StreamEvent, Usage};
use super::sse::SseEvent;

const DONE: &str = "[DONE]";

#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(default)]
    choices: Vec<Choice<'a>>,
    #[serde(default)]
    usage: Option<ChunkUsage>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(default, borrow)]
    delta: Option<Delta<'a>>,
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(default, borrow)]
    content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tool_calls: Vec<ToolCallDelta<'a>>,
    #[serde(default, borrow)]
    reasoning_content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    reasoning: Option<Cow<'a, str>>,
}

/// One piece of a streamed tool call; pieces with the same `index` make one call.
#[derive(Deserialize)]
struct ToolCallDelta<'a> {
    #[serde(default)]
    index: Option<usize>,
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    function: Option<FunctionDelta<'a>>,
}

#[derive(Deserialize)]
struct FunctionDelta<'a> {
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    arguments: Option<Cow<'a, str>>,
}

/// A tool call being assembled.
#[derive(Debug, Default)]
struct PendingCall {
    id: String,
    name: String,
    arguments: String,
}

#[derive(Deserialize)]
struct ChunkUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
}

#[derive(Debug, Default)]
pub struct OpenAiAccumulator {
    id: String,
    model: String,
    text: String,
    started: bool,
    finish_reason: Option<String>,
    done: bool,
    usage: Usage,
    /// Tool calls by their stream index, in index order.
    calls: Vec<(usize, PendingCall)>,
}

impl OpenAiAccumulator {
    pub fn new() -> Self {
        Self::default()
    }

    /// True once `[DONE]` arrived: nothing more will come.
    pub fn is_complete(&self) -> bool {
        self.done
    }

    pub fn push<'e>(&mut self, event: &SseEvent<'e>) -> Result<Option<StreamEvent<'e>>, StreamError> {
        let data = event.data.trim();
        if self.done || data.is_empty() {
            return Ok(None);
        }
        if data == DONE {
            self.done = true;
            return Ok(None);
        }
        let chunk: Chunk<'_> = serde_json::from_str(data)
            .map_err(|source| StreamError::Malformed { event: "chat.completion.chunk", source })?;
        if let Some(error) = chunk.error {
            return Err(api_error(&error));
        }
        if !self.started {
            self.started = true;
            self.id = chunk.id.as_deref().unwrap_or_default().to_string();
            self.model = chunk.model.as_deref().unwrap_or_default().to_string();
        }
        if let Some(u) = chunk.usage {
            self.usage.input_tokens = u.prompt_tokens.or(self.usage.input_tokens);
            self.usage.output_tokens = u.completion_tokens.or(self.usage.output_tokens);
        }
        let mut out = None;
        for choice in chunk.choices {
            if let Some(reason) = choice.finish_reason {
                self.finish_reason = Some(map_finish_reason(&reason).to_string());
            }
            let Some(delta) = choice.delta else { continue };
            for piece in delta.tool_calls {
                self.add_tool_call_piece(piece);
            }
            if let Some(text) = delta.content.filter(|t| !t.is_empty()) {
                self.text.push_str(&text);
                out = Some(StreamEvent::TextDelta(text));
            } else if let Some(thought) = delta.reasoning_content.or(delta.reasoning).filter(|t| !t.is_empty()) {
                // Shown while it streams, not kept: another provider could not take it back.
                out = Some(StreamEvent::ThinkingDelta(thought));
            }
        }
        Ok(out)
    }

    /// Joins a tool call's pieces by index: the first piece brings the id and name, later ones
    /// more of the arguments. (A server that repeats the name in every piece is tolerated.)
    fn add_tool_call_piece(&mut self, piece: ToolCallDelta<'_>) {
        let index = piece.index.unwrap_or(self.calls.len());
        let slot = match self.calls.iter().position(|(i, _)| *i == index) {
            Some(at) => &mut self.calls[at].1,
            None => {
                self.calls.push((index, PendingCall::default()));
                self.calls.sort_by_key(|(i, _)| *i);
                let at = self.calls.iter().position(|(i, _)| *i == index).unwrap_or_default();
                &mut self.calls[at].1
            }
        };
        if let Some(id) = piece.id.filter(|id| !id.is_empty())
            && slot.id.is_empty()
        {
            slot.id = id.into_owned();
        }
        if let Some(function) = piece.function {
            if let Some(name) = function.name.filter(|n| !n.is_empty() && *n != slot.name.as_str()) {
                slot.name.push_str(&name);
            }
            if let Some(arguments) = function.arguments {
                slot.arguments.push_str(&arguments);
            }
        }
    }

    pub fn finish(self) -> Result<Message, StreamError> {
        if !self.done && self.finish_reason.is_none() {
            return Err(StreamError::CutOff);
        }
        let mut content = Vec::new();
        if !self.text.is_empty() {
            content.push(ContentBlock::Text { text: self.text, citations: Vec::new() });
        }
        let mut tool_input_errors = Vec::new();
        for (index, call) in self.calls {
            // Some local servers send no id; the conversation still needs one to pair the result.
            let id = if call.id.is_empty() { format!("call_{index}") } else { call.id };
            let input = if call.arguments.trim().is_empty() {
                serde_json::Value::Object(serde_json::Map::new())
            } else {
                match serde_json::from_str::<serde_json::Value>(&call.arguments) {
                    Ok(value) if value.is_object() => value,
                    Ok(_) => {
                        tool_input_errors
                            .push((id.clone(), "the arguments were not a JSON object; the call was not run".into()));
                        serde_json::Value::Object(serde_json::Map::new())
                    }
                    Err(e) => {
                        tool_input_errors.push((
                            id.clone(),
                            format!("the arguments were not valid JSON ({e}); the call was not run"),
                        ));
                        serde_json::Value::Object(serde_json::Map::new())
                    }
                }
            };
            content.push(ContentBlock::ToolUse { id, name: call.name, input });
        }
        Ok(Message {
            id: self.id,
            model: self.model,
            content,
            stop_reason: self.finish_reason,
            stop_sequence: None,
            stop_details: None,
            usage: self.usage,
            tool_input_errors,
        })
    }
}

fn map_finish_reason(reason: &str) -> &str {
    match reason {
        "stop" => "end_turn",
        "length" => "max_tokens",
        "content_filter" => "refusal",
        "tool_calls" | "function_call" => "tool_use",
        other => other,
    }
}

/// `{"message", "type", "code"}` or a bare string.
fn api_error(error: &serde_json::Value) -> StreamError {
    let text = |key: &str| error.get(key).and_then(|v| v.as_str()).map(str::to_string);
    StreamError::Api {
        error_type: text("type").or_else(|| error.get("code").map(|c| c.to_string().trim_matches('"').to_string())),
        message: text("message").or_else(|| error.as_str().map(str::to_string)).unwrap_or_else(|| error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::sse::SseParser;

    fn run(stream: &str, chunk: usize) -> (Vec<StreamEvent<'static>>, Result<Message, StreamError>) {
        let mut parser = SseParser::new();
        let mut acc = OpenAiAccumulator::new();
        let mut events = Vec::new();
        let mut error = None;
        for piece in stream.as_bytes().chunks(chunk) {
            let r = parser.feed(piece, |e| {
                if let Some(ev) = acc.push(&e)? {
                    events.push(ev.into_owned());
                }
                Ok::<_, StreamError>(())
            });
            if let Err(e) = r {
                error = Some(e);
                break;
            }
        }
        match error {
            Some(e) => (events, Err(e)),
            None => (events, acc.finish()),
        }
    }

    /// The shape llama-server and OpenAI send.
    const STREAM: &str = "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"qwen\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null}}]}\n\n\
data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"hmm\"},\"finish_reason\":null}]}\n\n\
data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hé\"},\"finish_reason\":null}]}\n\n\
data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"llo 🦀\"},\"finish_reason\":null}]}\n\n\
data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}\n\n\
data: {\"id\":\"chatcmpl-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3,\"total_tokens\":12}}\n\n\
data: [DONE]\n\n";

    #[test]
    fn accumulates_text_maps_finish_reason_and_usage_at_every_chunk_size() {
        for chunk in [1, 2, 3, 7, 64, STREAM.len()] {
            let (events, message) = run(STREAM, chunk);
            let message = message.unwrap();
            assert_eq!(
                events,
                [
                    StreamEvent::ThinkingDelta("hmm".into()),
                    StreamEvent::TextDelta("Hé".into()),
                    StreamEvent::TextDelta("llo 🦀".into())
                ]
            );
            assert_eq!(message.content, [ContentBlock::Text { text: "Héllo 🦀".into(), citations: vec![] }]);
            assert_eq!(message.stop_reason.as_deref(), Some("max_tokens"));
            assert_eq!((message.usage.input_tokens, message.usage.output_tokens), (Some(9), Some(3)));
            assert_eq!((message.id.as_str(), message.model.as_str()), ("chatcmpl-1", "qwen"));
        }
    }

    #[test]
    fn cut_off_without_done_or_finish_reason() {
        let cut =
            &STREAM[..STREAM.find("data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{},").unwrap()];
        assert!(matches!(run(cut, 5).1, Err(StreamError::CutOff)));
        // A finish_reason without [DONE] is an explicit end: accepted.
        let no_done = &STREAM[..STREAM.find("data: [DONE]").unwrap()];
        assert_eq!(run(no_done, 5).1.unwrap().stop_reason.as_deref(), Some("max_tokens"));
    }

    #[test]
    fn error_chunks_and_malformed_json_are_errors() {
        let s = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"error\":{\"message\":\"context too long\",\"type\":\"invalid_request_error\"}}\n\n";
        match run(s, 4).1 {
            Err(StreamError::Api { error_type, message }) => {
                assert_eq!(
                    (error_type.as_deref(), message.as_str()),
                    (Some("invalid_request_error"), "context too long")
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(run("data: {nope\n\n", 3).1, Err(StreamError::Malformed { .. })));
    }

    #[test]
    fn finish_reasons_map_to_one_vocabulary() {
        assert_eq!(map_finish_reason("stop"), "end_turn");
        assert_eq!(map_finish_reason("content_filter"), "refusal");
        assert_eq!(map_finish_reason("tool_calls"), "tool_use");
        assert_eq!(map_finish_reason("weird"), "weird");
    }

    #[test]
    fn tool_calls_are_joined_by_index() {
        let s = concat!(
            "data: {\"choices\":[{\"delta\":{\"content\":\"Let me look.\"}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"read_file\",\"arguments\":\"\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"function\":{\"name\":\"glob\",\"arguments\":\"{\\\"pattern\\\":\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"path\\\": \\\"a.txt\\\"}\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\" \\\"*.rs\\\"}\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":2,\"function\":{\"name\":\"bash\",\"arguments\":\"{oops\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
            "data: [DONE]\n\n",
        );
        for chunk in [1, 5, 64, s.len()] {
            let message = run(s, chunk).1.unwrap();
            assert_eq!(message.stop_reason.as_deref(), Some("tool_use"));
            assert_eq!(
                message.content,
                [
                    ContentBlock::Text { text: "Let me look.".into(), citations: vec![] },
                    ContentBlock::ToolUse {
                        id: "call_a".into(),
                        name: "read_file".into(),
                        input: serde_json::json!({"path": "a.txt"})
                    },
                    ContentBlock::ToolUse {
                        id: "call_b".into(),
                        name: "glob".into(),
                        input: serde_json::json!({"pattern": "*.rs"})
                    },
                    ContentBlock::ToolUse { id: "call_2".into(), name: "bash".into(), input: serde_json::json!({}) },
                ]
            );
            assert_eq!(message.tool_input_errors.len(), 1);
            assert_eq!(message.tool_input_errors[0].0, "call_2");
        }
    }

    #[test]
    fn comments_and_events_after_done_are_ignored() {
        let s = ": keep-alive\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"x\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\ndata: {\"error\":{\"message\":\"late\"}}\n\n";
        assert_eq!(run(s, 2).1.unwrap().stop_reason.as_deref(), Some("end_turn"));
    }
}
