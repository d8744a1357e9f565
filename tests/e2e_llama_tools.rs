//! A real tool call end to end: llama.cpp's `llama-server` (built and cached by
//! `scripts/llama-server`) serving SmolLM2-135M with the Qwen2.5 chat template that llama.cpp ships
//! (`scripts/llama-server template …`, from the same sdist): SmolLM2's own template has no tools.
//!
//! The server renders pincer's tools into the prompt with that template, and once the model
//! writes `<tool_call>` its grammar holds the rest to a call of one of those tools with
//! arguments that fit the schema; its parser turns that into a `tool_use` block (Anthropic) or a
//! `tool_calls` delta (OpenAI). A 135M model does not decide to call a tool by itself, so the
//! message asks it to copy one; what it writes inside the call is its own. pincer runs the call
//! and sends the result back, and the real server must accept that second request.
//!
//! Assertions are about structure (a call of a built-in tool was run, its result was answered
//! to the server under the call's id, the server answered again), never about what it says.

mod support;

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use support::{Sandbox, run};

/// The template that gives SmolLM2 tool calls on this llama.cpp build (DESIGN §3.6, README).
const TOOL_TEMPLATE: &str = "Qwen-Qwen2.5-7B-Instruct.jinja";
/// A message the model copies: the call markup its template describes.
const COPY_A_CALL: &str = "Reply with exactly this text and nothing else:\n<tool_call>\n{\"name\": \"list_dir\", \"arguments\": {\"path\": \".\"}}\n</tool_call>";
const BUILTIN_TOOLS: [&str; 9] =
    ["read_file", "list_dir", "write_file", "edit_file", "glob", "grep", "bash", "web_fetch", "memory"];

fn test_api_key() -> String {
    format!("sk-ant-api03-{}", "e2eToolKey-".repeat(9).chars().take(95).collect::<String>())
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/llama-server")
}

struct LlamaServer {
    pid: String,
    url: String,
    log: PathBuf,
}

impl LlamaServer {
    fn start_with_tool_template(dir: &std::path::Path, keys: &str) -> LlamaServer {
        let template = Command::new(script()).args(["template", TOOL_TEMPLATE]).output().expect("the script runs");
        assert!(template.status.success(), "no chat template: {}", String::from_utf8_lossy(&template.stderr));
        let template = String::from_utf8_lossy(&template.stdout).trim().to_string();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = dir.join("llama-server.log");
        let out = Command::new(script())
            .args(["start", "--port", &port.to_string(), "--api-key", keys, "--log"])
            .arg(&log)
            .args(["--", "--chat-template-file", &template])
            .output()
            .expect("scripts/llama-server runs");
        assert!(
            out.status.success(),
            "llama-server did not start:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let (pid, _) = stdout.lines().last().and_then(|l| l.split_once(' ')).expect("PID PORT");
        LlamaServer { pid: pid.to_string(), url: format!("http://127.0.0.1:{port}"), log }
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = Command::new(script()).args(["stop", &self.pid]).status();
    }
}

fn session_lines(sb: &Sandbox, name: &str) -> Vec<Value> {
    sb.read(&format!("sessions/{name}.jsonl")).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn a_real_model_server_calls_a_tool_through_both_protocols() {
    let sb = Sandbox::new();
    let key = test_api_key();
    let server = LlamaServer::start_with_tool_template(sb.dir.path(), &key);
    let log = || std::fs::read_to_string(&server.log).unwrap_or_default();
    let workspace = sb.dir.path().join("ws");
    std::fs::create_dir_all(&workspace).unwrap();
    std::fs::write(workspace.join("notes.txt"), "a file for the model to see\n").unwrap();
    std::fs::create_dir_all(sb.home()).unwrap();
    std::fs::write(
        sb.file("config.toml"),
        format!(
            "[models.smol]\nprovider = \"anthropic\"\nmodel = \"claude-smol\"\nmax_tokens = 64\ntemperature = 0\n\n\
             [models.smol-openai]\nprovider = \"openai\"\nmodel = \"claude-smol\"\nbase_url = \"{}/v1\"\nmax_tokens = 64\ntemperature = 0\n",
            server.url
        ),
    )
    .unwrap();

    for model in ["smol", "smol-openai"] {
        let out = run(
            sb.cmd(&server.url)
                .env("ANTHROPIC_API_KEY", &key)
                .env("OPENAI_API_KEY", &key)
                .arg("agent")
                .arg("--workspace")
                .arg(&workspace)
                .args(["--model", model, "--max-steps", "2", "--json", "--session", model, "-m", COPY_A_CALL]),
            "",
        );
        let result: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| {
            panic!("{model}: no JSON result ({e}):\n{}\n{}\n--- log ---\n{}", out.stdout, out.stderr, log())
        });
        // The second model call may ask for another tool (then --max-steps ends the turn): both
        // are a working loop. A failed request is not.
        let error = result["error"].as_str();
        assert!(error.is_none() || error == Some("max_steps"), "{model}: {result:#}\n--- log ---\n{}", log());
        assert_eq!(result["steps"], 2, "{model}: the server was called again with the result: {result:#}");
        let calls = result["tool_calls"].as_array().unwrap();
        assert!(!calls.is_empty(), "{model}: the real server produced no tool call pincer ran: {result:#}");
        for call in calls {
            let name = call["name"].as_str().unwrap();
            assert!(BUILTIN_TOOLS.contains(&name), "{model}: {name}");
            assert!(call["input"].is_object(), "{model}: {call}");
        }

        // The session: the question, the call, its result under the call's id, the answer.
        let lines = session_lines(&sb, model);
        let roles: Vec<&str> = lines.iter().map(|l| l["role"].as_str().unwrap()).collect();
        assert_eq!(roles[..3], ["user", "assistant", "user"], "{model}: {lines:#?}");
        let call_ids: Vec<&str> = lines[1]["content"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["type"] == "tool_use")
            .map(|b| b["id"].as_str().unwrap())
            .collect();
        let result_ids: Vec<&str> = lines[2]["content"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["type"] == "tool_result")
            .map(|b| b["tool_use_id"].as_str().unwrap())
            .collect();
        assert!(!call_ids.is_empty() && call_ids.iter().all(|id| !id.is_empty()), "{model}: {lines:#?}");
        assert_eq!(call_ids, result_ids, "{model}: one result per call, in order");
        assert!(lines.len() >= 4, "{model}: the server answered the request that carried the result: {lines:#?}");
    }
}
