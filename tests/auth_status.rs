//! `pincer auth status` through the real binary against a fake Anthropic on loopback.

mod support;

use std::sync::{Arc, Mutex};

use serde_json::Value;
use support::fake_server::{FakeServer, Request, Response};
use support::{Sandbox, api_key, closed_port_url, run, setup_token};

const USAGE_200: &str = r#"{
  "five_hour": {"utilization": 24.0, "resets_at": "2099-01-02T19:59:59.600956+00:00"},
  "seven_day": {"utilization": 36, "resets_at": "2099-01-08T06:59:59.600974+00:00"},
  "seven_day_opus": null,
  "extra_usage": {"is_enabled": true, "monthly_limit": 5000, "used_credits": 1250, "utilization": 25.0},
  "limits": [{"kind": "weekly_scoped", "percent": 7, "resets_at": "2099-01-08T00:00:00Z",
              "scope": {"model": {"display_name": "Fable", "id": null}, "surface": null}}],
  "brand_new_field": {"x": 1}
}"#;
const SCOPE_403: &str = r#"{"type":"error","error":{"type":"permission_error","message":"OAuth token does not meet scope requirement user:profile","details":{"error_visibility":"user_facing"}},"request_id":"req_011"}"#;

/// Logs in a setup token and returns the sandbox.
fn logged_in(tag: char) -> (Sandbox, String) {
    let sb = Sandbox::new();
    let token = setup_token(tag);
    let out = run(
        sb.cmd(&closed_port_url()).args(["auth", "login", "-p", "anthropic", "--setup-token"]),
        &format!("{token}\n"),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    (sb, token)
}

fn status_json(sb: &Sandbox, url: &str, extra: &[&str]) -> (Value, support::Output) {
    let out = run(sb.cmd(url).args(["auth", "status", "--json"]).args(extra), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    (serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout)), out)
}

/// A server that answers the usage endpoint with `usage` and `/v1/messages` with `messages`.
fn anthropic(usage: Response, messages: Response) -> FakeServer {
    FakeServer::start(
        move |r: &Request| if r.path.starts_with("/api/oauth/usage") { usage.clone() } else { messages.clone() },
    )
}

fn probe_ok() -> Response {
    Response::json(200, r#"{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"Hi"}],"stop_reason":"max_tokens","usage":{"input_tokens":8,"output_tokens":1}}"#)
        .with_header("anthropic-ratelimit-unified-status", "allowed")
        .with_header("anthropic-ratelimit-unified-representative-claim", "five_hour")
        .with_header("anthropic-ratelimit-unified-reset", "4070908800")
        .with_header("anthropic-ratelimit-unified-5h-utilization", "0.42")
        .with_header("anthropic-ratelimit-unified-5h-reset", "4070908800")
        .with_header("anthropic-ratelimit-unified-7d-utilization", "0.69")
        .with_header("anthropic-ratelimit-unified-7d-reset", "4071513600")
}

#[test]
fn no_credentials_says_how_to_log_in() {
    let sb = Sandbox::new();
    let out = run(sb.cmd(&closed_port_url()).args(["auth", "status"]), "");
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("No credentials.") && out.stdout.contains("pincer auth login --provider anthropic"));
    let (json, _) = status_json(&sb, &closed_port_url(), &[]);
    assert_eq!((&json["version"], &json["credentials"]), (&serde_json::json!(1), &serde_json::json!([])));
    // Claude Code's own login is reported beside pincer's credentials (installed or not).
    assert!(json["claude_code"]["installed"].is_boolean(), "{json}");
}

#[test]
fn usage_200_is_shown_as_percent_with_bars_and_json_numbers() {
    let (sb, token) = logged_in('a');
    let server = anthropic(Response::json(200, USAGE_200), probe_ok());
    let out = run(sb.cmd(&server.url).args(["auth", "status"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = &out.stdout;
    assert!(text.contains("anthropic  setup token (OAuth)  [in use]"), "{text}");
    assert!(text.contains("sk-ant-oat01-aaa…zAA") && !text.contains(&token), "{text}");
    assert!(text.contains("saved    ") && text.contains("(today)"), "{text}");
    let five = text.lines().find(|l| l.trim_start().starts_with("5-hour")).expect(text);
    assert!(five.contains(" 24%") && five.contains("█████░░░"), "{five}");
    assert!(five.contains("resets Fri 2 Jan 2099 19:59 (in "), "{five}");
    assert!(text.lines().any(|l| l.contains("7-day Fable") && l.contains("  7%")), "{text}");
    assert!(text.contains("12.50 of 50.00 USD"), "extra usage is in cents: {text}");
    assert!(!text.contains("2400") && !text.contains("0.24"), "{text}");

    // The request: Bearer plus the OAuth beta, never x-api-key.
    let r = &server.requests()[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", "/api/oauth/usage"));
    assert_eq!(r.header("authorization"), Some(format!("Bearer {token}").as_str()));
    assert_eq!(r.header("anthropic-beta"), Some("oauth-2025-04-20"));
    assert_eq!(r.header("x-api-key"), None);

    let (json, _) = status_json(&sb, &server.url, &[]);
    let c = &json["credentials"][0];
    assert_eq!(
        (c["provider"].as_str(), c["method"].as_str(), c["source"].as_str()),
        (Some("anthropic"), Some("oauth"), Some("store"))
    );
    assert_eq!(c["in_use"], true);
    assert_eq!(c["token"], "sk-ant-oat01-aaa…zAA");
    assert_eq!(c["usage"]["state"], "ok");
    let snap = &c["usage"]["snapshot"];
    assert_eq!(snap["source"], "endpoint");
    assert_eq!(snap["windows"][0]["id"], "five_hour");
    assert_eq!(snap["windows"][0]["percent"], 24.0);
    assert_eq!(snap["windows"][0]["resets_at"], "2099-01-02T19:59:59.600956Z");
    assert_eq!(snap["windows"][1]["percent"], 36.0);
    assert_eq!(snap["extra_usage"]["used_cents"], 1250.0);
    assert!(snap["seen_at"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn probe_reads_unified_headers_as_fractions_and_403_then_shows_them() {
    let (sb, token) = logged_in('b');
    let server = anthropic(Response::json(403, SCOPE_403), probe_ok());
    let (json, _) = status_json(&sb, &server.url, &["--probe"]);
    let probe = server.requests().into_iter().find(|r| r.path == "/v1/messages").expect("a probe request");
    let body = probe.json();
    assert_eq!(body["max_tokens"], 1);
    assert_eq!(body["model"], "claude-haiku-4-5");
    assert!(body.get("stream").is_none() || body["stream"] == false);
    assert_eq!(probe.header("authorization"), Some(format!("Bearer {token}").as_str()));
    assert_eq!(probe.header("anthropic-beta"), Some("oauth-2025-04-20"));
    assert_eq!(probe.header("x-api-key"), None);
    let u = &json["credentials"][0]["usage"];
    assert_eq!(u["state"], "scope_missing");
    assert_eq!(u["probe"]["ok"], true);
    assert_eq!(u["snapshot"]["source"], "headers");
    let pct = u["snapshot"]["windows"][0]["percent"].as_f64().unwrap();
    assert!((pct - 42.0).abs() < 1e-9, "0.42 must show as 42 percent, got {pct}");
    assert_eq!(u["snapshot"]["windows"][0]["resets_at"], "2099-01-01T00:00:00Z");
    assert_eq!(u["snapshot"]["representative_claim"], "five_hour");

    // usage.json keeps them, keyed by the masked token, never the secret.
    let cache = sb.read("usage.json");
    assert!(cache.contains("anthropic:sk-ant-oat01-bbb…zAA") && !cache.contains(&token), "{cache}");

    // Later, without --probe: one line for the 403 and the figures last seen.
    let out = run(sb.cmd(&server.url).args(["auth", "status"]), "");
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("needs the user:profile scope, which setup tokens do not have"), "{}", out.stdout);
    assert!(out.stdout.contains("last seen ") && out.stdout.contains("from response headers"), "{}", out.stdout);
    let five = out.stdout.lines().find(|l| l.trim_start().starts_with("5-hour")).unwrap();
    assert!(five.contains(" 42%"), "{five}");
    assert!(out.stdout.lines().any(|l| l.trim_start().starts_with("7-day") && l.contains(" 69%")), "{}", out.stdout);
}

#[test]
fn scope_403_without_cache_says_how_to_get_figures() {
    let (sb, _) = logged_in('c');
    let server = anthropic(Response::json(403, SCOPE_403), probe_ok());
    let out = run(sb.cmd(&server.url).args(["auth", "status"]), "");
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("no figures seen yet: run `pincer auth status --probe`"), "{}", out.stdout);
    assert!(server.requests().iter().all(|r| r.path != "/v1/messages"), "no probe without --probe");
}

#[test]
fn probe_refusal_explains_subscription_tokens() {
    let (sb, _) = logged_in('d');
    let refused = Response::json(
        400,
        r#"{"type":"error","error":{"type":"invalid_request_error","message":"This credential is only authorized for use with Claude Code and cannot be used for other API requests."}}"#,
    );
    let server = anthropic(Response::json(403, SCOPE_403), refused);
    let out = run(sb.cmd(&server.url).args(["auth", "status", "--probe"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains(
            "probe refused (HTTP 400 invalid_request_error: This credential is only authorized for use with Claude Code"
        ),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Anthropic accepts this subscription token only in its own apps"), "{}", out.stdout);
    assert!(out.stdout.contains("--api-key") && out.stdout.contains("--model claude-code/sonnet"), "{}", out.stdout);

    // An ordinary refusal is reported as itself.
    let ordinary = Response::json(
        400,
        r#"{"type":"error","error":{"type":"invalid_request_error","message":"model: claude-haiku-9"}}"#,
    );
    let server = anthropic(Response::json(403, SCOPE_403), ordinary);
    let out = run(sb.cmd(&server.url).args(["auth", "status", "--probe"]), "");
    assert!(
        out.stdout.contains("probe failed (HTTP 400 invalid_request_error: model: claude-haiku-9)"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("subscription token only"), "{}", out.stdout);
}

#[test]
fn status_401_429_and_unreachable_never_fail() {
    let (sb, _) = logged_in('e');
    let server = anthropic(
        Response::json(
            401,
            r#"{"type":"error","error":{"type":"authentication_error","message":"Invalid bearer token"}}"#,
        ),
        probe_ok(),
    );
    let out = run(sb.cmd(&server.url).args(["auth", "status"]), "");
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("the token is invalid or revoked (HTTP 401 authentication_error: Invalid bearer token): log in again with `pincer auth login --provider anthropic`"), "{}", out.stdout);

    // Seed the cache with a probe, then a 429 shows the cached figures.
    let seed = anthropic(Response::json(403, SCOPE_403), probe_ok());
    run(sb.cmd(&seed.url).args(["auth", "status", "--probe"]), "");
    let limited = anthropic(
        Response::json(
            429,
            r#"{"error":{"message":"Rate limited. Please try again later.","type":"rate_limit_error"}}"#,
        )
        .with_header("retry-after", "0"),
        probe_ok(),
    );
    let (json, _) = status_json(&sb, &limited.url, &[]);
    let u = &json["credentials"][0]["usage"];
    assert_eq!(u["state"], "rate_limited");
    assert_eq!(u["snapshot"]["windows"][0]["percent"], 42.0);

    let (json, _) = status_json(&sb, &closed_port_url(), &[]);
    let u = &json["credentials"][0]["usage"];
    assert_eq!(u["state"], "unavailable");
    assert_eq!(u["message"], "usage unavailable: connection refused");
    let out = run(sb.cmd(&closed_port_url()).args(["auth", "status"]), "");
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("usage unavailable: connection refused"));

    // A proxy's HTML page is summarised, not dumped.
    let html = anthropic(
        Response {
            status: 502,
            headers: vec![("content-type".into(), "text/html".into())],
            body: support::fake_server::Body::Full(b"<html><body>Bad gateway</body></html>".to_vec()),
        },
        probe_ok(),
    );
    let out = run(sb.cmd(&html.url).args(["auth", "status"]), "");
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("usage unavailable: HTTP 502: (an HTML page"), "{}", out.stdout);
}

#[test]
fn environment_credentials_come_first_and_api_keys_have_no_usage_call() {
    let (sb, token) = logged_in('f');
    let env_key = api_key('g');
    let server = anthropic(Response::json(200, USAGE_200), probe_ok());
    let out = run(sb.cmd(&server.url).env("ANTHROPIC_API_KEY", &env_key).args(["auth", "status", "--json"]), "");
    assert_eq!(out.code, 0);
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    let creds = json["credentials"].as_array().unwrap();
    assert_eq!(creds.len(), 2);
    assert_eq!((creds[0]["source"].as_str(), creds[0]["env_var"].as_str()), (Some("env"), Some("ANTHROPIC_API_KEY")));
    assert_eq!(creds[0]["method"], "api_key");
    assert_eq!(creds[0]["in_use"], true);
    assert!(creds[0]["usage"].is_null());
    assert_eq!(creds[1]["in_use"], false);
    assert!(!out.stdout.contains(&env_key) && !out.stdout.contains(&token));
    // Only the OAuth credential asked for usage, with its own token.
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].header("authorization"), Some(format!("Bearer {token}").as_str()));

    let out = run(
        sb.cmd(&server.url).env("CLAUDE_CODE_OAUTH_TOKEN", setup_token('h')).args(["auth", "status", "--no-usage"]),
        "",
    );
    assert!(out.stdout.contains("source   env (CLAUDE_CODE_OAUTH_TOKEN)"), "{}", out.stdout);
    assert!(out.stdout.contains("[overridden]"));
    assert_eq!(server.requests().len(), 1, "--no-usage sends nothing");
}

#[test]
fn old_setup_tokens_get_a_warning() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.home()).unwrap();
    let saved = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * 340);
    let auth = serde_json::json!({"version": 1, "credentials": {"anthropic": {
        "provider": "anthropic", "method": "oauth", "secret": setup_token('i'), "saved_at": saved.to_string()}}});
    std::fs::write(sb.file("auth.json"), auth.to_string()).unwrap();
    let out = run(sb.cmd(&closed_port_url()).args(["auth", "status", "--no-usage"]), "");
    assert!(out.stdout.contains("340 days ago"), "{}", out.stdout);
    assert!(out.stdout.contains("this setup token is 340 days old"), "{}", out.stdout);
}

#[test]
fn provider_filter_and_concurrent_probe_updates_keep_usage_json_valid() {
    let (sb, _) = logged_in('j');
    run(sb.cmd(&closed_port_url()).args(["auth", "login", "-p", "openai", "--api-key"]), "sk-local-0123456789\n");
    let (json, _) = status_json(&sb, &closed_port_url(), &["--provider", "openai"]);
    assert_eq!(json["credentials"].as_array().unwrap().len(), 1);
    assert_eq!(json["credentials"][0]["provider"], "openai");

    let server = anthropic(Response::json(403, SCOPE_403), probe_ok());
    let seen = Arc::new(Mutex::new(0));
    let handles: Vec<_> = (0..6)
        .map(|_| {
            let mut cmd = sb.cmd(&server.url);
            let seen = seen.clone();
            std::thread::spawn(move || {
                let out = run(cmd.args(["auth", "status", "--probe", "--json"]), "");
                assert_eq!(out.code, 0, "{}", out.stderr);
                *seen.lock().unwrap() += 1;
            })
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(*seen.lock().unwrap(), 6);
    let cache: Value = serde_json::from_str(&sb.read("usage.json")).unwrap();
    assert_eq!(cache["version"], 1);
}

#[test]
fn network_timeouts_from_config_apply_to_auth_calls_too() {
    let (sb, _) = logged_in('t');
    std::fs::write(sb.file("config.toml"), sb.read("config.toml") + "\n[network]\nread_timeout = 0.5\n").unwrap();
    let server = FakeServer::start(|_| {
        std::thread::sleep(std::time::Duration::from_secs(3));
        Response::json(403, SCOPE_403)
    });
    let (json, _) = status_json(&sb, &server.url, &[]);
    let u = &json["credentials"][0]["usage"];
    assert_eq!(u["state"], "unavailable", "the stalled endpoint must hit the configured timeout: {u}");
    assert_eq!(u["message"], "usage unavailable: timed out");
}

#[test]
fn a_bad_environment_token_is_named_and_never_sent_for_usage() {
    let sb = Sandbox::new();
    let server = anthropic(Response::json(200, USAGE_200), probe_ok());
    let cut = setup_token('x')[..70].to_string();
    let out = run(sb.cmd(&server.url).env("CLAUDE_CODE_OAUTH_TOKEN", &cut).args(["auth", "status", "--probe"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("CLAUDE_CODE_OAUTH_TOKEN does not look right: the token is 70 characters long"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("`unset CLAUDE_CODE_OAUTH_TOKEN`"), "{}", out.stdout);
    assert!(
        out.stdout.contains("not asked: CLAUDE_CODE_OAUTH_TOKEN does not hold a usable credential"),
        "{}",
        out.stdout
    );
    assert!(server.requests().is_empty(), "sent: {:?}", server.paths());
}

#[test]
fn a_429_updates_the_windows_it_carries_keeps_the_others_and_names_the_window_reached() {
    let (sb, _) = logged_in('m');
    let seed = anthropic(Response::json(403, SCOPE_403), probe_ok());
    let (_, _) = status_json(&sb, &seed.url, &["--probe"]);
    // A 429 carries only the 5-hour window, now used up, and an unknown family.
    let limited =
        Response::json(429, r#"{"type":"error","error":{"type":"rate_limit_error","message":"Rate limited"}}"#)
            .with_header("anthropic-ratelimit-unified-status", "rejected")
            .with_header("anthropic-ratelimit-unified-representative-claim", "five_hour")
            .with_header("anthropic-ratelimit-unified-reset", "4070908800")
            .with_header("anthropic-ratelimit-unified-5h-utilization", "1.0")
            .with_header("anthropic-ratelimit-unified-5h-status", "rejected")
            .with_header("anthropic-ratelimit-unified-7d_oi-utilization", "0.5");
    let server = anthropic(Response::json(403, SCOPE_403), limited);
    run(sb.cmd(&server.url).args(["auth", "status", "--probe"]), "");
    let out = run(sb.cmd(&server.url).args(["auth", "status"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let line = |start: &str| out.stdout.lines().find(|l| l.trim_start().starts_with(start)).map(str::to_string);
    assert!(line("5-hour").expect(&out.stdout).contains("100%"), "{}", out.stdout);
    assert!(line("7-day").expect("the 7-day window was erased").contains(" 69%"), "{}", out.stdout);
    assert!(line("7d_oi").expect("unknown families are kept").contains(" 50%"), "{}", out.stdout);
    assert!(out.stdout.contains("limit reached: the 5-hour window, resets "), "{}", out.stdout);
}

#[test]
fn probe_with_an_api_key_says_what_it_checked() {
    let sb = Sandbox::new();
    let key = api_key('p');
    let server = FakeServer::start(|_| Response::json(200, r#"{"data":[],"has_more":false}"#));
    let out = run(sb.cmd(&server.url).env("ANTHROPIC_API_KEY", &key).args(["auth", "status", "--probe"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains(
            "API keys have no subscription windows; --probe checked the key with a free GET /v1/models: the key works"
        ),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("no figures seen yet"), "{}", out.stdout);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/v1/models?limit=1");
    assert_eq!(requests[0].header("x-api-key"), Some(key.as_str()));
    // Without --probe, an API key asks nothing.
    let out = run(sb.cmd(&server.url).env("ANTHROPIC_API_KEY", &key).args(["auth", "status"]), "");
    assert_eq!(out.code, 0);
    assert_eq!(server.requests().len(), 1);
}
