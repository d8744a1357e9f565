//! Ctrl-C. A SIGINT handler only sets a flag; whoever waits on a running answer polls it, so
//! the REPL can cancel the answer in flight and a one-shot run can exit 130 with what it printed.
//! (Windows: a console control handler sets the same flag, see `interrupt/windows.rs`.)
//!
//! A blocking read would not notice the flag: the handler is installed with `SA_RESTART`, so the
//! kernel restarts the read. Reads that must stop on Ctrl-C (a message piped on stdin, a hidden
//! prompt) go through [`read`] instead, which waits in `poll(2)` on the file and on a self-pipe the
//! handler writes to: the signal wakes it at once, with no race between checking the flag and
//! starting to wait.

#[cfg(unix)]
use std::os::fd::{AsRawFd, BorrowedFd};
#[cfg(unix)]
use std::sync::OnceLock;
#[cfg(unix)]
use std::sync::atomic::AtomicI32;
use std::sync::atomic::{AtomicBool, Ordering};

#[cfg(unix)]
use crate::exit::Interrupted;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// The write end of the self-pipe, or -1 before it exists (read by the signal handler).
#[cfg(unix)]
static WAKE_WRITE: AtomicI32 = AtomicI32::new(-1);
/// The read end of the self-pipe.
#[cfg(unix)]
static WAKE_READ: OnceLock<Option<libc::c_int>> = OnceLock::new();

#[cfg(unix)]
extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
    let fd = WAKE_WRITE.load(Ordering::SeqCst);
    if fd >= 0 {
        // SAFETY: write(2) on a non-blocking pipe is async-signal-safe; errno is saved and put
        // back so the interrupted code sees its own. A full pipe already means "wake up".
        unsafe {
            let errno = errno_location();
            let saved = *errno;
            libc::write(fd, [1u8].as_ptr().cast(), 1);
            *errno = saved;
        }
    }
}

/// Where this thread's `errno` lives (the C library's own accessor: std can read errno but
/// not put it back).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn errno_location() -> *mut libc::c_int {
    // SAFETY: always valid for the calling thread.
    unsafe { libc::__errno_location() }
}

#[cfg(all(unix, not(any(target_os = "linux", target_os = "android"))))]
fn errno_location() -> *mut libc::c_int {
    // SAFETY: always valid for the calling thread (macOS and the BSDs call it `__error`).
    unsafe { libc::__error() }
}

/// Creates the self-pipe once; `None` if the system refused (reads then fall back to a timeout).
#[cfg(unix)]
fn wake_pipe() -> Option<libc::c_int> {
    *WAKE_READ.get_or_init(|| {
        let fds = nonblocking_pipe()?;
        WAKE_WRITE.store(fds[1], Ordering::SeqCst);
        Some(fds[0])
    })
}

/// A pipe whose ends are non-blocking and closed on exec, made in one call where the system
/// has `pipe2`.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn nonblocking_pipe() -> Option<[libc::c_int; 2]> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 fills the two-element array on success.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
        return None;
    }
    Some(fds)
}

/// macOS has no `pipe2`: `pipe`, then the flags on each end. A program another thread starts in
/// between could inherit the descriptors; they carry nothing but wake-ups.
#[cfg(all(unix, not(any(target_os = "linux", target_os = "android"))))]
fn nonblocking_pipe() -> Option<[libc::c_int; 2]> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe fills the two-element array on success; fcntl only changes flags of the
    // descriptors it just made.
    unsafe {
        if libc::pipe(fds.as_mut_ptr()) != 0 {
            return None;
        }
        for fd in fds {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            if flags < 0
                || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) != 0
                || libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) != 0
            {
                libc::close(fds[0]);
                libc::close(fds[1]);
                return None;
            }
        }
    }
    Some(fds)
}

/// Installs the handler (idempotent).
#[cfg(unix)]
pub fn install() {
    wake_pipe();
    // SAFETY: the handler only stores to an atomic and writes to a pipe, both async-signal-safe.
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
    #[cfg(unix)]
    drain_wake_pipe();
}

#[cfg(unix)]
fn drain_wake_pipe() {
    if let Some(fd) = wake_pipe() {
        let mut buf = [0u8; 64];
        // SAFETY: reading into a local buffer from our own non-blocking pipe.
        while unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
    }
}

/// While alive, SIGINT, SIGTERM and SIGHUP only set the flag (so a prompt can put the terminal
/// back before pincer exits); dropping it restores what was installed before.
#[cfg(unix)]
pub struct Catch {
    previous: Vec<(libc::c_int, libc::sigaction)>,
}

/// The signals that end a hidden prompt.
#[cfg(unix)]
const CAUGHT: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

#[cfg(unix)]
pub fn catch() -> Catch {
    wake_pipe();
    reset();
    let mut previous = Vec::with_capacity(CAUGHT.len());
    for signal in CAUGHT {
        // SAFETY: sigaction with a zeroed struct, our async-signal-safe handler and an empty mask;
        // the old action is kept to be put back.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_sigint as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(signal, &action, &mut old) == 0 {
                previous.push((signal, old));
            }
        }
    }
    Catch { previous }
}

#[cfg(unix)]
impl Drop for Catch {
    fn drop(&mut self) {
        for (signal, old) in &self.previous {
            // SAFETY: restoring an action sigaction gave us.
            unsafe {
                libc::sigaction(*signal, old, std::ptr::null_mut());
            }
        }
    }
}

/// How long one wait lasts when there is no self-pipe to wake it.
#[cfg(unix)]
const FALLBACK_POLL_MS: libc::c_int = 50;

/// Waits until `fd` can be read without blocking, or fails with [`Interrupted`] once a caught
/// signal arrived (before or during the wait).
#[cfg(unix)]
pub fn wait_readable(fd: BorrowedFd<'_>) -> anyhow::Result<()> {
    let wake = wake_pipe();
    loop {
        if interrupted() {
            return Err(Interrupted.into());
        }
        let mut fds = [
            libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: wake.unwrap_or(-1), events: libc::POLLIN, revents: 0 },
        ];
        let timeout = if wake.is_some() { -1 } else { FALLBACK_POLL_MS };
        // SAFETY: poll on a two-element array we own; a negative fd is ignored by poll.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        if n < 0 {
            let error = std::io::Error::last_os_error();
            if error.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(error.into());
        }
        if fds[1].revents != 0 {
            // A stale wake-up (the flag was reset since) is drained; a fresh one ends the loop above.
            drain_wake_pipe();
            continue;
        }
        if fds[0].revents != 0 {
            return Ok(());
        }
    }
}

/// read(2) that gives up with [`Interrupted`] on Ctrl-C; `Ok(0)` is the end of input.
#[cfg(unix)]
pub fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> anyhow::Result<usize> {
    loop {
        wait_readable(fd)?;
        // SAFETY: reading into a buffer we own, at most its length.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let error = std::io::Error::last_os_error();
        // Another reader may have taken the data, or the file is non-blocking: wait again.
        if !matches!(error.kind(), std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock) {
            return Err(error.into());
        }
    }
}

/// [`read`] on stdin (Windows: a read of stdin that Ctrl-C stops as well).
#[cfg(unix)]
pub fn read_stdin(buf: &mut [u8]) -> anyhow::Result<usize> {
    read(std::os::fd::AsFd::as_fd(&std::io::stdin()), buf)
}

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::{install, read_stdin};

/// While alive, Ctrl-C cancels `token` (polled: a token is not async-signal-safe to touch from
/// the handler). Dropping it stops watching.
pub struct CancelOnCtrlC {
    stop: crate::cancel::CancelToken,
    watcher: Option<std::thread::JoinHandle<()>>,
}

/// How often the watcher looks at the flag.
const WATCH_POLL: std::time::Duration = std::time::Duration::from_millis(25);

/// Clears the flag, then cancels `token` at the next Ctrl-C.
pub fn cancel_on_ctrl_c(token: &crate::cancel::CancelToken) -> CancelOnCtrlC {
    reset();
    let stop = crate::cancel::CancelToken::new();
    let watcher = {
        let (stop, token) = (stop.clone(), token.clone());
        std::thread::spawn(move || {
            while !stop.is_cancelled() {
                if interrupted() {
                    token.cancel();
                    return;
                }
                std::thread::sleep(WATCH_POLL);
            }
        })
    };
    CancelOnCtrlC { stop, watcher: Some(watcher) }
}

impl Drop for CancelOnCtrlC {
    /// Stops the watcher without waiting for it: it notices within one poll and ends on its own
    /// (joining would add up to a poll's time to every turn). It holds only clones of tokens.
    fn drop(&mut self) {
        self.stop.cancel();
        drop(self.watcher.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn a_read_returns_data_then_end_of_input() {
        let (reader, mut writer) = std::io::pipe().unwrap();
        std::io::Write::write_all(&mut writer, b"abc").unwrap();
        drop(writer);
        let mut buf = [0u8; 8];
        assert_eq!(read(reader.as_fd(), &mut buf).unwrap(), 3);
        assert_eq!(&buf[..3], b"abc");
        assert_eq!(read(reader.as_fd(), &mut buf).unwrap(), 0);
    }
}
