//! OpenAI-compatible servers (OpenAI, OpenRouter, Ollama, vLLM, llama.cpp, LiteLLM):
//! `POST {base}/chat/completions` with `stream: true`; the key, when there is one, as
//! `Authorization: Bearer`.

use serde_json::{Value, json};
use ureq::http::HeaderValue;

use super::ContentBlock;
use super::chat::{ChatRequest, HttpRequest};
use super::message::Role;
use super::secret_header::{UnsendableCredential, sensitive};
use crate::secret::Secret;

pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
pub const PATH_CHAT_COMPLETIONS: &str = "/chat/completions";

pub fn base_url(configured: Option<&str>) -> String {
    configured.unwrap_or(DEFAULT_BASE_URL).trim_end_matches('/').to_string()
}

/// The streaming request. Conversations are stored in Anthropic's block shape and converted
/// here: text as text; an assistant's `tool_use` blocks as `tool_calls`; each `tool_result` as a
/// `{"role": "tool"}` message right after the call it answers. Thinking has no portable form.
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
        match m.role {
            Role::User => push_user(&mut messages, &m.content),
            Role::Assistant => messages.push(assistant(&m.content)),
        }
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
    if !request.tools.is_empty() {
        let tools: Vec<Value> = request
            .tools
            .iter()
            .map(|t| json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.input_schema}}))
            .collect();
        body["tools"] = Value::Array(tools);
    }
    let mut headers = Vec::new();
    let bearer = key.map(|k| Secret::new(format!("Bearer {}", k.expose())));
    if let Some(bearer) = &bearer {
        headers.push(("authorization".to_string(), sensitive(bearer.expose())?));
    }
    headers.extend(extra_headers.iter().filter_map(|(n, v)| Some((n.clone(), HeaderValue::from_str(v).ok()?))));
    Ok(HttpRequest { url: format!("{base}{PATH_CHAT_COMPLETIONS}"), headers, body: body.to_string() })
}

/// Text blocks joined, the way every OpenAI-compatible server reads `content`.
fn text_of(blocks: &[ContentBlock]) -> String {
    blocks
        .iter()
        .filter_map(|b| match b {
            ContentBlock::Text { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

/// A user message: its tool results first, one `tool` message each (they must follow the
/// assistant's calls directly), then any text the person added.
fn push_user(messages: &mut Vec<Value>, content: &[ContentBlock]) {
    for block in content {
        if let ContentBlock::ToolResult { tool_use_id, content, is_error } = block {
            let mut text = text_of(content);
            if content.iter().any(|b| matches!(b, ContentBlock::Image { .. })) {
                text.push_str("\n[an image was returned; this provider's API cannot take it back]");
            }
            if *is_error && !text.starts_with("error") {
                text = format!("error: {text}");
            }
            messages.push(json!({"role": "tool", "tool_call_id": tool_use_id, "content": text}));
        }
    }
    let text = text_of(content);
    if !text.is_empty() || !content.iter().any(|b| matches!(b, ContentBlock::ToolResult { .. })) {
        messages.push(json!({"role": "user", "content": text}));
    }
}

fn assistant(content: &[ContentBlock]) -> Value {
    let text = text_of(content);
    let calls: Vec<Value> = content
        .iter()
        .filter_map(|b| match b {
            ContentBlock::ToolUse { id, name, input } => {
                Some(json!({"id": id, "type": "function", "function": {"name": name, "arguments": input.to_string()}}))
            }
            _ => None,
        })
        .collect();
    if calls.is_empty() {
        return json!({"role": "assistant", "content": text});
    }
    let content = if text.is_empty() { Value::Null } else { Value::String(text) };
    json!({"role": "assistant", "content": content, "tool_calls": calls})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::message::ChatMessage;

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
            tools: &[],
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

    #[test]
    fn tool_calls_and_results_convert_to_openai_shapes() {
        use crate::providers::message::ToolSpec;
        let history = [
            ChatMessage::user_text("list"),
            ChatMessage {
                role: Role::Assistant,
                content: vec![
                    ContentBlock::text("looking"),
                    ContentBlock::ToolUse { id: "c1".into(), name: "glob".into(), input: json!({"pattern": "*"}) },
                    ContentBlock::ToolUse { id: "c2".into(), name: "bash".into(), input: json!({"command": "x"}) },
                ],
            },
            ChatMessage {
                role: Role::User,
                content: vec![
                    ContentBlock::ToolResult {
                        tool_use_id: "c1".into(),
                        content: vec![ContentBlock::text("a.rs")],
                        is_error: false,
                    },
                    ContentBlock::ToolResult {
                        tool_use_id: "c2".into(),
                        content: vec![ContentBlock::text("denied")],
                        is_error: true,
                    },
                    ContentBlock::text("and then?"),
                ],
            },
        ];
        let tools =
            [ToolSpec { name: "glob".into(), description: "d".into(), input_schema: json!({"type": "object"}) }];
        let req = ChatRequest {
            model: "m",
            system: None,
            messages: &history,
            max_tokens: None,
            temperature: None,
            tools: &tools,
        };
        let body: Value = serde_json::from_str(&chat_request("http://h/v1", None, &[], &req).unwrap().body).unwrap();
        assert_eq!(
            body["messages"],
            json!([
                {"role": "user", "content": "list"},
                {"role": "assistant", "content": "looking", "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "glob", "arguments": "{\"pattern\":\"*\"}"}},
                    {"id": "c2", "type": "function", "function": {"name": "bash", "arguments": "{\"command\":\"x\"}"}},
                ]},
                {"role": "tool", "tool_call_id": "c1", "content": "a.rs"},
                {"role": "tool", "tool_call_id": "c2", "content": "error: denied"},
                {"role": "user", "content": "and then?"},
            ])
        );
        assert_eq!(body["tools"][0]["function"]["name"], "glob");
        assert_eq!(body["tools"][0]["type"], "function");
    }
}
