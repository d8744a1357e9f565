//! The terminal approver (SPEC §9): the prompt on stderr, the answer from the terminal.
//!
//! The prompt shows the tool, the call in one line, its arguments in full (a diff for edits,
//! `+`/`-` lines coloured when colour is on), the rule "always" and "save" would add, and
//! `[y]es  [n]o  [a]lways this session  [s]ave as a rule`. Everything shown came from the model:
//! it is sanitised (control characters made visible, invisible and bidi characters named) and
//! every line of it, wrapped to the terminal's width, starts with a gutter `  │ `, so nothing in
//! it can pass for pincer's own prompt line, which alone starts at the left edge.
//!
//! The answer is read from `/dev/tty` (Windows: `CONIN$`, the console's input, see
//! `approval/windows.rs`), or from stdin when stdin itself is the terminal, never
//! from a pipe (stdin may be the message). Input typed ahead is discarded first, so a keystroke
//! meant for something else cannot approve a call. Enter means no; an answer not understood is
//! asked again; Ctrl-C, end of input (Ctrl-D) or a terminal error cancels the turn: nothing runs,
//! and a person who stopped answering is not asked again and again.

use std::fs::File;
use std::io::{IsTerminal, Write};
#[cfg(unix)]
use std::os::fd::{AsRawFd, RawFd};

use crate::sanitize::sanitize;
use crate::term::interrupt;
use crate::term::style::{BOLD, DIM, GREEN, RED, YELLOW, paint};
use crate::tools::ToolClass;
#[cfg(unix)]
use crate::tools::approve::Approver;
use crate::tools::approve::{Answer, ApprovalRequest};

/// The controlling terminal, whatever stdin and stderr are.
#[cfg(unix)]
const TTY_PATH: &str = "/dev/tty";
/// The console's input, whatever stdin is.
#[cfg(windows)]
const TTY_PATH: &str = "CONIN$";
/// Columns assumed when the terminal does not say.
const DEFAULT_WIDTH: usize = 80;
/// Untrusted text is never wrapped narrower than this, however narrow the terminal.
const MIN_TEXT_WIDTH: usize = 20;
/// What starts every line of untrusted text, and its width in columns.
const GUTTER: &str = "  │ ";
const GUTTER_WIDTH: usize = 4;
/// Tabs in untrusted text become spaces up to the next multiple of this.
const TAB_STOP: usize = 8;
/// How often a blocked read looks at the Ctrl-C flag.
#[cfg(unix)]
const POLL_MS: libc::c_int = 100;
/// An answer line longer than this is not an answer (it is dropped and asked again).
const MAX_ANSWER_BYTES: usize = 1024;

const OPTIONS_WITH_RULE: &str = "[y]es  [n]o  [a]lways this session  [s]ave as a rule";
const OPTIONS: &str = "[y]es  [n]o";

/// Asks the person at the terminal.
pub struct TerminalApprover {
    input: TtyInput,
    color: bool,
}

enum TtyInput {
    DevTty(File),
    Stdin,
}

impl TerminalApprover {
    /// `None` when there is nobody to ask: stderr (where the prompt goes) is not a terminal, or
    /// no terminal can be read (`/dev/tty` cannot be opened and stdin is not one). The caller
    /// then uses [`NeverAsk`](crate::tools::approve::NeverAsk). Installs the Ctrl-C handler, so
    /// Ctrl-C at the prompt cancels instead of killing pincer.
    pub fn open(color: bool) -> Option<TerminalApprover> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let input = match open_tty() {
            Ok(tty) if tty.is_terminal() => TtyInput::DevTty(tty),
            _ if std::io::stdin().is_terminal() => TtyInput::Stdin,
            _ => return None,
        };
        interrupt::install();
        Some(TerminalApprover { input, color })
    }

    #[cfg(unix)]
    fn fd(&self) -> RawFd {
        match &self.input {
            TtyInput::DevTty(tty) => tty.as_raw_fd(),
            TtyInput::Stdin => libc::STDIN_FILENO,
        }
    }
}

#[cfg(unix)]
impl Approver for TerminalApprover {
    fn ask(&mut self, request: &ApprovalRequest<'_>) -> Answer {
        let fd = self.fd();
        discard_typeahead(fd);
        let style = Style { color: self.color, width: terminal_width() };
        let mut source = TtyLines { fd, pending: Vec::new() };
        // Held while asking: nothing else writes into the prompt.
        let mut err = std::io::stderr().lock();
        ask_on(&mut source, &mut err, request, style)
    }
}

/// How the prompt is drawn.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    pub color: bool,
    /// The terminal's width in columns.
    pub width: usize,
}

/// One read of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Line {
    Text(String),
    End,
    Interrupted,
}

/// Where answers come from: the terminal, or a script in tests.
pub(crate) trait AnswerSource {
    fn next_line(&mut self) -> Line;
}

/// What the person typed, understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Choice {
    Yes,
    No,
    Always,
    Save,
}

/// Shows the request, then reads answers until one is understood.
pub(crate) fn ask_on(
    source: &mut dyn AnswerSource,
    out: &mut dyn Write,
    request: &ApprovalRequest<'_>,
    style: Style,
) -> Answer {
    let offer_rule = request.suggested.is_some();
    let mut ask = || -> std::io::Result<Answer> {
        out.write_all(render(request, style).as_bytes())?;
        loop {
            out.write_all(prompt_line(offer_rule, style.color).as_bytes())?;
            out.flush()?;
            match source.next_line() {
                Line::Text(text) => match parse_answer(&text, offer_rule) {
                    Some(choice) => return Ok(answer(request, choice)),
                    None if offer_rule => writeln!(out, "Answer y, n, a or s (Enter = no).")?,
                    None => writeln!(out, "Answer y or n (Enter = no).")?,
                },
                Line::End | Line::Interrupted => {
                    writeln!(out)?;
                    return Ok(Answer::Cancel);
                }
            }
        }
    };
    ask().unwrap_or(Answer::Cancel)
}

fn answer(request: &ApprovalRequest<'_>, choice: Choice) -> Answer {
    match choice {
        Choice::Yes => Answer::Yes,
        Choice::No => Answer::No,
        Choice::Always => request.always().unwrap_or(Answer::No),
        Choice::Save => request.save().unwrap_or(Answer::No),
    }
}

/// `y`/`yes`, `n`/`no` or nothing (Enter), and `a`/`always`, `s`/`save` when a rule is offered;
/// any case, surrounding space ignored. `None`: not understood, ask again.
pub(crate) fn parse_answer(text: &str, offer_rule: bool) -> Option<Choice> {
    match text.trim().to_ascii_lowercase().as_str() {
        "" | "n" | "no" => Some(Choice::No),
        "y" | "yes" => Some(Choice::Yes),
        "a" | "always" if offer_rule => Some(Choice::Always),
        "s" | "save" if offer_rule => Some(Choice::Save),
        _ => None,
    }
}

/// pincer's own question: the only line of the prompt at the left edge besides the header.
fn prompt_line(offer_rule: bool, color: bool) -> String {
    let options = if offer_rule { OPTIONS_WITH_RULE } else { OPTIONS };
    format!("{} {options}  (Enter = no): ", paint("Allow?", BOLD, color))
}

/// Everything above the question: a header, the detail in full, the rule on offer.
pub(crate) fn render(request: &ApprovalRequest<'_>, style: Style) -> String {
    let text_width = style.width.saturating_sub(GUTTER_WIDTH).max(MIN_TEXT_WIDTH);
    let tool = one_line(request.tool, text_width / 2);
    let room = text_width.saturating_sub(columns(&tool) + 4);
    let mut out = format!(
        "{} {}  {}\n",
        paint("?", YELLOW, style.color),
        paint(&tool, BOLD, style.color),
        one_line(request.display, room)
    );
    let detail = request.detail.trim_end_matches('\n');
    let detail = if detail.trim().is_empty() { "(no arguments)" } else { detail };
    let diff = request.class == ToolClass::Edit;
    push_gutter(&mut out, detail, text_width, style.color, diff);
    if let Some(rule) = request.suggested {
        out.push_str(&paint("  [a] and [s] allow from now on:", DIM, style.color));
        out.push('\n');
        push_gutter(&mut out, rule.as_str(), text_width, style.color, false);
    }
    out
}

/// Untrusted text, line by line, wrapped to `width` columns, each piece after the gutter.
fn push_gutter(out: &mut String, text: &str, width: usize, color: bool, diff: bool) {
    let text = visible(text);
    for line in text.split('\n') {
        let ansi = match line.chars().next() {
            Some('+') if diff => Some(GREEN),
            Some('-') if diff => Some(RED),
            _ => None,
        };
        for piece in wrap(line, width) {
            out.push_str(&paint(GUTTER, DIM, color));
            match ansi {
                Some(ansi) => out.push_str(&paint(&piece, ansi, color)),
                None => out.push_str(&piece),
            }
            out.push('\n');
        }
    }
}

/// `text` on one line of at most `room` columns: newlines shown as `⏎`, tabs as spaces, cut with `…`.
fn one_line(text: &str, room: usize) -> String {
    let text = visible(text).replace('\n', "⏎").replace('\t', " ");
    if columns(&text) <= room {
        return text;
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        if used + width_of(c) + 1 > room {
            break;
        }
        used += width_of(c);
        out.push(c);
    }
    out.push('…');
    out
}

/// Sanitised (control characters in caret notation), with invisible and direction-changing
/// characters named (`<U+202E>`), so what is shown is what would run.
fn visible(text: &str) -> String {
    let text = sanitize(text);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_invisible(c) {
            out.push_str(&format!("<U+{:04X}>", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Format characters that draw nothing or reorder what follows (bidi overrides and isolates,
/// zero-width spaces and joiners, line separators, the byte-order mark).
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{180E}' | '\u{200B}'..='\u{200F}'
        | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF9}'..='\u{FFFB}' | '\u{E0000}'..='\u{E007F}')
}

/// Columns a character may take: 1 for ASCII, 2 for anything else (wide characters exist, so
/// wrapping early is the safe side).
fn width_of(c: char) -> usize {
    if c.is_ascii() { 1 } else { 2 }
}

fn columns(text: &str) -> usize {
    text.chars().map(width_of).sum()
}

/// One line (no newline in it) cut into pieces of at most `width` columns, tabs expanded.
fn wrap(line: &str, width: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut piece = String::new();
    let mut used = 0;
    for c in line.chars() {
        let (text, w) = if c == '\t' {
            let spaces = TAB_STOP - used % TAB_STOP;
            (" ".repeat(spaces), spaces)
        } else {
            (c.to_string(), width_of(c))
        };
        if used + w > width && used > 0 {
            pieces.push(std::mem::take(&mut piece));
            used = 0;
        }
        piece.push_str(&text);
        used += w;
    }
    pieces.push(piece);
    pieces
}

/// The terminal, for reading answers.
#[cfg(unix)]
fn open_tty() -> std::io::Result<File> {
    File::open(TTY_PATH)
}

/// Drops what was typed before the question was shown.
#[cfg(unix)]
fn discard_typeahead(fd: RawFd) {
    // SAFETY: tcflush only drops the terminal's pending input; `fd` is open for the call.
    unsafe { libc::tcflush(fd, libc::TCIFLUSH) };
}

/// The terminal's width in columns (stderr's), or [`DEFAULT_WIDTH`].
#[cfg(unix)]
fn terminal_width() -> usize {
    let mut size = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes one `winsize` into `size`, which lives through the call.
    let ok = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    if ok && size.ws_col > 0 { usize::from(size.ws_col) } else { DEFAULT_WIDTH }
}

/// Lines from the terminal, read without buffering past what it delivers (a line at a time in
/// canonical mode), polling so Ctrl-C is noticed while waiting.
#[cfg(unix)]
struct TtyLines {
    fd: RawFd,
    pending: Vec<u8>,
}

#[cfg(unix)]
impl AnswerSource for TtyLines {
    fn next_line(&mut self) -> Line {
        let mut buf = [0u8; 256];
        loop {
            if let Some(line) = complete_line(&mut self.pending) {
                return line;
            }
            if interrupt::interrupted() {
                return Line::Interrupted;
            }
            let mut poll = libc::pollfd { fd: self.fd, events: libc::POLLIN, revents: 0 };
            // SAFETY: one valid `pollfd`, living through the call.
            let ready = unsafe { libc::poll(&mut poll, 1, POLL_MS) };
            if ready < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            if ready == 0 {
                continue;
            }
            if ready < 0 || poll.revents & libc::POLLIN == 0 {
                return Line::End;
            }
            // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
            let got = unsafe { libc::read(self.fd, buf.as_mut_ptr().cast(), buf.len()) };
            match usize::try_from(got) {
                Ok(0) => return Line::End,
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(_) if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return Line::End,
            }
        }
    }
}

#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows::open_tty;

/// The first whole line of what was read so far, or a too-long answer dropped; `None` while a
/// line is still coming. Shared by the terminal's and the Windows console's readers.
fn complete_line(pending: &mut Vec<u8>) -> Option<Line> {
    if let Some(end) = pending.iter().position(|&b| b == b'\n') {
        let line: Vec<u8> = pending.drain(..=end).collect();
        return Some(Line::Text(String::from_utf8_lossy(&line).trim_end_matches(['\n', '\r']).to_string()));
    }
    if pending.len() > MAX_ANSWER_BYTES {
        pending.clear();
        return Some(Line::Text("(too long)".to_string()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::policy::Rule;
    use std::collections::VecDeque;

    struct Script(VecDeque<Line>);

    impl AnswerSource for Script {
        fn next_line(&mut self) -> Line {
            self.0.pop_front().unwrap_or(Line::End)
        }
    }

    fn typed(lines: &[&str]) -> Script {
        Script(lines.iter().map(|l| Line::Text(l.to_string())).collect())
    }

    const PLAIN: Style = Style { color: false, width: 60 };

    fn bash<'a>(command: &'a str, rule: Option<&'a Rule>) -> ApprovalRequest<'a> {
        ApprovalRequest { tool: "bash", class: ToolClass::Bash, display: command, detail: command, suggested: rule }
    }

    fn run(source: &mut Script, request: &ApprovalRequest<'_>) -> (Answer, String) {
        let mut out = Vec::new();
        let answer = ask_on(source, &mut out, request, PLAIN);
        (answer, String::from_utf8(out).unwrap())
    }

    #[test]
    fn the_prompt_shows_the_call_the_rule_and_the_options() {
        let rule = Rule::parse("bash(cargo test:*)").unwrap();
        let (answer, out) = run(&mut typed(&["y"]), &bash("cargo test --lib", Some(&rule)));
        assert_eq!(answer, Answer::Yes);
        assert_eq!(
            out,
            "? bash  cargo test --lib\n\
             \x20 │ cargo test --lib\n\
             \x20 [a] and [s] allow from now on:\n\
             \x20 │ bash(cargo test:*)\n\
             Allow? [y]es  [n]o  [a]lways this session  [s]ave as a rule  (Enter = no): "
        );
        let (_, out) = run(&mut typed(&[""]), &bash("x; y", None));
        assert!(out.ends_with("\nAllow? [y]es  [n]o  (Enter = no): "), "{out}");
        assert!(!out.contains("[a]"), "{out}");
    }

    #[test]
    fn answers_are_parsed_and_unclear_ones_asked_again() {
        let cases: &[(&str, bool, Option<Choice>)] = &[
            ("", true, Some(Choice::No)),
            ("  ", true, Some(Choice::No)),
            ("n", true, Some(Choice::No)),
            ("No", true, Some(Choice::No)),
            ("y", true, Some(Choice::Yes)),
            (" YES ", true, Some(Choice::Yes)),
            ("a", true, Some(Choice::Always)),
            ("always", true, Some(Choice::Always)),
            ("s", true, Some(Choice::Save)),
            ("a", false, None),
            ("s", false, None),
            ("yy", true, None),
            ("y n", true, None),
            ("ja", true, None),
        ];
        for (text, offer, expected) in cases {
            assert_eq!(parse_answer(text, *offer), *expected, "{text:?} offer={offer}");
        }
        let rule = Rule::parse("bash(cargo test:*)").unwrap();
        let request = bash("cargo test", Some(&rule));
        let (answer, out) = run(&mut typed(&["maybe", "x", "s"]), &request);
        assert_eq!(answer, request.save().unwrap());
        assert_eq!(out.matches("Answer y, n, a or s (Enter = no).").count(), 2, "{out}");
        assert_eq!(out.matches("Allow?").count(), 3);
        let (answer, _) = run(&mut typed(&["a"]), &request);
        let Answer::Always(grant) = answer else { panic!("{answer:?}") };
        assert_eq!(grant.rule(), &rule);
        let (answer, out) = run(&mut typed(&["a", ""]), &bash("x; y", None));
        assert_eq!(answer, Answer::No, "`a` is not offered without a rule");
        assert!(out.contains("Answer y or n (Enter = no)."), "{out}");
    }

    #[test]
    fn ctrl_c_and_end_of_input_cancel() {
        for line in [Line::Interrupted, Line::End] {
            let mut source = Script(VecDeque::from([Line::Text("?".into()), line.clone()]));
            let (answer, out) = run(&mut source, &bash("ls", None));
            assert_eq!(answer, Answer::Cancel, "{line:?}");
            assert!(out.ends_with("(Enter = no): \n"), "{out:?}");
        }
    }

    /// The model writes the arguments: nothing in them may look like pincer's own prompt.
    #[test]
    fn untrusted_text_cannot_fake_the_prompt() {
        let fake = "ls\nAllow? [y]es  [n]o  (Enter = no): y\n\x1b[2K\x1b[1A\rAllow? ok\t\u{202E}fr- mr\u{202C}";
        let long = format!("echo {}Allow? [y]es  [n]o", " ".repeat(120));
        for detail in [fake, long.as_str()] {
            let request = ApprovalRequest {
                tool: "bash\nAllow?",
                class: ToolClass::Bash,
                display: detail,
                detail,
                suggested: None,
            };
            let out = render(&request, PLAIN);
            let lines: Vec<&str> = out.lines().collect();
            assert!(lines[0].starts_with("? bash⏎Allow?"), "the header holds one line: {out}");
            for line in &lines[1..] {
                assert!(line.starts_with(GUTTER), "every line of untrusted text is in the gutter: {line:?}");
                let text = &line[GUTTER.len()..];
                assert!(GUTTER_WIDTH + columns(text) <= PLAIN.width, "wrapped to the width: {line:?}");
                assert!(!line.contains('\x1b') && !line.contains('\r') && !line.contains('\u{202E}'), "{line:?}");
            }
            assert_eq!(lines.len(), out.matches('\n').count(), "no line without its newline");
        }
        let out = render(&bash(fake, None), PLAIN);
        assert!(out.contains("│ ^[[2K^[[1A^MAllow? ok   <U+202E>fr- mr<U+202C>\n"), "{out}");
        assert!(out.contains("│ Allow? [y]es  [n]o  (Enter = no): y\n"), "{out}");
    }

    #[test]
    fn edits_show_a_coloured_diff_when_colour_is_on() {
        let diff = "--- src/main.rs\n+++ src/main.rs\n@@ -1 +1 @@\n-old line\n+new line\n context";
        let request = ApprovalRequest {
            tool: "edit_file",
            class: ToolClass::Edit,
            display: "src/main.rs",
            detail: diff,
            suggested: None,
        };
        let out = render(&request, Style { color: true, width: 80 });
        assert!(out.contains(&format!("{}\n", paint("-old line", RED, true))), "{out}");
        assert!(out.contains(&format!("{}\n", paint("+new line", GREEN, true))), "{out}");
        assert!(out.contains(&format!("{} context\n", paint(GUTTER, DIM, true))), "{out}");
        let plain = render(&request, PLAIN);
        assert!(!plain.contains('\x1b') && plain.contains("│ -old line\n"), "{plain}");
        // Not an edit: a leading `-` is just text.
        let out = render(&bash("-rf", None), Style { color: true, width: 80 });
        assert!(!out.contains(&paint("-rf", RED, true)), "{out}");
    }

    /// The real reader on a pseudo-terminal: a line at a time, typed-ahead input dropped, the
    /// terminal closing read as the end.
    #[test]
    fn the_terminal_reader_reads_lines_and_drops_typeahead() {
        use std::os::fd::FromRawFd;
        let (mut master, slave) = {
            let (mut master, mut slave) = (-1, -1);
            // SAFETY: openpty writes two descriptors; the null pointers ask for defaults.
            let rc = unsafe {
                libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null())
            };
            assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
            // SAFETY: both descriptors were just opened and are owned here alone.
            unsafe { (File::from_raw_fd(master), File::from_raw_fd(slave)) }
        };
        master.write_all(b"y\n").unwrap();
        let mut poll = libc::pollfd { fd: slave.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid `pollfd`, living through the call.
        assert_eq!(unsafe { libc::poll(&mut poll, 1, 10_000) }, 1, "the typed-ahead line arrives");
        discard_typeahead(slave.as_raw_fd());
        master.write_all(b"maybe\nno\r").unwrap();
        let mut lines = TtyLines { fd: slave.as_raw_fd(), pending: Vec::new() };
        assert_eq!(lines.next_line(), Line::Text("maybe".into()));
        assert_eq!(lines.next_line(), Line::Text("no".into()), "Enter sends \\r, the terminal makes it \\n");
        drop(master);
        assert_eq!(lines.next_line(), Line::End);
    }

    #[test]
    fn long_text_wraps_and_tabs_expand() {
        assert_eq!(wrap("abcdefgh", 3), ["abc", "def", "gh"]);
        assert_eq!(wrap("", 3), [""]);
        assert_eq!(wrap("a\tb", 20), ["a       b"]);
        assert_eq!(wrap("éé", 2), ["é", "é"]);
        assert_eq!(one_line("a\nb", 10), "a⏎b");
        assert_eq!(one_line("abcdefghij", 5), "abcd…");
        let out = render(&bash("", None), PLAIN);
        assert!(out.contains("│ (no arguments)\n"), "{out}");
    }
}
