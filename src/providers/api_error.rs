//! Error bodies of provider APIs, parsed leniently.
//!
//! Anthropic's envelope is `{"type":"error","error":{"type","message"},"request_id"}`; some
//! endpoints drop the outer `type`, OpenAI-compatible servers send `{"error":{"message","type"}}`
//! or even a bare string. Anything else (an HTML page from a proxy) is summarised, never dumped.

use serde_json::Value;

use crate::sanitize::sanitize;

/// Longest server message shown to a person.
const MAX_MESSAGE_CHARS: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    /// `authentication_error`, `permission_error`, `rate_limit_error`, … when the body says.
    pub kind: Option<String>,
    /// The server's message, sanitised for a terminal.
    pub message: String,
    pub request_id: Option<String>,
}

impl ApiError {
    pub fn parse(status: u16, body: &[u8], request_id_header: Option<&str>) -> ApiError {
        let json: Option<Value> = serde_json::from_slice(body).ok();
        let error = json.as_ref().and_then(|v| v.get("error"));
        let kind = error.and_then(|e| e.get("type")).and_then(Value::as_str).map(str::to_string);
        let message = error
            .and_then(|e| e.get("message").and_then(Value::as_str).or_else(|| e.as_str()))
            .or_else(|| json.as_ref().and_then(|v| v.get("message")).and_then(Value::as_str))
            .map(str::to_string)
            .unwrap_or_else(|| summarize_body(body));
        let request_id = json
            .as_ref()
            .and_then(|v| v.get("request_id"))
            .and_then(Value::as_str)
            .or(request_id_header)
            .map(str::to_string);
        ApiError { status, kind, message: clip(&sanitize(message.trim())), request_id }
    }

    /// `HTTP 403 permission_error: OAuth token does not meet scope requirement user:profile`
    pub fn summary(&self) -> String {
        match &self.kind {
            Some(kind) => format!("HTTP {} {kind}: {}", self.status, self.message),
            None => format!("HTTP {}: {}", self.status, self.message),
        }
    }
}

fn summarize_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        "(empty response body)".to_string()
    } else if text.starts_with('<') {
        "(an HTML page, not an API response: is the base URL right?)".to_string()
    } else {
        text.to_string()
    }
}

fn clip(text: &str) -> String {
    match text.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_envelope() {
        let e = ApiError::parse(
            403,
            br#"{"type":"error","error":{"type":"permission_error","message":"OAuth token does not meet scope requirement user:profile","details":{"error_visibility":"user_facing"}},"request_id":"req_1"}"#,
            None,
        );
        assert_eq!(e.kind.as_deref(), Some("permission_error"));
        assert_eq!(e.request_id.as_deref(), Some("req_1"));
        assert!(e.summary().starts_with("HTTP 403 permission_error: OAuth token"));
        let e = ApiError::parse(
            429,
            br#"{"error":{"message":"Rate limited. Please try again later.","type":"rate_limit_error"}}"#,
            Some("req_h"),
        );
        assert_eq!((e.kind.as_deref(), e.request_id.as_deref()), (Some("rate_limit_error"), Some("req_h")));
        let e = ApiError::parse(401, br#"{"error":"Invalid API Key"}"#, None);
        assert_eq!(e.message, "Invalid API Key");
    }

    #[test]
    fn html_and_hostile_bodies_are_tamed() {
        assert!(ApiError::parse(502, b"<html>bad gateway</html>", None).message.contains("HTML page"));
        assert_eq!(ApiError::parse(500, b"", None).message, "(empty response body)");
        let e = ApiError::parse(400, br#"{"error":{"message":"\u001b[2Jgotcha"}}"#, None);
        assert_eq!(e.message, "^[[2Jgotcha");
        let long = format!(r#"{{"error":{{"message":"{}"}}}}"#, "x".repeat(2000));
        assert_eq!(ApiError::parse(400, long.as_bytes(), None).message.chars().count(), MAX_MESSAGE_CHARS + 1);
    }
}
