//! `pincer auth login --mcp` and the signed-in `mcp` commands against a fake MCP server that is
//! its own OAuth authorization server (on loopback). The test plays the browser: `BROWSER` is a
//! script that only writes down the address it was given; the test fetches it, and follows the
//! authorization server's redirect to pincer's loopback listener, as a browser would.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use support::fake_server::{FakeServer, Request, Response};
use support::{Sandbox, mode_of, run};

const HANG_GUARD: Duration = Duration::from_secs(60);

/// What the fake authorization server issued and saw.
#[derive(Default)]
struct AuthState {
    challenge: Option<String>,
    issued: usize,
    /// The access token the MCP endpoint accepts now.
    valid_access: Option<String>,
    valid_refresh: Option<String>,
    revoked: Vec<String>,
    token_requests: Vec<String>,
}

struct Fake {
    server: FakeServer,
    state: Arc<Mutex<AuthState>>,
}

impl Fake {
    fn url(&self) -> String {
        format!("{}/mcp", self.server.url)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, AuthState> {
        self.state.lock().unwrap()
    }

    /// The MCP endpoint stops accepting the current token (it expired early, or was revoked).
    fn invalidate_access(&self) {
        self.state().valid_access = None;
    }
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn query(path: &str) -> Vec<(String, String)> {
    form(path.split_once('?').map(|(_, q)| q).unwrap_or_default().as_bytes())
}

/// `prm_resource`: what the protected-resource document claims to describe (`None`: the truth).
fn fake(prm_resource: Option<&'static str>) -> Fake {
    let state = Arc::new(Mutex::new(AuthState::default()));
    let shared = Arc::clone(&state);
    let server = FakeServer::start(move |req: &Request| {
        let base = format!("http://{}", req.header("host").unwrap_or_default());
        let path = req.path.split('?').next().unwrap_or_default().to_string();
        let mut st = shared.lock().unwrap();
        match (req.method.as_str(), path.as_str()) {
            ("GET", "/.well-known/oauth-protected-resource/mcp") => {
                let resource = prm_resource.map(str::to_string).unwrap_or(format!("{base}/mcp"));
                Response::json(
                    200,
                    &json!({"resource": resource, "authorization_servers": [base], "scopes_supported": ["notes:read"]})
                        .to_string(),
                )
            }
            ("GET", "/.well-known/oauth-authorization-server") => Response::json(
                200,
                &json!({
                    "issuer": base,
                    "authorization_endpoint": format!("{base}/authorize"),
                    "token_endpoint": format!("{base}/token"),
                    "registration_endpoint": format!("{base}/register"),
                    "revocation_endpoint": format!("{base}/revoke"),
                    "code_challenge_methods_supported": ["S256"],
                    "token_endpoint_auth_methods_supported": ["none"],
                    "authorization_response_iss_parameter_supported": true,
                })
                .to_string(),
            ),
            ("POST", "/register") => {
                Response::json(201, r#"{"client_id": "client-1", "token_endpoint_auth_method": "none"}"#)
            }
            ("GET", "/authorize") => {
                let q = query(&req.path);
                st.challenge = field(&q, "code_challenge").map(str::to_string);
                let redirect = field(&q, "redirect_uri").unwrap_or_default();
                let state = field(&q, "state").unwrap_or_default();
                let location = format!(
                    "{redirect}?code=CODE-1&state={}&iss={}",
                    url::form_urlencoded::byte_serialize(state.as_bytes()).collect::<String>(),
                    url::form_urlencoded::byte_serialize(base.as_bytes()).collect::<String>()
                );
                Response::json(302, "").with_header("location", &location)
            }
            ("POST", "/token") => {
                let f = form(&req.body);
                st.token_requests.push(String::from_utf8_lossy(&req.body).into_owned());
                let ok = match field(&f, "grant_type") {
                    Some("authorization_code") => {
                        let verifier = field(&f, "code_verifier").unwrap_or_default();
                        let digest = sha256_base64url(verifier);
                        field(&f, "code") == Some("CODE-1") && st.challenge.as_deref() == Some(digest.as_str())
                    }
                    Some("refresh_token") => field(&f, "refresh_token") == st.valid_refresh.as_deref(),
                    _ => false,
                };
                if !ok {
                    return Response::json(400, r#"{"error": "invalid_grant"}"#);
                }
                st.issued += 1;
                let (access, refresh) = (format!("at-{}", st.issued), format!("rt-{}", st.issued));
                st.valid_access = Some(access.clone());
                st.valid_refresh = Some(refresh.clone());
                Response::json(
                    200,
                    &json!({"access_token": access, "token_type": "Bearer", "expires_in": 3600, "refresh_token": refresh, "scope": "notes:read"}).to_string(),
                )
            }
            ("POST", "/revoke") => {
                st.revoked.push(field(&form(&req.body), "token").unwrap_or_default().to_string());
                Response::json(200, "{}")
            }
            ("POST", "/mcp") => {
                let sent = req.header("authorization").and_then(|a| a.strip_prefix("Bearer "));
                if sent.is_none() || sent != st.valid_access.as_deref() {
                    let challenge = format!(
                        r#"Bearer resource_metadata="{base}/.well-known/oauth-protected-resource/mcp", scope="notes:read""#
                    );
                    return Response::json(401, r#"{"error": "invalid_token"}"#)
                        .with_header("www-authenticate", &challenge);
                }
                mcp_answer(&req.json())
            }
            _ => Response::json(404, "{}"),
        }
    });
    Fake { server, state }
}

/// PKCE S256, computed the long way (the test must not trust pincer's own code for it).
fn sha256_base64url(verifier: &str) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn();
    let mut child = out.unwrap();
    child.stdin.take().unwrap().write_all(verifier.as_bytes()).unwrap();
    let hex = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    let bytes: Vec<u8> = (0..32).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap()).collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A small legacy-era MCP server: no session, one tool.
fn mcp_answer(msg: &Value) -> Response {
    let id = msg.get("id").cloned().unwrap_or(Value::Null);
    let reply = |result: Value| Response::json(200, &json!({"jsonrpc": "2.0", "id": id, "result": result}).to_string());
    match msg["method"].as_str().unwrap_or_default() {
        "initialize" => reply(
            json!({"protocolVersion": "2025-11-25", "capabilities": {"tools": {}}, "serverInfo": {"name": "notes", "version": "1"}}),
        ),
        "tools/list" => reply(json!({"tools": [{"name": "echo", "inputSchema": {"type": "object"}}]})),
        "tools/call" => reply(json!({"content": [{"type": "text", "text": "signed-in echo"}]})),
        m if m.starts_with("notifications/") => Response::json(202, ""),
        _ => Response::json(
            200,
            &json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "Method not found"}}).to_string(),
        ),
    }
}

/// A sandbox with `[mcp.notes]` pointing at `url`, and a browser that writes down what it opens.
fn sandbox(url: &str) -> (Sandbox, PathBuf) {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.home()).unwrap();
    std::fs::write(sb.file("config.toml"), format!("# mine\n[mcp.notes]\nurl = \"{url}\"\nstartup_timeout = 10\n"))
        .unwrap();
    let opened = sb.dir.path().join("opened");
    let browser = sb.dir.path().join("browser.sh");
    std::fs::write(&browser, format!("#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\n", opened.display())).unwrap();
    std::fs::set_permissions(&browser, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    (sb, opened)
}

fn pincer(sb: &Sandbox, args: &[&str], stdin: &str) -> support::Output {
    pincer_logging(sb, args, stdin, "warn")
}

fn pincer_logging(sb: &Sandbox, args: &[&str], stdin: &str, log: &str) -> support::Output {
    let mut cmd = sb.cmd("http://127.0.0.1:9");
    cmd.env("BROWSER", sb.dir.path().join("browser.sh")).env("PINCER_LOG", log).args(args).timeout(HANG_GUARD);
    run(&mut cmd, stdin)
}

/// One HTTP GET on loopback: status, `location`, body.
fn get(url: &str) -> (u16, Option<String>, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut s = TcpStream::connect(host).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let location = text.lines().find_map(|l| l.strip_prefix("location: ").map(str::to_string));
    (status, location, text)
}

/// The person's browser: waits for pincer to open the page, loads it, follows the redirect.
fn browse(opened: &Path) -> (u16, String) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let url = loop {
        if let Some(line) = std::fs::read_to_string(opened).ok().and_then(|t| t.lines().next().map(str::to_string)) {
            break line;
        }
        assert!(Instant::now() < deadline, "pincer never opened the browser");
        std::thread::sleep(Duration::from_millis(20));
    };
    let (status, location, _) = get(&url);
    assert_eq!(status, 302, "{url}");
    let (status, _, body) = get(&location.unwrap());
    (status, body)
}

fn login_with_browser(sb: &Sandbox, opened: &Path) -> (support::Output, (u16, String)) {
    login_logging(sb, opened, "warn")
}

fn login_logging(sb: &Sandbox, opened: &Path, log: &str) -> (support::Output, (u16, String)) {
    let opened = opened.to_path_buf();
    let browser = std::thread::spawn(move || browse(&opened));
    let out = pincer_logging(sb, &["auth", "login", "--mcp", "notes"], "", log);
    (out, browser.join().unwrap())
}

#[test]
fn sign_in_in_the_browser_then_call_status_and_logout() {
    let fake = fake(None);
    let (sb, opened) = sandbox(&fake.url());
    let (out, (page_status, page)) = login_with_browser(&sb, &opened);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(page_status, 200);
    assert!(page.contains("Signed in to notes"), "{page}");
    assert!(out.stderr.contains("Signed in to mcp server notes") && out.stderr.contains("1 tools"), "{}", out.stderr);
    for secret in ["at-1", "rt-1", "CODE-1"] {
        assert!(!out.stderr.contains(secret) && !out.stdout.contains(secret), "{secret}: {}", out.stderr);
    }

    // The authorization request carried everything the spec asks for.
    let authorize = fake.server.requests().into_iter().find(|r| r.path.starts_with("/authorize")).unwrap();
    let q = query(&authorize.path);
    assert_eq!(field(&q, "code_challenge_method"), Some("S256"));
    assert_eq!(field(&q, "resource"), Some(fake.url().as_str()));
    assert_eq!(field(&q, "scope"), Some("notes:read"));
    assert_eq!(field(&q, "client_id"), Some("client-1"));
    assert!(field(&q, "redirect_uri").unwrap().starts_with("http://127.0.0.1:"));
    let token_request = fake.state().token_requests[0].clone();
    assert!(token_request.contains("resource=") && token_request.contains("code_verifier="), "{token_request}");

    // Stored privately, as an OAuth credential named mcp:notes; config.toml untouched.
    assert_eq!(mode_of(&sb.file("auth.json")), 0o600);
    let auth: Value = serde_json::from_str(&sb.read("auth.json")).unwrap();
    let entry = &auth["credentials"]["mcp:notes"];
    assert_eq!((entry["method"].as_str(), entry["secret"].as_str()), (Some("oauth"), Some("at-1")));
    assert_eq!(entry["mcp"]["refresh_token"], "rt-1");
    assert!(sb.read("config.toml").starts_with("# mine\n") && !sb.read("config.toml").contains("at-1"));

    let call = pincer(&sb, &["mcp", "call", "notes", "echo"], "");
    assert_eq!((call.code, call.stdout.as_str()), (0, "signed-in echo\n"), "{}", call.stderr);
    let sent: Vec<String> = fake
        .server
        .requests()
        .iter()
        .filter(|r| r.path == "/mcp")
        .filter_map(|r| r.header("authorization").map(str::to_string))
        .collect();
    assert!(sent.iter().all(|a| a == "Bearer at-1") && !sent.is_empty(), "{sent:?}");

    let status = pincer(&sb, &["auth", "status", "--json", "--no-usage"], "");
    assert_eq!(status.code, 0, "{}", status.stderr);
    let report: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(report["version"], 1);
    assert!(
        report["credentials"].as_array().unwrap().iter().all(|c| !c["provider"].as_str().unwrap().starts_with("mcp:"))
    );
    let mcp = &report["mcp"][0];
    assert_eq!((mcp["server"].as_str(), mcp["issuer"].as_str()), (Some("notes"), Some(fake.server.url.as_str())));
    assert_eq!(mcp["scopes"], json!(["notes:read"]));
    assert_eq!((mcp["renewable"].as_bool(), mcp["expired"].as_bool()), (Some(true), Some(false)));
    assert!(!status.stdout.contains("at-1") && !status.stdout.contains("rt-1"), "{}", status.stdout);
    let human = pincer(&sb, &["auth", "status", "--no-usage"], "");
    assert!(human.stdout.contains("mcp:notes") && human.stdout.contains("scopes   notes:read"), "{}", human.stdout);
    assert!(!human.stdout.contains("at-1"), "{}", human.stdout);

    let logout = pincer(&sb, &["auth", "logout", "--mcp", "notes"], "");
    assert_eq!(logout.code, 0, "{}", logout.stderr);
    assert_eq!(fake.state().revoked, ["rt-1"]);
    assert!(!sb.read("auth.json").contains("mcp:notes"));
    let again = pincer(&sb, &["mcp", "call", "notes", "echo"], "");
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("pincer auth login --mcp notes"), "{}", again.stderr);
}

#[test]
fn logging_out_of_everything_revokes_mcp_sign_ins_too() {
    let fake = fake(None);
    let (sb, opened) = sandbox(&fake.url());
    assert_eq!(login_with_browser(&sb, &opened).0.code, 0);
    let out = pincer(&sb, &["auth", "logout"], "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(fake.state().revoked, ["rt-1"]);
    assert!(!sb.read("auth.json").contains("mcp:notes"), "{}", sb.read("auth.json"));
}

#[test]
fn no_browser_takes_the_pasted_address() {
    let fake = fake(None);
    let (sb, opened) = sandbox(&fake.url());
    let mut child = sb
        .process("http://127.0.0.1:9")
        .args(["auth", "login", "--mcp", "notes", "--no-browser"])
        .env("BROWSER", sb.dir.path().join("browser.sh"))
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let url = loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "no address printed: {seen}");
        seen.push_str(&line);
        if let Some(u) = line.trim().strip_prefix("http://") {
            break format!("http://{u}");
        }
    };
    let (status, location, _) = get(&url);
    assert_eq!(status, 302);
    // The browser is elsewhere: its address bar is pasted back.
    writeln!(child.stdin.take().unwrap(), "{}", location.unwrap()).unwrap();
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success(), "{seen}{rest}");
    assert!(rest.contains("Signed in to mcp server notes"), "{rest}");
    assert!(!opened.exists(), "--no-browser opened a browser");
    assert!(sb.read("auth.json").contains("\"at-1\""));
}

#[test]
fn a_refused_token_is_refreshed_once_and_the_rotated_one_kept() {
    let fake = fake(None);
    let (sb, opened) = sandbox(&fake.url());
    assert_eq!(login_with_browser(&sb, &opened).0.code, 0);
    fake.invalidate_access();
    let call = pincer(&sb, &["mcp", "call", "notes", "echo"], "");
    assert_eq!(call.code, 0, "{}", call.stderr);
    let auth: Value = serde_json::from_str(&sb.read("auth.json")).unwrap();
    let entry = &auth["credentials"]["mcp:notes"];
    assert_eq!((entry["secret"].as_str(), entry["mcp"]["refresh_token"].as_str()), (Some("at-2"), Some("rt-2")));
    let refresh = fake.state().token_requests[1].clone();
    assert!(
        refresh.contains("grant_type=refresh_token")
            && refresh.contains("refresh_token=rt-1")
            && refresh.contains("resource="),
        "{refresh}"
    );

    // The refresh token dies too: one clear line naming the command, nothing sent twice.
    fake.invalidate_access();
    fake.state().valid_refresh = None;
    let call = pincer(&sb, &["mcp", "call", "notes", "echo"], "");
    assert_eq!(call.code, 1);
    assert!(
        call.stderr.contains("invalid_grant") && call.stderr.contains("pincer auth login --mcp notes"),
        "{}",
        call.stderr
    );
    assert_eq!(fake.state().token_requests.len(), 3, "one refresh attempt per refused token");
}

#[test]
fn without_a_sign_in_list_says_which_command_signs_in() {
    let fake = fake(None);
    let (sb, _) = sandbox(&fake.url());
    let list = pincer(&sb, &["mcp", "list", "--json"], "");
    assert_eq!(list.code, 0, "{}", list.stderr);
    let report: Value = serde_json::from_str(&list.stdout).unwrap();
    let reason = report["servers"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("pincer auth login --mcp notes") && reason.contains("HTTP 401"), "{reason}");
}

#[test]
fn metadata_for_another_server_gets_no_sign_in() {
    let fake = fake(Some("https://evil.example.com/mcp"));
    let (sb, opened) = sandbox(&fake.url());
    let out = pincer(&sb, &["auth", "login", "--mcp", "notes"], "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("evil.example.com") && out.stderr.contains("hint:"), "{}", out.stderr);
    assert!(!opened.exists(), "a browser was opened for a hostile server");
    assert!(
        !fake.server.paths().iter().any(|p| p.contains("/register") || p.contains("/authorize")),
        "{:?}",
        fake.server.paths()
    );
    assert!(!sb.file("auth.json").exists());
}

#[test]
fn login_refuses_what_cannot_work_with_usage_errors() {
    let (sb, _) = sandbox("http://127.0.0.1:9/mcp");
    let nobody = pincer(&sb, &["auth", "login", "--mcp", "other"], "");
    assert_eq!(nobody.code, 2, "{}", nobody.stderr);
    assert!(
        nobody.stderr.contains("pincer mcp add other --url") && nobody.stderr.contains("configured: notes"),
        "{}",
        nobody.stderr
    );
    let secret = pincer(&sb, &["auth", "login", "--mcp", "notes", "--client-secret"], "s3cret\n");
    assert_eq!(secret.code, 2);
    assert!(secret.stderr.contains("no client_id") && !secret.stderr.contains("s3cret"), "{}", secret.stderr);
    let both = pincer(&sb, &["auth", "login", "--mcp", "notes", "--provider", "anthropic"], "");
    assert_eq!(both.code, 2);
    std::fs::write(sb.file("config.toml"), "[mcp.local]\ncommand = \"true\"\n").unwrap();
    let stdio = pincer(&sb, &["auth", "login", "--mcp", "local"], "");
    assert_eq!(stdio.code, 2);
    assert!(stdio.stderr.contains("stdio server"), "{}", stdio.stderr);
}

#[test]
fn no_secret_of_a_sign_in_reaches_output_logs_or_other_files_at_trace_level() {
    let fake = fake(None);
    let (sb, opened) = sandbox(&fake.url());
    let (login, _) = login_logging(&sb, &opened, "trace");
    assert_eq!(login.code, 0, "{}", login.stderr);
    assert!(login.stderr.contains("DEBUG"), "logging must be on for this test to mean anything");
    fake.invalidate_access();
    let call = pincer_logging(&sb, &["mcp", "call", "notes", "echo"], "", "trace");
    assert_eq!(call.code, 0, "{}", call.stderr);
    let status = pincer_logging(&sb, &["auth", "status", "--json"], "", "trace");
    let logout = pincer_logging(&sb, &["auth", "logout", "--mcp", "notes"], "", "trace");
    // What only pincer and the authorization server may know.
    let token_request = form(fake.state().token_requests[0].as_bytes());
    let verifier = field(&token_request, "code_verifier").unwrap().to_string();
    let authorize = fake.server.requests().into_iter().find(|r| r.path.starts_with("/authorize")).unwrap();
    let state = field(&query(&authorize.path), "state").unwrap().to_string();
    let mut secrets = vec!["at-1".to_string(), "rt-1".into(), "at-2".into(), "rt-2".into(), "CODE-1".into(), verifier];
    let shown = format!(
        "{}{}{}{}{}{}{}{}",
        login.stdout,
        login.stderr,
        call.stdout,
        call.stderr,
        status.stdout,
        status.stderr,
        logout.stdout,
        logout.stderr
    );
    for secret in &secrets {
        assert!(!shown.contains(secret.as_str()), "{secret} was shown:\n{shown}");
    }
    // The state is not secret once the sign-in is over, but it is no business of a log either;
    // it appears once, in the address pincer asks the person to open.
    assert_eq!(shown.matches(state.as_str()).count(), 1, "{shown}");
    secrets.push(state);
    for (path, text) in sb.files_except_auth() {
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{secret} in {}", path.display());
        }
    }
}
