//! The provider-neutral message model: what a conversation is made of, what a stream yields,
//! and what a tool looks like to a model.
//!
//! The shapes are Anthropic's Messages API (sessions store exactly what the API takes back);
//! other protocols convert on send and on receive.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// The JSON key that carries a content block's type.
const TYPE_KEY: &str = "type";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

/// One message of a conversation, in the shape the Messages API takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: Vec<ContentBlock>,
}

impl ChatMessage {
    pub fn user_text(text: &str) -> ChatMessage {
        ChatMessage { role: Role::User, content: vec![ContentBlock::text(text)] }
    }

    /// The `tool_use` blocks of an assistant message, in order.
    pub fn tool_uses(&self) -> impl Iterator<Item = (&str, &str, &Value)> {
        self.content.iter().filter_map(|b| match b {
            ContentBlock::ToolUse { id, name, input } => Some((id.as_str(), name.as_str(), input)),
            _ => None,
        })
    }
}

/// A tool as a model sees it: its name, what it is for, and the JSON Schema of its input.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub input_schema: Value,
}

/// Where an image's bytes are: base64 data with its media type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSource {
    #[serde(rename = "type")]
    pub kind: String,
    pub media_type: String,
    pub data: String,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// What the terminal needs to know as the answer streams in. Text borrows from the parser's
/// buffer when it can, so the common delta costs no allocation; [`StreamEvent::into_owned`]
/// detaches an event from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent<'a> {
    MessageStart {
        id: String,
        model: String,
    },
    BlockStart {
        index: usize,
        kind: BlockKind,
    },
    /// Answer text, to show as it arrives.
    TextDelta(Cow<'a, str>),
    /// Extended-thinking text, for a separate, dimmer place.
    ThinkingDelta(Cow<'a, str>),
    BlockStop {
        index: usize,
    },
    /// `message_stop` arrived; `reason` is the final `stop_reason` (`end_turn`, `max_tokens`,
    /// `refusal`, `tool_use`, …). Blocks still open at this point are closed without a
    /// `BlockStop`.
    Stop {
        reason: Option<String>,
    },
    /// A tool the provider runs on its own (Claude Code's tools) is starting: shown to the
    /// person, never run by pincer, never answered.
    ForeignToolStart(Box<ForeignTool>),
    /// That tool finished.
    ForeignToolEnd(Box<ForeignTool>, Box<ForeignOutcome>),
}

/// A tool call another program runs itself, as a person sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignTool {
    pub id: String,
    pub name: String,
    /// The call in one line (a command, a path).
    pub display: String,
    pub input: Value,
}

/// How such a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignOutcome {
    pub is_error: bool,
    pub duration: std::time::Duration,
    /// One line: the error's first line, or empty.
    pub summary: String,
    /// Bytes of the result the program gave its model.
    pub bytes: usize,
    /// The start of the result (untrusted).
    pub preview: String,
}

impl StreamEvent<'_> {
    pub fn into_owned(self) -> StreamEvent<'static> {
        match self {
            StreamEvent::TextDelta(text) => StreamEvent::TextDelta(Cow::Owned(text.into_owned())),
            StreamEvent::ThinkingDelta(text) => StreamEvent::ThinkingDelta(Cow::Owned(text.into_owned())),
            StreamEvent::MessageStart { id, model } => StreamEvent::MessageStart { id, model },
            StreamEvent::BlockStart { index, kind } => StreamEvent::BlockStart { index, kind },
            StreamEvent::BlockStop { index } => StreamEvent::BlockStop { index },
            StreamEvent::Stop { reason } => StreamEvent::Stop { reason },
            StreamEvent::ForeignToolStart(call) => StreamEvent::ForeignToolStart(call),
            StreamEvent::ForeignToolEnd(call, outcome) => StreamEvent::ForeignToolEnd(call, outcome),
        }
    }
}

/// The kind of a content block, as announced by `content_block_start`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockKind {
    Text,
    Thinking,
    RedactedThinking,
    ToolUse {
        name: String,
    },
    /// Any other block type (`server_tool_use`, `web_search_tool_result`, …).
    Other {
        kind: String,
    },
}

/// One block of an assistant message. Serializes to the shape the Messages API accepts back in
/// a request (`{"type":"text","text":…}`, `{"type":"thinking","thinking":…,"signature":…}`,
/// `{"type":"tool_use","id":…,"name":…,"input":…}`, …); blocks of other types are kept as the
/// server sent them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    Text {
        text: String,
        #[serde(default, deserialize_with = "null_as_empty", skip_serializing_if = "Vec::is_empty")]
        citations: Vec<Value>,
    },
    Thinking {
        thinking: String,
        #[serde(default)]
        signature: String,
    },
    RedactedThinking {
        data: String,
    },
    ToolUse {
        id: String,
        name: String,
        /// llama.cpp's `/v1/messages` starts a tool block without `input` (Anthropic sends `{}`);
        /// the arguments follow as `input_json_delta`s either way.
        #[serde(default = "empty_object")]
        input: Value,
    },
    /// The answer to one `tool_use`, sent back in the next user message. `content` holds text
    /// and image blocks only; the API rejects an empty text block, so it is never empty.
    ToolResult {
        tool_use_id: String,
        content: Vec<ContentBlock>,
        #[serde(default, skip_serializing_if = "is_false")]
        is_error: bool,
    },
    /// An image, e.g. an MCP tool's screenshot: `{"type":"image","source":{"type":"base64",…}}`.
    Image {
        source: ImageSource,
    },
    /// Kept whole: it carries its own `type`.
    #[serde(untagged)]
    Other(Value),
}

impl ContentBlock {
    pub fn kind(&self) -> BlockKind {
        match self {
            Self::Text { .. } => BlockKind::Text,
            Self::Thinking { .. } => BlockKind::Thinking,
            Self::RedactedThinking { .. } => BlockKind::RedactedThinking,
            Self::ToolUse { name, .. } => BlockKind::ToolUse { name: name.clone() },
            Self::ToolResult { .. } => BlockKind::Other { kind: "tool_result".to_owned() },
            Self::Image { .. } => BlockKind::Other { kind: "image".to_owned() },
            Self::Other(value) => {
                BlockKind::Other { kind: value.get(TYPE_KEY).and_then(Value::as_str).unwrap_or_default().to_owned() }
            }
        }
    }
}

impl ContentBlock {
    pub fn text(text: &str) -> ContentBlock {
        ContentBlock::Text { text: text.to_string(), citations: Vec::new() }
    }
}

/// `citations` may be `null` in responses; that means none.
fn null_as_empty<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Value>, D::Error> {
    Ok(Option::<Vec<Value>>::deserialize(deserializer)?.unwrap_or_default())
}

/// The assistant message a stream produced.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Message {
    pub id: String,
    pub model: String,
    pub content: Vec<ContentBlock>,
    pub stop_reason: Option<String>,
    pub stop_sequence: Option<String>,
    /// Structured detail on the stop, e.g. a refusal's `category` and `explanation`.
    pub stop_details: Option<Value>,
    pub usage: Usage,
    /// Tool calls whose streamed arguments were not valid JSON (or were cut off), by `tool_use`
    /// id: the call keeps an empty `input` (the API demands an object back) and is answered with
    /// an error result instead of being run.
    #[serde(skip)]
    pub tool_input_errors: Vec<(String, String)>,
}

/// Token counts. `None` means the server did not say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Usage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
}

impl Usage {
    /// `message_delta` usage is cumulative: a count it gives replaces the earlier one, and a
    /// count it omits (proxies drop `input_tokens`) keeps the `message_start` value.
    pub(crate) fn overwrite_with(&mut self, newer: Usage) {
        let Usage { input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens } = newer;
        self.input_tokens = input_tokens.or(self.input_tokens);
        self.output_tokens = output_tokens.or(self.output_tokens);
        self.cache_creation_input_tokens = cache_creation_input_tokens.or(self.cache_creation_input_tokens);
        self.cache_read_input_tokens = cache_read_input_tokens.or(self.cache_read_input_tokens);
    }
}
