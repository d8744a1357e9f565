//! `pincer tools`: every tool the agent would offer — built-in and from MCP servers — with its
//! permission class, what the rules of config.toml say about it now, and the sandbox state.

use std::path::Path;
use std::process::ExitCode;

use serde::Serialize;

use super::Context;
use crate::config::Config;
use crate::tools::policy::{Decision, Effect, Policy, Source};
use crate::tools::{Target, Tool, ToolClass};

/// Version of the `--json` shape; bumped only on incompatible changes.
pub const JSON_VERSION: u32 = 1;

#[derive(Serialize)]
struct Report {
    version: u32,
    tools: Vec<ToolReport>,
    sandbox: SandboxReport,
    /// MCP servers that could not be started, one line each.
    warnings: Vec<String>,
}

#[derive(Serialize)]
struct ToolReport {
    name: String,
    class: &'static str,
    /// `allowed`, `denied`, `asked`, or `allowed in the workspace` (reads).
    permission: String,
    /// The rules of config.toml naming this tool (`allow bash(cargo test:*)`).
    rules: Vec<String>,
}

#[derive(Serialize)]
struct SandboxReport {
    enforced: bool,
    landlock_abi: Option<i32>,
    description: String,
}

pub fn run(ctx: &Context, workspace: Option<&Path>, json: bool) -> anyhow::Result<ExitCode> {
    let config = Config::load(&ctx.home)?;
    let workspace = super::workspace(workspace)?;
    let (mut registry, sandbox) = super::builtin_tools(ctx, &config);
    let mut policy = Policy::new(false);
    let mut warnings = Vec::new();
    let permissions = config.permissions();
    for (effect, rules) in [(Effect::Deny, &permissions.deny), (Effect::Allow, &permissions.allow)] {
        for rule in rules {
            if let Err(e) = policy.add(effect, rule, Source::Config) {
                warnings.push(format!("{}: {e} (skipped)", config.path().display()));
            }
        }
    }
    let mcp = super::agent_mcp_manager(ctx, &config, &workspace);
    warnings.extend(mcp.start());
    for tool in mcp.tools() {
        registry.add(tool);
    }
    let tools: Vec<ToolReport> = registry.iter().map(|tool| report(tool, &policy)).collect();
    let report = Report {
        version: JSON_VERSION,
        tools,
        sandbox: SandboxReport {
            enforced: sandbox.enforced(),
            landlock_abi: sandbox.abi,
            description: sandbox.describe(),
        },
        warnings,
    };
    let text = if json { format!("{}\n", serde_json::to_string_pretty(&report)?) } else { render(&report) };
    crate::term::output::write_stdout(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn report(tool: &dyn Tool, policy: &Policy) -> ToolReport {
    let class = tool.class();
    let verdict = policy.decide(tool.name(), class, &Target::None);
    let permission = match verdict.decision {
        Decision::Allow => format!("allowed ({})", verdict.explain()),
        Decision::Deny => format!("denied ({})", verdict.explain()),
        Decision::Ask if class == ToolClass::Read => "allowed in the workspace, asked outside".to_string(),
        Decision::Ask => "asked".to_string(),
    };
    let rules = policy
        .rules()
        .filter(|(_, rule, _)| rule.tool() == Some(tool.name()))
        .map(|(effect, rule, _)| format!("{} {rule}", if effect == Effect::Allow { "allow" } else { "deny" }))
        .collect();
    ToolReport { name: tool.name().to_string(), class: class.as_str(), permission, rules }
}

fn render(report: &Report) -> String {
    let clean = |t: &str| crate::sanitize::sanitize(t).into_owned();
    let width = report.tools.iter().map(|t| t.name.len()).max().unwrap_or(4).max(4);
    let mut out = format!("{:<width$}  {:<5}  PERMISSION\n", "TOOL", "CLASS");
    for t in &report.tools {
        out.push_str(&format!("{:<width$}  {:<5}  {}\n", clean(&t.name), t.class, clean(&t.permission)));
        for rule in &t.rules {
            out.push_str(&format!("{:<width$}  {:<5}  rule: {}\n", "", "", clean(rule)));
        }
    }
    out.push_str(&format!("\nsandbox: {}\n", report.sandbox.description));
    for warning in &report.warnings {
        out.push_str(&format!("warning: {}\n", clean(warning)));
    }
    out
}
