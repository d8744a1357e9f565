//! Colour and notices. Colour only on a TTY and never with `NO_COLOR` or `TERM=dumb` (both folded
//! into `Env::no_color`); notices go to stderr.

use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

static STDERR_COLOR: OnceLock<bool> = OnceLock::new();

/// Decides once whether stderr gets colour.
pub fn init(no_color: bool) {
    let _ = STDERR_COLOR.set(!no_color && std::io::stderr().is_terminal());
}

pub fn stderr_color() -> bool {
    *STDERR_COLOR.get().unwrap_or(&false)
}

/// Whether stdout gets colour (decided per call: stdout is only styled for human output).
pub fn stdout_color(no_color: bool) -> bool {
    !no_color && crate::term::output::stdout_is_terminal()
}

pub fn paint(text: &str, ansi: &str, on: bool) -> String {
    if on { format!("\x1b[{ansi}m{text}\x1b[0m") } else { text.to_string() }
}

pub const BOLD: &str = "1";
pub const DIM: &str = "2";
pub const RED: &str = "31";
pub const GREEN: &str = "32";
pub const YELLOW: &str = "33";

/// `warning: …` on stderr.
pub fn warn(message: &str) {
    note(&format!("{} {message}", paint("warning:", YELLOW, stderr_color())));
}

/// A notice on stderr (informational, not a problem). A closed or full stderr is ignored: a
/// notice is never worth failing (or panicking) for.
pub fn note(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}
