//! `config.toml` as a person writes it: values of the wrong type are reported (file, line, key,
//! type) once per run and broken entries are listed, never dropped; a symlinked file is written
//! through to its target.

mod support;

use support::{Sandbox, closed_port_url, run, setup_token};

const BROKEN: &str = r#"# my models
default_model = "local"

[models.local]
provider = "openai"
model = "qwen2.5-0.5b"
base_url = 8080
max_tokens = "8192"

[models.nameless]
model = "gpt-5"

[models.big]
provider = "anthropic"
model = "claude-opus-4-8"
"#;

fn sandbox_with(config: &str) -> Sandbox {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.home()).unwrap();
    std::fs::write(sb.file("config.toml"), config).unwrap();
    sb
}

#[test]
fn models_lists_broken_entries_with_why_and_each_problem_is_warned_once() {
    let sb = sandbox_with(BROKEN);
    let out = run(sb.cmd(&closed_port_url()).args(["models", "--json"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let models = report["models"].as_array().unwrap();
    let names: Vec<&str> = models.iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["local", "nameless", "big"], "no entry vanishes");
    let local = &models[0];
    assert_eq!(local["credential_status"], "error");
    assert_eq!(local["default"], true);
    let problem = local["problem"].as_str().unwrap();
    assert!(
        problem.contains("line 7") && problem.contains("models.local.base_url") && problem.contains("an integer"),
        "{problem}"
    );
    assert!(models[1]["problem"].as_str().unwrap().contains("`models.nameless.provider` is missing"), "{}", models[1]);
    assert_eq!(models[2]["problem"], serde_json::Value::Null);
    assert_eq!(models[2]["credential_status"], "missing");
    // The documented shape is kept: the same keys on every entry.
    for m in models {
        let mut keys: Vec<&str> = m.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "base_url",
                "credential",
                "credential_status",
                "default",
                "max_tokens",
                "model",
                "name",
                "problem",
                "provider",
                "temperature"
            ]
        );
    }
    // stderr: one warning per problem, with the file and the line, once per run.
    let config = sb.file("config.toml").display().to_string();
    for (line, key) in [(7, "models.local.base_url"), (8, "models.local.max_tokens"), (10, "models.nameless.provider")]
    {
        let needle = format!("warning: {config} line {line}: `{key}`");
        assert_eq!(out.stderr.matches(&needle).count(), 1, "{needle}\n{}", out.stderr);
    }
    assert_eq!(out.stderr.lines().count(), 3, "{}", out.stderr);

    let human = run(sb.cmd(&closed_port_url()).arg("models"), "");
    assert_eq!(human.code, 0, "{}", human.stderr);
    let row = human.stdout.lines().find(|l| l.starts_with("local *")).unwrap_or_default();
    assert!(
        row.contains("error: line 7: `models.local.base_url` should be a non-empty string, not an integer"),
        "{}",
        human.stdout
    );
    let row = human.stdout.lines().find(|l| l.starts_with("nameless")).unwrap_or_default();
    assert!(row.contains("  ?  "), "an unknown provider shows as ?: {row}");
}

#[test]
fn a_broken_model_is_refused_with_its_line_not_called_unknown_nor_replaced_by_a_builtin() {
    let sb =
        sandbox_with("[models.sonnet]\nprovider = \"anthropic\"\nmodel = \"claude-sonnet-4-6\"\nmax_tokens = -1\n");
    let out = run(
        sb.cmd(&closed_port_url())
            .env("ANTHROPIC_API_KEY", support::api_key('k'))
            .args(["agent", "--model", "sonnet", "-m", "hi"]),
        "",
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("the model `sonnet` in config.toml cannot be used: line 4"), "{}", out.stderr);
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);
}

#[test]
fn a_symlinked_config_is_written_through_and_the_link_kept() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.home()).unwrap();
    let dotfiles = sb.dir.path().join("dotfiles");
    std::fs::create_dir(&dotfiles).unwrap();
    let real = dotfiles.join("pincer.toml");
    std::fs::write(&real, "# kept in git\n[network]\nread_timeout = 30\n").unwrap();
    std::os::unix::fs::symlink("../dotfiles/pincer.toml", sb.file("config.toml")).unwrap();
    let out = run(
        sb.cmd(&closed_port_url()).args(["auth", "login", "--provider", "anthropic", "--setup-token"]),
        &format!("{}\n", setup_token('s')),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let link = std::fs::symlink_metadata(sb.file("config.toml")).unwrap();
    assert!(link.file_type().is_symlink(), "config.toml was replaced by a file");
    let text = std::fs::read_to_string(&real).unwrap();
    assert!(text.contains("# kept in git\n") && text.contains("read_timeout = 30"), "{text}");
    assert!(text.contains("[models.sonnet]") && text.contains("default_model = \"sonnet\""), "{text}");
    let stray: Vec<_> = std::fs::read_dir(&dotfiles).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(stray, [std::ffi::OsString::from("pincer.toml")], "no temporary file is left beside the target");
}
