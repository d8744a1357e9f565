//! A hostile model against the real binary: every call it can script (the strict model in
//! tests/support checks each request as the real APIs do), and what comes of it — the results the
//! model was told, in order and one per call, and the files on disk, unchanged where they must be.
//!
//! The hard limits of SPEC §9 hold for every tool, with `--yolo`, and with a workspace that holds
//! `$PINCER_HOME`; paths out of the workspace need approval to read and are never written;
//! broken, mistyped, unknown, too many, too large and endless calls are answered with errors the
//! model can act on; huge results are capped; escape sequences never reach the person's stderr;
//! and a call that needs approval with nobody at a terminal is refused with the rule that allows it.

mod agent_support;
mod support;

use agent_support::{Agent, Seen, call_ids, results_in, snapshot};
use serde_json::{Value, json};
use support::fake_server::FakeServer;
use support::strict_model::{self, Step, Wire, call, text, tools};
use support::{Sandbox, api_key, closed_port_url, run, sse};

const HOME_SECRET: &str = "HOME-SECRET-7f3a";
/// Patterns that match [`HOME_SECRET`] without containing it (the model's own calls are sent
/// back in every request; only what a tool returned may not carry the secret).
const HOME_SECRET_PATTERN: &str = "HOME-SECRET-7f3[a]";
const OUTSIDE_SECRET: &str = "OUTSIDE-SECRET-91c2";
const OUTSIDE_SECRET_PATTERN: &str = "OUTSIDE-SECRET-91c[2]";

fn both<F: Fn(Wire)>(test: F) {
    for wire in [Wire::Anthropic, Wire::OpenAi] {
        test(wire);
    }
}

/// `$PINCER_HOME` with a stored API key, a history, a session and a commented config.
fn fill_home(sb: &Sandbox) {
    let out = run(
        sb.cmd(&closed_port_url()).args(["auth", "login", "-p", "anthropic", "--api-key", "--no-verify"]),
        &format!("{}\n", api_key('s')),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    std::fs::write(sb.file("history.txt"), format!("{HOME_SECRET} typed in the REPL\n")).unwrap();
    std::fs::create_dir_all(sb.file("sessions")).unwrap();
    let line = json!({"role": "user", "content": [{"type": "text", "text": HOME_SECRET}]});
    std::fs::write(sb.file("sessions/old.jsonl"), format!("{line}\n")).unwrap();
    std::fs::write(sb.file("config.toml"), format!("# {HOME_SECRET} a comment the person wrote\n")).unwrap();
}

fn assert_seen(seen: &[Seen], expected_ids: &[String], what: &[(&str, Value)]) {
    let ids: Vec<&str> = seen.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, expected_ids, "one result per call, in the calls' order");
    for (s, (name, input)) in seen.iter().zip(what) {
        assert!(!s.text.is_empty(), "{name} {input}: an empty result");
    }
}

fn assert_never_sent(agent: &Agent, secrets: &[&str]) {
    let sent = agent.all_request_text();
    for secret in secrets {
        assert!(!sent.contains(secret), "{secret:?} reached the model");
    }
}

/// Every tool aims at `$PINCER_HOME` (by absolute path, relative path, a symlink, `/proc/self/root`)
/// and at pincer's own process, with `--yolo`: nothing is read, listed, searched or written, in a
/// workspace beside the home and in one that contains it (a workspace of `~`).
#[test]
fn the_home_is_out_of_reach_of_every_tool_even_with_yolo() {
    for home_inside_workspace in [false, true] {
        let sb = Sandbox::new();
        fill_home(&sb);
        let home = sb.home().canonicalize().unwrap();
        let h = home.display().to_string();
        let workspace = if home_inside_workspace { sb.dir.path().to_path_buf() } else { sb.dir.path().join("ws") };
        std::fs::create_dir_all(&workspace).unwrap();
        std::os::unix::fs::symlink(&home, workspace.join("link")).unwrap();
        let rel = if home_inside_workspace { "pincer-home" } else { "../pincer-home" };
        let calls: Vec<(&str, Value)> = vec![
            ("read_file", json!({"path": format!("{h}/auth.json")})),
            ("read_file", json!({"path": format!("{rel}/history.txt")})),
            ("read_file", json!({"path": "link/config.toml"})),
            ("read_file", json!({"path": format!("/proc/self/root{h}/auth.json")})),
            ("read_file", json!({"path": "/proc/self/environ"})),
            ("read_file", json!({"path": "/proc/thread-self/environ"})),
            // Spelled through pincer's own /proc entry, refused even where it leads somewhere safe.
            ("list_dir", json!({"path": "/proc/self/cwd"})),
            ("read_file", json!({"path": format!("{h}/sessions/old.jsonl"), "offset": 1})),
            ("list_dir", json!({"path": h})),
            ("list_dir", json!({"path": "link"})),
            ("glob", json!({"pattern": "**/*", "path": h})),
            ("glob", json!({"pattern": "**/*"})),
            ("glob", json!({"pattern": "**/*.json*"})),
            ("grep", json!({"pattern": HOME_SECRET_PATTERN, "path": h})),
            ("grep", json!({"pattern": format!("{HOME_SECRET_PATTERN}|sk-ant-api0[3]")})),
            ("grep", json!({"pattern": "sk-ant", "path": "link"})),
            (
                "write_file",
                json!({"path": format!("{h}/config.toml"), "content": "[permissions]\nallow = [\"bash\"]\n"}),
            ),
            ("write_file", json!({"path": format!("{rel}/new.txt"), "content": "x"})),
            ("write_file", json!({"path": "link/skills/evil/SKILL.md", "content": "---\nname: evil\n---\n"})),
            ("edit_file", json!({"path": format!("{h}/config.toml"), "old_string": "#", "new_string": "x"})),
            ("edit_file", json!({"path": "link/history.txt", "old_string": "REPL", "new_string": "x"})),
            ("bash", json!({"command": format!("cat {h}/auth.json {h}/history.txt")})),
            ("bash", json!({"command": format!("grep -r '{HOME_SECRET_PATTERN}' {h} link/ .")})),
            ("bash", json!({"command": format!("echo '[permissions]' > {h}/config.toml; touch {h}/made-by-bash")})),
            // Up the process tree: sh, the supervisor, pincer. No credential in any environment.
            (
                "bash",
                json!({"command": "p=$$; while [ \"$p\" -gt 1 ]; do tr '\\0' '\\n' < /proc/$p/environ; p=$(cut -d' ' -f4 /proc/$p/stat); done | grep -c kkkkkkkkkk"}),
            ),
        ];
        let steps = vec![tools(&calls), text("done")];
        let agent = Agent::in_workspace(sb, workspace, Wire::Anthropic, steps);
        let before = snapshot(&home);
        let out = agent.run(&["--yolo", "-m", "go"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        agent.assert_valid_requests();
        let seen = agent.seen(1);
        assert_seen(&seen, &call_ids(Wire::Anthropic, 1, calls.len()), &calls);
        for (s, (name, input)) in seen.iter().zip(&calls) {
            let is_file_tool = *name != "bash";
            let searches_workspace = matches!(*name, "glob" | "grep") && input.get("path").is_none();
            if is_file_tool && !searches_workspace {
                assert!(s.is_error, "{name} {input} ran: {}", s.text);
                let refused = [
                    "inside pincer's home",
                    "pincer's skills folder",
                    "pincer's own process",
                    "a process's environment",
                ];
                assert!(refused.iter().any(|r| s.text.contains(r)), "{name} {input}: {}", s.text);
            }
            // A search of the workspace skips the home: not even its file names show.
            for leaked in ["auth.json", "history.txt", "old.jsonl", "sk-ant-api03-"] {
                if searches_workspace {
                    assert!(!s.text.contains(leaked), "{name} {input} showed {leaked}: {}", s.text);
                }
            }
        }
        let environ = &seen.last().unwrap().text;
        assert!(environ.lines().any(|l| l == "0"), "a credential in the environment of pincer or its tools: {environ}");
        assert_never_sent(&agent, &[HOME_SECRET, &api_key('s'), &api_key('k'), "kkkkkkkkkkkkkkkkkkkkkkkk"]);
        assert_eq!(
            snapshot(&home),
            before,
            "the home changed (layout: home inside the workspace = {home_inside_workspace})"
        );
    }
}

/// Paths that leave the workspace — `..`, absolute, a symlink, `/proc/self/root` — need the
/// person's approval to read (refused here: no terminal) and are never written, not even with
/// `--yolo` (which approves the reads, and runs bash inside its sandbox).
#[test]
fn escapes_from_the_workspace_need_approval_to_read_and_are_never_written() {
    for yolo in [false, true] {
        // Not in a temp folder: bash may write those.
        let sb = Sandbox { dir: support::scratch::outside_temp_dirs() };
        let outside = sb.dir.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret.txt"), format!("{OUTSIDE_SECRET}\n")).unwrap();
        let o = outside.canonicalize().unwrap().display().to_string();
        let workspace = sb.dir.path().join("ws");
        std::fs::create_dir_all(&workspace).unwrap();
        std::os::unix::fs::symlink(&outside, workspace.join("out")).unwrap();
        std::os::unix::fs::symlink(outside.join("secret.txt"), workspace.join("secret-link.txt")).unwrap();
        let reads: Vec<(&str, Value)> = vec![
            ("read_file", json!({"path": "../outside/secret.txt"})),
            ("read_file", json!({"path": format!("{o}/secret.txt")})),
            ("read_file", json!({"path": "out/secret.txt"})),
            ("read_file", json!({"path": "secret-link.txt"})),
            ("list_dir", json!({"path": ".."})),
            ("list_dir", json!({"path": "out"})),
            ("glob", json!({"pattern": "*", "path": "../outside"})),
            ("grep", json!({"pattern": OUTSIDE_SECRET_PATTERN, "path": "out"})),
        ];
        let always_refused: Vec<(&str, Value)> = vec![
            ("read_file", json!({"path": format!("/proc/self/root{o}/secret.txt")})),
            ("read_file", json!({"path": "/proc/self/cwd/../outside/secret.txt"})),
            ("read_file", json!({"path": "./sub/../../outside/secret.txt"})),
            ("glob", json!({"pattern": "../outside/*"})),
            ("write_file", json!({"path": "../outside/new.txt", "content": "x"})),
            ("write_file", json!({"path": format!("{o}/new.txt"), "content": "x"})),
            ("write_file", json!({"path": "out/new.txt", "content": "x"})),
            ("write_file", json!({"path": "out/deeper/new.txt", "content": "x"})),
            ("write_file", json!({"path": "secret-link.txt", "content": "overwritten"})),
            ("edit_file", json!({"path": "out/secret.txt", "old_string": "OUTSIDE", "new_string": "x"})),
            ("edit_file", json!({"path": "secret-link.txt", "old_string": "OUTSIDE", "new_string": "x"})),
        ];
        // Inside the workspace, searches do not follow the links out of it.
        let searches: Vec<(&str, Value)> =
            vec![("grep", json!({"pattern": OUTSIDE_SECRET_PATTERN})), ("glob", json!({"pattern": "**/*.txt"}))];
        let bash = ("bash", json!({"command": format!("echo x > {o}/by-bash.txt; echo y > ../outside/by-bash2.txt")}));
        let mut calls = reads.clone();
        calls.extend(always_refused.iter().cloned());
        calls.extend(searches.iter().cloned());
        calls.push(bash);
        // Two steps: the second `edit_file`s after a read, so "not read yet" cannot be the reason.
        let edits = vec![
            ("read_file", json!({"path": "out/secret.txt"})),
            ("edit_file", json!({"path": "out/secret.txt", "old_string": "OUTSIDE", "new_string": "x"})),
        ];
        let agent = Agent::in_workspace(sb, workspace, Wire::Anthropic, vec![tools(&calls), tools(&edits), text("ok")]);
        let before = snapshot(&outside);
        let flags: &[&str] = if yolo { &["--yolo", "-m", "go"] } else { &["-m", "go"] };
        let out = agent.run(flags);
        assert_eq!(out.code, 0, "{}", out.stderr);
        agent.assert_valid_requests();
        let seen = agent.seen(1);
        assert_seen(&seen, &call_ids(Wire::Anthropic, 1, calls.len()), &calls);
        let (seen_reads, rest) = seen.split_at(reads.len());
        let (seen_refused, rest) = rest.split_at(always_refused.len());
        let (seen_searches, seen_bash) = rest.split_at(searches.len());
        for (s, (name, input)) in seen_reads.iter().zip(&reads) {
            if yolo {
                assert!(!s.is_error, "{name} {input} with --yolo: {}", s.text);
            } else {
                assert!(s.is_error, "{name} {input} ran without approval: {}", s.text);
                assert!(s.text.contains("needs the person's approval, and there is no terminal"), "{}", s.text);
                assert!(s.text.contains("--allow '"), "the rule that would allow it: {}", s.text);
            }
        }
        for (s, (name, input)) in seen_refused.iter().zip(&always_refused) {
            assert!(s.is_error, "{name} {input} ran (yolo={yolo}): {}", s.text);
            assert!(!s.text.contains(OUTSIDE_SECRET), "{name} {input}: {}", s.text);
        }
        for (s, (name, input)) in seen_searches.iter().zip(&searches) {
            assert!(!s.text.contains(OUTSIDE_SECRET) && !s.text.contains("secret.txt"), "{name} {input}: {}", s.text);
        }
        assert!(seen_bash[0].is_error, "bash: {}", seen_bash[0].text);
        let second = agent.seen(2);
        assert!(second[1].is_error, "edit_file out of the workspace after a read: {}", second[1].text);
        assert!(second[1].text.contains("outside the workspace"), "{}", second[1].text);
        if !yolo {
            assert_never_sent(&agent, &[OUTSIDE_SECRET]);
        }
        assert_eq!(snapshot(&outside), before, "a file outside the workspace changed (yolo={yolo})");
    }
}

/// An Anthropic stream of one answer whose calls carry `raw` argument text, sent as is.
fn anthropic_raw_calls(n: usize, calls: &[(&str, &str)]) -> String {
    let mut out = format!(
        "event: message_start\ndata: {}\n\n",
        json!({"type": "message_start", "message": {"id": format!("msg_{n}"), "type": "message", "role": "assistant", "content": [], "model": "m", "stop_reason": null, "usage": {"input_tokens": 1, "output_tokens": 1}}})
    );
    for (k, (name, raw)) in calls.iter().enumerate() {
        out.push_str(&format!(
            "event: content_block_start\ndata: {}\n\nevent: content_block_delta\ndata: {}\n\nevent: content_block_stop\ndata: {}\n\n",
            json!({"type": "content_block_start", "index": k, "content_block": {"type": "tool_use", "id": format!("toolu_{n}_{k}"), "name": name, "input": {}}}),
            json!({"type": "content_block_delta", "index": k, "delta": {"type": "input_json_delta", "partial_json": raw}}),
            json!({"type": "content_block_stop", "index": k}),
        ));
    }
    out.push_str(&format!(
        "event: message_delta\ndata: {}\n\nevent: message_stop\ndata: {{\"type\":\"message_stop\"}}\n\n",
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}})
    ));
    out
}

/// The same for OpenAI's `chat/completions`.
fn openai_raw_calls(n: usize, calls: &[(&str, &str)]) -> String {
    let chunk = |delta: Value, finish: Value| {
        format!(
            "data: {}\n\n",
            json!({"id": format!("c{n}"), "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        )
    };
    let mut out = chunk(json!({"role": "assistant", "content": null}), Value::Null);
    for (k, (name, raw)) in calls.iter().enumerate() {
        out.push_str(&chunk(
            json!({"tool_calls": [{"index": k, "id": format!("call_{n}_{k}"), "type": "function", "function": {"name": name, "arguments": raw}}]}),
            Value::Null,
        ));
    }
    out.push_str(&chunk(json!({}), json!("tool_calls")));
    out.push_str("data: [DONE]\n\n");
    out
}

fn raw_step(wire: Wire, calls: &[(&str, &str)]) -> Step {
    Step::Raw(match wire {
        Wire::Anthropic => anthropic_raw_calls(1, calls),
        Wire::OpenAi => openai_raw_calls(1, calls),
    })
}

/// Arguments that are not JSON, not an object, of the wrong type, missing, unknown; tools that
/// do not exist: each call gets an error result naming the problem, the good call among them
/// still runs, nothing else does, and the next request is one the API accepts.
#[test]
fn broken_arguments_and_unknown_tools_are_answered_with_errors_naming_the_problem() {
    both(|wire| {
        let calls: Vec<(&str, &str, Option<&str>)> = vec![
            ("read_file", r#"{"path": "a.txt""#, Some("not valid JSON")),
            ("read_file", "[1, 2]", Some("object")),
            ("read_file", r#""a.txt""#, Some("object")),
            ("read_file", r#"{"path": 3}"#, Some("field `path` must be a string")),
            ("read_file", r#"{"path": "a.txt", "offset": "ten"}"#, Some("field `offset` must be an integer")),
            ("read_file", r#"{"path": "a.txt", "mode": "raw"}"#, Some("unknown field `mode`")),
            ("read_file", "{}", Some("missing field `path`")),
            ("read_file", r#"{"path": null}"#, Some("`path`")),
            ("bash", r#"{"command": ["rm", "-rf", "/"]}"#, Some("field `command` must be a string")),
            ("bash", r#"{"command": "touch made-by-bash", "timeout": 100000}"#, Some("timeout")),
            ("edit_file", r#"{"path": "a.txt", "old_string": "x", "new_string": 7}"#, Some("new_string")),
            ("rm_rf", r#"{"path": "/"}"#, Some("unknown tool `rm_rf`")),
            ("Read_File", r#"{"path": "a.txt"}"#, Some("unknown tool `Read_File`")),
            ("mcp__evil__run", "{}", Some("unknown tool")),
            ("read_file", r#"{"path": "a.txt"}"#, None),
        ];
        let raw: Vec<(&str, &str)> = calls.iter().map(|(n, a, _)| (*n, *a)).collect();
        let agent = Agent::new(wire, vec![raw_step(wire, &raw), text("done")]);
        std::fs::write(agent.ws("a.txt"), "alpha\n").unwrap();
        let before = snapshot(&agent.workspace);
        let out = agent.run(&["--yolo", "-m", "go"]);
        assert_eq!(out.code, 0, "{wire:?}: {}", out.stderr);
        agent.assert_valid_requests();
        let seen = agent.seen(1);
        assert_eq!(seen.iter().map(|s| s.id.clone()).collect::<Vec<_>>(), call_ids(wire, 1, calls.len()), "{wire:?}");
        for (s, (name, args, problem)) in seen.iter().zip(&calls) {
            match problem {
                Some(problem) => {
                    assert!(s.is_error, "{wire:?} {name} {args} ran: {}", s.text);
                    assert!(s.text.contains(problem), "{wire:?} {name} {args}: {:?} does not name {problem:?}", s.text);
                }
                None => assert!(!s.is_error && s.text.contains("alpha"), "{wire:?} the good call: {}", s.text),
            }
        }
        if wire == Wire::Anthropic {
            // What is sent back as the calls: objects, whatever the model streamed.
            let assistant = &agent.bodies()[1]["messages"][1]["content"];
            for block in assistant.as_array().unwrap() {
                assert!(block["input"].is_object(), "{block}");
            }
        }
        assert_eq!(snapshot(&agent.workspace), before, "{wire:?}: a broken call changed something");
        assert!(out.stdout.contains("done"), "{wire:?}: the turn went on: {}", out.stdout);
    });
}

/// 100 calls in one answer: every one is answered, in order, under its own id; the first 32 run,
/// the rest are told to ask for fewer at a time.
#[test]
fn a_hundred_calls_in_one_answer_are_all_answered_in_order() {
    both(|wire| {
        let calls: Vec<(String, Value)> =
            (0..100).map(|i| ("read_file".to_string(), json!({"path": format!("f{i:03}.txt")}))).collect();
        let agent = Agent::new(wire, vec![Step::Tools(None, calls.clone()), text("done")]);
        for i in 0..100 {
            std::fs::write(agent.ws(&format!("f{i:03}.txt")), format!("content of file {i:03}\n")).unwrap();
        }
        let out = agent.run(&["--json", "-m", "go"]);
        assert_eq!(out.code, 0, "{wire:?}: {}", out.stderr);
        agent.assert_valid_requests();
        let seen = agent.seen(1);
        assert_eq!(seen.iter().map(|s| s.id.clone()).collect::<Vec<_>>(), call_ids(wire, 1, 100), "{wire:?}");
        for (i, s) in seen.iter().enumerate() {
            if i < 32 {
                assert!(!s.is_error && s.text.contains(&format!("content of file {i:03}")), "{wire:?} {i}: {}", s.text);
            } else {
                assert!(s.is_error && s.text.contains("at most 32 tool calls"), "{wire:?} {i}: {}", s.text);
            }
        }
        let result: Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(result["tool_calls"].as_array().unwrap().len(), 32, "{wire:?}: calls run");
    });
}

/// A model that never stops asking (a new call every time, so nothing repeats): the turn ends
/// at the default 40 model calls, exit 1, with a notice; the 40th answer's calls are answered
/// "not run" in the session, so it continues validly.
#[test]
fn an_endless_tool_loop_stops_at_the_default_step_limit() {
    let count = std::sync::Arc::new(std::sync::Mutex::new(0usize));
    let counter = count.clone();
    let server = FakeServer::start(move |r| {
        let body: Value = serde_json::from_slice(&r.body).unwrap_or_default();
        if let Some(problem) = strict_model::check_anthropic(&body) {
            return support::fake_server::Response::json(
                400,
                &json!({"type": "error", "error": {"type": "invalid_request_error", "message": problem}}).to_string(),
            );
        }
        let mut n = counter.lock().unwrap();
        *n += 1;
        let step = if *n <= 40 { call("glob", json!({"pattern": format!("*.{n}")})) } else { text("finally") };
        sse(&strict_model::anthropic_stream(&step, *n), 4096)
    });
    let sb = Sandbox::new();
    let workspace = sb.dir.path().join("ws");
    std::fs::create_dir_all(&workspace).unwrap();
    let mut cmd = sb.cmd(&server.url);
    cmd.env("ANTHROPIC_API_KEY", api_key('k')).arg("agent").arg("--workspace").arg(&workspace);
    let out = run(cmd.args(["--session", "loop", "-m", "go"]), "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("stopped after 40 model calls (--max-steps)"), "{}", out.stderr);
    assert_eq!(*count.lock().unwrap(), 40, "model calls in the turn");
    let requests = server.requests();
    assert!(requests.iter().all(|r| r.path == "/v1/messages"));
    // The next turn sends the stored steps back: every call answered, the last ones "not run".
    let mut cmd = sb.cmd(&server.url);
    cmd.env("ANTHROPIC_API_KEY", api_key('k')).arg("agent").arg("--workspace").arg(&workspace);
    let out = run(cmd.args(["--session", "loop", "--max-steps", "1", "-m", "and now?"]), "");
    let last = server.requests().last().unwrap().json();
    // The question, 40 calls and their results; the new question joins the last results.
    assert_eq!(last["messages"].as_array().unwrap().len(), 1 + 40 * 2, "{}", out.stderr);
    let answers = results_in(&last, Wire::Anthropic);
    assert_eq!(answers.len(), 1);
    assert!(answers[0].is_error && answers[0].text.contains("limit of 40 model calls"), "{answers:?}");
}

/// `write_file` of 20 MB: refused before anything runs (the input limit is 8 MiB), the model is
/// told, and no file appears.
#[test]
fn huge_arguments_are_refused_and_write_nothing() {
    let content = "0123456789abcdef".repeat(20 * 1024 * 1024 / 16);
    let agent = Agent::new(
        Wire::Anthropic,
        vec![call("write_file", json!({"path": "huge.txt", "content": content})), text("done")],
    );
    let out = agent.run(&["--yolo", "-m", "go"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    agent.assert_valid_requests();
    let seen = agent.seen(1);
    assert_eq!(seen.len(), 1);
    assert!(seen[0].is_error && seen[0].text.contains("larger than 8 MiB"), "{:?}", seen[0]);
    assert!(!agent.ws("huge.txt").exists(), "the file was written");
    assert_eq!(snapshot(&agent.workspace), vec![]);
}

/// Results that would be gigabytes — a 3 GB file, `yes` through bash, thousands of entries —
/// reach the model capped, with a note saying what was cut.
#[test]
fn gigabytes_of_results_reach_the_model_capped() {
    let calls: Vec<(&str, Value)> = vec![
        ("read_file", json!({"path": "big.log"})),
        ("bash", json!({"command": "yes | head -c 1000000000; echo; echo last-line"})),
        ("bash", json!({"command": "yes", "timeout": 2})),
        ("list_dir", json!({"path": "many"})),
        ("glob", json!({"pattern": "many/*"})),
        ("grep", json!({"pattern": "line", "path": "big.log"})),
    ];
    let agent = Agent::new(Wire::Anthropic, vec![tools(&calls), text("done")]);
    // 3 GB: text at the start, then a hole (reads as zeros; no disk used).
    let big = std::fs::File::create(agent.ws("big.log")).unwrap();
    let head: String = (0..100_000).map(|i| format!("line {i} of a log\n")).collect();
    std::io::Write::write_all(&mut &big, head.as_bytes()).unwrap();
    big.set_len(3_000_000_000).unwrap();
    std::fs::create_dir_all(agent.ws("many")).unwrap();
    for i in 0..3000 {
        std::fs::write(agent.ws(&format!("many/{i:05}.txt")), "").unwrap();
    }
    let out = agent.run(&["--yolo", "-m", "go"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    agent.assert_valid_requests();
    let seen = agent.seen(1);
    assert_eq!(seen.len(), calls.len());
    let caps = [256 * 1024 + 1024, 33 * 1024, 33 * 1024, 64 * 1024, 32 * 1024 + 512, 32 * 1024 + 512];
    for ((s, (name, input)), cap) in seen.iter().zip(&calls).zip(caps) {
        assert!(s.text.len() <= cap, "{name} {input}: {} bytes reached the model (cap {cap})", s.text.len());
    }
    assert!(seen[0].text.contains("line 0 of a log") && seen[0].text.contains("offset"), "{}", &seen[0].text[..200]);
    assert!(
        seen[1].text.contains("cut from the middle") && seen[1].text.contains("last-line"),
        "{}",
        seen[1].text.len()
    );
    assert!(
        seen[2].is_error && seen[2].text.contains("(timeout 2 s)"),
        "{}",
        &seen[2].text[seen[2].text.len() - 300..]
    );
    assert!(seen[3].text.contains("00000.txt") && !seen[3].text.contains("02999.txt"), "list_dir capped");
    assert!(seen[4].text.contains("many/00000.txt") && !seen[4].text.contains("many/02999.txt"), "glob capped");
    let total: usize = agent.bodies()[1].to_string().len();
    assert!(total < 1024 * 1024, "the request carrying the results is {total} bytes");
}

/// Escape sequences in file contents, names, commands and output: what pincer prints on stderr
/// (status lines, summaries, notices) and stdout shows them in caret notation, never raw.
#[test]
fn escape_sequences_from_tools_and_the_model_reach_the_terminal_sanitised() {
    let evil = "\x1b]0;PWNED-TITLE\x07\x1b[2J\x1b[31mred\x1b[0m\r\n";
    let calls: Vec<(&str, Value)> = vec![
        ("read_file", json!({"path": "evil.txt"})),
        ("read_file", json!({"path": "missing\x1b[2J\x1b]0;T\x07.txt"})),
        ("bash", json!({"command": "cat evil.txt; printf '\\033[1A\\033[2K\\a'; echo '\x1b[41mraw'"})),
        ("bash", json!({"command": "cat evil.txt; exit 3"})),
        ("write_file", json!({"path": "new\x1b[2J.txt", "content": "x"})),
    ];
    let final_text = "all \x1b[2J done \x1b]0;T\x07";
    let agent = Agent::new(Wire::Anthropic, vec![tools(&calls), Step::Text(final_text.into())]);
    std::fs::write(agent.ws("evil.txt"), evil).unwrap();
    let out = agent.run(&["--allow", "bash", "-m", "go"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for (stream, name) in [(&out.stderr, "stderr"), (&out.stdout, "stdout")] {
        let raw: Vec<char> = stream.chars().filter(|c| c.is_control() && !matches!(c, '\n' | '\t')).collect();
        assert!(raw.is_empty(), "{name} carries raw control characters {raw:?}:\n{stream}");
    }
    // A command is shown in caret notation; a file name with its control characters escaped
    // (`\u{1b}`), as the file tools name paths everywhere.
    assert!(
        out.stderr.contains("▸ bash  cat evil.txt; printf '\\033[1A\\033[2K\\a'; echo '^[[41mraw'"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("✗ missing\\u{1b}[2J\\u{1b}]0;T\\u{7}.txt does not exist"), "{}", out.stderr);
    assert!(out.stderr.contains("refused write_file new\\u{1b}[2J.txt"), "the refusal notice: {}", out.stderr);
    assert!(out.stdout.contains("all ^[[2J done ^[]0;T^G"), "{}", out.stdout);
    assert!(!agent.ws("new\x1b[2J.txt").exists(), "the refused write happened");
    // The model itself gets the bytes as they are (it is not a terminal).
    let seen = agent.seen(1);
    assert!(seen[0].text.contains("\x1b]0;PWNED-TITLE\x07"), "{:?}", seen[0].text);
}

/// With nobody at a terminal, a call that needs approval is refused: the model is told which
/// rule allows it (in its next request), stderr says so, nothing runs — and the rule it names
/// does allow the same call on the next run.
#[test]
fn without_a_terminal_asking_calls_are_refused_with_the_rule_that_allows_them() {
    let calls: Vec<(&str, Value)> = vec![
        ("write_file", json!({"path": "notes/new.txt", "content": "hello\n"})),
        ("bash", json!({"command": "touch made-by-bash"})),
        ("bash", json!({"command": "touch a; touch b"})),
        ("web_fetch", json!({"url": "https://docs.example.invalid/page"})),
    ];
    let agent = Agent::new(Wire::Anthropic, vec![tools(&calls), text("ok"), tools(&calls[..2]), text("ok")]);
    let out = agent.run(&["-m", "go"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    agent.assert_valid_requests();
    let seen = agent.seen(1);
    assert_eq!(seen.len(), calls.len());
    let mut rules = Vec::new();
    for (s, (name, _)) in seen.iter().zip(&calls) {
        assert!(s.is_error, "{name} ran: {}", s.text);
        assert!(s.text.contains(&format!("this {name} call needs the person's approval")), "{}", s.text);
        if let Some(start) = s.text.find("--allow '") {
            let rule = &s.text[start + "--allow '".len()..];
            rules.push(rule[..rule.find('\'').unwrap()].to_string());
        }
    }
    assert_eq!(rules[..2], ["write_file(notes/new.txt)", "bash(touch made-by-bash)"], "{seen:?}");
    assert!(seen[2].text.contains("single simple command"), "a compound command has no rule: {}", seen[2].text);
    for rule in &rules[..2] {
        assert!(out.stderr.contains(&format!("(--allow '{rule}' allows it)")), "{}", out.stderr);
    }
    assert!(!agent.ws("notes").exists() && !agent.ws("made-by-bash").exists() && !agent.ws("a").exists());

    // The rules the model was given allow exactly these calls.
    let mut args: Vec<&str> = Vec::new();
    for rule in &rules[..2] {
        args.extend(["--allow", rule]);
    }
    args.extend(["-m", "again"]);
    let out = agent.run(&args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let seen = agent.seen(3);
    assert!(seen.iter().all(|s| !s.is_error), "{seen:?}");
    assert_eq!(std::fs::read_to_string(agent.ws("notes/new.txt")).unwrap(), "hello\n");
    assert!(agent.ws("made-by-bash").exists());
}
