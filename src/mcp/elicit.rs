//! Elicitation: a server asking the person for input (a form described by a JSON Schema).
//!
//! The MCP client asks through the [`Elicitor`] trait, so the terminal (`term::elicit`), a
//! one-shot command and a future chat channel each ask their own way. Without a person to ask,
//! [`Decline`] answers "decline", as SPEC §10 says. [`AcceptDefaults`] accepts with the schema's
//! own defaults (for scripts: `pincer mcp call --accept-defaults`), and declines when a required
//! field has no default, since it will not invent an answer.

use serde_json::{Map, Value};

/// What the server asked (its text is untrusted: sanitise before showing it).
#[derive(Debug, Clone, PartialEq)]
pub struct ElicitRequest {
    pub message: String,
    /// The `requestedSchema`: an object of flat, primitive properties (strings, numbers,
    /// booleans, enums), with `default`s since 2025-11-25 (SEP-1034).
    pub schema: Value,
    /// `form`, or `url` (the server wants the person to open a page).
    pub mode: String,
    pub url: Option<String>,
}

impl ElicitRequest {
    pub fn from_params(params: &Value) -> ElicitRequest {
        let text = |k: &str| params.get(k).and_then(Value::as_str).map(str::to_string);
        ElicitRequest {
            message: text("message").unwrap_or_default(),
            schema: params.get("requestedSchema").cloned().unwrap_or(Value::Null),
            mode: text("mode").unwrap_or_else(|| "form".to_string()),
            url: text("url"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ElicitOutcome {
    Accept(Map<String, Value>),
    Decline,
    Cancel,
}

impl ElicitOutcome {
    /// The `ElicitResult` sent back.
    pub fn to_result(&self) -> Value {
        match self {
            ElicitOutcome::Accept(content) => serde_json::json!({"action": "accept", "content": content}),
            ElicitOutcome::Decline => serde_json::json!({"action": "decline"}),
            ElicitOutcome::Cancel => serde_json::json!({"action": "cancel"}),
        }
    }
}

/// Asks a person (or decides for them) what to answer a server's elicitation.
pub trait Elicitor: Send + Sync {
    /// `server` is the configured name, to say who is asking.
    fn elicit(&self, server: &str, request: &ElicitRequest) -> ElicitOutcome;
}

/// No person to ask: every elicitation is declined.
pub struct Decline;

impl Elicitor for Decline {
    fn elicit(&self, server: &str, _request: &ElicitRequest) -> ElicitOutcome {
        tracing::info!(server, "declined an elicitation: no terminal to ask on");
        ElicitOutcome::Decline
    }
}

/// Accepts a form with the schema's defaults; declines URL mode and forms whose required
/// fields have no default.
pub struct AcceptDefaults;

impl Elicitor for AcceptDefaults {
    fn elicit(&self, server: &str, request: &ElicitRequest) -> ElicitOutcome {
        if request.mode != "form" {
            return ElicitOutcome::Decline;
        }
        let content = defaults(&request.schema);
        let missing: Vec<&str> = required(&request.schema).into_iter().filter(|k| !content.contains_key(*k)).collect();
        if !missing.is_empty() {
            tracing::warn!(
                server,
                "declined an elicitation: required fields without a default: {}",
                missing.join(", ")
            );
            return ElicitOutcome::Decline;
        }
        ElicitOutcome::Accept(content)
    }
}

/// Every property's `default` (of a primitive type), in schema order.
pub fn defaults(schema: &Value) -> Map<String, Value> {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else { return Map::new() };
    properties
        .iter()
        .filter_map(|(k, spec)| {
            let d = spec.get("default")?;
            (d.is_string() || d.is_number() || d.is_boolean() || d.is_array()).then(|| (k.clone(), d.clone()))
        })
        .collect()
}

pub fn required(schema: &Value) -> Vec<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn form(schema: Value) -> ElicitRequest {
        ElicitRequest { message: "m".into(), schema, mode: "form".into(), url: None }
    }

    #[test]
    fn defaults_are_taken_with_their_types() {
        let schema = json!({"type": "object", "properties": {
            "name": {"type": "string", "default": "John Doe"}, "age": {"type": "integer", "default": 30},
            "score": {"type": "number", "default": 95.5}, "status": {"type": "string", "enum": ["a", "b"], "default": "a"},
            "verified": {"type": "boolean", "default": true}, "nick": {"type": "string"}}});
        let ElicitOutcome::Accept(content) = AcceptDefaults.elicit("s", &form(schema)) else { panic!("declined") };
        assert_eq!(
            Value::Object(content),
            json!({"name": "John Doe", "age": 30, "score": 95.5, "status": "a", "verified": true})
        );
    }

    #[test]
    fn missing_required_defaults_and_url_mode_are_declined() {
        let schema = json!({"properties": {"token": {"type": "string"}}, "required": ["token"]});
        assert_eq!(AcceptDefaults.elicit("s", &form(schema)), ElicitOutcome::Decline);
        let url = ElicitRequest { mode: "url".into(), url: Some("https://x".into()), ..form(json!({})) };
        assert_eq!(AcceptDefaults.elicit("s", &url), ElicitOutcome::Decline);
        assert_eq!(Decline.elicit("s", &form(json!({}))), ElicitOutcome::Decline);
        assert_eq!(ElicitOutcome::Decline.to_result(), json!({"action": "decline"}));
    }
}
