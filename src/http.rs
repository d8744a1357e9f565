//! The HTTP client every provider uses: honest identity, bounded timeouts, no redirects.
//!
//! Redirects are not followed at all: an API never needs them, and following one could carry a
//! credential to another origin. Proxies ([`proxy`]) and trusted CAs ([`tls`]) come from the
//! variables [`crate::env`] read, and are given to ureq explicitly, so ureq reads no environment
//! of its own. A failure is described with what was in the way: the proxy, the certificate.

pub mod proxy;
#[cfg(test)]
pub(crate) mod test_tls;
pub mod tls;

use std::io::Read;
use std::time::Duration;

use crate::env::Env;

/// pincer says who it is; it never borrows another client's identity.
pub const USER_AGENT: &str = concat!("pincer/", env!("CARGO_PKG_VERSION"));
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest silence between two reads of a response before giving up.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Largest non-streaming body read into memory (error pages, usage, model lists).
pub const MAX_BODY_BYTES: u64 = 4 * 1024 * 1024;
/// ureq's 128 KiB buffers each way are sized for throughput we never need; response headers
/// (a few KiB from real APIs) must fit in the input buffer.
const INPUT_BUFFER_BYTES: usize = 32 * 1024;
const OUTPUT_BUFFER_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub read: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { connect: DEFAULT_CONNECT_TIMEOUT, read: DEFAULT_READ_TIMEOUT }
    }
}

/// The network set-up a command cannot use (a proxy or CA variable that points at nothing
/// usable): a usage error, reported before anything is sent.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Proxy(#[from] proxy::ProxyError),
    #[error(transparent)]
    Trust(#[from] tls::TrustError),
}

/// An agent for requests to `target` (a base URL), with what it goes through, for messages.
/// It dereferences to the [`ureq::Agent`].
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    proxy: Option<proxy::ProxyChoice>,
    trust: tls::TrustSource,
}

impl std::ops::Deref for Client {
    type Target = ureq::Agent;
    fn deref(&self) -> &ureq::Agent {
        &self.agent
    }
}

/// Builds the client for requests to `target`: the proxy its scheme and host call for, the CAs
/// to trust, the timeouts.
pub fn client(env: &Env, timeouts: Timeouts, target: &str) -> Result<Client, SetupError> {
    let uri: Option<ureq::http::Uri> = target.parse().ok();
    let scheme = uri.as_ref().and_then(|u| u.scheme_str()).unwrap_or("https").to_string();
    let host = uri.as_ref().and_then(|u| u.host()).unwrap_or("").to_string();
    let choice = proxy::choose(env, &scheme, &host);
    let ureq_proxy = choice.as_ref().map(proxy::to_ureq).transpose()?;
    let (roots, trust) = tls::roots(env)?;
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .user_agent(USER_AGENT)
        .max_redirects(0)
        .timeout_connect(Some(timeouts.connect))
        .timeout_per_read(Some(timeouts.read))
        .max_response_header_size(INPUT_BUFFER_BYTES)
        .input_buffer_size(INPUT_BUFFER_BYTES)
        .output_buffer_size(OUTPUT_BUFFER_BYTES)
        // Always set, even to none: left alone, ureq would read the proxy variables itself.
        .proxy(ureq_proxy)
        .tls_config(tls::config(roots))
        .build()
        .new_agent();
    Ok(Client { agent, proxy: choice, trust })
}

/// A failed call, for people: what happened, what to do, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetFailure {
    pub reason: String,
    pub hint: Option<String>,
    /// False when another attempt cannot help: a certificate problem, or a time limit already
    /// spent (a server that never starts answering counts against one limit, not one per retry).
    pub retry: bool,
}

impl NetFailure {
    /// Reason and hint on one line, for one-line reports (`auth status`).
    pub fn one_line(&self) -> String {
        match &self.hint {
            Some(hint) => format!("{}; {hint}", self.reason),
            None => self.reason.clone(),
        }
    }
}

impl Client {
    pub fn failure(&self, e: &ureq::Error) -> NetFailure {
        if let Some(problem) = tls::certificate_problem(e) {
            let hint = match &self.trust {
                tls::TrustSource::Variables(what) => format!(
                    "check that {what} holds the CA that signed this server's certificate (a corporate proxy's own CA, if it re-signs TLS)"
                ),
                tls::TrustSource::Missing => format!(
                    "install the system's CA certificates (the ca-certificates package), or point {} at a PEM file of CA certificates",
                    crate::env::SSL_CERT_FILE
                ),
                _ => format!(
                    "if a proxy or corporate network re-signs TLS, point {} at its CA certificate (a PEM file), or add that CA to the system's store",
                    crate::env::SSL_CERT_FILE
                ),
            };
            return NetFailure {
                reason: format!("{problem} (trusted: {})", self.trust.describe()),
                hint: Some(hint),
                retry: false,
            };
        }
        let retry = !matches!(e, ureq::Error::Timeout(_) | ureq::Error::ConnectProxyFailed(_));
        let reason = describe_error(e);
        match &self.proxy {
            Some(p) => NetFailure {
                reason: format!("{reason} (through the proxy {})", p.describe()),
                hint: Some(format!(
                    "check that the proxy is running and reachable; to go direct, add the host to {} or unset {}",
                    crate::env::NO_PROXY,
                    p.var
                )),
                retry,
            },
            None => NetFailure { reason, hint: None, retry },
        }
    }
}

/// A short reason for a failed call, for people ("connection refused", "timed out").
pub fn describe_error(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => "timed out".to_string(),
        ureq::Error::HostNotFound => "host not found".to_string(),
        ureq::Error::ConnectionFailed => "connection failed".to_string(),
        ureq::Error::ConnectProxyFailed(why) => format!("the proxy refused to connect ({why})"),
        ureq::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
            std::io::ErrorKind::ConnectionReset => "connection reset".to_string(),
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => "timed out".to_string(),
            _ => io.to_string(),
        },
        other => other.to_string(),
    }
}

/// Reads a whole (non-streaming) body, at most [`MAX_BODY_BYTES`].
pub fn read_body(response: &mut ureq::http::Response<ureq::Body>) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    response.body_mut().as_reader().take(MAX_BODY_BYTES).read_to_end(&mut body)?;
    Ok(body)
}

/// Every header as (name, value) pairs; values that are not text are skipped.
pub fn header_pairs(headers: &ureq::http::HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers.iter().filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
}

pub fn header<'a>(headers: &'a ureq::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client of `roots`, as [`client`] builds it from the environment.
    fn trusting(roots: ureq::tls::RootCerts, trust: tls::TrustSource) -> Client {
        let agent = ureq::Agent::config_builder().tls_config(tls::config(roots)).build().new_agent();
        Client { agent, proxy: None, trust }
    }

    #[test]
    fn with_no_ca_at_all_tls_fails_as_a_certificate_problem_that_says_what_to_install() {
        let dir = tempfile::tempdir().unwrap();
        let server = test_tls::TlsServer::start(dir.path(), "text/plain", "hello");
        let env = Env { ssl_cert_file: Some(server.ca_file.clone()), ..Env::default() };
        let trusted = client(&env, Timeouts::default(), &server.url("/")).unwrap();
        let mut response = trusted.get(&server.url("/")).call().unwrap();
        assert_eq!(read_body(&mut response).unwrap(), b"hello");

        let none = trusting(ureq::tls::RootCerts::from(Vec::new()), tls::TrustSource::Missing);
        let e = none.get(&server.url("/")).call().unwrap_err();
        let failure = none.failure(&e);
        assert!(failure.reason.contains("does not trust") && failure.reason.contains("no CA at all"), "{failure:?}");
        let hint = failure.hint.unwrap();
        assert!(hint.contains("ca-certificates") && hint.contains("SSL_CERT_FILE"), "{hint}");
        assert!(!failure.retry);
    }
}
