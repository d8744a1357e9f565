//! Hidden input: a secret typed or pasted at a terminal, read with echo off.
//!
//! It uses the terminal pincer was given — stdin — never `/dev/tty`, which cannot be opened
//! without a controlling terminal (some IDE consoles and containers). The terminal is switched to
//! key-at-a-time mode without echo and without signal keys, so pincer sees Ctrl-C itself, with or
//! without a controlling terminal; the erase and kill keys work as usual. However the prompt ends
//! (Enter, Ctrl-C, Ctrl-D, SIGINT/SIGTERM/SIGHUP, an error) the settings are put back, and what is
//! still queued (the rest of a multi-line paste) is discarded, so no part of a secret reaches the
//! shell after pincer exits. (Windows: the console's own modes, see `hidden/windows.rs`.)

#[cfg(unix)]
use std::io::Write;
#[cfg(unix)]
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use zeroize::Zeroizing;

use crate::exit::{Interrupted, UsageError};
#[cfg(unix)]
use crate::term::interrupt;

/// Longer than any token (real ones are 108–200 characters); past it the input is refused.
pub const MAX_SECRET_BYTES: usize = 4096;
const CHUNK_BYTES: usize = 256;

// The usual control keys, honoured even when the terminal's settings disable them.
const CTRL_C: u8 = 0x03;
const CTRL_D: u8 = 0x04;
const BACKSPACE: u8 = 0x08;
const CTRL_U: u8 = 0x15;
const DELETE: u8 = 0x7f;
/// A control character set to this is turned off (`_POSIX_VDISABLE` on Linux).
const DISABLED: u8 = 0;

/// Prints `prompt` on stderr and reads one line from stdin (a terminal) without echo. `None` is
/// the end of input (Ctrl-D on an empty line). Ctrl-C or a signal fails with [`Interrupted`].
#[cfg(unix)]
pub fn read_line(prompt: &str) -> anyhow::Result<Option<Zeroizing<Vec<u8>>>> {
    let stdin = std::io::stdin();
    let fd = stdin.as_fd();
    let mut err = std::io::stderr();
    let _ = write!(err, "{prompt}");
    let _ = err.flush();
    // Declared first, so it is dropped last: the terminal is restored while signals are caught.
    let _signals = interrupt::catch();
    let mode = HiddenMode::enter(fd)?;
    let result = read_keys(&mode.keys, |chunk| interrupt::read(fd, chunk));
    drop(mode);
    // Enter (or Ctrl-C) was not echoed: end the prompt's line.
    let _ = writeln!(err);
    result
}

/// The terminal's own control characters, read from its settings.
struct Keys {
    interrupt: u8,
    end: u8,
    erase: u8,
    kill: u8,
}

enum Key {
    Enter,
    Interrupt,
    End,
    Erase,
    Kill,
    Byte(u8),
}

impl Keys {
    fn classify(&self, byte: u8) -> Key {
        let is = |key: u8| key != DISABLED && key == byte;
        match byte {
            b'\r' | b'\n' => Key::Enter,
            CTRL_C => Key::Interrupt,
            _ if is(self.interrupt) => Key::Interrupt,
            CTRL_D => Key::End,
            _ if is(self.end) => Key::End,
            DELETE | BACKSPACE => Key::Erase,
            _ if is(self.erase) => Key::Erase,
            CTRL_U => Key::Kill,
            _ if is(self.kill) => Key::Kill,
            b => Key::Byte(b),
        }
    }
}

/// Reads keys with `read` (at most [`CHUNK_BYTES`] at a time) until the line ends.
fn read_keys(
    keys: &Keys,
    mut read: impl FnMut(&mut [u8]) -> anyhow::Result<usize>,
) -> anyhow::Result<Option<Zeroizing<Vec<u8>>>> {
    // Allocated once at full size: growing would leave copies of the secret behind.
    let mut line = Zeroizing::new(Vec::with_capacity(MAX_SECRET_BYTES));
    let mut chunk = Zeroizing::new([0u8; CHUNK_BYTES]);
    loop {
        let n = read(&mut chunk[..])?;
        if n == 0 {
            return Ok(if line.is_empty() { None } else { Some(line) });
        }
        for &byte in &chunk[..n] {
            match keys.classify(byte) {
                Key::Enter => return Ok(Some(line)),
                Key::Interrupt => return Err(Interrupted.into()),
                Key::End if line.is_empty() => return Ok(None),
                Key::End => {}
                Key::Erase => erase_last_char(&mut line),
                Key::Kill => line.clear(),
                Key::Byte(_) if line.len() == MAX_SECRET_BYTES => {
                    return Err(UsageError(format!(
                        "the input is longer than {MAX_SECRET_BYTES} bytes, which no token is; nothing was saved\nhint: paste the token alone"
                    ))
                    .into());
                }
                Key::Byte(b) => line.push(b),
            }
        }
    }
}

/// Removes the last UTF-8 character (its continuation bytes, then its first byte).
fn erase_last_char(line: &mut Vec<u8>) {
    while let Some(byte) = line.pop() {
        if byte & 0b1100_0000 != 0b1000_0000 {
            break;
        }
    }
}

/// The terminal without echo or line editing, until dropped.
#[cfg(unix)]
struct HiddenMode<'a> {
    fd: BorrowedFd<'a>,
    saved: libc::termios,
    keys: Keys,
}

#[cfg(unix)]
impl<'a> HiddenMode<'a> {
    fn enter(fd: BorrowedFd<'a>) -> anyhow::Result<HiddenMode<'a>> {
        let cannot = |e: std::io::Error| anyhow::anyhow!("cannot turn off echo on the terminal: {e}");
        // SAFETY: tcgetattr fills a termios struct we own, on a descriptor that stays open.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        if unsafe { libc::tcgetattr(fd.as_raw_fd(), &mut saved) } != 0 {
            return Err(cannot(std::io::Error::last_os_error()));
        }
        let mut hidden = saved;
        hidden.c_lflag &=
            !(libc::ECHO | libc::ECHOE | libc::ECHOK | libc::ECHONL | libc::ICANON | libc::ISIG | libc::IEXTEN);
        hidden.c_cc[libc::VMIN] = 1;
        hidden.c_cc[libc::VTIME] = 0;
        // SAFETY: as above, with settings derived from the terminal's own.
        if unsafe { libc::tcsetattr(fd.as_raw_fd(), libc::TCSANOW, &hidden) } != 0 {
            return Err(cannot(std::io::Error::last_os_error()));
        }
        let keys = Keys {
            interrupt: saved.c_cc[libc::VINTR],
            end: saved.c_cc[libc::VEOF],
            erase: saved.c_cc[libc::VERASE],
            kill: saved.c_cc[libc::VKILL],
        };
        Ok(HiddenMode { fd, saved, keys })
    }
}

#[cfg(unix)]
impl Drop for HiddenMode<'_> {
    fn drop(&mut self) {
        discard_typeahead(self.fd);
        // SAFETY: putting back the settings tcgetattr returned.
        unsafe {
            libc::tcsetattr(self.fd.as_raw_fd(), libc::TCSANOW, &self.saved);
        }
    }
}

/// Drops input the terminal has received but nobody read (e.g. the rest of a paste).
#[cfg(unix)]
pub fn discard_typeahead(fd: BorrowedFd<'_>) {
    // SAFETY: tcflush on an open descriptor; on a non-terminal it fails harmlessly.
    unsafe {
        libc::tcflush(fd.as_raw_fd(), libc::TCIFLUSH);
    }
}

/// [`discard_typeahead`] on stdin.
#[cfg(unix)]
pub fn discard_stdin_typeahead() {
    discard_typeahead(std::io::stdin().as_fd());
}

/// UTF-16 from a Windows console as UTF-8 into `out` (3 bytes per unit is enough); a first half
/// of a surrogate pair at the end is kept in `held` for the next read, a lone half becomes
/// U+FFFD. Returns the bytes written.
#[cfg(any(windows, test))]
fn decode_console_units(units: &[u16], held: &mut Option<u16>, out: &mut [u8]) -> usize {
    const HIGH_SURROGATES: std::ops::Range<u16> = 0xD800..0xDC00;
    let mut units = units;
    if let Some((&last, rest)) = units.split_last()
        && HIGH_SURROGATES.contains(&last)
    {
        *held = Some(last);
        units = rest;
    }
    let mut n = 0;
    for c in char::decode_utf16(units.iter().copied()) {
        n += c.unwrap_or(char::REPLACEMENT_CHARACTER).encode_utf8(&mut out[n..]).len();
    }
    n
}

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::{discard_stdin_typeahead, read_line};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erase_removes_whole_characters() {
        let mut line = "aé🦀".as_bytes().to_vec();
        erase_last_char(&mut line);
        assert_eq!(line, "aé".as_bytes());
        erase_last_char(&mut line);
        assert_eq!(line, b"a");
        erase_last_char(&mut line);
        erase_last_char(&mut line);
        assert!(line.is_empty());
    }

    #[test]
    fn console_keys_become_utf8_even_when_a_pair_is_split_between_reads() {
        let units: Vec<u16> = "aé🦀".encode_utf16().collect();
        let (mut held, mut out) = (None, [0u8; 16]);
        // The crab's two halves arrive in two reads.
        let n = decode_console_units(&units[..3], &mut held, &mut out);
        assert_eq!((&out[..n], held), ("aé".as_bytes(), Some(units[2])));
        let carried: Vec<u16> = held.take().into_iter().chain([units[3]]).collect();
        let n = decode_console_units(&carried, &mut held, &mut out);
        assert_eq!((&out[..n], held), ("🦀".as_bytes(), None));
        // A lone second half is not a character.
        let n = decode_console_units(&[0xDC00, u16::from(b'x')], &mut held, &mut out);
        assert_eq!(&out[..n], "\u{FFFD}x".as_bytes());
    }

    #[test]
    fn control_keys_follow_the_terminal_and_the_usual_bytes() {
        let keys = Keys { interrupt: 0, end: 0, erase: b'#', kill: 0 };
        assert!(matches!(keys.classify(CTRL_C), Key::Interrupt));
        assert!(matches!(keys.classify(b'#'), Key::Erase));
        assert!(matches!(keys.classify(DELETE), Key::Erase));
        assert!(matches!(keys.classify(b'\r'), Key::Enter));
        assert!(matches!(keys.classify(CTRL_U), Key::Kill));
        assert!(matches!(keys.classify(CTRL_D), Key::End));
        assert!(matches!(keys.classify(0), Key::Byte(0)));
        assert!(matches!(keys.classify(b'k'), Key::Byte(b'k')));
    }
}
