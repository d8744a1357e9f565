//! A `tools/call` result as a [`ToolOutput`]: text as text, images as image parts (Anthropic
//! image blocks), embedded resources as their text, `structuredContent` as JSON, `isError` as
//! the error flag. Capped like the built-in tools' output, since the model reads all of it.

use serde_json::Value;

use crate::tools::{OutputPart, ToolOutput, cap_middle, human_bytes};

/// The most text one call returns to the model (the built-in `web_fetch` keeps 100 KB).
pub const MAX_OUTPUT_BYTES: usize = 100 * 1024;
/// The largest image passed on (base64 text); Anthropic refuses images over 5 MB.
pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;
/// Image types a model API accepts as image blocks; others become a note.
const IMAGE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

pub fn to_output(result: &Value) -> ToolOutput {
    let mut parts: Vec<OutputPart> = Vec::new();
    let push_text = |parts: &mut Vec<OutputPart>, text: String| match parts.last_mut() {
        Some(OutputPart::Text(last)) => {
            last.push('\n');
            last.push_str(&text);
        }
        _ => parts.push(OutputPart::Text(text)),
    };
    let blocks = result.get("content").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut texts = Vec::new();
    let (mut images, mut others) = (0, 0);
    for block in &blocks {
        let text = |k: &str| block.get(k).and_then(Value::as_str).unwrap_or_default();
        match text("type") {
            "text" => {
                texts.push(text("text").to_string());
                push_text(&mut parts, text("text").to_string());
            }
            "image" => {
                let (mime, data) = (text("mimeType"), text("data"));
                if IMAGE_TYPES.contains(&mime) && data.len() <= MAX_IMAGE_BYTES {
                    images += 1;
                    parts.push(OutputPart::Image { media_type: mime.to_string(), data: data.to_string() });
                } else {
                    push_text(&mut parts, format!("[image left out: {mime}, {}]", human_bytes(data.len())));
                }
            }
            "resource" => {
                let resource = block.get("resource").cloned().unwrap_or(Value::Null);
                let field = |k: &str| resource.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
                match resource.get("text").and_then(Value::as_str) {
                    Some(t) => push_text(&mut parts, t.to_string()),
                    None => push_text(
                        &mut parts,
                        format!(
                            "[binary resource {} ({}, {})]",
                            field("uri"),
                            field("mimeType"),
                            human_bytes(field("blob").len())
                        ),
                    ),
                }
            }
            "resource_link" => {
                push_text(&mut parts, format!("[resource {} {}]", text("uri"), text("name")).trim_end().to_string())
            }
            "audio" => push_text(
                &mut parts,
                format!("[audio left out: {}, {}]", text("mimeType"), human_bytes(text("data").len())),
            ),
            other => {
                others += 1;
                tracing::debug!("left out a content block of type {other:?}");
            }
        }
    }
    if let Some(structured) = result.get("structuredContent").filter(|v| !v.is_null()) {
        // Servers should repeat structured content as JSON text; send it once.
        let repeated = texts.iter().any(|t| serde_json::from_str::<Value>(t).is_ok_and(|v| &v == structured));
        if !repeated {
            push_text(&mut parts, structured.to_string());
        }
    }
    cap_texts(&mut parts, MAX_OUTPUT_BYTES);
    let is_error = result.get("isError").and_then(Value::as_bool).unwrap_or(false);
    let size: usize = parts.iter().map(|p| if let OutputPart::Text(t) = p { t.len() } else { 0 }).sum();
    let mut summary = human_bytes(size);
    if images > 0 {
        summary.push_str(&format!(" · {images} image{}", if images == 1 { "" } else { "s" }));
    }
    if others > 0 {
        summary.push_str(&format!(" · {others} block{} left out", if others == 1 { "" } else { "s" }));
    }
    if is_error {
        let first = parts.iter().find_map(|p| if let OutputPart::Text(t) = p { t.lines().next() } else { None });
        summary = first.unwrap_or("error").to_string();
    }
    if parts.is_empty() {
        parts.push(OutputPart::Text(String::new()));
    }
    ToolOutput { parts, is_error, summary }
}

/// Shares `max` bytes among the text parts in proportion to their size.
fn cap_texts(parts: &mut [OutputPart], max: usize) {
    let total: usize = parts.iter().map(|p| if let OutputPart::Text(t) = p { t.len() } else { 0 }).sum();
    if total <= max {
        return;
    }
    for part in parts.iter_mut() {
        if let OutputPart::Text(t) = part {
            let share = (max as u128 * t.len() as u128 / total as u128) as usize;
            *t = cap_middle(t, share);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_block_kind_maps() {
        let r = json!({"content": [
            {"type": "text", "text": "hello"},
            {"type": "image", "mimeType": "image/png", "data": "iVBORw0KGgo="},
            {"type": "resource", "resource": {"uri": "file:///a", "text": "inside"}},
            {"type": "resource", "resource": {"uri": "file:///b", "mimeType": "application/zip", "blob": "AAAA"}},
            {"type": "resource_link", "uri": "file:///c", "name": "c"},
            {"type": "image", "mimeType": "image/tiff", "data": "AA=="},
            {"type": "hologram"}]});
        let out = to_output(&r);
        assert!(!out.is_error);
        assert_eq!(out.parts[0], OutputPart::Text("hello".into()));
        assert_eq!(out.parts[1], OutputPart::Image { media_type: "image/png".into(), data: "iVBORw0KGgo=".into() });
        let rest = out.joined_text();
        for needle in [
            "inside",
            "[binary resource file:///b (application/zip, 4 bytes)]",
            "[resource file:///c c]",
            "[image left out: image/tiff",
        ] {
            assert!(rest.contains(needle), "{needle} in {rest}");
        }
        assert!(out.summary.contains("1 image") && out.summary.contains("1 block left out"), "{}", out.summary);
    }

    #[test]
    fn structured_content_once_and_errors_flagged() {
        let twice = json!({"content": [{"type": "text", "text": "{\"a\": 1}"}], "structuredContent": {"a": 1}});
        assert_eq!(to_output(&twice).joined_text(), "{\"a\": 1}");
        let only = json!({"content": [], "structuredContent": {"temp": 22.5}});
        assert_eq!(to_output(&only).joined_text(), "{\"temp\":22.5}");
        let err = to_output(&json!({"content": [{"type": "text", "text": "no such city\nmore"}], "isError": true}));
        assert!(err.is_error);
        assert_eq!(err.summary, "no such city");
        assert_eq!(to_output(&json!({})).joined_text(), "");
    }

    #[test]
    fn huge_text_is_capped_in_the_middle() {
        let big = format!("START{}END", "x".repeat(MAX_OUTPUT_BYTES * 3));
        let out = to_output(&json!({"content": [{"type": "text", "text": big}]}));
        let text = out.joined_text();
        assert!(text.len() < MAX_OUTPUT_BYTES + 200, "{}", text.len());
        assert!(text.starts_with("START") && text.ends_with("END") && text.contains("cut from the middle"));
    }
}
