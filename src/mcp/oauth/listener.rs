//! The loopback redirect (RFC 8252 §7.3): a listener on `127.0.0.1` at a port the system picks,
//! that takes one redirect carrying this sign-in's `state`, then closes.
//!
//! Requests without the right `state` (a stale tab, another program poking the port) get an
//! error page and change nothing; the first one with it ends the wait, with a code or with the
//! reason the sign-in was declined. The `iss` parameter is checked as RFC 9207 asks, so an
//! authorization server cannot pass off another one's answer (a mix-up attack).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use url::Url;

use super::{OAuthError, pkce, quote};
use crate::secret::Secret;

/// How long the person has to finish signing in.
pub const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(5 * 60);

pub const CALLBACK_PATH: &str = "/callback";
/// How often the wait looks for a connection and for Ctrl-C.
const ACCEPT_POLL: Duration = Duration::from_millis(50);
/// How long one browser connection may take to send its request.
const REQUEST_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest request head read (a redirect is well under 4 KiB).
const MAX_REQUEST_BYTES: usize = 16 * 1024;

/// What a redirect must carry.
pub struct Expected<'a> {
    pub state: &'a Secret<String>,
    /// The issuer recorded from the validated metadata.
    pub issuer: &'a str,
    /// The server promised `iss` in its answers (`authorization_response_iss_parameter_supported`).
    pub iss_required: bool,
}

/// How a redirect was judged.
#[derive(Debug)]
pub enum Verdict {
    Code(Secret<String>),
    /// The right `state`, with an error: the sign-in ends with it.
    Failed(OAuthError),
    /// Not this sign-in's redirect.
    NotOurs(String),
}

/// Judges a redirect's query (`code`, `state`, `iss`, or `error`).
pub fn judge(query: &str, expected: &Expected<'_>) -> Verdict {
    let mut code = None;
    let (mut state, mut iss, mut error, mut description) = (None, None, None, None);
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        let slot = match k.as_ref() {
            "code" => {
                if code.replace(Secret::new(v.into_owned())).is_some() {
                    return Verdict::NotOurs("the address has the code twice".into());
                }
                continue;
            }
            "state" => &mut state,
            "iss" => &mut iss,
            "error" => &mut error,
            "error_description" => &mut description,
            _ => continue,
        };
        // OAuth parameters appear once (RFC 6749 §3.1); a repeated one is a forgery.
        if slot.replace(v.into_owned()).is_some() {
            return Verdict::NotOurs(format!("the address has {k} twice"));
        }
    }
    match &state {
        None => return Verdict::NotOurs("the address has no state".into()),
        Some(s) if !pkce::same(s, expected.state.expose()) => {
            return Verdict::NotOurs("the state does not match this sign-in".into());
        }
        Some(_) => {}
    }
    match (&iss, expected.iss_required) {
        (Some(iss), _) if iss != expected.issuer => {
            // RFC 9207 §2.4: nothing of a mismatched answer is acted on or shown.
            return Verdict::Failed(OAuthError::Callback(format!(
                "the answer came from the issuer {:?}, not {} (RFC 9207): possibly a mix-up attack, so it was discarded\nhint: sign in again",
                quote(iss),
                expected.issuer
            )));
        }
        (None, true) => {
            return Verdict::Failed(OAuthError::Callback(format!(
                "the answer lacks the `iss` parameter that {} promised (RFC 9207), so it was discarded\nhint: sign in again",
                expected.issuer
            )));
        }
        _ => {}
    }
    if let Some(error) = error {
        return Verdict::Failed(OAuthError::Denied {
            error: quote(&error),
            description: description.map(|d| quote(&d)),
        });
    }
    match code.filter(|c| !c.expose().is_empty()) {
        Some(code) => Verdict::Code(code),
        None => Verdict::Failed(OAuthError::Callback(
            "the answer has neither a code nor an error\nhint: sign in again".into(),
        )),
    }
}

/// A bound listener, ready before the browser is sent anywhere.
pub struct Listener {
    socket: TcpListener,
    port: u16,
}

impl Listener {
    pub fn bind() -> Result<Listener, OAuthError> {
        let socket = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|e| OAuthError::Other(anyhow::anyhow!("cannot listen on 127.0.0.1 for the sign-in: {e}")))?;
        let port = socket.local_addr().map_err(|e| OAuthError::Other(e.into()))?.port();
        socket.set_nonblocking(true).map_err(|e| OAuthError::Other(e.into()))?;
        Ok(Listener { socket, port })
    }

    /// `http://127.0.0.1:PORT/callback`: an IP literal, not `localhost`, so no resolver or
    /// hosts file decides where the code goes (RFC 8252 §8.3).
    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}{CALLBACK_PATH}", self.port)
    }

    /// Waits for this sign-in's redirect until `deadline` (or until `interrupted` says so).
    pub fn wait(
        self,
        expected: &Expected<'_>,
        server: &str,
        deadline: Instant,
        interrupted: &dyn Fn() -> bool,
    ) -> Result<Secret<String>, OAuthError> {
        loop {
            if interrupted() {
                return Err(OAuthError::Interrupted);
            }
            if Instant::now() >= deadline {
                return Err(OAuthError::TimedOut { minutes: SIGN_IN_TIMEOUT.as_secs() / 60 });
            }
            match self.socket.accept() {
                Ok((stream, _)) => {
                    if let Some(outcome) = serve(stream, expected, server) {
                        return outcome;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(ACCEPT_POLL),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(OAuthError::Other(anyhow::anyhow!("the sign-in listener failed: {e}"))),
            }
        }
    }
}

/// Answers one connection; `Some` when it ended the wait.
fn serve(mut stream: TcpStream, expected: &Expected<'_>, server: &str) -> Option<Result<Secret<String>, OAuthError>> {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(REQUEST_READ_TIMEOUT));
    let Some(target) = read_target(&mut stream) else {
        respond(&mut stream, 400, "Bad request", "pincer could not read this request.");
        return None;
    };
    let Ok(url) = Url::parse(&format!("http://127.0.0.1{target}")) else {
        respond(&mut stream, 400, "Bad request", "pincer could not read this address.");
        return None;
    };
    if url.path() != CALLBACK_PATH {
        respond(&mut stream, 404, "Not found", "Nothing here: pincer waits for the sign-in's redirect only.");
        return None;
    }
    match judge(url.query().unwrap_or_default(), expected) {
        Verdict::Code(code) => {
            let name = html_escape(server);
            respond(
                &mut stream,
                200,
                "OK",
                &format!("Signed in to {name}. You can close this tab and go back to the terminal."),
            );
            Some(Ok(code))
        }
        Verdict::Failed(e) => {
            respond(&mut stream, 400, "Sign-in failed", &html_escape(&e.to_string()));
            Some(Err(e))
        }
        Verdict::NotOurs(why) => {
            tracing::info!("ignored a redirect to the sign-in listener: {why}");
            respond(
                &mut stream,
                400,
                "Not this sign-in",
                "This is not the sign-in pincer is waiting for; it was ignored.",
            );
            None
        }
    }
}

/// The request target of a `GET`, or `None` for anything else.
fn read_target(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut chunk = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..n]);
        if head.len() > MAX_REQUEST_BYTES {
            return None;
        }
    }
    let line = head.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim_end_matches('\r');
    let mut parts = line.split(' ');
    let (method, target) = (parts.next()?, parts.next()?);
    (method == "GET" && target.starts_with('/')).then(|| target.to_string())
}

fn respond(stream: &mut TcpStream, status: u16, reason: &str, message: &str) {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>pincer</title></head><body><h1>{reason}</h1><p>{message}</p></body></html>\n"
    );
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\ncache-control: no-store\r\nreferrer-policy: no-referrer\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).and_then(|_| stream.write_all(body.as_bytes()));
    let _ = stream.flush();
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\n', "<br>")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expected(state: &Secret<String>, iss_required: bool) -> Expected<'_> {
        Expected { state, issuer: "https://auth.example.com", iss_required }
    }

    #[test]
    fn judges_state_iss_error_and_code() {
        let state = Secret::new("s123".to_string());
        let e = expected(&state, false);
        assert!(matches!(judge("code=c&state=s123", &e), Verdict::Code(c) if c.expose() == "c"));
        assert!(matches!(judge("code=c&state=s124", &e), Verdict::NotOurs(_)));
        assert!(matches!(judge("code=c", &e), Verdict::NotOurs(_)));
        // A repeated parameter is refused, whichever copy would match.
        assert!(matches!(judge("code=c&state=x&state=s123", &e), Verdict::NotOurs(_)));
        assert!(matches!(judge("code=c&state=s123&state=x", &e), Verdict::NotOurs(_)));
        assert!(matches!(judge("code=c&code=d&state=s123", &e), Verdict::NotOurs(_)));
        assert!(matches!(judge("state=s123", &e), Verdict::Failed(_)));
        match judge("error=access_denied&error_description=no%1B[31m&state=s123", &e) {
            Verdict::Failed(err) => {
                let text = err.to_string();
                assert!(text.contains("access_denied") && text.contains("^["), "{text}");
            }
            other => panic!("{other:?}"),
        }
        // RFC 9207: a present iss must match, whether promised or not; a promised one must be there.
        assert!(matches!(judge("code=c&state=s123&iss=https%3A%2F%2Fauth.example.com", &e), Verdict::Code(_)));
        match judge("code=c&state=s123&iss=https%3A%2F%2Fevil.example", &e) {
            Verdict::Failed(err) => assert!(err.to_string().contains("mix-up")),
            other => panic!("{other:?}"),
        }
        // A mismatched error answer is not shown either.
        match judge("error=SHOWN&state=s123&iss=https%3A%2F%2Fevil.example", &e) {
            Verdict::Failed(err) => assert!(!err.to_string().contains("SHOWN")),
            other => panic!("{other:?}"),
        }
        let strict = expected(&state, true);
        assert!(matches!(judge("code=c&state=s123", &strict), Verdict::Failed(_)));
        assert!(matches!(judge("code=c&state=s123&iss=https://auth.example.com", &strict), Verdict::Code(_)));
    }

    fn get(port: u16, target: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(s, "GET {target} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn the_listener_ignores_strangers_and_takes_one_redirect() {
        let listener = Listener::bind().unwrap();
        let uri = listener.redirect_uri();
        assert!(uri.starts_with("http://127.0.0.1:") && uri.ends_with("/callback"), "{uri}");
        let port: u16 = uri.trim_start_matches("http://127.0.0.1:").trim_end_matches("/callback").parse().unwrap();
        let state = Secret::new("st".to_string());
        let browser = std::thread::spawn(move || {
            let favicon = get(port, "/favicon.ico");
            let stranger = get(port, "/callback?code=x&state=wrong");
            let ours = get(port, "/callback?code=the-code&state=st");
            (favicon, stranger, ours)
        });
        let code = listener
            .wait(&expected(&state, false), "notes <b>", Instant::now() + Duration::from_secs(20), &|| false)
            .unwrap();
        assert_eq!(code.expose(), "the-code");
        let (favicon, stranger, ours) = browser.join().unwrap();
        assert!(favicon.starts_with("HTTP/1.1 404"), "{favicon}");
        assert!(stranger.starts_with("HTTP/1.1 400") && stranger.contains("not the sign-in"), "{stranger}");
        assert!(ours.starts_with("HTTP/1.1 200") && ours.contains("Signed in to notes &lt;b&gt;"), "{ours}");
        assert!(ours.contains("referrer-policy: no-referrer") && ours.contains("cache-control: no-store"));
        // One use: the port is closed now.
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    }

    #[test]
    fn the_wait_ends_at_the_deadline_or_on_interrupt() {
        let state = Secret::new("st".to_string());
        let err = Listener::bind().unwrap().wait(&expected(&state, false), "x", Instant::now(), &|| false).unwrap_err();
        assert!(matches!(err, OAuthError::TimedOut { .. }));
        let err = Listener::bind()
            .unwrap()
            .wait(&expected(&state, false), "x", Instant::now() + Duration::from_secs(60), &|| true)
            .unwrap_err();
        assert!(matches!(err, OAuthError::Interrupted));
    }
}
