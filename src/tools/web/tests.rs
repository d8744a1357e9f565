//! `web_fetch` against real servers on loopback, as an attacker would use it.
//!
//! The seam: the real policy refuses loopback, and these servers live on loopback. A test
//! declares the exact `ip:port` of its "public" server in `AddressPolicy::treat_as_public`
//! (compiled only in tests); every other address — the same IP on another port, `localhost`,
//! mapped and NAT64 forms, names resolving to loopback — meets the real classifier and the real
//! connector checks. A scripted resolver stands in for DNS (names → addresses, changing between
//! lookups for rebinding); the connect path after it is the production one.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use super::connect::{AddressPolicy, PeerError, SharedResolver, check_connected};
use super::*;
use crate::tools::OutputPart;

/// One request a test server received: the request line and the headers, lower-cased names.
#[derive(Debug, Clone)]
struct Seen {
    line: String,
    headers: Vec<(String, String)>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// A loopback HTTP/1.1 server; each connection gets one answer from `handler(path, stream)`.
struct Server {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    connections: Arc<AtomicUsize>,
}

impl Server {
    fn start(handler: impl Fn(&str, &mut TcpStream) + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let handler = Arc::new(handler);
        let (seen2, connections2) = (seen.clone(), connections.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                connections2.fetch_add(1, Ordering::SeqCst);
                let (handler, seen) = (handler.clone(), seen2.clone());
                std::thread::spawn(move || {
                    let Some(request) = read_request(&stream) else { return };
                    let path = request.line.split(' ').nth(1).unwrap_or("/").to_string();
                    seen.lock().unwrap().push(request);
                    handler(&path, &mut stream);
                });
            }
        });
        Server { addr, seen, connections }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

fn read_request(stream: &TcpStream) -> Option<Seen> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 || header.trim().is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    Some(Seen { line: line.trim().to_string(), headers })
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, &str)], body: &[u8]) {
    let mut head = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}

fn html(stream: &mut TcpStream, body: &str) {
    respond(stream, "200 OK", &[("content-type", "text/html; charset=utf-8")], body.as_bytes());
}

fn redirect(stream: &mut TcpStream, to: &str) {
    respond(stream, "302 Found", &[("location", to), ("set-cookie", "session=s3cret; Path=/")], b"");
}

/// DNS for tests: each name answers its next list of addresses (the last one repeats);
/// IP literals answer themselves, as a real resolver does.
#[derive(Debug, Default)]
struct ScriptedDns(Mutex<HashMap<String, VecDeque<Vec<SocketAddr>>>>);

impl ScriptedDns {
    fn with(names: &[(&str, Vec<Vec<SocketAddr>>)]) -> SharedResolver {
        let map = names.iter().map(|(n, answers)| (n.to_string(), answers.iter().cloned().collect())).collect();
        SharedResolver(Arc::new(ScriptedDns(Mutex::new(map))))
    }
}

impl ureq::unversioned::resolver::Resolver for ScriptedDns {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        _config: &ureq::config::Config,
        _timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let host = uri.host().unwrap_or_default().trim_matches(['[', ']']);
        let port = uri.port_u16().unwrap_or(if uri.scheme_str() == Some("https") { 443 } else { 80 });
        let mut result = self.empty();
        if let Ok(ip) = host.parse::<std::net::IpAddr>() {
            result.push(SocketAddr::new(ip, port));
            return Ok(result);
        }
        let mut names = self.0.lock().unwrap();
        let answers = names.get_mut(host).ok_or(ureq::Error::HostNotFound)?;
        let addrs = if answers.len() > 1 { answers.pop_front().unwrap() } else { answers[0].clone() };
        for addr in addrs {
            result.push(addr);
        }
        Ok(result)
    }
}

fn quick_limits() -> FetchLimits {
    FetchLimits { time_limit: Duration::from_secs(10), ..FetchLimits::default() }
}

/// The tool with `public` declared public and a scripted DNS.
fn tool_with(public: &[SocketAddr], allow_private: bool, dns: SharedResolver, limits: FetchLimits) -> WebFetch {
    let policy = AddressPolicy { allow_private, treat_as_public: public.to_vec() };
    WebFetch::with_parts(policy, limits, None, dns)
}

fn tool(public: &[SocketAddr]) -> WebFetch {
    tool_with(public, false, ScriptedDns::with(&[]), quick_limits())
}

/// Runs a call as the turn does: `access` first, then `call` only when it passed.
fn run(tool: &WebFetch, url: &str) -> ToolOutput {
    run_with_cancel(tool, url, &CancelToken::new())
}

fn run_with_cancel(tool: &WebFetch, url: &str, cancel: &CancelToken) -> ToolOutput {
    let read_files = Mutex::new(Default::default());
    let progress = |_: &str| {};
    let ctx = ToolContext {
        workspace: Path::new("/"),
        home: Path::new("/nonexistent-pincer-home"),
        cancel,
        read_files: &read_files,
        progress: &progress,
    };
    let input = json!({"url": url});
    match tool.access(&input, &ctx) {
        Ok(_) => tool.call(&input, &ctx),
        Err(e) => ToolOutput::error(e),
    }
}

fn access(tool: &WebFetch, url: &str) -> Result<Target, String> {
    let read_files = Mutex::new(Default::default());
    let progress = |_: &str| {};
    let cancel = CancelToken::new();
    let ctx = ToolContext {
        workspace: Path::new("/"),
        home: Path::new("/nonexistent-pincer-home"),
        cancel: &cancel,
        read_files: &read_files,
        progress: &progress,
    };
    tool.access(&json!({"url": url}), &ctx)
}

fn text(out: &ToolOutput) -> String {
    out.joined_text()
}

#[test]
fn html_becomes_text_with_url_status_and_type() {
    let server = Server::start(|_, s| {
        html(
            s,
            "<html><head><title>Docs</title><style>body{color:red}</style></head><body>\
             <script>document.write('evil')</script><h1>Hello</h1><p>See <a href=\"/next\">the next page</a>.</p></body></html>",
        )
    });
    let out = run(&tool(&[server.addr]), &server.url("/page#frag"));
    let t = text(&out);
    assert!(!out.is_error, "{t}");
    assert!(
        t.starts_with(&format!(
            "url: {}\nstatus: 200 OK\ncontent-type: text/html; charset=utf-8\n",
            server.url("/page")
        )),
        "{t}"
    );
    assert!(t.contains("title: Docs\n"), "{t}");
    assert!(t.ends_with("\n\nHello\n\nSee the next page (/next).\n"), "{t}");
    assert!(!t.contains("evil") && !t.contains("color"), "{t}");
    assert!(out.summary.starts_with("200 · "), "{}", out.summary);
    let seen = server.seen();
    assert_eq!(seen[0].line, "GET /page HTTP/1.1", "the fragment is not sent");
    assert_eq!(seen[0].header("user-agent"), Some(crate::http::USER_AGENT));
    assert_eq!(seen[0].header("accept-encoding"), Some("identity"));
}

#[test]
fn five_redirects_are_followed_and_reported_and_a_sixth_is_refused() {
    let server = Server::start(|path, s| {
        let n: usize = path.trim_start_matches("/r").parse().unwrap_or(0);
        if n > 0 { redirect(s, &format!("/r{}", n - 1)) } else { html(s, "<p>arrived</p>") }
    });
    let tool = tool(&[server.addr]);
    let out = run(&tool, &server.url("/r5"));
    let t = text(&out);
    assert!(!out.is_error, "{t}");
    assert!(t.starts_with(&format!("url: {}\n", server.url("/r0"))), "{t}");
    for n in (0..5).rev() {
        assert!(t.contains(&format!("redirected to {} (302)\n", server.url(&format!("/r{n}")))), "{t}");
    }
    assert!(t.ends_with("arrived\n"), "{t}");
    // Cookies the server set are never sent back.
    assert!(server.seen().iter().all(|s| s.header("cookie").is_none() && s.header("authorization").is_none()));

    let before = server.seen().len();
    let out = run(&tool, &server.url("/r6"));
    assert!(out.is_error);
    assert!(text(&out).starts_with("too many redirects: stopped after 5"), "{}", text(&out));
    assert_eq!(server.seen().len() - before, 6, "the sixth redirect's target is not fetched");
}

#[test]
fn redirects_to_local_addresses_are_refused_before_connecting() {
    let private = Server::start(|_, s| html(s, "<p>internal secrets</p>"));
    let port = private.addr.port();
    let targets = [
        format!("http://127.0.0.1:{port}/"),
        format!("http://localhost:{port}/"),
        format!("http://sub.localhost:{port}/"),
        format!("http://[::ffff:127.0.0.1]:{port}/"),
        format!("http://[::1]:{port}/"),
        format!("http://0.0.0.0:{port}/"),
        format!("http://2130706433:{port}/"),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        "http://10.0.0.1/".to_string(),
        "http://[fd00::1]/".to_string(),
    ];
    let to = Arc::new(Mutex::new(String::new()));
    let target = to.clone();
    let public = Server::start(move |_, s| redirect(s, &target.lock().unwrap()));
    let tool = tool(&[public.addr]);
    for target in targets {
        *to.lock().unwrap() = target.clone();
        let out = run(&tool, &public.url("/"));
        let t = text(&out);
        assert!(out.is_error, "{target}: {t}");
        assert!(t.contains("refused"), "{target}: {t}");
        assert!(t.contains("hint: "), "{target}: {t}");
    }
    assert_eq!(private.connections(), 0, "no refused target was ever connected to");
}

#[test]
fn redirects_to_another_site_are_reported_not_followed() {
    let other = Server::start(|_, s| html(s, "<p>elsewhere</p>"));
    let to = format!("http://other.test:{}/landing", other.addr.port());
    let target = to.clone();
    let server = Server::start(move |path, s| if path == "/" { redirect(s, "/moved") } else { redirect(s, &target) });
    let dns = ScriptedDns::with(&[("site.test", vec![vec![server.addr]]), ("other.test", vec![vec![other.addr]])]);
    let tool = tool_with(&[server.addr, other.addr], false, dns, quick_limits());
    let out = run(&tool, &format!("http://site.test:{}/", server.addr.port()));
    let t = text(&out);
    assert!(!out.is_error, "{t}");
    assert!(t.contains(&format!("redirected to http://site.test:{}/moved (302)\n", server.addr.port())), "{t}");
    assert!(t.contains(&format!("redirects to {to} — not followed, because it leaves site.test")), "{t}");
    assert!(t.ends_with("(it is checked like any other call)"), "{t}");
    assert_eq!(out.summary, "302 → other.test, not followed");
    assert_eq!(other.connections(), 0, "the other site was not contacted");
    assert!(same_site(
        &Url::parse("http://example.com/").unwrap(),
        &Url::parse("https://WWW.example.com:8443/x").unwrap()
    ));
    assert!(!same_site(
        &Url::parse("http://example.com/").unwrap(),
        &Url::parse("http://example.com.evil.test/").unwrap()
    ));
}

#[test]
fn redirects_to_other_schemes_or_credentials_are_refused() {
    let to = Arc::new(Mutex::new(String::new()));
    let target = to.clone();
    let server = Server::start(move |_, s| redirect(s, &target.lock().unwrap()));
    let tool = tool(&[server.addr]);
    for (target, expected) in [
        ("file:///etc/passwd".to_string(), "only http:// and https://"),
        (format!("http://user:pass@{}/x", server.addr), "credentials"),
        ("http://[::1".to_string(), "not a valid URL"),
    ] {
        *to.lock().unwrap() = target.clone();
        let out = run(&tool, &server.url("/"));
        assert!(out.is_error && text(&out).contains(expected), "{target}: {}", text(&out));
    }
    assert_eq!(server.seen().len(), 3, "nothing was fetched beyond the redirecting page");
}

#[test]
fn local_addresses_are_refused_unless_allow_private() {
    let server = Server::start(|_, s| html(s, "<p>my dev server</p>"));
    // No seam: the real policy for a real loopback server.
    let refusing = tool_with(&[], false, ScriptedDns::with(&[("dev.test", vec![vec![server.addr]])]), quick_limits());
    for url in [server.url("/"), format!("http://dev.test:{}/", server.addr.port())] {
        let out = run(&refusing, &url);
        let t = text(&out);
        assert!(out.is_error && t.contains("loopback"), "{url}: {t}");
        assert!(t.contains("allow_private = true"), "{t}");
    }
    assert!(access(&refusing, &server.url("/")).is_err(), "a literal loopback address is refused before asking");
    assert_eq!(server.connections(), 0);

    let allowing = tool_with(&[], true, ScriptedDns::with(&[("dev.test", vec![vec![server.addr]])]), quick_limits());
    for url in [server.url("/"), format!("http://dev.test:{}/", server.addr.port())] {
        let out = run(&allowing, &url);
        assert!(!out.is_error && text(&out).ends_with("my dev server\n"), "{url}: {}", text(&out));
    }
    // Metadata stays closed even then.
    let out = run(&allowing, "http://169.254.169.254/latest/meta-data/");
    assert!(out.is_error && text(&out).contains("cloud metadata"), "{}", text(&out));
    assert!(text(&out).contains("no setting opens"), "{}", text(&out));
}

#[test]
fn dns_rebinding_meets_the_check_on_every_connection() {
    let public = Server::start(|path, s| if path == "/" { redirect(s, "/again") } else { html(s, "<p>second</p>") });
    let private = Server::start(|_, s| html(s, "<p>internal</p>"));
    // The first lookup answers the public server, the next the private one.
    let dns = ScriptedDns::with(&[("rebind.test", vec![vec![public.addr], vec![private.addr]])]);
    let tool = tool_with(&[public.addr], false, dns, quick_limits());
    let out = run(&tool, &format!("http://rebind.test:{}/", public.addr.port()));
    let t = text(&out);
    assert!(out.is_error && t.contains("refused: rebind.test resolves to 127.0.0.1"), "{t}");
    assert_eq!(public.seen().len(), 1);
    assert_eq!(private.connections(), 0);

    // A name with one public and one private address is not trusted at all.
    let dns = ScriptedDns::with(&[("mixed.test", vec![vec![public.addr, private.addr]])]);
    let tool = tool_with(&[public.addr], false, dns, quick_limits());
    let out = run(&tool, &format!("http://mixed.test:{}/", public.addr.port()));
    assert!(out.is_error && text(&out).contains("refused"), "{}", text(&out));
    assert_eq!(public.seen().len(), 1, "the public address was not used either");
    assert_eq!(private.connections(), 0);
}

#[test]
fn the_connected_socket_is_checked() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let stream = TcpStream::connect(addr).unwrap();
    match check_connected(&AddressPolicy::default(), &stream) {
        Err(PeerError::Refused(r)) => {
            assert_eq!(r.addr, addr);
            assert_eq!(r.to_string(), "127.0.0.1 is a loopback address (this machine)");
        }
        other => panic!("a loopback peer must be refused: {other:?}"),
    }
    let allowing = AddressPolicy { allow_private: true, ..AddressPolicy::default() };
    assert!(check_connected(&allowing, &stream).is_ok());
    let seam = AddressPolicy { treat_as_public: vec![addr], ..AddressPolicy::default() };
    assert!(check_connected(&seam, &stream).is_ok());
    let other_port = AddressPolicy {
        treat_as_public: vec![SocketAddr::new(addr.ip(), addr.port().wrapping_add(1))],
        ..AddressPolicy::default()
    };
    assert!(check_connected(&other_port, &stream).is_err(), "the seam is one exact address");
}

#[test]
fn the_connector_checks_the_address_the_socket_reached() {
    // On Linux, connecting to 0.0.0.0 reaches this machine: the address dialled passes (the
    // seam declares it public) but the peer the socket reached is 127.0.0.1, which does not.
    let server = Server::start(|_, s| html(s, "<p>local</p>"));
    let dialled = SocketAddr::from(([0, 0, 0, 0], server.addr.port()));
    let dns = ScriptedDns::with(&[("zero.test", vec![vec![dialled]])]);
    let tool = tool_with(&[dialled], false, dns, quick_limits());
    let out = run(&tool, &format!("http://zero.test:{}/", server.addr.port()));
    let t = text(&out);
    assert!(out.is_error && t.contains("refused: zero.test resolves to 127.0.0.1, a loopback address"), "{t}");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(server.connections(), 1, "the socket was connected");
    assert!(server.seen().is_empty(), "and closed before a byte of the request was sent");
}

#[test]
fn a_silent_server_meets_the_time_limit() {
    let server = Server::start(|path, s| {
        if path == "/trickle" {
            let _ = s.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 1000000\r\n\r\nfirst part ",
            );
        }
        std::thread::sleep(Duration::from_secs(30));
    });
    let limits = FetchLimits { time_limit: Duration::from_millis(800), ..FetchLimits::default() };
    let tool = tool_with(&[server.addr], false, ScriptedDns::with(&[]), limits);
    let started = Instant::now();
    let out = run(&tool, &server.url("/silent"));
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(out.is_error && text(&out).starts_with("timed out"), "{}", text(&out));

    let started = Instant::now();
    let out = run(&tool, &server.url("/trickle"));
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    let t = text(&out);
    assert!(!out.is_error && t.contains("time limit of 0.8 s ran out") && t.ends_with("first part "), "{t}");
}

#[test]
fn cancelling_stops_a_blocked_fetch() {
    let server = Server::start(|_, _| std::thread::sleep(Duration::from_secs(30)));
    let tool = tool(&[server.addr]);
    let cancel = CancelToken::new();
    let canceller = cancel.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        canceller.cancel();
    });
    let started = Instant::now();
    let out = run_with_cancel(&tool, &server.url("/"), &cancel);
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert!(out.is_error && text(&out).starts_with("cancelled"), "{}", text(&out));
}

#[test]
fn a_huge_body_stops_at_the_download_cap() {
    const BODY_BYTES: usize = 64 * 1024 * 1024;
    let written = Arc::new(AtomicUsize::new(0));
    let counter = written.clone();
    let server = Server::start(move |_, s| {
        let head = format!("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {BODY_BYTES}\r\n\r\n");
        let _ = s.write_all(head.as_bytes());
        let chunk = vec![b'a'; 64 * 1024];
        for _ in 0..BODY_BYTES / chunk.len() {
            if s.write_all(&chunk).is_err() {
                return;
            }
            counter.fetch_add(chunk.len(), Ordering::SeqCst);
        }
    });
    let out = run(&tool(&[server.addr]), &server.url("/big"));
    let t = text(&out);
    assert!(!out.is_error, "{}", &t[..200]);
    assert!(t.contains("note: the download stopped at 5.0 MB"), "{}", &t[..300]);
    assert!(t.len() <= DEFAULT_MAX_RESULT_BYTES + 200, "the result is capped: {}", t.len());
    assert!(t.ends_with("[result cut at 100.0 KB of 5.0 MB]"), "{}", &t[t.len() - 100..]);
    assert!(out.summary.ends_with(", cut"), "{}", out.summary);
    std::thread::sleep(Duration::from_millis(200));
    assert!(written.load(Ordering::SeqCst) < 24 * 1024 * 1024, "the client stopped reading near the cap");
}

#[test]
fn latin1_pages_are_decoded() {
    let server = Server::start(|path, s| {
        let body = b"<p>caf\xe9 cr\xe8me \x80</p>";
        let content_type = match path {
            "/header" => "text/html; charset=ISO-8859-1",
            _ => "text/html",
        };
        let body: Vec<u8> = match path {
            "/meta" => [b"<meta charset=\"windows-1252\">".as_slice(), body].concat(),
            _ => body.to_vec(),
        };
        respond(s, "200 OK", &[("content-type", content_type)], &body);
    });
    let tool = tool(&[server.addr]);
    for path in ["/header", "/meta", "/undeclared"] {
        let out = run(&tool, &server.url(path));
        assert!(text(&out).ends_with("\n\ncafé crème €\n"), "{path}: {}", text(&out));
    }
}

#[test]
fn http_errors_are_error_results_with_the_status() {
    let server = Server::start(|path, s| match path {
        "/missing" => respond(s, "404 Not Found", &[("content-type", "text/html")], b"<h1>No such page</h1>"),
        _ => respond(s, "500 Internal Server Error", &[("content-type", "text/plain")], b"boom"),
    });
    let tool = tool(&[server.addr]);
    let out = run(&tool, &server.url("/missing"));
    assert!(out.is_error);
    assert!(text(&out).contains("status: 404 Not Found\n") && text(&out).ends_with("No such page\n"), "{}", text(&out));
    assert_eq!(out.summary, "HTTP 404 · 13 bytes");
    let out = run(&tool, &server.url("/broken"));
    assert!(out.is_error && text(&out).contains("status: 500 Internal Server Error"), "{}", text(&out));
}

#[test]
fn binary_content_is_described_not_returned() {
    let server = Server::start(|path, s| {
        let png = [b"\x89PNG\r\n\x1a\n".as_slice(), &[0u8; 4000]].concat();
        let headers: &[(&str, &str)] = match path {
            "/image" => &[("content-type", "image/png")],
            "/gzip" => &[("content-type", "text/html"), ("content-encoding", "gzip")],
            _ => &[],
        };
        respond(s, "200 OK", headers, &png);
    });
    let tool = tool(&[server.addr]);
    let out = run(&tool, &server.url("/image"));
    assert!(!out.is_error);
    assert!(
        text(&out).ends_with("[image/png content (4.0 KB) is not shown: web_fetch returns text only]"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("PNG"));
    let out = run(&tool, &server.url("/gzip"));
    assert!(
        out.is_error
            && text(&out).ends_with("[the server sent gzip-compressed content, which web_fetch does not decode]"),
        "{}",
        text(&out)
    );
    let out = run(&tool, &server.url("/untyped"));
    assert!(
        text(&out).ends_with("[binary content (4.0 KB) is not shown: web_fetch returns text only]"),
        "{}",
        text(&out)
    );
    assert!(matches!(&out.parts[..], [OutputPart::Text(_)]));
}

#[test]
fn access_reports_the_url_and_refuses_what_is_never_fetched() {
    let tool = tool(&[]);
    assert_eq!(
        access(&tool, "https://Docs.RS/serde/latest/"),
        Ok(Target::Url { url: "https://docs.rs/serde/latest/".into(), host: "docs.rs".into() })
    );
    assert_eq!(
        access(&tool, " https://xn--mnchen-3ya.de/Stra%C3%9Fe "),
        Ok(Target::Url { url: "https://xn--mnchen-3ya.de/Stra%C3%9Fe".into(), host: "xn--mnchen-3ya.de".into() })
    );
    let Ok(Target::Url { url, .. }) = access(&tool, "https://example.com/a b/ü") else { panic!() };
    assert_eq!(url, "https://example.com/a%20b/%C3%BC", "paths are percent-encoded by the parser");
    for (url, expected) in [
        ("file:///etc/passwd", "only http:// and https://"),
        ("ftp://example.com/x", "not `ftp:`"),
        ("javascript:alert(1)", "not `javascript:`"),
        ("https://user:pass@example.com/", "credentials"),
        ("https://user@example.com/", "credentials"),
        ("example.com", "not a valid URL"),
        ("https://münchen.de/", "xn--"),
        ("http://localhost:8080/", "loopback"),
        ("http://127.1/", "loopback"),
        ("http://[::ffff:7f00:1]/", "loopback"),
        ("http://192.168.1.1/", "private"),
        ("http://100.64.0.1/", "carrier-grade NAT"),
        ("http://[fe80::1]/", "link-local"),
        ("http://224.0.0.1/", "multicast"),
    ] {
        let err = access(&tool, url).unwrap_err();
        assert!(err.contains(expected), "{url}: {err}");
        assert!(err.lines().last().unwrap().starts_with("hint: "), "{url}: {err}");
    }
    assert_eq!(tool.access_error_for_input(json!({"url": 3})), "field `url` must be a string, not a number");
    assert_eq!(tool.access_error_for_input(json!({})), "missing field `url`");
}

impl WebFetch {
    fn access_error_for_input(&self, input: Value) -> String {
        let read_files = Mutex::new(Default::default());
        let progress = |_: &str| {};
        let cancel = CancelToken::new();
        let ctx = ToolContext {
            workspace: Path::new("/"),
            home: Path::new("/x"),
            cancel: &cancel,
            read_files: &read_files,
            progress: &progress,
        };
        self.access(&input, &ctx).unwrap_err()
    }
}

/// A CONNECT proxy on loopback that records each request line and tunnels to the target; its
/// own "DNS" puts every name on 127.0.0.1.
fn start_proxy() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let seen = lines.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { continue };
            let seen = seen.clone();
            std::thread::spawn(move || {
                let Some(request) = read_request(&client) else { return };
                seen.lock().unwrap().push(request.line.clone());
                let target = request.line.split(' ').nth(1).unwrap_or_default().to_string();
                let port = target.rsplit(':').next().unwrap_or_default().to_string();
                let Ok(mut upstream) = TcpStream::connect(format!("127.0.0.1:{port}")) else { return };
                let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
                let (mut c2, mut u2) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
                std::thread::spawn(move || std::io::copy(&mut u2, &mut c2));
                let _ = std::io::copy(&mut client, &mut upstream);
            });
        }
    });
    (addr, lines)
}

#[test]
fn through_a_proxy_names_are_checked_before_the_proxy_is_asked() {
    let server = Server::start(|_, s| html(s, "<p>via proxy</p>"));
    let private = Server::start(|_, s| html(s, "<p>internal</p>"));
    let (proxy_addr, lines) = start_proxy();
    let env =
        crate::env::Env { http_proxy: Some(("HTTP_PROXY", format!("http://{proxy_addr}"))), ..Default::default() };
    let dns = ScriptedDns::with(&[("site.test", vec![vec![server.addr]]), ("inside.test", vec![vec![private.addr]])]);
    let policy = AddressPolicy { allow_private: false, treat_as_public: vec![server.addr] };
    let tool = WebFetch::with_parts(policy, quick_limits(), Some(env), dns);

    let out = run(&tool, &format!("http://site.test:{}/", server.addr.port()));
    assert!(!out.is_error && text(&out).ends_with("via proxy\n"), "{}", text(&out));
    // The proxy resolves the name again (the documented limit of the check through a proxy).
    assert_eq!(lines.lock().unwrap().as_slice(), [format!("CONNECT site.test:{} HTTP/1.1", server.addr.port())]);

    let out = run(&tool, &format!("http://inside.test:{}/", private.addr.port()));
    assert!(out.is_error && text(&out).contains("refused: inside.test resolves to 127.0.0.1"), "{}", text(&out));
    assert_eq!(lines.lock().unwrap().len(), 1, "the proxy was not asked");
    let out = run(&tool, "http://unknown.test/");
    assert!(out.is_error && text(&out).contains("host not found"), "{}", text(&out));
    assert_eq!(lines.lock().unwrap().len(), 1, "a name that cannot be checked is not sent to the proxy");
    assert_eq!(private.connections(), 0);
}

#[test]
fn https_trusts_the_same_cas_as_every_other_connection() {
    let dir = tempfile::tempdir().unwrap();
    let server = crate::http::test_tls::TlsServer::start(dir.path(), "text/html", "<p>over TLS</p>");
    let policy = || AddressPolicy { allow_private: false, treat_as_public: vec![server.addr] };
    // The CA from SSL_CERT_FILE, as the model's own connection would trust it.
    let env = crate::env::Env { ssl_cert_file: Some(server.ca_file.clone()), ..Default::default() };
    let tool = WebFetch::with_parts(policy(), quick_limits(), Some(env), ScriptedDns::with(&[]));
    let out = run(&tool, &server.url("/page"));
    assert!(!out.is_error, "{}", text(&out));
    assert!(text(&out).ends_with("over TLS\n"), "{}", text(&out));

    // The system's store does not know the test CA: a certificate error that says so.
    let tool = WebFetch::with_parts(policy(), quick_limits(), None, ScriptedDns::with(&[]));
    let out = run(&tool, &server.url("/page"));
    let t = text(&out);
    assert!(out.is_error, "{t}");
    assert!(t.contains("is signed by a certificate authority pincer does not trust") && t.contains("trusted: "), "{t}");
    assert!(t.lines().last().unwrap().starts_with("hint: "), "{t}");
}
