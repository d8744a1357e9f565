//! Providers: turning a request into HTTP and a response into typed events. A provider knows
//! nothing about terminals.

pub mod anthropic;
pub mod anthropic_stream;
pub mod api_error;
pub mod base_url;
pub mod chat;
pub mod claude_code;
pub mod message;
pub mod model_id;
pub mod openai;
pub mod openai_stream;
pub mod refusal;
pub mod retry;
pub mod routing;
pub mod secret_header;
pub mod sse;

pub use message::{ContentBlock, Message, StreamEvent, Usage};

/// The wire a model speaks. Which one a model uses is decided in `routing` only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Anthropic,
    /// OpenAI's `chat/completions`, spoken by most other servers.
    OpenAi,
    /// The `claude` program, run headless (SPEC §12).
    ClaudeCode,
}
