//! Ctrl-C on Windows: a console control handler sets the flag (Windows runs it on a thread of
//! its own, so it may do more than a signal handler could), and stdin is read on a thread, so
//! that a wait for a silent writer still ends at Ctrl-C.
//!
//! Closing the console window, logging off and shutting down are left to Windows' default (the
//! process ends). A hidden prompt needs no handler: it turns Ctrl-C into a key
//! (`term/hidden/windows.rs`).

use std::io::Read;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Mutex, Once, OnceLock};
use std::time::Duration;

use windows_sys::Win32::Foundation::{FALSE, TRUE};
use windows_sys::Win32::System::Console::{CTRL_BREAK_EVENT, CTRL_C_EVENT, SetConsoleCtrlHandler};
use windows_sys::core::BOOL;

use super::{INTERRUPTED, interrupted};
use crate::exit::Interrupted;

/// How often a read of stdin looks at the flag.
const READ_POLL: Duration = Duration::from_millis(50);
const STDIN_CHUNK_BYTES: usize = 64 * 1024;

unsafe extern "system" fn on_control(kind: u32) -> BOOL {
    match kind {
        CTRL_C_EVENT | CTRL_BREAK_EVENT => {
            INTERRUPTED.store(true, Ordering::SeqCst);
            TRUE
        }
        // Not ours: the next handler (Windows' default ends the process).
        _ => FALSE,
    }
}

/// Installs the handler (idempotent).
pub fn install() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        // SAFETY: registers a function that only stores to an atomic; it lives for ever.
        unsafe { SetConsoleCtrlHandler(Some(on_control), TRUE) };
    });
}

/// What the stdin thread hands over, and what is left of the last chunk.
struct Pump {
    chunks: Receiver<std::io::Result<Vec<u8>>>,
    pending: Vec<u8>,
}

/// A read of stdin that gives up with [`Interrupted`] on Ctrl-C; `Ok(0)` is the end of input.
/// stdin is read by a thread of its own from the first call on, to its end: only for input that
/// is read whole (a message piped in).
pub fn read_stdin(buf: &mut [u8]) -> anyhow::Result<usize> {
    static PUMP: OnceLock<Mutex<Pump>> = OnceLock::new();
    let pump = PUMP.get_or_init(|| {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut chunk = vec![0u8; STDIN_CHUNK_BYTES];
            loop {
                let read = match stdin.read(&mut chunk) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Ok(n) => Ok(chunk[..n].to_vec()),
                    Err(e) => Err(e),
                };
                let last = !matches!(&read, Ok(bytes) if !bytes.is_empty());
                if tx.send(read).is_err() || last {
                    return;
                }
            }
        });
        Mutex::new(Pump { chunks: rx, pending: Vec::new() })
    });
    let mut pump = pump.lock().unwrap_or_else(|p| p.into_inner());
    while pump.pending.is_empty() {
        if interrupted() {
            return Err(Interrupted.into());
        }
        match pump.chunks.recv_timeout(READ_POLL) {
            Ok(Ok(bytes)) if bytes.is_empty() => return Ok(0),
            Ok(Ok(bytes)) => pump.pending = bytes,
            Ok(Err(e)) => return Err(e.into()),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Ok(0),
        }
    }
    let n = pump.pending.len().min(buf.len());
    buf[..n].copy_from_slice(&pump.pending[..n]);
    pump.pending.drain(..n);
    Ok(n)
}
