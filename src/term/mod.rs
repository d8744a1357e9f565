//! Everything that talks to a person at a terminal: prompts and styling.

pub mod elicit;
pub mod interrupt;
pub mod prompt;
pub mod sanitize;
pub mod style;
