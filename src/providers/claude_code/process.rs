//! The `claude` process of one turn: started in a process group of its own (so the terminal's
//! Ctrl-C reaches pincer, which decides), with pincer's environment minus every credential, read
//! without blocking past a poll interval, and stopped group and all — never left running.
//!
//! Stopping is SIGTERM first: Claude Code then stops the commands its tools run (they live in
//! sessions of their own, outside its group) and saves its session, which takes it a second or
//! three. One that has not exited by then is killed with everything it started: its group, and
//! every descendant found under it (in `/proc` on Linux, through libproc on macOS).

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// After SIGTERM (Claude Code stops its tools and saves its session), how long before SIGKILL:
/// measured at 1.5 s waiting on the API and 2.5–3 s with a command running, on a busy machine.
pub const TERM_GRACE: Duration = Duration::from_secs(4);
/// The last bytes of stderr kept for an error message.
const STDERR_TAIL_BYTES: usize = 4 * 1024;
const EXIT_POLL: Duration = Duration::from_millis(10);

pub use super::child::{Output, child_environment};

pub struct Running {
    child: Child,
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
    stderr_tail: Vec<u8>,
    status: Option<ExitStatus>,
}

impl Running {
    /// Starts `program` in `cwd`; `input` is written to its stdin, which is then closed.
    pub fn start(program: &Path, args: &[String], cwd: &Path, input: Vec<u8>) -> io::Result<Running> {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .current_dir(cwd)
            .env_clear()
            .envs(child_environment())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        // SAFETY: prctl is async-signal-safe; it only sets this child's parent-death signal: if
        // pincer is killed, Claude Code is told to stop (SIGTERM: its tools stop with it). macOS
        // has no such signal: a turn in flight when pincer is killed outright runs to its end.
        #[cfg(target_os = "linux")]
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM, 0, 0, 0);
                Ok(())
            });
        }
        let mut child = cmd.spawn()?;
        if let Some(mut stdin) = child.stdin.take() {
            // A thread: a long message must not block the reading of the answer. A program that
            // exits early closes the pipe; its exit says why, not the write.
            std::thread::spawn(move || {
                let _ = stdin.write_all(&input);
            });
        }
        let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
        Ok(Running { child, stdout, stderr, stderr_tail: Vec::new(), status: None })
    }

    /// Waits up to `wait` for output; stderr is kept (its tail) on the way.
    pub fn read(&mut self, buf: &mut [u8], wait: Duration) -> io::Result<Output> {
        let deadline = Instant::now() + wait;
        loop {
            let Some(stdout) = &self.stdout else { return Ok(Output::End) };
            let mut fds = vec![libc::pollfd { fd: stdout.as_raw_fd(), events: libc::POLLIN, revents: 0 }];
            if let Some(stderr) = &self.stderr {
                fds.push(libc::pollfd { fd: stderr.as_raw_fd(), events: libc::POLLIN, revents: 0 });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let timeout = libc::c_int::try_from(left.as_millis()).unwrap_or(libc::c_int::MAX);
            // SAFETY: `fds` is a valid array of `fds.len()` pollfd structs for the call's duration.
            let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
            if ready < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if ready == 0 {
                return Ok(Output::Idle);
            }
            let wakes = |fd: &libc::pollfd| fd.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0;
            if fds.len() > 1 && wakes(&fds[1]) {
                self.read_stderr();
            }
            if wakes(&fds[0])
                && let Some(stdout) = &mut self.stdout
            {
                return match stdout.read(buf) {
                    Ok(0) => {
                        self.stdout = None;
                        Ok(Output::End)
                    }
                    Ok(n) => Ok(Output::Stdout(n)),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(Output::Idle),
                    Err(e) => Err(e),
                };
            }
            if Instant::now() >= deadline {
                return Ok(Output::Idle);
            }
        }
    }

    fn read_stderr(&mut self) {
        let Some(stderr) = &mut self.stderr else { return };
        let mut chunk = [0u8; 4096];
        match stderr.read(&mut chunk) {
            Ok(0) | Err(_) => self.stderr = None,
            Ok(n) => {
                self.stderr_tail.extend_from_slice(&chunk[..n]);
                if self.stderr_tail.len() > STDERR_TAIL_BYTES {
                    let cut = self.stderr_tail.len() - STDERR_TAIL_BYTES;
                    self.stderr_tail.drain(..cut);
                }
            }
        }
    }

    /// The last lines the program wrote on stderr.
    pub fn stderr_tail(&mut self) -> String {
        // What is still in the pipe after the end.
        while self.stderr.is_some() {
            let mut fd = [libc::pollfd {
                fd: self.stderr.as_ref().map_or(-1, |s| s.as_raw_fd()),
                events: libc::POLLIN,
                revents: 0,
            }];
            // SAFETY: one valid pollfd; a zero timeout never blocks.
            if unsafe { libc::poll(fd.as_mut_ptr(), 1, 0) } <= 0 {
                break;
            }
            self.read_stderr();
        }
        String::from_utf8_lossy(&self.stderr_tail).trim().to_string()
    }

    /// Waits up to `grace` for the program to exit on its own, then stops it.
    pub fn wait(&mut self, grace: Duration) -> ExitStatus {
        let deadline = Instant::now() + grace;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    self.status = Some(status);
                    // Children it left behind in its group go with it.
                    self.signal_group(libc::SIGKILL);
                    return status;
                }
                Ok(None) if Instant::now() < deadline => std::thread::sleep(EXIT_POLL),
                _ => return self.stop(),
            }
        }
    }

    /// Stops the program and everything in its group: SIGTERM (it saves its session), then
    /// SIGKILL after [`TERM_GRACE`]; reaped before returning.
    pub fn stop(&mut self) -> ExitStatus {
        self.stop_within(TERM_GRACE)
    }

    fn stop_within(&mut self, grace: Duration) -> ExitStatus {
        if let Some(status) = self.status {
            return status;
        }
        self.signal_group(libc::SIGTERM);
        let deadline = Instant::now() + grace;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(EXIT_POLL),
                _ => break None,
            }
        };
        if status.is_none() {
            // Still running: what it started goes first, while it can still be found under it.
            for pid in descendants(self.child.id()) {
                // SAFETY: a signal to a process found under our unreaped child a moment ago.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        self.signal_group(libc::SIGKILL);
        let status = match status {
            Some(status) => status,
            None => self.child.wait().unwrap_or_else(|_| ExitStatus::default()),
        };
        self.status = Some(status);
        status
    }

    fn signal_group(&self, signal: libc::c_int) {
        let Ok(group) = libc::pid_t::try_from(self.child.id()) else { return };
        // SAFETY: a plain signal to the group the child started. Linux does not reuse an id while
        // a group of that id has members, so it reaches nobody else; ESRCH (empty) is harmless.
        unsafe { libc::killpg(group, signal) };
    }
}

/// Every process under `pid` (children, their children, …).
fn descendants(pid: u32) -> Vec<libc::pid_t> {
    let mut found = Vec::new();
    let mut queue = vec![pid];
    while let Some(parent) = queue.pop() {
        for child in children_of(parent) {
            if let Ok(id) = libc::pid_t::try_from(child)
                && !found.contains(&id)
            {
                found.push(id);
                queue.push(child);
            }
        }
    }
    found
}

/// The children of `parent`, from `/proc/PID/task/TID/children`.
#[cfg(not(target_vendor = "apple"))]
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{parent}/task")) else { return Vec::new() };
    let mut children = Vec::new();
    for task in tasks.flatten() {
        let listed = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        children.extend(listed.split_whitespace().filter_map(|c| c.parse::<u32>().ok()));
    }
    children
}

/// Children looked for under one process, at most (macOS).
#[cfg(target_vendor = "apple")]
const MAX_CHILDREN: usize = 1024;

/// The children of `parent`, from libproc (macOS has no `/proc`).
#[cfg(target_vendor = "apple")]
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(parent) = libc::pid_t::try_from(parent) else { return Vec::new() };
    let mut pids = vec![0 as libc::pid_t; MAX_CHILDREN];
    let bytes = libc::c_int::try_from(pids.len() * size_of::<libc::pid_t>()).unwrap_or(libc::c_int::MAX);
    // SAFETY: the buffer is `bytes` long and lives through the call; it returns how many pids
    // it wrote.
    let count = unsafe { libc::proc_listchildpids(parent, pids.as_mut_ptr().cast(), bytes) };
    pids.truncate(usize::try_from(count).unwrap_or(0).min(MAX_CHILDREN));
    pids.into_iter().filter_map(|p| u32::try_from(p).ok().filter(|&p| p > 0)).collect()
}

impl Drop for Running {
    /// Whatever path a turn leaves by — an error, a panic, a dropped reader — nothing stays running.
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alive(pid: libc::pid_t) -> bool {
        // A zombie still answers signal 0: read its state instead.
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()).is_some_and(|s| s != "Z")
    }

    #[test]
    fn a_program_that_ignores_sigterm_is_killed_with_what_it_started_elsewhere() {
        // Ignores SIGTERM, and starts a command in a session of its own (as Claude Code's tools are).
        let script = "trap '' TERM; setsid sleep 300 & echo $!; while :; do sleep 0.05; done";
        let mut running =
            Running::start(Path::new("/bin/sh"), &["-c".into(), script.into()], Path::new("/"), Vec::new()).unwrap();
        let mut buf = [0u8; 64];
        let started = Instant::now();
        let pid: libc::pid_t = loop {
            if let Output::Stdout(n) = running.read(&mut buf, Duration::from_millis(100)).unwrap() {
                break String::from_utf8_lossy(&buf[..n]).trim().parse().unwrap();
            }
            assert!(started.elapsed() < Duration::from_secs(10), "the script never started its command");
        };
        let leader = running.child.id() as libc::pid_t;
        assert!(alive(pid) && alive(leader));
        let stopping = Instant::now();
        running.stop_within(Duration::from_millis(200));
        assert!(stopping.elapsed() < Duration::from_secs(3), "{:?}", stopping.elapsed());
        assert!(!alive(leader), "the program outlived stop");
        let deadline = Instant::now() + Duration::from_secs(2);
        while alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!alive(pid), "what it started in another session outlived stop");
    }

    #[test]
    fn output_input_and_stderr_go_where_they_should() {
        let mut running = Running::start(
            Path::new("/bin/sh"),
            &["-c".into(), "cat; echo oops >&2; exit 3".into()],
            Path::new("/"),
            b"line one\n".to_vec(),
        )
        .unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            match running.read(&mut buf, Duration::from_secs(5)).unwrap() {
                Output::Stdout(n) => out.extend_from_slice(&buf[..n]),
                Output::Idle => {}
                Output::End => break,
            }
        }
        assert_eq!(out, b"line one\n");
        assert_eq!(running.wait(Duration::from_secs(5)).code(), Some(3));
        assert_eq!(running.stderr_tail(), "oops");
    }
}
