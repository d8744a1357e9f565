//! The OpenAI-compatible provider and `pincer models`, through the real binary against a fake
//! OpenAI-style server on loopback.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use support::fake_server::{Body, FakeServer, Request, Response};
use support::{Sandbox, closed_port_url, run};

fn chunk(content: &str, finish: Option<&str>) -> String {
    let finish = finish.map(|f| format!("\"{f}\"")).unwrap_or_else(|| "null".into());
    let content = serde_json::to_string(content).unwrap();
    format!(
        "data: {{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":{content}}},\"finish_reason\":{finish}}}]}}\n\n"
    )
}

fn full_stream() -> String {
    format!(
        "{}{}{}data: {{\"id\":\"c1\",\"choices\":[],\"usage\":{{\"prompt_tokens\":5,\"completion_tokens\":2}}}}\n\ndata: [DONE]\n\n",
        chunk("Hello", None),
        chunk(" world", None),
        chunk("", Some("stop"))
    )
}

fn sse(body: &str, chunk_size: usize) -> Response {
    Response {
        status: 200,
        headers: vec![("content-type".into(), "text/event-stream; charset=utf-8".into())],
        body: Body::Chunks {
            pieces: body.as_bytes().chunks(chunk_size).map(<[u8]>::to_vec).collect(),
            pause: Duration::ZERO,
        },
    }
}

fn chat_requests(server: &FakeServer) -> Vec<Request> {
    server.requests().into_iter().filter(|r| r.path.ends_with("/chat/completions")).collect()
}

/// A sandbox whose config has a local model and a named provider.
fn sandbox(base: &str) -> Sandbox {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.home()).unwrap();
    std::fs::write(
        sb.file("config.toml"),
        format!(
            "default_model = \"local\"\n\n[models.local]\nprovider = \"openai\"\nmodel = \"qwen2.5-0.5b\"\nbase_url = \"{base}/v1\"\nmax_tokens = 64\ntemperature = 0\n\n\
             [models.lab]\nprovider = \"lab\"\nmodel = \"lab-model\"\n\n[providers.lab]\nbase_url = \"{base}/lab/v1\"\n\n[aliases]\nfast = \"local\"\n"
        ),
    )
    .unwrap();
    sb
}

#[test]
fn streams_from_a_local_server_without_a_key() {
    let server = FakeServer::start(|_| sse(&full_stream(), 5));
    let sb = sandbox(&server.url);
    let out = run(sb.cmd(&closed_port_url()).args(["agent", "-m", "Hi", "--system", "be brief", "--no-tools"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "Hello world\n");
    let r = &chat_requests(&server)[0];
    assert_eq!(r.path, "/v1/chat/completions");
    assert_eq!(r.header("authorization"), None, "a local server gets no key");
    assert_eq!(r.header("x-api-key"), None);
    let body = r.json();
    assert_eq!(body["model"], "qwen2.5-0.5b", "non-Claude names pass unchanged");
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(body["max_tokens"], 64);
    assert_eq!(body["temperature"], 0.0);
    assert_eq!(
        body["messages"],
        serde_json::json!([{"role": "system", "content": "be brief"}, {"role": "user", "content": "Hi"}])
    );
}

#[test]
fn openai_key_from_store_or_environment_as_bearer() {
    let server = FakeServer::start(|_| sse(&full_stream(), 64));
    let sb = sandbox(&server.url);
    run(sb.cmd(&closed_port_url()).args(["auth", "login", "-p", "openai", "--api-key"]), "sk-stored-key-123456\n");
    let out = run(sb.cmd(&closed_port_url()).args(["agent", "-m", "Hi", "--model", "fast"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(chat_requests(&server)[0].header("authorization"), Some("Bearer sk-stored-key-123456"));

    // OPENAI_API_KEY wins over the store; OPENAI_BASE_URL routes `openai/ID` without an entry.
    let out = run(
        sb.cmd(&closed_port_url())
            .env("OPENAI_API_KEY", "sk-env-key-654321")
            .env("OPENAI_BASE_URL", format!("{}/v1/", server.url))
            .args(["agent", "-m", "Hi", "--model", "openai/gpt-4.1-mini"]),
        "",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let r = chat_requests(&server).pop().unwrap();
    assert_eq!(r.header("authorization"), Some("Bearer sk-env-key-654321"));
    assert_eq!(r.json()["model"], "gpt-4.1-mini", "dots kept outside claude IDs");
    assert!(r.json().get("max_tokens").is_none());
}

#[test]
fn the_official_openai_endpoint_without_a_key_is_refused_before_sending() {
    let sb = Sandbox::new();
    let out = run(sb.cmd(&closed_port_url()).args(["agent", "-m", "Hi", "--model", "openai/gpt-5"]), "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("no OpenAI API key"), "{}", out.stderr);
    assert!(out.stderr.contains("pincer auth login --provider openai --api-key"));
}

#[test]
fn named_provider_login_and_chat_use_its_own_key() {
    let server = FakeServer::start(|_| sse(&full_stream(), 64));
    let sb = sandbox(&server.url);
    let out = run(sb.cmd(&closed_port_url()).args(["auth", "login", "-p", "lab", "--api-key"]), "lab-secret-key\n");
    assert_eq!(out.code, 0, "{}", out.stderr);
    run(sb.cmd(&closed_port_url()).args(["auth", "login", "-p", "openai", "--api-key"]), "sk-openai-other\n");
    let out = run(sb.cmd(&closed_port_url()).args(["agent", "-m", "Hi", "--model", "lab"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let r = &chat_requests(&server)[0];
    assert_eq!(r.path, "/lab/v1/chat/completions");
    assert_eq!(r.header("authorization"), Some("Bearer lab-secret-key"));
    // Both keys coexist.
    let auth: serde_json::Value = serde_json::from_str(&sb.read("auth.json")).unwrap();
    assert!(auth["credentials"].get("lab").is_some() && auth["credentials"].get("openai").is_some());
    let out = run(sb.cmd(&closed_port_url()).args(["auth", "status", "--json"]), "");
    let status: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let providers: Vec<&str> =
        status["credentials"].as_array().unwrap().iter().map(|c| c["provider"].as_str().unwrap()).collect();
    assert_eq!(providers, ["lab", "openai"]);
}

#[test]
fn cut_off_error_chunks_and_http_errors() {
    let cut = format!("{}{}", chunk("Hel", None), chunk("lo", None));
    let server = FakeServer::start(move |_| sse(&cut, 7));
    let sb = sandbox(&server.url);
    let out = run(sb.cmd(&closed_port_url()).args(["agent", "-m", "Hi"]), "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout, "Hello\n");
    assert!(out.stderr.contains("cut off"), "{}", out.stderr);

    let err = format!(
        "{}data: {{\"error\":{{\"message\":\"model overloaded\",\"type\":\"server_error\"}}}}\n\n",
        chunk("Hi", None)
    );
    let server = FakeServer::start(move |_| sse(&err, 7));
    let sb = sandbox(&server.url);
    let out = run(sb.cmd(&closed_port_url()).args(["agent", "-m", "Hi"]), "");
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("server_error: model overloaded"), "{}", out.stderr);

    let server = FakeServer::start(|_| {
        Response::json(
            401,
            r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}"#,
        )
    });
    let sb = sandbox(&server.url);
    let out = run(sb.cmd(&closed_port_url()).args(["agent", "-m", "Hi"]), "");
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(
            "the openai server rejected the credential (HTTP 401 invalid_request_error: Incorrect API key provided)"
        ),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("pincer auth login --provider openai"));
    assert_eq!(chat_requests(&server).len(), 1);

    let finish_length = format!("{}{}data: [DONE]\n\n", chunk("Once", None), chunk("", Some("length")));
    let server = FakeServer::start(move |_| sse(&finish_length, 9));
    let sb = sandbox(&server.url);
    let out = run(sb.cmd(&closed_port_url()).args(["agent", "-m", "Hi"]), "");
    assert_eq!(out.code, 0);
    assert!(out.stderr.contains("max_tokens reached"), "{}", out.stderr);
}

#[test]
fn unavailable_then_ok_is_retried() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let server = FakeServer::start(move |_| {
        if counter.fetch_add(1, Ordering::SeqCst) == 0 {
            Response::json(503, r#"{"error":{"message":"loading model","type":"unavailable_error"}}"#)
                .with_header("retry-after", "0.05")
        } else {
            sse(&full_stream(), 16)
        }
    });
    let sb = sandbox(&server.url);
    let out = run(sb.cmd(&closed_port_url()).args(["agent", "-m", "Hi"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "Hello world\n");
    assert!(out.stderr.contains("HTTP 503 unavailable_error: loading model; retrying"), "{}", out.stderr);
    assert_eq!(chat_requests(&server).len(), 2);
}

#[test]
fn models_lists_every_entry_with_its_credential_source_never_the_secret() {
    let sb = sandbox("http://127.0.0.1:9");
    std::fs::write(
        sb.file("config.toml"),
        sb.read("config.toml")
            + "\n[models.sonnet]\nprovider = \"anthropic\"\nmodel = \"claude-sonnet-4.6\"\n\n[models.gpt]\nprovider = \"openai\"\nmodel = \"gpt-5\"\n\n[models.broken]\nprovider = \"nowhere\"\nmodel = \"x\"\n",
    )
    .unwrap();
    run(sb.cmd(&closed_port_url()).args(["auth", "login", "-p", "lab", "--api-key"]), "lab-secret-key-000\n");
    let key = support::api_key('m');
    let out = run(sb.cmd("http://127.0.0.1:1").env("ANTHROPIC_API_KEY", &key).args(["models", "--json"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains(&key) && !out.stdout.contains("lab-secret-key-000"));
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["default_model"], "local");
    let model = |name: &str| json["models"].as_array().unwrap().iter().find(|m| m["name"] == name).unwrap().clone();
    let local = model("local");
    assert_eq!((local["default"].as_bool(), local["credential_status"].as_str()), (Some(true), Some("not_needed")));
    assert_eq!(local["base_url"], "http://127.0.0.1:9/v1");
    let sonnet = model("sonnet");
    assert_eq!(sonnet["model"], "claude-sonnet-4-6");
    assert_eq!(sonnet["base_url"], "http://127.0.0.1:1", "ANTHROPIC_BASE_URL applies");
    assert_eq!(sonnet["credential"]["source"], "env");
    assert_eq!(sonnet["credential"]["env_var"], "ANTHROPIC_API_KEY");
    assert_eq!(sonnet["credential"]["token"], "sk-ant-api03-mmm…SAA");
    let lab = model("lab");
    assert_eq!(
        (lab["credential"]["source"].as_str(), lab["credential"]["method"].as_str()),
        (Some("store"), Some("api_key"))
    );
    assert_eq!(lab["base_url"], "http://127.0.0.1:9/lab/v1");
    assert_eq!(model("gpt")["credential_status"], "missing");
    assert_eq!(model("broken")["credential_status"], "error");
    assert_eq!(json["aliases"][0], serde_json::json!({"alias": "fast", "target": "local"}));

    let out = run(sb.cmd(&closed_port_url()).args(["models"]), "");
    assert!(out.stdout.contains("local *") && out.stdout.contains("none (not needed)"), "{}", out.stdout);
    assert!(out.stdout.contains("MISSING: pincer auth login --provider openai"), "{}", out.stdout);
}

#[test]
fn a_stored_key_that_is_not_a_header_value_is_refused_not_dropped() {
    let server = FakeServer::start(|_| sse(&full_stream(), 64));
    let sb = sandbox(&server.url);
    let auth = serde_json::json!({"version": 1, "credentials": {"openai": {
        "provider": "openai", "method": "api_key", "secret": "sk-local\nkey", "saved_at": "2026-01-01T00:00:00Z"}}});
    std::fs::write(sb.file("auth.json"), auth.to_string()).unwrap();
    let out = run(sb.cmd(&closed_port_url()).args(["agent", "-m", "Hi"]), "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("cannot be sent in an HTTP header, so nothing was sent"), "{}", out.stderr);
    assert!(chat_requests(&server).is_empty(), "the request went out without its key");
}
