//! Where output goes. Data — answers, `--json`, completions, help — goes to stdout through
//! [`data`] or [`write_stdout`], and nowhere else (clippy refuses `std::io::stdout` and `print!`
//! elsewhere); everything meant for the person goes to stderr, ignoring write errors.
//!
//! A closed stdout (`pincer … | head`) is not a failure: the write fails with
//! [`OutputError::Closed`], the command stops at once and exits 0 without a word. Any other write
//! failure (a full disk) is one line and exit 1.
//!
//! The REPL's line editor (rustyline) can only draw on descriptor 1. When stdout is not a terminal
//! (`pincer agent > chat.txt`, `pincer agent | tee log`), [`EditorOnTerminal`] points descriptor 1
//! at the terminal for as long as the REPL runs and keeps the real stdout aside for [`data`], so the
//! file gets only answers. (Windows: the standard output handle, see `output/windows.rs`.)

use std::fs::File;
use std::io::{self, IsTerminal, Write};
#[cfg(unix)]
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::OnceLock;

/// Writing data to stdout failed.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The reader went away (`| head`): the command ends quietly with exit 0.
    #[error("stdout was closed")]
    Closed,
    #[error("cannot write to stdout: {0}")]
    Failed(io::Error),
}

impl From<io::Error> for OutputError {
    fn from(error: io::Error) -> OutputError {
        if error.kind() == io::ErrorKind::BrokenPipe { OutputError::Closed } else { OutputError::Failed(error) }
    }
}

/// The real stdout while descriptor 1 shows the line editor.
static REAL_STDOUT: OnceLock<File> = OnceLock::new();

/// The writer for data. Unbuffered on its own: wrap it for many small writes.
pub struct Data;

pub fn data() -> Data {
    Data
}

impl Write for Data {
    #[allow(clippy::disallowed_methods)] // this is the one place that writes to stdout
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match REAL_STDOUT.get() {
            Some(mut file) => file.write(buf),
            None => io::stdout().write(buf),
        }
    }

    #[allow(clippy::disallowed_methods)]
    fn flush(&mut self) -> io::Result<()> {
        match REAL_STDOUT.get() {
            Some(_) => Ok(()),
            None => io::stdout().flush(),
        }
    }
}

/// Writes all of `bytes` to stdout and flushes them.
pub fn write_stdout(bytes: &[u8]) -> Result<(), OutputError> {
    let mut out = data();
    out.write_all(bytes)?;
    Ok(out.flush()?)
}

/// Whether data lands on a terminal (colour, tables for people).
#[allow(clippy::disallowed_methods)]
pub fn stdout_is_terminal() -> bool {
    match REAL_STDOUT.get() {
        Some(file) => file.is_terminal(),
        None => io::stdout().is_terminal(),
    }
}

/// While alive, descriptor 1 is the terminal (when stdout was not one) and [`data`] writes to the
/// real stdout. Dropping it puts descriptor 1 back.
#[cfg(unix)]
pub struct EditorOnTerminal {
    saved: Option<OwnedFd>,
}

#[cfg(unix)]
impl EditorOnTerminal {
    /// Moves the line editor's output to the terminal: stderr if it is one, else stdin if it was
    /// opened for writing (as a shell's terminal is), else `/dev/tty`. With none of these, or when
    /// stdout is a terminal already, nothing changes.
    #[allow(clippy::disallowed_methods)]
    pub fn take() -> EditorOnTerminal {
        let none = EditorOnTerminal { saved: None };
        if io::stdout().is_terminal() || REAL_STDOUT.get().is_some() {
            return none;
        }
        let Some((terminal, _opened)) = find_terminal() else { return none };
        let _ = io::stdout().flush();
        let (Ok(real), Ok(restore)) = (dup_cloexec(libc::STDOUT_FILENO), dup_cloexec(libc::STDOUT_FILENO)) else {
            return none;
        };
        if REAL_STDOUT.set(File::from(real)).is_err() {
            return none;
        }
        // SAFETY: dup2 between descriptors that are open; descriptor 1 is replaced atomically.
        if unsafe { libc::dup2(terminal, libc::STDOUT_FILENO) } < 0 {
            return none;
        }
        EditorOnTerminal { saved: Some(restore) }
    }
}

#[cfg(unix)]
impl Drop for EditorOnTerminal {
    #[allow(clippy::disallowed_methods)]
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            let _ = io::stdout().flush();
            // SAFETY: as above; `saved` is a descriptor we own.
            unsafe {
                libc::dup2(saved.as_raw_fd(), libc::STDOUT_FILENO);
            }
        }
    }
}

/// A descriptor of the person's terminal, and the file that owns it if it had to be opened.
#[cfg(unix)]
fn find_terminal() -> Option<(RawFd, Option<File>)> {
    if io::stderr().is_terminal() {
        return Some((libc::STDERR_FILENO, None));
    }
    // SAFETY: F_GETFL on descriptor 0 only reads its flags.
    let stdin_flags = unsafe { libc::fcntl(libc::STDIN_FILENO, libc::F_GETFL) };
    if io::stdin().is_terminal() && stdin_flags >= 0 && stdin_flags & libc::O_ACCMODE != libc::O_RDONLY {
        return Some((libc::STDIN_FILENO, None));
    }
    let tty = std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty").ok()?;
    Some((tty.as_raw_fd(), Some(tty)))
}

#[cfg(unix)]
fn dup_cloexec(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC returns a new descriptor that we then own.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `new` is a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::EditorOnTerminal;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_reader_is_not_a_failure_but_a_full_disk_is() {
        assert!(matches!(OutputError::from(io::Error::from(io::ErrorKind::BrokenPipe)), OutputError::Closed));
        let full = OutputError::from(io::Error::from_raw_os_error(libc::ENOSPC));
        assert!(full.to_string().starts_with("cannot write to stdout: No space left on device"), "{full}");
    }
}
