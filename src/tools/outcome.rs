//! How a command the `bash` tool ran ended: shared by the tool and the supervisor that runs it.

/// The shell every command goes through.
pub(crate) const SHELL: &str = "/bin/sh";

/// How the command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    Code(i32),
    Signal(i32),
    /// The supervisor was killed before it could say.
    Unknown,
}

/// Why pincer stopped the command, if it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    Timeout,
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub exit: Exit,
    pub stopped: Option<Stop>,
    /// Processes still running when the command ended, killed then.
    pub killed_background: u32,
}
