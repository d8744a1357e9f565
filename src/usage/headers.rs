//! Parsing `anthropic-ratelimit-unified-*` response headers: figures are **fractions (0–1, may
//! exceed 1)** and resets are epoch seconds. They are converted to percent here, once.
//!
//! Names seen in traffic: `…-status`, `…-reset`, `…-representative-claim`, and per window
//! (`5h`, `7d`, `7d_oi`, `overage`, …) `…-<window>-utilization`, `…-<window>-reset`,
//! `…-<window>-status`. Only `5h` and `7d` have a known meaning (they line up with the usage
//! endpoint's `five_hour` / `seven_day`); every other family (`7d_oi`, `overage`, one that appears
//! tomorrow) is kept as a window shown by its raw code, never dropped or given a guessed name.

use jiff::Timestamp;

use super::endpoint::epoch;
use super::{UsageSnapshot, UsageSource, Window, sort_windows};

pub const UNIFIED_PREFIX: &str = "anthropic-ratelimit-unified-";
const PERCENT_PER_FRACTION: f64 = 100.0;

/// Reads the unified headers of one response. `None` when there are none.
pub fn parse<'a>(headers: impl IntoIterator<Item = (&'a str, &'a str)>, seen_at: Timestamp) -> Option<UsageSnapshot> {
    let mut snapshot = UsageSnapshot {
        source: UsageSource::Headers,
        seen_at,
        windows: Vec::new(),
        extra_usage: None,
        status: None,
        representative_claim: None,
        resets_at: None,
    };
    let mut seen_any = false;
    for (name, value) in headers {
        let Some(rest) = strip_prefix_ignore_case(name, UNIFIED_PREFIX) else { continue };
        let rest = rest.to_ascii_lowercase();
        let value = value.trim();
        seen_any = true;
        match rest.as_str() {
            "status" => snapshot.status = Some(value.to_string()),
            "reset" => snapshot.resets_at = parse_epoch(value),
            "representative-claim" => snapshot.representative_claim = Some(value.to_string()),
            _ => {
                let Some((code, field)) = split_window_field(&rest) else { continue };
                let window = window_mut(&mut snapshot.windows, code);
                match field {
                    "utilization" => window.percent = value.parse::<f64>().ok().map(|f| f * PERCENT_PER_FRACTION),
                    "reset" => window.resets_at = parse_epoch(value),
                    "status" => window.status = Some(value.to_string()),
                    _ => {}
                }
            }
        }
    }
    // A window known only by its status or reset is still worth showing; one with nothing is not.
    snapshot.windows.retain(|w| w.percent.is_some() || w.resets_at.is_some() || w.status.is_some());
    sort_windows(&mut snapshot.windows);
    seen_any.then_some(snapshot)
}

const WINDOW_FIELDS: &[&str] = &["utilization", "reset", "status"];

/// `5h-utilization` → (`5h`, `utilization`); `7d_oi-reset` → (`7d_oi`, `reset`).
fn split_window_field(rest: &str) -> Option<(&str, &str)> {
    let (code, field) = rest.rsplit_once('-')?;
    (!code.is_empty() && WINDOW_FIELDS.contains(&field)).then_some((code, field))
}

fn window_mut<'w>(windows: &'w mut Vec<Window>, code: &str) -> &'w mut Window {
    let (id, label) = window_names(code);
    if let Some(i) = windows.iter().position(|w| w.id == id) {
        return &mut windows[i];
    }
    windows.push(Window { id, label, percent: None, resets_at: None, status: None, severity: None });
    windows.last_mut().expect("just pushed")
}

/// Header window codes to the ids the usage endpoint uses, so both sources line up.
fn window_names(code: &str) -> (String, String) {
    match code {
        "5h" => ("five_hour".into(), "5-hour".into()),
        "7d" => ("seven_day".into(), "7-day".into()),
        other => (other.to_string(), other.to_string()),
    }
}

fn parse_epoch(value: &str) -> Option<Timestamp> {
    epoch(value.parse::<f64>().ok()?)
}

fn strip_prefix_ignore_case<'a>(name: &'a str, prefix: &str) -> Option<&'a str> {
    let head = name.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &name[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2025-08-02T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn fractions_become_percent() {
        let h = [
            ("anthropic-ratelimit-unified-status", "allowed_warning"),
            ("anthropic-ratelimit-unified-reset", "1754179200"),
            ("anthropic-ratelimit-unified-representative-claim", "five_hour"),
            ("anthropic-ratelimit-unified-fallback-percentage", "0.5"),
            ("Anthropic-Ratelimit-Unified-5h-Utilization", "0.42"),
            ("anthropic-ratelimit-unified-5h-reset", "1754179200"),
            ("anthropic-ratelimit-unified-5h-status", "allowed"),
            ("anthropic-ratelimit-unified-7d-utilization", "0.69"),
            ("anthropic-ratelimit-unified-7d-reset", "1754600000"),
            ("anthropic-ratelimit-unified-7d_oi-utilization", "1.02"),
            ("anthropic-ratelimit-unified-7d-surpassed-threshold", "0.75"),
            ("anthropic-ratelimit-unified-overage-in-use", "true"),
            ("request-id", "req_1"),
        ];
        let s = parse(h, now()).unwrap();
        assert_eq!(s.source, UsageSource::Headers);
        assert_eq!(s.status.as_deref(), Some("allowed_warning"));
        assert_eq!(s.representative_claim.as_deref(), Some("five_hour"));
        assert_eq!(s.resets_at, Some(Timestamp::from_second(1754179200).unwrap()));
        let ids: Vec<&str> = s.windows.iter().map(|w| w.id.as_str()).collect();
        assert_eq!(ids, ["five_hour", "seven_day", "7d_oi"], "unknown families are kept, by their code");
        assert_eq!(s.windows[2].label, "7d_oi");
        let pct: Vec<f64> = s.windows.iter().map(|w| w.percent.unwrap()).collect();
        assert!(
            (pct[0] - 42.0).abs() < 1e-9 && (pct[1] - 69.0).abs() < 1e-9 && (pct[2] - 102.0).abs() < 1e-9,
            "{pct:?}"
        );
        assert_eq!(s.windows[0].status.as_deref(), Some("allowed"));
        assert_eq!(s.windows[0].resets_at, Some(Timestamp::from_second(1754179200).unwrap()));
    }

    #[test]
    fn a_family_known_only_by_status_or_reset_is_still_a_window() {
        let s = parse(
            [
                ("anthropic-ratelimit-unified-overage-status", "rejected"),
                ("anthropic-ratelimit-unified-xyz_9-reset", "4070908800"),
            ],
            now(),
        )
        .unwrap();
        let ids: Vec<&str> = s.windows.iter().map(|w| w.id.as_str()).collect();
        assert_eq!(ids, ["overage", "xyz_9"]);
        assert_eq!(s.windows[0].status.as_deref(), Some("rejected"));
    }

    #[test]
    fn no_unified_headers_is_none_and_garbage_is_tolerated() {
        assert!(parse([("content-type", "application/json")], now()).is_none());
        let s = parse([("anthropic-ratelimit-unified-5h-utilization", "lots")], now()).unwrap();
        assert!(s.windows.is_empty());
    }
}
