//! The `web_fetch` tool: GET an http(s) URL and give the model readable text.
//!
//! Redirects are followed here, not by ureq, so every hop is checked like the first: its scheme,
//! no credentials in it, and (in [`connect`]) the addresses its host resolves to and the address
//! the socket reached. Only redirects on the same site are followed (the same host, give or take
//! `www.`): the person's permission rules were checked for the host the model asked for, and an
//! open redirect must not carry the call to a host they never allowed. A redirect elsewhere is
//! the result, naming the URL, so the model can call again and the rules decide. Nothing that could carry a credential is ever sent: no cookies (ureq is
//! built without them), no `Authorization`, no `user:pass@` URLs. The whole fetch, redirects
//! included, has one time limit; the download and the result are capped.

mod address;
mod connect;
mod decode;
mod html;
#[cfg(test)]
mod tests;
mod windows_1252;

use std::io::Read;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use url::Url;

use self::connect::{AddressPolicy, AgentParts, Refused, SharedResolver, Sockets};
use self::decode::ContentKind;
use super::{Target, Tool, ToolClass, ToolContext, ToolOutput, cap_head, check_input, human_bytes};
use crate::cancel::CancelToken;

pub const TOOL_NAME: &str = "web_fetch";
/// SPEC §9's limits.
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(30);
pub const DEFAULT_MAX_DOWNLOAD_BYTES: u64 = 5_000_000;
pub const DEFAULT_MAX_RESULT_BYTES: usize = 100_000;
pub const DEFAULT_MAX_REDIRECTS: usize = 5;
/// Connecting to one host never takes more than this, even with time left.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the watcher looks at the cancel token and the clock.
const WATCH_INTERVAL: Duration = Duration::from_millis(50);
/// Bytes read from the body at a time (the cancel token is looked at between reads).
const READ_CHUNK_BYTES: usize = 64 * 1024;
/// What the model asks for: readable documents first.
const ACCEPT: &str = "text/html, application/xhtml+xml, text/plain;q=0.9, application/json;q=0.9, */*;q=0.5";
/// Bodies are read as sent: without this header a server may compress (RFC 9110 §12.5.3), and
/// pincer has no decompressor (the caps count the bytes on the wire).
const ACCEPT_ENCODING: &str = "identity";
const HINT_ALLOW_PRIVATE: &str = "hint: web_fetch reaches only public addresses; to fetch from this machine or your own network, \
     set `allow_private = true` under `[tools.web_fetch]` in config.toml";

/// `[tools.web_fetch]` in config.toml.
#[derive(Debug, Clone, Default)]
pub struct WebSettings {
    /// Allow loopback, private, link-local and unique-local addresses (never cloud metadata).
    pub allow_private: bool,
    /// The environment, for the proxy a URL goes through (read once, in `env.rs`, like every
    /// other pincer connection's).
    pub env: crate::env::Env,
}

/// The caps of one fetch (SPEC's values by default; tests shrink them).
#[derive(Debug, Clone, Copy)]
pub struct FetchLimits {
    /// For the whole fetch: every redirect, connect and read.
    pub time_limit: Duration,
    pub max_download_bytes: u64,
    pub max_result_bytes: usize,
    pub max_redirects: usize,
}

impl Default for FetchLimits {
    fn default() -> Self {
        FetchLimits {
            time_limit: DEFAULT_TIME_LIMIT,
            max_download_bytes: DEFAULT_MAX_DOWNLOAD_BYTES,
            max_result_bytes: DEFAULT_MAX_RESULT_BYTES,
            max_redirects: DEFAULT_MAX_REDIRECTS,
        }
    }
}

pub struct WebFetch {
    policy: AddressPolicy,
    limits: FetchLimits,
    /// The proxy variables (`HTTPS_PROXY`, `NO_PROXY`, …), chosen per URL as for every connection.
    env: Option<crate::env::Env>,
    resolver: SharedResolver,
    /// The CAs to trust, read on the first fetch (`SSL_CERT_FILE`/`SSL_CERT_DIR` or the system's).
    trust: OnceLock<Result<(ureq::tls::TlsConfig, crate::http::tls::TrustSource), String>>,
}

impl WebFetch {
    /// The tool as SPEC describes it; the proxy comes from the environment like every other
    /// pincer connection.
    pub fn new(settings: WebSettings) -> WebFetch {
        WebFetch::with_limits(settings, FetchLimits::default())
    }

    pub fn with_limits(settings: WebSettings, limits: FetchLimits) -> WebFetch {
        let resolver = SharedResolver(Arc::new(ureq::unversioned::resolver::DefaultResolver::default()));
        let policy = AddressPolicy::new(settings.allow_private);
        WebFetch::with_parts(policy, limits, Some(settings.env), resolver)
    }

    fn with_parts(
        policy: AddressPolicy,
        limits: FetchLimits,
        env: Option<crate::env::Env>,
        resolver: SharedResolver,
    ) -> WebFetch {
        WebFetch { policy, limits, env, resolver, trust: OnceLock::new() }
    }

    /// The TLS settings of every fetch: the same CAs as every other pincer connection.
    fn trust(&self) -> Result<&(ureq::tls::TlsConfig, crate::http::tls::TrustSource), String> {
        let trust = self.trust.get_or_init(|| {
            let env = self.env.clone().unwrap_or_default();
            let (roots, source) = crate::http::tls::roots(&env).map_err(|e| e.to_string())?;
            Ok((crate::http::tls::config(roots), source))
        });
        trust.as_ref().map_err(String::clone)
    }

    /// The proxy this URL goes through, if any (HTTP CONNECT proxies only; others go direct).
    fn proxy_for(&self, url: &Url) -> Option<ureq::Proxy> {
        let env = self.env.as_ref()?;
        let choice = crate::http::proxy::choose(env, url.scheme(), url.host_str().unwrap_or_default())?;
        let proxy = crate::http::proxy::to_ureq(&choice).ok()?;
        connect::usable_proxy(&proxy)
    }

    /// Parses a URL the model gave (or a server redirected to) and refuses what is never
    /// fetched: other schemes, credentials, and hosts that are local by name or by literal
    /// address (names are checked again, resolved, when connecting).
    fn checked_url(&self, text: &str) -> Result<Url, String> {
        let mut url = Url::parse(text.trim()).map_err(|e| {
            let why = match e {
                url::ParseError::IdnaError => "the host name is not ASCII; web_fetch takes international \
                                               domain names in their xn-- (punycode) form"
                    .to_string(),
                other => other.to_string(),
            };
            format!("`{text}` is not a valid URL: {why}\nhint: give a full URL such as https://example.com/page")
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "web_fetch fetches only http:// and https:// URLs, not `{}:`\nhint: for local files use read_file",
                url.scheme()
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("URLs with credentials (`user:pass@`) are refused: web_fetch never sends credentials\n\
                        hint: remove the `user:pass@` part of the URL"
                .to_string());
        }
        let port = url.port_or_known_default().unwrap_or_default();
        match url.host() {
            None => return Err(format!("`{text}` has no host\nhint: give a full URL such as https://example.com/")),
            Some(url::Host::Domain(name)) => {
                let name = name.trim_end_matches('.');
                // RFC 6761: `localhost` and every name under it are this machine.
                if (name == "localhost" || name.ends_with(".localhost")) && !self.policy.allow_private {
                    return Err(format!("{name} is this machine (loopback): refused\n{HINT_ALLOW_PRIVATE}"));
                }
            }
            Some(url::Host::Ipv4(ip)) => self.policy.check((ip, port).into()).map_err(refusal)?,
            Some(url::Host::Ipv6(ip)) => self.policy.check((ip, port).into()).map_err(refusal)?,
        }
        url.set_fragment(None);
        Ok(url)
    }

    fn input_url<'a>(&self, input: &'a Value) -> Result<&'a str, String> {
        check_input(&self.input_schema(), input)?;
        Ok(input.get("url").and_then(Value::as_str).unwrap_or_default())
    }

    /// The fetch, with a watcher that shuts the sockets down on cancel or at the deadline
    /// (a read blocked on a silent server returns at once).
    fn fetch(&self, url: Url, cancel: &CancelToken) -> ToolOutput {
        let deadline = Instant::now() + self.limits.time_limit;
        let sockets = Arc::new(Sockets::default());
        let (done, finished) = mpsc::channel::<()>();
        std::thread::scope(|scope| {
            let watched = sockets.clone();
            scope.spawn(move || {
                loop {
                    match finished.recv_timeout(WATCH_INTERVAL) {
                        Err(RecvTimeoutError::Timeout) => {}
                        _ => return,
                    }
                    if cancel.is_cancelled() || Instant::now() >= deadline {
                        // Keeps going: a socket opened after this is shut down too.
                        watched.shut_down();
                    }
                }
            });
            let output = self.follow(url, deadline, &sockets, cancel);
            drop(done);
            output
        })
    }

    fn follow(&self, mut url: Url, deadline: Instant, sockets: &Arc<Sockets>, cancel: &CancelToken) -> ToolOutput {
        let mut redirects: Vec<(u16, Url)> = Vec::new();
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if cancel.is_cancelled() {
                return ToolOutput::error("cancelled");
            }
            if remaining.is_zero() {
                return ToolOutput::error(self.timed_out(&url));
            }
            let tls = match self.trust() {
                Ok((tls, _)) => tls.clone(),
                Err(e) => return ToolOutput::error(e),
            };
            let agent = connect::agent(AgentParts {
                policy: self.policy.clone(),
                proxy: self.proxy_for(&url),
                resolver: self.resolver.clone(),
                connect_timeout: remaining.min(CONNECT_TIMEOUT),
                sockets: sockets.clone(),
                tls,
            });
            let request = agent
                .get(url.as_str())
                .header("accept", ACCEPT)
                .header("accept-encoding", ACCEPT_ENCODING)
                .config()
                .timeout_global(Some(remaining))
                .build();
            let mut response = match request.call() {
                Ok(response) => response,
                Err(e) if cancel.is_cancelled() => {
                    return ToolOutput::error(format!("cancelled ({})", short_error(&e)));
                }
                Err(e) => return ToolOutput::error(self.call_error(&url, &e, deadline)),
            };
            let status = response.status().as_u16();
            let location = crate::http::header(response.headers(), "location");
            if matches!(status, 301 | 302 | 303 | 307 | 308)
                && let Some(location) = location
            {
                let next = match url.join(location) {
                    Ok(next) => next,
                    Err(e) => {
                        return ToolOutput::error(format!("{url} redirects to `{location}`, not a valid URL: {e}"));
                    }
                };
                if redirects.len() >= self.limits.max_redirects {
                    return ToolOutput::error(format!(
                        "too many redirects: stopped after {}, and {url} redirects again, to {next}\n\
                         hint: fetch the last URL yourself if it looks right",
                        self.limits.max_redirects
                    ));
                }
                let next = match self.checked_url(next.as_str()) {
                    Ok(next) => next,
                    Err(why) => {
                        return ToolOutput::error(format!("{url} redirects to {next}, which is refused: {why}"));
                    }
                };
                if !same_site(&url, &next) {
                    return self.redirect_elsewhere(&url, status, &next, &redirects);
                }
                redirects.push((status, next.clone()));
                url = next;
                continue;
            }
            return self.result(&url, deadline, &redirects, &mut response, cancel);
        }
    }

    /// A redirect to another site, not followed: the model reads where it points.
    fn redirect_elsewhere(&self, url: &Url, status: u16, next: &Url, redirects: &[(u16, Url)]) -> ToolOutput {
        let mut text = format!("url: {url}\nstatus: {status}\n");
        for (code, to) in redirects {
            text.push_str(&format!("redirected to {to} ({code})\n"));
        }
        let host = url.host_str().unwrap_or_default();
        text.push_str(&format!(
            "redirects to {next} — not followed, because it leaves {host}\n\
             hint: call web_fetch with that URL to fetch it (it is checked like any other call)"
        ));
        ToolOutput::text(text, format!("{status} → {}, not followed", next.host_str().unwrap_or_default()))
    }

    fn timed_out(&self, url: &Url) -> String {
        format!(
            "timed out: {url} did not answer within web_fetch's limit of {} s\nhint: the server is slow or unreachable; try again later",
            self.limits.time_limit.as_secs_f32()
        )
    }

    fn call_error(&self, url: &Url, e: &ureq::Error, deadline: Instant) -> String {
        if let ureq::Error::Other(inner) = e
            && let Some(r) = inner.downcast_ref::<Refused>()
        {
            let host = url.host_str().unwrap_or_default();
            return format!("refused: {host} resolves to {}, {}\n{}", r.addr.ip(), r.kind.describe(), hint_for(r));
        }
        if matches!(e, ureq::Error::Timeout(_)) || Instant::now() >= deadline {
            return self.timed_out(url);
        }
        if let Some(problem) = crate::http::tls::certificate_problem(e) {
            let trusted = self.trust().map(|(_, source)| source.describe()).unwrap_or_default();
            return format!(
                "could not fetch {url}: {problem} (trusted: {trusted})\n\
                 hint: the page cannot be fetched securely; if a proxy or corporate network re-signs TLS, \
                 point {} at its CA certificate",
                crate::env::SSL_CERT_FILE
            );
        }
        format!("could not fetch {url}: {}", short_error(e))
    }

    /// The result the model reads: where the fetch ended, its status and type, then the text.
    fn result(
        &self,
        url: &Url,
        deadline: Instant,
        redirects: &[(u16, Url)],
        response: &mut ureq::http::Response<ureq::Body>,
        cancel: &CancelToken,
    ) -> ToolOutput {
        let status = response.status();
        let content_type = crate::http::header(response.headers(), "content-type").map(str::to_string);
        let declared_length = response.body().content_length();
        let mut head = format!("url: {url}\nstatus: {} {}\n", status.as_u16(), status.canonical_reason().unwrap_or(""));
        if let Some(content_type) = &content_type {
            head.push_str(&format!("content-type: {content_type}\n"));
        }
        for (code, to) in redirects {
            head.push_str(&format!("redirected to {to} ({code})\n"));
        }
        let media_type = content_type.as_deref().map(decode::media_type).unwrap_or_default();
        let declared_kind = decode::kind_of(&media_type);
        let is_error = status.is_client_error() || status.is_server_error();
        let summary_status = if is_error { format!("HTTP {}", status.as_u16()) } else { status.as_u16().to_string() };

        let encoding = crate::http::header(response.headers(), "content-encoding").unwrap_or("identity").trim();
        if !encoding.eq_ignore_ascii_case("identity") && !encoding.is_empty() {
            head.push_str(&format!(
                "\n[the server sent {encoding}-compressed content, which web_fetch does not decode]"
            ));
            return ToolOutput {
                parts: vec![super::OutputPart::Text(head)],
                is_error: true,
                summary: format!("{summary_status} · {encoding}, not decoded"),
            };
        }
        if declared_kind == Some(ContentKind::Binary) {
            // Not downloaded: the model cannot read it, and it may be large.
            let size = declared_length.map_or("size not given".to_string(), |n| human_bytes(n as usize));
            head.push_str(&format!("\n[{media_type} content ({size}) is not shown: web_fetch returns text only]"));
            return ToolOutput {
                parts: vec![super::OutputPart::Text(head)],
                is_error,
                summary: format!("{summary_status} · {media_type}, not shown"),
            };
        }

        let (bytes, stopped) = match self.read_body(response, cancel, deadline) {
            Ok(read) => read,
            Err(e) if cancel.is_cancelled() => return ToolOutput::error(format!("cancelled ({e})")),
            Err(e) => return ToolOutput::error(format!("could not read {url}: {e}")),
        };
        let kind = declared_kind.unwrap_or_else(|| decode::sniff(&bytes));
        if kind == ContentKind::Binary {
            head.push_str(&format!(
                "\n[binary content ({}) is not shown: web_fetch returns text only]",
                human_bytes(bytes.len())
            ));
            return ToolOutput {
                parts: vec![super::OutputPart::Text(head)],
                is_error,
                summary: format!("{summary_status} · binary, not shown"),
            };
        }
        let decoded = decode::decode(&bytes, content_type.as_deref(), kind);
        let text = if kind == ContentKind::Html {
            if let Some(title) = decode::html_title(&decoded.text) {
                head.push_str(&format!("title: {title}\n"));
            }
            decode::html_to_text(&decoded.text)
        } else {
            decoded.text
        };
        if decoded.charset != "utf-8" {
            head.push_str(&format!("decoded as: {}\n", decoded.charset));
        }
        if let Some(note) = decoded.note {
            head.push_str(&format!("note: {note}\n"));
        }
        match stopped {
            Stopped::Complete => {}
            Stopped::AtCap => head.push_str(&format!(
                "note: the download stopped at {}; the rest of the page was not read\n",
                human_bytes(self.limits.max_download_bytes as usize)
            )),
            Stopped::AtDeadline => head.push_str(&format!(
                "note: the time limit of {} s ran out while reading; this is the part that arrived\n",
                self.limits.time_limit.as_secs_f32()
            )),
        }
        let body = if text.trim().is_empty() { "(no text)".to_string() } else { text };
        let full = format!("{head}\n{body}");
        let (shown, cut) = cap_head(
            &full,
            self.limits.max_result_bytes,
            &format!("result cut at {} of {}", human_bytes(self.limits.max_result_bytes), human_bytes(full.len())),
        );
        let size = human_bytes(body.len());
        let summary =
            if cut { format!("{summary_status} · {size}, cut") } else { format!("{summary_status} · {size}") };
        ToolOutput { parts: vec![super::OutputPart::Text(shown)], is_error, summary }
    }

    /// At most `max_download_bytes` of the body; a deadline mid-body keeps what arrived.
    fn read_body(
        &self,
        response: &mut ureq::http::Response<ureq::Body>,
        cancel: &CancelToken,
        deadline: Instant,
    ) -> std::io::Result<(Vec<u8>, Stopped)> {
        let cap = self.limits.max_download_bytes;
        let expected = response.body().content_length().unwrap_or(0).min(cap);
        let mut bytes = Vec::with_capacity(expected as usize);
        let mut reader = response.body_mut().as_reader();
        let mut chunk = vec![0; READ_CHUNK_BYTES];
        loop {
            if cancel.is_cancelled() {
                return Err(std::io::Error::new(std::io::ErrorKind::Interrupted, "cancelled"));
            }
            let n = match reader.read(&mut chunk) {
                Ok(0) => return Ok((bytes, Stopped::Complete)),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted && !cancel.is_cancelled() => continue,
                // ureq's global timeout and the watcher's shutdown both end a read with an
                // I/O error; the clock says which it was.
                Err(_) if !bytes.is_empty() && !cancel.is_cancelled() && Instant::now() >= deadline => {
                    return Ok((bytes, Stopped::AtDeadline));
                }
                Err(e) => return Err(e),
            };
            let room = (cap - bytes.len() as u64) as usize;
            if n > room {
                bytes.extend_from_slice(&chunk[..room]);
                return Ok((bytes, Stopped::AtCap));
            }
            bytes.extend_from_slice(&chunk[..n]);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stopped {
    Complete,
    AtCap,
    AtDeadline,
}

/// Same host, ignoring a leading `www.` (scheme and port may change: http → https is common).
fn same_site(a: &Url, b: &Url) -> bool {
    let site = |u: &Url| {
        let host = u.host_str().unwrap_or_default().to_ascii_lowercase();
        host.strip_prefix("www.").map(str::to_string).unwrap_or(host)
    };
    site(a) == site(b)
}

fn refusal(r: Refused) -> String {
    format!("refused: {r}\n{}", hint_for(&r))
}

fn hint_for(r: &Refused) -> &'static str {
    if r.kind.opened_by_allow_private() {
        HINT_ALLOW_PRIVATE
    } else {
        "hint: no setting opens this address: web_fetch never reaches it"
    }
}

fn short_error(e: &ureq::Error) -> String {
    crate::http::describe_error(e)
}

impl Tool for WebFetch {
    fn name(&self) -> &str {
        TOOL_NAME
    }

    fn class(&self) -> ToolClass {
        ToolClass::Web
    }

    fn description(&self) -> &str {
        "Fetch an http(s) URL with GET and return the page as readable text (HTML converted, \
         links kept as `text (url)`), with the final URL and status. Local and private network \
         addresses are refused."
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {"url": {"type": "string", "description": "a full http:// or https:// URL"}},
            "required": ["url"],
        })
    }

    fn access(&self, input: &Value, _ctx: &ToolContext<'_>) -> Result<Target, String> {
        let url = self.checked_url(self.input_url(input)?)?;
        // The URL parser has already lower-cased the host and turned it into punycode.
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        Ok(Target::Url { url: url.to_string(), host })
    }

    fn call(&self, input: &Value, ctx: &ToolContext<'_>) -> ToolOutput {
        let url = match self.input_url(input).and_then(|u| self.checked_url(u)) {
            Ok(url) => url,
            Err(e) => return ToolOutput::error(e),
        };
        (ctx.progress)(&format!("GET {url}"));
        self.fetch(url, ctx.cancel)
    }

    fn display(&self, input: &Value) -> String {
        input.get("url").and_then(Value::as_str).unwrap_or_default().to_string()
    }
}
