//! Usage as people read it: a labelled bar per window with its percent and reset time, in local
//! time and relative ("in 2h 13m").

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::Window;
use crate::term::style::{GREEN, RED, YELLOW, paint};

const BAR_CELLS: usize = 20;
const WARN_PERCENT: f64 = 70.0;
const CRITICAL_PERCENT: f64 = 90.0;
const LABEL_WIDTH: usize = 20;
const WEEK_SECONDS: i64 = 7 * 24 * 60 * 60;

/// One line per window, indented by two spaces.
pub fn windows(windows: &[Window], now: Timestamp, tz: &TimeZone, color: bool) -> String {
    let mut out = String::new();
    for w in windows {
        // Labels may come from the server (`scope.model.display_name`): untrusted text.
        let label = format!("{:<LABEL_WIDTH$}", crate::sanitize::sanitize(&w.label));
        let (bar, pct) = match w.percent {
            Some(p) => {
                let ansi = if p >= CRITICAL_PERCENT {
                    RED
                } else if p >= WARN_PERCENT {
                    YELLOW
                } else {
                    GREEN
                };
                (paint(&bar(p), ansi, color), format!("{:>4}", format!("{}%", p.round() as i64)))
            }
            None => (format!("[{}]", " ".repeat(BAR_CELLS)), format!("{:>4}", "?")),
        };
        let reset = match w.resets_at {
            Some(t) => format!("  resets {}", when(t, now, tz)),
            None => String::new(),
        };
        let status = match (w.status.as_deref(), w.severity.as_deref()) {
            (Some("rejected"), _) => "  (limit reached)".to_string(),
            (_, Some(severity)) if severity != "normal" => format!("  ({})", crate::sanitize::sanitize(severity)),
            _ => String::new(),
        };
        out.push_str(&format!("  {label} {bar} {pct}{reset}{status}\n"));
    }
    out
}

/// `[██████░░░░░░░░░░░░░░]`: over 100 % stays full.
pub fn bar(percent: f64) -> String {
    let filled = ((percent.clamp(0.0, 100.0) / 100.0) * BAR_CELLS as f64).round() as usize;
    format!("[{}{}]", "█".repeat(filled), "░".repeat(BAR_CELLS - filled))
}

/// `17:30 (in 2h 13m)` today, `Tue 3 Dec 17:30 (in 3d 4h)` within a week, `… (2h ago)` when
/// past. More than a week away the weekday no longer places it, so the full date is shown, year
/// included: `Mon 4 Jan 2027 00:00 (in 37d 8h)`.
pub fn when(t: Timestamp, now: Timestamp, tz: &TimeZone) -> String {
    let local = t.to_zoned(tz.clone());
    let today = now.to_zoned(tz.clone()).date();
    let clock = if local.date() == today {
        local.strftime("%H:%M").to_string()
    } else if (t.as_second() - now.as_second()).abs() > WEEK_SECONDS {
        local.strftime("%a %-d %b %Y %H:%M").to_string()
    } else {
        local.strftime("%a %-d %b %H:%M").to_string()
    };
    let seconds = t.as_second() - now.as_second();
    if seconds >= 0 { format!("{clock} (in {})", span(seconds)) } else { format!("{clock} ({} ago)", span(-seconds)) }
}

/// A duration in its two largest units: `45s`, `13m`, `2h 13m`, `3d 4h`.
pub fn span(seconds: i64) -> String {
    const MINUTE: i64 = 60;
    const HOUR: i64 = 60 * MINUTE;
    const DAY: i64 = 24 * HOUR;
    match seconds {
        s if s < MINUTE => format!("{s}s"),
        s if s < HOUR => format!("{}m", s / MINUTE),
        s if s < DAY => format!("{}h {}m", s / HOUR, (s % HOUR) / MINUTE),
        s => format!("{}d {}h", s / DAY, (s % DAY) / HOUR),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_and_clamp() {
        assert_eq!(bar(0.0), format!("[{}]", "░".repeat(20)));
        assert_eq!(bar(50.0), format!("[{}{}]", "█".repeat(10), "░".repeat(10)));
        assert_eq!(bar(102.0), format!("[{}]", "█".repeat(20)));
        assert_eq!(bar(24.0), format!("[{}{}]", "█".repeat(5), "░".repeat(15)));
    }

    #[test]
    fn spans() {
        assert_eq!(span(45), "45s");
        assert_eq!(span(13 * 60 + 5), "13m");
        assert_eq!(span(2 * 3600 + 13 * 60), "2h 13m");
        assert_eq!(span(3 * 86400 + 4 * 3600 + 59), "3d 4h");
    }

    #[test]
    fn when_is_local_and_relative() {
        let tz = TimeZone::UTC;
        let now: Timestamp = "2026-11-28T15:17:00Z".parse().unwrap();
        assert_eq!(when("2026-11-28T17:30:00Z".parse().unwrap(), now, &tz), "17:30 (in 2h 13m)");
        assert_eq!(when("2026-12-01T19:17:00Z".parse().unwrap(), now, &tz), "Tue 1 Dec 19:17 (in 3d 4h)");
        assert_eq!(when("2026-11-28T13:17:00Z".parse().unwrap(), now, &tz), "13:17 (2h 0m ago)");
    }

    #[test]
    fn resets_more_than_a_week_away_show_the_full_date() {
        let tz = TimeZone::UTC;
        let now: Timestamp = "2026-11-28T15:17:00Z".parse().unwrap();
        assert_eq!(when("2027-01-04T00:00:00Z".parse().unwrap(), now, &tz), "Mon 4 Jan 2027 00:00 (in 36d 8h)");
        assert_eq!(when("2026-12-06T16:00:00Z".parse().unwrap(), now, &tz), "Sun 6 Dec 2026 16:00 (in 8d 0h)");
        // Exactly a week is still placed by its weekday; long past times get their date too.
        assert_eq!(when("2026-12-05T15:17:00Z".parse().unwrap(), now, &tz), "Sat 5 Dec 15:17 (in 7d 0h)");
        assert_eq!(when("2026-10-01T09:00:00Z".parse().unwrap(), now, &tz), "Thu 1 Oct 2026 09:00 (58d 6h ago)");
    }

    #[test]
    fn window_line_shows_percent_not_fraction() {
        let w = Window {
            id: "five_hour".into(),
            label: "5-hour".into(),
            percent: Some(42.0),
            resets_at: None,
            status: None,
            severity: None,
        };
        let line = windows(&[w], Timestamp::UNIX_EPOCH, &TimeZone::UTC, false);
        assert!(line.contains(" 42%"), "{line}");
        assert!(!line.contains("4200"), "{line}");
    }
}
