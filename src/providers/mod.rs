//! Providers: turning a request into HTTP and a response into typed events. A provider knows
//! nothing about terminals.

pub mod anthropic;
pub mod api_error;
pub mod model_id;
pub mod retry;
