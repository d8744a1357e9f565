//! Reading choices and secrets from a person or a pipe.
//!
//! On a TTY a secret is read with echo off; otherwise one line is read from stdin. Menus take a
//! number on both (Enter picks the default), so `printf '2\nKEY\n' | pincer auth login` works the
//! same as typing. All input flows through one buffered reader, so a piped menu answer and the
//! token after it are read in order.

use std::io::{BufRead, IsTerminal, Write};

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

    /// One line without its line ending; `None` at end of input.
    fn line(&mut self) -> std::io::Result<Option<String>> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let trimmed_len = line.trim_end_matches(['\n', '\r']).len();
        line.truncate(trimmed_len);
        Ok(Some(line))
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

    /// A secret: hidden on a TTY, one line from a pipe. Surrounding whitespace is trimmed.
    pub fn secret(&mut self, prompt: &str, what: &'static str) -> anyhow::Result<Secret<String>> {
        let raw = if self.tty {
            let mut err = std::io::stderr();
            write!(err, "{prompt}")?;
            err.flush()?;
            match rpassword::read_password() {
                Ok(s) => s,
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(EndOfInput(what).into()),
                Err(e) => return Err(e.into()),
            }
        } else {
            match self.line()? {
                Some(s) => s,
                None => return Err(EndOfInput(what).into()),
            }
        };
        let secret = Secret::new(raw.trim().to_string());
        let mut raw = raw;
        zeroize::Zeroize::zeroize(&mut raw);
        Ok(secret)
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
}
