//! Anthropic's API: the one place a credential becomes headers, key verification and the chat
//! request. The usage endpoint and the rate-limit probe live in [`crate::usage::fetch`], which
//! builds its headers here.

use ureq::http::HeaderValue;

use super::api_error::ApiError;
use super::chat::{ChatRequest, HttpRequest};
use super::secret_header::{UnsendableCredential, sensitive};
use crate::auth::credential::Method;
use crate::http;
use crate::secret::Secret;

pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
pub const API_VERSION: &str = "2023-06-01";
/// Required with any OAuth Bearer token; without it the API answers 401.
pub const OAUTH_BETA: &str = "oauth-2025-04-20";
pub const HEADER_VERSION: &str = "anthropic-version";
pub const HEADER_BETA: &str = "anthropic-beta";
pub const HEADER_API_KEY: &str = "x-api-key";
pub const HEADER_AUTHORIZATION: &str = "authorization";
pub const HEADER_REQUEST_ID: &str = "request-id";
pub const PATH_MODELS: &str = "/v1/models";
pub const PATH_MESSAGES: &str = "/v1/messages";
pub const DEFAULT_MODEL: &str = "claude-sonnet-4-6";
/// Anthropic requires `max_tokens`; this is used when the model entry does not set it.
pub const DEFAULT_MAX_TOKENS: u64 = 8192;

/// The base URL without a trailing slash.
pub fn base_url(configured: Option<&str>) -> String {
    configured.unwrap_or(DEFAULT_BASE_URL).trim_end_matches('/').to_string()
}

/// The headers that authenticate a request, and the only code that decides them:
/// a setup token (OAuth) gets `Authorization: Bearer` plus the OAuth beta flag, an API key gets
/// `x-api-key`; never both. `extra_betas` are merged as a set. Secret values are marked sensitive;
/// one that cannot be a header value is an error, never a placeholder.
pub fn auth_headers(
    method: Method,
    secret: &Secret<String>,
    extra_betas: &[String],
) -> Result<Vec<(&'static str, HeaderValue)>, UnsendableCredential> {
    let mut betas: Vec<&str> = Vec::new();
    let mut headers = Vec::with_capacity(3);
    headers.push((HEADER_VERSION, HeaderValue::from_static(API_VERSION)));
    match method {
        Method::OAuth => {
            let bearer = Secret::new(format!("Bearer {}", secret.expose()));
            headers.push((HEADER_AUTHORIZATION, sensitive(bearer.expose())?));
            betas.push(OAUTH_BETA);
        }
        Method::ApiKey => headers.push((HEADER_API_KEY, sensitive(secret.expose())?)),
    }
    for beta in extra_betas.iter().flat_map(|b| b.split(',')).map(str::trim).filter(|b| !b.is_empty()) {
        if !betas.contains(&beta) {
            betas.push(beta);
        }
    }
    if !betas.is_empty()
        && let Ok(value) = HeaderValue::from_str(&betas.join(","))
    {
        headers.push((HEADER_BETA, value));
    }
    Ok(headers)
}

pub(crate) fn with_headers<B>(
    mut request: ureq::RequestBuilder<B>,
    headers: Vec<(&'static str, HeaderValue)>,
) -> ureq::RequestBuilder<B> {
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request
}

/// The result of checking an API key.
#[derive(Debug)]
pub enum Verification {
    Valid,
    /// 401/403: the key does not work.
    Rejected(ApiError),
    /// Network failure or an unexpected answer: the key may be fine.
    Unverified(String),
    /// The key cannot be sent at all.
    Unsendable(UnsendableCredential),
}

/// Checks an API key with a free call: `GET /v1/models?limit=1`.
pub fn verify_api_key(agent: &http::Client, base: &str, key: &Secret<String>) -> Verification {
    let url = format!("{base}{PATH_MODELS}?limit=1");
    tracing::debug!(%url, "verifying API key");
    let headers = match auth_headers(Method::ApiKey, key, &[]) {
        Ok(headers) => headers,
        Err(e) => return Verification::Unsendable(e),
    };
    let request = with_headers(agent.get(&url), headers);
    match request.call() {
        Err(e) => Verification::Unverified(agent.failure(&e).one_line()),
        Ok(mut response) => {
            let status = response.status().as_u16();
            tracing::debug!(status, "verification answered");
            if response.status().is_success() {
                return Verification::Valid;
            }
            let request_id = http::header(response.headers(), HEADER_REQUEST_ID).map(str::to_string);
            let body = http::read_body(&mut response).unwrap_or_default();
            let error = ApiError::parse(status, &body, request_id.as_deref());
            match status {
                401 | 403 => Verification::Rejected(error),
                _ => Verification::Unverified(error.summary()),
            }
        }
    }
}

/// The streaming chat request: `POST {base}/v1/messages` with `stream: true`.
pub fn chat_request(
    base: &str,
    method: Method,
    secret: &Secret<String>,
    extra_betas: &[String],
    extra_headers: &[(String, String)],
    request: &ChatRequest<'_>,
) -> Result<HttpRequest, UnsendableCredential> {
    let mut body = serde_json::json!({
        "model": request.model,
        "max_tokens": request.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        "stream": true,
        "messages": request.messages,
    });
    if request.tools.is_empty() {
        if let Some(system) = request.system {
            body["system"] = serde_json::json!(system);
        }
    } else {
        add_tools_with_cache_breakpoints(&mut body, request);
    }
    if let Some(t) = request.temperature {
        body["temperature"] = serde_json::json!(t);
    }
    let mut headers: Vec<(String, HeaderValue)> =
        auth_headers(method, secret, extra_betas)?.into_iter().map(|(n, v)| (n.to_string(), v)).collect();
    headers.extend(extra_headers.iter().filter_map(|(n, v)| Some((n.clone(), HeaderValue::from_str(v).ok()?))));
    Ok(HttpRequest { url: format!("{base}{PATH_MESSAGES}"), headers, body: body.to_string() })
}

/// The prompt-cache marker: everything up to a block carrying it is cached for a few minutes.
const CACHE_CONTROL: &str = "cache_control";
const EPHEMERAL: &str = "ephemeral";

/// An agent's request: tools, then the system prompt, then the messages, with `cache_control`
/// breakpoints on the last tool, the system prompt and the last message's last block. Every step
/// of a turn sends the same prefix and only appends, so each step reads the cache the previous
/// one wrote instead of paying for the whole prompt again.
fn add_tools_with_cache_breakpoints(body: &mut serde_json::Value, request: &ChatRequest<'_>) {
    let breakpoint = serde_json::json!({"type": EPHEMERAL});
    let mut tools = serde_json::to_value(request.tools).unwrap_or_default();
    if let Some(last) = tools.as_array_mut().and_then(|t| t.last_mut()) {
        last[CACHE_CONTROL] = breakpoint.clone();
    }
    body["tools"] = tools;
    if let Some(system) = request.system {
        body["system"] = serde_json::json!([{"type": "text", "text": system, CACHE_CONTROL: breakpoint.clone()}]);
    }
    // Thinking blocks cannot carry a breakpoint; the last message is the user's, which never has one.
    if let Some(block) = body["messages"]
        .as_array_mut()
        .and_then(|m| m.last_mut())
        .and_then(|m| m["content"].as_array_mut())
        .and_then(|c| c.last_mut())
        && !matches!(block["type"].as_str(), Some("thinking" | "redacted_thinking"))
    {
        block[CACHE_CONTROL] = breakpoint;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_requests_carry_cache_breakpoints_and_plain_chats_do_not() {
        use crate::providers::message::{ChatMessage, ToolSpec};
        let messages = [ChatMessage::user_text("hi")];
        let tools = [
            ToolSpec { name: "a".into(), description: "A".into(), input_schema: serde_json::json!({"type": "object"}) },
            ToolSpec { name: "b".into(), description: "B".into(), input_schema: serde_json::json!({"type": "object"}) },
        ];
        let mut request = ChatRequest {
            model: "m",
            system: Some("sys"),
            messages: &messages,
            max_tokens: None,
            temperature: None,
            tools: &tools,
        };
        let secret = Secret::new("k".to_string());
        let body: serde_json::Value =
            serde_json::from_str(&chat_request("http://h", Method::ApiKey, &secret, &[], &[], &request).unwrap().body)
                .unwrap();
        assert_eq!(body["tools"][0].get(CACHE_CONTROL), None);
        assert_eq!(body["tools"][1][CACHE_CONTROL]["type"], EPHEMERAL);
        assert_eq!(body["system"][0]["text"], "sys");
        assert_eq!(body["system"][0][CACHE_CONTROL]["type"], EPHEMERAL);
        assert_eq!(body["messages"][0]["content"][0][CACHE_CONTROL]["type"], EPHEMERAL);
        request.tools = &[];
        let body: serde_json::Value =
            serde_json::from_str(&chat_request("http://h", Method::ApiKey, &secret, &[], &[], &request).unwrap().body)
                .unwrap();
        assert_eq!(body["system"], "sys");
        assert_eq!(body.get("tools"), None);
        assert_eq!(body["messages"][0]["content"][0].get(CACHE_CONTROL), None);
    }

    fn names(h: &[(&'static str, HeaderValue)]) -> Vec<&'static str> {
        h.iter().map(|(n, _)| *n).collect()
    }

    #[test]
    fn oauth_gets_bearer_and_beta_never_api_key() {
        let h = auth_headers(Method::OAuth, &Secret::new("sk-ant-oat01-x".into()), &[]).unwrap();
        assert_eq!(names(&h), [HEADER_VERSION, HEADER_AUTHORIZATION, HEADER_BETA]);
        assert_eq!(h[1].1.to_str().unwrap(), "Bearer sk-ant-oat01-x");
        assert!(h[1].1.is_sensitive());
        assert_eq!(h[2].1.to_str().unwrap(), OAUTH_BETA);
    }

    #[test]
    fn api_key_gets_x_api_key_never_bearer() {
        let h = auth_headers(Method::ApiKey, &Secret::new("sk-ant-api03-x".into()), &[]).unwrap();
        assert_eq!(names(&h), [HEADER_VERSION, HEADER_API_KEY]);
        assert_eq!(h[1].1.to_str().unwrap(), "sk-ant-api03-x");
        assert!(h[1].1.is_sensitive());
    }

    #[test]
    fn extra_betas_merge_as_a_set() {
        let extra = vec!["a-1, oauth-2025-04-20".to_string(), "b-2".into(), "a-1".into()];
        let h = auth_headers(Method::OAuth, &Secret::new("t".into()), &extra).unwrap();
        assert_eq!(h.last().unwrap().1.to_str().unwrap(), "oauth-2025-04-20,a-1,b-2");
        let h = auth_headers(Method::ApiKey, &Secret::new("k".into()), &extra).unwrap();
        assert_eq!(h.last().unwrap().1.to_str().unwrap(), "a-1,oauth-2025-04-20,b-2");
    }

    #[test]
    fn an_unsendable_secret_is_an_error_never_a_placeholder() {
        for method in [Method::OAuth, Method::ApiKey] {
            assert_eq!(auth_headers(method, &Secret::new("sk-ant-api03-a\nb".into()), &[]), Err(UnsendableCredential));
        }
    }

    #[test]
    fn base_url_trims_slash() {
        assert_eq!(base_url(None), DEFAULT_BASE_URL);
        assert_eq!(base_url(Some("http://127.0.0.1:9/")), "http://127.0.0.1:9");
    }
}
