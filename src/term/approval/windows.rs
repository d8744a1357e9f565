//! The answer on Windows: read from the console's input (`CONIN$`, or stdin when it is the
//! console) in its line mode, so the console echoes and edits the answer as usual. There is no
//! `poll` for a console: the read blocks, and Ctrl-C ends it (the console aborts a line read on
//! Ctrl-C, and the handler sets the flag), which cancels the turn like the end of input does.

use std::fs::File;
use std::io::Read;
use std::os::windows::io::{AsHandle, AsRawHandle};

use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::System::Console::{
    CONSOLE_SCREEN_BUFFER_INFO, FlushConsoleInputBuffer, GetConsoleScreenBufferInfo, GetStdHandle, STD_ERROR_HANDLE,
};

use super::{AnswerSource, DEFAULT_WIDTH, Line, Style, TTY_PATH, TerminalApprover, TtyInput, ask_on};
use crate::term::interrupt;
use crate::tools::approve::{Answer, ApprovalRequest, Approver};

impl Approver for TerminalApprover {
    fn ask(&mut self, request: &ApprovalRequest<'_>) -> Answer {
        let console = match &self.input {
            TtyInput::DevTty(tty) => tty.try_clone(),
            TtyInput::Stdin => std::io::stdin().as_handle().try_clone_to_owned().map(File::from),
        };
        // Without the console there is nobody to ask: nothing runs.
        let Ok(console) = console else { return Answer::Cancel };
        discard_typeahead(&console);
        let style = Style { color: self.color, width: terminal_width() };
        let mut source = ConsoleLines { console, pending: Vec::new() };
        // Held while asking: nothing else writes into the prompt.
        let mut err = std::io::stderr().lock();
        ask_on(&mut source, &mut err, request, style)
    }
}

/// The console's input, for reading answers: writable too, which discarding typeahead needs.
pub(super) fn open_tty() -> std::io::Result<File> {
    std::fs::OpenOptions::new().read(true).write(true).open(TTY_PATH)
}

/// Drops what was typed before the question was shown.
fn discard_typeahead(console: &File) {
    // SAFETY: a console input handle that stays open through the call; failure is harmless.
    unsafe { FlushConsoleInputBuffer(console.as_raw_handle() as HANDLE) };
}

/// The console window's width in columns (stderr's screen buffer), or [`DEFAULT_WIDTH`].
fn terminal_width() -> usize {
    // SAFETY: a zeroed struct is valid; GetConsoleScreenBufferInfo fills it, or fails on a
    // handle that is not a console.
    unsafe {
        let mut info: CONSOLE_SCREEN_BUFFER_INFO = std::mem::zeroed();
        if GetConsoleScreenBufferInfo(GetStdHandle(STD_ERROR_HANDLE), &mut info) == 0 {
            return DEFAULT_WIDTH;
        }
        let columns = i32::from(info.srWindow.Right) - i32::from(info.srWindow.Left) + 1;
        usize::try_from(columns).ok().filter(|&c| c > 0).unwrap_or(DEFAULT_WIDTH)
    }
}

/// Lines from the console, a line at a time as its line mode delivers them.
struct ConsoleLines {
    console: File,
    pending: Vec<u8>,
}

impl AnswerSource for ConsoleLines {
    fn next_line(&mut self) -> Line {
        let mut buf = [0u8; 256];
        loop {
            if let Some(line) = super::complete_line(&mut self.pending) {
                return line;
            }
            if interrupt::interrupted() {
                return Line::Interrupted;
            }
            match self.console.read(&mut buf) {
                Ok(0) | Err(_) if interrupt::interrupted() => return Line::Interrupted,
                Ok(0) => return Line::End,
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return Line::End,
            }
        }
    }
}
