//! Small things a person sees: no colour on a dumb terminal, a future save time said as such.

mod support;

use rexpect::session::spawn_command;
use support::{Sandbox, api_key, closed_port_url, run};

const TIMEOUT_MS: u64 = 15_000;

/// An `auth.json` with one Anthropic API key saved at `saved_at` (an API key: no usage call).
fn sandbox_with_key(saved_at: &str) -> Sandbox {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.home()).unwrap();
    let auth = serde_json::json!({
        "version": 1,
        "credentials": {"anthropic": {"provider": "anthropic", "method": "api_key", "secret": api_key('c'), "saved_at": saved_at}}
    });
    std::fs::write(sb.file("auth.json"), auth.to_string()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(sb.file("auth.json"), std::fs::Permissions::from_mode(0o600)).unwrap();
    sb
}

/// `pincer auth status` on a pseudo-terminal with `TERM` set as given; everything it printed.
fn status_on_pty(sb: &Sandbox, term: &str) -> String {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("pincer"));
    cmd.env_clear()
        .env("PINCER_HOME", sb.home())
        .env("HOME", sb.dir.path())
        .env("ANTHROPIC_BASE_URL", closed_port_url())
        .env("TERM", term)
        .env("TZ", "UTC")
        .args(["auth", "status", "--no-usage"]);
    let mut p = spawn_command(cmd, Some(TIMEOUT_MS)).unwrap();
    p.exp_eof().unwrap()
}

#[test]
fn term_dumb_means_no_colour_even_on_a_terminal() {
    let sb = sandbox_with_key("2026-01-01T00:00:00Z");
    let coloured = status_on_pty(&sb, "xterm-256color");
    assert!(coloured.contains("\x1b[1manthropic"), "a real terminal gets colour: {coloured:?}");
    let dumb = status_on_pty(&sb, "dumb");
    assert!(dumb.contains("anthropic"), "{dumb:?}");
    assert!(!dumb.contains('\x1b'), "TERM=dumb must get no escape sequence: {dumb:?}");
}

#[test]
fn a_saved_at_in_the_future_is_said_to_be_in_the_future() {
    let sb = sandbox_with_key("2099-01-01T00:00:00Z");
    let out = run(sb.cmd(&closed_port_url()).args(["auth", "status", "--no-usage"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let line = out.stdout.lines().find(|l| l.trim_start().starts_with("saved")).unwrap_or_default();
    assert!(line.contains("2099-01-01 00:00") && line.contains("in the future"), "{}", out.stdout);
    assert!(!out.stdout.contains("days ago") && !out.stdout.contains("(-"), "{}", out.stdout);
    assert!(out.stdout.contains("clock"), "the warning says what to check: {}", out.stdout);
}
