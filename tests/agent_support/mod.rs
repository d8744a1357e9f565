//! Running the real `pincer agent` against the strict scripted model, and reading back what the
//! model was told: the tool results in each request it received, the same way for both wires.
#![allow(dead_code)] // each test binary uses a different part

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::strict_model::{Step, StrictModel, Wire};
use crate::support::{Output, Sandbox, api_key, run};

/// One tool result as the model received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub id: String,
    pub is_error: bool,
    pub text: String,
}

/// A sandbox (home + a workspace folder `ws` beside it), a scripted model, and the binary.
pub struct Agent {
    pub sb: Sandbox,
    pub workspace: PathBuf,
    pub model: StrictModel,
    pub wire: Wire,
}

impl Agent {
    /// A workspace `ws` beside the home (neither inside the other).
    pub fn new(wire: Wire, steps: Vec<Step>) -> Agent {
        let sb = Sandbox::new();
        let workspace = sb.dir.path().join("ws");
        Agent::in_workspace(sb, workspace, wire, steps)
    }

    /// `workspace` is created if missing; the home holds the config for `wire`.
    pub fn in_workspace(sb: Sandbox, workspace: PathBuf, wire: Wire, steps: Vec<Step>) -> Agent {
        std::fs::create_dir_all(&workspace).unwrap();
        std::fs::create_dir_all(sb.home()).unwrap();
        let model = StrictModel::start(wire, steps);
        if wire == Wire::OpenAi && !sb.file("config.toml").exists() {
            std::fs::write(
                sb.file("config.toml"),
                format!(
                    "default_model = \"local\"\n\n[models.local]\nprovider = \"openai\"\nmodel = \"m\"\nbase_url = \"{}/v1\"\n",
                    model.server.url
                ),
            )
            .unwrap();
        }
        Agent { sb, workspace: workspace.canonicalize().unwrap(), model, wire }
    }

    pub fn ws(&self, name: &str) -> PathBuf {
        self.workspace.join(name)
    }

    /// `pincer agent --workspace WS ARGS…` with an API key, stdin empty (not a terminal).
    pub fn cmd(&self, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = self.sb.cmd(&self.model.server.url);
        cmd.env("ANTHROPIC_API_KEY", api_key('k')).env("OPENAI_API_KEY", "sk-test-openai").arg("agent");
        cmd.arg("--workspace").arg(&self.workspace).args(args);
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        run(&mut self.cmd(args), "")
    }

    pub fn bodies(&self) -> Vec<Value> {
        self.model.bodies()
    }

    /// The tool results the model received in request `n` (0-based), in the order sent.
    pub fn seen(&self, n: usize) -> Vec<Seen> {
        let bodies = self.bodies();
        let body = bodies.get(n).unwrap_or_else(|| panic!("no request {n}; {} were made", bodies.len()));
        results_in(body, self.wire)
    }

    /// Fails the test if any request broke the API's rules.
    pub fn assert_valid_requests(&self) {
        assert_eq!(self.model.violations(), Vec::<String>::new(), "requests the real API would reject");
    }

    /// Every request body as one text, to look for what must never be sent.
    pub fn all_request_text(&self) -> String {
        self.model.server.requests().iter().map(|r| String::from_utf8_lossy(&r.body).into_owned()).collect()
    }
}

/// The results answering the last assistant message's calls, as the model received them.
pub fn results_in(body: &Value, wire: Wire) -> Vec<Seen> {
    let messages = body["messages"].as_array().expect("messages");
    match wire {
        Wire::Anthropic => {
            let last = messages.last().expect("a last message");
            last["content"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|b| b["type"] == "tool_result")
                .map(|b| Seen {
                    id: b["tool_use_id"].as_str().unwrap().to_string(),
                    is_error: b["is_error"] == true,
                    text: b["content"]
                        .as_array()
                        .map(|c| c.iter().filter_map(|x| x["text"].as_str()).collect::<Vec<_>>().join("\n"))
                        .unwrap_or_default(),
                })
                .collect()
        }
        Wire::OpenAi => {
            let tail: Vec<&Value> = messages.iter().rev().take_while(|m| m["role"] == "tool").collect();
            tail.into_iter()
                .rev()
                .map(|m| {
                    let text = m["content"].as_str().unwrap_or_default().to_string();
                    Seen {
                        id: m["tool_call_id"].as_str().unwrap().to_string(),
                        is_error: text.starts_with("error"),
                        text,
                    }
                })
                .collect()
        }
    }
}

/// The ids the strict model gives the calls of step `n` (1-based request count), in order.
pub fn call_ids(wire: Wire, n: usize, calls: usize) -> Vec<String> {
    (0..calls)
        .map(|k| match wire {
            Wire::Anthropic => format!("toolu_{n}_{k}"),
            Wire::OpenAi => format!("call_{n}_{k}"),
        })
        .collect()
}

/// Every file under `dir` with its bytes, sorted: a snapshot to compare before and after.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                walk(&p, out);
            } else if meta.file_type().is_symlink() {
                out.push((p.clone(), std::fs::read_link(&p).unwrap().into_os_string().into_encoded_bytes()));
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap_or_default()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}
