//! End to end against a real model server: llama.cpp's `llama-server`, built from the package
//! registries by `scripts/llama-server` (cached after the first build), serving SmolLM2-135M on
//! loopback. It speaks Anthropic's `/v1/messages` and checks `x-api-key` and `Authorization:
//! Bearer` against its `--api-key` list, so both credential kinds are exercised for real.
//!
//! The model is tiny: assertions are about structure (exit codes, non-empty streamed text, stop
//! reasons, sessions), never about what it says.

mod support;

use std::path::PathBuf;
use std::process::Command;

use support::{Sandbox, run};

/// Test credentials: the shapes pincer accepts, known only to this server.
fn test_setup_token() -> String {
    format!("sk-ant-oat01-{}", "e2eSetupToken_".repeat(7).chars().take(95).collect::<String>())
}

fn test_api_key() -> String {
    format!("sk-ant-api03-{}", "e2eApiKey-".repeat(10).chars().take(95).collect::<String>())
}

struct LlamaServer {
    pid: String,
    url: String,
    log: PathBuf,
}

impl LlamaServer {
    fn start(dir: &std::path::Path, keys: &str) -> LlamaServer {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/llama-server");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = dir.join("llama-server.log");
        let out = Command::new(&script)
            .args(["start", "--port", &port.to_string(), "--api-key", keys, "--log"])
            .arg(&log)
            .output()
            .expect("scripts/llama-server runs");
        assert!(
            out.status.success(),
            "llama-server did not start:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let last = stdout.lines().last().expect("PID PORT on stdout");
        let (pid, got_port) = last.split_once(' ').expect("PID PORT");
        assert_eq!(got_port.trim(), port.to_string());
        LlamaServer { pid: pid.to_string(), url: format!("http://127.0.0.1:{port}"), log }
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/llama-server");
        let _ = Command::new(script).args(["stop", &self.pid]).status();
    }
}

/// The model the server serves, under an Anthropic-style name, with deterministic settings.
const CONFIG: &str = "\
default_model = \"smol\"

[models.smol]
provider = \"anthropic\"
model = \"claude-smol\"
max_tokens = 48
temperature = 0
";

#[test]
fn chats_with_a_real_server_through_both_credential_kinds() {
    let sb = Sandbox::new();
    let setup_token = test_setup_token();
    let api_key = test_api_key();
    let server = LlamaServer::start(sb.dir.path(), &format!("{setup_token},{api_key}"));
    std::fs::create_dir_all(sb.home()).unwrap();
    std::fs::write(sb.file("config.toml"), CONFIG).unwrap();
    let log = || std::fs::read_to_string(&server.log).unwrap_or_default();

    // 1. A setup token: Authorization: Bearer + the OAuth beta flag.
    let out = run(
        sb.cmd(&server.url).args(["auth", "login", "-p", "anthropic", "--setup-token"]),
        &format!("{setup_token}\n"),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(sb.read("config.toml"), CONFIG, "the user's model and default are kept");
    let out = run(sb.cmd(&server.url).args(["agent", "-m", "Say hello in one short sentence."]), "");
    assert_eq!(out.code, 0, "setup token chat failed:\n{}\n--- server log ---\n{}", out.stderr, log());
    assert!(!out.stdout.trim().is_empty(), "no text streamed");

    // 2. An API key: verified against the real server, then x-api-key.
    run(sb.cmd(&server.url).args(["auth", "logout"]), "");
    let out = run(sb.cmd(&server.url).args(["auth", "login", "-p", "anthropic", "--api-key"]), &format!("{api_key}\n"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("(verified)"), "{}", out.stderr);
    let out = run(sb.cmd(&server.url).args(["agent", "-m", "Name a colour.", "--session", "e2e"]), "");
    assert_eq!(out.code, 0, "API key chat failed:\n{}\n--- server log ---\n{}", out.stderr, log());
    assert!(!out.stdout.trim().is_empty());

    // 3. A session across two runs: the second request carries the first turn.
    let out = run(sb.cmd(&server.url).args(["agent", "--session", "e2e"]), "And another one?\n");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let session = sb.read("sessions/e2e.jsonl");
    let roles: Vec<String> = session
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["role"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(roles, ["user", "assistant", "user", "assistant"]);

    // 4. A wrong key fails clearly, with nothing retried into success.
    let wrong = format!("sk-ant-api03-{}", "W".repeat(95));
    let out = run(sb.cmd(&server.url).env("ANTHROPIC_API_KEY", &wrong).args(["agent", "-m", "hi"]), "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("Anthropic rejected the credential (HTTP 401"), "{}", out.stderr);
    assert!(out.stderr.contains("pincer auth login"), "{}", out.stderr);
    assert!(!out.stderr.contains(&wrong[13..]), "the wrong key is never shown");
    let wrong_token = format!("sk-ant-oat01-{}", "W".repeat(95));
    let out = run(sb.cmd(&server.url).env("CLAUDE_CODE_OAUTH_TOKEN", &wrong_token).args(["auth", "logout"]), "");
    assert_eq!(out.code, 0);
    let out = run(sb.cmd(&server.url).env("CLAUDE_CODE_OAUTH_TOKEN", &wrong_token).args(["agent", "-m", "hi"]), "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("HTTP 401"), "{}", out.stderr);
}

#[test]
fn chats_through_the_openai_protocol_and_a_named_local_provider() {
    let sb = Sandbox::new();
    let api_key = test_api_key();
    let server = LlamaServer::start(sb.dir.path(), &api_key);
    let log = || std::fs::read_to_string(&server.log).unwrap_or_default();
    std::fs::create_dir_all(sb.home()).unwrap();
    std::fs::write(
        sb.file("config.toml"),
        format!(
            "[providers.llama]\nbase_url = \"{}/v1\"\n\n[models.local]\nprovider = \"llama\"\nmodel = \"claude-smol\"\nmax_tokens = 48\ntemperature = 0\n",
            server.url
        ),
    )
    .unwrap();

    // `openai/<id>` with the environment's base URL and key.
    let out = run(
        sb.cmd("http://127.0.0.1:1")
            .env("OPENAI_BASE_URL", format!("{}/v1", server.url))
            .env("OPENAI_API_KEY", &api_key)
            .args(["agent", "-m", "Say hello.", "--model", "openai/claude-smol"]),
        "",
    );
    assert_eq!(out.code, 0, "openai/<id> failed:\n{}\n--- server log ---\n{}", out.stderr, log());
    assert!(!out.stdout.trim().is_empty());

    // A named local provider with its own stored key.
    let out =
        run(sb.cmd("http://127.0.0.1:1").args(["auth", "login", "-p", "llama", "--api-key"]), &format!("{api_key}\n"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = run(
        sb.cmd("http://127.0.0.1:1").args(["agent", "-m", "Name a fruit.", "--model", "local", "--session", "o"]),
        "",
    );
    assert_eq!(out.code, 0, "named provider failed:\n{}\n--- server log ---\n{}", out.stderr, log());
    assert!(!out.stdout.trim().is_empty());
    let out = run(sb.cmd("http://127.0.0.1:1").args(["agent", "--model", "local", "--session", "o"]), "Another?\n");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(sb.read("sessions/o.jsonl").lines().count(), 4);

    // `pincer models` tells the truth about it.
    let out = run(sb.cmd("http://127.0.0.1:1").args(["models", "--json"]), "");
    let models: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(models["models"][0]["credential"]["source"], "store");
    assert_eq!(models["models"][0]["base_url"], format!("{}/v1", server.url));

    // A wrong key fails clearly.
    run(sb.cmd("http://127.0.0.1:1").args(["auth", "login", "-p", "llama", "--api-key"]), "wrong-key-123\n");
    let out = run(sb.cmd("http://127.0.0.1:1").args(["agent", "-m", "hi", "--model", "local"]), "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("the llama server rejected the credential (HTTP 401"), "{}", out.stderr);
}
