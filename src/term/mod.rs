//! Everything that talks to a person at a terminal: prompts and styling.

pub mod interrupt;
pub mod prompt;
pub mod sanitize;
pub mod style;
pub mod hidden;
pub mod output;
pub mod stdin_message;
