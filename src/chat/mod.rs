//! The conversation side: sessions on disk, streaming output to a terminal, the REPL.

pub mod compact;
pub mod conversation;
pub mod events;
pub mod explain;
pub mod keep;
pub mod prompt;
pub mod render;
pub mod repl;
pub mod session;
pub mod skills;
pub mod turn;
