//! The tool loop through the real binary against a scripted model that checks every request as
//! strictly as the real APIs (tests/support/strict_model.rs): each `tool_use` answered once, in
//! order, tied to its id; sessions that continue validly; the step limit; `--json`; both wires.

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::strict_model::{Step, StrictModel, Wire, call, check_anthropic, check_openai, text, tools};
use support::{Sandbox, api_key, run};

/// A workspace beside the sandbox's home, with a file in it.
fn workspace(sb: &Sandbox) -> PathBuf {
    let ws = sb.dir.path().join("ws");
    std::fs::create_dir_all(ws.join("src")).unwrap();
    std::fs::write(ws.join("notes.txt"), "first line\nsecond line\n").unwrap();
    std::fs::write(ws.join("src/main.rs"), "fn main() {}\n").unwrap();
    ws
}

fn agent(sb: &Sandbox, model: &StrictModel, ws: &Path) -> assert_cmd::Command {
    let mut cmd = sb.cmd(&model.server.url);
    cmd.env("ANTHROPIC_API_KEY", api_key('k')).arg("agent").arg("--workspace").arg(ws);
    cmd
}

/// The `tool_result` blocks of a request's last user message: (id, text, is_error).
fn results(body: &Value) -> Vec<(String, String, bool)> {
    let last = body["messages"].as_array().unwrap().last().unwrap();
    last["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "tool_result")
        .map(|b| {
            let text = b["content"].as_array().unwrap().iter().filter_map(|c| c["text"].as_str()).collect::<String>();
            (b["tool_use_id"].as_str().unwrap().to_string(), text, b["is_error"].as_bool().unwrap_or(false))
        })
        .collect()
}

#[test]
fn the_strict_model_refuses_what_the_real_apis_refuse() {
    // The checker itself must be able to fail, or every test below proves nothing.
    let user = |t: &str| json!({"role": "user", "content": [{"type": "text", "text": t}]});
    let call = json!({"role": "assistant", "content": [{"type": "tool_use", "id": "a", "name": "t", "input": {}}]});
    let result = |id: &str| json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": [{"type": "text", "text": "r"}]}]});
    assert!(check_anthropic(&json!({"messages": [user("q"), call, result("a")]})).is_none());
    assert!(check_anthropic(&json!({"messages": [user("q"), call, user("no result")]})).is_some());
    assert!(check_anthropic(&json!({"messages": [user("q"), call, result("b")]})).is_some());
    assert!(check_anthropic(&json!({"messages": [user("q"), user("twice")]})).is_some());
    assert!(check_anthropic(&json!({"messages": [user("")]})).is_some());
    let openai_call = json!({"role": "assistant", "content": null, "tool_calls": [{"id": "c", "type": "function", "function": {"name": "t", "arguments": "{}"}}]});
    assert!(check_openai(&json!({"messages": [{"role": "user", "content": "q"}, openai_call, {"role": "tool", "tool_call_id": "c", "content": "r"}]})).is_none());
    assert!(
        check_openai(
            &json!({"messages": [{"role": "user", "content": "q"}, openai_call, {"role": "user", "content": "x"}]})
        )
        .is_some()
    );
}

#[test]
fn calls_run_in_order_and_every_result_is_tied_to_its_call() {
    let sb = Sandbox::new();
    let ws = workspace(&sb);
    let model = StrictModel::start(
        Wire::Anthropic,
        vec![
            call("read_file", json!({"path": "notes.txt"})),
            tools(&[("glob", json!({"pattern": "**/*.rs"})), ("list_dir", json!({})), ("no_such_tool", json!({}))]),
            text("All read."),
        ],
    );
    let out = run(agent(&sb, &model, &ws).args(["-m", "Look around"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(model.violations(), Vec::<String>::new());
    assert_eq!(out.stdout, "All read.\n");
    let bodies = model.bodies();
    assert_eq!(bodies.len(), 3);
    // Tools are sent in a stable order, the last one and the system prompt marked for the cache.
    let names: Vec<&str> = bodies[0]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    for expected in ["read_file", "list_dir", "glob", "grep", "write_file", "edit_file", "bash", "web_fetch", "memory"]
    {
        assert!(names.contains(&expected), "{expected} missing from {names:?}");
    }
    assert_eq!(bodies[1]["tools"], bodies[0]["tools"], "the same tools on every step");
    assert_eq!(bodies[0]["tools"].as_array().unwrap().last().unwrap()["cache_control"]["type"], "ephemeral");
    assert_eq!(bodies[0]["system"][0]["cache_control"]["type"], "ephemeral");
    assert_eq!(bodies[1]["system"], bodies[0]["system"]);
    // Step 1's result: the file, numbered.
    let first = results(&bodies[1]);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].0, "toolu_1_0");
    assert!(first[0].1.contains("first line") && first[0].1.contains('1'), "{first:?}");
    assert!(!first[0].2);
    // Step 2: three results, in the calls' order; the unknown tool is an error naming the tools.
    let second = results(&bodies[2]);
    let ids: Vec<&str> = second.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(ids, ["toolu_2_0", "toolu_2_1", "toolu_2_2"]);
    assert!(second[0].1.contains("src/main.rs"), "{second:?}");
    assert!(second[1].1.contains("notes.txt"), "{second:?}");
    assert!(second[2].2 && second[2].1.contains("unknown tool `no_such_tool`"), "{second:?}");
    // The person sees one line per call on stderr.
    assert!(out.stderr.contains("▸ read_file"), "{}", out.stderr);
    assert!(out.stderr.contains("▸ glob"), "{}", out.stderr);
}

#[test]
fn wrong_input_is_an_error_result_naming_the_field_and_the_model_goes_on() {
    let sb = Sandbox::new();
    let ws = workspace(&sb);
    let model = StrictModel::start(
        Wire::Anthropic,
        vec![
            tools(&[("read_file", json!({"path": 3})), ("read_file", json!({})), ("read_file", json!({"file": "x"}))]),
            text("ok"),
        ],
    );
    let out = run(agent(&sb, &model, &ws).args(["-m", "go"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(model.violations(), Vec::<String>::new());
    let r = results(&model.bodies()[1]);
    assert!(r.iter().all(|(_, _, is_error)| *is_error), "{r:?}");
    assert!(r[0].1.contains("`path` must be a string"), "{r:?}");
    assert!(r[1].1.contains("missing field `path`"), "{r:?}");
    assert!(r[2].1.contains("unknown field `file`"), "{r:?}");
}

#[test]
fn the_openai_wire_gets_tool_calls_and_tool_messages() {
    let sb = Sandbox::new();
    let ws = workspace(&sb);
    let model =
        StrictModel::start(Wire::OpenAi, vec![call("read_file", json!({"path": "notes.txt"})), text("Read it.")]);
    std::fs::create_dir_all(sb.home()).unwrap();
    std::fs::write(
        sb.file("config.toml"),
        format!("[models.local]\nprovider = \"openai\"\nmodel = \"m\"\nbase_url = \"{}/v1\"\n", model.server.url),
    )
    .unwrap();
    let out = run(agent(&sb, &model, &ws).args(["-m", "Read notes", "--model", "local"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(model.violations(), Vec::<String>::new());
    assert_eq!(out.stdout, "Read it.\n");
    let bodies = model.bodies();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0]["tools"][0]["type"], "function");
    let messages = bodies[1]["messages"].as_array().unwrap();
    let tool = messages.iter().find(|m| m["role"] == "tool").expect("a tool message");
    assert_eq!(tool["tool_call_id"], "call_1_0");
    assert!(tool["content"].as_str().unwrap().contains("second line"));
    let assistant = messages.iter().find(|m| m["role"] == "assistant").unwrap();
    assert_eq!(assistant["tool_calls"][0]["function"]["name"], "read_file");
}

#[test]
fn a_session_keeps_every_step_and_continues_validly() {
    let sb = Sandbox::new();
    let ws = workspace(&sb);
    let model = StrictModel::start(
        Wire::Anthropic,
        vec![call("read_file", json!({"path": "notes.txt"})), text("It has two lines."), text("Still two.")],
    );
    let out = run(agent(&sb, &model, &ws).args(["-m", "How long is notes.txt?", "--session", "s"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let stored = sb.read("sessions/s.jsonl");
    let lines: Vec<Value> = stored.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let roles: Vec<&str> = lines.iter().map(|l| l["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["user", "assistant", "user", "assistant"], "every step is stored");
    assert_eq!(lines[1]["content"][0]["type"], "tool_use");
    assert_eq!(lines[2]["content"][0]["type"], "tool_result");
    let out = run(agent(&sb, &model, &ws).args(["-m", "And now?", "--session", "s"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(model.violations(), Vec::<String>::new());
    let last = model.bodies().pop().unwrap();
    assert_eq!(last["messages"].as_array().unwrap().len(), 5, "the whole conversation goes back");
}

#[test]
fn the_step_limit_ends_the_turn_with_every_call_answered() {
    let sb = Sandbox::new();
    let ws = workspace(&sb);
    let endless: Vec<Step> = (0..10).map(|_| call("list_dir", json!({}))).collect();
    let model = StrictModel::start(Wire::Anthropic, endless);
    let out = run(agent(&sb, &model, &ws).args(["-m", "loop", "--max-steps", "3", "--session", "m"]), "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("stopped after 3 model calls (--max-steps)"), "{}", out.stderr);
    assert_eq!(model.bodies().len(), 3);
    // The last calls were answered (not run), so the conversation continues validly.
    let stored: Vec<Value> = sb.read("sessions/m.jsonl").lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let last = stored.last().unwrap();
    assert_eq!(last["role"], "user");
    assert!(last["content"][0]["content"][0]["text"].as_str().unwrap().contains("--max-steps"), "{last}");
    let out = run(agent(&sb, &model, &ws).args(["-m", "enough", "--session", "m", "--max-steps", "1"]), "");
    assert_eq!(model.violations(), Vec::<String>::new(), "{}", out.stderr);
}

#[test]
fn json_prints_one_result_object_and_nothing_while_working() {
    let sb = Sandbox::new();
    let ws = workspace(&sb);
    let model =
        StrictModel::start(Wire::Anthropic, vec![call("read_file", json!({"path": "notes.txt"})), text("Done.")]);
    let out = run(agent(&sb, &model, &ws).args(["-m", "go", "--json"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let result: Value = serde_json::from_str(&out.stdout).expect("stdout is one JSON object");
    assert_eq!(result["version"], 1);
    assert_eq!(result["text"], "Done.");
    assert_eq!(result["stop_reason"], "end_turn");
    assert_eq!(result["steps"], 2);
    assert_eq!(result["tool_calls"][0]["name"], "read_file");
    assert_eq!(result["tool_calls"][0]["input"], json!({"path": "notes.txt"}));
    assert_eq!(result["tool_calls"][0]["is_error"], false);
    assert!(result["tool_calls"][0]["duration_ms"].is_u64());
    assert_eq!(result["usage"]["input_tokens"], 20);
    assert_eq!(result["usage"]["output_tokens"], 14);
    assert_eq!(result["usage"]["cache_read_input_tokens"], 10);
    assert!(result["error"].is_null());
    assert!(!out.stderr.contains("▸"), "no status lines with --json: {}", out.stderr);
}

#[test]
fn without_a_terminal_an_unruled_edit_is_refused_and_the_model_is_told_the_rule() {
    let sb = Sandbox::new();
    let ws = workspace(&sb);
    let model = StrictModel::start(
        Wire::Anthropic,
        vec![call("write_file", json!({"path": "new.txt", "content": "x"})), text("I could not.")],
    );
    let out = run(agent(&sb, &model, &ws).args(["-m", "write it"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!ws.join("new.txt").exists(), "nothing was written");
    let r = results(&model.bodies()[1]);
    assert!(r[0].2, "{r:?}");
    assert!(r[0].1.contains("edit_file(new.txt)") || r[0].1.contains("new.txt"), "{r:?}");
    assert!(out.stderr.contains("--allow"), "the person is told how to allow it: {}", out.stderr);

    // An allow rule on the command line lets it run; a deny rule wins over allow.
    let model = StrictModel::start(
        Wire::Anthropic,
        vec![
            tools(&[
                ("write_file", json!({"path": "new.txt", "content": "x"})),
                ("read_file", json!({"path": "notes.txt"})),
            ]),
            text("ok"),
        ],
    );
    let out = run(agent(&sb, &model, &ws).args(["-m", "go", "--allow", "edit", "--deny", "read_file(notes.txt)"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(ws.join("new.txt")).unwrap(), "x");
    let r = results(&model.bodies()[1]);
    assert!(!r[0].2, "{r:?}");
    assert!(r[1].2 && r[1].1.contains("read_file(notes.txt)"), "{r:?}");
}

#[test]
fn a_bad_rule_on_the_command_line_is_a_usage_error() {
    let sb = Sandbox::new();
    let ws = workspace(&sb);
    let model = StrictModel::start(Wire::Anthropic, vec![]);
    let out = run(agent(&sb, &model, &ws).args(["-m", "go", "--allow", "bash(unclosed"]), "");
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("bash(unclosed"), "{}", out.stderr);
    assert!(model.bodies().is_empty(), "nothing was sent");
}

#[test]
fn no_tools_is_a_plain_chat() {
    let sb = Sandbox::new();
    let ws = workspace(&sb);
    let model = StrictModel::start(Wire::Anthropic, vec![text("hi")]);
    let out = run(agent(&sb, &model, &ws).args(["-m", "hi", "--no-tools"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let body = &model.bodies()[0];
    assert!(body.get("tools").is_none() && body.get("system").is_none(), "{body}");
}

#[test]
fn show_prompt_prints_the_prompt_and_tools_with_sizes_and_sends_nothing() {
    let sb = Sandbox::new();
    let ws = workspace(&sb);
    std::fs::write(ws.join("AGENTS.md"), "Run cargo fmt before committing.\n").unwrap();
    let out = run(sb.cmd("http://127.0.0.1:9").args(["agent", "--show-prompt", "--workspace"]).arg(&ws), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("== system prompt ("), "{}", out.stdout);
    assert!(out.stdout.contains("Run cargo fmt before committing."), "AGENTS.md is in the prompt");
    assert!(out.stdout.contains("read_file"));
    let total: usize = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("== total: "))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a total line");
    assert!(total < 8 * 1024, "the prompt with every built-in tool stays under 8 KB: {total}");
}

#[test]
fn ctrl_c_kills_a_running_tool_and_answers_it_cancelled() {
    let sb = Sandbox::new();
    let ws = workspace(&sb);
    let model = StrictModel::start(
        Wire::Anthropic,
        vec![tools(&[("bash", json!({"command": "sleep 30"})), ("list_dir", json!({}))]), text("after")],
    );
    let mut child = sb
        .process(&model.server.url)
        .env("ANTHROPIC_API_KEY", api_key('k'))
        .args(["agent", "-m", "wait", "--allow", "bash", "--session", "c", "--workspace"])
        .arg(&ws)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the command runs (its status line), then Ctrl-C.
    let started = Instant::now();
    while !sb.read("sessions/c.jsonl").contains("sleep 30") {
        assert!(started.elapsed() < Duration::from_secs(20), "the tool never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let interrupted = Instant::now();
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert!(interrupted.elapsed() < Duration::from_secs(5), "Ctrl-C took {:?}", interrupted.elapsed());
    assert_eq!(status.code(), Some(130));
    assert_eq!(model.bodies().len(), 1, "nothing more was asked of the model");
    let stored: Vec<Value> = sb.read("sessions/c.jsonl").lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let answers = stored.last().unwrap()["content"].as_array().unwrap().clone();
    assert_eq!(answers.len(), 2, "both calls are answered: {answers:?}");
    assert!(answers.iter().all(|a| a["is_error"] == true), "{answers:?}");
    assert!(answers[1]["content"][0]["text"].as_str().unwrap().contains("cancelled by the user"), "{answers:?}");
    // The conversation goes on validly.
    let out = run(agent(&sb, &model, &ws).args(["-m", "again", "--session", "c"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(model.violations(), Vec::<String>::new());
}

#[test]
fn a_deny_rule_in_config_that_cannot_be_read_stops_the_agent_not_the_chat() {
    let sb = Sandbox::new();
    let ws = workspace(&sb);
    let model = StrictModel::start(Wire::Anthropic, vec![text("hi")]);
    std::fs::create_dir_all(sb.home()).unwrap();
    for deny in ["deny = [\"bash(rm:*\"]", "deny = [\"read_file(.env)\", 3]"] {
        std::fs::write(sb.file("config.toml"), format!("[permissions]\n{deny}\n")).unwrap();
        let sent = model.bodies().len();
        let out = run(agent(&sb, &model, &ws).args(["-m", "hi"]), "");
        assert_eq!(out.code, 2, "{deny}: {}", out.stderr);
        assert!(out.stderr.contains("deny"), "{}", out.stderr);
        assert_eq!(model.bodies().len(), sent, "nothing was sent");
        let out = run(agent(&sb, &model, &ws).args(["-m", "hi", "--no-tools"]), "");
        assert_eq!(out.code, 0, "{deny}: {}", out.stderr);
    }
}

#[test]
fn a_long_conversation_is_compacted_with_tool_calls_kept_paired_and_nothing_lost() {
    let sb = Sandbox::new();
    let ws = workspace(&sb);
    let model = StrictModel::start(
        Wire::Anthropic,
        vec![
            call("read_file", json!({"path": "notes.txt"})),
            text("one"),
            text("two"),
            text("three"),
            text("They read notes.txt (two lines) and counted."),
            text("four"),
        ],
    );
    std::fs::create_dir_all(sb.home()).unwrap();
    // A tiny window: every turn ends near it.
    std::fs::write(
        sb.file("config.toml"),
        "[models.tiny]\nprovider = \"anthropic\"\nmodel = \"claude-sonnet-4-6\"\ncontext_window = 20\n",
    )
    .unwrap();
    for (i, message) in ["read notes", "count", "again"].iter().enumerate() {
        let out = run(agent(&sb, &model, &ws).args(["-m", message, "--session", "long", "--model", "tiny"]), "");
        assert_eq!(out.code, 0, "turn {i}: {}", out.stderr);
        if i == 2 {
            assert!(out.stderr.contains("compacted"), "{}", out.stderr);
        }
    }
    assert_eq!(model.violations(), Vec::<String>::new());
    let bodies = model.bodies();
    // The summary was asked for with the older turn (its tool call and result) and an instruction.
    let summary_request = &bodies[4];
    let messages = summary_request["messages"].as_array().unwrap();
    assert!(summary_request.to_string().contains("tool_use"), "the old tool call went to the summary");
    assert!(messages.last().unwrap()["content"][0]["text"].as_str().unwrap().contains("summary"));
    // The file keeps everything and marks where the summary starts.
    let file = sb.read("sessions/long.jsonl");
    assert!(file.contains("read notes") && file.contains("\"tool_use\""), "nothing is lost");
    assert!(file.lines().any(|l| l.starts_with("{\"compaction\"")), "{file}");
    // The next turn sends the summary and the kept turns, and the strict model takes it.
    let out = run(agent(&sb, &model, &ws).args(["-m", "last", "--session", "long", "--model", "tiny"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(model.violations(), Vec::<String>::new());
    // (That run compacted again afterwards: its turn's request is the one before the last.)
    let bodies = model.bodies();
    let last = &bodies[bodies.len() - 2];
    let first = last["messages"][0]["content"][0]["text"].as_str().unwrap().to_string();
    assert!(first.starts_with("[Summary of the earlier part"), "{first}");
    assert!(first.contains("They read notes.txt"), "{first}");
    assert!(!last.to_string().contains("\"tool_use\""), "the summarised tool call is not sent again");
    assert!(last.to_string().contains("count") && last.to_string().contains("again"), "the last turns are whole");
}
