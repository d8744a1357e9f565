//! Usage figures come from a server: the endpoint's JSON (percent) and the unified rate-limit
//! headers (fractions). Neither may panic, and whatever is parsed must render, store and load
//! back (`usage.json`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pincer::usage::{UsageSnapshot, endpoint, headers, render};

fn check(snapshot: &UsageSnapshot) {
    let _ = render::windows(&snapshot.windows, jiff::Timestamp::UNIX_EPOCH, &jiff::tz::TimeZone::UTC, true);
    let json = serde_json::to_string(snapshot).expect("a snapshot serializes");
    let _: UsageSnapshot = serde_json::from_str(&json).expect("a stored snapshot loads back");
}

fuzz_target!(|input: &[u8]| {
    // The same bytes as an endpoint body, and as header lines `name: value`.
    if let Ok(snapshot) = endpoint::parse(input, jiff::Timestamp::UNIX_EPOCH) {
        check(&snapshot);
    }
    let text = String::from_utf8_lossy(input);
    let pairs: Vec<(&str, &str)> = text.lines().filter_map(|l| l.split_once(':')).map(|(n, v)| (n.trim(), v.trim())).collect();
    if let Some(snapshot) = headers::parse(pairs, jiff::Timestamp::UNIX_EPOCH) {
        check(&snapshot);
    }
});
