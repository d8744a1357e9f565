//! OpenAI-compatible servers (OpenAI, OpenRouter, Ollama, vLLM, llama.cpp, LiteLLM):
//! `POST {base}/chat/completions` with `stream: true`; the key, when there is one, as
//! `Authorization: Bearer`.

use serde_json::{Value, json};
use ureq::http::HeaderValue;

use super::ContentBlock;
use super::chat::{ChatRequest, HttpRequest};
use super::secret_header::{UnsendableCredential, sensitive};
use crate::auth::secret::Secret;
use crate::chat::session::Role;

pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
pub const PATH_CHAT_COMPLETIONS: &str = "/chat/completions";

pub fn base_url(configured: Option<&str>) -> String {
    configured.unwrap_or(DEFAULT_BASE_URL).trim_end_matches('/').to_string()
}

/// The streaming request. Conversations are stored in Anthropic's block shape; here only their
/// text travels (thinking and tool blocks have no portable form).
pub fn chat_request(
    base: &str,
    key: Option<&Secret<String>>,
    extra_headers: &[(String, String)],
    request: &ChatRequest<'_>,
) -> Result<HttpRequest, UnsendableCredential> {
    let mut messages: Vec<Value> = Vec::with_capacity(request.messages.len() + 1);
    if let Some(system) = request.system {
        messages.push(json!({"role": "system", "content": system}));
    }
    for m in request.messages {
        let text: String = m
            .content
            .iter()
            .filter_map(|b| match b {
                ContentBlock::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        let role = match m.role {
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        messages.push(json!({"role": role, "content": text}));
    }
    let mut body = json!({
        "model": request.model,
        "messages": messages,
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    if let Some(max) = request.max_tokens {
        body["max_tokens"] = json!(max);
    }
    if let Some(t) = request.temperature {
        body["temperature"] = json!(t);
    }
    let mut headers = Vec::new();
    let bearer = key.map(|k| Secret::new(format!("Bearer {}", k.expose())));
    if let Some(bearer) = &bearer {
        headers.push(("authorization".to_string(), sensitive(bearer.expose())?));
    }
    headers.extend(extra_headers.iter().filter_map(|(n, v)| Some((n.clone(), HeaderValue::from_str(v).ok()?))));
    Ok(HttpRequest { url: format!("{base}{PATH_CHAT_COMPLETIONS}"), headers, body: body.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::session::ChatMessage;

    #[test]
    fn request_shape_and_bearer_only_with_a_key() {
        let history = [
            ChatMessage::user_text("hi"),
            ChatMessage {
                role: Role::Assistant,
                content: vec![
                    ContentBlock::Thinking { thinking: "secret thoughts".into(), signature: "s".into() },
                    ContentBlock::Text { text: "hello".into(), citations: vec![] },
                ],
            },
        ];
        let req = ChatRequest {
            model: "qwen2.5-0.5b",
            system: Some("be brief"),
            messages: &history,
            max_tokens: None,
            temperature: Some(0.0),
        };
        let http = chat_request("http://h/v1", None, &[], &req).unwrap();
        assert_eq!(http.url, "http://h/v1/chat/completions");
        assert!(http.headers.is_empty(), "no key, no authorization header");
        let body: Value = serde_json::from_str(&http.body).unwrap();
        assert_eq!(
            body["messages"],
            json!([{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}])
        );
        assert_eq!(body["stream_options"]["include_usage"], true);
        assert!(body.get("max_tokens").is_none());
        let key = Secret::new("sk-local".to_string());
        let http = chat_request("http://h/v1", Some(&key), &[("x-org".into(), "o".into())], &req).unwrap();
        assert_eq!(http.headers[0].0, "authorization");
        assert_eq!(http.headers[0].1.to_str().unwrap(), "Bearer sk-local");
        assert!(http.headers[0].1.is_sensitive());
        assert_eq!(http.headers[1].0, "x-org");
        // A key that is not a header value is an error, never silently dropped.
        let bad = Secret::new("sk-a\nb".to_string());
        assert_eq!(chat_request("http://h/v1", Some(&bad), &[], &req).err(), Some(UnsendableCredential));
    }
}
