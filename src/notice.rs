//! Notices for the person, on stderr: `warning: …` and plain lines. A leaf every layer may use
//! (a store that finds a file readable by others, a session repaired after a crash), so none of
//! them needs the terminal layer. A closed or full stderr is ignored: a notice is never worth
//! failing (or panicking) for.

use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

static STDERR_COLOR: OnceLock<bool> = OnceLock::new();
/// The colour of `warning:`.
const YELLOW: &str = "33";

/// Decides once whether stderr gets colour: only on a terminal, never with `NO_COLOR` or
/// `TERM=dumb` (both folded into `no_color`).
pub fn init(no_color: bool) {
    let _ = STDERR_COLOR.set(!no_color && std::io::stderr().is_terminal());
}

pub fn stderr_color() -> bool {
    *STDERR_COLOR.get().unwrap_or(&false)
}

/// `warning: …` on stderr.
pub fn warn(message: &str) {
    let label = if stderr_color() { format!("\x1b[{YELLOW}mwarning:\x1b[0m") } else { "warning:".to_string() };
    note(&format!("{label} {message}"));
}

/// A notice on stderr (informational, not a problem).
#[allow(clippy::print_stderr)] // the one place notices are written
pub fn note(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}
