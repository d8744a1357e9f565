//! The interactive login as a person uses it, on a real pseudo-terminal: the menu, hidden input,
//! and nothing of the token on screen.

mod support;

use std::time::Duration;

use rexpect::session::spawn_command;
use support::{Sandbox, closed_port_url, setup_token};

const TIMEOUT_MS: u64 = 15_000;

fn pincer_on_pty(sb: &Sandbox, args: &[&str]) -> rexpect::session::PtySession {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("pincer"));
    cmd.env_clear()
        .env("PINCER_HOME", sb.home())
        .env("HOME", sb.dir.path())
        .env("ANTHROPIC_BASE_URL", closed_port_url())
        .env("TERM", "dumb")
        .args(args);
    spawn_command(cmd, Some(TIMEOUT_MS)).unwrap()
}

#[test]
fn menu_and_hidden_setup_token_on_a_tty() {
    let sb = Sandbox::new();
    let token = setup_token('p');
    let mut p = pincer_on_pty(&sb, &["auth", "login", "--provider", "anthropic"]);
    p.exp_string("1) Setup token (from `claude setup-token`)").unwrap();
    p.exp_string("Choose 1-2 [1]: ").unwrap();
    p.send_line("9").unwrap();
    p.exp_string("Not a valid choice").unwrap();
    p.exp_string("Choose 1-2 [1]: ").unwrap();
    p.send_line("1").unwrap();
    p.exp_string("Run `claude setup-token`").unwrap();
    p.exp_string("Setup token (input hidden): ").unwrap();
    // Give the prompt a moment to turn echo off, as a person would.
    std::thread::sleep(Duration::from_millis(200));
    p.send_line(&token).unwrap();
    let rest = p.exp_eof().unwrap();
    // rexpect reads the pty as Latin-1, so match around the `…` of the mask.
    assert!(rest.contains("Saved anthropic setup token (OAuth) sk-ant-oat01-ppp"), "{rest}");
    assert!(rest.contains("zAA to "), "{rest}");
    assert!(!rest.contains(&token[13..40]), "the token was echoed:\n{rest}");
    let auth: serde_json::Value = serde_json::from_str(&sb.read("auth.json")).unwrap();
    assert_eq!(auth["credentials"]["anthropic"]["secret"], token.as_str());
}

#[test]
fn hidden_api_key_rejection_on_a_tty_does_not_echo() {
    let sb = Sandbox::new();
    let mut p = pincer_on_pty(&sb, &["auth", "login", "--provider", "anthropic", "--api-key"]);
    p.exp_string("Anthropic API key (input hidden): ").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let wrong = setup_token('q');
    p.send_line(&wrong).unwrap();
    let rest = p.exp_eof().unwrap();
    assert!(rest.contains("--setup-token"), "{rest}");
    assert!(!rest.contains(&wrong[13..40]), "the token was echoed:\n{rest}");
    assert!(!sb.file("auth.json").exists());
}
