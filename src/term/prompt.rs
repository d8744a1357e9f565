//! Reading choices and secrets from a person or a pipe.
//!
//! On a TTY a secret is read with echo off (see [`crate::term::hidden`]); otherwise one line is
//! read from stdin. Menus take a
//! number on both (Enter picks the default), so `printf '2\nKEY\n' | pincer auth login` works the
//! same as typing. All input flows through one buffered reader, so a piped menu answer and the
//! token after it are read in order.

use std::io::{BufRead, IsTerminal, Write};

use zeroize::Zeroizing;

use crate::auth::credential::TokenError;
use crate::secret::Secret;

/// End of input before an answer: a usage error (exit 2), nothing saved.
#[derive(Debug, thiserror::Error)]
#[error("end of input before {0}\nnothing was saved")]
pub struct EndOfInput(pub &'static str);

pub struct Input {
    reader: Box<dyn BufRead>,
    tty: bool,
}

impl Input {
    /// Standard input, hidden-echo reading when it is a terminal.
    pub fn stdin() -> Input {
        let stdin = std::io::stdin();
        let tty = stdin.is_terminal();
        Input { reader: Box::new(stdin.lock()), tty }
    }

    /// Any reader, treated as a pipe (for tests).
    pub fn from_reader(reader: impl BufRead + 'static) -> Input {
        Input { reader: Box::new(reader), tty: false }
    }

    pub fn is_tty(&self) -> bool {
        self.tty
    }

    /// One line without its line ending; `None` at end of input. Bytes that are not UTF-8 become
    /// U+FFFD: a menu answer is only ever compared with numbers.
    fn line(&mut self) -> std::io::Result<Option<String>> {
        let mut line = Vec::new();
        if self.reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(None);
        }
        Ok(Some(String::from_utf8_lossy(trim_line_ending(&line)).into_owned()))
    }

    /// Drops what a terminal has queued but nobody read, e.g. the rest of a paste whose first
    /// line was just refused, so it never reaches the shell. Nothing to do on a pipe.
    pub fn discard_typeahead(&self) {
        if self.tty {
            crate::term::hidden::discard_stdin_typeahead();
        }
    }

    /// A numbered menu on stderr. Returns the 0-based index of the choice. Anything but a listed
    /// number re-prompts; an empty answer picks `default`.
    pub fn choose(&mut self, title: &str, options: &[&str], default: usize) -> anyhow::Result<usize> {
        let mut err = std::io::stderr();
        writeln!(err, "{title}")?;
        for (i, option) in options.iter().enumerate() {
            writeln!(err, "  {}) {option}", i + 1)?;
        }
        loop {
            write!(err, "Choose 1-{} [{}]: ", options.len(), default + 1)?;
            err.flush()?;
            let Some(answer) = self.line()? else {
                writeln!(err)?;
                return Err(EndOfInput("a choice was made").into());
            };
            let answer = answer.trim();
            if answer.is_empty() {
                return Ok(default);
            }
            match answer.parse::<usize>() {
                Ok(n) if (1..=options.len()).contains(&n) => return Ok(n - 1),
                _ => {
                    // The answer may be a token pasted too early: never echo it back.
                    writeln!(
                        err,
                        "Not a valid choice: enter a number from 1 to {} (or press Enter for {}).",
                        options.len(),
                        default + 1
                    )?;
                }
            }
        }
    }

    /// A secret: hidden on a TTY, one line from a pipe. Surrounding whitespace is trimmed; bytes
    /// that are not UTF-8 are a bad character like any other (exit 2), not an I/O error.
    pub fn secret(&mut self, prompt: &str, what: &'static str) -> anyhow::Result<Secret<String>> {
        let raw = if self.tty {
            crate::term::hidden::read_line(prompt)?
        } else {
            let mut line = Zeroizing::new(Vec::new());
            match self.reader.read_until(b'\n', &mut line)? {
                0 => None,
                _ => Some(line),
            }
        };
        let Some(raw) = raw else { return Err(EndOfInput(what).into()) };
        Ok(decode_secret(trim_line_ending(&raw))?)
    }
}

fn trim_line_ending(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &line[..end]
}

/// A token's bytes as text, trimmed; the first byte that is not UTF-8 is named by position.
fn decode_secret(raw: &[u8]) -> Result<Secret<String>, TokenError> {
    let raw = raw.trim_ascii();
    match std::str::from_utf8(raw) {
        Ok(text) => Ok(Secret::new(text.trim().to_string())),
        Err(e) => {
            let valid = std::str::from_utf8(&raw[..e.valid_up_to()]).unwrap_or_default();
            Err(TokenError::NotUtf8 { position: valid.chars().count() + 1 })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(text: &str) -> Input {
        Input::from_reader(std::io::Cursor::new(text.as_bytes().to_vec()))
    }

    #[test]
    fn menu_takes_numbers_enter_and_reprompts() {
        let opts = ["a", "b"];
        assert_eq!(input("2\n").choose("t", &opts, 0).unwrap(), 1);
        assert_eq!(input("\n").choose("t", &opts, 0).unwrap(), 0);
        assert_eq!(input("x\n3\n0\n 2 \n").choose("t", &opts, 0).unwrap(), 1);
        let err = input("x\n").choose("t", &opts, 0).unwrap_err();
        assert!(err.downcast_ref::<EndOfInput>().is_some());
    }

    #[test]
    fn menu_answer_and_secret_are_read_in_order() {
        let mut i = input("2\r\n  sk-secret  \n");
        assert_eq!(i.choose("t", &["a", "b"], 0).unwrap(), 1);
        assert_eq!(i.secret("p", "a token").unwrap().expose(), "sk-secret");
        assert!(i.secret("p", "a token").unwrap_err().downcast_ref::<EndOfInput>().is_some());
    }

    #[test]
    fn bytes_that_are_not_utf8_are_a_bad_character_with_its_position() {
        let mut i = Input::from_reader(std::io::Cursor::new(b"  sk-\xc3\xa9\xff-x\r\n\xfe\n1\n".to_vec()));
        let err = i.secret("p", "a token").unwrap_err();
        assert_eq!(err.downcast_ref::<TokenError>(), Some(&TokenError::NotUtf8 { position: 5 }));
        let err = i.secret("p", "a token").unwrap_err();
        assert_eq!(err.downcast_ref::<TokenError>(), Some(&TokenError::NotUtf8 { position: 1 }));
        assert_eq!(i.choose("t", &["a"], 0).unwrap(), 0);
        let mut bad_menu = Input::from_reader(std::io::Cursor::new(b"\xff\n1\n".to_vec()));
        assert_eq!(bad_menu.choose("t", &["a", "b"], 1).unwrap(), 0, "a bad byte re-prompts");
    }
}
