//! Version, help (exit codes and environment documented) and shell completions.

mod support;

use support::{Sandbox, run};

#[test]
fn version_help_and_completions() {
    let sb = Sandbox::new();
    let out = run(sb.cmd("http://127.0.0.1:1").arg("--version"), "");
    assert_eq!((out.code, out.stdout.trim()), (0, concat!("pincer ", env!("CARGO_PKG_VERSION"))));

    let out = run(sb.cmd("http://127.0.0.1:1").arg("--help"), "");
    assert_eq!(out.code, 0);
    for needle in [
        "Exit codes:",
        "130  interrupted",
        "PINCER_HOME",
        "ANTHROPIC_BASE_URL",
        "CLAUDE_CODE_OAUTH_TOKEN",
        "agent",
        "models",
    ] {
        assert!(out.stdout.contains(needle), "--help lacks {needle}:\n{}", out.stdout);
    }

    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = run(sb.cmd("http://127.0.0.1:1").args(["completions", shell]), "");
        assert_eq!(out.code, 0, "{shell}");
        assert!(out.stdout.contains("pincer") && out.stdout.contains("login"), "{shell}");
    }
    assert!(!sb.home().exists(), "completions and help touch no files");

    let out = run(sb.cmd("http://127.0.0.1:1").args(["auth", "login"]), "");
    assert_eq!(out.code, 2, "a missing --provider is a usage error");
    let out = run(sb.cmd("http://127.0.0.1:1").args(["chat", "--bogus"]), "");
    assert_eq!(out.code, 2);
}
