//! A hostile or broken server: gigantic lines, endless streams, invalid UTF-8, deeply nested
//! JSON, redirects to another host. Every case ends with a clear error and bounded memory.

mod support;

use std::process::Stdio;
use std::time::Duration;

use support::fake_server::{Body, FakeServer, Response};
use support::{Sandbox, api_key, run};

const MIB: usize = 1024 * 1024;

fn stream_response(pieces: Vec<Vec<u8>>) -> Response {
    Response {
        status: 200,
        headers: vec![("content-type".into(), "text/event-stream".into())],
        body: Body::Chunks { pieces, pause: Duration::ZERO },
    }
}

fn start_events() -> String {
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"content\":[],\"model\":\"m\"}}\n\n\
     event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
        .to_string()
}

fn end_events() -> &'static str {
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n\
     event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"}}\n\n\
     event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
}

/// Runs `pincer agent -m hi` and returns (exit code, stdout, stderr, peak RSS in KiB).
fn agent_with_rusage(sb: &Sandbox, url: &str) -> (i32, String, String, i64) {
    let child = sb
        .process(url)
        .env("ANTHROPIC_API_KEY", api_key('h'))
        .args(["agent", "-m", "hi"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let output = std::thread::spawn(move || {
        use std::io::Read;
        let (mut out, mut err) = (String::new(), String::new());
        let mut child = child;
        child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        std::mem::forget(child); // reaped by wait4 below
        (out, err)
    });
    let mut status = 0;
    // SAFETY: waiting for our own child; `rusage` is plain data filled by the kernel.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid);
    let (out, err) = output.join().unwrap();
    (libc::WEXITSTATUS(status), out, err, usage.ru_maxrss)
}

#[test]
fn a_gigantic_line_is_refused_with_bounded_memory() {
    let sb = Sandbox::new();
    // 64 MiB without a line end: twice the parser's line limit.
    let piece = vec![b'a'; MIB];
    let server = FakeServer::start(move |_| {
        let mut pieces = vec![start_events().into_bytes(), b"data: ".to_vec()];
        pieces.extend(std::iter::repeat_n(piece.clone(), 64));
        stream_response(pieces)
    });
    let (code, _, err, rss_kib) = agent_with_rusage(&sb, &server.url);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("has a line longer than 33554432 bytes"), "{err}");
    eprintln!("peak RSS with a 64 MiB line: {rss_kib} KiB");
    assert!(rss_kib < 48 * 1024, "peak RSS {rss_kib} KiB: the line was buffered whole");
}

#[test]
fn an_endless_stream_is_cut_at_the_size_limit() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.home()).unwrap();
    std::fs::write(sb.file("config.toml"), "[network]\nmax_response_mb = 1\n").unwrap();
    let delta = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"more \"}}\n\n";
    let server = FakeServer::start(move |_| {
        let mut pieces = vec![start_events().into_bytes()];
        // 4 MiB of a stream that never ends on its own.
        pieces.extend(std::iter::repeat_n(delta.repeat(MIB / delta.len()).into_bytes(), 4));
        stream_response(pieces)
    });
    let out = run(sb.cmd(&server.url).env("ANTHROPIC_API_KEY", api_key('h')).args(["agent", "-m", "hi"]), "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("the response passed 1 MiB and was abandoned"), "{}", out.stderr);
    assert!(out.stdout.starts_with("more more"), "what arrived was shown");
}

#[test]
fn invalid_utf8_becomes_replacement_characters() {
    let sb = Sandbox::new();
    let server = FakeServer::start(|_| {
        let mut body = start_events().into_bytes();
        body.extend_from_slice(b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"ok \xff\xfe bytes\"}}\n\n");
        body.extend_from_slice(end_events().as_bytes());
        stream_response(vec![body])
    });
    let out = run(sb.cmd(&server.url).env("ANTHROPIC_API_KEY", api_key('h')).args(["agent", "-m", "hi"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("ok \u{FFFD}\u{FFFD} bytes"), "{:?}", out.stdout);
}

#[test]
fn json_nested_ten_thousand_deep_is_an_error_not_a_crash() {
    let sb = Sandbox::new();
    let server = FakeServer::start(|_| {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let body = format!(
            "{}event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":{deep}}}}}\n\n{}",
            start_events(),
            end_events()
        );
        stream_response(vec![body.into_bytes()])
    });
    let out = run(sb.cmd(&server.url).env("ANTHROPIC_API_KEY", api_key('h')).args(["agent", "-m", "hi"]), "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("malformed"), "{}", out.stderr);
}

#[test]
fn a_redirect_to_another_host_is_never_followed() {
    let sb = Sandbox::new();
    let elsewhere = FakeServer::start(|_| Response::json(200, "{}"));
    let target = format!("{}/v1/messages", elsewhere.url);
    let server = FakeServer::start(move |_| Response::json(307, "{}").with_header("location", &target));
    let out = run(sb.cmd(&server.url).env("ANTHROPIC_API_KEY", api_key('h')).args(["agent", "-m", "hi"]), "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("a redirect to http://127.0.0.1:"), "{}", out.stderr);
    assert!(out.stderr.contains("does not follow redirects"), "{}", out.stderr);
    assert!(elsewhere.requests().is_empty(), "the credential went to another host");

    // The usage endpoint and key verification do not follow redirects either.
    let token = support::setup_token('r');
    let out = run(sb.cmd(&server.url).env("CLAUDE_CODE_OAUTH_TOKEN", &token).args(["auth", "status", "--json"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = run(
        sb.cmd(&server.url).args(["auth", "login", "-p", "anthropic", "--api-key"]),
        &format!("{}\n", api_key('v')),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("could not verify the API key (HTTP 307"), "{}", out.stderr);
    assert!(elsewhere.requests().is_empty(), "the credential went to another host");
}

#[test]
fn a_slowloris_server_is_cut_at_the_time_limit() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.home()).unwrap();
    // Each byte comes well inside the idle timeout; only the whole-answer limit can stop it.
    std::fs::write(sb.file("config.toml"), "[network]\nread_timeout = 5\nmax_response_time = 1\n").unwrap();
    let server = FakeServer::start(|_| {
        let mut pieces = vec![start_events().into_bytes()];
        pieces.extend(std::iter::repeat_n(b": x\n".to_vec(), 200));
        Response {
            status: 200,
            headers: vec![("content-type".into(), "text/event-stream".into())],
            body: Body::Chunks { pieces, pause: Duration::from_millis(100) },
        }
    });
    let started = std::time::Instant::now();
    let out = run(sb.cmd(&server.url).env("ANTHROPIC_API_KEY", api_key('h')).args(["agent", "-m", "hi"]), "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("the answer took longer than 1 s and was abandoned"), "{}", out.stderr);
    assert!(started.elapsed() < Duration::from_secs(15), "the limit did not stop the trickle");
}
