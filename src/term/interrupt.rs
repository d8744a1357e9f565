//! Ctrl-C. A SIGINT handler only sets a flag; whoever waits on a running answer polls it, so
//! the REPL can cancel the answer in flight and a one-shot run can exit 130 with what it printed.

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Installs the handler (idempotent).
pub fn install() {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, on_sigint as *const () as libc::sighandler_t);
    }
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Clears the flag before a new answer starts.
pub fn reset() {
    INTERRUPTED.store(false, Ordering::SeqCst);
}
