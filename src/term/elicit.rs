//! Elicitation on the terminal: a server's form, one field per line, each with the schema's
//! default pre-filled (Enter keeps it). Read from the terminal itself (`/dev/tty`), never from
//! stdin, which may carry data; without a terminal the request is declined.

use std::io::{BufRead, BufReader, Write};
use std::sync::Mutex;

use serde_json::{Map, Value};

use crate::mcp::elicit::{ElicitOutcome, ElicitRequest, Elicitor, defaults, required};
use crate::sanitize::sanitize;

const TTY_PATH: &str = "/dev/tty";
/// Re-asks of one field before the form is declined (end of input, or a person who gives up).
const MAX_TRIES: usize = 5;

/// Two servers asking at once take turns.
static ASKING: Mutex<()> = Mutex::new(());

pub struct TerminalElicitor;

impl Elicitor for TerminalElicitor {
    fn elicit(&self, server: &str, request: &ElicitRequest) -> ElicitOutcome {
        let _turn = ASKING.lock().unwrap_or_else(|p| p.into_inner());
        let Ok(tty) = std::fs::OpenOptions::new().read(true).write(true).open(TTY_PATH) else {
            return ElicitOutcome::Decline;
        };
        let Ok(out) = tty.try_clone() else { return ElicitOutcome::Decline };
        ask(&mut BufReader::new(tty), &mut &out, server, request).unwrap_or(ElicitOutcome::Decline)
    }
}

/// The dialogue, over any reader and writer (tests drive it with strings).
pub fn ask(
    input: &mut impl BufRead,
    out: &mut impl Write,
    server: &str,
    request: &ElicitRequest,
) -> std::io::Result<ElicitOutcome> {
    writeln!(out, "MCP server {server} asks: {}", sanitize(&request.message))?;
    if request.mode == "url" {
        let url = request.url.as_deref().unwrap_or("");
        writeln!(out, "  open this page yourself: {}", sanitize(url))?;
        return Ok(match line(input, out, "  done? [y/N] ")?.as_deref().map(str::trim) {
            Some("y" | "Y" | "yes") => ElicitOutcome::Accept(Map::new()),
            _ => ElicitOutcome::Decline,
        });
    }
    match line(input, out, "  answer? [y]es  [n]o (decline)  [c]ancel: ")?.as_deref().map(str::trim) {
        Some("y" | "Y" | "yes") => {}
        Some("c" | "C" | "cancel") => return Ok(ElicitOutcome::Cancel),
        _ => return Ok(ElicitOutcome::Decline),
    }
    let prefilled = defaults(&request.schema);
    let needed = required(&request.schema);
    let mut content = Map::new();
    let Some(properties) = request.schema.get("properties").and_then(Value::as_object) else {
        return Ok(ElicitOutcome::Accept(content));
    };
    for (key, spec) in properties {
        let kind = spec.get("type").and_then(Value::as_str).unwrap_or("string");
        let choices: Vec<&str> = spec
            .get("enum")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let label = spec.get("title").or_else(|| spec.get("description")).and_then(Value::as_str).unwrap_or(key);
        let mut prompt = format!("  {}", sanitize(label));
        if !choices.is_empty() {
            prompt.push_str(&format!(
                " ({})",
                choices.iter().map(|c| sanitize(c).into_owned()).collect::<Vec<_>>().join("/")
            ));
        }
        if let Some(d) = prefilled.get(key) {
            prompt.push_str(&format!(
                " [{}]",
                sanitize(&d.as_str().map(str::to_string).unwrap_or_else(|| d.to_string()))
            ));
        }
        prompt.push_str(": ");
        let mut answered = false;
        for _ in 0..MAX_TRIES {
            let Some(answer) = line(input, out, &prompt)? else { return Ok(ElicitOutcome::Decline) };
            let answer = answer.trim();
            if answer.is_empty() {
                if let Some(d) = prefilled.get(key) {
                    content.insert(key.clone(), d.clone());
                    answered = true;
                    break;
                }
                if !needed.contains(&key.as_str()) {
                    answered = true;
                    break;
                }
                writeln!(out, "  this field is required")?;
                continue;
            }
            match convert(answer, kind, &choices) {
                Ok(v) => {
                    content.insert(key.clone(), v);
                    answered = true;
                    break;
                }
                Err(why) => writeln!(out, "  {why}")?,
            }
        }
        if !answered {
            return Ok(ElicitOutcome::Decline);
        }
    }
    Ok(ElicitOutcome::Accept(content))
}

fn line(input: &mut impl BufRead, out: &mut impl Write, prompt: &str) -> std::io::Result<Option<String>> {
    write!(out, "{prompt}")?;
    out.flush()?;
    let mut text = String::new();
    Ok(if input.read_line(&mut text)? == 0 { None } else { Some(text.trim_end_matches(['\n', '\r']).to_string()) })
}

fn convert(answer: &str, kind: &str, choices: &[&str]) -> Result<Value, String> {
    if !choices.is_empty() {
        return choices
            .iter()
            .find(|c| **c == answer)
            .map(|c| Value::from(*c))
            .ok_or_else(|| format!("choose one of: {}", choices.join(", ")));
    }
    match kind {
        "integer" => answer.parse::<i64>().map(Value::from).map_err(|_| "enter a whole number".to_string()),
        "number" => answer
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| "enter a number".to_string()),
        "boolean" => match answer {
            "y" | "yes" | "true" => Ok(Value::Bool(true)),
            "n" | "no" | "false" => Ok(Value::Bool(false)),
            _ => Err("answer y or n".to_string()),
        },
        _ => Ok(Value::from(answer)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(answers: &str, schema: Value) -> (ElicitOutcome, String) {
        let request = ElicitRequest { message: "Who\x1b[2J?".into(), schema, mode: "form".into(), url: None };
        let mut out = Vec::new();
        let outcome = ask(&mut answers.as_bytes(), &mut out, "srv", &request).unwrap();
        (outcome, String::from_utf8(out).unwrap())
    }

    #[test]
    fn defaults_are_prefilled_and_answers_typed() {
        let schema = json!({"properties": {"name": {"type": "string", "default": "John"}, "age": {"type": "integer"},
            "ok": {"type": "boolean", "default": true}, "tier": {"type": "string", "enum": ["a", "b"]}}, "required": ["age"]});
        // Properties come in sorted order: age, name, ok, tier.
        let (outcome, shown) = run("y\n\nforty\n40\n\n\nc\nb\n", schema);
        assert_eq!(
            outcome,
            ElicitOutcome::Accept(
                json!({"name": "John", "age": 40, "ok": true, "tier": "b"}).as_object().unwrap().clone()
            )
        );
        assert!(
            shown.contains("[John]")
                && shown.contains("this field is required")
                && shown.contains("enter a whole number")
        );
        assert!(shown.contains("Who^[[2J?"), "server text is sanitised: {shown}");
    }

    #[test]
    fn refusals_and_end_of_input_decline() {
        assert_eq!(run("n\n", json!({})).0, ElicitOutcome::Decline);
        assert_eq!(run("c\n", json!({})).0, ElicitOutcome::Cancel);
        assert_eq!(run("", json!({})).0, ElicitOutcome::Decline);
        assert_eq!(
            run("y\n", json!({"properties": {"t": {"type": "string"}}, "required": ["t"]})).0,
            ElicitOutcome::Decline
        );
    }
}
