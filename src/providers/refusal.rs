//! Refusals of subscription tokens, told apart by what the server said — never by the status
//! alone: an ordinary validation error (400) or rate limit (429) is reported as itself.
//!
//! Anthropic lets subscription (OAuth) tokens work in its own apps only. Since 2025 it has
//! answered third-party use with a few recognisable texts (reference/anthropic-protocol.md §7.3);
//! each is a refusal that waiting cannot fix, so it is never retried, and its message names the
//! two ways that work: an API key, or the `claude-code` provider (the official Claude Code
//! binary, run on the subscription the sanctioned way).

use super::api_error::ApiError;

/// Why a subscription token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// "This credential is only authorized for use with Claude Code …" (2025-09 onwards).
    OnlyClaudeCode,
    /// "Third-party apps now draw from extra usage, not plan limits …" (2026-06 onwards).
    ThirdPartyDrawsExtraUsage,
    /// "You're out of extra usage …" (2026-04 onwards, with plan quota left).
    OutOfExtraUsage,
}

/// Lower-case fragments of the observed texts, each with what it means.
const SIGNATURES: &[(&str, Refusal)] = &[
    ("only authorized for use with claude code", Refusal::OnlyClaudeCode),
    ("third-party apps now draw from", Refusal::ThirdPartyDrawsExtraUsage),
    ("out of extra usage", Refusal::OutOfExtraUsage),
];

/// The ways out, named in every refusal.
pub const WAYS_OUT: &str = "use an API key (`pincer auth login --provider anthropic --api-key`), or the `claude-code` provider, which runs the official Claude Code binary on your subscription (`--model claude-code/sonnet`)";

/// The refusal `error` is, if its message points at the token kind.
pub fn classify(error: &ApiError) -> Option<Refusal> {
    let message = error.message.to_lowercase();
    SIGNATURES.iter().find(|(fragment, _)| message.contains(fragment)).map(|(_, refusal)| *refusal)
}

impl Refusal {
    /// One sentence on what the refusal means (the server's own words are shown beside it).
    pub fn meaning(self) -> &'static str {
        match self {
            Refusal::OnlyClaudeCode => "Anthropic accepts this subscription token only in its own apps",
            Refusal::ThirdPartyDrawsExtraUsage => {
                "Anthropic bills a subscription's use by other apps to extra usage, not to the plan's limits"
            }
            Refusal::OutOfExtraUsage => {
                "Anthropic draws a subscription's use by other apps from extra usage, and that is used up (the plan's own limits do not apply)"
            }
        }
    }
}

/// A subscription token refused for the kind it is: typed, never retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Anthropic refused the subscription token ({})\n{}.\nhint: {WAYS_OUT}", .error.summary(), .refusal.meaning())]
pub struct SubscriptionRefused {
    pub refusal: Refusal,
    pub error: ApiError,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(status: u16, body: &str) -> ApiError {
        ApiError::parse(status, body.as_bytes(), None)
    }

    #[test]
    fn real_texts_are_classified_by_what_they_say() {
        let table: &[(u16, &str, Option<Refusal>)] = &[
            (
                400,
                r#"{"type":"error","error":{"type":"invalid_request_error","message":"This credential is only authorized for use with Claude Code and cannot be used for other API requests."}}"#,
                Some(Refusal::OnlyClaudeCode),
            ),
            (
                400,
                r#"{"type":"error","error":{"type":"invalid_request_error","message":"Third-party apps now draw from extra usage, not plan limits. Add extra usage at claude.ai/settings/usage to continue."}}"#,
                Some(Refusal::ThirdPartyDrawsExtraUsage),
            ),
            (
                400,
                r#"{"type":"error","error":{"type":"invalid_request_error","message":"You're out of extra usage. Add more at claude.ai/settings/usage and keep going."}}"#,
                Some(Refusal::OutOfExtraUsage),
            ),
            (
                429,
                r#"{"type":"error","error":{"type":"rate_limit_error","message":"You\u2019re out of extra usage."}}"#,
                Some(Refusal::OutOfExtraUsage),
            ),
            // Ordinary errors are themselves, whatever their status.
            (
                400,
                r#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: 100000 > 64000, which is the maximum allowed number of output tokens for claude-sonnet-4-6"}}"#,
                None,
            ),
            (
                400,
                r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#,
                None,
            ),
            (
                400,
                r#"{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API."}}"#,
                None,
            ),
            (400, r#"{"type":"error","error":{"type":"invalid_request_error","message":"Error"}}"#, None),
            (429, r#"{"error":{"message":"Rate limited. Please try again later.","type":"rate_limit_error"}}"#, None),
            (429, r#"{"type":"error","error":{"type":"rate_limit_error","message":"Error"}}"#, None),
            (
                403,
                r#"{"type":"error","error":{"type":"permission_error","message":"OAuth token does not meet scope requirement user:profile"}}"#,
                None,
            ),
            (
                401,
                r#"{"type":"error","error":{"type":"authentication_error","message":"OAuth authentication is currently not supported."}}"#,
                None,
            ),
        ];
        for (status, body, expected) in table {
            assert_eq!(classify(&error(*status, body)), *expected, "{body}");
        }
    }

    #[test]
    fn the_message_shows_the_server_words_and_names_both_ways_out() {
        let e = error(
            400,
            r#"{"error":{"type":"invalid_request_error","message":"This credential is only authorized for use with Claude Code and cannot be used for other API requests."}}"#,
        );
        let text = SubscriptionRefused { refusal: classify(&e).unwrap(), error: e }.to_string();
        assert!(text.starts_with("Anthropic refused the subscription token (HTTP 400 invalid_request_error: This credential is only authorized"), "{text}");
        let hint = text.lines().last().unwrap();
        assert!(
            hint.starts_with("hint: ") && hint.contains("--api-key") && hint.contains("--model claude-code/sonnet"),
            "{text}"
        );
    }
}
