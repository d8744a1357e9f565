//! `pincer auth login` and `logout` through the real binary, with a fake Anthropic on loopback.

mod support;

use support::fake_server::{FakeServer, Response};
use support::{Sandbox, api_key, closed_port_url, mode_of, run, setup_token};

fn models_ok() -> FakeServer {
    FakeServer::start(|_| {
        Response::json(200, r#"{"data":[{"type":"model","id":"claude-sonnet-4-6"}],"has_more":false}"#)
    })
}

#[test]
fn setup_token_by_flag_is_saved_private_with_notice_and_config() {
    let sb = Sandbox::new();
    let server = models_ok();
    let token = setup_token('a');
    let out = run(
        sb.cmd(&server.url).args(["auth", "login", "--provider", "anthropic", "--setup-token"]),
        &format!("  {token}  \n"),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(mode_of(&sb.home()), 0o700);
    assert_eq!(mode_of(&sb.file("auth.json")), 0o600);
    let auth: serde_json::Value = serde_json::from_str(&sb.read("auth.json")).unwrap();
    assert_eq!(auth["version"], 1);
    let entry = &auth["credentials"]["anthropic"];
    assert_eq!(entry["method"], "oauth");
    assert_eq!(entry["secret"], token.as_str(), "surrounding whitespace is trimmed");
    assert!(entry["saved_at"].as_str().unwrap().ends_with('Z'));
    // Masked token, the file, the terms notice and how to check the token.
    assert!(out.stderr.contains("sk-ant-oat01-aaa…zAA"), "{}", out.stderr);
    assert!(out.stderr.contains(&sb.file("auth.json").display().to_string()));
    assert!(out.stderr.contains("Anthropic's terms restrict subscription (OAuth) tokens"));
    assert!(out.stderr.contains("pincer auth status --probe"));
    assert!(!out.stderr.contains(&token) && !out.stdout.contains(&token));
    // No free check exists for setup tokens: nothing was sent.
    assert!(server.requests().is_empty(), "{:?}", server.paths());
    // Config: an Anthropic model and a default.
    let config = sb.read("config.toml");
    assert!(config.contains("[models.sonnet]") && config.contains("claude-sonnet-4-6"), "{config}");
    assert!(config.contains("default_model = \"sonnet\""), "{config}");
}

#[test]
fn api_key_through_piped_menu_is_verified_with_x_api_key() {
    let sb = Sandbox::new();
    let server = models_ok();
    let key = api_key('b');
    let out = run(sb.cmd(&server.url).args(["auth", "login", "-p", "anthropic"]), &format!("2\n{key}\n"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("1) Setup token (from `claude setup-token`)"), "{}", out.stderr);
    assert!(out.stderr.contains("2) API key (from console.anthropic.com)"));
    assert!(out.stderr.contains("(verified)"), "{}", out.stderr);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", "/v1/models?limit=1"));
    assert_eq!(r.header("x-api-key"), Some(key.as_str()));
    assert_eq!(r.header("authorization"), None, "an API key is never sent as Bearer");
    assert_eq!(r.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(r.header("user-agent"), Some(concat!("pincer/", env!("CARGO_PKG_VERSION"))));
    let auth: serde_json::Value = serde_json::from_str(&sb.read("auth.json")).unwrap();
    assert_eq!(auth["credentials"]["anthropic"]["method"], "api_key");
    assert!(!out.stderr.contains("Anthropic's terms"), "the OAuth notice is for setup tokens only");
}

#[test]
fn menu_reprompts_on_invalid_choices_and_enter_picks_setup_token() {
    let sb = Sandbox::new();
    let token = setup_token('c');
    let out = run(
        sb.cmd(&closed_port_url()).args(["auth", "login", "-p", "anthropic"]),
        &format!("x\n3\n{token}\n\n{token}\n"),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr.matches("Not a valid choice").count(), 3, "{}", out.stderr);
    assert!(!out.stderr.contains(&token), "a token typed at the menu is never echoed");
    let auth: serde_json::Value = serde_json::from_str(&sb.read("auth.json")).unwrap();
    assert_eq!(auth["credentials"]["anthropic"]["method"], "oauth");
}

#[test]
fn end_of_input_exits_2_and_saves_nothing() {
    for (args, stdin) in [
        (vec!["auth", "login", "-p", "anthropic"], ""),
        (vec!["auth", "login", "-p", "anthropic"], "7\n"),
        (vec!["auth", "login", "-p", "anthropic"], "1\n"),
        (vec!["auth", "login", "-p", "anthropic", "--api-key"], ""),
    ] {
        let sb = Sandbox::new();
        let out = run(sb.cmd(&closed_port_url()).args(&args), stdin);
        assert_eq!(out.code, 2, "{args:?} {stdin:?}: {}", out.stderr);
        assert!(out.stderr.contains("end of input"), "{}", out.stderr);
        assert!(!sb.file("auth.json").exists());
        assert!(!sb.file("config.toml").exists());
    }
}

/// Each rejection: exit 2, a message naming the problem and the fix, files untouched, no token.
#[test]
fn every_rejection_is_explained_and_leaves_files_untouched() {
    let good = setup_token('d');
    let key = api_key('e');
    let mut bad_char = good.clone();
    bad_char.replace_range(40..41, ".");
    let cases: Vec<(&str, String, &str)> = vec![
        ("--setup-token", "".into(), "no token was entered"),
        ("--setup-token", "   ".into(), "no token was entered"),
        ("--setup-token", key.clone(), "--api-key"),
        ("--api-key", good.clone(), "--setup-token"),
        ("--setup-token", format!("sk-ant-ort01-{}", "r".repeat(95)), "refresh token"),
        ("--setup-token", format!("ghp_{}", "g".repeat(100)), "should start with `sk-ant-oat01-`"),
        ("--api-key", format!("sk-proj-{}", "p".repeat(100)), "should start with `sk-ant-api03-`"),
        ("--setup-token", good[..79].to_string(), "79 characters long"),
        ("--api-key", key[..60].to_string(), "cut off while pasting"),
        ("--setup-token", bad_char.clone(), "character 41 of the token is `.`"),
        ("--setup-token", format!("{}…{}", &good[..50], &good[100..]), "ellipsis"),
    ];
    for (flag, input, expected) in cases {
        let sb = Sandbox::new();
        std::fs::create_dir_all(sb.home()).unwrap();
        let before = r#"{"version":1,"credentials":{}}"#;
        std::fs::write(sb.file("auth.json"), before).unwrap();
        let out =
            run(sb.cmd(&closed_port_url()).args(["auth", "login", "-p", "anthropic", flag]), &format!("{input}\n"));
        assert_eq!(out.code, 2, "{flag} {expected}: {}", out.stderr);
        assert!(out.stderr.contains(expected), "expected {expected:?} in:\n{}", out.stderr);
        assert!(out.stderr.contains("hint:"), "{}", out.stderr);
        if input.trim().len() > 12 {
            let secretish = &input.trim()[13..];
            assert!(!out.stderr.contains(secretish) && !out.stdout.contains(secretish), "token echoed: {}", out.stderr);
        }
        assert_eq!(sb.read("auth.json"), before, "{expected}");
        assert!(!sb.file("config.toml").exists());
    }
}

#[test]
fn rejected_api_key_is_not_saved() {
    let sb = Sandbox::new();
    let server = FakeServer::start(|_| {
        Response::json(
            401,
            r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"},"request_id":"req_9"}"#,
        )
    });
    let out = run(
        sb.cmd(&server.url).args(["auth", "login", "-p", "anthropic", "--api-key"]),
        &format!("{}\n", api_key('f')),
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("Anthropic rejected the API key (HTTP 401 authentication_error: invalid x-api-key)"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("nothing was saved"));
    assert!(!sb.file("auth.json").exists());
}

#[test]
fn unreachable_verification_saves_with_warning_and_no_verify_sends_nothing() {
    let sb = Sandbox::new();
    let out = run(
        sb.cmd(&closed_port_url()).args(["auth", "login", "-p", "anthropic", "--api-key"]),
        &format!("{}\n", api_key('g')),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("could not verify the API key (connection refused)"), "{}", out.stderr);
    assert!(sb.read("auth.json").contains("api_key"));

    let sb = Sandbox::new();
    let server = models_ok();
    let out = run(
        sb.cmd(&server.url).args(["auth", "login", "-p", "anthropic", "--api-key", "--no-verify"]),
        &format!("{}\n", api_key('h')),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(server.requests().is_empty());
}

#[test]
fn login_keeps_user_config_comments_and_default() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.home()).unwrap();
    let user = "# mine, do not touch\ndefault_model = \"local\"  # keep\n\n[models.local]\nprovider = \"openai\"\nmodel = \"qwen2.5-0.5b\"\nbase_url = \"http://127.0.0.1:8080/v1\"\nmystery = true\n";
    std::fs::write(sb.file("config.toml"), user).unwrap();
    let out = run(
        sb.cmd(&closed_port_url()).args(["auth", "login", "-p", "anthropic", "--setup-token"]),
        &format!("{}\n", setup_token('i')),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let config = sb.read("config.toml");
    assert!(config.starts_with(user), "{config}");
    assert!(config.contains("[models.sonnet]"));
    assert!(!out.stderr.contains("Set the default model"));
    // A second login changes nothing more.
    run(
        sb.cmd(&closed_port_url()).args(["auth", "login", "-p", "anthropic", "--setup-token"]),
        &format!("{}\n", setup_token('j')),
    );
    assert_eq!(sb.read("config.toml"), config);
}

#[test]
fn broken_config_is_left_alone_but_the_credential_is_saved() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.home()).unwrap();
    std::fs::write(sb.file("config.toml"), "default_model = [unclosed\n").unwrap();
    let out = run(
        sb.cmd(&closed_port_url()).args(["auth", "login", "-p", "anthropic", "--setup-token"]),
        &format!("{}\n", setup_token('k')),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("config.toml was left unchanged"), "{}", out.stderr);
    assert_eq!(sb.read("config.toml"), "default_model = [unclosed\n");
    assert!(sb.read("auth.json").contains("oauth"));
}

#[test]
fn corrupt_auth_json_is_reported_and_never_overwritten() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.home()).unwrap();
    std::fs::write(sb.file("auth.json"), "{\"version\":1,\"credentials\":{").unwrap();
    let out = run(
        sb.cmd(&closed_port_url()).args(["auth", "login", "-p", "anthropic", "--setup-token"]),
        &format!("{}\n", setup_token('l')),
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains(&sb.file("auth.json").display().to_string()), "{}", out.stderr);
    assert!(out.stderr.contains("invalid JSON at line 1"), "{}", out.stderr);
    assert_eq!(sb.read("auth.json"), "{\"version\":1,\"credentials\":{");
}

#[test]
fn openai_key_is_stored_the_same_way() {
    let sb = Sandbox::new();
    let out = run(
        sb.cmd(&closed_port_url()).args(["auth", "login", "-p", "openai", "--api-key"]),
        "sk-proj-abcdefghijklmnopqrstuvwxyz\n",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let auth: serde_json::Value = serde_json::from_str(&sb.read("auth.json")).unwrap();
    assert_eq!(auth["credentials"]["openai"]["method"], "api_key");
    assert!(out.stderr.contains("sk-proj-abc…xyz"), "{}", out.stderr);
    let out = run(sb.cmd(&closed_port_url()).args(["auth", "login", "-p", "openai", "--setup-token"]), "x\n");
    assert_eq!(out.code, 2);
    let out = run(sb.cmd(&closed_port_url()).args(["auth", "login", "-p", "nosuch", "--api-key"]), "x\n");
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("unknown provider `nosuch`"), "{}", out.stderr);
}

#[test]
fn logout_one_then_all() {
    let sb = Sandbox::new();
    run(
        sb.cmd(&closed_port_url()).args(["auth", "login", "-p", "anthropic", "--setup-token"]),
        &format!("{}\n", setup_token('m')),
    );
    run(sb.cmd(&closed_port_url()).args(["auth", "login", "-p", "openai", "--api-key"]), "sk-local-key-123456\n");
    let out = run(sb.cmd(&closed_port_url()).args(["auth", "logout", "-p", "anthropic"]), "");
    assert_eq!(out.code, 0);
    let auth: serde_json::Value = serde_json::from_str(&sb.read("auth.json")).unwrap();
    assert!(auth["credentials"].get("anthropic").is_none());
    assert!(auth["credentials"].get("openai").is_some());
    assert_eq!(mode_of(&sb.file("auth.json")), 0o600);
    let out = run(sb.cmd(&closed_port_url()).args(["auth", "logout"]), "");
    assert_eq!(out.code, 0);
    assert!(out.stderr.contains("Removed the stored openai credential"));
    let auth: serde_json::Value = serde_json::from_str(&sb.read("auth.json")).unwrap();
    assert_eq!(auth["credentials"], serde_json::json!({}));
    let out = run(sb.cmd(&closed_port_url()).args(["auth", "logout"]), "");
    assert!(out.stderr.contains("No stored credentials"), "{}", out.stderr);
}

#[test]
fn secrets_are_refused_on_the_command_line() {
    let sb = Sandbox::new();
    let out =
        run(sb.cmd(&closed_port_url()).args(["auth", "login", "-p", "anthropic", "--api-key", &api_key('n')]), "");
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(!sb.file("auth.json").exists());
}

#[test]
fn pasted_wrappers_and_kilobytes_are_named_and_nothing_is_saved() {
    let sb = Sandbox::new();
    let token = setup_token('w');
    for (input, expected) in [
        (format!("Bearer {token}"), "starts with `Bearer `"),
        (format!("\"{token}\""), "wrapped in quotes"),
        (format!("CLAUDE_CODE_OAUTH_TOKEN={token}"), "a shell assignment (`NAME=…`)"),
        (format!("export CLAUDE_CODE_OAUTH_TOKEN={token}"), "an `export NAME=…` line"),
        (format!("{token}{}", "A".repeat(4000)), "characters long, but a setup token has at most 256"),
    ] {
        let out = run(
            sb.cmd(&closed_port_url()).args(["auth", "login", "-p", "anthropic", "--setup-token"]),
            &format!("{input}\n"),
        );
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(out.stderr.contains(expected), "{expected}: {}", out.stderr);
        assert!(out.stderr.contains("hint: "), "{}", out.stderr);
        assert!(!out.stderr.contains(&token[13..]), "the token is never shown");
        assert!(!sb.file("auth.json").exists());
    }
}
