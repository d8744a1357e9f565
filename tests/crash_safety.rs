//! Crash safety: pincer is killed (SIGKILL) at random moments while it writes `auth.json`,
//! `config.toml`, `usage.json` and a session, hundreds of times. After each kill every file must
//! parse and hold either the old or the new state — never a mix, never empty.

mod support;

use std::process::Stdio;
use std::time::Duration;

use support::fake_server::{FakeServer, Response};
use support::{Sandbox, closed_port_url};

const KILLS_PER_FILE: usize = 100;
/// Kill times are spread over a typical run's lifetime (a few milliseconds).
const MAX_DELAY_MICROS: u64 = 12_000;

/// A small deterministic generator, so a failure can be replayed.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// Starts pincer, kills it after `delay`, and waits for it.
fn run_and_kill(sb: &Sandbox, url: &str, args: &[&str], stdin: &str, delay: Duration, env: &[(&str, &str)]) {
    let mut cmd = sb.process(url);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    {
        use std::io::Write;
        let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    }
    std::thread::sleep(delay);
    let _ = child.kill();
    let _ = child.wait();
}

fn no_temp_files_beyond(sb: &Sandbox, allowed: usize) {
    let temps = std::fs::read_dir(sb.home())
        .map(|d| d.filter_map(Result::ok).filter(|e| e.file_name().to_string_lossy().ends_with(".tmp")).count())
        .unwrap_or(0);
    // A kill between creating and renaming the temp file leaves it behind: harmless (hidden,
    // private, never read), but it must not pile up unboundedly per run.
    assert!(temps <= allowed, "{temps} temp files");
}

#[test]
fn auth_json_is_old_or_new_after_any_kill() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.home()).unwrap();
    let providers: String =
        (0..KILLS_PER_FILE).map(|i| format!("[providers.p{i}]\nbase_url = \"http://127.0.0.1:1\"\n")).collect();
    std::fs::write(sb.file("config.toml"), providers).unwrap();
    let mut rng = Lcg(7);
    let mut saved: Vec<String> = Vec::new();
    for i in 0..KILLS_PER_FILE {
        let delay = Duration::from_micros(rng.next() % MAX_DELAY_MICROS);
        let provider = format!("p{i}");
        run_and_kill(
            &sb,
            &closed_port_url(),
            &["auth", "login", "-p", &provider, "--api-key"],
            &format!("key-{i:04}\n"),
            delay,
            &[],
        );
        let Ok(text) = std::fs::read_to_string(sb.file("auth.json")) else {
            assert!(saved.is_empty(), "auth.json vanished after kill {i}");
            continue;
        };
        let json: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("kill {i} (delay {delay:?}) left invalid auth.json: {e}\n{text}"));
        let creds = json["credentials"].as_object().unwrap();
        // Old state (the entries so far) or new state (plus this one); nothing else.
        for p in &saved {
            assert!(creds.contains_key(p), "kill {i}: lost {p}");
        }
        match creds.len() - saved.len() {
            0 => {}
            1 => {
                assert_eq!(creds[&provider]["secret"], format!("key-{i:04}"));
                saved.push(provider);
            }
            n => panic!("kill {i}: {n} unexpected entries"),
        }
    }
    no_temp_files_beyond(&sb, KILLS_PER_FILE);
    eprintln!("auth.json: {KILLS_PER_FILE} kills, {} logins completed", saved.len());
}

#[test]
fn config_toml_is_old_or_new_after_any_kill() {
    let user = "# mine\n[models.local]\nprovider = \"openai\"\nmodel = \"m\"\nbase_url = \"http://127.0.0.1:1/v1\"\n";
    let mut rng = Lcg(11);
    let mut completed = 0;
    for i in 0..KILLS_PER_FILE {
        let sb = Sandbox::new();
        std::fs::create_dir_all(sb.home()).unwrap();
        std::fs::write(sb.file("config.toml"), user).unwrap();
        let delay = Duration::from_micros(rng.next() % MAX_DELAY_MICROS);
        let token = support::setup_token('c');
        run_and_kill(
            &sb,
            &closed_port_url(),
            &["auth", "login", "-p", "anthropic", "--setup-token"],
            &format!("{token}\n"),
            delay,
            &[],
        );
        let text = sb.read("config.toml");
        let doc: toml_edit::DocumentMut =
            text.parse().unwrap_or_else(|e| panic!("kill {i}: invalid config.toml: {e}\n{text}"));
        if text == user {
            continue;
        }
        // The new state: the user's lines, plus a whole Anthropic model and the default.
        assert!(user.lines().all(|l| text.contains(l)), "kill {i}: user text lost:\n{text}");
        assert_eq!(doc["models"]["sonnet"]["model"].as_str(), Some("claude-sonnet-4-6"), "kill {i}:\n{text}");
        // The user had no default, so login set one, in the same write.
        assert_eq!(doc["default_model"].as_str(), Some("sonnet"), "kill {i}:\n{text}");
        completed += 1;
    }
    eprintln!("config.toml: {KILLS_PER_FILE} kills, {completed} rewrites completed");
}

fn probe_server() -> FakeServer {
    FakeServer::start(|r| {
        if r.path.starts_with("/api/oauth/usage") {
            Response::json(403, r#"{"type":"error","error":{"type":"permission_error","message":"scope"}}"#)
        } else {
            Response::json(200, r#"{"content":[]}"#)
                .with_header("anthropic-ratelimit-unified-5h-utilization", "0.3")
                .with_header("anthropic-ratelimit-unified-7d-utilization", "0.6")
        }
    })
}

#[test]
fn usage_json_is_old_or_new_after_any_kill() {
    let sb = Sandbox::new();
    let server = probe_server();
    let token = support::setup_token('u');
    let mut rng = Lcg(13);
    for i in 0..KILLS_PER_FILE {
        let delay = Duration::from_micros(rng.next() % MAX_DELAY_MICROS);
        run_and_kill(
            &sb,
            &server.url,
            &["auth", "status", "--probe", "--json"],
            "",
            delay,
            &[("CLAUDE_CODE_OAUTH_TOKEN", &token)],
        );
        let Ok(text) = std::fs::read_to_string(sb.file("usage.json")) else { continue };
        let json: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("kill {i}: invalid usage.json: {e}\n{text}"));
        let entry = json["credentials"].as_object().unwrap().values().next().expect("one credential");
        assert_eq!(entry["headers"]["windows"].as_array().unwrap().len(), 2, "kill {i}: a half-written snapshot");
    }
}

#[test]
fn sessions_lose_at_most_the_turn_in_flight() {
    let sb = Sandbox::new();
    let stream = support::text_stream("ok", "end_turn");
    let server = FakeServer::start(move |_| support::sse(&stream, stream.len()));
    let key = support::api_key('s');
    let mut rng = Lcg(17);
    let mut turns = 0;
    for i in 0..KILLS_PER_FILE {
        let delay = Duration::from_micros(rng.next() % (MAX_DELAY_MICROS * 2));
        run_and_kill(
            &sb,
            &server.url,
            &["agent", "-m", &format!("q{i}"), "--session", "k"],
            "",
            delay,
            &[("ANTHROPIC_API_KEY", &key)],
        );
        let text = sb.read("sessions/k.jsonl");
        let lines: Vec<&str> = text.lines().collect();
        for (n, line) in lines.iter().enumerate() {
            let m: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("kill {i}: line {n} torn: {e}\n{text}"));
            assert_eq!(m["role"], if n % 2 == 0 { "user" } else { "assistant" }, "kill {i}: turns out of order");
        }
        assert_eq!(lines.len() % 2, 0, "kill {i}: half a turn was kept");
        assert!(lines.len() / 2 >= turns, "kill {i}: turns lost");
        turns = lines.len() / 2;
    }
    eprintln!("sessions: {KILLS_PER_FILE} kills, {turns} turns completed");
}
