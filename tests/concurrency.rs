//! Many pincer processes writing at once lose no entry and leave valid, private files.

mod support;

use support::{Sandbox, closed_port_url, mode_of, run, setup_token};

const PROCESSES: usize = 24;

#[test]
fn concurrent_logins_lose_no_entry() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.home()).unwrap();
    // Named providers so each process writes its own entry.
    let config: String =
        (0..PROCESSES).map(|i| format!("[providers.p{i}]\nbase_url = \"http://127.0.0.1:1/v1\"\n\n")).collect();
    std::fs::write(sb.file("config.toml"), &config).unwrap();

    let url = closed_port_url();
    let mut handles = Vec::new();
    for i in 0..PROCESSES {
        let mut cmd = sb.cmd(&url);
        cmd.args(["auth", "login", "--provider", &format!("p{i}"), "--api-key"]);
        handles.push(std::thread::spawn(move || run(&mut cmd, &format!("key-number-{i:03}\n"))));
    }
    // Anthropic logins race on config.toml too: exactly one model must be added.
    for tag in ['a', 'b', 'c', 'd'] {
        let mut cmd = sb.cmd(&url);
        cmd.args(["auth", "login", "--provider", "anthropic", "--setup-token"]);
        handles.push(std::thread::spawn(move || run(&mut cmd, &format!("{}\n", setup_token(tag)))));
    }
    for h in handles {
        let out = h.join().unwrap();
        assert_eq!(out.code, 0, "{}", out.stderr);
    }

    let auth: serde_json::Value = serde_json::from_str(&sb.read("auth.json")).expect("auth.json stays valid JSON");
    let creds = auth["credentials"].as_object().unwrap();
    for i in 0..PROCESSES {
        let entry = &creds[&format!("p{i}")];
        assert_eq!(entry["secret"], format!("key-number-{i:03}"), "p{i} lost or mixed up");
    }
    assert!(creds.contains_key("anthropic"));
    assert_eq!(creds.len(), PROCESSES + 1);
    assert_eq!(mode_of(&sb.file("auth.json")), 0o600);

    let config_after = sb.read("config.toml");
    // Every user line survives, in order (default_model, a root key, goes above the tables).
    let mut after = config_after.lines();
    for line in config.lines().filter(|l| !l.is_empty()) {
        assert!(after.any(|l| l == line), "lost {line:?}:\n{config_after}");
    }
    assert_eq!(config_after.matches("provider = \"anthropic\"").count(), 1, "{config_after}");
    assert_eq!(config_after.matches("default_model").count(), 1, "{config_after}");
    // No temporary files left behind.
    let stray: Vec<_> = std::fs::read_dir(sb.home())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}
