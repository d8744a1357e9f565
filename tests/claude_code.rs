//! The `claude-code` provider against the real Claude Code (from npm, installed once and cached
//! by `scripts/claude-code`), pointed at a fake Anthropic server on loopback.
//!
//! Claude Code gets its own credential the way a person gives it one: an `apiKeyHelper` in its
//! own settings (`~/.claude/settings.json` of the temporary HOME). pincer holds credentials of
//! its own at the same time — a setup token in auth.json, keys in its environment — and the tests
//! check that none of them reaches Claude Code: not its requests, not its tools' environment.

mod support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::fake_server::{Body, FakeServer, Request, Response};
use support::{Output, Sandbox, api_key, read_until, run, setup_token, sse, text_stream};

const HANG_GUARD: Duration = Duration::from_secs(120);
/// Claude Code's own key, from its own settings.
fn claude_code_key() -> String {
    api_key('c')
}
/// pincer's credentials, which must stay pincer's.
fn pincer_env_key() -> String {
    api_key('p')
}
fn pincer_env_token() -> String {
    setup_token('e')
}
fn pincer_stored_token() -> String {
    setup_token('s')
}
const PINCER_OTHER_SECRET: &str = "pincer-private-value-7f3a";
const TRIGGER: &str = "please use a tool";

/// The cached `claude` (installing it the first time).
fn claude_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let root = env!("CARGO_MANIFEST_DIR");
        let out = Command::new(format!("{root}/scripts/claude-code")).arg("install").output().unwrap();
        assert!(out.status.success(), "scripts/claude-code install failed:\n{}", String::from_utf8_lossy(&out.stderr));
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
}

/// A sandbox where `claude` is on PATH, logged in with its own key, and pincer has its own
/// credentials: a stored setup token (and, per command, keys in its environment).
struct World {
    sb: Sandbox,
    bin: PathBuf,
    work: PathBuf,
}

impl World {
    fn new() -> World {
        let sb = Sandbox::new();
        let bin = sb.dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(claude_binary(), bin.join("claude")).unwrap();
        let settings = sb.dir.path().join(".claude");
        std::fs::create_dir_all(&settings).unwrap();
        std::fs::write(
            settings.join("settings.json"),
            json!({"apiKeyHelper": format!("echo {}", claude_code_key())}).to_string(),
        )
        .unwrap();
        let work = sb.dir.path().join("work");
        std::fs::create_dir_all(&work).unwrap();
        let world = World { sb, bin, work: work.canonicalize().unwrap() };
        let out = run(
            world.sb.cmd(&support::closed_port_url()).args(["auth", "login", "-p", "anthropic", "--setup-token"]),
            &format!("{}\n", pincer_stored_token()),
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        world
    }

    fn config(&self, text: &str) {
        std::fs::write(self.sb.file("config.toml"), text).unwrap();
    }

    fn path(&self) -> String {
        format!("{}:/usr/bin:/bin", self.bin.display())
    }

    /// pincer, with its own credentials in its environment.
    fn pincer(&self, url: &str) -> assert_cmd::Command {
        let mut cmd = self.sb.cmd(url);
        cmd.env("PATH", self.path())
            .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
            .env("ANTHROPIC_API_KEY", pincer_env_key())
            .env("CLAUDE_CODE_OAUTH_TOKEN", pincer_env_token())
            .env("OPENAI_API_KEY", "sk-openai-of-pincer")
            .env("PINCER_OTHER_SECRET", PINCER_OTHER_SECRET)
            .current_dir(&self.work)
            .timeout(HANG_GUARD);
        cmd
    }

    fn agent(&self, url: &str, args: &[&str]) -> Output {
        let mut cmd = self.pincer(url);
        cmd.args(["agent", "--model", "claude-code/sonnet"]).args(args);
        run(&mut cmd, "")
    }
}

/// The last thing the person wrote in a Messages request (Claude Code adds reminders before it).
fn last_user_text(body: &Value) -> String {
    body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "user")
        .filter_map(|m| m["content"].as_array())
        .flatten()
        .filter_map(|b| b["text"].as_str())
        .rfind(|t| !t.starts_with("<system-reminder>"))
        .unwrap_or_default()
        .to_string()
}

fn tool_results(body: &Value) -> Vec<String> {
    body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["content"].as_array())
        .flatten()
        .filter(|b| b["type"] == "tool_result")
        .map(|b| match &b["content"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

/// A streamed answer that calls one tool.
fn tool_use_stream(name: &str, input: &Value) -> String {
    let events = [
        json!({"type": "message_start", "message": {"id": "msg_tool", "type": "message", "role": "assistant", "content": [], "model": "claude-sonnet-4-6", "stop_reason": null, "usage": {"input_tokens": 9, "output_tokens": 1}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Let me look."}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_fake_1", "name": name, "input": {}}}),
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": input.to_string()}}),
        json!({"type": "content_block_stop", "index": 1}),
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 7}}),
        json!({"type": "message_stop"}),
    ];
    events.iter().map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap())).collect()
}

/// Anthropic as Claude Code uses it: token counts, and streamed answers — "You said: …", or, when
/// asked to, one call of `tool` first. Anything else is a 404, so an unexpected request shows.
fn fake_anthropic(tool: Option<(&'static str, Value)>) -> FakeServer {
    FakeServer::start(move |r: &Request| {
        if r.method != "POST" {
            return Response::json(404, r#"{"type":"error","error":{"type":"not_found_error","message":"no"}}"#);
        }
        if r.path.starts_with("/v1/messages/count_tokens") {
            return Response::json(200, r#"{"input_tokens": 10}"#);
        }
        if !r.path.starts_with("/v1/messages") {
            return Response::json(404, r#"{"type":"error","error":{"type":"not_found_error","message":"no"}}"#);
        }
        let body = r.json();
        let said = last_user_text(&body);
        if body["stream"] != true {
            let answer = json!({"id": "msg_plain", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6", "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn", "usage": {"input_tokens": 1, "output_tokens": 1}});
            return Response::json(200, &answer.to_string());
        }
        let results = tool_results(&body);
        match &tool {
            Some((name, input)) if said.contains(TRIGGER) && results.is_empty() => {
                sse(&tool_use_stream(name, input), 64)
            }
            Some(_) if !results.is_empty() => sse(&text_stream("The tool answered.", "end_turn"), 64),
            _ => sse(&text_stream(&format!("You said: {said}"), "end_turn"), 64),
        }
    })
}

fn messages_requests(server: &FakeServer) -> Vec<Request> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/v1/messages") && !r.path.contains("count_tokens"))
        .collect()
}

/// Nothing of pincer's own credentials in any request the server saw, headers or body.
fn assert_no_pincer_credential(server: &FakeServer) {
    let secrets = [pincer_env_key(), pincer_env_token(), pincer_stored_token(), PINCER_OTHER_SECRET.to_string()];
    for r in server.requests() {
        let text = format!("{:?} {}", r.headers, String::from_utf8_lossy(&r.body));
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "pincer's credential reached {} {}", r.method, r.path);
        }
        assert!(!text.contains("sk-ant-oat01-"), "a setup token reached {} {}", r.method, r.path);
    }
}

#[test]
fn a_one_line_answer_comes_from_claude_code_with_its_own_login_only() {
    let w = World::new();
    let server = fake_anthropic(None);
    let out = w.agent(&server.url, &["-m", "hello there"]);
    assert_eq!(out.code, 0, "stderr:\n{}", out.stderr);
    assert_eq!(out.stdout, "You said: hello there\n");
    assert!(out.stderr.contains("pincer: Claude Code: 1 model call, "), "{}", out.stderr);
    // Every request Claude Code made is one the fake answers as Anthropic would (none got a 404).
    let paths = server.paths();
    assert!(paths.iter().all(|p| p.starts_with("POST /v1/messages")), "{paths:?}");
    let requests = messages_requests(&server);
    assert!(!requests.is_empty());
    for r in &requests {
        let agent = r.header("user-agent").unwrap_or_default();
        assert!(agent.starts_with("claude-cli/2.1.332"), "sent by Claude Code, not pincer: {agent}");
        assert_eq!(r.header("x-api-key"), Some(claude_code_key().as_str()), "Claude Code's own key");
        let body = r.json();
        assert!(body["model"].as_str().unwrap().contains("sonnet"), "{}", body["model"]);
        // Claude Code's tools, not pincer's; its working directory is the workspace.
        let tools: Vec<&str> = body["tools"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
        assert!(
            tools.contains(&"Bash") && !tools.iter().any(|t| ["read_file", "edit_file", "bash"].contains(t)),
            "{tools:?}"
        );
        let text = body.to_string();
        assert!(text.contains(&format!("Primary working directory: {}", w.work.display())), "the workspace is its cwd");
        assert!(!text.contains("You are pincer"), "pincer's system prompt is not sent");
    }
    assert_no_pincer_credential(&server);
}

#[test]
fn its_tools_show_as_status_lines_and_see_no_pincer_credential() {
    let w = World::new();
    // Its permissions are its own: `args` allow the call, as a person would.
    w.config("[providers.claude-code]\nargs = [\"--allowedTools\", \"Bash(env)\"]\n");
    let server = fake_anthropic(Some(("Bash", json!({"command": "env", "description": "Show the environment"}))));
    let out = w.agent(&server.url, &["-m", TRIGGER]);
    assert_eq!(out.code, 0, "stderr:\n{}", out.stderr);
    assert_eq!(out.stdout, "Let me look.\nThe tool answered.\n");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert!(lines.iter().any(|l| l.starts_with("▸ Bash  env")), "{}", out.stderr);
    assert!(lines.iter().any(|l| l.starts_with("✓ ") && l.contains(" s · ")), "{}", out.stderr);
    assert!(out.stderr.contains("Claude Code: 2 model calls"), "{}", out.stderr);
    // What its shell saw comes back in the next request: Claude Code ran it, in the workspace,
    // and pincer's secrets were not in its environment.
    let results: Vec<String> = messages_requests(&server).iter().flat_map(|r| tool_results(&r.json())).collect();
    let env = results.first().expect("the tool's result reached the server");
    assert!(env.contains(&format!("PWD={}", w.work.display())), "{env}");
    for name in ["ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "OPENAI_API_KEY", "PINCER_OTHER_SECRET", "PINCER_HOME"]
    {
        assert!(!env.contains(&format!("{name}=")), "{name} reached Claude Code's environment:\n{env}");
    }
    assert_no_pincer_credential(&server);
}

#[test]
fn a_refused_call_names_the_way_to_allow_it() {
    let w = World::new();
    let server = fake_anthropic(Some(("Bash", json!({"command": "touch made-by-claude"}))));
    let out = w.agent(&server.url, &["-m", TRIGGER, "--json"]);
    assert_eq!(out.code, 0, "stderr:\n{}", out.stderr);
    assert!(!w.work.join("made-by-claude").exists(), "Claude Code's own permissions held");
    assert!(out.stderr.contains("Claude Code's permissions refused: Bash (touch made-by-claude)"), "{}", out.stderr);
    assert!(out.stderr.contains("[providers.claude-code]") && out.stderr.contains("--allowedTools"), "{}", out.stderr);
    let result: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(result["text"], "Let me look.The tool answered.");
    assert_eq!(result["tool_calls"][0]["name"], "Bash");
    assert_eq!(result["tool_calls"][0]["input"]["command"], "touch made-by-claude");
    assert_eq!(result["tool_calls"][0]["is_error"], true);
    assert!(result["usage"]["output_tokens"].as_u64().is_some_and(|n| n > 0), "{result}");
}

#[test]
fn a_session_continues_claude_codes_own_session() {
    let w = World::new();
    let server = fake_anthropic(None);
    let first = w.agent(&server.url, &["--session", "work", "-m", "first question"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let link: Value = serde_json::from_str(&w.sb.read("sessions/work.claude-code.json")).unwrap();
    let id = link["session_id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "{link}");
    let second = w.agent(&server.url, &["--session", "work", "-m", "second question"]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(second.stdout, "You said: second question\n");
    // Claude Code sent the first turn back itself: pincer sent only the new message.
    let last = messages_requests(&server).pop().unwrap().json().to_string();
    assert!(last.contains("first question") && last.contains("You said: first question"), "{last}");
    let link: Value = serde_json::from_str(&w.sb.read("sessions/work.claude-code.json")).unwrap();
    assert_eq!(link["session_id"], id.as_str(), "the same Claude Code session");
    assert_eq!(w.sb.read("sessions/work.jsonl").lines().count(), 4, "pincer's transcript of what was seen");

    // A session Claude Code no longer has: said, and a new one starts.
    let gone = "00000000-0000-4000-8000-000000000000";
    std::fs::write(
        w.sb.file("sessions/work.claude-code.json"),
        json!({"version": 1, "session_id": gone, "workspace": "/", "saved_at": "2026-01-01T00:00:00Z"}).to_string(),
    )
    .unwrap();
    let third = w.agent(&server.url, &["--session", "work", "-m", "third question"]);
    assert_eq!(third.code, 0, "{}", third.stderr);
    assert!(
        third.stderr.contains(&format!("Claude Code no longer has conversation {gone}; starting a new one")),
        "{}",
        third.stderr
    );
    assert_eq!(third.stdout, "You said: third question\n");
    let link: Value = serde_json::from_str(&w.sb.read("sessions/work.claude-code.json")).unwrap();
    assert!(link["session_id"] != gone && link["session_id"] != id.as_str(), "{link}");
}

#[test]
fn the_repl_resumes_the_same_claude_code_session_without_a_session_file() {
    use rexpect::session::spawn_command;
    let w = World::new();
    let server = fake_anthropic(None);
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("pincer"));
    cmd.env_clear()
        .env("PINCER_HOME", w.sb.home())
        .env("HOME", w.sb.dir.path())
        .env("PATH", w.path())
        .env("ANTHROPIC_BASE_URL", &server.url)
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("TERM", "xterm")
        .current_dir(&w.work)
        .args(["agent", "--model", "claude-code/sonnet"]);
    let mut p = spawn_command(cmd, Some(60_000)).unwrap();
    p.exp_string("pincer chat with sonnet").unwrap();
    p.exp_string("> ").unwrap();
    p.send_line("first question").unwrap();
    p.exp_string("You said: first question").unwrap();
    p.exp_string("> ").unwrap();
    p.send_line("second question").unwrap();
    p.exp_string("You said: second question").unwrap();
    p.exp_string("> ").unwrap();
    p.send_line("/compact").unwrap();
    p.exp_string("Claude Code keeps and compacts its own conversation").unwrap();
    p.send_line("/exit").unwrap();
    p.exp_eof().unwrap();
    let last = messages_requests(&server).pop().unwrap().json().to_string();
    assert!(last.contains("You said: first question"), "the second turn resumed the first: {last}");
    assert!(!w.sb.file("sessions").exists(), "no session file without --session");
}

#[test]
fn ctrl_c_ends_claude_code_and_everything_it_started() {
    let w = World::new();
    // The answer's first words, then nothing for a minute.
    let stream = text_stream("first words, then a long pause", "end_turn");
    let split = stream.find("event: content_block_stop").unwrap();
    let slow = Response {
        status: 200,
        headers: vec![("content-type".into(), "text/event-stream".into())],
        body: Body::Chunks {
            pieces: vec![stream.as_bytes()[..split].to_vec(), stream.as_bytes()[split..].to_vec()],
            pause: Duration::from_secs(60),
        },
    };
    let server = FakeServer::start(move |r: &Request| {
        if r.path.starts_with("/v1/messages") && !r.path.contains("count_tokens") {
            slow.clone()
        } else {
            Response::json(200, r#"{"input_tokens": 1}"#)
        }
    });
    let mut child =
        w.sb.process(&server.url)
            .env("PATH", w.path())
            .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
            .current_dir(&w.work)
            .args(["agent", "--model", "claude-code/sonnet", "--session", "cut", "-m", "a long one"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    read_until(&mut stdout, "first words");
    let claude = children_of(child.id()).into_iter().next().expect("Claude Code runs as pincer's child");
    let started = Instant::now();
    // SAFETY: signalling our own child, as the terminal's Ctrl-C would.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "Ctrl-C did not end pincer");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    // Its whole process group is gone: nothing of Claude Code is left running.
    // SAFETY: signal 0 only asks whether the group has members.
    let alive = unsafe { libc::kill(-(claude as libc::pid_t), 0) } == 0;
    assert!(!alive, "Claude Code's process group {claude} outlived pincer");
    // The session it had started is kept, so the next turn continues it.
    assert!(w.sb.read("sessions/cut.claude-code.json").contains("session_id"));
}

#[test]
fn ctrl_c_while_claude_code_runs_a_command_stops_the_command_too() {
    let w = World::new();
    // Claude Code runs its tools' commands in sessions of their own, outside its process group.
    let script = w.work.join("wait.sh");
    std::fs::write(&script, "#!/bin/sh\necho $$ > wait.pid\nexec sleep 300\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    w.config("[providers.claude-code]\nargs = [\"--allowedTools\", \"Bash(./wait.sh)\"]\n");
    let server = fake_anthropic(Some(("Bash", json!({"command": "./wait.sh", "description": "Wait"}))));
    let mut child =
        w.sb.process(&server.url)
            .env("PATH", w.path())
            .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
            .current_dir(&w.work)
            .args(["agent", "--model", "claude-code/sonnet", "-m", TRIGGER])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
    let pid_file = w.work.join("wait.pid");
    let started = Instant::now();
    let command: libc::pid_t = loop {
        if let Some(pid) = std::fs::read_to_string(&pid_file).ok().and_then(|p| p.trim().parse().ok()) {
            break pid;
        }
        assert!(started.elapsed() < HANG_GUARD, "the command never started");
        std::thread::sleep(Duration::from_millis(20));
    };
    // SAFETY: signalling our own child, as the terminal's Ctrl-C would.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < HANG_GUARD, "Ctrl-C did not end pincer");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("▸ Bash  ./wait.sh"), "{stderr}");
    let alive = std::fs::read_to_string(format!("/proc/{command}/stat"))
        .is_ok_and(|s| s.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')));
    if alive {
        // SAFETY: the test's own leftover, so that a failure leaves nothing behind.
        unsafe { libc::kill(command, libc::SIGKILL) };
    }
    assert!(!alive, "the command Claude Code was running outlived pincer");
}

/// The processes whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found: Vec<u32> = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|p| {
                let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
                // The fields after the command's closing parenthesis: state, then the parent.
                stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
                    == Some(pid)
            })
            .collect();
        if !found.is_empty() || Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_missing_claude_says_how_to_install_it() {
    let w = World::new();
    let server = fake_anthropic(None);
    let mut cmd = w.pincer(&server.url);
    cmd.env("PATH", "/usr/bin:/bin").args(["agent", "--model", "claude-code/sonnet", "-m", "hi"]);
    let out = run(&mut cmd, "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.starts_with("pincer: Claude Code is not installed: `claude` was not found"), "{}", out.stderr);
    assert!(out.stderr.lines().last().unwrap().contains("npm install -g @anthropic-ai/claude-code"), "{}", out.stderr);
    assert!(server.requests().is_empty());
    // `pincer models` and `auth status` say the same.
    w.config("[models.cc]\nprovider = \"claude-code\"\nmodel = \"sonnet\"\n");
    let mut cmd = w.pincer(&server.url);
    let models = run(cmd.env("PATH", "/usr/bin:/bin").args(["models"]), "");
    assert_eq!(models.code, 0, "{}", models.stderr);
    assert!(models.stdout.contains("npm install -g @anthropic-ai/claude-code"), "{}", models.stdout);
    let mut cmd = w.pincer(&server.url);
    let status = run(cmd.env("PATH", "/usr/bin:/bin").args(["auth", "status", "--no-usage", "--json"]), "");
    let status: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(status["claude_code"]["installed"], false, "{status}");
}

#[test]
fn models_and_auth_status_show_the_installed_version_and_path() {
    let w = World::new();
    w.config("default_model = \"cc\"\n[models.cc]\nprovider = \"claude-code\"\nmodel = \"opus\"\n");
    let mut cmd = w.pincer(&support::closed_port_url());
    let out = run(cmd.args(["models"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let row = out.stdout.lines().find(|l| l.starts_with("cc")).unwrap();
    assert!(
        row.contains("claude-code") && row.contains("opus") && row.contains("Claude Code 2.1.332"),
        "{}",
        out.stdout
    );
    let mut cmd = w.pincer(&support::closed_port_url());
    let json: Value = serde_json::from_str(&run(cmd.args(["models", "--json"]), "").stdout).unwrap();
    let cc = &json["models"][0];
    assert_eq!((cc["provider"].as_str(), cc["credential_status"].as_str()), (Some("claude-code"), Some("not_needed")));
    assert_eq!(cc["credential"], Value::Null, "no credential of pincer's is used for it");
    assert_eq!(json["claude_code"]["version"], "2.1.332");
    assert_eq!(json["claude_code"]["path"], w.bin.join("claude").display().to_string());

    let mut cmd = w.pincer(&support::closed_port_url());
    let out = run(cmd.args(["auth", "status"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("claude-code"), "{}", out.stdout);
    let line = format!("Claude Code 2.1.332 at {}", w.bin.join("claude").display());
    assert!(out.stdout.contains(&line), "{}", out.stdout);
    let mut cmd = w.pincer(&support::closed_port_url());
    let json: Value = serde_json::from_str(&run(cmd.args(["auth", "status", "--json"]), "").stdout).unwrap();
    assert_eq!(json["claude_code"]["installed"], true);
    assert_eq!(json["claude_code"]["version"], "2.1.332");
    // `--no-usage` stays quick: it finds Claude Code without running it.
    let mut cmd = w.pincer(&support::closed_port_url());
    let json: Value =
        serde_json::from_str(&run(cmd.args(["auth", "status", "--no-usage", "--json"]), "").stdout).unwrap();
    assert_eq!(json["claude_code"]["path"], w.bin.join("claude").display().to_string());
    assert_eq!((&json["claude_code"]["installed"], &json["claude_code"]["version"]), (&json!(true), &Value::Null));
    // pincer keeps no credential for it: Claude Code signs in on its own.
    let before = w.sb.read("auth.json");
    let mut cmd = w.pincer(&support::closed_port_url());
    let out =
        run(cmd.args(["auth", "login", "--provider", "claude-code", "--api-key"]), &format!("{}\n", api_key('x')));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("uses Claude Code's own login") && out.stderr.contains("hint: run `claude`"),
        "{}",
        out.stderr
    );
    assert_eq!(w.sb.read("auth.json"), before, "nothing saved");
    // The default model runs Claude Code with the model of the entry.
    let server = fake_anthropic(None);
    let mut cmd = w.pincer(&server.url);
    let out = run(cmd.args(["agent", "-m", "which model?"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(messages_requests(&server)[0].json()["model"].as_str().unwrap().contains("opus"));
}

#[test]
fn claude_codes_failures_are_pincers_errors_with_hints() {
    let w = World::new();
    for (status, kind, message, expected) in [
        (401, "authentication_error", "invalid x-api-key", "Claude Code could not authenticate"),
        (429, "rate_limit_error", "slow down", "Claude Code's request failed"),
        (500, "api_error", "boom", "Claude Code's request failed: API Error: 500 boom"),
    ] {
        let body = json!({"type": "error", "error": {"type": kind, "message": message}}).to_string();
        let server = FakeServer::start(move |_| Response::json(status, &body));
        let mut cmd = w.pincer(&server.url);
        cmd.env("CLAUDE_CODE_MAX_RETRIES", "0").args(["agent", "--model", "claude-code/sonnet", "-m", "hi"]);
        let out = run(&mut cmd, "");
        assert_eq!(out.code, 1, "{status}: {}", out.stderr);
        assert!(out.stderr.starts_with(&format!("pincer: {expected}")), "{status}: {}", out.stderr);
        assert!(out.stderr.lines().last().unwrap().starts_with("hint: "), "{status}: {}", out.stderr);
        assert_eq!(out.stdout, "", "{status}: an error is not an answer");
        assert!(!messages_requests(&server).is_empty());
    }
    // Arguments Claude Code does not take: its exit and its words.
    w.config("[providers.claude-code]\nargs = [\"--no-such-flag\"]\n");
    let out = w.agent(&support::closed_port_url(), &["-m", "hi"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("Claude Code exited (exit status: 1)") && out.stderr.contains("--no-such-flag"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.lines().last().unwrap().contains("args"), "{}", out.stderr);
}

#[test]
fn pincers_tools_mcp_servers_and_permission_flags_stay_out_of_it() {
    let w = World::new();
    let marker = w.sb.dir.path().join("mcp-started");
    w.config(&format!("[mcp.spy]\ncommand = \"sh\"\nargs = [\"-c\", \"touch {}; sleep 5\"]\n", marker.display()));
    let server = fake_anthropic(None);
    let out = w.agent(&server.url, &["--allow", "bash(ls:*)", "-m", "hi"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("--allow, --deny and --yolo do not apply to Claude Code"), "{}", out.stderr);
    std::thread::sleep(Duration::from_millis(300));
    assert!(!marker.exists(), "an MCP server was started for Claude Code");
}

#[test]
fn the_way_out_of_a_subscription_refusal_works() {
    let w = World::new();
    let refusing = FakeServer::start(|_| {
        Response::json(
            400,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"This credential is only authorized for use with Claude Code and cannot be used for other API requests."}}"#,
        )
    });
    // pincer's stored setup token, sent by pincer itself: refused, and the hint names this provider.
    let mut cmd = w.sb.cmd(&refusing.url);
    let out = run(cmd.args(["agent", "-m", "hi"]), "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    let hint = out.stderr.lines().last().unwrap();
    assert!(hint.contains("`claude-code` provider") && hint.contains("--model claude-code/sonnet"), "{}", out.stderr);
    // Which works, through Claude Code's own login.
    let server = fake_anthropic(None);
    let out = w.agent(&server.url, &["-m", "hi"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "You said: hi\n"), "{}", out.stderr);
}
