//! The stdio transport: the server is a child process; one JSON-RPC message per line each way.
//!
//! The child gets its own process group (so the whole tree, `npx` and the `node` under it, can
//! be ended together; a job object on Windows, see [`group`]), dies with pincer
//! (`PR_SET_PDEATHSIG` on Linux), and never sees pincer's
//! credentials in its environment. Its stdout is read line by line with a size cap; its stderr
//! goes to pincer's log (never to the terminal unasked). Writes go through a queue and a writer
//! thread, so a server that stops reading can fill its pipe without blocking pincer. On close:
//! stdin is closed, then SIGTERM to the group after a grace period, then SIGKILL.

mod group;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::client::{Failure, Inbox, Outgoing, Transport, lock};
use super::protocol::Era;
use group::Group;

/// The largest message pincer reads from a server (a line on stdio, a body or event on HTTP).
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
/// The longest stderr line kept whole (the rest of a longer one is dropped).
const MAX_STDERR_LINE: usize = 4096;
/// How long a server may take to exit after its stdin closes, and again after SIGTERM.
const EXIT_GRACE: Duration = Duration::from_millis(500);
const EXIT_POLL: Duration = Duration::from_millis(10);
/// Windows finds a program by name only as `NAME.exe` (std's rule), and npm's are scripts.
#[cfg(windows)]
const NOT_FOUND_HINT: &str =
    "\nhint: Windows finds only `.exe` programs by name: give a script's full name (`npx.cmd`)";
#[cfg(not(windows))]
const NOT_FOUND_HINT: &str = "";
/// Variables holding pincer's credentials: a server is other people's code and gets none.
const SECRET_VARIABLES: [&str; 3] =
    [crate::env::ANTHROPIC_API_KEY, crate::env::CLAUDE_CODE_OAUTH_TOKEN, crate::env::OPENAI_API_KEY];

pub struct StdioSpec {
    pub command: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: Option<PathBuf>,
}

pub(crate) struct StdioTransport {
    child: Arc<Mutex<Child>>,
    queue: Mutex<Option<Sender<String>>>,
    group: Group,
    inbox: Arc<Inbox>,
}

impl StdioTransport {
    pub fn spawn(spec: &StdioSpec, inbox: Arc<Inbox>) -> Result<StdioTransport, String> {
        let mut cmd = Command::new(&spec.command);
        cmd.args(&spec.args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        for name in SECRET_VARIABLES {
            cmd.env_remove(name);
        }
        cmd.envs(spec.env.iter().map(|(k, v)| (k, v)));
        if let Some(dir) = &spec.cwd {
            cmd.current_dir(dir);
        }
        let (mut child, group) = group::spawn_grouped(cmd, spawn_from_lasting_thread).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                format!("cannot start {:?}: command not found{NOT_FOUND_HINT}", spec.command)
            }
            _ => format!("cannot start {:?}: {e}", spec.command),
        })?;
        let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let child = Arc::new(Mutex::new(child));
        let (tx, rx) = mpsc::channel::<String>();
        if let Some(stdin) = stdin {
            std::thread::spawn(move || write_loop(stdin, rx));
        }
        if let Some(stdout) = stdout {
            let (inbox, child, group) = (Arc::clone(&inbox), Arc::clone(&child), group.clone());
            std::thread::spawn(move || read_loop(stdout, &inbox, &child, &group));
        }
        if let Some(stderr) = stderr {
            let inbox = Arc::clone(&inbox);
            std::thread::spawn(move || stderr_loop(stderr, &inbox));
        }
        Ok(StdioTransport { child, queue: Mutex::new(Some(tx)), group, inbox })
    }
}

type SpawnJob = (Command, mpsc::Sender<std::io::Result<Child>>);

/// Spawns on one thread that lives as long as pincer: `PR_SET_PDEATHSIG` fires when the
/// *thread* that forked the child ends, so a server started from a short-lived thread (each
/// server starts on its own) would be killed as soon as that thread finished.
fn spawn_from_lasting_thread(cmd: Command) -> std::io::Result<Child> {
    static SPAWNER: std::sync::OnceLock<Mutex<Sender<SpawnJob>>> = std::sync::OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnJob>();
        std::thread::spawn(move || {
            for (mut cmd, reply) in rx {
                let _ = reply.send(cmd.spawn());
            }
        });
        Mutex::new(tx)
    });
    let (reply, answer) = mpsc::channel();
    lock(spawner).send((cmd, reply)).map_err(|_| std::io::Error::other("the spawner thread is gone"))?;
    answer.recv().map_err(|_| std::io::Error::other("the spawner thread is gone"))?
}

fn write_loop(mut stdin: ChildStdin, rx: mpsc::Receiver<String>) {
    for line in rx {
        if stdin.write_all(line.as_bytes()).and_then(|_| stdin.flush()).is_err() {
            return;
        }
    }
    // The queue closed: dropping stdin is the server's signal to exit.
}

/// How reading one line went.
#[derive(Debug, PartialEq)]
pub(crate) enum Line {
    Complete,
    TooLong,
    End,
}

/// Reads one `\n`-terminated line into `buf` (without the `\n`), at most `max` bytes; a longer
/// line is consumed up to its end and reported as [`Line::TooLong`].
pub(crate) fn read_line_capped(reader: &mut impl BufRead, buf: &mut Vec<u8>, max: usize) -> std::io::Result<Line> {
    buf.clear();
    let mut too_long = false;
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok(if buf.is_empty() && !too_long {
                Line::End
            } else if too_long {
                Line::TooLong
            } else {
                Line::Complete
            });
        }
        let (chunk, done) = match memchr::memchr(b'\n', available) {
            Some(i) => (&available[..i], Some(i + 1)),
            None => (available, None),
        };
        if !too_long {
            if buf.len() + chunk.len() > max {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        let used = done.unwrap_or(available.len());
        reader.consume(used);
        if done.is_some() {
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            return Ok(if too_long { Line::TooLong } else { Line::Complete });
        }
    }
}

fn read_loop(stdout: impl Read, inbox: &Arc<Inbox>, child: &Mutex<Child>, group: &Group) {
    let mut reader = BufReader::new(stdout);
    let mut buf = Vec::new();
    let reason = loop {
        match read_line_capped(&mut reader, &mut buf, MAX_MESSAGE_BYTES) {
            Ok(Line::Complete) => {
                let text = String::from_utf8_lossy(&buf);
                if !text.trim().is_empty() {
                    inbox.deliver_text(&text, None);
                }
            }
            Ok(Line::TooLong) => {
                // No way to know what the message answered: the connection is unusable. The
                // group's leader is our unreaped child, so the group is still this server's.
                group.kill();
                break format!(
                    "the server sent a message larger than {} MiB; pincer stopped it",
                    MAX_MESSAGE_BYTES >> 20
                );
            }
            Ok(Line::End) => break exit_reason(child),
            Err(e) => break format!("cannot read from the server: {e}"),
        }
    };
    inbox.close(&reason);
}

/// "the server exited (exit status: 3)", waiting briefly for the status to be known.
fn exit_reason(child: &Mutex<Child>) -> String {
    let deadline = Instant::now() + EXIT_GRACE;
    loop {
        if let Ok(Some(status)) = lock(child).try_wait() {
            return format!("the server exited ({status})");
        }
        if Instant::now() >= deadline {
            return "the server closed its output".to_string();
        }
        std::thread::sleep(EXIT_POLL);
    }
}

fn stderr_loop(stderr: impl Read, inbox: &Inbox) {
    let mut reader = BufReader::new(stderr);
    let mut buf = Vec::new();
    while let Ok(line @ (Line::Complete | Line::TooLong)) = read_line_capped(&mut reader, &mut buf, MAX_STDERR_LINE) {
        if line == Line::Complete && !buf.is_empty() {
            inbox.stderr_line(&String::from_utf8_lossy(&buf));
        }
    }
}

impl Transport for StdioTransport {
    fn send(&self, out: Outgoing) -> Result<(), Failure> {
        if let Some(reason) = self.inbox.closed_reason() {
            return Err(Failure::Closed(reason));
        }
        // One line: serde_json never writes a raw newline inside a message.
        let mut line = out.message.to_string();
        line.push('\n');
        let queue = lock(&self.queue);
        match queue.as_ref().map(|q| q.send(line)) {
            Some(Ok(())) => Ok(()),
            _ => Err(Failure::Closed("the server's input is closed".into())),
        }
    }

    fn set_revision(&self, _era: Era, _revision: &str) {}

    fn cancel_by_notification(&self) -> bool {
        true
    }

    fn close(&self) {
        // Dropping the queue ends the writer, which closes the server's stdin.
        let began = Instant::now();
        lock(&self.queue).take();
        let mut child = lock(&self.child);
        let exited = |child: &mut Child, grace: Duration| {
            let deadline = Instant::now() + grace;
            loop {
                if matches!(child.try_wait(), Ok(Some(_)) | Err(_)) {
                    return true;
                }
                if Instant::now() >= deadline {
                    return false;
                }
                std::thread::sleep(EXIT_POLL);
            }
        };
        if !exited(&mut child, EXIT_GRACE) {
            // The leader is not reaped yet, so the group is still this server's.
            self.group.terminate();
            if !exited(&mut child, EXIT_GRACE) {
                self.group.kill();
                let _ = child.wait();
            }
        }
        tracing::debug!(server = %self.inbox.name, "stopped in {:?}", began.elapsed());
        // Children the server left behind (`npx` → `node`) share its group.
        self.group.kill();
        self.inbox.close("the connection was closed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_capped_and_resynchronised() {
        let input = b"short\r\n0123456789abc\nnext\nlast-without-newline";
        let mut r = BufReader::with_capacity(4, &input[..]);
        let mut buf = Vec::new();
        assert_eq!(read_line_capped(&mut r, &mut buf, 10).unwrap(), Line::Complete);
        assert_eq!(buf, b"short");
        assert_eq!(read_line_capped(&mut r, &mut buf, 10).unwrap(), Line::TooLong);
        assert_eq!(read_line_capped(&mut r, &mut buf, 10).unwrap(), Line::Complete);
        assert_eq!(buf, b"next");
        assert_eq!(read_line_capped(&mut r, &mut buf, 100).unwrap(), Line::Complete);
        assert_eq!(buf, b"last-without-newline");
        assert_eq!(read_line_capped(&mut r, &mut buf, 100).unwrap(), Line::End);
    }
}
