//! The approval prompt as a person uses it, on a pseudo-terminal: `y`, `n`, Enter, `a` (the same
//! call is not asked again), `s` (the rule lands in config.toml with its comments, and the next
//! run is not asked), Ctrl-C (the turn ends, every open call is answered "cancelled by the
//! user": exit 130 in one-shot, back to the prompt in the REPL), a message piped on stdin while
//! the answers come from the terminal, and tool output previewed in caret notation.
//!
//! Each test also reads what the model was told: the results in the request that followed.

mod agent_support;
mod support;

use std::process::Command;

use agent_support::{Agent, Seen, results_in};
use rexpect::process::WaitStatus;
use rexpect::session::{PtySession, spawn_command};
use serde_json::json;
use support::api_key;
use support::strict_model::{Step, Wire, call, text, tools};

const TIMEOUT_MS: u64 = 20_000;
const PROMPT_WITH_RULE: &str = "Allow? [y]es  [n]o  [a]lways this session  [s]ave as a rule  (Enter = no): ";
const DECLINED: &str = "the person declined this call; it was not run";
const CANCELLED: &str = "cancelled by the user";

/// The hermetic environment of `Agent::cmd`, for a command run on a pseudo-terminal.
fn pty_command(agent: &Agent, program: &str) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("PINCER_HOME", agent.sb.home())
        .env("HOME", agent.sb.dir.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("ANTHROPIC_BASE_URL", &agent.model.server.url)
        .env("ANTHROPIC_API_KEY", api_key('k'))
        .env("TZ", "UTC")
        // A real terminal for the REPL's line editor, without colour so the text is plain.
        .env("TERM", "xterm")
        .env("NO_COLOR", "1");
    cmd
}

fn pincer() -> String {
    assert_cmd::cargo::cargo_bin("pincer").display().to_string()
}

/// `pincer agent --workspace WS ARGS…` with the terminal as stdin, stdout and stderr.
fn on_terminal(agent: &Agent, args: &[&str]) -> PtySession {
    let mut cmd = pty_command(agent, &pincer());
    cmd.arg("agent").arg("--workspace").arg(&agent.workspace).args(args);
    spawn_command(cmd, Some(TIMEOUT_MS)).unwrap()
}

fn exit_code(p: &PtySession) -> i32 {
    match p.process().wait().unwrap() {
        WaitStatus::Exited(_, code) => code,
        other => panic!("pincer did not exit normally: {other:?}"),
    }
}

/// The one result the model received in request `n`.
fn only_result(agent: &Agent, n: usize) -> Seen {
    let seen = agent.seen(n);
    assert_eq!(seen.len(), 1, "{seen:?}");
    seen.into_iter().next().unwrap()
}

#[test]
fn yes_runs_the_call_and_the_model_sees_its_result() {
    let agent = Agent::new(Wire::Anthropic, vec![call("bash", json!({"command": "touch made-by-yes"})), text("done")]);
    let mut p = on_terminal(&agent, &["-m", "go"]);
    p.exp_string("? bash  touch made-by-yes").unwrap();
    p.exp_string("allow from now on:").unwrap();
    p.exp_string("bash(touch made-by-yes)").unwrap();
    p.exp_string(PROMPT_WITH_RULE).unwrap();
    p.send_line("y").unwrap();
    p.exp_string("done").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(exit_code(&p), 0);
    agent.assert_valid_requests();
    let result = only_result(&agent, 1);
    assert!(!result.is_error && result.text.contains("exit 0"), "{result:?}");
    assert!(agent.ws("made-by-yes").exists());
}

#[test]
fn no_and_enter_decline_and_the_model_is_told() {
    for answer in ["n", "", "maybe\r"] {
        let agent = Agent::new(
            Wire::Anthropic,
            vec![call("write_file", json!({"path": "new.txt", "content": "one\ntwo\n"})), text("done")],
        );
        let mut p = on_terminal(&agent, &["-m", "go"]);
        p.exp_string("? write_file  new.txt (2 lines)").unwrap();
        // An edit is shown as a diff (rexpect reads bytes as Latin-1: no `│` in what it waits for).
        p.exp_string("+two").unwrap();
        p.exp_string(PROMPT_WITH_RULE).unwrap();
        if let Some(unclear) = answer.strip_suffix('\r') {
            p.send_line(unclear).unwrap();
            p.exp_string("Answer y, n, a or s (Enter = no).").unwrap();
            p.exp_string(PROMPT_WITH_RULE).unwrap();
            p.send_line("").unwrap();
        } else {
            p.send_line(answer).unwrap();
        }
        p.exp_string("done").unwrap();
        p.exp_eof().unwrap();
        assert_eq!(exit_code(&p), 0, "answer {answer:?}");
        let result = only_result(&agent, 1);
        assert!(result.is_error && result.text == DECLINED, "answer {answer:?}: {result:?}");
        assert!(!agent.ws("new.txt").exists(), "answer {answer:?} wrote the file");
    }
}

/// `a`: the same call later in the session is not asked; a different one is.
#[test]
fn always_allows_the_same_call_for_the_rest_of_the_session() {
    let steps = vec![
        call("bash", json!({"command": "touch x"})),
        call("bash", json!({"command": "touch x"})),
        call("bash", json!({"command": "touch y"})),
        text("done"),
    ];
    let agent = Agent::new(Wire::Anthropic, steps);
    let mut p = on_terminal(&agent, &["-m", "go"]);
    p.exp_string("? bash  touch x").unwrap();
    p.exp_string(PROMPT_WITH_RULE).unwrap();
    p.send_line("a").unwrap();
    // The next question is about `touch y`: the second `touch x` ran without one.
    let between = p.exp_string(PROMPT_WITH_RULE).unwrap();
    assert!(between.contains("? bash  touch y"), "{between}");
    assert!(!between.contains("? bash  touch x"), "asked again: {between}");
    p.send_line("n").unwrap();
    p.exp_string("done").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(exit_code(&p), 0);
    agent.assert_valid_requests();
    assert!(!only_result(&agent, 1).is_error);
    assert!(!only_result(&agent, 2).is_error, "the second identical call ran");
    assert_eq!(only_result(&agent, 3).text, DECLINED);
    assert!(!agent.ws("y").exists());
    // Only for this session: nothing was saved.
    assert!(!agent.sb.read("config.toml").contains("touch x"));
}

/// `s`: the rule is added to config.toml, the person's comments and other settings kept, and a
/// new run (here with no terminal at all, where asking is impossible) runs the call unasked.
#[test]
fn save_adds_the_rule_to_config_keeping_comments_and_the_next_run_is_not_asked() {
    let command = json!({"command": "git status"});
    let agent = Agent::new(
        Wire::Anthropic,
        vec![call("bash", command.clone()), text("saved"), call("bash", command.clone()), text("again")],
    );
    let config = "# my settings — keep this line\n\n[permissions]\n# rules I trust\nallow = [\"read\"] # reads everywhere\ndeny = [\"bash(rm:*)\"]\n\n[tools.bash]\ntimeout = 60 # seconds\n";
    std::fs::write(agent.sb.file("config.toml"), config).unwrap();
    std::process::Command::new("git").arg("init").arg("-q").arg(&agent.workspace).status().unwrap();
    let mut p = on_terminal(&agent, &["-m", "go"]);
    p.exp_string("allow from now on:").unwrap();
    p.exp_string("bash(git status:*)").unwrap();
    p.exp_string(PROMPT_WITH_RULE).unwrap();
    p.send_line("s").unwrap();
    p.exp_string("saved").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(exit_code(&p), 0);
    assert!(!only_result(&agent, 1).is_error, "{:?}", only_result(&agent, 1));
    let saved = agent.sb.read("config.toml");
    for kept in ["# my settings — keep this line", "# rules I trust", "# reads everywhere", "timeout = 60 # seconds"]
    {
        assert!(saved.contains(kept), "{kept:?} lost:\n{saved}");
    }
    assert!(saved.contains("\"bash(git status:*)\""), "{saved}");
    assert!(saved.contains("deny = [\"bash(rm:*)\"]"), "{saved}");
    let out = agent.run(&["-m", "go on"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("needs approval"), "{}", out.stderr);
    let result = only_result(&agent, 3);
    assert!(!result.is_error && result.text.contains("exit 0"), "{result:?}");
}

/// Ctrl-C at the prompt of a one-shot run: the turn ends with exit 130, and every call of the
/// answer has its one result — "cancelled by the user" for the asked call and those after it —
/// which the next run sends to the model.
#[test]
fn ctrl_c_at_the_prompt_ends_a_one_shot_turn_with_130_answering_every_call() {
    let calls = [
        ("read_file", json!({"path": "a.txt"})),
        ("bash", json!({"command": "touch c1"})),
        ("bash", json!({"command": "touch c2"})),
    ];
    let agent = Agent::new(Wire::Anthropic, vec![tools(&calls), text("after the interruption")]);
    std::fs::write(agent.ws("a.txt"), "alpha\n").unwrap();
    let mut p = on_terminal(&agent, &["--session", "s", "-m", "go"]);
    p.exp_string("? bash  touch c1").unwrap();
    p.exp_string(PROMPT_WITH_RULE).unwrap();
    p.send_control('c').unwrap();
    let after = p.exp_eof().unwrap();
    assert!(!after.contains("read_file"), "a call ran after Ctrl-C: {after:?}");
    assert_eq!(exit_code(&p), 130);
    assert_eq!(agent.bodies().len(), 1, "no request after Ctrl-C");
    assert!(!agent.ws("c1").exists() && !agent.ws("c2").exists());

    let out = agent.run(&["--session", "s", "-m", "what happened?"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    agent.assert_valid_requests();
    let seen = agent.seen(1);
    let ids: Vec<&str> = seen.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["toolu_1_0", "toolu_1_1", "toolu_1_2"]);
    // The read waited for the asked call (calls run in order): it is not run after Ctrl-C.
    assert_eq!(seen[0].text, CANCELLED);
    assert_eq!(seen[1].text, CANCELLED);
    assert_eq!(seen[2].text, CANCELLED);
    assert!(seen.iter().all(|s| s.is_error));
    let bodies = agent.bodies();
    let last = &bodies[1]["messages"].as_array().unwrap().last().unwrap()["content"];
    assert_eq!(last.as_array().unwrap().last().unwrap()["text"], "what happened?");
}

/// Ctrl-C at the prompt in the REPL: back to the REPL's prompt; the next message goes to the
/// model after the cancelled call's result.
#[test]
fn ctrl_c_at_the_prompt_in_the_repl_goes_back_to_the_prompt() {
    let agent = Agent::new(
        Wire::Anthropic,
        vec![tools(&[("bash", json!({"command": "touch r1"})), ("glob", json!({"pattern": "*"}))]), text("fine")],
    );
    let mut p = on_terminal(&agent, &[]);
    p.exp_string("> ").unwrap();
    p.send_line("do it").unwrap();
    p.exp_string(PROMPT_WITH_RULE).unwrap();
    p.send_control('c').unwrap();
    p.exp_string("> ").unwrap();
    p.send_line("never mind").unwrap();
    p.exp_string("fine").unwrap();
    p.exp_string("> ").unwrap();
    p.send_line("/exit").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(exit_code(&p), 0);
    agent.assert_valid_requests();
    let second = &agent.bodies()[1];
    let seen = results_in(second, Wire::Anthropic);
    assert_eq!(seen.iter().map(|s| s.text.as_str()).collect::<Vec<_>>(), [CANCELLED, CANCELLED], "{second:#}");
    let last = &second["messages"].as_array().unwrap().last().unwrap()["content"];
    assert_eq!(last.as_array().unwrap().last().unwrap()["text"], "never mind");
    assert!(!agent.ws("r1").exists());
}

/// The message comes on stdin (a pipe, with `y` lines in it), the prompt and its answer on the
/// terminal: stdin never answers. The person says no at the terminal.
#[test]
fn a_piped_message_never_answers_an_approval() {
    let agent = Agent::new(Wire::Anthropic, vec![call("bash", json!({"command": "touch piped"})), text("done")]);
    let mut cmd = pty_command(&agent, "/bin/sh");
    cmd.arg("-c").arg("printf 'please do it\\ny\\ny\\nyes\\n' | exec \"$0\" agent --workspace \"$1\"").arg(pincer());
    cmd.arg(&agent.workspace);
    let mut p = spawn_command(cmd, Some(TIMEOUT_MS)).unwrap();
    p.exp_string("? bash  touch piped").unwrap();
    p.exp_string(PROMPT_WITH_RULE).unwrap();
    p.send_line("n").unwrap();
    p.exp_string("done").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(exit_code(&p), 0);
    let first = &agent.bodies()[0];
    assert_eq!(first["messages"][0]["content"][0]["text"], "please do it\ny\ny\nyes\n");
    assert_eq!(only_result(&agent, 1).text, DECLINED);
    assert!(!agent.ws("piped").exists());
}

/// On a terminal a result is previewed under its status line: escape sequences in a file and
/// in a command's output show in caret notation and never act on the terminal.
#[test]
fn previews_of_tool_output_show_escape_sequences_in_caret_notation() {
    let calls = [
        ("read_file", json!({"path": "evil.txt"})),
        ("bash", json!({"command": "printf 'out \\033]0;TITLE\\007 \\033[2J end\\n'"})),
    ];
    let agent = Agent::new(Wire::Anthropic, vec![tools(&calls), Step::Text("done".into())]);
    std::fs::write(agent.ws("evil.txt"), "before \x1b]0;PWNED\x07 \x1b[2J\x1b[1;1H after\n").unwrap();
    let mut p = on_terminal(&agent, &["--allow", "bash", "-m", "go"]);
    let mut shown = String::new();
    for needle in ["before ^[]0;PWNED^G ^[[2J^[[1;1H after", "out ^[]0;TITLE^G ^[[2J end"] {
        shown.push_str(&p.exp_string(needle).unwrap());
        shown.push_str(needle);
    }
    shown.push_str(&p.exp_eof().unwrap());
    assert_eq!(exit_code(&p), 0);
    // pincer's own line clearing (`ESC [K`) may be there; nothing from the file or the command.
    for raw in ["\x1b]", "\x1b[2J", "\x1b[1;1H", "\x07"] {
        assert!(!shown.contains(raw), "{raw:?} reached the terminal: {shown:?}");
    }
}
