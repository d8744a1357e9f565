//! The line editor on the console when stdout is not one (Windows). rustyline draws on the
//! process's standard output handle, and std writes to whatever that handle is at each write, so
//! the handle is pointed at the console (`CONOUT$`) while the REPL runs, and [`super::data`]
//! writes to a duplicate of the real stdout.

use std::fs::{File, OpenOptions};
use std::io::{self, IsTerminal, Write};
use std::os::windows::io::{AsHandle, AsRawHandle};

use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::System::Console::{GetStdHandle, STD_OUTPUT_HANDLE, SetStdHandle};

use super::REAL_STDOUT;

/// While alive, the standard output handle is the console (when stdout was not one) and
/// [`super::data`] writes to the real stdout. Dropping it puts the handle back.
pub struct EditorOnTerminal {
    /// The handle stdout had, and the console that replaces it meanwhile.
    saved: Option<(HANDLE, File)>,
}

impl EditorOnTerminal {
    /// Moves the line editor's output to the console. Without one, or when stdout is a console
    /// already, nothing changes.
    #[allow(clippy::disallowed_methods)]
    pub fn take() -> EditorOnTerminal {
        let none = EditorOnTerminal { saved: None };
        if io::stdout().is_terminal() || REAL_STDOUT.get().is_some() {
            return none;
        }
        let Ok(console) = OpenOptions::new().read(true).write(true).open("CONOUT$") else { return none };
        if !console.is_terminal() {
            return none;
        }
        let _ = io::stdout().flush();
        let Ok(real) = io::stdout().as_handle().try_clone_to_owned() else { return none };
        if REAL_STDOUT.set(File::from(real)).is_err() {
            return none;
        }
        // SAFETY: reads this process's standard output handle.
        let original = unsafe { GetStdHandle(STD_OUTPUT_HANDLE) };
        // SAFETY: the console handle stays open while `self` lives (it is kept in `saved`).
        if unsafe { SetStdHandle(STD_OUTPUT_HANDLE, console.as_raw_handle() as HANDLE) } == 0 {
            return none;
        }
        EditorOnTerminal { saved: Some((original, console)) }
    }
}

impl Drop for EditorOnTerminal {
    #[allow(clippy::disallowed_methods)]
    fn drop(&mut self) {
        if let Some((original, _console)) = &self.saved {
            let _ = io::stdout().flush();
            // SAFETY: the handle stdout had before, which nothing closed meanwhile.
            unsafe { SetStdHandle(STD_OUTPUT_HANDLE, *original) };
        }
    }
}
