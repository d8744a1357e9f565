//! JSON-RPC 2.0 messages as MCP uses them: building what pincer sends, classifying what a server
//! sends. Pure: no I/O, so framing and every message shape are unit-tested here.
//!
//! A server is untrusted: anything that is not a well-formed request, notification or response
//! is reported as [`Incoming::Invalid`] with a short reason, never a panic.

use serde_json::{Map, Value, json};

pub const JSONRPC_VERSION: &str = "2.0";

/// Standard JSON-RPC error codes pincer sends or recognises.
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;
pub const INTERNAL_ERROR: i64 = -32603;

/// One message from a server.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A server-to-client request: it must be answered, or the server may wait forever.
    Request {
        id: Value,
        method: String,
        params: Value,
    },
    Notification {
        method: String,
        params: Value,
    },
    /// A response to one of pincer's requests. `id` is pincer's own (a number it chose).
    Response {
        id: Value,
        outcome: Result<Value, RpcError>,
    },
    Invalid(String),
}

/// A JSON-RPC error object, as the server sent it (its message is untrusted text).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} (code {code})")]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

pub fn request(id: u64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": JSONRPC_VERSION, "id": id, "method": method, "params": params})
}

pub fn notification(method: &str, params: Option<Value>) -> Value {
    let mut m = Map::new();
    m.insert("jsonrpc".into(), JSONRPC_VERSION.into());
    m.insert("method".into(), method.into());
    if let Some(p) = params {
        m.insert("params".into(), p);
    }
    Value::Object(m)
}

pub fn result_response(id: &Value, result: Value) -> Value {
    json!({"jsonrpc": JSONRPC_VERSION, "id": id, "result": result})
}

pub fn error_response(id: &Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": JSONRPC_VERSION, "id": id, "error": {"code": code, "message": message}})
}

/// Parses one framed message (a stdio line, an SSE `data`, a JSON body). A JSON array is a
/// batch (2025-03-26 allowed them from servers): each element is classified on its own.
pub fn parse(text: &str) -> Vec<Incoming> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) if !items.is_empty() => items.into_iter().map(classify).collect(),
        Ok(value) => vec![classify(value)],
        Err(e) => vec![Incoming::Invalid(format!("not JSON: {e}"))],
    }
}

/// Sorts a parsed value into request, notification or response.
pub fn classify(value: Value) -> Incoming {
    let Value::Object(mut m) = value else {
        return Incoming::Invalid("a message must be a JSON object".into());
    };
    if m.get("jsonrpc").and_then(Value::as_str) != Some(JSONRPC_VERSION) {
        return Incoming::Invalid("missing \"jsonrpc\": \"2.0\"".into());
    }
    let id = m.remove("id").filter(|id| !id.is_null());
    if let Some(method) = m.get("method") {
        let Some(method) = method.as_str().map(str::to_string) else {
            return Incoming::Invalid("\"method\" is not a string".into());
        };
        let params = m.remove("params").unwrap_or(Value::Null);
        return match id {
            Some(id) if id.is_string() || id.is_i64() || id.is_u64() => Incoming::Request { id, method, params },
            Some(_) => Incoming::Invalid("a request id must be a string or an integer".into()),
            None => Incoming::Notification { method, params },
        };
    }
    let outcome = if let Some(error) = m.remove("error") {
        Err(parse_error(&error))
    } else if let Some(result) = m.remove("result") {
        Ok(result)
    } else {
        return Incoming::Invalid("neither method, result nor error".into());
    };
    match id {
        Some(id) => Incoming::Response { id, outcome },
        // An error without an id: the server could not read a request at all (HTTP 400 bodies).
        None => match outcome {
            Err(e) => Incoming::Response { id: Value::Null, outcome: Err(e) },
            Ok(_) => Incoming::Invalid("a result without an id".into()),
        },
    }
}

fn parse_error(error: &Value) -> RpcError {
    RpcError {
        code: error.get("code").and_then(Value::as_i64).unwrap_or(INTERNAL_ERROR),
        message: error.get("message").and_then(Value::as_str).unwrap_or("(no message)").to_string(),
        data: error.get("data").cloned(),
    }
}

/// Pincer's ids are numbers; a response naming anything else is not ours.
pub fn own_id(id: &Value) -> Option<u64> {
    id.as_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_kind() {
        let r = parse(r#"{"jsonrpc":"2.0","id":"a","method":"ping"}"#);
        assert_eq!(r, [Incoming::Request { id: json!("a"), method: "ping".into(), params: Value::Null }]);
        let n = parse(r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}"#);
        assert!(
            matches!(&n[0], Incoming::Notification { method, params } if method == "notifications/progress" && params["progress"] == 1)
        );
        let ok = parse(r#"{"jsonrpc":"2.0","id":3,"result":{"tools":[]}}"#);
        assert!(
            matches!(&ok[0], Incoming::Response { id, outcome: Ok(v) } if own_id(id) == Some(3) && v["tools"].is_array())
        );
        let err = parse(r#"{"jsonrpc":"2.0","id":4,"error":{"code":-32601,"message":"nope"}}"#);
        assert!(
            matches!(&err[0], Incoming::Response { outcome: Err(RpcError { code: -32601, message, .. }), .. } if message == "nope")
        );
        let no_id = parse(r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"bad session"}}"#);
        assert!(matches!(&no_id[0], Incoming::Response { id: Value::Null, outcome: Err(_) }));
    }

    #[test]
    fn garbage_is_invalid_never_a_panic() {
        for text in [
            "",
            "hello",
            "[]",
            "3",
            r#"{"id":1,"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":1}"#,
            r#"{"jsonrpc":"2.0","method":5}"#,
            r#"{"jsonrpc":"2.0","id":{"x":1},"method":"m"}"#,
            r#"{"jsonrpc":"2.0","result":{}}"#,
        ] {
            let parsed = parse(text);
            assert!(parsed.iter().all(|m| matches!(m, Incoming::Invalid(_))), "{text}: {parsed:?}");
        }
    }

    #[test]
    fn batches_are_split() {
        let b = parse(r#"[{"jsonrpc":"2.0","method":"a"},{"jsonrpc":"2.0","id":1,"result":{}}]"#);
        assert_eq!(b.len(), 2);
        assert!(matches!(b[1], Incoming::Response { .. }));
    }

    #[test]
    fn built_messages_have_the_envelope() {
        assert_eq!(request(7, "tools/list", json!({}))["jsonrpc"], "2.0");
        assert_eq!(request(7, "tools/list", json!({}))["id"], 7);
        assert!(notification("notifications/initialized", None).get("params").is_none());
        assert_eq!(error_response(&json!("s1"), METHOD_NOT_FOUND, "x")["error"]["code"], -32601);
        assert_eq!(result_response(&json!(2), json!({}))["id"], 2);
    }
}
