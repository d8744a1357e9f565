//! The two protocol eras and what differs between them, as pure functions.
//!
//! - **Modern** (`2026-07-28`): no handshake. Every request carries the protocol version, the
//!   client's identity and capabilities in `params._meta`; `server/discover` probes the server;
//!   server-to-client questions come back inside results (`resultType: "input_required"`).
//! - **Legacy** (`2025-11-25`, `2025-06-18`, `2025-03-26`): `initialize` / `notifications/initialized`,
//!   then plain requests; the server may send requests of its own (elicitation, roots, ping).
//!
//! pincer tries the modern era first and falls back as the 2026-07-28 "Backward Compatibility"
//! rules say: a `DiscoverResult`, or a recognised modern error, means modern; anything else
//! (another error, silence, a result that is not a `DiscoverResult`) means legacy.

use serde_json::{Value, json};

use super::jsonrpc::RpcError;

pub const MODERN_REVISION: &str = "2026-07-28";
/// Handshake revisions, newest first: offered in this order until a server accepts one.
pub const LEGACY_REVISIONS: [&str; 3] = ["2025-11-25", "2025-06-18", "2025-03-26"];

pub const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
pub const META_CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
pub const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
pub const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";

/// Modern error codes (2026-07-28 reserves -32020…-32099); their presence identifies a modern server.
pub const HEADER_MISMATCH: i64 = -32020;
pub const MISSING_REQUIRED_CLIENT_CAPABILITY: i64 = -32021;
pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;

pub const CLIENT_NAME: &str = "pincer";
pub const CLIENT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// `resultType` of a modern interim result: the server needs answers before it can finish.
pub const RESULT_INPUT_REQUIRED: &str = "input_required";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    Modern,
    Legacy,
}

pub fn client_info() -> Value {
    json!({"name": CLIENT_NAME, "version": CLIENT_VERSION})
}

/// What pincer can do for a server: answer elicitations (form mode) and list roots. Sampling is
/// not offered (pincer declines it), so a conforming server never asks.
pub fn client_capabilities(revision: &str) -> Value {
    if revision == "2025-03-26" {
        // Elicitation did not exist yet.
        return json!({"roots": {}});
    }
    json!({"roots": {}, "elicitation": {"form": {}}})
}

/// The `_meta` every modern request carries.
pub fn modern_meta() -> Value {
    json!({
        META_PROTOCOL_VERSION: MODERN_REVISION,
        META_CLIENT_INFO: client_info(),
        META_CLIENT_CAPABILITIES: client_capabilities(MODERN_REVISION),
    })
}

/// Adds the modern `_meta` (keeping keys already there, such as `progressToken`) to `params`.
pub fn with_modern_meta(mut params: Value) -> Value {
    if !params.is_object() {
        params = json!({});
    }
    let meta = params.as_object_mut().map(|p| p.entry("_meta").or_insert_with(|| json!({})));
    if let Some(Value::Object(meta)) = meta
        && let Value::Object(ours) = modern_meta()
    {
        for (k, v) in ours {
            meta.insert(k, v);
        }
    }
    params
}

pub fn initialize_params(revision: &str) -> Value {
    json!({
        "protocolVersion": revision,
        "capabilities": client_capabilities(revision),
        "clientInfo": client_info(),
    })
}

/// What a `server/discover` probe told us.
#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    /// A modern server that speaks our modern revision.
    Modern { server_info: Option<Value>, capabilities: Value },
    /// Fall back to `initialize`, offering these revisions in this order.
    Legacy { offer: Vec<&'static str> },
    /// A modern server with nothing in common with pincer.
    Incompatible { supported: Vec<String> },
}

/// Reads a `server/discover` outcome (`None`: no answer in time).
pub fn interpret_probe(outcome: Option<&Result<Value, RpcError>>) -> Probe {
    let all_legacy = || Probe::Legacy { offer: LEGACY_REVISIONS.to_vec() };
    match outcome {
        None => all_legacy(),
        Some(Ok(result)) => {
            let Some(versions) = result.get("supportedVersions").and_then(Value::as_array) else {
                // `{}` from a server that answers every unknown method: not a DiscoverResult.
                return all_legacy();
            };
            let versions: Vec<String> = versions.iter().filter_map(Value::as_str).map(str::to_string).collect();
            choose(&versions, || Probe::Modern {
                server_info: result.get("_meta").and_then(|m| m.get(META_SERVER_INFO)).cloned(),
                capabilities: result.get("capabilities").cloned().unwrap_or_else(|| json!({})),
            })
        }
        Some(Err(e)) if e.code == UNSUPPORTED_PROTOCOL_VERSION => {
            let supported = supported_versions(e);
            // It told us the modern revision is not among its versions: never Modern here.
            choose(&supported, || Probe::Incompatible { supported: supported.clone() })
        }
        Some(Err(_)) => all_legacy(),
    }
}

/// The `supported` list of an `UnsupportedProtocolVersionError`.
pub fn supported_versions(e: &RpcError) -> Vec<String> {
    e.data
        .as_ref()
        .and_then(|d| d.get("supported"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

/// Modern if `versions` has our modern revision, else the legacy revisions both sides know.
fn choose(versions: &[String], modern: impl FnOnce() -> Probe) -> Probe {
    if versions.iter().any(|v| v == MODERN_REVISION) {
        return modern();
    }
    let offer: Vec<&'static str> =
        LEGACY_REVISIONS.iter().copied().filter(|r| versions.iter().any(|v| v == r)).collect();
    if offer.is_empty() { Probe::Incompatible { supported: versions.to_vec() } } else { Probe::Legacy { offer } }
}

/// True for the errors only a modern server sends (HTTP fallback keys on these).
pub fn is_modern_error(e: &RpcError) -> bool {
    matches!(e.code, HEADER_MISMATCH | MISSING_REQUIRED_CLIENT_CAPABILITY | UNSUPPORTED_PROTOCOL_VERSION)
}

/// The revision an `initialize` result agreed to, if pincer speaks it.
pub fn agreed_revision(initialize_result: &Value) -> Result<&'static str, String> {
    let version = initialize_result.get("protocolVersion").and_then(Value::as_str).unwrap_or("");
    LEGACY_REVISIONS
        .iter()
        .copied()
        .find(|r| *r == version)
        .ok_or_else(|| format!("the server speaks protocol revision {version:?}, which pincer does not"))
}

/// The `Mcp-Name` source for a method (2026-07-28 "Standard Request Headers").
pub fn mcp_name(method: &str, params: &Value) -> Option<String> {
    let key = match method {
        "tools/call" | "prompts/get" => "name",
        "resources/read" => "uri",
        _ => return None,
    };
    params.get(key).and_then(Value::as_str).map(str::to_string)
}

const BASE64_PREFIX: &str = "=?base64?";
const BASE64_SUFFIX: &str = "?=";

/// A header value as the 2026-07-28 "Value Encoding" rules want it: plain when it is visible
/// ASCII without surrounding spaces, else `=?base64?…?=` (also for text that looks encoded).
pub fn header_value(text: &str) -> String {
    let plain = text.bytes().all(|b| b == b' ' || b == b'\t' || (0x21..=0x7e).contains(&b))
        && text.trim() == text
        && !(text.starts_with(BASE64_PREFIX) && text.ends_with(BASE64_SUFFIX));
    if plain { text.to_string() } else { format!("{BASE64_PREFIX}{}{BASE64_SUFFIX}", base64(text.as_bytes())) }
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// One `x-mcp-header` annotation: the property's path from the schema root, and the header name.
pub type ParamHeader = (Vec<String>, String);

/// The `x-mcp-header` annotations of a tool's input schema: (property path, header name).
/// `Err` says why the tool must be left out (2026-07-28: a client MUST exclude a tool whose
/// annotations break the rules, and SHOULD log why).
pub fn param_headers(schema: &Value) -> Result<Vec<ParamHeader>, String> {
    let mut found = Vec::new();
    collect_param_headers(schema, &mut Vec::new(), &mut found)?;
    if count_annotations(schema) != found.len() {
        return Err("an x-mcp-header annotation is not reachable through `properties` alone".into());
    }
    let mut seen: Vec<String> = Vec::new();
    for (_, name) in &found {
        let lower = name.to_ascii_lowercase();
        if seen.contains(&lower) {
            return Err(format!("x-mcp-header {name:?} is used twice"));
        }
        seen.push(lower);
    }
    Ok(found)
}

const X_MCP_HEADER: &str = "x-mcp-header";
/// RFC 9110 `tchar`, besides letters and digits.
const TOKEN_PUNCTUATION: &str = "!#$%&'*+-.^_`|~";

fn collect_param_headers(schema: &Value, path: &mut Vec<String>, out: &mut Vec<ParamHeader>) -> Result<(), String> {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else { return Ok(()) };
    for (key, spec) in properties {
        path.push(key.clone());
        if let Some(name) = spec.get(X_MCP_HEADER) {
            let name = name.as_str().unwrap_or_default();
            let token =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || TOKEN_PUNCTUATION.contains(c));
            if !token {
                return Err(format!("x-mcp-header {name:?} is not a valid header name"));
            }
            let kind = spec.get("type").and_then(Value::as_str).unwrap_or("");
            if !matches!(kind, "string" | "integer" | "boolean") {
                return Err(format!("x-mcp-header {name:?} is on a property of type {kind:?}"));
            }
            out.push((path.clone(), name.to_string()));
        }
        collect_param_headers(spec, path, out)?;
        path.pop();
    }
    Ok(())
}

fn count_annotations(value: &Value) -> usize {
    match value {
        Value::Object(m) => {
            usize::from(m.contains_key(X_MCP_HEADER)) + m.values().map(count_annotations).sum::<usize>()
        }
        Value::Array(a) => a.iter().map(count_annotations).sum(),
        _ => 0,
    }
}

/// The `Mcp-Param-*` headers for a call's arguments (absent or null values give no header).
pub fn param_header_values(annotations: &[ParamHeader], arguments: &Value) -> Vec<(String, String)> {
    annotations
        .iter()
        .filter_map(|(path, name)| {
            let value = path.iter().try_fold(arguments, |v, key| v.get(key))?;
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
                _ => return None,
            };
            Some((format!("Mcp-Param-{name}"), header_value(&text)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: i64, data: Option<Value>) -> Result<Value, RpcError> {
        Err(RpcError { code, message: "x".into(), data })
    }

    #[test]
    fn probe_outcomes_follow_the_fallback_rules() {
        let modern = Ok(json!({"supportedVersions": ["2026-07-28", "2025-11-25"], "capabilities": {"tools": {}},
            "_meta": {META_SERVER_INFO: {"name": "s", "version": "1"}}}));
        assert!(matches!(interpret_probe(Some(&modern)), Probe::Modern { server_info: Some(_), .. }));
        let all = Probe::Legacy { offer: LEGACY_REVISIONS.to_vec() };
        // Silence, method-not-found, a bare `{}`: legacy.
        assert_eq!(interpret_probe(None), all);
        assert_eq!(interpret_probe(Some(&err(-32601, None))), all);
        assert_eq!(interpret_probe(Some(&Ok(json!({})))), all);
        // A dual-era server that only lists older revisions: initialize with what it lists.
        let older =
            err(UNSUPPORTED_PROTOCOL_VERSION, Some(json!({"supported": ["2025-06-18"], "requested": "2026-07-28"})));
        assert_eq!(interpret_probe(Some(&older)), Probe::Legacy { offer: vec!["2025-06-18"] });
        let alien = err(UNSUPPORTED_PROTOCOL_VERSION, Some(json!({"supported": ["2030-01-01"]})));
        assert!(matches!(interpret_probe(Some(&alien)), Probe::Incompatible { .. }));
        assert!(matches!(
            interpret_probe(Some(&Ok(json!({"supportedVersions": ["2030-01-01"]})))),
            Probe::Incompatible { .. }
        ));
    }

    #[test]
    fn modern_meta_is_added_and_keeps_progress_tokens() {
        let p = with_modern_meta(json!({"name": "t", "_meta": {"progressToken": 5}}));
        assert_eq!(p["_meta"]["progressToken"], 5);
        assert_eq!(p["_meta"][META_PROTOCOL_VERSION], MODERN_REVISION);
        assert_eq!(p["_meta"][META_CLIENT_INFO]["name"], "pincer");
        assert!(p["_meta"][META_CLIENT_CAPABILITIES]["elicitation"].is_object());
        assert!(with_modern_meta(Value::Null)["_meta"].is_object());
        assert!(client_capabilities("2025-03-26").get("elicitation").is_none());
    }

    #[test]
    fn initialize_agreement() {
        assert_eq!(agreed_revision(&json!({"protocolVersion": "2025-06-18"})), Ok("2025-06-18"));
        assert!(agreed_revision(&json!({"protocolVersion": "2024-11-05"})).unwrap_err().contains("2024-11-05"));
        assert_eq!(initialize_params("2025-11-25")["clientInfo"]["name"], "pincer");
    }

    #[test]
    fn header_values_follow_the_encoding_table() {
        // The spec's own examples.
        assert_eq!(header_value("us-west1"), "us-west1");
        assert_eq!(header_value("Hello, 世界"), "=?base64?SGVsbG8sIOS4lueVjA==?=");
        assert_eq!(header_value(" padded "), "=?base64?IHBhZGRlZCA=?=");
        assert_eq!(header_value("line1\nline2"), "=?base64?bGluZTEKbGluZTI=?=");
        assert_eq!(header_value("=?base64?literal?="), "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=");
        assert_eq!(mcp_name("tools/call", &json!({"name": "echo"})).as_deref(), Some("echo"));
        assert_eq!(mcp_name("resources/read", &json!({"uri": "file:///a"})).as_deref(), Some("file:///a"));
        assert_eq!(mcp_name("tools/list", &json!({})), None);
    }

    #[test]
    fn param_headers_are_checked_and_mirrored() {
        let schema = json!({"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "opts": {"type": "object", "properties": {"n": {"type": "integer", "x-mcp-header": "N"}}},
            "query": {"type": "string"}}});
        let found = param_headers(&schema).unwrap();
        assert_eq!(found.len(), 2);
        let headers = param_header_values(&found, &json!({"region": "us-west1", "opts": {"n": 42}}));
        assert!(headers.contains(&("Mcp-Param-Region".into(), "us-west1".into())));
        assert!(headers.contains(&("Mcp-Param-N".into(), "42".into())));
        assert!(param_header_values(&found, &json!({"region": null})).is_empty());
        for bad in [
            json!({"properties": {"a": {"type": "number", "x-mcp-header": "A"}}}),
            json!({"properties": {"a": {"type": "string", "x-mcp-header": "A B"}}}),
            json!({"properties": {"a": {"type": "string", "x-mcp-header": "A"}, "b": {"type": "string", "x-mcp-header": "a"}}}),
            json!({"properties": {"a": {"type": "array", "items": {"type": "string", "x-mcp-header": "A"}}}}),
        ] {
            assert!(param_headers(&bad).is_err(), "{bad}");
        }
    }
}
