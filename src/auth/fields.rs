//! Which field of `auth.json` is wrong, said by name (`credentials.anthropic.secret is empty`)
//! and never by content: serde's own messages name neither the provider nor the field, and can
//! quote what they read, a secret included.
//!
//! The file is read once more as a skeleton: every object's keys with, for each value, only its
//! JSON type and a few facts (empty? a time? a known method?). No text of a value is kept.

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::credential::Method;

/// Longer than any RFC 3339 time (`2026-11-28T15:48:00.123456789+05:30` is 35 characters).
const MAX_TIME_LEN: usize = 40;

/// The JSON shape of a file, without its text.
enum Node {
    Object(BTreeMap<String, Node>),
    Leaf(Leaf),
}

/// What one non-object value was.
struct Leaf {
    kind: &'static str,
    /// A string of only whitespace (or nothing).
    blank: bool,
    /// A string that is an RFC 3339 time.
    time: bool,
    /// A string that names a [`Method`].
    method: bool,
}

impl Leaf {
    fn of(kind: &'static str) -> Leaf {
        Leaf { kind, blank: false, time: false, method: false }
    }
}

impl Node {
    fn kind(&self) -> &'static str {
        match self {
            Node::Object(_) => "an object",
            Node::Leaf(leaf) => leaf.kind,
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        // Nothing here copies `v` (it may be the secret): comparisons, and a time parse only of
        // what starts like a date (a parse error could carry the text).
        let method = [Method::OAuth, Method::ApiKey].iter().any(|m| m.as_str() == v);
        let time =
            v.len() <= MAX_TIME_LEN && v.starts_with(|c: char| c.is_ascii_digit()) && v.parse::<Timestamp>().is_ok();
        Ok(Node::Leaf(Leaf { kind: "a string", blank: v.trim().is_empty(), time, method }))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Leaf(Leaf::of("a boolean")))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Leaf(Leaf::of("a number")))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Leaf(Leaf::of("a number")))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Leaf(Leaf::of("a number")))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Leaf(Leaf::of("null")))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Node::Leaf(Leaf::of("an array")))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut out = BTreeMap::new();
        while let Some((key, value)) = map.next_entry::<String, Node>()? {
            out.insert(key, value);
        }
        Ok(Node::Object(out))
    }
}

/// What a stored credential's fields must be.
#[derive(Clone, Copy)]
enum Rule {
    Text,
    Method,
    Time,
}

/// Required fields first, in the order a person reads them, then the optional ones.
const REQUIRED: &[(&str, Rule)] =
    &[("provider", Rule::Text), ("method", Rule::Method), ("secret", Rule::Text), ("saved_at", Rule::Time)];
const OPTIONAL: &[(&str, Rule)] = &[("expires_at", Rule::Time), ("account", Rule::Text)];

/// The first field of `auth.json` that is missing, empty or of the wrong kind, as a sentence
/// naming it; `None` when every field is right (or the text is not JSON at all: that is reported
/// with its position elsewhere).
pub fn first_problem(bytes: &[u8]) -> Option<String> {
    let root: Node = serde_json::from_slice(bytes).ok()?;
    let Node::Object(root) = root else {
        return Some(format!("the file should hold a JSON object, not {}", root.kind()));
    };
    let credentials = match root.get("credentials")? {
        Node::Object(credentials) => credentials,
        other => return Some(format!("`credentials` should be an object, not {}", other.kind())),
    };
    for (name, entry) in credentials {
        let Node::Object(fields) = entry else {
            return Some(format!("`credentials.{name}` should be an object, not {}", entry.kind()));
        };
        for &(field, rule) in REQUIRED {
            let path = format!("credentials.{name}.{field}");
            match fields.get(field) {
                None => return Some(format!("`{path}` is missing")),
                Some(node) => {
                    if let Some(what) = check(node, rule, false) {
                        return Some(format!("`{path}` {what}"));
                    }
                }
            }
        }
        for &(field, rule) in OPTIONAL {
            if let Some(what) = fields.get(field).and_then(|node| check(node, rule, true)) {
                return Some(format!("`credentials.{name}.{field}` {what}"));
            }
        }
    }
    None
}

/// What is wrong with one field's value, if anything.
fn check(node: &Node, rule: Rule, optional: bool) -> Option<String> {
    let leaf = match node {
        Node::Leaf(leaf) if leaf.kind == "a string" => leaf,
        Node::Leaf(leaf) if optional && leaf.kind == "null" => return None,
        other => return Some(format!("should be a string, not {}", other.kind())),
    };
    match rule {
        Rule::Text if leaf.blank && !optional => Some("is empty".into()),
        Rule::Text => None,
        Rule::Method if leaf.method => None,
        Rule::Method => Some(format!("should be \"{}\" or \"{}\"", Method::OAuth.as_str(), Method::ApiKey.as_str())),
        Rule::Time if leaf.time => None,
        Rule::Time if leaf.blank => Some("is empty".into()),
        Rule::Time => Some("is not a time like 2026-11-28T15:48:00Z".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str =
        r#"{"provider":"anthropic","method":"oauth","secret":"sk-ant-oat01-SECRET","saved_at":"2026-11-28T10:00:00Z"}"#;

    fn file_with(entry: &str) -> String {
        format!(r#"{{"version":1,"credentials":{{"anthropic":{entry}}}}}"#)
    }

    #[test]
    fn a_good_file_has_no_problem() {
        assert_eq!(first_problem(file_with(GOOD).as_bytes()), None);
        let optional = GOOD.replace('}', r#","expires_at":null,"account":"","label":{"x":[1]}}"#);
        assert_eq!(first_problem(file_with(&optional).as_bytes()), None);
        assert_eq!(first_problem(br#"{"version":1}"#), None);
        assert_eq!(first_problem(b"{not json"), None, "syntax errors are reported with their position elsewhere");
    }

    #[test]
    fn each_bad_field_is_named_and_no_value_is_quoted() {
        let cases = [
            (GOOD.replace("sk-ant-oat01-SECRET", ""), "`credentials.anthropic.secret` is empty"),
            (
                GOOD.replace("\"sk-ant-oat01-SECRET\"", "42"),
                "`credentials.anthropic.secret` should be a string, not a number",
            ),
            (GOOD.replace(r#""secret":"sk-ant-oat01-SECRET","#, ""), "`credentials.anthropic.secret` is missing"),
            (
                GOOD.replace("\"oauth\"", "\"bearer\""),
                "`credentials.anthropic.method` should be \"oauth\" or \"api_key\"",
            ),
            (GOOD.replace("2026-11-28T10:00:00Z", ""), "`credentials.anthropic.saved_at` is empty"),
            (GOOD.replace("2026-11-28T10:00:00Z", "yesterday"), "`credentials.anthropic.saved_at` is not a time like"),
            (GOOD.replace("\"anthropic\",", "\" \","), "`credentials.anthropic.provider` is empty"),
            (GOOD.replace('}', r#","expires_at":"soon"}"#), "`credentials.anthropic.expires_at` is not a time"),
            (GOOD.replace('}', r#","account":7}"#), "`credentials.anthropic.account` should be a string, not a number"),
            ("\"sk-ant-oat01-SECRET\"".to_string(), "`credentials.anthropic` should be an object, not a string"),
        ];
        for (entry, expected) in cases {
            let problem = first_problem(file_with(&entry).as_bytes()).unwrap_or_default();
            assert!(problem.starts_with(expected), "{entry}: {problem}");
            assert!(
                !problem.contains("SECRET") && !problem.contains("bearer") && !problem.contains("yesterday"),
                "{problem}"
            );
        }
        assert_eq!(
            first_problem(br#"{"version":1,"credentials":[]}"#).unwrap(),
            "`credentials` should be an object, not an array"
        );
        assert_eq!(first_problem(b"[1]").unwrap(), "the file should hold a JSON object, not an array");
    }
}
