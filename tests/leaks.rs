//! Every command and fault path at the most verbose log level: no secret appears in any output or
//! in any file but auth.json.

mod support;

use support::fake_server::{FakeServer, Request, Response};
use support::{Sandbox, api_key, closed_port_url, run, setup_token};

fn server(usage_status: u16, key_status: u16) -> FakeServer {
    FakeServer::start(move |r: &Request| {
        if r.path.starts_with("/api/oauth/usage") {
            match usage_status {
                200 => Response::json(200, r#"{"five_hour":{"utilization":10,"resets_at":null}}"#),
                s => Response::json(s, r#"{"type":"error","error":{"type":"x_error","message":"nope"}}"#),
            }
        } else if r.path.starts_with("/v1/models") {
            Response::json(key_status, r#"{"data":[]}"#)
        } else if r.path == "/v1/messages" && r.json()["stream"] == true {
            chat_answer(key_status)
        } else {
            Response::json(200, r#"{"content":[]}"#).with_header("anthropic-ratelimit-unified-5h-utilization", "0.5")
        }
    })
}

/// A streamed answer (cut off when `status` is not 200, to walk the error path too).
fn chat_answer(status: u16) -> Response {
    let full = support::text_stream("hi", "end_turn");
    let body = if status == 200 { &full[..] } else { &full[..full.len() / 2] };
    support::sse(body, body.len()).with_header("anthropic-ratelimit-unified-5h-utilization", "0.5")
}

#[test]
fn no_secret_in_any_output_or_file_at_trace_level() {
    let sb = Sandbox::new();
    let token = setup_token('s');
    let key = api_key('t');
    let env_token = setup_token('u');
    let env_key = api_key('v');
    let secrets = [&token, &key, &env_token, &env_key];
    let ok = server(200, 200);
    let forbidden = server(403, 401);
    let down = closed_port_url();

    let runs: Vec<(Vec<&str>, String, &str, bool)> = vec![
        (vec!["auth", "login", "-p", "anthropic", "--setup-token"], format!("{token}\n"), ok.url.as_str(), false),
        (vec!["auth", "login", "-p", "anthropic"], format!("2\n{key}\n"), ok.url.as_str(), false),
        (vec!["auth", "login", "-p", "anthropic", "--api-key"], format!("{key}\n"), forbidden.url.as_str(), false),
        (vec!["auth", "login", "-p", "anthropic", "--api-key"], format!("{key}\n"), down.as_str(), false),
        (vec!["auth", "login", "-p", "anthropic", "--setup-token"], format!("{key}\n"), down.as_str(), false),
        (vec!["auth", "login", "-p", "anthropic", "--api-key"], format!("{}\n", &key[..70]), down.as_str(), false),
        (vec!["auth", "login", "-p", "anthropic", "--setup-token"], format!("{token}\n"), down.as_str(), false),
        (vec!["auth", "login", "-p", "openai", "--api-key"], format!("{key}\n"), down.as_str(), false),
        (vec!["auth", "status"], String::new(), ok.url.as_str(), true),
        (vec!["auth", "status", "--probe"], String::new(), ok.url.as_str(), true),
        (vec!["auth", "status", "--json", "--probe"], String::new(), forbidden.url.as_str(), true),
        (vec!["auth", "status", "--json"], String::new(), down.as_str(), true),
        (vec!["agent", "-m", "hi", "--session", "s"], String::new(), ok.url.as_str(), false),
        (vec!["agent", "-m", "hi", "--session", "s"], String::new(), ok.url.as_str(), true),
        (vec!["agent", "-m", "cut"], String::new(), forbidden.url.as_str(), false),
        (vec!["agent", "-m", "down"], String::new(), down.as_str(), true),
        (vec!["auth", "logout", "-p", "anthropic"], String::new(), down.as_str(), true),
        (vec!["auth", "logout"], String::new(), down.as_str(), false),
    ];
    let mut saw_trace = false;
    for (args, stdin, url, with_env) in runs {
        let mut cmd = sb.cmd(url);
        cmd.env("PINCER_LOG", "trace").args(&args);
        if with_env {
            cmd.env("CLAUDE_CODE_OAUTH_TOKEN", &env_token).env("ANTHROPIC_API_KEY", &env_key);
        }
        let out = run(&mut cmd, &stdin);
        saw_trace |= out.stderr.contains("DEBUG");
        if args[0] == "agent" && url == ok.url {
            assert_eq!((out.code, out.stdout.as_str()), (0, "hi\n"), "{args:?}: {}", out.stderr);
        }
        for s in secrets {
            assert!(!out.stdout.contains(s.as_str()), "{args:?}: secret on stdout:\n{}", out.stdout);
            assert!(!out.stderr.contains(s.as_str()), "{args:?}: secret on stderr:\n{}", out.stderr);
            // The secret part alone, in case something printed it without its prefix.
            assert!(!out.stderr.contains(&s[13..60]) && !out.stdout.contains(&s[13..60]), "{args:?}");
        }
        for (path, contents) in sb.files_except_auth() {
            for s in secrets {
                assert!(!contents.contains(&s[13..60]), "{args:?}: secret in {}", path.display());
            }
        }
    }
    assert!(saw_trace, "the test must run with logging actually on");
}

/// While pincer holds a secret, it may not dump core (a crash would write memory to disk).
#[test]
fn core_dumps_are_off_while_secrets_are_in_memory() {
    let sb = Sandbox::new();
    let server = FakeServer::start(|_| {
        std::thread::sleep(std::time::Duration::from_secs(2));
        Response::json(500, "{}")
    });
    let mut child = sb
        .process(&server.url)
        .env("ANTHROPIC_API_KEY", api_key('c'))
        .args(["agent", "-m", "hi"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the request is in flight, so start-up is over.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while server.requests().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let core = limits.lines().find(|l| l.starts_with("Max core file size")).unwrap();
    let fields: Vec<&str> = core.split_whitespace().collect();
    assert_eq!(&fields[4..6], ["0", "0"], "{core}");
}
