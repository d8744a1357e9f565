//! Colour and notices. Colour only on a TTY and never with `NO_COLOR` or `TERM=dumb` (both folded
//! into `Env::no_color`); notices go to stderr.

pub use crate::notice::{init, note, stderr_color, warn};

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
