//! Everything that talks to a person at a terminal: prompts and styling.

pub mod approval;
pub mod elicit;
pub mod hidden;
pub mod interrupt;
pub mod output;
pub mod prompt;
pub mod stdin_message;
pub mod style;
