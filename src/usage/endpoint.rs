//! Parsing `GET /api/oauth/usage`: figures in **percent (0–100)**.
//!
//! Two shapes arrive side by side: top-level windows (`five_hour`, `seven_day`,
//! `seven_day_<model>`, each `{utilization, resets_at}`) and the newer `limits[]` array
//! (`{kind, percent, resets_at, scope}`), where per-model weekly windows now live. Every key may be
//! missing or null, numbers may be int or float, `resets_at` may be an ISO string or epoch
//! seconds/milliseconds, and unknown keys are ignored. `limits[]` entries win over the legacy key
//! that means the same window, being the newer data.

use jiff::Timestamp;
use serde_json::{Map, Value};

use super::{ExtraUsage, UsageSnapshot, UsageSource, Window, sort_windows};

/// Epoch values above this are milliseconds (year 2286 in seconds).
const EPOCH_MS_THRESHOLD: f64 = 1e10;

/// Parses a usage body. Fails only when the body is not a JSON object.
pub fn parse(body: &[u8], seen_at: Timestamp) -> Result<UsageSnapshot, serde_json::Error> {
    let root: Map<String, Value> = serde_json::from_slice(body)?;
    let mut windows: Vec<Window> = Vec::new();
    for (key, value) in &root {
        if key == "extra_usage" || key == "limits" {
            continue;
        }
        let Some(obj) = value.as_object() else { continue };
        if !obj.contains_key("utilization") {
            continue;
        }
        windows.push(Window {
            id: key.clone(),
            label: label_for_key(key),
            percent: obj.get("utilization").and_then(number),
            resets_at: obj.get("resets_at").and_then(timestamp),
            status: None,
            severity: None,
        });
    }
    if let Some(limits) = root.get("limits").and_then(Value::as_array) {
        for entry in limits.iter().filter_map(Value::as_object) {
            let Some(window) = limit_window(entry) else { continue };
            match windows.iter_mut().find(|w| w.id == window.id) {
                Some(existing) => *existing = window,
                None => windows.push(window),
            }
        }
    }
    sort_windows(&mut windows);
    let extra_usage = root.get("extra_usage").and_then(Value::as_object).map(|e| ExtraUsage {
        is_enabled: e.get("is_enabled").and_then(Value::as_bool),
        monthly_limit_cents: e.get("monthly_limit").and_then(number),
        used_cents: e.get("used_credits").and_then(number),
        percent: e.get("utilization").and_then(number),
        currency: e.get("currency").and_then(Value::as_str).map(str::to_string),
    });
    Ok(UsageSnapshot {
        source: UsageSource::Endpoint,
        seen_at,
        windows,
        extra_usage,
        status: None,
        representative_claim: None,
        resets_at: None,
    })
}

/// One `limits[]` entry as a window; `None` when it has no kind. Labels are built from the
/// entry itself, not from a list of known kinds: the period from `kind`/`group` (`session` is the
/// 5-hour window, `weekly…` the 7-day ones), then what the window is scoped to
/// (`scope.model.display_name`, else its id, else `scope.surface`). An unknown period keeps its
/// kind's words, so a new kind still reads sensibly.
fn limit_window(entry: &Map<String, Value>) -> Option<Window> {
    let kind = entry.get("kind").and_then(Value::as_str)?;
    let group = entry.get("group").and_then(Value::as_str);
    let scope = entry.get("scope").and_then(Value::as_object);
    let scope_name = scope.and_then(|s| {
        let model = s.get("model").and_then(Value::as_object);
        model
            .and_then(|m| m.get("display_name").and_then(Value::as_str).or_else(|| m.get("id").and_then(Value::as_str)))
            .or_else(|| s.get("surface").and_then(Value::as_str))
    });
    let period = if kind == "session" || group == Some("session") {
        Some(("five_hour", "5-hour"))
    } else if kind.starts_with("weekly") || group == Some("weekly") {
        Some(("seven_day", "7-day"))
    } else {
        None
    };
    let (id, label) = match (period, scope_name) {
        (Some((id, label)), None) => (id.to_string(), label.to_string()),
        (Some((id, label)), Some(name)) => (format!("{id}_{}", slug(name)), format!("{label} {name}")),
        (None, Some(name)) => (format!("{kind}_{}", slug(name)), format!("{} {name}", kind.replace('_', " "))),
        (None, None) => (kind.to_string(), kind.replace('_', " ")),
    };
    Some(Window {
        id,
        label,
        percent: entry.get("percent").and_then(number),
        resets_at: entry.get("resets_at").and_then(timestamp),
        status: None,
        severity: entry.get("severity").and_then(Value::as_str).map(str::to_string),
    })
}

fn slug(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect()
}

/// `five_hour` → `5-hour`, `seven_day_opus` → `7-day Opus`, anything else readable.
pub(crate) fn label_for_key(key: &str) -> String {
    let (head, rest) = if let Some(rest) = key.strip_prefix("five_hour") {
        ("5-hour", rest)
    } else if let Some(rest) = key.strip_prefix("seven_day") {
        ("7-day", rest)
    } else {
        return key.replace('_', " ");
    };
    let words: Vec<String> = rest
        .split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
        })
        .collect();
    if words.is_empty() { head.to_string() } else { format!("{head} {}", words.join(" ")) }
}

/// A number given as int, float, or numeric string.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An ISO 8601 string, or epoch seconds or milliseconds.
pub(crate) fn timestamp(v: &Value) -> Option<Timestamp> {
    match v {
        Value::String(s) => s.parse::<Timestamp>().ok().or_else(|| epoch(s.trim().parse().ok()?)),
        Value::Number(n) => epoch(n.as_f64()?),
        _ => None,
    }
}

pub(crate) fn epoch(value: f64) -> Option<Timestamp> {
    let ms = if value.abs() >= EPOCH_MS_THRESHOLD { value } else { value * 1000.0 };
    Timestamp::from_millisecond(ms as i64).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-01-02T12:00:00Z".parse().unwrap()
    }

    fn window<'a>(s: &'a UsageSnapshot, id: &str) -> &'a Window {
        s.windows.iter().find(|w| w.id == id).unwrap_or_else(|| panic!("no {id} in {:?}", s.windows))
    }

    /// The legacy shape of the reference (§8.2), verbatim.
    const LEGACY: &str = r#"{
      "five_hour":  {"utilization": 24.0, "resets_at": "2026-01-02T19:59:59.600956+00:00"},
      "seven_day":  {"utilization": 36.0, "resets_at": "2026-01-08T06:59:59.600974+00:00"},
      "seven_day_sonnet": {"utilization": 1.0, "resets_at": "2026-01-08T14:59:59.600981+00:00"},
      "seven_day_opus": null,
      "seven_day_oauth_apps": null,
      "iguana_necktie": null,
      "extra_usage": {"is_enabled": false, "monthly_limit": null, "used_credits": null, "utilization": null}
    }"#;

    #[test]
    fn legacy_windows_are_percent_not_fractions() {
        let s = parse(LEGACY.as_bytes(), now()).unwrap();
        assert_eq!(s.source, UsageSource::Endpoint);
        let ids: Vec<&str> = s.windows.iter().map(|w| w.id.as_str()).collect();
        assert_eq!(ids, ["five_hour", "seven_day", "seven_day_sonnet"]);
        assert_eq!(window(&s, "five_hour").percent, Some(24.0));
        assert_eq!(window(&s, "seven_day").percent, Some(36.0));
        assert_eq!(window(&s, "seven_day_sonnet").label, "7-day Sonnet");
        assert_eq!(window(&s, "five_hour").resets_at, Some("2026-01-02T19:59:59.600956Z".parse().unwrap()));
        let extra = s.extra_usage.unwrap();
        assert_eq!(extra.is_enabled, Some(false));
        assert_eq!(extra.used_cents, None);
    }

    #[test]
    fn extra_usage_is_in_cents() {
        let s = parse(
            br#"{"extra_usage": {"is_enabled": true, "monthly_limit": 5000, "used_credits": 1250, "utilization": 25.0, "currency": "USD"}}"#,
            now(),
        )
        .unwrap();
        let e = s.extra_usage.unwrap();
        assert_eq!((e.monthly_limit_cents, e.used_cents, e.percent), (Some(5000.0), Some(1250.0), Some(25.0)));
        assert_eq!(e.currency.as_deref(), Some("USD"));
    }

    #[test]
    fn limits_array_adds_scoped_windows_and_wins_over_legacy() {
        let body = br#"{
          "five_hour": {"utilization": 5, "resets_at": null},
          "seven_day_opus": null,
          "limits": [
            {"kind": "session", "group": "session", "percent": 10, "resets_at": "2099-01-01T00:00:00.000Z"},
            {"kind": "weekly_all", "group": "weekly", "percent": 20.5, "resets_at": "2099-01-08T00:00:00.000Z", "severity": "normal", "is_active": false},
            {"kind": "weekly_scoped", "group": "weekly", "percent": 7, "resets_at": "2099-01-08T00:00:00.000Z",
             "scope": {"model": {"display_name": "Fable", "id": null}, "surface": null}},
            {"kind": "weekly_scoped", "percent": 3, "resets_at": null, "scope": {"model": null, "surface": "cowork"}},
            {"kind": "brand_new_kind", "percent": 1},
            {"percent": 99},
            "junk"
          ],
          "member_dashboard_available": true
        }"#;
        let s = parse(body, now()).unwrap();
        assert_eq!(window(&s, "five_hour").percent, Some(10.0), "limits[] wins");
        assert_eq!(window(&s, "seven_day").percent, Some(20.5));
        let fable = window(&s, "seven_day_fable");
        assert_eq!((fable.label.as_str(), fable.percent), ("7-day Fable", Some(7.0)));
        assert_eq!(window(&s, "seven_day_cowork").resets_at, None);
        assert_eq!(window(&s, "brand_new_kind").label, "brand new kind");
        assert_eq!(s.windows.len(), 5);
        assert_eq!(window(&s, "seven_day").severity.as_deref(), Some("normal"));
    }

    #[test]
    fn limits_labels_are_built_from_the_entry_not_a_list_of_kinds() {
        let body = br#"{"limits": [
            {"kind": "weekly_model", "group": "weekly", "percent": 40, "severity": "warning",
             "scope": {"model": {"display_name": "Opus", "id": "claude-opus-4-8"}}},
            {"kind": "weekly_scoped", "percent": 2, "scope": {"model": {"display_name": null, "id": "claude-haiku-4-5"}}},
            {"kind": "session_scoped", "group": "session", "percent": 9, "scope": {"surface": "routines"}},
            {"kind": "monthly_tokens", "percent": 1, "scope": {"model": {"display_name": "Sonnet"}}}
        ]}"#;
        let s = parse(body, now()).unwrap();
        let opus = window(&s, "seven_day_opus");
        assert_eq!((opus.label.as_str(), opus.severity.as_deref()), ("7-day Opus", Some("warning")));
        assert_eq!(window(&s, "seven_day_claude_haiku_4_5").label, "7-day claude-haiku-4-5");
        assert_eq!(window(&s, "five_hour_routines").label, "5-hour routines");
        assert_eq!(window(&s, "monthly_tokens_sonnet").label, "monthly tokens Sonnet");
    }

    #[test]
    fn tolerant_of_missing_null_and_odd_numbers() {
        let s = parse(br#"{"five_hour": {"utilization": null}, "seven_day": {"utilization": "42", "resets_at": 1767225600}, "seven_day_opus": {"utilization": 3, "resets_at": 1767225600000}}"#, now()).unwrap();
        assert_eq!(window(&s, "five_hour").percent, None);
        assert_eq!(window(&s, "seven_day").percent, Some(42.0));
        let expected: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(window(&s, "seven_day").resets_at, Some(expected));
        assert_eq!(window(&s, "seven_day_opus").resets_at, Some(expected));
        assert!(parse(b"{}", now()).unwrap().windows.is_empty());
        assert!(parse(b"[1,2]", now()).is_err());
    }

    #[test]
    fn labels() {
        assert_eq!(label_for_key("five_hour"), "5-hour");
        assert_eq!(label_for_key("seven_day_oauth_apps"), "7-day Oauth Apps");
        assert_eq!(label_for_key("tangelo"), "tangelo");
    }
}
