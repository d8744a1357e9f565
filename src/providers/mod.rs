//! Providers: turning a request into HTTP and a response into typed events. A provider knows
//! nothing about terminals.

pub mod anthropic;
pub mod anthropic_stream;
pub mod api_error;
pub mod base_url;
pub mod chat;
pub mod claude_code;
pub mod explain;
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
