//! `pincer models`: every configured model, where its requests go, and the credential each would
//! use with where it comes from — never the secret itself (tokens are masked).

use std::process::ExitCode;

use serde::Serialize;

use super::Context;
use crate::auth::credential::mask;
use crate::auth::resolve::Source;
use crate::auth::store::Store;
use crate::config::{Config, ModelEntry};
use crate::providers::claude_code::install::Installation;
use crate::providers::model_id;
use crate::providers::routing::{self, Protocol, Route};

/// Version of the `--json` shape; bumped only on incompatible changes.
pub const JSON_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
struct Report {
    version: u32,
    default_model: Option<String>,
    models: Vec<ModelReport>,
    aliases: Vec<AliasReport>,
    /// Whether Claude Code (the `claude-code` provider) is installed, its version and path.
    claude_code: Installation,
}

#[derive(Debug, Serialize)]
struct ModelReport {
    name: String,
    provider: String,
    /// The ID sent upstream (after normalisation).
    model: String,
    base_url: Option<String>,
    max_tokens: Option<u64>,
    temperature: Option<f64>,
    default: bool,
    /// `ok`, `missing` (a request would fail), `not_needed` (a server that takes none), or
    /// `error` (the entry cannot be used; see `problem`).
    credential_status: &'static str,
    credential: Option<CredentialReport>,
    problem: Option<String>,
}

#[derive(Debug, Serialize)]
struct CredentialReport {
    method: &'static str,
    /// `env` or `store`.
    source: &'static str,
    env_var: Option<&'static str>,
    token: String,
}

#[derive(Debug, Serialize)]
struct AliasReport {
    alias: String,
    target: String,
}

pub fn run(ctx: &Context, json: bool) -> anyhow::Result<ExitCode> {
    let config = Config::load(&ctx.home)?;
    let store = Store::in_home(&ctx.home).load()?;
    let default = config.default_model().map(str::to_string);
    let aliases = config.aliases();
    let claude_code = Installation::check(Some(&config), &ctx.env, true);
    let mut models = Vec::new();
    for entry in config.models() {
        if let Some(problem) = &entry.problem {
            models.push(broken_report(entry, problem, default.as_deref()));
            continue;
        }
        let choice = model_id::resolve(&entry.name, config.models(), aliases)?;
        let routed = routing::route(&choice, &config, &ctx.env, &store);
        let (status, credential, base_url, problem) = match routed {
            // A program, not a server: it uses its own login, and pincer sends it no credential.
            Ok(route) if route.protocol == Protocol::ClaudeCode => {
                let status = if claude_code.installed { "not_needed" } else { "missing" };
                (status, None, None, claude_code.problem.clone())
            }
            Ok(route) => {
                let status = credential_status(&route);
                (status, route.credential.as_ref().map(credential_report), Some(route.base), None)
            }
            Err(e) => ("error", None, None, Some(format!("{e:#}"))),
        };
        models.push(ModelReport {
            default: default.as_deref() == Some(entry.name.as_str()),
            name: entry.name.clone(),
            provider: choice.provider,
            model: choice.model,
            base_url,
            max_tokens: entry.max_tokens,
            temperature: entry.temperature,
            credential_status: status,
            credential,
            problem,
        });
    }
    let report = Report {
        version: JSON_VERSION,
        default_model: default,
        models,
        aliases: aliases
            .iter()
            .map(|(alias, target)| AliasReport { alias: alias.clone(), target: target.clone() })
            .collect(),
        claude_code,
    };
    let text = if json { serde_json::to_string_pretty(&report)? + "\n" } else { render(&report) };
    crate::term::output::write_stdout(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// An entry config.toml could not read: listed with why, its fields as far as they were read.
fn broken_report(entry: &ModelEntry, problem: &str, default: Option<&str>) -> ModelReport {
    ModelReport {
        name: entry.name.clone(),
        provider: entry.provider.clone(),
        model: entry.model.clone(),
        base_url: entry.base_url.clone(),
        max_tokens: entry.max_tokens,
        temperature: entry.temperature,
        default: default == Some(entry.name.as_str()),
        credential_status: "error",
        credential: None,
        problem: Some(format!("{problem} (config.toml)")),
    }
}

fn credential_status(route: &Route) -> &'static str {
    match (&route.credential, route.credential_required()) {
        (Some(_), _) => "ok",
        (None, true) => "missing",
        (None, false) => "not_needed",
    }
}

fn credential_report(c: &crate::auth::resolve::ResolvedCredential) -> CredentialReport {
    CredentialReport {
        method: c.method.as_str(),
        source: c.source.kind(),
        env_var: match c.source {
            Source::Env(var) => Some(var),
            Source::Store => None,
        },
        token: mask(c.secret.expose()),
    }
}

fn render(report: &Report) -> String {
    let runs_it = if report.claude_code.installed { " (`--model claude-code/sonnet` runs it)" } else { "" };
    let claude_code = format!("claude-code: {}{runs_it}\n", report.claude_code.describe());
    if report.models.is_empty() {
        return "No models configured in config.toml.\nBuilt-in: sonnet, opus, haiku (Anthropic); any provider/model-id works with --model.\n"
            .to_string()
            + &claude_code;
    }
    let mut rows =
        vec![["NAME".to_string(), "PROVIDER".into(), "MODEL".into(), "BASE URL".into(), "CREDENTIAL".into()]];
    for m in &report.models {
        let credential = match (&m.credential, m.credential_status) {
            (None, status) if m.provider == crate::providers::claude_code::PROVIDER && status != "error" => {
                match status {
                    "not_needed" => format!("{} (its own login)", report.claude_code.describe()),
                    _ => format!("MISSING: {}", report.claude_code.describe()),
                }
            }
            (Some(c), _) => {
                let source = match c.env_var {
                    Some(var) => var.to_string(),
                    None => "auth.json".to_string(),
                };
                format!("{} {} ({source})", c.method, c.token)
            }
            (None, "not_needed") => "none (not needed)".into(),
            (None, "missing") => format!("MISSING: pincer auth login --provider {}", m.provider),
            (None, _) => format!("error: {}", m.problem.as_deref().unwrap_or("").lines().next().unwrap_or("")),
        };
        let name = if m.default { format!("{} *", m.name) } else { m.name.clone() };
        let or_unknown = |s: &str| if s.is_empty() { "?".to_string() } else { s.to_string() };
        rows.push([
            name,
            or_unknown(&m.provider),
            or_unknown(&m.model),
            m.base_url.clone().unwrap_or_default(),
            credential,
        ]);
    }
    let widths: Vec<usize> = (0..4).map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for r in &rows {
        for (i, w) in widths.iter().enumerate() {
            out.push_str(&format!("{:<w$}  ", r[i], w = w));
        }
        out.push_str(&r[4]);
        out.push('\n');
    }
    if report.default_model.is_some() {
        out.push_str("* default model\n");
    }
    for a in &report.aliases {
        out.push_str(&format!("alias {} -> {}\n", a.alias, a.target));
    }
    out.push_str(&claude_code);
    out
}
