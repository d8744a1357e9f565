//! Two agents — two pincer processes, each with its own model — editing the same file in one
//! workspace through `edit_file` at the same time: the file is never corrupted and no edit is
//! lost (the file tools lock the file for each read-modify-write and replace it atomically).

mod agent_support;
mod support;

use std::process::Stdio;

use agent_support::Agent;
use serde_json::{Value, json};
use support::strict_model::{Step, Wire, call, text};
use support::{Sandbox, api_key};

/// Lines each agent edits, in steps of at most 32 calls (the per-answer limit).
const EDITS_PER_AGENT: usize = 120;
const EDITS_PER_STEP: usize = 30;
/// Filler that makes each edit read and write a file of some size (so edits overlap in time).
const FILLER_LINES: usize = 20_000;

fn line(agent: char, i: usize, state: &str) -> String {
    format!("{agent}{i:03} = {state}")
}

fn script(agent: char) -> Vec<Step> {
    let mut steps = vec![call("read_file", json!({"path": "shared.txt", "limit": 1}))];
    let edits: Vec<(String, Value)> = (0..EDITS_PER_AGENT)
        .map(|i| {
            let input = json!({"path": "shared.txt", "old_string": line(agent, i, "todo"), "new_string": line(agent, i, &format!("done by {agent}"))});
            ("edit_file".to_string(), input)
        })
        .collect();
    for chunk in edits.chunks(EDITS_PER_STEP) {
        steps.push(Step::Tools(None, chunk.to_vec()));
    }
    steps.push(text("edited"));
    steps
}

#[test]
fn two_agents_editing_one_file_lose_no_edit() {
    let root = Sandbox::new();
    let workspace = root.dir.path().join("ws");
    std::fs::create_dir_all(&workspace).unwrap();
    // Each agent's lines interleaved with the other's, filler between them.
    let mut original = String::new();
    for i in 0..EDITS_PER_AGENT {
        for agent in ['a', 'b'] {
            original.push_str(&line(agent, i, "todo"));
            original.push('\n');
        }
        for k in 0..FILLER_LINES / EDITS_PER_AGENT {
            original.push_str(&format!("filler {i} {k} ----------------------------------------\n"));
        }
    }
    std::fs::write(workspace.join("shared.txt"), &original).unwrap();

    let agents: Vec<(char, Agent)> = ['a', 'b']
        .into_iter()
        .map(|a| (a, Agent::in_workspace(Sandbox::new(), workspace.clone(), Wire::Anthropic, script(a))))
        .collect();
    let children: Vec<_> = agents
        .iter()
        .map(|(_, agent)| {
            agent
                .sb
                .process(&agent.model.server.url)
                .env("ANTHROPIC_API_KEY", api_key('k'))
                .arg("agent")
                .arg("--workspace")
                .arg(&agent.workspace)
                .args(["--allow", "edit_file", "--json", "-m", "edit your lines"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for ((name, agent), child) in agents.iter().zip(children) {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "agent {name}: {stderr}");
        agent.assert_valid_requests();
        let result: Value = serde_json::from_slice(&out.stdout).unwrap();
        let calls = result["tool_calls"].as_array().unwrap();
        assert_eq!(calls.len(), 1 + EDITS_PER_AGENT, "agent {name}");
        let failed: Vec<&Value> = calls.iter().filter(|c| c["is_error"] == true).collect();
        assert!(failed.is_empty(), "agent {name}: failed edits {failed:?}");
        // What the model was told: each edit made its one replacement.
        for n in 2..agent.bodies().len() {
            for seen in agent.seen(n) {
                assert!(seen.text.contains("1 replacement"), "agent {name}: {seen:?}");
            }
        }
    }

    let edited = std::fs::read_to_string(workspace.join("shared.txt")).unwrap();
    let expected = (0..EDITS_PER_AGENT).fold(original.clone(), |text, i| {
        ['a', 'b']
            .into_iter()
            .fold(text, |text, a| text.replacen(&line(a, i, "todo"), &line(a, i, &format!("done by {a}")), 1))
    });
    let lost: Vec<&str> = edited.lines().filter(|l| l.ends_with("= todo")).collect();
    assert!(lost.is_empty(), "{} edits lost, e.g. {:?}", lost.len(), &lost[..lost.len().min(5)]);
    assert!(edited == expected, "the file is not the original with every edit made");
    let names: Vec<String> =
        std::fs::read_dir(&workspace).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["shared.txt"], "no temporary file is left behind");
}
