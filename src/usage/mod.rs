//! Subscription usage: what share of each rate-limit window is used, and when it resets.
//!
//! Two sources speak different units and both end up in one [`UsageSnapshot`] whose figures are
//! always **percent (0–100, may exceed 100)**:
//! - the usage endpoint (`GET /api/oauth/usage`) reports percent ([`endpoint`]);
//! - `anthropic-ratelimit-unified-*` response headers report **fractions** (0–1) ([`headers`]).
//!
//! Mixing the two up is how other tools show 4200 % for 42 %; the conversion happens once, at
//! parse time, and nowhere else.

pub mod cache;
pub mod endpoint;
pub mod fetch;
pub mod headers;
pub mod render;
pub mod status;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Where a snapshot's figures came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageSource {
    /// `GET /api/oauth/usage`.
    Endpoint,
    /// `anthropic-ratelimit-unified-*` headers of a `/v1/messages` response.
    Headers,
}

/// One rate-limit window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// A stable identifier: `five_hour`, `seven_day`, `seven_day_opus`, `seven_day_overage`, …
    pub id: String,
    /// Words for people: `5-hour`, `7-day`, `7-day Opus`, …
    pub label: String,
    /// Used share in percent (0–100; may exceed 100 when over the limit).
    pub percent: Option<f64>,
    pub resets_at: Option<Timestamp>,
    /// `allowed`, `allowed_warning`, `rejected`, when the source says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// Pay-as-you-go credit on top of the subscription (`extra_usage`), in cents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtraUsage {
    pub is_enabled: Option<bool>,
    pub monthly_limit_cents: Option<f64>,
    pub used_cents: Option<f64>,
    pub percent: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// Everything known about a credential's usage at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageSnapshot {
    pub source: UsageSource,
    pub seen_at: Timestamp,
    pub windows: Vec<Window>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_usage: Option<ExtraUsage>,
    /// Overall status from the headers (`allowed`, `allowed_warning`, `rejected`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The window that currently binds (`five_hour`, `seven_day`, …), from the headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub representative_claim: Option<String>,
    /// When the binding window resets, from the headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resets_at: Option<Timestamp>,
}

/// Orders windows the way people read them: 5-hour, 7-day, then the rest by id.
pub(crate) fn sort_windows(windows: &mut [Window]) {
    fn rank(id: &str) -> u8 {
        match id {
            "five_hour" => 0,
            "seven_day" => 1,
            _ => 2,
        }
    }
    windows.sort_by(|a, b| rank(&a.id).cmp(&rank(&b.id)).then_with(|| a.id.cmp(&b.id)));
}
