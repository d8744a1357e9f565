//! The conversation side: sessions on disk, streaming output to a terminal, the REPL.

pub mod keep;
pub mod render;
pub mod repl;
pub mod session;
