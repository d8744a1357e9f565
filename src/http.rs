//! The HTTP client every provider uses: honest identity, bounded timeouts, no redirects.
//!
//! Redirects are not followed at all: an API never needs them, and following one could carry a
//! credential to another origin. Proxies come from the usual variables (`HTTPS_PROXY`, …).

use std::io::Read;
use std::time::Duration;

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

pub fn agent(timeouts: Timeouts) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .user_agent(USER_AGENT)
        .max_redirects(0)
        .timeout_connect(Some(timeouts.connect))
        .timeout_per_read(Some(timeouts.read))
        .max_response_header_size(INPUT_BUFFER_BYTES)
        .input_buffer_size(INPUT_BUFFER_BYTES)
        .output_buffer_size(OUTPUT_BUFFER_BYTES)
        .build()
        .new_agent()
}

/// A short reason for a failed call, for people ("connection refused", "timed out").
pub fn describe_error(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => "timed out".to_string(),
        ureq::Error::HostNotFound => "host not found".to_string(),
        ureq::Error::ConnectionFailed => "connection failed".to_string(),
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
