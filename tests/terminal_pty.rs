//! The terminal as people meet it, on pseudo-terminals of our own: hidden input with and without
//! a controlling terminal (IDE consoles and containers have none, so `/dev/tty` fails with
//! ENXIO), Ctrl-C and signals at the hidden prompt leaving the terminal as it was, the rest of a
//! refused paste never reaching the shell, and the REPL drawing on the terminal while stdout goes
//! to a file.

mod support;

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rexpect::session::{Options, StreamSession};
use support::fake_server::{FakeServer, Request};
use support::{Sandbox, api_key, closed_port_url, setup_token, sse, text_stream};

const TIMEOUT: Duration = Duration::from_secs(20);

/// A pseudo-terminal pair. The test keeps the slave side open, as the shell that started pincer
/// would: its settings and its queued input can be read after pincer exits.
struct Pty {
    master: File,
    slave: File,
}

impl Pty {
    fn open() -> Pty {
        // SAFETY: the standard openpt/grantpt/unlockpt/ptsname sequence on descriptors we own.
        unsafe {
            let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
            assert!(master >= 0, "posix_openpt: {}", std::io::Error::last_os_error());
            assert_eq!(libc::grantpt(master), 0);
            assert_eq!(libc::unlockpt(master), 0);
            let mut name = [0 as libc::c_char; 128];
            assert_eq!(libc::ptsname_r(master, name.as_mut_ptr(), name.len()), 0);
            let slave = libc::open(name.as_ptr(), libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
            assert!(slave >= 0, "open slave: {}", std::io::Error::last_os_error());
            Pty { master: File::from_raw_fd(master), slave: File::from_raw_fd(slave) }
        }
    }

    fn termios(&self) -> libc::termios {
        // SAFETY: tcgetattr fills a struct we own.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            assert_eq!(libc::tcgetattr(self.slave.as_raw_fd(), &mut t), 0);
            t
        }
    }

    /// Bytes typed (or pasted) that nobody has read yet: what a shell would read next.
    fn queued_input(&self) -> libc::c_int {
        let mut n: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int.
        assert_eq!(unsafe { libc::ioctl(self.slave.as_raw_fd(), libc::FIONREAD, &mut n) }, 0);
        n
    }
}

/// pincer with stdin and stderr on the pty, in a session of its own; with `controlling`, the pty
/// is its controlling terminal (as in a terminal emulator), otherwise it has none.
struct OnPty {
    pty: Pty,
    /// The terminal's settings before pincer started.
    initial: libc::termios,
    child: Child,
    screen: StreamSession<File>,
}

/// `stdout: None` puts stdout on the pty too.
fn spawn(mut cmd: Command, controlling: bool, stdout: Option<Stdio>) -> OnPty {
    let pty = Pty::open();
    let initial = pty.termios();
    let stdout = stdout.unwrap_or_else(|| pty.slave.try_clone().unwrap().into());
    cmd.stdin(pty.slave.try_clone().unwrap()).stderr(pty.slave.try_clone().unwrap()).stdout(stdout);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if controlling && libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().unwrap();
    let screen = StreamSession::new(
        pty.master.try_clone().unwrap(),
        pty.master.try_clone().unwrap(),
        Options::new().timeout_ms(Some(TIMEOUT.as_millis() as u64)),
    );
    OnPty { pty, initial, child, screen }
}

impl OnPty {
    /// Waits until pincer has turned echo off (its hidden prompt is reading).
    fn wait_for_hidden_prompt(&mut self) {
        let started = Instant::now();
        while self.pty.termios().c_lflag & libc::ECHO != 0 {
            assert!(self.child.try_wait().unwrap().is_none(), "pincer exited before hiding input");
            assert!(started.elapsed() < TIMEOUT, "echo was never turned off");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn type_bytes(&mut self, bytes: &[u8]) {
        std::io::Write::write_all(&mut self.pty.master, bytes).unwrap();
    }

    fn wait(&mut self) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if started.elapsed() > TIMEOUT {
                let _ = self.child.kill();
                panic!("pincer did not exit");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Everything shown on the terminal so far (after pincer exited).
    fn shown(&mut self) -> String {
        std::thread::sleep(Duration::from_millis(200));
        let mut text = String::new();
        while let Some(c) = self.screen.try_read() {
            text.push(c);
        }
        text
    }
}

fn pincer(sb: &Sandbox, url: &str, args: &[&str]) -> Command {
    let mut cmd = sb.process(url);
    cmd.env("TERM", "xterm").args(args);
    cmd
}

const LOCAL_FLAGS: libc::tcflag_t = libc::ECHO | libc::ICANON | libc::ISIG;

#[test]
fn hidden_input_works_without_a_controlling_terminal() {
    let sb = Sandbox::new();
    let token = setup_token('n');
    let cmd = pincer(&sb, &closed_port_url(), &["auth", "login", "--provider", "anthropic", "--setup-token"]);
    let mut p = spawn(cmd, false, Some(Stdio::null()));
    p.screen.exp_string("Setup token (input hidden): ").unwrap();
    p.wait_for_hidden_prompt();
    p.type_bytes(format!("{token}\r").as_bytes());
    let status = p.wait();
    let shown = p.shown();
    assert_eq!(status.code(), Some(0), "{shown}");
    assert!(!shown.contains(&token[13..40]), "the token was echoed:\n{shown}");
    let auth: serde_json::Value = serde_json::from_str(&sb.read("auth.json")).unwrap();
    assert_eq!(auth["credentials"]["anthropic"]["secret"], token.as_str());
    assert_eq!(p.pty.termios().c_lflag, p.initial.c_lflag, "the terminal was not restored");
}

#[test]
fn ctrl_c_at_the_hidden_prompt_restores_the_terminal_and_exits_130() {
    for controlling in [true, false] {
        let sb = Sandbox::new();
        let cmd = pincer(&sb, &closed_port_url(), &["auth", "login", "--provider", "anthropic", "--api-key"]);
        let mut p = spawn(cmd, controlling, Some(Stdio::null()));
        let before = p.initial;
        p.screen.exp_string("Anthropic API key (input hidden): ").unwrap();
        p.wait_for_hidden_prompt();
        p.type_bytes(b"sk-ant-api03-half-typed\x03");
        let status = p.wait();
        let shown = p.shown();
        assert_eq!(status.code(), Some(130), "controlling terminal: {controlling}\n{shown}");
        let after = p.pty.termios();
        assert_eq!(after.c_lflag & LOCAL_FLAGS, LOCAL_FLAGS, "echo, canonical mode and signals are back");
        assert_eq!(after.c_lflag, before.c_lflag, "controlling terminal: {controlling}: local modes not restored");
        assert_eq!(after.c_cc, before.c_cc, "controlling terminal: {controlling}: control characters not restored");
        assert!(!sb.file("auth.json").exists());
        assert!(!shown.contains("half-typed"), "{shown}");
    }
}

#[test]
fn a_signal_at_the_hidden_prompt_restores_the_terminal() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let sb = Sandbox::new();
        let cmd = pincer(&sb, &closed_port_url(), &["auth", "login", "--provider", "anthropic", "--api-key"]);
        let mut p = spawn(cmd, true, Some(Stdio::null()));
        p.screen.exp_string("(input hidden): ").unwrap();
        p.wait_for_hidden_prompt();
        // SAFETY: signalling our own child.
        unsafe { libc::kill(p.child.id() as libc::pid_t, signal) };
        let status = p.wait();
        assert_eq!(status.code(), Some(130), "signal {signal}");
        assert_eq!(p.pty.termios().c_lflag, p.initial.c_lflag, "signal {signal}: terminal not restored");
    }
}

#[test]
fn the_rest_of_a_refused_paste_never_reaches_the_shell() {
    let sb = Sandbox::new();
    let cmd = pincer(&sb, &closed_port_url(), &["auth", "login", "--provider", "anthropic", "--api-key"]);
    let mut p = spawn(cmd, true, Some(Stdio::null()));
    p.screen.exp_string("(input hidden): ").unwrap();
    p.wait_for_hidden_prompt();
    // A paste of two lines: the first is refused; the second must not stay queued for the shell.
    p.type_bytes(b"not-a-key\nsk-ant-api03-rest-of-a-secret\n");
    let status = p.wait();
    let shown = p.shown();
    assert_eq!(status.code(), Some(2), "{shown}");
    assert!(shown.contains("does not look like an Anthropic API key"), "{shown}");
    assert_eq!(p.pty.queued_input(), 0, "the rest of the paste is still queued for the shell");
    assert!(!shown.contains("rest-of-a-secret"), "{shown}");
}

#[test]
fn bytes_that_are_not_utf8_at_the_hidden_prompt_are_a_bad_character() {
    let sb = Sandbox::new();
    let cmd = pincer(&sb, &closed_port_url(), &["auth", "login", "--provider", "anthropic", "--api-key"]);
    let mut p = spawn(cmd, false, Some(Stdio::null()));
    p.screen.exp_string("(input hidden): ").unwrap();
    p.wait_for_hidden_prompt();
    p.type_bytes(b"sk-ant-api03-\xff\xfeabc\r");
    let status = p.wait();
    let shown = p.shown();
    assert_eq!(status.code(), Some(2), "{shown}");
    assert!(shown.contains("character 14 of the token is a byte that is not UTF-8 text"), "{shown}");
    assert!(!sb.file("auth.json").exists());
}

#[test]
fn the_repl_draws_on_the_terminal_and_stdout_gets_only_answers() {
    let sb = Sandbox::new();
    let server = FakeServer::start(|r: &Request| {
        let n = r.json()["messages"].as_array().unwrap().len();
        sse(&text_stream(&format!("answer {n}"), "end_turn"), 64)
    });
    let chat = sb.dir.path().join("chat.txt");
    let mut cmd = pincer(&sb, &server.url, &["agent"]);
    cmd.env("ANTHROPIC_API_KEY", api_key('k'));
    let mut p = spawn(cmd, true, Some(Stdio::from(File::create(&chat).unwrap())));
    p.screen.exp_string("> ").unwrap();
    p.type_bytes(b"first\r");
    p.screen.exp_string("first").unwrap();
    p.screen.exp_string("> ").unwrap();
    p.type_bytes(b"second\r");
    p.screen.exp_string("> ").unwrap();
    p.type_bytes(b"/exit\r");
    let status = p.wait();
    let shown = p.shown();
    assert_eq!(status.code(), Some(0), "{shown}");
    assert_eq!(server.requests().len(), 2);
    assert_eq!(std::fs::read_to_string(&chat).unwrap(), "answer 1\nanswer 3\n");
}

/// The REPL on a terminal, as a person runs it.
fn repl(sb: &Sandbox, url: &str, args: &[&str]) -> OnPty {
    let mut cmd = pincer(sb, url, &["agent"]);
    cmd.env("ANTHROPIC_API_KEY", api_key('k')).args(args);
    spawn(cmd, true, None)
}

#[test]
fn a_credential_typed_at_the_repl_is_neither_sent_nor_kept_in_history() {
    let sb = Sandbox::new();
    let server = FakeServer::start(|_| sse(&text_stream("fine", "end_turn"), 64));
    let mut p = repl(&sb, &server.url, &[]);
    p.screen.exp_string("> ").unwrap();
    let key = format!("use sk-ant-api03-{}AA for this", "Zq3_x".repeat(19));
    p.type_bytes(format!("{key}\r").as_bytes());
    p.screen.exp_string("looks like it contains an Anthropic key or token: it was not sent").unwrap();
    p.screen.exp_string("> ").unwrap();
    p.type_bytes(b"an ordinary question\r");
    p.screen.exp_string("fine").unwrap();
    p.type_bytes(b"/exit\r");
    assert_eq!(p.wait().code(), Some(0));
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "only the ordinary question went out");
    assert!(!String::from_utf8_lossy(&requests[0].body).contains("sk-ant"));
    let history = sb.read("history.txt");
    assert!(history.contains("an ordinary question"), "{history}");
    assert!(!history.contains("sk-ant"), "the key is in history.txt:\n{history}");
}

#[test]
fn the_repl_forgets_a_refused_turn() {
    let sb = Sandbox::new();
    let refusal = std::fs::read_to_string(format!(
        "{}/tests/fixtures/anthropic-sdk/refusal_response.txt",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
        + "\n\n";
    let server = FakeServer::start(move |r: &Request| {
        let messages = r.json()["messages"].as_array().unwrap().len();
        if messages == 1 && r.json()["messages"][0]["content"][0]["text"] == "refuse this" {
            sse(&refusal, 64)
        } else {
            sse(&text_stream(&format!("answer to {messages}"), "end_turn"), 64)
        }
    });
    let mut p = repl(&sb, &server.url, &["--session", "r"]);
    p.screen.exp_string("> ").unwrap();
    p.type_bytes(b"refuse this\r");
    p.screen.exp_string("declined to answer").unwrap();
    p.screen.exp_string("not kept in the conversation").unwrap();
    p.screen.exp_string("> ").unwrap();
    p.type_bytes(b"next\r");
    p.screen.exp_string("answer to 1").unwrap();
    p.type_bytes(b"/exit\r");
    assert_eq!(p.wait().code(), Some(0));
    let second = server.requests()[1].json();
    assert_eq!(second["messages"].as_array().unwrap().len(), 1, "the refused turn was sent back: {second}");
    assert_eq!(sb.read("sessions/r.jsonl").lines().count(), 2);
}

#[test]
fn new_twice_within_a_second_keeps_both_archives_and_leaves_no_lock_files() {
    let sb = Sandbox::new();
    let server = FakeServer::start(|_| sse(&text_stream("ok", "end_turn"), 64));
    let mut p = repl(&sb, &server.url, &["--session", "s"]);
    for question in ["first question", "second question"] {
        p.screen.exp_string("> ").unwrap();
        p.type_bytes(format!("{question}\r").as_bytes());
        p.screen.exp_string("ok").unwrap();
        p.screen.exp_string("> ").unwrap();
        p.type_bytes(b"/new\r");
        p.screen.exp_string("new conversation").unwrap();
    }
    p.type_bytes(b"/exit\r");
    assert_eq!(p.wait().code(), Some(0));
    let sessions = sb.file("sessions");
    let names: Vec<String> =
        std::fs::read_dir(&sessions).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    let archives: Vec<String> =
        names.iter().filter(|n| n.starts_with("s.") && n.ends_with(".jsonl")).cloned().collect();
    assert_eq!(archives.len(), 2, "{names:?}");
    let texts: String = archives.iter().map(|a| std::fs::read_to_string(sessions.join(a)).unwrap()).collect();
    assert!(texts.contains("first question") && texts.contains("second question"), "{texts}");
    let locks: Vec<String> = names.iter().filter(|n| n.ends_with(".lock")).cloned().collect();
    assert!(locks.is_empty(), "lock files pile up: {locks:?}");
}
