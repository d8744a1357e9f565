//! The `claude` process of one turn, on Windows (`process.rs` is the Unix one, with the same
//! interface): started in a job of its own ([`crate::job`], so it and every process it starts end
//! together, and with pincer) and in a console process group of its own (the terminal's Ctrl-C
//! reaches pincer, which decides), with pincer's environment minus every credential.
//!
//! Windows has no `poll(2)` for pipes: a thread reads stdout into a channel, another keeps the
//! tail of stderr. Windows has no SIGTERM for a program without a console window either, so
//! stopping ends the job at once: Claude Code does not get to save the turn in flight.

use std::io::{self, Read, Write};
use std::os::windows::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use windows_sys::Win32::System::Threading::CREATE_NEW_PROCESS_GROUP;

use crate::job::Job;

/// No polite stop here: the job is ended at once (see the module notes).
pub const TERM_GRACE: Duration = Duration::ZERO;
/// The last bytes of stderr kept for an error message.
const STDERR_TAIL_BYTES: usize = 4 * 1024;
const STDOUT_CHUNK_BYTES: usize = 64 * 1024;
const STDERR_CHUNK_BYTES: usize = 4 * 1024;
const EXIT_POLL: Duration = Duration::from_millis(10);
/// After the end, how long the stderr reader may take to hand over its last bytes (a process
/// left in the job could hold the pipe open for ever).
const STDERR_DRAIN: Duration = Duration::from_millis(200);

pub use super::child::{Output, child_environment};

pub struct Running {
    child: Child,
    job: Job,
    stdout: Option<Receiver<io::Result<Vec<u8>>>>,
    /// What the last chunk held beyond the caller's buffer.
    pending: Vec<u8>,
    stderr_tail: Arc<Mutex<Vec<u8>>>,
    stderr_reader: Option<JoinHandle<()>>,
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
            .creation_flags(CREATE_NEW_PROCESS_GROUP);
        let mut child = cmd.spawn()?;
        let job = match Job::holding(&child) {
            Ok(job) => job,
            Err(e) => {
                // Never left running outside a job that would end it.
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        if let Some(mut stdin) = child.stdin.take() {
            // A thread: a long message must not block the reading of the answer.
            std::thread::spawn(move || {
                let _ = stdin.write_all(&input);
            });
        }
        let stdout = child.stdout.take().map(|mut out| {
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                let mut buf = vec![0u8; STDOUT_CHUNK_BYTES];
                loop {
                    let sent = match out.read(&mut buf) {
                        Ok(0) => return,
                        Ok(n) => tx.send(Ok(buf[..n].to_vec())),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    };
                    if sent.is_err() {
                        return;
                    }
                }
            });
            rx
        });
        let stderr_tail = Arc::new(Mutex::new(Vec::new()));
        let stderr_reader = child.stderr.take().map(|mut err| {
            let tail = Arc::clone(&stderr_tail);
            std::thread::spawn(move || {
                let mut chunk = [0u8; STDERR_CHUNK_BYTES];
                while let Ok(n @ 1..) = err.read(&mut chunk) {
                    let mut tail = tail.lock().unwrap_or_else(|p| p.into_inner());
                    tail.extend_from_slice(&chunk[..n]);
                    if tail.len() > STDERR_TAIL_BYTES {
                        let cut = tail.len() - STDERR_TAIL_BYTES;
                        tail.drain(..cut);
                    }
                }
            })
        });
        Ok(Running { child, job, stdout, pending: Vec::new(), stderr_tail, stderr_reader, status: None })
    }

    /// Waits up to `wait` for output.
    pub fn read(&mut self, buf: &mut [u8], wait: Duration) -> io::Result<Output> {
        if self.pending.is_empty() {
            let Some(stdout) = &self.stdout else { return Ok(Output::End) };
            match stdout.recv_timeout(wait) {
                Ok(chunk) => self.pending = chunk?,
                Err(RecvTimeoutError::Timeout) => return Ok(Output::Idle),
                Err(RecvTimeoutError::Disconnected) => {
                    self.stdout = None;
                    return Ok(Output::End);
                }
            }
        }
        let n = self.pending.len().min(buf.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(Output::Stdout(n))
    }

    /// The last lines the program wrote on stderr.
    pub fn stderr_tail(&mut self) -> String {
        if let Some(reader) = self.stderr_reader.take() {
            let deadline = Instant::now() + STDERR_DRAIN;
            while !reader.is_finished() && Instant::now() < deadline {
                std::thread::sleep(EXIT_POLL);
            }
        }
        let tail = self.stderr_tail.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&tail).trim().to_string()
    }

    /// Waits up to `grace` for the program to exit on its own, then stops it.
    pub fn wait(&mut self, grace: Duration) -> ExitStatus {
        let deadline = Instant::now() + grace;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    self.status = Some(status);
                    // Processes it left behind in its job go with it.
                    self.job.terminate();
                    return status;
                }
                Ok(None) if Instant::now() < deadline => std::thread::sleep(EXIT_POLL),
                _ => return self.stop(),
            }
        }
    }

    /// Stops the program and everything in its job; reaped before returning.
    pub fn stop(&mut self) -> ExitStatus {
        if let Some(status) = self.status {
            return status;
        }
        self.job.terminate();
        let status = self.child.wait().unwrap_or_default();
        self.status = Some(status);
        status
    }
}

impl Drop for Running {
    /// Whatever path a turn leaves by — an error, a panic, a dropped reader — nothing stays running.
    fn drop(&mut self) {
        self.stop();
    }
}
