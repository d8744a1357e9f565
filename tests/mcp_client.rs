//! The MCP client as the agent uses it (`McpManager` → `Tool`s), against the fake server's
//! `chatty` mode over a real pipe: answers out of order, notifications between them, progress
//! reaching the call's status line, and a changed tool list picked up.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pincer::cancel::CancelToken;
use pincer::mcp::config::{ServerConfig, TransportConfig};
use pincer::mcp::{ConnectOptions, Decline, McpManager};
use pincer::tools::{ToolClass, ToolContext};
use serde_json::json;

fn manager(mode: &str) -> McpManager {
    let server = ServerConfig {
        name: "fake".into(),
        transport: TransportConfig::Stdio {
            command: "python3".into(),
            args: vec![format!("{}/tests/mcp/fake_server.py", env!("CARGO_MANIFEST_DIR")), mode.into()],
            env: vec![],
            cwd: None,
        },
        enabled: true,
        startup_timeout: Duration::from_secs(10),
        tool_timeout: Duration::from_secs(10),
    };
    let options = ConnectOptions {
        workspace: std::env::temp_dir(),
        elicitor: Arc::new(Decline),
        connect_timeout: Duration::from_secs(5),
        auth: None,
        env: pincer::env::Env::default(),
    };
    McpManager::new(vec![Ok(server)], options)
}

#[test]
fn concurrent_calls_answered_in_reverse_order_reach_the_right_caller() {
    let manager = manager("chatty");
    assert!(manager.start().is_empty());
    let tools = manager.tools();
    let names: Vec<&str> = tools.iter().map(|t| t.name()).collect();
    assert_eq!(names, ["mcp__fake__echo", "mcp__fake__slow", "mcp__fake__wait"]);
    assert!(tools.iter().all(|t| t.class() == ToolClass::Mcp && !t.parallel_safe()));
    let slow = &tools[1];
    let workspace = std::env::temp_dir();
    let read_files = Mutex::new(HashSet::<PathBuf>::new());
    let results = std::thread::scope(|scope| {
        let handles: Vec<_> = [1, 2]
            .into_iter()
            .map(|n| {
                let (workspace, read_files) = (&workspace, &read_files);
                scope.spawn(move || {
                    let seen = Mutex::new(Vec::<String>::new());
                    let progress = |text: &str| seen.lock().unwrap().push(text.to_string());
                    let cancel = CancelToken::new();
                    let ctx =
                        ToolContext { workspace, home: workspace, cancel: &cancel, read_files, progress: &progress };
                    let out = slow.call(&json!({"n": n}), &ctx);
                    (out, seen.into_inner().unwrap())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect::<Vec<_>>()
    });
    for (n, (out, progress)) in [1, 2].into_iter().zip(results) {
        assert!(!out.is_error, "{out:?}");
        assert_eq!(out.joined_text(), format!("slow {n}"));
        assert_eq!(progress, [format!("half of {n} (1/2)")]);
    }
    // The server announced a changed list; the manager lists it again.
    assert!(manager.tools_changed());
    assert_eq!(manager.tools().len(), 3);
    assert!(!manager.tools_changed());
    let status = &manager.statuses()[0];
    assert_eq!((status.state, status.protocol_version.as_deref()), ("ok", Some("2025-11-25")));
}

#[test]
fn a_cancelled_call_ends_at_once_and_the_connection_stays_usable() {
    let manager = manager("ok");
    assert!(manager.start().is_empty());
    let tools = manager.tools();
    let wait = tools.iter().find(|t| t.name() == "mcp__fake__wait").unwrap();
    let workspace = std::env::temp_dir();
    let read_files = Mutex::new(HashSet::new());
    let cancel = CancelToken::new();
    let canceller = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            cancel.cancel();
        })
    };
    let ctx = ToolContext {
        workspace: &workspace,
        home: &workspace,
        cancel: &cancel,
        read_files: &read_files,
        progress: &|_| {},
    };
    let began = std::time::Instant::now();
    let out = wait.call(&json!({}), &ctx);
    canceller.join().unwrap();
    assert!(out.is_error && out.joined_text().contains("cancelled"), "{out:?}");
    assert!(began.elapsed() < Duration::from_secs(5));
    // The connection is still usable after a cancelled call.
    let echo = tools.iter().find(|t| t.name() == "mcp__fake__echo").unwrap();
    let fresh = CancelToken::new();
    let ctx = ToolContext { cancel: &fresh, ..ctx };
    assert_eq!(echo.call(&json!({"message": "still here"}), &ctx).joined_text(), "echo: still here");
}
