//! The `bash` tool (SPEC §9): `sh -c` in the workspace with an empty stdin and a timeout;
//! stdout and stderr share one pipe (interleaved as written), read on a thread while the
//! command runs and capped as it is read (the head and a ring of the tail, never the whole
//! flood in memory); the exit code or signal is reported with the duration.
//!
//! On Linux the command runs under a supervisor ([`super::supervisor`]) that kills everything
//! it started when it ends, and inside the Landlock sandbox ([`super::sandbox`]). Elsewhere it
//! runs in its own process group without a sandbox, and [`SandboxState`] says so.
//!
//! Background processes die with the command, not later: a command that needs a server runs
//! it and its client in one call (`server & sleep 1; curl …`).

use std::ffi::OsString;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::outcome::{Exit, Outcome, Stop};
use super::sandbox::SandboxState;
use super::{OutputPart, Target, Tool, ToolClass, ToolContext, ToolOutput, check_input, human_bytes};

/// The shell of SPEC §9 (`sh -c`).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
const TMPDIR: &str = "TMPDIR";
/// The timeout when the call gives none (SPEC §9).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
/// The longest timeout a call may ask for, in seconds (SPEC §9).
pub const MAX_TIMEOUT_SECS: u64 = 600;

/// Output kept from the start and from the end of a command's output: 32 KB in all is about
/// 8,000 tokens, enough for a build's first error and its final summary.
const HEAD_BYTES: usize = 16 * 1024;
const TAIL_BYTES: usize = 16 * 1024;
/// Cuts move to a line end when one is this close, so kept lines are whole.
const LINE_SEARCH: usize = 512;
const READ_CHUNK: usize = 64 * 1024;
/// The reader wakes this often to see whether the command is over.
const READ_POLL_MS: libc::c_int = 50;
/// Once the command is over, output still arriving (a descriptor passed to a process outside
/// the command) is read for at most this long.
const DRAIN_LIMIT: Duration = Duration::from_secs(1);
/// The status line gets the output's last line at most this often.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);
const PROGRESS_LINE_BYTES: usize = 200;

/// `[tools.bash]` settings (typed config will build this; until then the caller does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BashSettings {
    /// Run commands inside the Landlock sandbox where the kernel has it (default true).
    pub sandbox: bool,
    /// Allow TCP; `false` blocks connect and bind where Landlock ABI ≥ 4 (default true).
    pub network: bool,
    /// Folders commands may write besides the workspace and the temp folders (caches).
    /// Relative paths are taken from the workspace; missing folders are skipped; nothing
    /// inside `$PINCER_HOME` is ever writable.
    pub writable: Vec<PathBuf>,
    pub default_timeout: Duration,
}

impl BashSettings {
    /// The defaults: sandbox on, network on, the common toolchains' caches writable.
    /// `user_home` is `$HOME`; `env` the environment commands inherit.
    pub fn defaults(user_home: Option<&Path>, env: &[(OsString, OsString)]) -> BashSettings {
        BashSettings {
            sandbox: true,
            network: true,
            writable: default_writable(user_home, env),
            default_timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// The caches that `cargo`, `npm`, `go` and the XDG-minded tools (pip, go-build, ccache,
/// yarn…) write while they build, wherever their variables put them. `~/.rustup` is not
/// among them: running a toolchain only reads it.
pub fn default_writable(user_home: Option<&Path>, env: &[(OsString, OsString)]) -> Vec<PathBuf> {
    let var =
        |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| PathBuf::from(v)).filter(|p| p.is_absolute());
    let in_home = |relative: &str| user_home.map(|h| h.join(relative));
    let mut out = Vec::new();
    if let Some(cargo) = var("CARGO_HOME").or_else(|| in_home(".cargo")) {
        // Not all of it: `bin/` and `config.toml` hold what you run later, outside the sandbox.
        out.extend(["registry", "git"].iter().chain(CARGO_LOCK_FILES).map(|p| cargo.join(p)));
    }
    out.extend(var("npm_config_cache").or_else(|| in_home(".npm")));
    out.extend(var("XDG_CACHE_HOME").or_else(|| in_home(".cache")));
    out.extend(
        var("GOMODCACHE").or_else(|| var("GOPATH").map(|p| p.join("pkg/mod"))).or_else(|| in_home("go/pkg/mod")),
    );
    out
}

/// Files (not folders) among cargo's writable entries: its locks and its cache database.
const CARGO_LOCK_FILES: &[&str] = &[".package-cache", ".package-cache-mutate", ".global-cache"];

/// Creates the missing writable entries of toolchains that are there (`~/.cargo/registry`
/// before cargo's first download): a command cannot create them itself where their parent is
/// not writable. Entries directly in the user's home (`~/.npm`, `~/.cache`) are not made for
/// toolchains that may not be installed.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn create_missing_caches(writable: &[PathBuf], user_home: Option<&Path>) {
    for path in writable {
        let Some(parent) = path.parent() else { continue };
        if path.exists() || !parent.is_dir() || user_home.is_some_and(|h| h == parent) {
            continue;
        }
        let is_file = path.file_name().is_some_and(|n| CARGO_LOCK_FILES.iter().any(|f| n == *f));
        let created = if is_file {
            std::fs::OpenOptions::new().append(true).create(true).open(path).map(drop)
        } else {
            std::fs::create_dir(path)
        };
        if let Err(error) = created {
            tracing::debug!(path = %path.display(), %error, "cache not created");
        }
    }
}

/// The `bash` tool.
pub struct BashTool {
    settings: BashSettings,
    /// The environment commands get: the caller's, less every credential.
    env: Vec<(OsString, OsString)>,
    sandbox: SandboxState,
    description: String,
    /// A temp folder of pincer's own, for when `$PINCER_HOME` lies inside the temp folder
    /// (tests, throw-away setups): the sandbox then cannot let commands create entries directly
    /// in `/tmp`, so their `TMPDIR` points here. Removed with the tool.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    private_tmp: Mutex<Option<tempfile::TempDir>>,
}

impl BashTool {
    /// `env` is the environment commands inherit (pincer's own, from `env::vars_for_commands`);
    /// credentials are removed from it here. Probes Landlock once.
    pub fn new(settings: BashSettings, env: Vec<(OsString, OsString)>) -> BashTool {
        let sandbox = SandboxState::probe(settings.sandbox, settings.network);
        let env = env.into_iter().filter(|(name, _)| !crate::env::is_credential(name)).collect();
        let description = description(&sandbox, settings.default_timeout);
        BashTool { settings, env, sandbox, description, private_tmp: Mutex::new(None) }
    }

    /// The sandbox state: for the once-per-session warning and `pincer tools`.
    pub fn sandbox(&self) -> &SandboxState {
        &self.sandbox
    }

    fn parse(&self, input: &Value) -> Result<(String, Duration), String> {
        check_input(&self.input_schema(), input)?;
        let command = input.get("command").and_then(Value::as_str).unwrap_or_default();
        if command.trim().is_empty() {
            return Err("field `command` is empty".into());
        }
        if command.contains('\0') {
            return Err("field `command` contains a NUL byte".into());
        }
        let timeout = match input.get("timeout").and_then(Value::as_u64) {
            None if input.get("timeout").is_some_and(|t| !t.is_null()) => {
                return Err(format!("field `timeout` must be between 1 and {MAX_TIMEOUT_SECS} seconds"));
            }
            None => self.settings.default_timeout,
            Some(secs @ 1..=MAX_TIMEOUT_SECS) => Duration::from_secs(secs),
            Some(_) => return Err(format!("field `timeout` must be between 1 and {MAX_TIMEOUT_SECS} seconds")),
        };
        Ok((command.to_string(), timeout))
    }

    /// `$TMPDIR` and the temp folders, as they exist now.
    #[cfg(target_os = "linux")]
    fn temp_roots(&self) -> Vec<PathBuf> {
        let tmpdir = self.env.iter().find(|(k, _)| k == TMPDIR).map(|(_, v)| PathBuf::from(v));
        tmpdir
            .into_iter()
            .chain(super::sandbox::TEMP_DIRS.iter().map(PathBuf::from))
            .filter_map(|p| p.canonicalize().ok())
            .collect()
    }

    /// The environment of one command: the tool's, with `TMPDIR` moved to a private temp
    /// folder when the temp folder holds `$PINCER_HOME` (see `private_tmp`).
    #[cfg(target_os = "linux")]
    fn command_env(&self, temp_roots: &[PathBuf], home: &Path) -> Vec<(OsString, OsString)> {
        let mut env = self.env.clone();
        let Some(parent) = temp_roots.iter().find(|t| home.starts_with(t) && home != t.as_path()) else {
            return env;
        };
        let mut private = self.private_tmp.lock().unwrap_or_else(|e| e.into_inner());
        if private.is_none() {
            *private = tempfile::Builder::new().prefix("pincer-bash-").tempdir_in(parent).ok();
        }
        if let Some(dir) = private.as_ref() {
            env.retain(|(k, _)| k != TMPDIR);
            env.push((TMPDIR.into(), dir.path().into()));
        }
        env
    }

    #[cfg(target_os = "linux")]
    fn execute(&self, command: &str, timeout: Duration, ctx: &ToolContext<'_>) -> Result<Execution, String> {
        use super::sandbox::{self, Policy, Prepared};
        use super::supervisor::{self, Launch};
        // The rules compare paths: they must be the real ones (ToolContext promises canonical
        // paths; a symlinked home that slipped through would otherwise be readable).
        let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        let (workspace, home) = (canonical(ctx.workspace), canonical(ctx.home));
        let (workspace, home) = (workspace.as_path(), home.as_path());
        let caches: Vec<PathBuf> = self.settings.writable.iter().map(|p| workspace.join(p)).collect();
        if self.sandbox.enforced() {
            let user_home = self.env.iter().find(|(k, _)| k == "HOME").map(|(_, v)| PathBuf::from(v));
            create_missing_caches(&caches, user_home.as_deref());
        }
        let temp_roots = self.temp_roots();
        // Before the rules are built, so that a new private temp folder is among them.
        let env = self.command_env(&temp_roots, home);
        let caches = caches.into_iter().filter_map(|p| p.canonicalize().ok());
        let policy = Policy {
            workspace,
            home,
            writable: temp_roots.into_iter().chain(caches).collect(),
            network: self.settings.network,
        };
        let prepared = sandbox::prepare(&self.sandbox, &policy).map_err(|e| e.to_string())?;
        let launch = Launch::shell(command, &env, workspace).map_err(|e| format!("cannot run it: {e}"))?;
        let mut running = supervisor::spawn(&launch, prepared.as_ref().map(Prepared::child)).map_err(|e| {
            format!("cannot start the command: {e}\nhint: the system may be out of processes or memory")
        })?;
        // The command's process has its own copy of the ruleset now.
        drop(prepared);
        let Some(output) = running.take_output() else { return Err("the command's output pipe is gone".into()) };
        Ok(collect(output, ctx.progress, || running.wait(ctx.cancel, timeout)))
    }

    /// Elsewhere: the command's own process group, killed when it ends; no sandbox.
    #[cfg(not(target_os = "linux"))]
    fn execute(&self, command: &str, timeout: Duration, ctx: &ToolContext<'_>) -> Result<Execution, String> {
        use std::os::unix::process::{CommandExt, ExitStatusExt};
        let (reader, writer) = std::io::pipe().map_err(|e| format!("cannot start the command: {e}"))?;
        let mut child = {
            let stderr = writer.try_clone().map_err(|e| format!("cannot start the command: {e}"))?;
            std::process::Command::new(super::outcome::SHELL)
                .arg("-c")
                .arg(command)
                .current_dir(ctx.workspace)
                .env_clear()
                .envs(self.env.iter().map(|(k, v)| (k, v)))
                .stdin(std::process::Stdio::null())
                .stdout(writer)
                .stderr(stderr)
                .process_group(0)
                .spawn()
                .map_err(|e| format!("cannot start the command: {e}"))?
        };
        let group = child.id() as libc::pid_t;
        Ok(collect(reader.into(), ctx.progress, || {
            let deadline = Instant::now() + timeout;
            let mut stopped = None;
            let status = loop {
                match child.try_wait() {
                    Ok(Some(status)) => break Some(status),
                    Ok(None) => {}
                    Err(_) => break None,
                }
                if stopped.is_none() {
                    stopped = if ctx.cancel.is_cancelled() {
                        Some(Stop::Cancelled)
                    } else if Instant::now() >= deadline {
                        Some(Stop::Timeout)
                    } else {
                        None
                    };
                    if stopped.is_some() {
                        // SAFETY: a signal to the group this call started.
                        unsafe { libc::kill(-group, libc::SIGKILL) };
                    }
                }
                std::thread::sleep(Duration::from_millis(25));
            };
            // Whatever is left in the group goes with the command.
            // SAFETY: as above.
            unsafe { libc::kill(-group, libc::SIGKILL) };
            let exit = match status {
                Some(s) => s.code().map(Exit::Code).or(s.signal().map(Exit::Signal)).unwrap_or(Exit::Unknown),
                None => Exit::Unknown,
            };
            Outcome { exit, stopped, killed_background: 0 }
        }))
    }
}

struct Execution {
    output: Captured,
    outcome: Outcome,
}

/// Reads `output` on a thread while `wait` waits for the command; returns both.
fn collect(output: OwnedFd, progress: &(dyn Fn(&str) + Sync), wait: impl FnOnce() -> Outcome) -> Execution {
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let reader = scope.spawn(|| read_output(output, &done, progress));
        let outcome = wait();
        done.store(true, Ordering::SeqCst);
        let output = reader
            .join()
            .map(OutputCap::finish)
            .unwrap_or_else(|_| Captured { text: "[the output could not be read]".into() });
        Execution { output, outcome }
    })
}

fn read_output(fd: OwnedFd, done: &AtomicBool, progress: &(dyn Fn(&str) + Sync)) -> OutputCap {
    let mut file = std::fs::File::from(fd);
    let mut cap = OutputCap::new(HEAD_BYTES, TAIL_BYTES);
    let mut buf = vec![0u8; READ_CHUNK];
    let mut shown = String::new();
    let mut shown_at: Option<Instant> = None;
    let mut done_at: Option<Instant> = None;
    loop {
        if done.load(Ordering::SeqCst) && done_at.get_or_insert_with(Instant::now).elapsed() > DRAIN_LIMIT {
            break;
        }
        let mut poll = libc::pollfd { fd: file.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut poll, 1, READ_POLL_MS) };
        if ready == 0 {
            if done.load(Ordering::SeqCst) {
                // The command is over and nothing is coming: a process outside it holds the pipe.
                break;
            }
            // A quiet moment: show the line the throttle held back.
            show_progress(&cap, &mut shown, &mut shown_at, progress, true);
            continue;
        }
        if ready < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            break;
        }
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => cap.push(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
        show_progress(&cap, &mut shown, &mut shown_at, progress, false);
    }
    cap
}

/// Hands the output's last line to the status line, at most every [`PROGRESS_EVERY`] unless
/// `now`.
fn show_progress(
    cap: &OutputCap,
    shown: &mut String,
    shown_at: &mut Option<Instant>,
    progress: &(dyn Fn(&str) + Sync),
    now: bool,
) {
    if !now && shown_at.is_some_and(|t| t.elapsed() < PROGRESS_EVERY) {
        return;
    }
    let line = cap.last_line();
    if !line.is_empty() && line != *shown {
        progress(&line);
        *shown = line;
        *shown_at = Some(Instant::now());
    }
}

/// A command's output as it streams: the first `head_max` bytes, a ring of the last
/// `tail_max`, the total, and the last line (for the status line).
struct OutputCap {
    head: Vec<u8>,
    head_max: usize,
    tail: Ring,
    total: u64,
    /// The line being written (no newline yet), and the last complete one.
    partial: Vec<u8>,
    last_complete: Vec<u8>,
}

/// What is kept of an output: the text, with a marker saying how much was cut from the middle.
#[derive(Debug)]
struct Captured {
    text: String,
}

impl OutputCap {
    fn new(head_max: usize, tail_max: usize) -> OutputCap {
        OutputCap {
            head: Vec::with_capacity(head_max.min(READ_CHUNK)),
            head_max,
            tail: Ring::new(tail_max),
            total: 0,
            partial: Vec::new(),
            last_complete: Vec::new(),
        }
    }

    fn push(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        self.track_lines(data);
        if self.head.len() < self.head_max {
            let take = data.len().min(self.head_max - self.head.len());
            self.head.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        self.tail.push(data);
    }

    fn track_lines(&mut self, data: &[u8]) {
        let keep = |line: &mut Vec<u8>, bytes: &[u8]| {
            let room = PROGRESS_LINE_BYTES.saturating_sub(line.len());
            line.extend_from_slice(&bytes[..bytes.len().min(room)]);
        };
        match memchr::memrchr(b'\n', data) {
            None => keep(&mut self.partial, data),
            Some(end) => {
                let before = &data[..end];
                match memchr::memrchr(b'\n', before) {
                    Some(start) => {
                        self.last_complete.clear();
                        keep(&mut self.last_complete, &before[start + 1..]);
                    }
                    None => {
                        self.last_complete = std::mem::take(&mut self.partial);
                        keep(&mut self.last_complete, before);
                    }
                }
                self.partial.clear();
                keep(&mut self.partial, &data[end + 1..]);
            }
        }
    }

    /// The line to show while the command runs: the one being written, else the last one;
    /// after a carriage return (progress bars) only what follows it.
    fn last_line(&self) -> String {
        let pick = |line: &[u8]| {
            let line = match memchr::memrchr(b'\r', line.trim_ascii_end()) {
                Some(i) => &line[i + 1..],
                None => line,
            };
            String::from_utf8_lossy(line.trim_ascii()).into_owned()
        };
        let partial = pick(&self.partial);
        if partial.is_empty() { pick(&self.last_complete) } else { partial }
    }

    fn finish(self) -> Captured {
        let tail = self.tail.contents();
        let kept = (self.head.len() + tail.len()) as u64;
        if kept == self.total {
            let mut all = self.head;
            all.extend_from_slice(&tail);
            return Captured { text: String::from_utf8_lossy(&all).into_owned() };
        }
        let head = &self.head[..cut_head(&self.head)];
        let tail = &tail[cut_tail(&tail)..];
        let cut = self.total - (head.len() + tail.len()) as u64;
        let text = format!(
            "{}\n[… {} cut from the middle; {} in all …]\n{}",
            String::from_utf8_lossy(head).trim_end_matches('\n'),
            human_bytes(cut as usize),
            human_bytes(self.total as usize),
            String::from_utf8_lossy(tail)
        );
        Captured { text }
    }
}

/// Where the kept head ends: after a line end near the end, else before a cut character.
fn cut_head(head: &[u8]) -> usize {
    let window = head.len().saturating_sub(LINE_SEARCH);
    if let Some(i) = memchr::memrchr(b'\n', &head[window..]) {
        return window + i + 1;
    }
    // Back up over an incomplete UTF-8 sequence at the end.
    let mut end = head.len();
    for back in 1..=3.min(head.len()) {
        let b = head[head.len() - back];
        if b & 0xC0 == 0xC0 {
            let width = if b >= 0xF0 {
                4
            } else if b >= 0xE0 {
                3
            } else {
                2
            };
            if width > back {
                end = head.len() - back;
            }
            break;
        }
        if b & 0x80 == 0 {
            break;
        }
    }
    end
}

/// Where the kept tail starts: after a line end near the start, else after cut characters.
fn cut_tail(tail: &[u8]) -> usize {
    if let Some(i) = memchr::memchr(b'\n', &tail[..tail.len().min(LINE_SEARCH)]) {
        return i + 1;
    }
    tail.iter().take(3).take_while(|&&b| b & 0xC0 == 0x80).count()
}

/// A fixed-size ring of the last bytes written.
struct Ring {
    buf: Vec<u8>,
    max: usize,
    /// Where the oldest byte is, once the ring is full.
    start: usize,
}

impl Ring {
    fn new(max: usize) -> Ring {
        Ring { buf: Vec::new(), max, start: 0 }
    }

    fn push(&mut self, data: &[u8]) {
        if self.max == 0 {
            return;
        }
        if data.len() >= self.max {
            self.buf.clear();
            self.buf.extend_from_slice(&data[data.len() - self.max..]);
            self.start = 0;
            return;
        }
        let mut data = data;
        if self.buf.len() < self.max {
            let take = data.len().min(self.max - self.buf.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        if data.is_empty() {
            return;
        }
        let first = data.len().min(self.max - self.start);
        self.buf[self.start..self.start + first].copy_from_slice(&data[..first]);
        let rest = data.len() - first;
        self.buf[..rest].copy_from_slice(&data[first..]);
        self.start = (self.start + data.len()) % self.max;
    }

    fn contents(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.buf.len());
        out.extend_from_slice(&self.buf[self.start..]);
        out.extend_from_slice(&self.buf[..self.start]);
        out
    }
}

/// The result the model reads, and the status-line summary.
fn render(execution: Execution, timeout: Duration, elapsed: Duration) -> ToolOutput {
    let Execution { output, outcome } = execution;
    let mut text = output.text;
    if text.is_empty() {
        text.push_str("(no output)");
    }
    if !text.ends_with('\n') {
        text.push('\n');
    }
    if outcome.killed_background > 0 {
        let n = outcome.killed_background;
        let (noun, verb) = if n == 1 { ("process", "was") } else { ("processes", "were") };
        text.push_str(&format!("[{n} background {noun} still running when the command ended {verb} killed]\n"));
    }
    let secs = timeout.as_secs();
    let (status, summary) = match (outcome.stopped, outcome.exit) {
        (Some(Stop::Timeout), _) => {
            (format!("killed by SIGKILL (timeout {secs} s)"), format!("timed out after {secs} s"))
        }
        (Some(Stop::Cancelled), _) => {
            ("killed by SIGKILL (cancelled by the user)".to_string(), "cancelled".to_string())
        }
        (None, Exit::Code(code)) => (format!("exit {code}"), format!("exit {code}")),
        (None, Exit::Signal(signal)) => {
            let name = signal_name(signal);
            (format!("killed by {name}"), format!("killed by {name}"))
        }
        (None, Exit::Unknown) => {
            ("ended with an unknown status (its supervisor was killed)".to_string(), "status unknown".to_string())
        }
    };
    text.push_str(&format!("[{status} · {:.1} s]", elapsed.as_secs_f64()));
    let is_error = outcome != Outcome { exit: Exit::Code(0), stopped: None, ..outcome };
    ToolOutput { parts: vec![OutputPart::Text(text)], is_error, summary }
}

fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        _ => return format!("signal {signal}"),
    };
    name.to_string()
}

/// What the model reads about the tool: short, it is sent with every request.
fn description(sandbox: &SandboxState, default_timeout: Duration) -> String {
    let mut text = format!(
        "Run a shell command (`sh -c`) in the workspace. Returns stdout and stderr together (long output keeps \
         its start and end) and the exit code. stdin is empty: nothing interactive. Timeout {} s unless \
         `timeout` (seconds, up to {MAX_TIMEOUT_SECS}) says otherwise. Processes left in the background are \
         killed when the command ends.",
        default_timeout.as_secs()
    );
    if sandbox.enforced() {
        text.push_str(" Sandboxed: writes only in the workspace and temp folders; pincer's home is unreadable.");
        if sandbox.network_blocked() {
            text.push_str(" No network.");
        }
    }
    text
}

impl Tool for BashTool {
    fn name(&self) -> &str {
        "bash"
    }

    fn class(&self) -> ToolClass {
        ToolClass::Bash
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "command": {"type": "string", "description": "the command line, run with sh -c"},
                "timeout": {"type": "integer", "description": format!("seconds, at most {MAX_TIMEOUT_SECS}")},
            },
            "required": ["command"],
        })
    }

    fn access(&self, input: &Value, _ctx: &ToolContext<'_>) -> Result<Target, String> {
        let (command, _) = self.parse(input)?;
        Ok(Target::Command(command))
    }

    fn call(&self, input: &Value, ctx: &ToolContext<'_>) -> ToolOutput {
        let (command, timeout) = match self.parse(input) {
            Ok(parsed) => parsed,
            Err(message) => return ToolOutput::error(message),
        };
        let started = Instant::now();
        match self.execute(&command, timeout, ctx) {
            Ok(execution) => render(execution, timeout, started.elapsed()),
            Err(message) => ToolOutput::error(message),
        }
    }

    fn display(&self, input: &Value) -> String {
        let command = input.get("command").and_then(Value::as_str).unwrap_or_default().trim();
        let mut lines = command.lines();
        let first = lines.next().unwrap_or_default().to_string();
        if lines.next().is_some() { format!("{first} …") } else { first }
    }

    fn approval_detail(&self, input: &Value, _ctx: &ToolContext<'_>) -> String {
        let command = input.get("command").and_then(Value::as_str).unwrap_or_default();
        let mut detail = command.to_string();
        if let Some(secs) = input.get("timeout").and_then(Value::as_u64) {
            detail.push_str(&format!("\n(timeout {secs} s)"));
        }
        detail.push_str(if self.sandbox.enforced() {
            "\n(runs in the sandbox)"
        } else {
            "\n(runs without a sandbox: it can change anything you can)"
        });
        detail
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_keeps_head_and_tail_and_counts_what_it_cut() {
        let mut cap = OutputCap::new(10, 10);
        cap.push(b"0123456789");
        cap.push(b"abcdefghij");
        assert_eq!(cap.finish().text, "0123456789abcdefghij");

        let mut cap = OutputCap::new(8, 8);
        for chunk in [&b"line1\nline2\n"[..], b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", b"\nend1\nend2\n"] {
            cap.push(chunk);
        }
        let out = cap.finish();
        assert!(out.text.starts_with("line1\n["), "{:?}", out.text);
        assert!(out.text.ends_with("]\nend2\n"), "{:?}", out.text);
        assert!(out.text.contains("42 bytes cut from the middle; 53 bytes in all"), "{:?}", out.text);
    }

    #[test]
    fn the_ring_holds_the_last_bytes_whatever_the_chunk_sizes() {
        let data: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        for chunk in [1, 3, 7, 64, 99, 100, 101, 5000] {
            let mut ring = Ring::new(100);
            for piece in data.chunks(chunk) {
                ring.push(piece);
            }
            assert_eq!(ring.contents(), &data[data.len() - 100..], "chunk {chunk}");
        }
    }

    #[test]
    fn cuts_never_split_a_character() {
        // "é" is two bytes; a head ending in its first byte loses it, a tail starting with its
        // second byte skips it.
        assert_eq!(cut_head(b"abc\xC3"), 3);
        assert_eq!(cut_head("abcé".as_bytes()), 5);
        assert_eq!(cut_tail(b"\xA9abc"), 1);
        let mut cap = OutputCap::new(5, 5);
        cap.push("ééééééééé".as_bytes());
        let out = cap.finish();
        assert!(!out.text.contains('\u{FFFD}'), "{:?}", out.text);
    }

    #[test]
    fn invalid_utf8_is_converted_lossily() {
        let mut cap = OutputCap::new(100, 100);
        cap.push(b"ok\xFF\xFEok");
        assert_eq!(cap.finish().text, "ok\u{FFFD}\u{FFFD}ok");
    }

    #[test]
    fn the_last_line_is_what_a_status_line_shows() {
        let mut cap = OutputCap::new(100, 100);
        cap.push(b"Compiling a\nCompil");
        assert_eq!(cap.last_line(), "Compil");
        cap.push(b"ing b\n");
        assert_eq!(cap.last_line(), "Compiling b");
        cap.push(b"\n\n");
        assert_eq!(cap.last_line(), "", "the last complete line is empty");
        cap.push(b"10%\r50%\r");
        assert_eq!(cap.last_line(), "50%");
        let mut cap = OutputCap::new(100, 100);
        cap.push(&[b'x'; 1000]);
        assert_eq!(cap.last_line().len(), PROGRESS_LINE_BYTES);
    }

    fn tool() -> BashTool {
        BashTool::new(
            BashSettings { sandbox: true, network: true, writable: vec![], default_timeout: DEFAULT_TIMEOUT },
            vec![],
        )
    }

    #[test]
    fn input_is_checked_before_anything_runs() {
        let t = tool();
        assert_eq!(t.parse(&json!({"command": "ls"})).unwrap(), ("ls".to_string(), DEFAULT_TIMEOUT));
        assert_eq!(t.parse(&json!({"command": "ls", "timeout": 600})).unwrap().1, Duration::from_secs(600));
        assert!(t.parse(&json!({"command": "ls", "timeout": 601})).unwrap_err().contains("between 1 and 600"));
        assert!(t.parse(&json!({"command": "ls", "timeout": 0})).unwrap_err().contains("between 1 and 600"));
        assert!(t.parse(&json!({"command": "ls", "timeout": -5})).unwrap_err().contains("between 1 and 600"));
        assert!(t.parse(&json!({"command": "ls", "timeout": "5"})).unwrap_err().contains("must be an integer"));
        assert_eq!(t.parse(&json!({"command": "  "})).unwrap_err(), "field `command` is empty");
        assert_eq!(t.parse(&json!({"command": "a\u{0}b"})).unwrap_err(), "field `command` contains a NUL byte");
        assert_eq!(t.parse(&json!({})).unwrap_err(), "missing field `command`");
        assert_eq!(t.display(&json!({"command": " cargo test\necho done"})), "cargo test …");
    }

    #[test]
    fn results_say_how_the_command_ended() {
        let run = |exit, stopped, killed_background| {
            let execution = Execution {
                output: Captured { text: "out".into() },
                outcome: Outcome { exit, stopped, killed_background },
            };
            render(execution, Duration::from_secs(120), Duration::from_millis(1234))
        };
        let ok = run(Exit::Code(0), None, 0);
        assert_eq!(
            (ok.joined_text().as_str(), ok.summary.as_str(), ok.is_error),
            ("out\n[exit 0 · 1.2 s]", "exit 0", false)
        );
        let failed = run(Exit::Code(2), None, 1);
        assert_eq!((failed.summary.as_str(), failed.is_error), ("exit 2", true));
        assert!(
            failed.joined_text().contains("[1 background process still running when the command ended was killed]")
        );
        let timed_out = run(Exit::Signal(libc::SIGKILL), Some(Stop::Timeout), 0);
        assert_eq!(timed_out.summary, "timed out after 120 s");
        assert!(timed_out.joined_text().contains("[killed by SIGKILL (timeout 120 s) · 1.2 s]"));
        assert_eq!(run(Exit::Signal(libc::SIGKILL), Some(Stop::Cancelled), 0).summary, "cancelled");
        assert_eq!(run(Exit::Signal(libc::SIGSEGV), None, 0).summary, "killed by SIGSEGV");
    }

    #[test]
    fn default_caches_follow_the_toolchains_variables() {
        let home = Path::new("/h");
        let paths = default_writable(Some(home), &[]);
        for expected in ["/h/.cargo/registry", "/h/.cargo/git", "/h/.npm", "/h/.cache", "/h/go/pkg/mod"] {
            assert!(paths.contains(&PathBuf::from(expected)), "{expected} in {paths:?}");
        }
        assert!(!paths.iter().any(|p| p.ends_with(".cargo") || p.ends_with("bin")), "{paths:?}");
        let env = [("CARGO_HOME".into(), "/c".into()), ("XDG_CACHE_HOME".into(), "relative".into())];
        let paths = default_writable(Some(home), &env);
        assert!(paths.contains(&PathBuf::from("/c/registry")) && paths.contains(&PathBuf::from("/h/.cache")));
    }
}
