//! Streaming model output to a terminal or pipe.
//!
//! Text is sanitised (no escape sequences reach the terminal) and buffered; the caller flushes
//! once per network read, so what arrived is visible at once while 100,000 tiny deltas do not
//! cost 100,000 write calls. Thinking never goes to stdout: on a terminal it is shown dimmed on
//! stderr, otherwise dropped (it is kept in the session either way).

use std::io::{self, BufWriter, Write};

use crate::sanitize::sanitize;
use crate::term::style::{DIM, paint};

const OUTPUT_BUFFER_BYTES: usize = 64 * 1024;

pub struct Renderer<W: Write> {
    out: BufWriter<W>,
    show_thinking: bool,
    color: bool,
    wrote_text: bool,
    last_char: Option<char>,
    in_thinking: bool,
}

impl<W: Write> Renderer<W> {
    pub fn new(out: W, show_thinking: bool, color: bool) -> Renderer<W> {
        Renderer {
            out: BufWriter::with_capacity(OUTPUT_BUFFER_BYTES, out),
            show_thinking,
            color,
            wrote_text: false,
            last_char: None,
            in_thinking: false,
        }
    }

    pub fn text(&mut self, text: &str) -> io::Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        self.end_thinking();
        self.out.write_all(sanitize(text).as_bytes())?;
        self.wrote_text = true;
        self.last_char = text.chars().next_back();
        Ok(())
    }

    pub fn thinking(&mut self, text: &str) {
        if !self.show_thinking || text.is_empty() {
            return;
        }
        let mut err = io::stderr().lock();
        if !self.in_thinking {
            let _ = write!(err, "{}", paint("thinking: ", DIM, self.color));
            self.in_thinking = true;
        }
        let _ = write!(err, "{}", paint(&sanitize(text), DIM, self.color));
    }

    fn end_thinking(&mut self) {
        if self.in_thinking {
            let _ = writeln!(io::stderr());
            self.in_thinking = false;
        }
    }

    /// Makes everything received so far visible. Call once per network read.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Ends the answer on a new line, so the next prompt does not stick to it.
    pub fn finish(&mut self) -> io::Result<()> {
        self.end_thinking();
        if self.wrote_text && self.last_char != Some('\n') {
            self.out.write_all(b"\n")?;
        }
        self.wrote_text = false;
        self.last_char = None;
        self.out.flush()
    }
}

/// The terminal's view of a turn: model text on stdout (through a [`Renderer`]), one status
/// line per tool call on stderr when it starts (`▸ bash  cargo test`) and one when it ends
/// (`✓ exit 0 · 1.2 s · 3.4 KB`), a few dimmed lines of its output when stderr is a terminal, and
/// notices. Everything shown is untrusted and sanitised.
pub struct TerminalEvents<W: Write + Send> {
    renderer: Renderer<W>,
    /// stderr is a terminal: colour (unless disabled), output previews, a live progress line.
    interactive: bool,
    color: bool,
    /// A progress line is on screen and must be cleared before anything else is written.
    progress_shown: bool,
}

/// Lines of a result shown under its status line on a terminal.
const PREVIEW_LINES: usize = 3;
/// Characters of a preview or progress line.
const PREVIEW_WIDTH: usize = 100;

impl<W: Write + Send> TerminalEvents<W> {
    pub fn new(out: W, show_thinking: bool, interactive: bool, color: bool) -> TerminalEvents<W> {
        TerminalEvents { renderer: Renderer::new(out, show_thinking, color), interactive, color, progress_shown: false }
    }

    fn clear_progress(&mut self, err: &mut impl Write) {
        if self.progress_shown {
            let _ = write!(err, "\r\x1b[K");
            self.progress_shown = false;
        }
    }
}

/// One line of untrusted text, sanitised and clipped for a status line.
fn clip_line(line: &str) -> String {
    let clean = sanitize(line.trim_end());
    match clean.char_indices().nth(PREVIEW_WIDTH) {
        Some((i, _)) => format!("{}…", &clean[..i]),
        None => clean.into_owned(),
    }
}

impl<W: Write + Send> crate::chat::events::TurnEvents for TerminalEvents<W> {
    fn text(&mut self, text: &str) -> io::Result<()> {
        self.renderer.text(text)
    }

    fn thinking(&mut self, text: &str) {
        self.renderer.thinking(text);
    }

    fn flush(&mut self) -> io::Result<()> {
        self.renderer.flush()
    }

    fn step_end(&mut self) -> io::Result<()> {
        self.renderer.finish()
    }

    fn tool_start(&mut self, call: &crate::chat::events::ToolCallView<'_>) {
        let _ = self.renderer.flush();
        let mut err = io::stderr().lock();
        self.clear_progress(&mut err);
        let name = paint(call.name, crate::term::style::BOLD, self.color);
        let _ = writeln!(err, "▸ {name}  {}", clip_line(call.display));
    }

    fn tool_progress(&mut self, _call: &crate::chat::events::ToolCallView<'_>, line: &str) {
        if !self.interactive {
            return;
        }
        let mut err = io::stderr().lock();
        let _ = write!(err, "\r\x1b[K{}", paint(&format!("  {}", clip_line(line)), DIM, self.color));
        let _ = err.flush();
        self.progress_shown = true;
    }

    fn tool_end(
        &mut self,
        _call: &crate::chat::events::ToolCallView<'_>,
        result: &crate::chat::events::ToolResultView<'_>,
    ) {
        let mut err = io::stderr().lock();
        self.clear_progress(&mut err);
        let (mark, ansi) =
            if result.is_error { ("✗", crate::term::style::RED) } else { ("✓", crate::term::style::GREEN) };
        let seconds = result.duration.as_secs_f64();
        let mut line = format!("{} {}", paint(mark, ansi, self.color), clip_line(result.summary));
        if !result.summary.is_empty() {
            line.push_str(" · ");
        }
        line.push_str(&format!("{seconds:.1} s · {}", crate::tools::human_bytes(result.bytes)));
        let _ = writeln!(err, "{line}");
        if self.interactive {
            for preview in result.preview.lines().filter(|l| !l.trim().is_empty()).take(PREVIEW_LINES) {
                let _ = writeln!(err, "{}", paint(&format!("  {}", clip_line(preview)), DIM, self.color));
            }
        }
    }

    fn notice(&mut self, text: &str) {
        let _ = self.renderer.flush();
        let mut err = io::stderr().lock();
        self.clear_progress(&mut err);
        let _ = writeln!(err, "pincer: {}", sanitize(text));
    }
}

/// `--json`: nothing on stdout while working (the result comes at the end); notices still go to
/// stderr, where they do not mix with the data.
pub struct QuietEvents;

impl crate::chat::events::TurnEvents for QuietEvents {
    fn text(&mut self, _: &str) -> io::Result<()> {
        Ok(())
    }
    fn thinking(&mut self, _: &str) {}
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn step_end(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn tool_start(&mut self, _: &crate::chat::events::ToolCallView<'_>) {}
    fn tool_progress(&mut self, _: &crate::chat::events::ToolCallView<'_>, _: &str) {}
    fn tool_end(&mut self, _: &crate::chat::events::ToolCallView<'_>, _: &crate::chat::events::ToolResultView<'_>) {}
    fn notice(&mut self, text: &str) {
        crate::term::style::note(&format!("pincer: {}", sanitize(text)));
    }
}

/// Notices for how a turn ended, and the exit code of a one-shot run.
pub fn report_end(report: &crate::chat::turn::TurnReport, max_steps: u32) -> std::process::ExitCode {
    let stop = report.last.as_ref().and_then(|m| m.stop_reason.as_deref());
    match &report.end {
        crate::chat::turn::TurnEnd::NoAnswer(_) => {
            if stop == Some("refusal") {
                crate::term::style::warn("the model declined to answer (stop_reason: refusal)");
            } else {
                crate::term::style::warn("the model returned an empty answer");
            }
            return std::process::ExitCode::from(crate::exit::FAILURE);
        }
        crate::chat::turn::TurnEnd::MaxSteps => {
            crate::term::style::warn(&format!(
                "stopped after {max_steps} model calls (--max-steps); the work so far is kept, and the model was told"
            ));
            return std::process::ExitCode::from(crate::exit::FAILURE);
        }
        crate::chat::turn::TurnEnd::Completed => {}
        crate::chat::turn::TurnEnd::Cancelled | crate::chat::turn::TurnEnd::Failed(_) => {
            return std::process::ExitCode::from(crate::exit::FAILURE);
        }
    }
    match stop {
        Some("max_tokens") => crate::term::style::warn(
            "the answer was cut short: max_tokens reached (raise max_tokens for this model in config.toml)",
        ),
        Some("model_context_window_exceeded") => crate::term::style::warn(
            "the conversation no longer fits the model's context window; start a new one or /compact",
        ),
        Some("pause_turn") => crate::term::style::warn("the model paused its turn (stop_reason: pause_turn)"),
        _ => {}
    }
    std::process::ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts write calls reaching the underlying writer.
    struct Counting {
        bytes: Vec<u8>,
        writes: usize,
    }

    impl Write for Counting {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.writes += 1;
            self.bytes.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn many_deltas_one_write_per_flush_and_sanitised() {
        let mut r = Renderer::new(Counting { bytes: Vec::new(), writes: 0 }, false, false);
        for _ in 0..10_000 {
            r.text("ab").unwrap();
        }
        r.text("\x1b[2J").unwrap();
        r.flush().unwrap();
        r.finish().unwrap();
        let inner = r.out.into_inner().unwrap_or_else(|_| panic!());
        assert!(inner.writes <= 2, "{} writes", inner.writes);
        let text = String::from_utf8(inner.bytes).unwrap();
        assert!(text.ends_with("ab^[[2J\n"), "{}", &text[text.len() - 10..]);
        assert_eq!(text.len(), 20_000 + "^[[2J".len() + 1);
    }

    #[test]
    fn no_extra_newline_when_text_ends_with_one() {
        let mut r = Renderer::new(Vec::new(), false, false);
        r.text("done\n").unwrap();
        r.finish().unwrap();
        assert_eq!(r.out.into_inner().unwrap(), b"done\n");
    }
}
