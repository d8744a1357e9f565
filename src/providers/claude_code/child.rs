//! What both platforms' process runners share: the environment Claude Code gets, and what one
//! read of its output brings.

use std::ffi::OsString;

/// pincer's environment for the programs it runs, without credentials: Claude Code uses its own
/// login, never pincer's keys or tokens ([`crate::env::is_credential`]; pincer also removed them
/// from its own environment at start-up, so this is the second of two locks).
pub fn child_environment() -> Vec<(OsString, OsString)> {
    crate::env::vars_for_commands().into_iter().filter(|(name, _)| !crate::env::is_credential(name)).collect()
}

/// What a read brought.
pub enum Output {
    /// `n` bytes of stdout are in the buffer.
    Stdout(usize),
    /// Nothing within the wait (or only stderr).
    Idle,
    /// stdout is closed: the program ended (or is ending).
    End,
}
