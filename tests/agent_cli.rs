//! `pincer agent` through the real binary against a fake Anthropic that streams in small chunks,
//! pauses, fails and cuts off.

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use support::fake_server::{Body, FakeServer, Request, Response};
use support::{Sandbox, api_key, closed_port_url, read_until, run, setup_token, sse, text_stream};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/anthropic-sdk/{name}", env!("CARGO_MANIFEST_DIR"));
    // The recordings end without the blank line that dispatches the last event.
    std::fs::read_to_string(path).unwrap() + "\n\n"
}

/// pincer agent with an API key in the environment.
fn agent(sb: &Sandbox, url: &str) -> assert_cmd::Command {
    let mut cmd = sb.cmd(url);
    cmd.env("ANTHROPIC_API_KEY", api_key('k')).arg("agent");
    cmd
}

fn messages_requests(server: &FakeServer) -> Vec<Request> {
    server.requests().into_iter().filter(|r| r.path == "/v1/messages").collect()
}

#[test]
fn streams_a_recorded_answer_in_tiny_chunks() {
    let sb = Sandbox::new();
    let server = FakeServer::start(|_| sse(&fixture("basic_response.txt"), 7));
    let out = run(agent(&sb, &server.url).args(["-m", "Hi", "--no-tools"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "Hello there!\n");
    let r = &messages_requests(&server)[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.header("x-api-key"), Some(api_key('k').as_str()));
    assert_eq!(r.header("authorization"), None);
    assert_eq!(r.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("user-agent"), Some(concat!("pincer/", env!("CARGO_PKG_VERSION"))));
    let body = r.json();
    assert_eq!(body["stream"], true);
    assert_eq!(body["model"], "claude-sonnet-4-6");
    assert_eq!(body["max_tokens"], 8192);
    assert_eq!(body["messages"], serde_json::json!([{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]));
}

#[test]
fn oauth_headers_only_whatever_the_environment_holds() {
    let sb = Sandbox::new();
    let token = setup_token('o');
    run(sb.cmd(&closed_port_url()).args(["auth", "login", "-p", "anthropic", "--setup-token"]), &format!("{token}\n"));
    let server = FakeServer::start(|_| sse(&text_stream("ok", "end_turn"), 64));
    let out = run(
        sb.cmd(&server.url)
            .env("ANTHROPIC_AUTH_TOKEN", "junk-auth-token")
            .env("OPENAI_API_KEY", "sk-openai-junk")
            .args(["agent", "-m", "Hi", "--model", "claude-sonnet-4.6"]),
        "",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let r = &messages_requests(&server)[0];
    assert_eq!(r.header("authorization"), Some(format!("Bearer {token}").as_str()));
    assert_eq!(r.header_count("authorization"), 1);
    assert_eq!(r.header("anthropic-beta"), Some("oauth-2025-04-20"));
    assert_eq!(r.header("x-api-key"), None, "never both");
    assert_eq!(r.json()["model"], "claude-sonnet-4-6", "dots become hyphens in claude IDs");

    // An API key in the environment wins, and then only x-api-key is sent.
    let out = run(sb.cmd(&server.url).env("ANTHROPIC_API_KEY", api_key('e')).args(["agent", "-m", "Hi"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let r = messages_requests(&server).pop().unwrap();
    assert_eq!(r.header("x-api-key"), Some(api_key('e').as_str()));
    assert_eq!(r.header("authorization"), None);
    assert_eq!(r.header("anthropic-beta"), None);
}

#[test]
fn configured_betas_and_headers_are_sent() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.home()).unwrap();
    std::fs::write(
        sb.file("config.toml"),
        "[providers.anthropic]\nbetas = [\"interleaved-thinking-2025-05-14\"]\n[providers.anthropic.headers]\nx-team = \"blue\"\nx-api-key = \"smuggled\"\n",
    )
    .unwrap();
    let server = FakeServer::start(|_| sse(&text_stream("ok", "end_turn"), 64));
    let out = run(agent(&sb, &server.url).args(["-m", "Hi"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let r = &messages_requests(&server)[0];
    assert_eq!(r.header("anthropic-beta"), Some("interleaved-thinking-2025-05-14"));
    assert_eq!(r.header("x-team"), Some("blue"));
    assert_eq!(r.header_count("x-api-key"), 1);
    assert_eq!(r.header("x-api-key"), Some(api_key('k').as_str()));
}

#[test]
fn text_is_visible_before_the_stream_ends() {
    let sb = Sandbox::new();
    let stream = text_stream("Hello", "end_turn");
    let split = stream.find("event: content_block_stop").unwrap();
    let pieces = vec![stream.as_bytes()[..split].to_vec(), stream.as_bytes()[split..].to_vec()];
    let pause = Duration::from_secs(3);
    let server = FakeServer::start(move |_| Response {
        status: 200,
        headers: vec![("content-type".into(), "text/event-stream".into())],
        body: Body::Chunks { pieces: pieces.clone(), pause },
    });
    let mut child = sb.process(&server.url);
    child
        .env("ANTHROPIC_API_KEY", api_key('k'))
        .args(["agent", "-m", "Hi"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let started = Instant::now();
    let mut child = child.spawn().unwrap();
    read_until(&mut child.stdout.take().unwrap(), "Hello");
    assert!(started.elapsed() < pause, "the text waited for the end of the stream");
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_stream_without_message_stop_is_cut_off_and_keeps_the_text() {
    let sb = Sandbox::new();
    let full = fixture("basic_response.txt");
    let cut = full[..full.find("event: message_stop").unwrap()].to_string();
    let server = FakeServer::start(move |_| sse(&cut, 11));
    let out = run(agent(&sb, &server.url).args(["-m", "Hi"]), "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout, "Hello there!\n", "what was printed stays");
    assert!(out.stderr.contains("cut off"), "{}", out.stderr);
    assert_eq!(messages_requests(&server).len(), 1, "a started stream is never retried");
}

#[test]
fn a_dropped_connection_mid_body_is_cut_off() {
    let sb = Sandbox::new();
    let full = fixture("basic_response.txt");
    let half = full.as_bytes()[..full.len() / 2].to_vec();
    let promised = full.len();
    let server = FakeServer::start(move |_| Response {
        status: 200,
        headers: vec![("content-type".into(), "text/event-stream".into())],
        body: Body::CutAfter { bytes: half.clone(), promised },
    });
    let out = run(agent(&sb, &server.url).args(["-m", "Hi"]), "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("cut off"), "{}", out.stderr);
}

#[test]
fn a_stalled_stream_hits_the_read_timeout() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.home()).unwrap();
    std::fs::write(sb.file("config.toml"), "[network]\nread_timeout = 0.5\n").unwrap();
    let stream = text_stream("Hello", "end_turn");
    let split = stream.find("event: content_block_stop").unwrap();
    let pieces = vec![stream.as_bytes()[..split].to_vec(), stream.as_bytes()[split..].to_vec()];
    let server = FakeServer::start(move |_| Response {
        status: 200,
        headers: vec![("content-type".into(), "text/event-stream".into())],
        body: Body::Chunks { pieces: pieces.clone(), pause: Duration::from_secs(3) },
    });
    let out = run(agent(&sb, &server.url).args(["-m", "Hi"]), "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout, "Hello\n");
    assert!(out.stderr.contains("cut off: no data arrived within the read timeout"), "{}", out.stderr);
}

#[test]
fn an_error_event_mid_stream_is_reported() {
    let sb = Sandbox::new();
    let full = text_stream("Partial", "end_turn");
    let body = format!(
        "{}event: error\ndata: {{\"type\": \"error\", \"error\": {{\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}}}\n\n",
        &full[..full.find("event: content_block_stop").unwrap()]
    );
    let server = FakeServer::start(move |_| sse(&body, 5));
    let out = run(agent(&sb, &server.url).args(["-m", "Hi"]), "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.starts_with("Partial"));
    assert!(out.stderr.contains("overloaded_error: Overloaded"), "{}", out.stderr);
}

#[test]
fn refusal_max_tokens_and_empty_answers_get_notices() {
    let sb = Sandbox::new();
    let server = FakeServer::start(|_| sse(&fixture("refusal_response.txt"), 9));
    let out = run(agent(&sb, &server.url).args(["-m", "Hi"]), "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("declined to answer (stop_reason: refusal)"), "{}", out.stderr);

    let server = FakeServer::start(|_| sse(&text_stream("Once upon", "max_tokens"), 9));
    let out = run(agent(&sb, &server.url).args(["-m", "Hi"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "Once upon\n");
    assert!(out.stderr.contains("max_tokens reached"), "{}", out.stderr);

    let empty = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"content\":[],\"model\":\"m\"}}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    let server = FakeServer::start(move |_| sse(empty, 9));
    let out = run(agent(&sb, &server.url).args(["-m", "Hi"]), "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("empty answer"), "{}", out.stderr);
}

#[test]
fn unknown_events_and_hostile_text_are_handled() {
    let sb = Sandbox::new();
    let server = FakeServer::start(|_| sse(&fixture("unknown_events_response.txt"), 3));
    let out = run(agent(&sb, &server.url).args(["-m", "Hi"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.is_empty());

    let server = FakeServer::start(|_| sse(&text_stream("a\u{1b}]0;pwned\u{7}b\u{1b}[2J", "end_turn"), 4));
    let out = run(agent(&sb, &server.url).args(["-m", "Hi"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "a^[]0;pwned^Gb^[[2J\n");
    assert!(!out.stdout.contains('\u{1b}'));
}

#[test]
fn overloaded_then_ok_is_retried_before_output() {
    let sb = Sandbox::new();
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = calls.clone();
    let server = FakeServer::start(move |_| {
        if counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            Response::json(529, r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#)
                .with_header("retry-after-ms", "20")
        } else {
            sse(&text_stream("second time lucky", "end_turn"), 16)
        }
    });
    let out = run(agent(&sb, &server.url).args(["-m", "Hi"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "second time lucky\n");
    assert!(out.stderr.contains("HTTP 529 overloaded_error: Overloaded; retrying in 0.0s (1/2)"), "{}", out.stderr);
    assert_eq!(messages_requests(&server).len(), 2);
}

#[test]
fn server_errors_give_up_after_two_retries_and_4xx_is_not_retried() {
    let sb = Sandbox::new();
    let server = FakeServer::start(|_| {
        Response::json(500, r#"{"type":"error","error":{"type":"api_error","message":"Internal"}}"#)
            .with_header("retry-after-ms", "10")
    });
    let out = run(agent(&sb, &server.url).args(["-m", "Hi"]), "");
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("Anthropic answered HTTP 500 api_error: Internal (after 2 retries)"), "{}", out.stderr);
    assert_eq!(messages_requests(&server).len(), 3);

    let server = FakeServer::start(|_| {
        Response::json(529, r#"{"error":{"type":"overloaded_error","message":"busy"}}"#)
            .with_header("x-should-retry", "false")
    });
    let out = run(agent(&sb, &server.url).args(["-m", "Hi"]), "");
    assert_eq!(out.code, 1);
    assert_eq!(messages_requests(&server).len(), 1, "x-should-retry: false is obeyed");

    let server = FakeServer::start(|_| {
        Response::json(401, r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#)
    });
    let out = run(agent(&sb, &server.url).args(["-m", "Hi"]), "");
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("Anthropic rejected the credential (HTTP 401 authentication_error: invalid x-api-key)"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("pincer auth login --provider anthropic"));
    assert_eq!(messages_requests(&server).len(), 1);
}

#[test]
fn exhausted_window_is_not_retried_and_says_when_it_resets() {
    let sb = Sandbox::new();
    let server = FakeServer::start(|_| {
        Response::json(429, r#"{"type":"error","error":{"type":"rate_limit_error","message":"Rate limited"}}"#)
            .with_header("retry-after", "1")
            .with_header("anthropic-ratelimit-unified-status", "rejected")
            .with_header("anthropic-ratelimit-unified-representative-claim", "five_hour")
            .with_header("anthropic-ratelimit-unified-reset", "4070908800")
            .with_header("anthropic-ratelimit-unified-5h-utilization", "1.0")
            .with_header("anthropic-ratelimit-unified-5h-status", "rejected")
    });
    let out = run(agent(&sb, &server.url).args(["-m", "Hi"]), "");
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("the 5-hour usage limit is reached; it resets Thu 1 Jan 2099 00:00 (in "),
        "{}",
        out.stderr
    );
    assert_eq!(messages_requests(&server).len(), 1);
    // The figures went to usage.json, so `auth status` can show them.
    assert!(sb.read("usage.json").contains("\"percent\": 100.0"), "{}", sb.read("usage.json"));
}

#[test]
fn oauth_refusals_are_explained() {
    let sb = Sandbox::new();
    run(
        sb.cmd(&closed_port_url()).args(["auth", "login", "-p", "anthropic", "--setup-token"]),
        &format!("{}\n", setup_token('r')),
    );
    let server = FakeServer::start(|_| {
        Response::json(
            400,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"This credential is only authorized for use with Claude Code and cannot be used for other API requests."}}"#,
        )
    });
    let out = run(sb.cmd(&server.url).args(["agent", "-m", "Hi"]), "");
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("only authorized for use with Claude Code"), "{}", out.stderr);
    assert!(out.stderr.contains("Anthropic accepts this subscription token only in its own apps"), "{}", out.stderr);
    assert!(out.stderr.contains("--api-key"));
    assert_eq!(messages_requests(&server).len(), 1);
}

/// pincer with a stored setup token.
fn with_setup_token(tag: char) -> Sandbox {
    let sb = Sandbox::new();
    let out = run(
        sb.cmd(&closed_port_url()).args(["auth", "login", "-p", "anthropic", "--setup-token"]),
        &format!("{}\n", setup_token(tag)),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    sb
}

#[test]
fn subscription_refusals_are_typed_never_retried_and_name_both_ways_out() {
    let sb = with_setup_token('t');
    for (status, message) in [
        (
            400,
            "Third-party apps now draw from extra usage, not plan limits. Add extra usage at claude.ai/settings/usage to continue.",
        ),
        (429, "You're out of extra usage. Add more at claude.ai/settings/usage and keep going."),
    ] {
        let body = serde_json::json!({"type": "error", "error": {"type": "invalid_request_error", "message": message}})
            .to_string();
        let server = FakeServer::start(move |_| Response::json(status, &body).with_header("retry-after-ms", "10"));
        let out = run(sb.cmd(&server.url).args(["agent", "-m", "Hi"]), "");
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert!(
            out.stderr.contains(&format!("Anthropic refused the subscription token (HTTP {status}")),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains(&message[..30]), "the server's words are shown: {}", out.stderr);
        let hint = out.stderr.lines().last().unwrap();
        assert!(hint.contains("`pincer auth login --provider anthropic --api-key`"), "{}", out.stderr);
        assert!(
            hint.contains("`claude-code` provider") && hint.contains("--model claude-code/sonnet"),
            "{}",
            out.stderr
        );
        assert_eq!(messages_requests(&server).len(), 1, "a refusal is never retried");
    }
}

#[test]
fn an_ordinary_400_or_429_with_a_setup_token_is_reported_as_itself() {
    let sb = with_setup_token('u');
    let server = FakeServer::start(|_| {
        Response::json(
            400,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: 100000 > 64000, which is the maximum allowed number of output tokens"}}"#,
        )
    });
    let out = run(sb.cmd(&server.url).args(["agent", "-m", "Hi"]), "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("Anthropic answered HTTP 400 invalid_request_error: max_tokens: 100000 > 64000"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("subscription") && !out.stderr.contains("--api-key"), "{}", out.stderr);

    let server = FakeServer::start(|_| {
        Response::json(429, r#"{"type":"error","error":{"type":"rate_limit_error","message":"Number of requests has exceeded your rate limit"}}"#)
            .with_header("retry-after-ms", "10")
    });
    let out = run(sb.cmd(&server.url).args(["agent", "-m", "Hi"]), "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("Anthropic answered HTTP 429 rate_limit_error: Number of requests has exceeded your rate limit (after 2 retries)"), "{}", out.stderr);
    assert!(!out.stderr.contains("subscription") && !out.stderr.contains("--api-key"), "{}", out.stderr);
}

#[test]
fn unreachable_server_and_missing_credential_are_explained() {
    let sb = Sandbox::new();
    let out = run(agent(&sb, &closed_port_url()).args(["-m", "Hi"]), "");
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("cannot reach Anthropic at http://127.0.0.1:"), "{}", out.stderr);
    assert!(out.stderr.contains("connection refused (after 2 retries)"), "{}", out.stderr);

    let out = run(sb.cmd(&closed_port_url()).args(["agent", "-m", "Hi"]), "");
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("no Anthropic credential"), "{}", out.stderr);
    assert!(out.stderr.contains("pincer auth login --provider anthropic"));

    let html = FakeServer::start(|_| Response {
        status: 200,
        headers: vec![("content-type".into(), "text/html".into())],
        body: Body::Full(b"<html>login page</html>".to_vec()),
    });
    let out = run(agent(&sb, &html.url).args(["-m", "Hi"]), "");
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("expected an event stream but got `text/html`"), "{}", out.stderr);
}

#[test]
fn stdin_is_the_message_and_usage_headers_are_saved() {
    let sb = Sandbox::new();
    let server = FakeServer::start(|_| {
        sse(&text_stream("ok", "end_turn"), 64)
            .with_header("anthropic-ratelimit-unified-status", "allowed")
            .with_header("anthropic-ratelimit-unified-5h-utilization", "0.25")
            .with_header("anthropic-ratelimit-unified-5h-reset", "4070908800")
    });
    let out = run(agent(&sb, &server.url).args(["--system", "Be brief", "--no-tools"]), "What is SSE?\n");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let body = messages_requests(&server)[0].json();
    assert_eq!(body["messages"][0]["content"][0]["text"], "What is SSE?\n");
    assert_eq!(body["system"], "Be brief");
    let usage: serde_json::Value = serde_json::from_str(&sb.read("usage.json")).unwrap();
    let entry = usage["credentials"].as_object().unwrap().values().next().unwrap();
    assert_eq!(entry["headers"]["windows"][0]["percent"], 25.0);

    let out = run(&mut agent(&sb, &server.url), "   \n");
    assert_eq!(out.code, 2, "{}", out.stderr);
}

#[test]
fn sessions_send_history_back_with_thinking_signatures() {
    let sb = Sandbox::new();
    let thinking = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"m\",\"stop_reason\":null,\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n\
        event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\n\n\
        event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"27*453...\"}}\n\n\
        event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"EqQBsig==\"}}\n\n\
        event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n\
        event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n\
        event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"12,231\"}}\n\n\
        event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n\
        event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"}}\n\n\
        event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    let server = FakeServer::start(move |_| sse(thinking, 13));
    let out = run(agent(&sb, &server.url).args(["-m", "What is 27 * 453?", "--session", "math"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "12,231\n", "thinking never goes to stdout");
    let out = run(agent(&sb, &server.url).args(["-m", "And doubled?", "--session", "math"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let second = messages_requests(&server)[1].json();
    let messages = second["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3);
    assert_eq!(messages[0]["content"][0]["text"], "What is 27 * 453?");
    assert_eq!(messages[1]["role"], "assistant");
    assert_eq!(
        messages[1]["content"][0],
        serde_json::json!({"type": "thinking", "thinking": "27*453...", "signature": "EqQBsig=="})
    );
    assert_eq!(messages[1]["content"][1]["text"], "12,231");
    assert_eq!(messages[2]["content"][0]["text"], "And doubled?");
    let lines = sb.read("sessions/math.jsonl");
    assert_eq!(lines.lines().count(), 4);

    // A failed turn appends nothing.
    let down = closed_port_url();
    let out = run(agent(&sb, &down).args(["-m", "lost", "--session", "math"]), "");
    assert_eq!(out.code, 1);
    assert_eq!(sb.read("sessions/math.jsonl").lines().count(), 4);
    let out = run(agent(&sb, &down).args(["-m", "x", "--session", "../escape"]), "");
    assert_eq!(out.code, 2, "{}", out.stderr);
}

#[test]
fn tool_use_answers_are_kept_whole() {
    let sb = Sandbox::new();
    let server = FakeServer::start(|_| sse(&fixture("tool_use_response.txt"), 6));
    let out = run(agent(&sb, &server.url).args(["-m", "Weather?", "--session", "tools", "--no-tools"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let session = sb.read("sessions/tools.jsonl");
    let assistant: serde_json::Value = serde_json::from_str(session.lines().nth(1).unwrap()).unwrap();
    assert_eq!(assistant["content"][1]["type"], "tool_use");
    assert_eq!(assistant["content"][1]["input"], serde_json::json!({"location": "Paris"}));
}

#[test]
fn an_environment_credential_is_checked_before_it_is_sent_and_named() {
    let sb = Sandbox::new();
    let server = FakeServer::start(|_| sse(&text_stream("ok", "end_turn"), 64));
    let cut = api_key('c')[..60].to_string();
    let out = run(sb.cmd(&server.url).env("ANTHROPIC_API_KEY", &cut).args(["agent", "-m", "Hi"]), "");
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("ANTHROPIC_API_KEY does not hold a usable credential: the token is 60 characters long"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("`unset ANTHROPIC_API_KEY`") && out.stderr.contains("logging in again cannot help"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(&cut[13..]), "the token is never shown");
    let quoted = format!("\"{}\"", setup_token('q'));
    let out = run(sb.cmd(&server.url).env("CLAUDE_CODE_OAUTH_TOKEN", &quoted).args(["agent", "-m", "Hi"]), "");
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("CLAUDE_CODE_OAUTH_TOKEN does not hold a usable credential: the token is wrapped in quotes"),
        "{}",
        out.stderr
    );
    assert!(server.requests().is_empty(), "nothing may be sent: {:?}", server.paths());
}

#[test]
fn a_secret_that_is_not_a_header_value_is_never_replaced_by_a_placeholder() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.home()).unwrap();
    // A hand-edited auth.json: the rules at login never saw this value.
    let auth = serde_json::json!({"version": 1, "credentials": {"anthropic": {
        "provider": "anthropic", "method": "api_key", "secret": "sk-ant-api03-\u{1}broken", "saved_at": "2026-01-01T00:00:00Z"}}});
    std::fs::write(sb.file("auth.json"), auth.to_string()).unwrap();
    let server = FakeServer::start(|_| sse(&text_stream("ok", "end_turn"), 64));
    let out = run(sb.cmd(&server.url).args(["agent", "-m", "Hi"]), "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("cannot be sent in an HTTP header, so nothing was sent"), "{}", out.stderr);
    assert!(
        server.requests().is_empty(),
        "sent: {:?}",
        server.requests().iter().map(|r| r.header("x-api-key")).collect::<Vec<_>>()
    );
}
