//! Tools the model may call. A tool knows nothing of conversations, screens or the wire: it takes
//! JSON input and a [`ToolContext`], says what the call would touch ([`Tool::access`], for the
//! permission policy), and returns text (or images) with an error flag ([`ToolOutput`]).
//!
//! Everything a tool receives is untrusted: the model wrote the input, and a tool's output is
//! data, never instructions. Input is checked against the tool's own schema before anything runs
//! ([`check_input`]), so a wrong type or a missing field is an error result naming the field.
//! Output is capped ([`cap_middle`], [`cap_head`]) so one call cannot flood the context.

pub mod approve;
pub(crate) mod atomic;
pub(crate) mod diff;
pub mod files;
pub(crate) mod gitignore;
pub(crate) mod glob;
pub mod memory;
#[cfg(unix)]
pub(crate) mod outcome;
pub(crate) mod paths;
pub mod policy;
pub mod sandbox;
pub mod search;
#[cfg(unix)]
pub mod shell;
#[cfg(target_os = "linux")]
mod supervisor;
pub mod web;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::Value;

use crate::cancel::CancelToken;

/// The permission classes of SPEC §9. Users write rules against these names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ToolClass {
    Read,
    Edit,
    Bash,
    Web,
    Mcp,
}

impl ToolClass {
    pub const ALL: [ToolClass; 5] = [ToolClass::Read, ToolClass::Edit, ToolClass::Bash, ToolClass::Web, ToolClass::Mcp];

    pub fn as_str(self) -> &'static str {
        match self {
            ToolClass::Read => "read",
            ToolClass::Edit => "edit",
            ToolClass::Bash => "bash",
            ToolClass::Web => "web",
            ToolClass::Mcp => "mcp",
        }
    }

    pub fn parse(name: &str) -> Option<ToolClass> {
        ToolClass::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

/// What one call would touch: the subject of a permission decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Nothing beyond the tool itself (an MCP tool: rules name the tool).
    None,
    /// A file or folder, absolute, with `..` and symlinks resolved. `relative` is the path
    /// relative to the workspace when it lies inside it (rules' globs match against that).
    Path { resolved: PathBuf, relative: Option<PathBuf> },
    /// A shell command line, exactly as the model wrote it.
    Command(String),
    /// A URL and its host, lower-case, without a port.
    Url { url: String, host: String },
}

impl Target {
    /// True for a path inside the workspace (reads there are allowed by default).
    pub fn in_workspace(&self) -> bool {
        matches!(self, Target::Path { relative: Some(_), .. })
    }
}

/// One part of a tool's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputPart {
    Text(String),
    /// Base64 data, e.g. an image an MCP server returned.
    Image {
        media_type: String,
        data: String,
    },
}

/// What a call returns to the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolOutput {
    pub parts: Vec<OutputPart>,
    pub is_error: bool,
    /// One short line for the person's status line: `exit 0`, `120 lines`, `3 matches`.
    pub summary: String,
}

impl ToolOutput {
    pub fn text(text: impl Into<String>, summary: impl Into<String>) -> ToolOutput {
        ToolOutput { parts: vec![OutputPart::Text(text.into())], is_error: false, summary: summary.into() }
    }

    /// An error result: the model reads `message` and can adapt.
    pub fn error(message: impl Into<String>) -> ToolOutput {
        let message = message.into();
        let summary = message.lines().next().unwrap_or_default().to_string();
        ToolOutput { parts: vec![OutputPart::Text(message)], is_error: true, summary }
    }

    /// Every text part, joined (for previews and tests).
    pub fn joined_text(&self) -> String {
        self.parts
            .iter()
            .filter_map(|p| match p {
                OutputPart::Text(t) => Some(t.as_str()),
                OutputPart::Image { .. } => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Bytes of the result, for the status line (`3.4 KB`).
    pub fn size(&self) -> usize {
        self.parts
            .iter()
            .map(|p| match p {
                OutputPart::Text(t) => t.len(),
                OutputPart::Image { data, .. } => data.len(),
            })
            .sum()
    }
}

/// What a call may use. Built by the turn for each call; tools keep no conversation state.
pub struct ToolContext<'a> {
    /// Where tools work: absolute and canonical.
    pub workspace: &'a Path,
    /// `$PINCER_HOME`, absolute and canonical: off limits to every tool (SPEC §9 hard limits),
    /// except `skills/` for reading and the memory tool's one file.
    pub home: &'a Path,
    pub cancel: &'a CancelToken,
    /// Canonical paths of the files read in this conversation: `write_file` refuses to replace
    /// an existing file that is not among them.
    pub read_files: &'a Mutex<HashSet<PathBuf>>,
    /// Updates the running call's status line (progress, a line of output).
    pub progress: &'a (dyn Fn(&str) + Sync),
}

/// A tool. Implementations are stateless across calls (settings come in at construction).
pub trait Tool: Send + Sync {
    /// The name the model calls (`^[a-zA-Z0-9_-]{1,64}$`).
    fn name(&self) -> &str;
    fn class(&self) -> ToolClass;
    /// What the model reads to decide when to call it: short, it is sent on every request.
    fn description(&self) -> &str;
    /// JSON Schema of the input: `{"type": "object", "properties": …, "required": […]}`.
    fn input_schema(&self) -> Value;
    /// Checks the input and the hard limits and says what the call would touch. `Err` is sent
    /// back to the model as an error result and nothing runs. Called before the policy decides,
    /// so it must not change anything.
    fn access(&self, input: &Value, ctx: &ToolContext<'_>) -> Result<Target, String>;
    /// Runs the call. Only called once the policy (or the person) allowed it.
    fn call(&self, input: &Value, ctx: &ToolContext<'_>) -> ToolOutput;
    /// The call in one line for a person: `cargo test`, `src/main.rs`.
    fn display(&self, input: &Value) -> String;
    /// What a person approving the call should see in full: the arguments, or a diff for edits.
    fn approval_detail(&self, input: &Value, _ctx: &ToolContext<'_>) -> String {
        serde_json::to_string_pretty(input).unwrap_or_default()
    }
    /// Independent reads may run at the same time.
    fn parallel_safe(&self) -> bool {
        self.class() == ToolClass::Read
    }
}

/// The tools of one agent, in a stable order (the order is part of the prompt cache key).
#[derive(Default)]
pub struct Registry {
    tools: Vec<Box<dyn Tool>>,
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Adds a tool; a later tool of the same name replaces nothing and is ignored.
    pub fn add(&mut self, tool: Box<dyn Tool>) {
        if self.get(tool.name()).is_none() {
            self.tools.push(tool);
        }
    }

    pub fn get(&self, name: &str) -> Option<&dyn Tool> {
        self.tools.iter().find(|t| t.name() == name).map(|t| t.as_ref())
    }

    pub fn iter(&self) -> impl Iterator<Item = &dyn Tool> {
        self.tools.iter().map(|t| t.as_ref())
    }

    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    /// Keeps only the tools `keep` says yes to (MCP tools are replaced when a server's list changes).
    pub fn retain(&mut self, keep: impl Fn(&dyn Tool) -> bool) {
        self.tools.retain(|t| keep(t.as_ref()));
    }

    pub fn len(&self) -> usize {
        self.tools.len()
    }
}

/// Checks `input` against a tool's own (simple) schema: an object, every `required` property
/// present, each property of its declared `type` (`string`, `integer`, `number`, `boolean`,
/// `object`, `array`; an `enum` of strings), no unknown properties. The message names the field
/// and what was expected, so the model can correct itself.
pub fn check_input(schema: &Value, input: &Value) -> Result<(), String> {
    let Some(fields) = input.as_object() else {
        return Err(format!("the input must be a JSON object, not {}", json_kind(input)));
    };
    let properties = schema.get("properties").and_then(Value::as_object);
    // Unknown fields first: `{"file": …}` for `path` is a misnamed field, not a missing one.
    if let Some(name) = fields.keys().find(|name| properties.is_none_or(|p| !p.contains_key(*name))) {
        let known: Vec<&str> = properties.map(|p| p.keys().map(String::as_str).collect()).unwrap_or_default();
        return Err(format!("unknown field `{name}` (the fields are: {})", known.join(", ")));
    }
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for name in required.iter().filter_map(Value::as_str) {
            if !fields.contains_key(name) {
                return Err(format!("missing field `{name}`"));
            }
        }
    }
    for (name, value) in fields {
        let Some(spec) = properties.and_then(|p| p.get(name)) else { continue };
        if value.is_null() && !schema_requires(schema, name) {
            // An optional field sent as null means "not given".
            continue;
        }
        if let Some(expected) = spec.get("type").and_then(Value::as_str)
            && !has_type(value, expected)
        {
            return Err(format!("field `{name}` must be {}, not {}", article(expected), json_kind(value)));
        }
        if let Some(allowed) = spec.get("enum").and_then(Value::as_array)
            && !allowed.contains(value)
        {
            let names: Vec<String> = allowed.iter().map(|v| v.to_string()).collect();
            return Err(format!("field `{name}` must be one of {}", names.join(", ")));
        }
    }
    Ok(())
}

fn schema_requires(schema: &Value, name: &str) -> bool {
    schema.get("required").and_then(Value::as_array).is_some_and(|r| r.iter().any(|v| v.as_str() == Some(name)))
}

fn has_type(value: &Value, expected: &str) -> bool {
    match expected {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        _ => true,
    }
}

fn article(kind: &str) -> String {
    match kind {
        "integer" | "array" | "object" => format!("an {kind}"),
        _ => format!("a {kind}"),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Keeps the first and last parts of `text` within `max_bytes`, with a marker in the middle
/// saying how much was cut (for command output: the start says what ran, the end how it ended).
pub fn cap_middle(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_string();
    }
    let half = max_bytes / 2;
    let head_end = floor_char_boundary(text, half);
    let tail_start = ceil_char_boundary(text, text.len() - half);
    let cut = tail_start - head_end;
    format!("{}\n[… {} cut from the middle …]\n{}", &text[..head_end], human_bytes(cut), &text[tail_start..])
}

/// Keeps the start of `text` within `max_bytes` (at a line end when one is near), followed by
/// `note` (what was cut and how to read more). Returns the text and whether it was cut.
pub fn cap_head(text: &str, max_bytes: usize, note: &str) -> (String, bool) {
    if text.len() <= max_bytes {
        return (text.to_string(), false);
    }
    let end = floor_char_boundary(text, max_bytes);
    let end = text[..end].rfind('\n').map(|i| i + 1).filter(|&i| i > end / 2).unwrap_or(end);
    (format!("{}\n[{note}]", &text[..end]), true)
}

/// `512 bytes`, `3.4 KB`, `12.0 MB` (decimal units, as people read sizes).
pub fn human_bytes(n: usize) -> String {
    match n {
        0..1_000 => format!("{n} bytes"),
        1_000..1_000_000 => format!("{:.1} KB", n as f64 / 1e3),
        _ => format!("{:.1} MB", n as f64 / 1e6),
    }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char_boundary(text: &str, mut i: usize) -> usize {
    while i < text.len() && !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "path": {"type": "string"},
                "offset": {"type": "integer"},
                "mode": {"type": "string", "enum": ["a", "b"]},
            },
            "required": ["path"],
        })
    }

    #[test]
    fn input_errors_name_the_field() {
        assert!(check_input(&schema(), &json!({"path": "x", "offset": 3})).is_ok());
        assert!(check_input(&schema(), &json!({"path": "x", "offset": null})).is_ok());
        assert_eq!(check_input(&schema(), &json!({})).unwrap_err(), "missing field `path`");
        assert_eq!(
            check_input(&schema(), &json!({"path": 3})).unwrap_err(),
            "field `path` must be a string, not a number"
        );
        assert_eq!(
            check_input(&schema(), &json!({"path": "x", "offset": 1.5})).unwrap_err(),
            "field `offset` must be an integer, not a number"
        );
        assert!(
            check_input(&schema(), &json!({"path": "x", "file": 1})).unwrap_err().starts_with("unknown field `file`")
        );
        assert!(check_input(&schema(), &json!({"path": "x", "mode": "c"})).unwrap_err().contains("one of"));
        assert_eq!(check_input(&schema(), &json!("x")).unwrap_err(), "the input must be a JSON object, not a string");
        assert!(check_input(&schema(), &json!({"path": null})).is_err(), "a required field may not be null");
    }

    #[test]
    fn caps_keep_head_and_tail_on_char_boundaries() {
        let text = format!("{}é{}", "a".repeat(100), "b".repeat(100));
        let capped = cap_middle(&text, 50);
        assert!(capped.starts_with(&"a".repeat(25)) && capped.ends_with(&"b".repeat(25)), "{capped}");
        assert!(capped.contains("cut from the middle"));
        assert_eq!(cap_middle("short", 50), "short");
        let (head, cut) = cap_head("line one\nline two\nline three\n", 20, "more: offset 3");
        assert!(cut);
        assert_eq!(head, "line one\nline two\n\n[more: offset 3]");
        assert_eq!(cap_head("ok", 20, "n"), ("ok".to_string(), false));
    }

    #[test]
    fn registry_keeps_order_and_first_of_a_name() {
        struct Named(&'static str, &'static str);
        impl Tool for Named {
            fn name(&self) -> &str {
                self.0
            }
            fn class(&self) -> ToolClass {
                ToolClass::Read
            }
            fn description(&self) -> &str {
                self.1
            }
            fn input_schema(&self) -> Value {
                json!({"type": "object", "properties": {}})
            }
            fn access(&self, _: &Value, _: &ToolContext<'_>) -> Result<Target, String> {
                Ok(Target::None)
            }
            fn call(&self, _: &Value, _: &ToolContext<'_>) -> ToolOutput {
                ToolOutput::text("", "")
            }
            fn display(&self, _: &Value) -> String {
                String::new()
            }
        }
        let mut r = Registry::new();
        r.add(Box::new(Named("b", "first")));
        r.add(Box::new(Named("a", "")));
        r.add(Box::new(Named("b", "second")));
        let names: Vec<&str> = r.iter().map(|t| t.name()).collect();
        assert_eq!(names, ["b", "a"]);
        assert_eq!(r.get("b").unwrap().description(), "first");
        assert_eq!(human_bytes(3400), "3.4 KB");
    }
}
