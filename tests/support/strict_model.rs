//! A scripted model behind the fake server, for both protocols, that checks every request as
//! strictly as the real APIs do: roles alternate, no empty message or text block, every
//! `tool_use` answered by exactly one `tool_result` in the next user message, in order, and no
//! result without its call. A request that breaks a rule gets the 400 the real API would send,
//! and the violation is recorded so the test can name it.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::fake_server::{FakeServer, Request, Response};
use super::sse;

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Step {
    /// Plain text, then `end_turn`.
    Text(String),
    /// Optional text, then these calls (`name`, `input`), then `tool_use`.
    Tools(Option<String>, Vec<(String, Value)>),
    /// A raw Anthropic SSE body (for faults).
    Raw(String),
}

pub fn text(t: &str) -> Step {
    Step::Text(t.to_string())
}

pub fn tools(calls: &[(&str, Value)]) -> Step {
    Step::Tools(None, calls.iter().map(|(n, v)| (n.to_string(), v.clone())).collect())
}

pub fn call(name: &str, input: Value) -> Step {
    tools(&[(name, input)])
}

/// Which wire the model speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    Anthropic,
    OpenAi,
}

pub struct StrictModel {
    pub server: FakeServer,
    violations: Arc<Mutex<Vec<String>>>,
}

impl StrictModel {
    /// Serves `steps` in order, one per request; past the end it answers "done".
    pub fn start(wire: Wire, steps: Vec<Step>) -> StrictModel {
        let violations = Arc::new(Mutex::new(Vec::new()));
        let seen = violations.clone();
        let counter = Arc::new(Mutex::new(0usize));
        let server = FakeServer::start(move |r: &Request| {
            let body: Value = match serde_json::from_slice(&r.body) {
                Ok(v) => v,
                Err(_) => return Response::json(404, "{}"),
            };
            let problems = match wire {
                Wire::Anthropic => check_anthropic(&body),
                Wire::OpenAi => check_openai(&body),
            };
            if let Some(problem) = problems {
                seen.lock().unwrap().push(problem.clone());
                let error = json!({"type": "error", "error": {"type": "invalid_request_error", "message": problem}});
                return Response::json(400, &error.to_string());
            }
            let mut n = counter.lock().unwrap();
            let step = steps.get(*n).cloned().unwrap_or_else(|| text("done"));
            *n += 1;
            match wire {
                Wire::Anthropic => sse(&anthropic_stream(&step, *n), 97),
                Wire::OpenAi => sse(&openai_stream(&step, *n), 97),
            }
        });
        StrictModel { server, violations }
    }

    pub fn violations(&self) -> Vec<String> {
        self.violations.lock().unwrap().clone()
    }

    /// The JSON bodies of every model request, in order.
    pub fn bodies(&self) -> Vec<Value> {
        self.server
            .requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/messages") || r.path.ends_with("/chat/completions"))
            .map(|r| r.json())
            .collect()
    }
}

/// Anthropic's rules for `messages` (and `tools`), or the first one broken.
pub fn check_anthropic(body: &Value) -> Option<String> {
    let messages = body["messages"].as_array()?;
    if messages.is_empty() {
        return Some("messages: at least one message is required".into());
    }
    let mut open: Vec<String> = Vec::new();
    let mut all_ids: Vec<String> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let role = m["role"].as_str().unwrap_or("");
        let expected = if i % 2 == 0 { "user" } else { "assistant" };
        if role != expected {
            return Some(format!("messages.{i}: roles must alternate between \"user\" and \"assistant\""));
        }
        let Some(content) = m["content"].as_array() else {
            return Some(format!("messages.{i}.content: expected a list of blocks"));
        };
        if content.is_empty() {
            return Some(format!("messages.{i}: all messages must have non-empty content"));
        }
        for (j, b) in content.iter().enumerate() {
            if b["type"] == "text" && b["text"].as_str().is_none_or(str::is_empty) {
                return Some(format!("messages.{i}.content.{j}.text: text content blocks must be non-empty"));
            }
        }
        if role == "user" {
            let results: Vec<&str> = content
                .iter()
                .filter(|b| b["type"] == "tool_result")
                .filter_map(|b| b["tool_use_id"].as_str())
                .collect();
            // Results come first, one per open call, in the calls' order.
            let leading: Vec<&str> = content
                .iter()
                .take_while(|b| b["type"] == "tool_result")
                .filter_map(|b| b["tool_use_id"].as_str())
                .collect();
            if leading != open.iter().map(String::as_str).collect::<Vec<_>>() || results.len() != leading.len() {
                return Some(format!(
                    "messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after (open {open:?}, results {results:?})"
                ));
            }
            for b in content.iter().filter(|b| b["type"] == "tool_result") {
                let empty_text = b["content"].as_array().is_some_and(|c| {
                    c.is_empty()
                        || c.iter().any(|x| x["type"] == "text" && x["text"].as_str().is_none_or(str::is_empty))
                });
                if empty_text {
                    return Some(format!("messages.{i}: tool_result content must be non-empty"));
                }
            }
            open.clear();
        } else {
            for b in content.iter().filter(|b| b["type"] == "tool_use") {
                let id = b["id"].as_str().unwrap_or("").to_string();
                if id.is_empty() || all_ids.contains(&id) {
                    return Some(format!("messages.{i}: tool_use ids must be unique and non-empty ({id:?})"));
                }
                if !b["input"].is_object() {
                    return Some(format!("messages.{i}: tool_use.input must be an object"));
                }
                all_ids.push(id.clone());
                open.push(id);
            }
        }
    }
    if messages.last().map(|m| m["role"] != "user").unwrap_or(true) {
        return Some("the last message must be the user's".into());
    }
    if let Some(tools) = body.get("tools").and_then(Value::as_array) {
        let mut names = Vec::new();
        for t in tools {
            let name = t["name"].as_str().unwrap_or("");
            let valid = !name.is_empty()
                && name.len() <= 64
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid || names.contains(&name) || t["input_schema"]["type"] != "object" {
                return Some(format!("tools: invalid or duplicate tool `{name}`"));
            }
            names.push(name);
        }
    }
    let breakpoints = body.to_string().matches("\"cache_control\"").count();
    if breakpoints > 4 {
        return Some(format!("a maximum of 4 blocks with cache_control may be provided, found {breakpoints}"));
    }
    None
}

/// OpenAI's rules: every assistant `tool_calls` id answered by a `tool` message right after, in
/// order; no `tool` message without its call.
pub fn check_openai(body: &Value) -> Option<String> {
    let messages = body["messages"].as_array()?;
    let mut open: Vec<String> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        match m["role"].as_str().unwrap_or("") {
            "tool" => {
                let id = m["tool_call_id"].as_str().unwrap_or("");
                if open.first().map(String::as_str) != Some(id) {
                    return Some(format!(
                        "messages[{i}]: a tool message must answer the next open tool call (got {id:?}, open {open:?})"
                    ));
                }
                open.remove(0);
            }
            role => {
                if !open.is_empty() {
                    return Some(format!(
                        "messages[{i}]: an assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id' ({open:?})"
                    ));
                }
                if role == "assistant"
                    && let Some(calls) = m["tool_calls"].as_array()
                {
                    for c in calls {
                        let args = c["function"]["arguments"].as_str().unwrap_or("");
                        if serde_json::from_str::<Value>(args).is_err() {
                            return Some(format!("messages[{i}]: tool call arguments must be a JSON string"));
                        }
                        open.push(c["id"].as_str().unwrap_or("").to_string());
                    }
                }
            }
        }
    }
    if !open.is_empty() {
        return Some(format!("tool calls without answers: {open:?}"));
    }
    None
}

/// An Anthropic stream for one step; ids are unique per step number `n`.
pub fn anthropic_stream(step: &Step, n: usize) -> String {
    let (text, calls) = match step {
        Step::Raw(raw) => return raw.clone(),
        Step::Text(t) => (Some(t.clone()), Vec::new()),
        Step::Tools(t, calls) => (t.clone(), calls.clone()),
    };
    let mut out = format!(
        "event: message_start\ndata: {}\n\n",
        json!({"type": "message_start", "message": {"id": format!("msg_{n}"), "type": "message", "role": "assistant", "content": [], "model": "m", "stop_reason": null, "usage": {"input_tokens": 10, "output_tokens": 1, "cache_read_input_tokens": 0}}})
    );
    let mut index = 0;
    if let Some(t) = text {
        out.push_str(&format!(
            "event: content_block_start\ndata: {}\n\nevent: content_block_delta\ndata: {}\n\nevent: content_block_stop\ndata: {}\n\n",
            json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}),
            json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": t}}),
            json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    }
    let stop = if calls.is_empty() { "end_turn" } else { "tool_use" };
    for (k, (name, input)) in calls.iter().enumerate() {
        let id = format!("toolu_{n}_{k}");
        out.push_str(&format!(
            "event: content_block_start\ndata: {}\n\n",
            json!({"type": "content_block_start", "index": index, "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}})
        ));
        // Arguments arrive in pieces, split anywhere.
        let args = input.to_string();
        let mid = args.char_indices().nth(args.chars().count() / 2).map(|(i, _)| i).unwrap_or(0);
        for piece in ["", &args[..mid], &args[mid..]] {
            out.push_str(&format!(
                "event: content_block_delta\ndata: {}\n\n",
                json!({"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": piece}})
            ));
        }
        out.push_str(&format!(
            "event: content_block_stop\ndata: {}\n\n",
            json!({"type": "content_block_stop", "index": index})
        ));
        index += 1;
    }
    out.push_str(&format!(
        "event: message_delta\ndata: {}\n\nevent: message_stop\ndata: {{\"type\":\"message_stop\"}}\n\n",
        json!({"type": "message_delta", "delta": {"stop_reason": stop}, "usage": {"output_tokens": 7, "cache_read_input_tokens": 5}})
    ));
    out
}

/// An OpenAI `chat/completions` stream for one step.
pub fn openai_stream(step: &Step, n: usize) -> String {
    let (text, calls) = match step {
        Step::Raw(raw) => return raw.clone(),
        Step::Text(t) => (Some(t.clone()), Vec::new()),
        Step::Tools(t, calls) => (t.clone(), calls.clone()),
    };
    let chunk = |delta: Value, finish: Value| {
        format!(
            "data: {}\n\n",
            json!({"id": format!("chatcmpl-{n}"), "model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        )
    };
    let mut out = chunk(json!({"role": "assistant", "content": null}), Value::Null);
    if let Some(t) = text {
        out.push_str(&chunk(json!({"content": t}), Value::Null));
    }
    for (k, (name, input)) in calls.iter().enumerate() {
        let args = input.to_string();
        let mid = args.char_indices().nth(args.chars().count() / 2).map(|(i, _)| i).unwrap_or(0);
        out.push_str(&chunk(
            json!({"tool_calls": [{"index": k, "id": format!("call_{n}_{k}"), "type": "function", "function": {"name": name, "arguments": &args[..mid]}}]}),
            Value::Null,
        ));
        out.push_str(&chunk(
            json!({"tool_calls": [{"index": k, "function": {"arguments": &args[mid..]}}]}),
            Value::Null,
        ));
    }
    let finish = if calls.is_empty() { "stop" } else { "tool_calls" };
    out.push_str(&chunk(json!({}), json!(finish)));
    out.push_str(&format!(
        "data: {}\n\ndata: [DONE]\n\n",
        json!({"id": format!("chatcmpl-{n}"), "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 7}})
    ));
    out
}
