//! A server's tool as a pincer [`Tool`]: named `mcp__SERVER__TOOL`, class `mcp` (asked by
//! default), its calls bounded by the server's `tool_timeout`, cancelled with the turn, and its
//! results mapped and capped by [`super::content`].

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::client::{CallOptions, Client, McpError};
use super::config::NAME_SEPARATOR;
use crate::tools::{Target, Tool, ToolClass, ToolContext, ToolOutput};

pub const TOOL_PREFIX: &str = "mcp";
/// The longest tool name model APIs accept.
pub const MAX_TOOL_NAME: usize = 64;
/// The longest description sent to the model (it is sent on every request).
pub const MAX_DESCRIPTION_BYTES: usize = 1024;
/// The longest argument summary on a status line.
const DISPLAY_CHARS: usize = 80;

pub struct McpTool {
    client: Arc<Client>,
    full_name: String,
    /// The name the server knows the tool by.
    tool: String,
    description: String,
    schema: Value,
    timeout: Duration,
}

/// `mcp__SERVER__TOOL`, with characters a model API refuses replaced by `_`, at most 64 long.
pub fn full_name(server: &str, tool: &str) -> String {
    let clean: String =
        tool.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect();
    let mut name = format!("{TOOL_PREFIX}{NAME_SEPARATOR}{server}{NAME_SEPARATOR}{clean}");
    name.truncate(MAX_TOOL_NAME);
    name
}

impl McpTool {
    /// From one entry of `tools/list`; `None` for an entry without a name.
    pub fn from_listing(client: &Arc<Client>, listing: &Value, timeout: Duration) -> Option<McpTool> {
        let tool = listing.get("name").and_then(Value::as_str).filter(|n| !n.is_empty())?.to_string();
        let mut description = listing.get("description").and_then(Value::as_str).unwrap_or_default().to_string();
        if description.len() > MAX_DESCRIPTION_BYTES {
            let mut end = MAX_DESCRIPTION_BYTES;
            while !description.is_char_boundary(end) {
                end -= 1;
            }
            description.truncate(end);
            description.push('…');
        }
        let mut schema = listing.get("inputSchema").cloned().filter(Value::is_object).unwrap_or_else(|| json!({}));
        if schema.get("type").is_none()
            && let Some(obj) = schema.as_object_mut()
        {
            obj.insert("type".into(), "object".into());
        }
        Some(McpTool {
            client: Arc::clone(client),
            full_name: full_name(client.name(), &tool),
            tool,
            description,
            schema,
            timeout,
        })
    }

    pub fn server_tool_name(&self) -> &str {
        &self.tool
    }
}

impl Tool for McpTool {
    fn name(&self) -> &str {
        &self.full_name
    }

    fn class(&self) -> ToolClass {
        ToolClass::Mcp
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn input_schema(&self) -> Value {
        self.schema.clone()
    }

    fn access(&self, input: &Value, _ctx: &ToolContext<'_>) -> Result<Target, String> {
        // The server validates against its own (full JSON Schema) definition; pincer only
        // makes sure it sends an object.
        if !input.is_object() {
            return Err("the input must be a JSON object".into());
        }
        Ok(Target::None)
    }

    fn call(&self, input: &Value, ctx: &ToolContext<'_>) -> ToolOutput {
        let opts = CallOptions { timeout: self.timeout, cancel: Some(ctx.cancel), progress: Some(ctx.progress) };
        match self.client.call_tool(&self.tool, input, &opts) {
            Ok(result) => super::content::to_output(&result),
            Err(McpError::Cancelled) => ToolOutput::error("cancelled by the user"),
            Err(e) => ToolOutput::error(format!("MCP server {}: {e}", self.client.name())),
        }
    }

    fn display(&self, input: &Value) -> String {
        let text = input.to_string();
        if text.chars().count() <= DISPLAY_CHARS {
            return text;
        }
        let mut short: String = text.chars().take(DISPLAY_CHARS).collect();
        short.push('…');
        short
    }

    fn parallel_safe(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_prefixed_cleaned_and_bounded() {
        assert_eq!(full_name("files", "read_file"), "mcp__files__read_file");
        assert_eq!(full_name("s", "a.b/c d"), "mcp__s__a_b_c_d");
        assert_eq!(full_name("s", &"x".repeat(100)).len(), MAX_TOOL_NAME);
    }
}
