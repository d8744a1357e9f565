//! Many pincer processes writing at once lose no entry and leave valid, private files.

mod support;

use support::{Sandbox, closed_port_url, mode_of, run, setup_token};

const PROCESSES: usize = 24;

#[test]
fn concurrent_logins_lose_no_entry() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.home()).unwrap();
    // Named providers so each process writes its own entry.
    let config: String =
        (0..PROCESSES).map(|i| format!("[providers.p{i}]\nbase_url = \"http://127.0.0.1:1/v1\"\n\n")).collect();
    std::fs::write(sb.file("config.toml"), &config).unwrap();

    let url = closed_port_url();
    let mut handles = Vec::new();
    for i in 0..PROCESSES {
        let mut cmd = sb.cmd(&url);
        cmd.args(["auth", "login", "--provider", &format!("p{i}"), "--api-key"]);
        handles.push(std::thread::spawn(move || run(&mut cmd, &format!("key-number-{i:03}\n"))));
    }
    // Anthropic logins race on config.toml too: exactly one model must be added.
    for tag in ['a', 'b', 'c', 'd'] {
        let mut cmd = sb.cmd(&url);
        cmd.args(["auth", "login", "--provider", "anthropic", "--setup-token"]);
        handles.push(std::thread::spawn(move || run(&mut cmd, &format!("{}\n", setup_token(tag)))));
    }
    for h in handles {
        let out = h.join().unwrap();
        assert_eq!(out.code, 0, "{}", out.stderr);
    }

    let auth: serde_json::Value = serde_json::from_str(&sb.read("auth.json")).expect("auth.json stays valid JSON");
    let creds = auth["credentials"].as_object().unwrap();
    for i in 0..PROCESSES {
        let entry = &creds[&format!("p{i}")];
        assert_eq!(entry["secret"], format!("key-number-{i:03}"), "p{i} lost or mixed up");
    }
    assert!(creds.contains_key("anthropic"));
    assert_eq!(creds.len(), PROCESSES + 1);
    assert_eq!(mode_of(&sb.file("auth.json")), 0o600);

    let config_after = sb.read("config.toml");
    // Every user line survives, in order (default_model, a root key, goes above the tables).
    let mut after = config_after.lines();
    for line in config.lines().filter(|l| !l.is_empty()) {
        assert!(after.any(|l| l == line), "lost {line:?}:\n{config_after}");
    }
    assert_eq!(config_after.matches("provider = \"anthropic\"").count(), 1, "{config_after}");
    assert_eq!(config_after.matches("default_model").count(), 1, "{config_after}");
    // No temporary files left behind.
    let stray: Vec<_> = std::fs::read_dir(sb.home())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

/// Logins, logouts, usage probes and chats, all at once: no lost update, no deadlock.
#[test]
fn mixed_operations_at_once_lose_nothing() {
    use support::fake_server::{FakeServer, Response};
    const EACH: usize = 8;
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.home()).unwrap();
    let providers: String =
        (0..EACH * 2).map(|i| format!("[providers.q{i}]\nbase_url = \"http://127.0.0.1:1/v1\"\n")).collect();
    std::fs::write(sb.file("config.toml"), &providers).unwrap();
    // q0..q7 exist and will be logged out; q8..q15 will be logged in.
    for i in 0..EACH {
        let out =
            run(sb.cmd(&closed_port_url()).args(["auth", "login", "-p", &format!("q{i}"), "--api-key"]), "old-key\n");
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
    let token = setup_token('z');
    let server = FakeServer::start(|r| {
        if r.path.starts_with("/api/oauth/usage") {
            Response::json(403, r#"{"error":{"type":"permission_error","message":"scope"}}"#)
        } else if r.json()["stream"] == true {
            support::sse(&support::text_stream("ok", "end_turn"), 4096)
                .with_header("anthropic-ratelimit-unified-5h-utilization", "0.1")
        } else {
            Response::json(200, "{}").with_header("anthropic-ratelimit-unified-5h-utilization", "0.2")
        }
    });
    let mut handles = Vec::new();
    for i in 0..EACH {
        let mut logout = sb.cmd(&server.url);
        logout.args(["auth", "logout", "-p", &format!("q{i}")]);
        handles.push(std::thread::spawn(move || run(&mut logout, "")));
        let mut login = sb.cmd(&server.url);
        login.args(["auth", "login", "-p", &format!("q{}", i + EACH), "--api-key"]);
        handles.push(std::thread::spawn(move || run(&mut login, &format!("new-key-{i}\n"))));
        let mut probe = sb.cmd(&server.url);
        probe.env("CLAUDE_CODE_OAUTH_TOKEN", &token).args(["auth", "status", "--probe", "--json"]);
        handles.push(std::thread::spawn(move || run(&mut probe, "")));
        let mut chat = sb.cmd(&server.url);
        chat.env("CLAUDE_CODE_OAUTH_TOKEN", &token).args(["agent", "-m", "hi", "--session", "shared"]);
        handles.push(std::thread::spawn(move || run(&mut chat, "")));
    }
    for h in handles {
        let out = h.join().unwrap();
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
    let auth: serde_json::Value = serde_json::from_str(&sb.read("auth.json")).unwrap();
    let creds = auth["credentials"].as_object().unwrap();
    let mut names: Vec<&String> = creds.keys().collect();
    names.sort();
    let expected: Vec<String> = (EACH..EACH * 2).map(|i| format!("q{i}")).collect();
    let mut expected_refs: Vec<&String> = expected.iter().collect();
    expected_refs.sort();
    assert_eq!(names, expected_refs, "every logout and every login took effect");
    let usage: serde_json::Value = serde_json::from_str(&sb.read("usage.json")).unwrap();
    assert_eq!(usage["version"], 1);
    // One session written by eight chats at once: whole turns, in order.
    let session = sb.read("sessions/shared.jsonl");
    let roles: Vec<String> = session
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["role"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(roles.len(), EACH * 2);
    assert!(roles.chunks(2).all(|t| t == ["user", "assistant"]), "{roles:?}");
}
