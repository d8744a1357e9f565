//! The network set-up through the real binary: TLS trust (a CA made for the test, on loopback),
//! proxies from the environment, base URL validation and time limits.

mod support;

use std::time::{Duration, Instant};

use support::fake_server::{FakeServer, Response};
use support::tls_server::TlsServer;
use support::{Sandbox, api_key, closed_port_url, run, setup_token, text_stream};

fn agent(sb: &Sandbox, url: &str) -> assert_cmd::Command {
    let mut cmd = sb.cmd(url);
    cmd.env("ANTHROPIC_API_KEY", api_key('n')).args(["agent", "-m", "Hi"]);
    cmd
}

#[test]
fn a_ca_from_ssl_cert_file_is_trusted_and_without_it_the_failure_says_what_to_do() {
    let sb = Sandbox::new();
    let server = TlsServer::start(sb.dir.path(), text_stream("over TLS", "end_turn"));
    let out = run(agent(&sb, &server.url).env("SSL_CERT_FILE", &server.ca_file), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "over TLS\n");
    assert_eq!(server.requests(), 1);

    // The same CA in a folder named by SSL_CERT_DIR.
    let dir = sb.dir.path().join("cas");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&server.ca_file, dir.join("corp.pem")).unwrap();
    let out = run(agent(&sb, &server.url).env("SSL_CERT_DIR", &dir), "");
    assert_eq!(out.code, 0, "{}", out.stderr);

    // Without it: the system's store does not know the test CA.
    let before = server.connections();
    let out = run(&mut agent(&sb, &server.url), "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("the server's TLS certificate is signed by a certificate authority pincer does not trust"),
        "{}",
        out.stderr
    );
    let hint = out.stderr.lines().last().unwrap();
    assert!(
        hint.starts_with("hint: ") && hint.contains("SSL_CERT_FILE") && hint.contains("re-signs TLS"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("retry"), "a certificate error is not retried: {}", out.stderr);
    assert_eq!(server.connections() - before, 1, "one attempt only");
    assert_eq!(server.requests(), 2, "nothing was sent without trust");
}

#[test]
fn ca_variables_that_point_at_nothing_are_usage_errors() {
    let sb = Sandbox::new();
    let server = FakeServer::start(|_| Response::json(200, "{}"));
    let missing = sb.dir.path().join("nope.pem");
    let out = run(agent(&sb, &server.url).env("SSL_CERT_FILE", &missing), "");
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("SSL_CERT_FILE is set to") && out.stderr.contains("cannot be read"), "{}", out.stderr);
    assert!(out.stderr.contains("`unset SSL_CERT_FILE`"), "{}", out.stderr);
    assert!(server.requests().is_empty());
}

#[test]
fn a_failure_through_a_proxy_names_it_masked_and_its_variable() {
    let sb = Sandbox::new();
    let proxy = closed_port_url().replace("http://", "http://alice:hunter2@");
    let out = run(agent(&sb, "https://api.example.invalid").env("HTTPS_PROXY", &proxy), "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    let masked = proxy.replace("alice:hunter2@", "***@");
    assert!(out.stderr.contains(&format!("through the proxy {masked} (from HTTPS_PROXY)")), "{}", out.stderr);
    assert!(!out.stderr.contains("hunter2") && !out.stderr.contains("alice"), "{}", out.stderr);
    assert!(out.stderr.lines().last().unwrap().contains("NO_PROXY"), "{}", out.stderr);

    // A proxy that refuses the tunnel: it saw pincer's CONNECT, and nothing is retried.
    let refusing = FakeServer::start(|_| Response::json(407, "{}"));
    let url = refusing.url.replace("http://", "http://bob:s3cret@");
    let out = run(agent(&sb, "https://api.example.invalid").env("https_proxy", &url), "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("the proxy refused to connect"), "{}", out.stderr);
    assert!(out.stderr.contains("(from https_proxy)") && !out.stderr.contains("s3cret"), "{}", out.stderr);
    let requests = refusing.requests();
    assert_eq!(requests.len(), 1, "{:?}", refusing.paths());
    assert_eq!(requests[0].method, "CONNECT");
    assert_eq!(requests[0].path, "api.example.invalid:443");
}

#[test]
fn no_proxy_and_loopback_go_direct_and_unusable_proxies_are_usage_errors() {
    let sb = Sandbox::new();
    let dead = closed_port_url();
    // A local server is reached directly even with every proxy variable pointing at nothing.
    let server = FakeServer::start(|_| support::sse(&text_stream("direct", "end_turn"), 64));
    let out = run(agent(&sb, &server.url).env("HTTP_PROXY", &dead).env("ALL_PROXY", &dead), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "direct\n");

    let out = run(
        agent(&sb, "https://api.example.invalid")
            .env("HTTPS_PROXY", &dead)
            .env("NO_PROXY", "localhost,.example.invalid"),
        "",
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(!out.stderr.contains("proxy"), "NO_PROXY is honoured: {}", out.stderr);

    let out = run(agent(&sb, "https://api.example.invalid").env("ALL_PROXY", "socks5://u:pw@127.0.0.1:1080"), "");
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("ALL_PROXY is not a proxy pincer can use (socks5://***@127.0.0.1:1080)"),
        "{}",
        out.stderr
    );
}

#[test]
fn bad_base_urls_are_usage_errors_naming_where_they_came_from() {
    let sb = Sandbox::new();
    let server = FakeServer::start(|_| Response::json(200, "{}"));
    for url in ["ftp://api.anthropic.com", "api.anthropic.com", "https://api.anthropic.com/?x=1"] {
        let out = run(&mut agent(&sb, url), "");
        assert_eq!(out.code, 2, "{url}: {}", out.stderr);
        assert!(out.stderr.contains("(from ANTHROPIC_BASE_URL) is not usable"), "{}", out.stderr);
        assert!(out.stderr.contains("hint: set ANTHROPIC_BASE_URL"), "{}", out.stderr);
    }
    let out = run(sb.cmd("htp://x").env("CLAUDE_CODE_OAUTH_TOKEN", setup_token('b')).args(["auth", "status"]), "");
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("(from ANTHROPIC_BASE_URL)"), "{}", out.stderr);

    std::fs::create_dir_all(sb.home()).unwrap();
    std::fs::write(
        sb.file("config.toml"),
        "[models.local]\nprovider = \"openai\"\nmodel = \"m\"\nbase_url = \"localhost:8080/v1\"\n",
    )
    .unwrap();
    let out = run(sb.cmd(&server.url).args(["agent", "-m", "Hi", "--model", "local"]), "");
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("(from `base_url` of [models.local] in "), "{}", out.stderr);
    assert!(server.requests().is_empty());
}

#[test]
fn a_404_gets_a_hint_about_the_v1_convention() {
    let sb = Sandbox::new();
    let server = FakeServer::start(|_| {
        Response::json(404, r#"{"type":"error","error":{"type":"not_found_error","message":"Not Found"}}"#)
    });
    let out = run(&mut agent(&sb, &format!("{}/v1", server.url)), "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(server.paths(), ["POST /v1/v1/messages"]);
    assert!(out.stderr.contains("HTTP 404 not_found_error: Not Found"), "{}", out.stderr);
    assert!(
        out.stderr.lines().last().unwrap().contains("must not end in /v1: remove it from ANTHROPIC_BASE_URL"),
        "{}",
        out.stderr
    );

    let out = run(
        sb.cmd(&closed_port_url()).env("OPENAI_BASE_URL", &server.url).env("OPENAI_API_KEY", "sk-x").args([
            "agent",
            "-m",
            "Hi",
            "--model",
            "openai/gpt-x",
        ]),
        "",
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .lines()
            .last()
            .unwrap()
            .contains("usually ends in /v1 (e.g. http://127.0.0.1:8080/v1): check OPENAI_BASE_URL"),
        "{}",
        out.stderr
    );
}

#[test]
fn auth_status_never_hangs_on_a_silent_server() {
    let sb = Sandbox::new();
    let server = FakeServer::start(|_| {
        std::thread::sleep(Duration::from_secs(90));
        Response::json(500, "{}")
    });
    let started = Instant::now();
    let out = run(
        sb.cmd(&server.url).env("CLAUDE_CODE_OAUTH_TOKEN", setup_token('s')).args(["auth", "status", "--json"]),
        "",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["credentials"][0]["usage"]["message"], "usage unavailable: no answer within 5 s");
}

#[test]
fn a_request_that_never_starts_answering_is_not_retried() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.home()).unwrap();
    std::fs::write(sb.file("config.toml"), "[network]\nread_timeout = 0.5\n").unwrap();
    let server = FakeServer::start(|_| {
        std::thread::sleep(Duration::from_secs(5));
        Response::json(500, "{}")
    });
    let out = run(&mut agent(&sb, &server.url), "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("timed out"), "{}", out.stderr);
    assert_eq!(server.requests().len(), 1, "the time limit is spent once, not once per retry");
}
