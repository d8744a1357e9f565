//! `pincer agent` as a person uses it: the REPL on a pseudo-terminal, Ctrl-C cancelling an answer
//! in flight (not the REPL), Ctrl-D and /exit, and Ctrl-C ending a one-shot run with exit 130.

mod support;

use std::io::Read;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rexpect::session::{PtySession, spawn_command};
use support::fake_server::{Body, FakeServer, Request, Response};
use support::{Sandbox, api_key, read_until, text_stream};

const TIMEOUT_MS: u64 = 20_000;

/// The answer's first part at once, the rest after `pause`.
fn slow_answer(text: &str, pause: Duration) -> Response {
    let stream = text_stream(text, "end_turn");
    let split = stream.find("event: content_block_stop").unwrap();
    Response {
        status: 200,
        headers: vec![("content-type".into(), "text/event-stream".into())],
        body: Body::Chunks {
            pieces: vec![stream.as_bytes()[..split].to_vec(), stream.as_bytes()[split..].to_vec()],
            pause,
        },
    }
}

fn fast_answer(text: &str) -> Response {
    slow_answer(text, Duration::ZERO)
}

fn repl(sb: &Sandbox, url: &str, args: &[&str]) -> PtySession {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("pincer"));
    cmd.env_clear()
        .env("PINCER_HOME", sb.home())
        .env("HOME", sb.dir.path())
        .env("ANTHROPIC_BASE_URL", url)
        .env("ANTHROPIC_API_KEY", api_key('k'))
        // A real terminal type: with `dumb`, rustyline falls back to plain line reading.
        .env("TERM", "xterm")
        .arg("agent")
        .args(args);
    spawn_command(cmd, Some(TIMEOUT_MS)).unwrap()
}

#[test]
fn repl_chats_switches_model_and_quits() {
    let sb = Sandbox::new();
    let server = FakeServer::start(|r: &Request| {
        fast_answer(&format!("reply to {}", r.json()["messages"].as_array().unwrap().len()))
    });
    let mut p = repl(&sb, &server.url, &["--session", "r"]);
    p.exp_string("pincer chat with claude-sonnet-4-6").unwrap();
    p.exp_string("> ").unwrap();
    p.send_line("first question").unwrap();
    p.exp_string("reply to 1").unwrap();
    p.exp_string("> ").unwrap();
    p.send_line("/model haiku").unwrap();
    p.exp_string("model: claude-haiku-4-5").unwrap();
    p.send_line("second").unwrap();
    p.exp_string("reply to 3").unwrap();
    p.send_line("/bogus").unwrap();
    p.exp_string("unknown command /bogus").unwrap();
    p.send_line("/exit").unwrap();
    p.exp_eof().unwrap();
    let requests: Vec<_> = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].json()["model"], "claude-haiku-4-5");
    assert_eq!(sb.read("sessions/r.jsonl").lines().count(), 4);
    let mode = std::fs::metadata(sb.file("history.txt"))
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777);
    assert_eq!(mode.unwrap(), 0o600, "REPL history is private");
}

#[test]
fn ctrl_c_cancels_the_answer_not_the_repl_and_ctrl_d_quits() {
    let sb = Sandbox::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let server = FakeServer::start(move |_| {
        if counter.fetch_add(1, Ordering::SeqCst) == 0 {
            slow_answer("slow start", Duration::from_secs(8))
        } else {
            fast_answer("quick second")
        }
    });
    let mut p = repl(&sb, &server.url, &[]);
    p.exp_string("> ").unwrap();
    p.send_line("tell me a long story").unwrap();
    p.exp_string("slow start").unwrap();
    p.send_control('c').unwrap();
    p.exp_string("(answer cancelled)").unwrap();
    p.exp_string("> ").unwrap();
    p.send_line("again").unwrap();
    p.exp_string("quick second").unwrap();
    p.exp_string("> ").unwrap();
    // Ctrl-C at the prompt only clears the line.
    p.send_control('c').unwrap();
    p.exp_string("> ").unwrap();
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();
    // The cancelled turn is not part of the conversation: the second request has one message.
    let second = server.requests()[1].json();
    assert_eq!(second["messages"].as_array().unwrap().len(), 1);
}

#[test]
fn ctrl_c_ends_a_one_shot_run_with_130_keeping_the_text() {
    let sb = Sandbox::new();
    let server = FakeServer::start(|_| slow_answer("kept text", Duration::from_secs(8)));
    let mut child = sb
        .process(&server.url)
        .env("ANTHROPIC_API_KEY", api_key('k'))
        .args(["agent", "-m", "hi"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    read_until(&mut child.stdout.take().unwrap(), "kept text");
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(stderr.contains("interrupted"), "{stderr}");
}

#[test]
fn no_credential_on_a_tty_offers_to_log_in() {
    let sb = Sandbox::new();
    let server = FakeServer::start(|r: &Request| {
        if r.path.starts_with("/v1/models") {
            Response::json(200, r#"{"data":[]}"#)
        } else {
            fast_answer("logged in and chatting")
        }
    });
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("pincer"));
    cmd.env_clear()
        .env("PINCER_HOME", sb.home())
        .env("ANTHROPIC_BASE_URL", &server.url)
        .env("TERM", "dumb")
        .arg("agent");
    let mut p = spawn_command(cmd, Some(TIMEOUT_MS)).unwrap();
    p.exp_string("No Anthropic credential found. Log in now?").unwrap();
    p.send_line("1").unwrap();
    p.exp_string("How do you want to log in to Anthropic?").unwrap();
    p.send_line("2").unwrap();
    p.exp_string("Anthropic API key (input hidden): ").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    p.send_line(&api_key('z')).unwrap();
    p.exp_string("(verified)").unwrap();
    p.exp_string("> ").unwrap();
    p.send_line("hello").unwrap();
    p.exp_string("logged in and chatting").unwrap();
    p.send_line("/exit").unwrap();
    p.exp_eof().unwrap();
}
