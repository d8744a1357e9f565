//! When to retry a failed request, and how long to wait: the official SDKs' policy.
//!
//! `x-should-retry` decides when present; otherwise 408, 409, 429 and 5xx (529 included) and
//! connection failures are retried. The wait is `retry-after-ms`, else `retry-after` (seconds or
//! an HTTP date), capped; else exponential backoff (0.5 s × 2ⁿ, at most 8 s) shortened by up to
//! 25 % of jitter. A 429 whose unified rate-limit status says the window is used up is not
//! retried: waiting seconds will not help. Retries happen only before any output was shown; the
//! caller guarantees that by retrying only failed requests, never a started stream.

use std::time::Duration;

use jiff::Timestamp;

pub const DEFAULT_MAX_RETRIES: u32 = 2;
const INITIAL_DELAY: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// Longest server-requested wait honoured; longer asks fall back to backoff.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
const MAX_JITTER_FRACTION: f64 = 0.25;

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Retry(Duration),
    GiveUp,
}

/// What happened to one attempt.
pub enum Failure<'a> {
    /// An HTTP error status with its headers.
    Status { status: u16, headers: &'a [(String, String)] },
    /// No response: refused, reset, timed out.
    Connection,
}

/// `retries_done` is how many retries were already made; `jitter` is uniform in [0, 1).
pub fn decide(failure: &Failure<'_>, retries_done: u32, max_retries: u32, now: Timestamp, jitter: f64) -> Decision {
    if retries_done >= max_retries {
        return Decision::GiveUp;
    }
    let backoff = backoff(retries_done, jitter);
    match failure {
        Failure::Connection => Decision::Retry(backoff),
        Failure::Status { status, headers } => {
            let header = |name: &str| headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim());
            match header("x-should-retry") {
                Some("true") => return Decision::Retry(server_delay(&header, now).unwrap_or(backoff)),
                Some("false") => return Decision::GiveUp,
                _ => {}
            }
            if *status == 429 && window_exhausted(&header) {
                return Decision::GiveUp;
            }
            if matches!(status, 408 | 409 | 429) || *status >= 500 {
                Decision::Retry(server_delay(&header, now).unwrap_or(backoff))
            } else {
                Decision::GiveUp
            }
        }
    }
}

/// True when the unified headers say a subscription window is used up (status `rejected`).
pub fn window_exhausted<'h>(header: &impl Fn(&str) -> Option<&'h str>) -> bool {
    header("anthropic-ratelimit-unified-status") == Some("rejected")
}

fn backoff(retries_done: u32, jitter: f64) -> Duration {
    let exp = INITIAL_DELAY.saturating_mul(2u32.saturating_pow(retries_done)).min(MAX_BACKOFF);
    exp.mul_f64(1.0 - MAX_JITTER_FRACTION * jitter.clamp(0.0, 1.0))
}

fn server_delay<'h>(header: &impl Fn(&str) -> Option<&'h str>, now: Timestamp) -> Option<Duration> {
    let requested = if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        Duration::try_from_secs_f64(ms / 1000.0).ok()?
    } else {
        let value = header("retry-after")?;
        match value.parse::<f64>() {
            Ok(secs) => Duration::try_from_secs_f64(secs).ok()?,
            Err(_) => http_date_delay(value, now)?,
        }
    };
    // Zero or absurd values fall back to backoff, as the Python SDK does.
    (requested > Duration::ZERO && requested <= MAX_RETRY_AFTER).then_some(requested)
}

/// `Wed, 21 Oct 2015 07:28:00 GMT` → time from now.
fn http_date_delay(value: &str, now: Timestamp) -> Option<Duration> {
    let when = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let secs = when.as_second() - now.as_second();
    (secs > 0).then(|| Duration::from_secs(secs as u64))
}

/// A jitter value in [0, 1) without a random-number dependency: the clock's nanoseconds.
pub fn clock_jitter() -> f64 {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    f64::from(nanos % 1_000_000) / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2015-10-21T07:27:00Z".parse().unwrap()
    }

    fn status(code: u16, headers: &[(&str, &str)], retries_done: u32) -> Decision {
        let headers: Vec<(String, String)> = headers.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        decide(&Failure::Status { status: code, headers: &headers }, retries_done, DEFAULT_MAX_RETRIES, now(), 0.0)
    }

    #[test]
    fn retryable_statuses() {
        for code in [408, 409, 429, 500, 502, 503, 504, 529] {
            assert_eq!(status(code, &[], 0), Decision::Retry(Duration::from_millis(500)), "{code}");
        }
        for code in [400, 401, 402, 403, 404, 413] {
            assert_eq!(status(code, &[], 0), Decision::GiveUp, "{code}");
        }
    }

    #[test]
    fn backoff_doubles_caps_and_jitters_down() {
        assert_eq!(status(500, &[], 1), Decision::Retry(Duration::from_secs(1)));
        assert_eq!(backoff(10, 0.0), MAX_BACKOFF);
        assert_eq!(backoff(0, 1.0), Duration::from_millis(375));
        assert_eq!(status(500, &[], 2), Decision::GiveUp, "two retries by default");
        assert_eq!(decide(&Failure::Connection, 0, 2, now(), 0.0), Decision::Retry(Duration::from_millis(500)));
        assert_eq!(decide(&Failure::Connection, 2, 2, now(), 0.0), Decision::GiveUp);
    }

    #[test]
    fn server_hints_are_honoured_and_capped() {
        assert_eq!(status(429, &[("retry-after-ms", "1500")], 0), Decision::Retry(Duration::from_millis(1500)));
        assert_eq!(status(429, &[("retry-after", "3")], 0), Decision::Retry(Duration::from_secs(3)));
        assert_eq!(
            status(503, &[("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT")], 0),
            Decision::Retry(Duration::from_secs(60))
        );
        assert_eq!(status(429, &[("retry-after", "3600")], 0), Decision::Retry(Duration::from_millis(500)), "capped");
        assert_eq!(status(429, &[("retry-after", "0")], 0), Decision::Retry(Duration::from_millis(500)));
        assert_eq!(
            status(429, &[("retry-after-ms", "200"), ("retry-after", "9")], 0),
            Decision::Retry(Duration::from_millis(200))
        );
    }

    #[test]
    fn x_should_retry_overrides_status() {
        assert_eq!(status(400, &[("x-should-retry", "true")], 0), Decision::Retry(Duration::from_millis(500)));
        assert_eq!(status(529, &[("x-should-retry", "false")], 0), Decision::GiveUp);
    }

    #[test]
    fn exhausted_window_is_not_retried() {
        assert_eq!(
            status(429, &[("anthropic-ratelimit-unified-status", "rejected"), ("retry-after", "1")], 0),
            Decision::GiveUp
        );
        assert!(matches!(
            status(429, &[("anthropic-ratelimit-unified-status", "allowed_warning")], 0),
            Decision::Retry(_)
        ));
    }

    #[test]
    fn jitter_is_in_range() {
        let j = clock_jitter();
        assert!((0.0..1.0).contains(&j));
    }
}
