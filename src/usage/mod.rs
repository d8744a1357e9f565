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
    /// `normal`, `warning`, … from a `limits[]` entry of the usage endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
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

/// Words for a window named by the headers' `representative-claim` (`five_hour` → `5-hour`,
/// `seven_day_overage_included` → `7-day Overage Included`); unknown names stay as they are.
pub fn claim_label(claim: &str) -> String {
    endpoint::label_for_key(claim)
}

impl UsageSnapshot {
    /// The windows that are used up, by label: from the windows' own status, else the binding
    /// window the headers name.
    pub fn exhausted_windows(&self) -> Vec<String> {
        let rejected: Vec<String> =
            self.windows.iter().filter(|w| w.status.as_deref() == Some("rejected")).map(|w| w.label.clone()).collect();
        if !rejected.is_empty() || self.status.as_deref() != Some("rejected") {
            return rejected;
        }
        self.representative_claim.as_deref().map(claim_label).into_iter().collect()
    }

    /// Newer header figures over older ones: windows the new snapshot carries replace theirs,
    /// the others are kept (a 429 often carries only the window that binds). The overall fields
    /// are taken from `newer` where it has them.
    pub fn merge_headers(&mut self, newer: UsageSnapshot) {
        for window in newer.windows {
            match self.windows.iter_mut().find(|w| w.id == window.id) {
                Some(old) => *old = window,
                None => self.windows.push(window),
            }
        }
        sort_windows(&mut self.windows);
        self.seen_at = newer.seen_at;
        if newer.status.is_some() {
            self.status = newer.status;
        }
        if newer.representative_claim.is_some() {
            self.representative_claim = newer.representative_claim;
        }
        if newer.resets_at.is_some() {
            self.resets_at = newer.resets_at;
        }
    }
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
