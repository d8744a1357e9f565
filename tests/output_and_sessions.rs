//! Where output goes when the other end is not a person: a reader that went away (`| head`), a
//! full disk, a stdin pipe that never ends or holds no text; and conversations that stay valid
//! after refusals and crashes.

mod support;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::fake_server::{Body, FakeServer, Request, Response};
use support::{Sandbox, api_key, run, sse, text_stream};

const TIMEOUT: Duration = Duration::from_secs(20);

/// A pipe whose reader is already gone: every write fails with EPIPE.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    writer.into()
}

fn dev_full() -> Stdio {
    std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap().into()
}

struct Finished {
    code: Option<i32>,
    stderr: String,
}

/// Runs `cmd` to the end with stdin empty and stdout as given (stderr captured, or the same pipe).
fn finish(mut cmd: Command, stdout: Stdio) -> Finished {
    let out = cmd.stdin(Stdio::null()).stdout(stdout).stderr(Stdio::piped()).output().unwrap();
    Finished { code: out.status.code(), stderr: String::from_utf8_lossy(&out.stderr).into_owned() }
}

fn answering_server() -> FakeServer {
    FakeServer::start(|_| sse(&text_stream(&"A long answer. ".repeat(200), "end_turn"), 64))
}

fn data_commands(sb: &Sandbox, url: &str) -> Vec<(String, Command)> {
    let mut commands = Vec::new();
    for args in [
        &["completions", "bash"][..],
        &["auth", "status", "--json", "--no-usage"],
        &["models", "--json"],
        &["--help"],
        &["agent", "-m", "hi", "--session", "cut"],
    ] {
        let mut cmd = sb.process(url);
        cmd.env("ANTHROPIC_API_KEY", api_key('k')).args(args);
        commands.push((args.join(" "), cmd));
    }
    commands
}

#[test]
fn a_reader_that_went_away_ends_every_command_quietly() {
    let sb = Sandbox::new();
    let server = answering_server();
    for (name, cmd) in data_commands(&sb, &server.url) {
        let out = finish(cmd, closed_pipe());
        assert_eq!(out.code, Some(0), "{name}: {}", out.stderr);
        assert_eq!(out.stderr, "", "{name}");
    }
    // The answer stopped where its reader left: the turn is not stored.
    assert!(!sb.file("sessions/cut.jsonl").exists());

    // `| head -c 30`: the reader takes 30 bytes of a slow answer, then goes away.
    let slow = FakeServer::start(|_| {
        let stream = text_stream(&"A long answer. ".repeat(20), "end_turn");
        let split = stream.find("event: content_block_stop").unwrap();
        let more = serde_json::json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": "and more. ".repeat(200)}});
        let rest = format!("event: content_block_delta\ndata: {more}\n\n{}", &stream[split..]);
        Response {
            status: 200,
            headers: vec![("content-type".into(), "text/event-stream".into())],
            body: Body::Chunks {
                pieces: vec![stream.as_bytes()[..split].to_vec(), rest.into_bytes()],
                pause: Duration::from_millis(300),
            },
        }
    });
    let mut child = sb
        .process(&slow.url)
        .env("ANTHROPIC_API_KEY", api_key('k'))
        .args(["agent", "-m", "hi"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 30];
    child.stdout.take().unwrap().read_exact(&mut head).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");

    // `2>&1 | head`: a notice (a retry) hits the closed pipe first, and still nothing panics.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let server = FakeServer::start(move |_| {
        if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            Response::json(529, r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#)
                .with_header("retry-after-ms", "10")
        } else {
            sse(&text_stream("Once upon", "end_turn"), 64)
        }
    });
    let mut cmd = sb.process(&server.url);
    cmd.env("ANTHROPIC_API_KEY", api_key('k')).args(["agent", "-m", "hi"]);
    let status = cmd.stdin(Stdio::null()).stdout(writer.try_clone().unwrap()).stderr(writer).status().unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn a_full_disk_is_one_clean_line() {
    let sb = Sandbox::new();
    let server = answering_server();
    for (name, cmd) in data_commands(&sb, &server.url) {
        let out = finish(cmd, dev_full());
        assert_eq!(out.code, Some(1), "{name}: {}", out.stderr);
        assert_eq!(out.stderr, "pincer: cannot write to stdout: No space left on device (os error 28)\n", "{name}");
    }
    assert!(!sb.file("sessions/cut.jsonl").exists(), "an answer nobody could read was stored");
}

#[test]
fn ctrl_c_while_stdin_never_ends_exits_130_and_sends_nothing() {
    let sb = Sandbox::new();
    let server = answering_server();
    let mut child = sb
        .process(&server.url)
        .env("ANTHROPIC_API_KEY", api_key('k'))
        .arg("agent")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The start of a message, then silence: the pipe stays open.
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"the start of a message that never ends").unwrap();
    let started = Instant::now();
    while pipe_holds_bytes(&stdin) {
        assert!(started.elapsed() < TIMEOUT, "pincer never read stdin");
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            child.kill().unwrap();
            panic!("Ctrl-C did not stop the read");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(server.requests().is_empty(), "a message was sent");
    drop(stdin);
}

/// Whether the child has not yet read what was written to its stdin.
fn pipe_holds_bytes(pipe: &std::process::ChildStdin) -> bool {
    use std::os::fd::AsRawFd;
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD on a pipe writes one int.
    assert_eq!(unsafe { libc::ioctl(pipe.as_raw_fd(), libc::FIONREAD, &mut n) }, 0);
    n > 0
}

#[test]
fn the_message_must_be_text_of_bounded_size_and_not_empty() {
    let sb = Sandbox::new();
    let server = answering_server();
    let agent = |args: &[&str]| {
        let mut cmd = sb.cmd(&server.url);
        cmd.env("ANTHROPIC_API_KEY", api_key('k')).arg("agent").args(args);
        cmd
    };
    let out = run(&mut agent(&["-m", ""]), "");
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("-m was empty"), "{}", out.stderr);

    let out = agent(&[]).write_stdin(b"caf\xe9 au lait\n".to_vec()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not UTF-8 text (byte 4 is not)") && stderr.contains("hint: convert it"), "{stderr}");

    let huge = vec![b'x'; 8 * 1024 * 1024 + 1];
    let out = agent(&[]).write_stdin(huge).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("larger than 8 MiB"), "{stderr}");
    assert!(server.requests().is_empty(), "a bad message was sent");
}

#[test]
fn a_piped_token_that_is_not_utf8_is_a_bad_character() {
    let sb = Sandbox::new();
    let mut cmd = sb.cmd(&support::closed_port_url());
    cmd.args(["auth", "login", "--provider", "anthropic", "--api-key"]);
    let out = cmd.write_stdin(b"sk-ant-api03-\xffrest\n".to_vec()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("character 14 of the token is a byte that is not UTF-8 text"), "{stderr}");
    assert!(stderr.trim_end().lines().last().unwrap().starts_with("hint: "), "{stderr}");
}

fn refusal_fixture() -> String {
    let path = format!("{}/tests/fixtures/anthropic-sdk/refusal_response.txt", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).unwrap() + "\n\n"
}

#[test]
fn a_refused_or_empty_answer_is_not_stored_and_the_session_goes_on() {
    let sb = Sandbox::new();
    let refusal = refusal_fixture();
    let server = FakeServer::start(move |r: &Request| {
        let body = r.json();
        let last = body["messages"].as_array().unwrap().last().unwrap()["content"][0]["text"].clone();
        match last.as_str() {
            Some("refuse") => sse(&refusal, 64),
            Some("say nothing") => sse(&text_stream("", "end_turn"), 64),
            _ => sse(&text_stream("fine", "end_turn"), 64),
        }
    });
    let agent = |message: &str| {
        let mut cmd = sb.cmd(&server.url);
        cmd.env("ANTHROPIC_API_KEY", api_key('k')).args(["agent", "--session", "s", "-m", message]);
        run(&mut cmd, "")
    };
    assert_eq!(agent("hello").code, 0);
    for bad in ["refuse", "say nothing"] {
        let out = agent(bad);
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert!(out.stderr.contains("not kept in the conversation"), "{}", out.stderr);
    }
    let out = agent("go on");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let last = server.requests().pop().unwrap().json();
    let texts: Vec<&str> =
        last["messages"].as_array().unwrap().iter().map(|m| m["content"][0]["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["hello", "fine", "go on"]);
    assert_eq!(sb.read("sessions/s.jsonl").lines().count(), 4);
}

#[test]
fn a_session_poisoned_by_an_earlier_version_is_sent_without_its_empty_answers() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.file("sessions")).unwrap();
    std::fs::write(
        sb.file("sessions/old.jsonl"),
        concat!(
            r#"{"role":"user","content":[{"type":"text","text":"refuse"}]}"#,
            "\n",
            r#"{"role":"assistant","content":[{"type":"text","text":""}]}"#,
            "\n",
            r#"{"role":"user","content":[{"type":"text","text":"q"}]}"#,
            "\n",
            r#"{"role":"assistant","content":[]}"#,
            "\n"
        ),
    )
    .unwrap();
    let server = answering_server();
    let mut cmd = sb.cmd(&server.url);
    cmd.env("ANTHROPIC_API_KEY", api_key('k')).args(["agent", "--session", "old", "-m", "again"]);
    let out = run(&mut cmd, "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let messages = server.requests()[0].json()["messages"].clone();
    assert_eq!(messages.as_array().unwrap().len(), 1, "{messages}");
}

#[test]
fn a_torn_session_is_repaired_once_and_works_on_every_later_run() {
    let sb = Sandbox::new();
    let server = FakeServer::start(|r: &Request| {
        sse(&text_stream(&format!("reply {}", r.json()["messages"].as_array().unwrap().len()), "end_turn"), 64)
    });
    std::fs::create_dir_all(sb.file("sessions")).unwrap();
    let whole = concat!(
        r#"{"role":"user","content":[{"type":"text","text":"q0"}]}"#,
        "\n",
        r#"{"role":"assistant","content":[{"type":"text","text":"a0"}]}"#,
        "\n"
    );
    let torn = r#"{"role":"user","content":[{"type":"text","text":"q1"}]}
{"role":"assistant","content":[{"type":"te"#;
    std::fs::write(sb.file("sessions/k.jsonl"), format!("{whole}{torn}")).unwrap();
    for round in 0..4 {
        let mut cmd = sb.cmd(&server.url);
        cmd.env("ANTHROPIC_API_KEY", api_key('k')).args(["agent", "--session", "k", "-m", &format!("r{round}")]);
        let out = run(&mut cmd, "");
        assert_eq!(out.code, 0, "round {round}: {}", out.stderr);
        assert_eq!(out.stdout, format!("reply {}\n", 3 + 2 * round), "round {round}");
        assert_eq!(out.stderr.contains("cut off by an interrupted write"), round == 0, "round {round}: {}", out.stderr);
    }
    let session = sb.read("sessions/k.jsonl");
    let roles: Vec<String> = session
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["role"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(roles.len(), 10);
    assert!(roles.chunks(2).all(|turn| turn == ["user", "assistant"]), "{roles:?}");
    assert_eq!(sb.read("sessions/k.jsonl.torn"), format!("{torn}\n"), "the torn bytes are kept for a person");
}
