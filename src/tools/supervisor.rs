//! Runs one command so that nothing it starts outlives it (Linux).
//!
//! pincer forks a supervisor. The supervisor makes itself a child subreaper — every orphan the
//! command leaves behind, after `setsid`, a double fork or `nohup`, is re-parented to it — and
//! forks the command into a session of its own, which enters the sandbox and execs `sh -c`.
//! When the command ends, or pincer closes the control pipe (a timeout, Ctrl-C, the end of the
//! turn, pincer itself dying), the supervisor kills the command's process group and then every
//! descendant still there, reaps them all, and reports the command's wait status on the status
//! pipe. The supervisor stays outside the command's Landlock domain, so the command can neither
//! trace nor (from ABI 6) signal it.
//!
//! Why a fork and not a re-executed helper binary: it costs one `fork` (no second program to
//! load), works the same from the library's tests, and needs no hidden entry point in `main`.
//! The price is that everything between `fork` and `exec` runs in a copy of a multi-threaded
//! process: only async-signal-safe system calls, no allocation, no locks, no panics. What that
//! code reads is prepared before the fork ([`Launch`], [`ChildSandbox`]). The supervisor holds a
//! copy of pincer's memory; it is not dumpable (inherited) and outside the command's domain.

use std::ffi::{CString, OsString, c_char, c_int};
use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

use super::outcome::{Exit, Outcome, SHELL, Stop};
use super::sandbox::{self, ChildSandbox};
use crate::cancel::CancelToken;

/// The supervisor's descriptors: 0 /dev/null, 1 and 2 the output pipe (handed to the command),
/// then these; every other descriptor is closed.
const FD_CONTROL: c_int = 3;
const FD_STATUS: c_int = 4;
const FD_RULESET: c_int = 5;
const FIRST_FREE_FD: c_int = 6;
/// Where descriptors are parked while the layout above is built.
const SCRATCH_FD: c_int = 10;
/// Without `close_range` (Linux < 5.9), descriptors are closed one by one up to this bound.
const CLOSE_LOOP_LIMIT: u64 = 65_536;

/// How often the supervisor reaps orphans that exited while the command runs.
const REAP_INTERVAL_MS: c_int = 1_000;
/// Without pidfds (Linux < 5.3) the supervisor polls for the command's end this often.
const FALLBACK_POLL_MS: c_int = 10;
/// The kill-everything sweep gives up after this long (a process stuck in the kernel).
const SWEEP_LIMIT: Duration = Duration::from_secs(5);
/// Pause between sweep rounds when a killed child has not died yet.
const SWEEP_PAUSE_NS: libc::c_long = 200_000;
/// Children killed and counted per sweep round; more are handled in the next rounds.
const SWEEP_BATCH: usize = 256;

/// How often pincer checks the cancel token and the deadline while a command runs.
const WAIT_SLICE: Duration = Duration::from_millis(25);
/// After asking the supervisor to stop, how long pincer waits before killing it outright.
const KILL_GRACE: Duration = Duration::from_secs(6);

/// The highest signal number on Linux (`_NSIG - 1`).
const LAST_SIGNAL: c_int = 64;

/// Exit codes of the command's process when it cannot start (as shells use them).
const EXIT_CANNOT_RUN: c_int = 126;
const EXIT_NOT_FOUND: c_int = 127;

/// One message on the status pipe (16 bytes, written atomically).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
struct Record {
    kind: i32,
    value: i32,
    killed: i32,
    flags: i32,
}

const RECORD_STARTED: i32 = 1;
const RECORD_FINISHED: i32 = 2;
/// The command was stopped because pincer closed the control pipe.
const FLAG_STOPPED: i32 = 1;
/// The command's wait status could not be collected (`value` is meaningless).
const FLAG_NO_STATUS: i32 = 2;

/// What to run, with every string the child will read already in C form.
pub(crate) struct Launch {
    program: CString,
    _args: Vec<CString>,
    argv: Vec<*const c_char>,
    _env: Vec<CString>,
    envp: Vec<*const c_char>,
    cwd: CString,
}

impl Launch {
    /// `sh -c COMMAND` in `cwd` with exactly `env`.
    pub(crate) fn shell(command: &str, env: &[(OsString, OsString)], cwd: &Path) -> io::Result<Launch> {
        let nul = |_| io::Error::new(io::ErrorKind::InvalidInput, "the command contains a NUL byte");
        let args = vec![c"sh".to_owned(), c"-c".to_owned(), CString::new(command).map_err(nul)?];
        let env: Vec<CString> = env
            .iter()
            .filter(|(name, _)| !name.is_empty() && !name.as_bytes().contains(&b'='))
            .filter_map(|(name, value)| {
                let mut pair = name.as_bytes().to_vec();
                pair.push(b'=');
                pair.extend_from_slice(value.as_bytes());
                CString::new(pair).ok()
            })
            .collect();
        let pointers = |strings: &[CString]| {
            strings.iter().map(|s| s.as_ptr()).chain(std::iter::once(std::ptr::null())).collect::<Vec<_>>()
        };
        Ok(Launch {
            program: CString::new(SHELL).map_err(nul)?,
            argv: pointers(&args),
            envp: pointers(&env),
            _args: args,
            _env: env,
            cwd: CString::new(cwd.as_os_str().as_bytes())
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "the workspace path contains a NUL byte"))?,
        })
    }
}

/// A running command: its supervisor, the pipes to it, the command's output.
pub(crate) struct Running {
    supervisor: libc::pid_t,
    command: Option<libc::pid_t>,
    control: Option<OwnedFd>,
    status: OwnedFd,
    output: Option<OwnedFd>,
    /// Status bytes read but not yet a whole record, and the final record once read.
    pending: Vec<u8>,
    finished: Option<Record>,
    reaped: bool,
}

/// Forks the supervisor, which starts the command. `sandbox` is entered by the command only.
pub(crate) fn spawn(launch: &Launch, sandbox: Option<ChildSandbox>) -> io::Result<Running> {
    let devnull = open_devnull()?;
    let (output_read, output_write) = pipe()?;
    let (control_read, control_write) = pipe()?;
    let (status_read, status_write) = pipe()?;
    let fds = ChildFds {
        devnull: devnull.as_raw_fd(),
        output: output_write.as_raw_fd(),
        control: control_read.as_raw_fd(),
        status: status_write.as_raw_fd(),
        ruleset: sandbox.map_or(-1, |s| s.ruleset),
    };
    // SAFETY: the child only runs `supervise`, which keeps to async-signal-safe calls and
    // never returns.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: in the freshly forked child; see `supervise`.
        unsafe { supervise(&fds, launch, sandbox) }
    }
    drop((devnull, output_write, control_read, status_write));
    // SAFETY: a flag on a descriptor we own.
    unsafe { libc::fcntl(status_read.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
    Ok(Running {
        supervisor: pid,
        command: None,
        control: Some(control_write),
        status: status_read,
        output: Some(output_read),
        pending: Vec::new(),
        finished: None,
        reaped: false,
    })
}

impl Running {
    /// The read end of the command's output (stdout and stderr, interleaved as written).
    pub(crate) fn take_output(&mut self) -> Option<OwnedFd> {
        self.output.take()
    }

    /// Waits for the command to end, stopping it on `cancel` or after `timeout`; returns once
    /// the command and everything it started are gone and the supervisor is reaped.
    pub(crate) fn wait(&mut self, cancel: &CancelToken, timeout: Duration) -> Outcome {
        let deadline = Instant::now() + timeout;
        let mut stopped = None;
        let mut stop_sent: Option<Instant> = None;
        while !self.status_closed(WAIT_SLICE) {
            if stopped.is_none() {
                stopped = if cancel.is_cancelled() {
                    Some(Stop::Cancelled)
                } else if Instant::now() >= deadline {
                    Some(Stop::Timeout)
                } else {
                    None
                };
                if stopped.is_some() {
                    self.request_stop();
                    stop_sent = Some(Instant::now());
                }
            }
            if stop_sent.is_some_and(|t| t.elapsed() > KILL_GRACE) {
                break;
            }
        }
        self.read_records();
        let outcome = match self.finished {
            Some(record) => Outcome {
                exit: if record.flags & FLAG_NO_STATUS != 0 { Exit::Unknown } else { exit_of(record.value) },
                stopped,
                killed_background: record.killed.max(0) as u32,
            },
            // The supervisor was killed from outside, or does not answer.
            None => {
                self.force_kill();
                Outcome { exit: Exit::Unknown, stopped, killed_background: 0 }
            }
        };
        self.reap();
        outcome
    }

    /// Closing the control pipe tells the supervisor to kill everything and report.
    fn request_stop(&mut self) {
        self.control = None;
    }

    /// The last resort when the supervisor does not answer: kill it and the command's group.
    fn force_kill(&mut self) {
        self.read_records();
        // SAFETY: signals to processes this call started.
        unsafe {
            libc::kill(self.supervisor, libc::SIGKILL);
            if let Some(command) = self.command {
                libc::kill(-command, libc::SIGKILL);
            }
        }
    }

    fn reap(&mut self) {
        if self.reaped {
            return;
        }
        let mut status = 0;
        // SAFETY: waits for our own child.
        while unsafe { libc::waitpid(self.supervisor, &mut status, 0) } < 0 && errno_raw() == libc::EINTR {}
        self.reaped = true;
    }

    /// Waits up to `timeout` for the supervisor to close the status pipe, which it does by
    /// exiting once everything is over. Only the hang-up wakes this (no event is asked for):
    /// the records written before it are read afterwards, in one go.
    fn status_closed(&mut self, timeout: Duration) -> bool {
        let mut poll = libc::pollfd { fd: self.status.as_raw_fd(), events: 0, revents: 0 };
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut poll, 1, timeout.as_millis() as c_int) };
        ready > 0 && poll.revents & (libc::POLLHUP | libc::POLLERR) != 0
    }

    /// Reads the records waiting in the status pipe, without blocking.
    fn read_records(&mut self) {
        const SIZE: usize = size_of::<Record>();
        let mut buf = [0u8; SIZE * 4];
        loop {
            // SAFETY: reads into a local buffer of the given size (the descriptor is non-blocking).
            let n = unsafe { libc::read(self.status.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                break;
            }
            self.pending.extend_from_slice(&buf[..n as usize]);
        }
        while self.pending.len() >= SIZE {
            let bytes: Vec<u8> = self.pending.drain(..SIZE).collect();
            let field = |i: usize| i32::from_ne_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
            let record = Record { kind: field(0), value: field(4), killed: field(8), flags: field(12) };
            match record.kind {
                RECORD_STARTED => self.command = Some(record.value),
                RECORD_FINISHED => self.finished = Some(record),
                _ => {}
            }
        }
    }
}

impl Drop for Running {
    /// A command is never left behind, whatever path the caller took.
    fn drop(&mut self) {
        if self.reaped {
            return;
        }
        self.request_stop();
        let started = Instant::now();
        while !self.status_closed(WAIT_SLICE) && started.elapsed() < KILL_GRACE {}
        self.read_records();
        if self.finished.is_none() {
            self.force_kill();
        }
        self.reap();
    }
}

fn exit_of(status: c_int) -> Exit {
    if libc::WIFEXITED(status) {
        Exit::Code(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Exit::Signal(libc::WTERMSIG(status))
    } else {
        Exit::Unknown
    }
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as c_int; 2];
    // SAFETY: writes two descriptors into the array; both are owned from here on.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: just created, owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn open_devnull() -> io::Result<OwnedFd> {
    // SAFETY: a constant path; the descriptor is owned from here on.
    let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: just opened, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The parent's descriptors, as numbers the child moves into place.
struct ChildFds {
    devnull: c_int,
    output: c_int,
    control: c_int,
    status: c_int,
    ruleset: c_int,
}

// ---------------------------------------------------------------------------------------------
// Everything below runs in a forked child: async-signal-safe system calls only.
// ---------------------------------------------------------------------------------------------

/// The supervisor. Never returns.
unsafe fn supervise(fds: &ChildFds, launch: &Launch, sandbox: Option<ChildSandbox>) -> ! {
    // SAFETY: system calls on this process and descriptors it holds.
    unsafe {
        // Out of pincer's process group and terminal: Ctrl-C reaches pincer, which decides.
        libc::setsid();
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

        let park = |fd: c_int| if fd < 0 { -1 } else { libc::fcntl(fd, libc::F_DUPFD, SCRATCH_FD) };
        let (devnull, output, control, status, ruleset) =
            (park(fds.devnull), park(fds.output), park(fds.control), park(fds.status), park(fds.ruleset));
        if devnull < 0 || output < 0 || control < 0 || status < 0 || (fds.ruleset >= 0 && ruleset < 0) {
            libc::_exit(1);
        }
        libc::dup2(devnull, 0);
        libc::dup2(output, 1);
        libc::dup2(output, 2);
        libc::dup2(control, FD_CONTROL);
        libc::dup2(status, FD_STATUS);
        if ruleset >= 0 {
            libc::dup2(ruleset, FD_RULESET);
        }
        close_from(FIRST_FREE_FD);

        let command = libc::fork();
        if command < 0 {
            // No FINISHED record: pincer reports an unknown status.
            libc::_exit(1);
        }
        if command == 0 {
            let sandbox = sandbox.map(|s| ChildSandbox { ruleset: FD_RULESET, ..s });
            run_command(launch, sandbox);
        }
        // The supervisor holds no copy of the output pipe: its end of file is the command's.
        libc::close(0);
        libc::close(1);
        libc::close(2);
        libc::close(FD_RULESET);
        report(Record { kind: RECORD_STARTED, value: command, ..Record::default() });

        let pidfd = libc::syscall(libc::SYS_pidfd_open, command, 0) as c_int;
        let mut state = Reaped { command, status: 0, exited: false };
        let mut stopped = false;
        loop {
            state.reap_all();
            if state.exited {
                break;
            }
            let mut polls = [
                libc::pollfd { fd: FD_CONTROL, events: libc::POLLIN, revents: 0 },
                libc::pollfd { fd: pidfd, events: libc::POLLIN, revents: 0 },
            ];
            let timeout = if pidfd >= 0 { REAP_INTERVAL_MS } else { FALLBACK_POLL_MS };
            libc::poll(polls.as_mut_ptr(), 2, timeout);
            // pincer never writes: readable means closed, by choice or because pincer died.
            if polls[0].revents != 0 {
                stopped = true;
                break;
            }
        }
        libc::kill(-command, libc::SIGKILL);
        let killed = sweep(&mut state);
        let mut flags = if stopped { FLAG_STOPPED } else { 0 };
        if !state.exited {
            flags |= FLAG_NO_STATUS;
        }
        report(Record { kind: RECORD_FINISHED, value: state.status, killed, flags });
        libc::_exit(0);
    }
}

/// The command's process: its own session, default signals, the workspace, the sandbox, exec.
unsafe fn run_command(launch: &Launch, sandbox: Option<ChildSandbox>) -> ! {
    // SAFETY: system calls on this process; `launch` was fully built before the fork.
    unsafe {
        libc::close(FD_CONTROL);
        libc::close(FD_STATUS);
        libc::setsid();
        // pincer ignores SIGPIPE (Rust does), and ignored signals survive exec.
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        for signal in 1..=LAST_SIGNAL {
            if signal != libc::SIGKILL && signal != libc::SIGSTOP {
                libc::signal(signal, libc::SIG_DFL);
            }
        }
        if libc::chdir(launch.cwd.as_ptr()) != 0 {
            fail(b"pincer: cannot enter the workspace", *libc::__errno_location(), EXIT_CANNOT_RUN);
        }
        if let Some(sandbox) = sandbox {
            if let Err(error) = sandbox::enter(&sandbox) {
                // Never run a command outside the sandbox it was meant to have.
                fail(b"pincer: could not enter the sandbox", error, EXIT_CANNOT_RUN);
            }
            libc::close(FD_RULESET);
        }
        libc::execve(launch.program.as_ptr(), launch.argv.as_ptr(), launch.envp.as_ptr());
        fail(b"pincer: cannot run /bin/sh", *libc::__errno_location(), EXIT_NOT_FOUND);
    }
}

/// Writes `message (errno N)` to the output pipe and exits.
unsafe fn fail(message: &[u8], errno: c_int, code: c_int) -> ! {
    let mut digits = [0u8; 12];
    let n = format_int(errno as i64, &mut digits);
    // SAFETY: writes of local buffers to stderr, then exit.
    unsafe {
        libc::write(2, message.as_ptr().cast(), message.len());
        libc::write(2, b" (errno ".as_ptr().cast(), 8);
        libc::write(2, digits.as_ptr().cast(), n);
        libc::write(2, b")\n".as_ptr().cast(), 2);
        libc::_exit(code);
    }
}

unsafe fn report(record: Record) {
    // SAFETY: writes a plain 16-byte value (atomic: under PIPE_BUF).
    unsafe {
        libc::write(FD_STATUS, (&record as *const Record).cast(), size_of::<Record>());
    }
}

unsafe fn close_from(first: c_int) {
    // SAFETY: closes this process's descriptors from `first` up.
    unsafe {
        if libc::syscall(libc::SYS_close_range, first as u32, u32::MAX, 0) == 0 {
            return;
        }
        let mut limit: libc::rlimit = std::mem::zeroed();
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        for fd in first as u64..limit.rlim_cur.min(CLOSE_LOOP_LIMIT) {
            libc::close(fd as c_int);
        }
    }
}

/// The command's wait status, collected by whoever reaps it.
struct Reaped {
    command: libc::pid_t,
    status: c_int,
    exited: bool,
}

impl Reaped {
    /// Reaps every child that has ended; returns false when there are no children at all.
    fn reap_all(&mut self) -> bool {
        loop {
            let mut status = 0;
            // SAFETY: reaps this process's own children.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid == self.command {
                self.status = status;
                self.exited = true;
            }
            if pid == 0 {
                return true;
            }
            if pid < 0 {
                return errno_raw() != libc::ECHILD;
            }
        }
    }
}

/// Kills every remaining descendant: the subreaper inherits the orphans of each one killed, so
/// rounds go on until no child is left. Returns how many processes other than the command it
/// killed.
fn sweep(state: &mut Reaped) -> i32 {
    let started = monotonic();
    let mut seen = [0 as libc::pid_t; SWEEP_BATCH];
    let mut seen_count = 0;
    let mut killed = 0;
    loop {
        if !state.reap_all() {
            return killed;
        }
        let mut pids = [0 as libc::pid_t; SWEEP_BATCH];
        let n = list_children(&mut pids);
        for &pid in &pids[..n] {
            // SAFETY: a signal to our own child.
            let delivered = unsafe { libc::kill(pid, libc::SIGKILL) } == 0;
            if delivered && pid != state.command && !seen[..seen_count].contains(&pid) {
                killed += 1;
                if seen_count < SWEEP_BATCH {
                    seen[seen_count] = pid;
                    seen_count += 1;
                }
            }
        }
        if monotonic().saturating_sub(started) > SWEEP_LIMIT {
            return killed;
        }
        let pause = libc::timespec { tv_sec: 0, tv_nsec: SWEEP_PAUSE_NS };
        // SAFETY: sleeps this thread.
        unsafe { libc::nanosleep(&pause, std::ptr::null_mut()) };
    }
}

fn monotonic() -> Duration {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: writes the clock into a local.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

fn errno_raw() -> c_int {
    // SAFETY: reads this thread's errno.
    unsafe { *libc::__errno_location() }
}

/// The calling thread's children, from `/proc/thread-self/children` (or, on kernels built
/// without it, a scan of `/proc`). Fills `pids`, returns how many.
pub(crate) fn list_children(pids: &mut [libc::pid_t]) -> usize {
    // SAFETY: open/read/close of a proc file into a local buffer.
    unsafe {
        let fd = libc::open(c"/proc/thread-self/children".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return scan_proc_for_children(libc::getpid(), pids);
        }
        let mut buf = [0u8; 4096];
        let mut len = 0;
        while len < buf.len() {
            let n = libc::read(fd, buf[len..].as_mut_ptr().cast(), buf.len() - len);
            if n <= 0 {
                break;
            }
            len += n as usize;
        }
        libc::close(fd);
        parse_pids(&buf[..len], pids)
    }
}

/// Numbers separated by spaces; a number cut off at the end of the buffer is left out.
fn parse_pids(text: &[u8], pids: &mut [libc::pid_t]) -> usize {
    let mut count = 0;
    let mut value: libc::pid_t = 0;
    let mut digits = 0;
    for &b in text {
        if b.is_ascii_digit() {
            value = value.saturating_mul(10).saturating_add((b - b'0') as libc::pid_t);
            digits += 1;
        } else {
            if digits > 0 && count < pids.len() {
                pids[count] = value;
                count += 1;
            }
            value = 0;
            digits = 0;
        }
    }
    count
}

/// A whole field of decimal digits.
fn parse_number(digits: &[u8]) -> Option<libc::pid_t> {
    if digits.is_empty() || digits.len() > 9 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(digits.iter().fold(0, |n, &d| n * 10 + (d - b'0') as libc::pid_t))
}

/// Every process whose parent is `parent`, found by reading `/proc/*/stat`.
pub(crate) fn scan_proc_for_children(parent: libc::pid_t, pids: &mut [libc::pid_t]) -> usize {
    // SAFETY: getdents64 into an aligned local buffer; opens and reads of proc files.
    unsafe {
        let dir = libc::open(c"/proc".as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC);
        if dir < 0 {
            return 0;
        }
        let mut count = 0;
        let mut buf = [0u64; 1024];
        loop {
            let n = libc::syscall(libc::SYS_getdents64, dir, buf.as_mut_ptr(), size_of::<[u64; 1024]>());
            if n <= 0 {
                break;
            }
            let bytes = std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), n as usize);
            let mut offset = 0;
            while offset + 19 < bytes.len() {
                // struct linux_dirent64 { u64 ino; i64 off; u16 reclen; u8 type; char name[]; }
                let reclen = u16::from_ne_bytes([bytes[offset + 16], bytes[offset + 17]]) as usize;
                if reclen == 0 {
                    break;
                }
                let name = &bytes[offset + 19..(offset + reclen).min(bytes.len())];
                let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
                offset += reclen;
                let Some(pid) = parse_number(name) else { continue };
                if count < pids.len() && parent_of(pid) == Some(parent) {
                    pids[count] = pid;
                    count += 1;
                }
            }
        }
        libc::close(dir);
        count
    }
}

/// The parent pid from `/proc/PID/stat` (`pid (comm) state ppid …`; comm may hold anything).
fn parent_of(pid: libc::pid_t) -> Option<libc::pid_t> {
    let mut path = [0u8; 32];
    let prefix = b"/proc/";
    path[..prefix.len()].copy_from_slice(prefix);
    let mut len = prefix.len();
    len += format_int(pid as i64, &mut path[len..]);
    path[len..len + 5].copy_from_slice(b"/stat");
    // SAFETY: a NUL-terminated path in a local buffer; read into a local buffer.
    unsafe {
        let fd = libc::open(path.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return None;
        }
        let mut buf = [0u8; 512];
        let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
        libc::close(fd);
        if n <= 0 {
            return None;
        }
        let text = &buf[..n as usize];
        let close = text.iter().rposition(|&b| b == b')')?;
        // ") S PPID "
        let rest = text.get(close + 4..)?;
        let mut ppid = [0 as libc::pid_t; 1];
        (parse_pids(rest, &mut ppid) > 0).then_some(ppid[0])
    }
}

/// Writes the decimal digits of `value` into `out`; returns how many bytes.
fn format_int(value: i64, out: &mut [u8]) -> usize {
    let mut digits = [0u8; 20];
    let mut n = 0;
    let negative = value < 0;
    let mut v = value.unsigned_abs();
    loop {
        digits[n] = b'0' + (v % 10) as u8;
        n += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let mut len = 0;
    if negative && len < out.len() {
        out[len] = b'-';
        len += 1;
    }
    for i in (0..n).rev() {
        if len < out.len() {
            out[len] = digits[i];
            len += 1;
        }
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_parsed_and_formatted_without_allocating() {
        let mut pids = [0; 4];
        assert_eq!(parse_pids(b"12 345 6 ", &mut pids), 3);
        assert_eq!(pids[..3], [12, 345, 6]);
        assert_eq!(parse_pids(b"1 2 3 4 5 6 ", &mut pids), 4, "capped at the slice");
        assert_eq!(parse_pids(b"", &mut pids), 0);
        let mut out = [0u8; 12];
        let n = format_int(-1234, &mut out);
        assert_eq!(&out[..n], b"-1234");
        let n = format_int(0, &mut out);
        assert_eq!(&out[..n], b"0");
        assert_eq!(parse_number(b"4242"), Some(4242));
        assert_eq!(parse_number(b"self"), None);
        assert_eq!(parse_number(b""), None);
    }

    /// Both ways of finding children see a child of this thread, and only children.
    #[test]
    fn children_are_found_by_the_proc_file_and_by_the_scan() {
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id() as libc::pid_t;
        let mut pids = [0; 256];
        let n = list_children(&mut pids);
        let by_file = pids[..n].contains(&pid);
        // SAFETY: getpid cannot fail.
        let n = scan_proc_for_children(unsafe { libc::getpid() }, &mut pids);
        let by_scan = pids[..n].contains(&pid);
        let n_init = scan_proc_for_children(1, &mut pids);
        let init_has_it = pids[..n_init].contains(&pid);
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(by_file && by_scan && !init_has_it, "file {by_file}, scan {by_scan}, init {init_has_it}");
        assert_eq!(parent_of(pid), None, "gone once reaped");
    }
}
