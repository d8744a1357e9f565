//! Hidden input on Windows: the console without echo, line input or Ctrl-C processing, so each
//! key arrives as typed and Ctrl-C is a key pincer handles itself. Keys are read as UTF-16 from
//! the console (`ReadConsoleW`) into buffers that are wiped, never through std's stdin buffer.
//! stdin that is not a console (mintty, a pipe pretending to be a terminal) is refused: nothing
//! could keep the secret from being shown.

use std::io::Write;

use windows_sys::Win32::Foundation::{HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::System::Console::{
    CONSOLE_MODE, ENABLE_ECHO_INPUT, ENABLE_LINE_INPUT, ENABLE_PROCESSED_INPUT, FlushConsoleInputBuffer,
    GetConsoleMode, GetStdHandle, ReadConsoleW, STD_INPUT_HANDLE, SetConsoleMode,
};
use zeroize::Zeroizing;

use super::{CHUNK_BYTES, DISABLED, Keys, decode_console_units, read_keys};

/// Ctrl-Z: the end of input at a Windows console.
const CTRL_Z: u8 = 0x1a;
/// Esc clears the line at a Windows console.
const ESCAPE: u8 = 0x1b;
/// UTF-16 units read at once: each becomes at most 3 bytes of UTF-8, and one unit may be held
/// over from the last read, so a read always fits in a chunk.
const UNITS_PER_READ: usize = CHUNK_BYTES / 3 - 1;

/// Prints `prompt` on stderr and reads one line from the console without echo. `None` is the
/// end of input (Ctrl-Z or Ctrl-D on an empty line); Ctrl-C fails with `Interrupted`.
pub fn read_line(prompt: &str) -> anyhow::Result<Option<Zeroizing<Vec<u8>>>> {
    let mut err = std::io::stderr();
    let _ = write!(err, "{prompt}");
    let _ = err.flush();
    let mode = HiddenMode::enter()?;
    let mut reader = ConsoleReader { console: mode.console, held: None };
    let keys = Keys { interrupt: DISABLED, end: CTRL_Z, erase: DISABLED, kill: ESCAPE };
    let result = read_keys(&keys, |chunk| reader.read(chunk));
    drop(mode);
    // Enter (or Ctrl-C) was not echoed: end the prompt's line.
    let _ = writeln!(err);
    result
}

/// Drops what the console has queued but nobody read (e.g. the rest of a paste).
pub fn discard_stdin_typeahead() {
    if let Some(console) = stdin_console() {
        // SAFETY: a console input handle; failure is harmless.
        unsafe { FlushConsoleInputBuffer(console) };
    }
}

/// stdin's handle, when it is one.
fn stdin_console() -> Option<HANDLE> {
    // SAFETY: no preconditions; the handle is the process's, not ours to close.
    let handle = unsafe { GetStdHandle(STD_INPUT_HANDLE) };
    (!handle.is_null() && handle != INVALID_HANDLE_VALUE).then_some(handle)
}

/// The console without echo, line input or Ctrl-C processing, until dropped.
struct HiddenMode {
    console: HANDLE,
    saved: CONSOLE_MODE,
}

impl HiddenMode {
    fn enter() -> anyhow::Result<HiddenMode> {
        let refused = || {
            anyhow::anyhow!(
                "cannot turn off echo: stdin is not a Windows console (a terminal such as mintty is not one)\nhint: pipe the secret on stdin instead, or set it in the environment (e.g. ANTHROPIC_API_KEY)"
            )
        };
        let console = stdin_console().ok_or_else(refused)?;
        let mut saved: CONSOLE_MODE = 0;
        // SAFETY: GetConsoleMode writes one mode into `saved`; it fails on a handle that is not a
        // console.
        if unsafe { GetConsoleMode(console, &mut saved) } == 0 {
            return Err(refused());
        }
        let hidden = saved & !(ENABLE_ECHO_INPUT | ENABLE_LINE_INPUT | ENABLE_PROCESSED_INPUT);
        // SAFETY: as above, with a mode derived from the console's own.
        if unsafe { SetConsoleMode(console, hidden) } == 0 {
            return Err(anyhow::anyhow!("cannot turn off echo on the console: {}", std::io::Error::last_os_error()));
        }
        Ok(HiddenMode { console, saved })
    }
}

impl Drop for HiddenMode {
    fn drop(&mut self) {
        // SAFETY: a console input handle; the queue is dropped, then the mode it had put back.
        unsafe {
            FlushConsoleInputBuffer(self.console);
            SetConsoleMode(self.console, self.saved);
        }
    }
}

/// Console keys as UTF-8 bytes.
struct ConsoleReader {
    console: HANDLE,
    /// The first half of a surrogate pair whose second half is in the next read.
    held: Option<u16>,
}

impl ConsoleReader {
    /// Reads what was typed (blocking until a key), as UTF-8 into `out` (at least
    /// [`CHUNK_BYTES`] long); `Ok(0)` when the console reports nothing.
    fn read(&mut self, out: &mut [u8]) -> anyhow::Result<usize> {
        let mut units = Zeroizing::new([0u16; UNITS_PER_READ + 1]);
        let start = usize::from(self.held.is_some());
        if let Some(high) = self.held.take() {
            units[0] = high;
        }
        let mut read: u32 = 0;
        // SAFETY: the buffer holds UNITS_PER_READ units from `start` on, and lives through the
        // call; ReadConsoleW writes how many it read into `read`.
        let ok = unsafe {
            ReadConsoleW(
                self.console,
                units[start..].as_mut_ptr().cast(),
                UNITS_PER_READ as u32,
                &mut read,
                std::ptr::null(),
            )
        };
        if ok == 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        if read == 0 {
            return Ok(0);
        }
        Ok(decode_console_units(&units[..start + read as usize], &mut self.held, out))
    }
}
