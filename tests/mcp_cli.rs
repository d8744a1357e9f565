//! `pincer mcp …` against misbehaving servers (tests/mcp/fake_server.py): every failure is a
//! clear state within the startup or tool timeout, never a hang, and no server outlives pincer.

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use support::{Sandbox, run};

/// assert_cmd's own limit: a hang fails the test instead of stalling the run.
const HANG_GUARD: Duration = Duration::from_secs(30);

fn fake_server() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/fake_server.py")
}

/// A sandbox whose config.toml has `[mcp.NAME]` running the fake server in `mode`, with
/// `tool_timeout` in seconds.
fn sandbox(entries: &[(&str, &str, u32)]) -> Sandbox {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.home()).unwrap();
    let mut text = String::from("# my servers\n");
    for (name, mode, tool_timeout) in entries {
        text.push_str(&format!(
            "[mcp.{name}]\ncommand = \"python3\"\nargs = [{:?}, {mode:?}]\nstartup_timeout = 2\ntool_timeout = {tool_timeout}\n",
            fake_server().display().to_string()
        ));
    }
    std::fs::write(sb.file("config.toml"), text).unwrap();
    sb
}

fn pincer(sb: &Sandbox, args: &[&str]) -> support::Output {
    let mut cmd = sb.cmd("http://127.0.0.1:9");
    cmd.args(args).timeout(HANG_GUARD);
    run(&mut cmd, "")
}

fn list_json(sb: &Sandbox) -> serde_json::Value {
    let out = pincer(sb, &["mcp", "list", "--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap()
}

#[test]
fn add_list_remove_edit_config_and_keep_comments() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.home()).unwrap();
    std::fs::write(sb.file("config.toml"), "# keep me\ndefault_model = \"x\" # and me\n").unwrap();
    let out = pincer(&sb, &["mcp", "add", "echo", "--env", "A=1", "--", "python3", fake_server().to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = pincer(&sb, &["mcp", "add", "web", "--url", "http://127.0.0.1:9/mcp", "--header", "x-team: blue"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = sb.read("config.toml");
    assert!(text.starts_with("# keep me\ndefault_model = \"x\" # and me\n"), "{text}");
    assert!(
        text.contains("[mcp.echo]")
            && text.contains("env = { A = \"1\" }")
            && text.contains("headers = { x-team = \"blue\" }"),
        "{text}"
    );

    let again = pincer(&sb, &["mcp", "add", "echo", "--", "true"]);
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("already configured") && again.stderr.contains("hint:"), "{}", again.stderr);
    let secret = pincer(&sb, &["mcp", "add", "s", "--url", "http://x/mcp", "--header", "Authorization: Bearer t"]);
    assert_eq!(secret.code, 2, "{}", secret.stderr);
    assert!(!sb.read("config.toml").contains("Bearer"));
    let bad = pincer(&sb, &["mcp", "add", "a__b", "--", "true"]);
    assert_eq!(bad.code, 2);

    let list = list_json(&sb);
    assert_eq!(list["version"], 1);
    let echo = &list["servers"][0];
    assert_eq!(
        (echo["name"].as_str(), echo["transport"].as_str(), echo["state"].as_str()),
        (Some("echo"), Some("stdio"), Some("ok"))
    );
    assert_eq!(echo["protocol_version"], "2025-11-25");
    assert_eq!(echo["tools"], 3);
    let web = &list["servers"][1];
    assert_eq!((web["transport"].as_str(), web["state"].as_str()), (Some("http"), Some("failed")));
    assert!(web["reason"].as_str().unwrap().contains("cannot reach the server"), "{web}");

    assert_eq!(pincer(&sb, &["mcp", "remove", "web"]).code, 0);
    let gone = pincer(&sb, &["mcp", "remove", "web"]);
    assert_eq!(gone.code, 1);
    assert!(gone.stderr.contains("configured: echo"), "{}", gone.stderr);
    assert!(sb.read("config.toml").starts_with("# keep me\n"));
}

#[test]
fn call_prints_the_text_and_checks_its_arguments() {
    let sb = sandbox(&[("f", "ok", 5)]);
    let out = pincer(&sb, &["mcp", "call", "f", "echo", "--args", r#"{"message": "hi \u001b[2J"}"#]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "echo: hi ^[[2J\n", "tool output is sanitised");
    for args in ["[1]", "\"x\"", "{nope"] {
        let out = pincer(&sb, &["mcp", "call", "f", "echo", "--args", args]);
        assert_eq!(out.code, 2, "{args}: {}", out.stderr);
        assert!(out.stderr.contains("--args"), "{}", out.stderr);
    }
    let unknown = pincer(&sb, &["mcp", "call", "f", "nope"]);
    assert_eq!(unknown.code, 1);
    assert!(
        unknown.stderr.contains("no tool \"nope\"") && unknown.stderr.contains("echo, slow, wait"),
        "{}",
        unknown.stderr
    );
    let tools = pincer(&sb, &["mcp", "tools", "f", "--json"]);
    let tools: serde_json::Value = serde_json::from_str(&tools.stdout).unwrap();
    assert_eq!(tools["tools"][0]["agent_name"], "mcp__f__echo");
    assert_eq!(pincer(&sb, &["mcp", "tools", "nobody"]).code, 1);
}

#[test]
fn broken_servers_fail_clearly_and_quickly() {
    let sb = sandbox(&[("hangs", "hang", 5), ("exits", "exit", 5), ("noise", "garbage", 5)]);
    let began = Instant::now();
    let list = list_json(&sb);
    // Started in parallel: about one startup_timeout (2 s) in all, not three.
    assert!(began.elapsed() < Duration::from_secs(6), "{:?}", began.elapsed());
    let reason = |i: usize| list["servers"][i]["reason"].as_str().unwrap_or_default().to_string();
    assert!(list["servers"].as_array().unwrap().iter().all(|s| s["state"] == "failed"), "{list}");
    assert!(reason(0).contains("no answer within 2 s"), "{}", reason(0));
    assert!(
        reason(1).contains("exited (exit status: 3)") && reason(1).contains("cannot start, no config"),
        "{}",
        reason(1)
    );
    assert!(reason(2).contains("not JSON-RPC"), "{}", reason(2));
    let human = pincer(&sb, &["mcp", "list"]);
    assert!(human.stdout.contains("hangs") && human.stdout.contains("failed"), "{}", human.stdout);
}

#[test]
fn oversized_answers_and_deaths_mid_call_end_the_call() {
    let sb = sandbox(&[("big", "huge", 5), ("dies", "die", 5)]);
    let big = pincer(&sb, &["mcp", "call", "big", "echo"]);
    assert_eq!(big.code, 1);
    assert!(big.stderr.contains("larger than 16 MiB"), "{}", big.stderr);
    let dies = pincer(&sb, &["mcp", "call", "dies", "echo"]);
    assert_eq!(dies.code, 1);
    assert!(dies.stderr.contains("exited (exit status: 4)"), "{}", dies.stderr);
    let slow = sandbox(&[("w", "ok", 1)]);
    let out = pincer(&slow, &["mcp", "call", "w", "wait"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("no answer within 1 s"), "{}", out.stderr);
}

#[test]
fn server_questions_are_answered_even_without_a_terminal() {
    let sb = sandbox(&[("e", "elicit", 5), ("c", "chatty", 5)]);
    let declined = pincer(&sb, &["mcp", "call", "e", "echo"]);
    assert_eq!(declined.code, 0, "{}", declined.stderr);
    assert_eq!(declined.stdout, "client said: {\"action\": \"decline\"}\n");
    let accepted = pincer(&sb, &["mcp", "call", "e", "echo", "--accept-defaults"]);
    assert_eq!(accepted.stdout, "client said: {\"action\": \"accept\", \"content\": {\"name\": \"Ada\"}}\n");
    // A ping during the call, a log line and a stale response during the listing.
    let chatty = pincer(&sb, &["mcp", "call", "c", "echo"]);
    assert_eq!(chatty.code, 0, "{}", chatty.stderr);
    assert_eq!(chatty.stdout, "client said: {}\n");
}

fn alive(pid: i32) -> bool {
    // Signal 0 probes; a zombie is reaped by its parent soon, so read its state too.
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    !status.is_empty() && !status.contains("State:\tZ")
}

fn wait_gone(pids: &[i32]) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if pids.iter().all(|p| !alive(*p)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn read_pids(file: &std::path::Path) -> Vec<i32> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(text) = std::fs::read_to_string(file)
            && text.ends_with('\n')
        {
            return text.split_whitespace().map(|p| p.parse().unwrap()).collect();
        }
        assert!(Instant::now() < deadline, "the server never wrote its pids");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn no_server_process_outlives_pincer() {
    let sb = sandbox(&[("fam", "family", 5)]);
    let pids_file = sb.dir.path().join("pids");
    // A normal exit.
    let mut cmd = sb.cmd("http://127.0.0.1:9");
    cmd.env("PIDS_FILE", &pids_file).args(["mcp", "call", "fam", "echo"]).timeout(HANG_GUARD);
    assert_eq!(run(&mut cmd, "").code, 0);
    let pids = read_pids(&pids_file);
    assert_eq!(pids.len(), 2);
    assert!(wait_gone(&pids), "left running: {pids:?}");

    // Ctrl-C during a call that never ends: exit 130, the server and its child gone.
    std::fs::remove_file(&pids_file).unwrap();
    let mut child = sb
        .process("http://127.0.0.1:9")
        .env("PIDS_FILE", &pids_file)
        .args(["mcp", "call", "fam", "wait"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pids = read_pids(&pids_file);
    std::thread::sleep(Duration::from_millis(300));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(wait_gone(&pids), "left running after Ctrl-C: {pids:?}");

    // pincer killed outright: the server dies with it (PR_SET_PDEATHSIG).
    std::fs::remove_file(&pids_file).unwrap();
    let mut child = sb
        .process("http://127.0.0.1:9")
        .env("PIDS_FILE", &pids_file)
        .args(["mcp", "call", "fam", "wait"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pids = read_pids(&pids_file);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(wait_gone(&pids[..1]), "the server outlived a killed pincer: {pids:?}");
    // Its own child is not in pincer's reach once pincer is gone; end it here.
    unsafe { libc::kill(pids[1], libc::SIGKILL) };
}

#[test]
fn http_refusals_carry_www_authenticate_and_modern_headers_are_sent() {
    use support::fake_server::{FakeServer, Response};
    const CHALLENGE: &str =
        r#"Bearer resource_metadata="http://127.0.0.1/.well-known/oauth-protected-resource", scope="tools""#;
    let server = FakeServer::start(|_| Response::json(401, "{}").with_header("www-authenticate", CHALLENGE));
    let sb = Sandbox::new();
    assert_eq!(pincer(&sb, &["mcp", "add", "locked", "--url", &format!("{}/mcp", server.url)]).code, 0);
    let out = pincer(&sb, &["mcp", "call", "locked", "anything"]);
    assert_eq!(out.code, 1);
    // The refusal reaches the sign-in layer, which names the command that signs in.
    assert!(out.stderr.contains("HTTP 401") && out.stderr.contains("pincer auth login --mcp locked"), "{}", out.stderr);
    // The 401 is not mistaken for a legacy server: nothing but the probe was sent.
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{:?}", requests.iter().map(|r| r.json()).collect::<Vec<_>>());
    let probe = &requests[0];
    assert_eq!(probe.json()["method"], "server/discover");
    assert_eq!(probe.header("mcp-method"), Some("server/discover"));
    assert_eq!(probe.header("mcp-protocol-version"), Some("2026-07-28"));
    assert_eq!(probe.json()["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"], "2026-07-28");
    assert!(probe.header("accept").unwrap().contains("text/event-stream"));
    assert!(probe.header("user-agent").unwrap().starts_with("pincer/"));
}

/// A stdio server inherits pincer's environment without its credentials, and cannot find them
/// in pincer's own start-up block either (`/proc/<pid>/environ` shows the environment a process
/// was started with, whatever it removed since). Root reads it despite `PR_SET_DUMPABLE`, so
/// this checks the bytes were overwritten.
#[test]
fn servers_inherit_no_credentials_not_even_from_pincers_start_up_block() {
    const SECRETS: [(&str, &str); 3] = [
        ("ANTHROPIC_API_KEY", "sk-ant-api03-inherit-me-not"),
        ("PINCER_TEST_SECRET", "pincer-secret-inherit-me-not"),
        ("SOMEONES_AUTH_TOKEN", "auth-token-inherit-me-not"),
    ];
    let sb = sandbox(&[("env", "env", 5)]);
    let env_file = sb.dir.path().join("env.json");
    let mut cmd = sb.cmd("http://127.0.0.1:9");
    cmd.env("ENV_FILE", &env_file).env("KEEP_ME", "visible").args(["mcp", "call", "env", "echo"]).timeout(HANG_GUARD);
    for (name, value) in SECRETS {
        cmd.env(name, value);
    }
    let out = run(&mut cmd, "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let seen: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&env_file).unwrap()).unwrap();
    let names: Vec<&str> = seen["names"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    assert!(names.contains(&"KEEP_ME"), "{names:?}");
    let parent = seen["parent_environ"].as_str().unwrap();
    // The parent is pincer: its block holds the variables it was started with.
    assert!(parent.starts_with("unreadable") || parent.contains("KEEP_ME=visible"), "{parent}");
    for (name, value) in SECRETS {
        assert!(!names.contains(&name), "{name} was inherited");
        assert!(!parent.contains(value), "{name} is still readable in pincer's /proc/<pid>/environ");
    }
}
