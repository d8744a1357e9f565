//! `pincer agent` (alias `chat`): one message from `-m` or stdin, or a REPL on a terminal.
//!
//! This is where a conversation is put together — the model and its credential, the tools and
//! the workspace, the permission rules from the command line and config.toml, the approver (the
//! terminal, or nobody), the system prompt, the renderer — and handed to the turn engine
//! (`chat::turn`) through `chat::conversation`. Ctrl-C cancels the turn in flight through its
//! cancel token: a one-shot run exits 130 keeping what was printed, the REPL goes back to its
//! prompt.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::Context;
use crate::auth::resolve::{self, ANTHROPIC, ResolvedCredential};
use crate::auth::store::Store;
use crate::chat::conversation::Conversation;
use crate::chat::events::{CancelToken, TurnEvents};
use crate::chat::explain::explain;
use crate::chat::prompt::{self, Setting};
use crate::chat::render::{QuietEvents, TerminalEvents};
use crate::chat::session::Session;
use crate::chat::turn::{ModelSettings, ToolCallRecord, TurnEnd, TurnReport, Workbench};
use crate::chat::{compact, skills};
use crate::cli::{AgentArgs, LoginArgs};
use crate::config::Config;
use crate::exit::{Interrupted, UsageError};
use crate::providers::chat;
use crate::providers::claude_code::{self, ClaudeCode};
use crate::providers::message::{ChatMessage, ToolSpec};
use crate::providers::model_id::{self, ModelChoice};
use crate::providers::routing::{self, Endpoint, Protocol};
use crate::term::interrupt;
use crate::term::output;
use crate::term::prompt::Input;
use crate::term::style::{self, note, warn};
use crate::tools::approve::{Approver, NeverAsk};
use crate::tools::policy::{Effect, Policy, Source};
use crate::usage::cache::{UsageCache, credential_key};

const FALLBACK_MODEL: &str = "sonnet";
/// Version of the `--json` result; bumped only on incompatible changes.
pub const JSON_VERSION: u32 = 1;

pub fn run(ctx: &Context, args: &AgentArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(&ctx.home)?;
    let name =
        args.model.clone().or_else(|| config.default_model().map(str::to_string)).unwrap_or(FALLBACK_MODEL.into());
    let choice = model_id::resolve(&name, config.models(), config.aliases()).map_err(|e| UsageError(e.to_string()))?;
    let workspace = super::workspace(args.workspace.as_deref())?;
    // Claude Code brings its own tools and permissions: pincer's are not offered to it, and no
    // MCP server is started for it.
    let claude_code = choice.provider == claude_code::PROVIDER;
    if claude_code && (args.yolo || !args.allow.is_empty() || !args.deny.is_empty()) {
        warn(
            "--allow, --deny and --yolo do not apply to Claude Code: its tools and permissions are its own; set them with `args` in [providers.claude-code] of config.toml, e.g. [\"--permission-mode\", \"acceptEdits\"]",
        );
    }
    let tools_on = !args.no_tools && !claude_code;
    let policy = policy(args, &config)?;
    let mut workbench = if tools_on { Some(workbench(ctx, &config, &workspace)?) } else { None };
    let system = system_prompt(ctx, &workspace, workbench.as_ref(), args.system.as_deref());
    if args.show_prompt {
        // The MCP servers' tools would be sent too: start them to list them.
        let mcp = super::agent_mcp_manager(ctx, &config, &workspace);
        if let Some(workbench) = workbench.as_mut() {
            for warning in mcp.start() {
                warn(&warning);
            }
            for tool in mcp.tools() {
                workbench.registry.add(tool);
            }
        }
        return show_prompt(system.as_deref(), workbench.as_ref());
    }
    let session = args.session.as_deref().map(|n| Session::open(&ctx.home, n)).transpose()?;
    let stdin_tty = std::io::stdin().is_terminal();
    // `-m` leaves a terminal's stdin free, so the login offer works there too.
    let session_path = session.as_ref().map(|s| s.path().to_path_buf());
    let (settings, http) = prepare(ctx, &config, &choice, stdin_tty, &workspace, session_path.as_deref())?;
    let settings = ModelSettings { system, max_steps: args.max_steps, ..settings };
    let events: Arc<Mutex<dyn TurnEvents>> = if args.json {
        Arc::new(Mutex::new(QuietEvents))
    } else {
        Arc::new(Mutex::new(TerminalEvents::new(
            output::data(),
            std::io::stderr().is_terminal(),
            std::io::stderr().is_terminal(),
            style::stderr_color(),
        )))
    };
    // Approvals come only from the person: the terminal, never stdin when it carries the message.
    let approver: Box<dyn Approver> = match crate::term::approval::TerminalApprover::open(style::stderr_color()) {
        Some(terminal) => Box::new(terminal),
        None => Box::new(NeverAsk),
    };
    let home = ctx.home.clone();
    let save_rule = Box::new(move |rule: &crate::tools::policy::Rule| {
        crate::config::save_permission_rule(&home, crate::config::RuleList::Allow, rule.as_str()).map(|_| ())
    });
    let mut conversation = Conversation::new(settings, http, workbench, policy, approver, save_rule, session, events)?;
    conversation.collect_text = args.json;
    if tools_on {
        conversation.start_mcp(super::agent_mcp_manager(ctx, &config, &workspace));
    }
    interrupt::install();

    if let Some(message) = &args.message {
        if message.trim().is_empty() {
            return Err(
                UsageError("no message: -m was empty\nhint: pass the text to send, e.g. -m \"Hello\"".into()).into()
            );
        }
        return one_shot(&mut conversation, message, args.json);
    }
    if !stdin_tty {
        let message = crate::term::stdin_message::read()?;
        return one_shot(&mut conversation, &message, args.json);
    }
    let reprepare = |name: &str| -> anyhow::Result<ModelSettings> {
        let choice = model_id::resolve(name, config.models(), config.aliases())?;
        Ok(prepare(ctx, &config, &choice, false, &workspace, session_path.as_deref())?.0)
    };
    crate::chat::repl::run(&ctx.home, &mut conversation, &reprepare)
}

/// The permission rules of this run: `--deny`/`--allow` (a rule that does not parse is a usage
/// error), then config.toml's `[permissions]` (one that does not parse is warned about and
/// skipped); `--yolo` approves what no rule denies.
fn policy(args: &AgentArgs, config: &Config) -> anyhow::Result<Policy> {
    if args.no_tools {
        return Ok(Policy::new(false));
    }
    let mut policy = Policy::new(args.yolo);
    for (effect, rules) in [(Effect::Deny, &args.deny), (Effect::Allow, &args.allow)] {
        for rule in rules {
            policy.add(effect, rule, Source::CommandLine).map_err(|e| UsageError(e.to_string()))?;
        }
    }
    let permissions = config.permissions();
    if permissions.deny_incomplete {
        // The person meant to forbid something pincer cannot name: running tools could do it.
        return Err(UsageError(format!(
            "a `[permissions] deny` entry in {} cannot be read (see the warning above), so pincer does not know what it forbids\nhint: fix that entry, or run with --no-tools",
            config.path().display()
        ))
        .into());
    }
    for (effect, rules) in [(Effect::Deny, &permissions.deny), (Effect::Allow, &permissions.allow)] {
        for rule in rules {
            if let Err(e) = policy.add(effect, rule, Source::Config) {
                if effect == Effect::Deny {
                    // Same reasoning: an unreadable deny rule must not silently allow.
                    return Err(UsageError(format!(
                        "{}: {e}\nhint: fix that [permissions] deny rule, or run with --no-tools",
                        config.path().display()
                    ))
                    .into());
                }
                warn(&format!("{}: {e} (skipped)", config.path().display()));
            }
        }
    }
    Ok(policy)
}

/// The tools and where they work. The sandbox's absence is said once per session.
fn workbench(ctx: &Context, config: &Config, workspace: &Path) -> anyhow::Result<Workbench> {
    let (registry, sandbox) = super::builtin_tools(ctx, config);
    if let Some(warning) = sandbox.warning() {
        note(&warning);
    }
    Ok(Workbench {
        registry,
        workspace: workspace.to_path_buf(),
        home: super::canonical_home(ctx)?,
        read_files: Mutex::new(Default::default()),
    })
}

/// The system prompt: with tools, pincer's own (where it is, how tools behave) with the skills,
/// memory and instruction files; without, only the person's `--system` text.
fn system_prompt(
    ctx: &Context,
    workspace: &Path,
    workbench: Option<&Workbench>,
    extra: Option<&str>,
) -> Option<String> {
    let Some(workbench) = workbench else {
        return extra.map(str::to_string);
    };
    let today = jiff::Zoned::now().date();
    let setting = Setting { workspace, os: prompt::os_name(), date: today };
    let found = skills::discover(&skills::skill_roots(workspace, &workbench.home));
    let (instructions, problems) = prompt::find_instructions(workspace, &workbench.home);
    for problem in problems {
        warn(&problem);
    }
    let sections = [
        skills::prompt_section(&found.skills),
        crate::tools::memory::prompt_section(&ctx.home, workspace),
        prompt::instructions_section(&instructions),
    ];
    Some(prompt::assemble(&setting, &sections, extra))
}

/// `--show-prompt`: exactly what would be sent before the first message, with sizes.
fn show_prompt(system: Option<&str>, workbench: Option<&Workbench>) -> anyhow::Result<ExitCode> {
    let specs: Vec<ToolSpec> = workbench.map(Workbench::specs).unwrap_or_default();
    let mut out = String::new();
    let system_bytes = system.map_or(0, str::len);
    out.push_str(&format!("== system prompt ({system_bytes} bytes)\n"));
    if let Some(system) = system {
        out.push_str(&crate::sanitize::sanitize(system));
        out.push('\n');
    }
    let tool_bytes: Vec<usize> = specs.iter().map(|t| serde_json::to_string(t).map_or(0, |j| j.len())).collect();
    out.push_str(&format!("\n== tools ({} tools, {} bytes)\n", specs.len(), tool_bytes.iter().sum::<usize>()));
    for (spec, bytes) in specs.iter().zip(&tool_bytes) {
        out.push_str(&format!(
            "{:<24} {bytes:>6} bytes  {}\n",
            spec.name,
            crate::sanitize::sanitize(&spec.description)
        ));
    }
    let total = system_bytes + tool_bytes.iter().sum::<usize>();
    out.push_str(&format!(
        "\n== total: {total} bytes (budget for pincer's own prompt and tools: {} bytes)\n",
        prompt::PROMPT_BUDGET_BYTES
    ));
    output::write_stdout(out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// Resolves where a model's requests go and with which credential. On a terminal (`can_ask`), a
/// missing Anthropic credential is offered a login. Claude Code runs in `workspace`, and a
/// `session` keeps which Claude Code session it continues beside it.
pub fn prepare(
    ctx: &Context,
    config: &Config,
    choice: &ModelChoice,
    can_ask: bool,
    workspace: &Path,
    session: Option<&Path>,
) -> anyhow::Result<(ModelSettings, crate::http::Client)> {
    let entry = choice.entry.clone();
    let route = routing::route(choice, config, &ctx.env, &Store::in_home(&ctx.home).load()?)?;
    let credential_required = route.credential_required();
    let credential = match (route.protocol, route.credential) {
        (Protocol::Anthropic, None) => Some(login_now(ctx, can_ask)?),
        (Protocol::OpenAi, None) if credential_required => anyhow::bail!(
            "no OpenAI API key\nhint: run `pincer auth login --provider openai --api-key`, or set OPENAI_API_KEY"
        ),
        (_, credential) => credential,
    };
    let provider = config.provider(&choice.provider);
    let local = if route.protocol == Protocol::ClaudeCode {
        // Found now, not at the first message: a missing `claude` is said before the REPL starts.
        let program = claude_code::install::locate(&route.base, &ctx.env)
            .ok_or_else(|| claude_code::Failure::NotInstalled { command: route.base.clone() })?;
        let link = session.map(claude_code::link_file);
        Some(ClaudeCode::new(program, provider.args.clone(), workspace.to_path_buf(), link)?)
    } else {
        None
    };
    let http = ctx.client(&route.base)?;
    let usage =
        credential.as_ref().map(|c| (UsageCache::in_home(&ctx.home), credential_key(&c.provider, c.secret.expose())));
    let endpoint = Endpoint {
        provider: choice.provider.clone(),
        protocol: route.protocol,
        base: route.base,
        base_origin: route.base_origin,
        credential,
        extra_betas: if route.protocol == Protocol::Anthropic {
            config.provider(ANTHROPIC).betas.clone()
        } else {
            Vec::new()
        },
        extra_headers: provider.headers.clone(),
        claude_code: local,
    };
    let settings = ModelSettings {
        endpoint,
        model: choice.model.clone(),
        system: None,
        max_tokens: entry.as_ref().and_then(|e| e.max_tokens),
        temperature: entry.as_ref().and_then(|e| e.temperature),
        limits: chat::Limits {
            max_response_bytes: config.max_response_bytes(),
            max_response_time: config.max_response_time(),
            ..chat::Limits::default()
        },
        max_steps: crate::chat::turn::DEFAULT_MAX_STEPS,
        // Claude Code compacts its own conversation.
        context_window: if route.protocol == Protocol::ClaudeCode {
            None
        } else {
            compact::context_window(&choice.model, entry.as_ref().and_then(|e| e.context_window))
        },
        usage,
    };
    Ok((settings, http))
}

/// One message, one turn; the exit code says how it ended.
fn one_shot(conversation: &mut Conversation, message: &str, json: bool) -> anyhow::Result<ExitCode> {
    let cancel = CancelToken::new();
    let report = {
        let _watch = interrupt::cancel_on_ctrl_c(&cancel);
        conversation.send(ChatMessage::user_text(message), cancel)
    };
    let endpoint = conversation.settings.endpoint.clone();
    if json {
        return json_result(report, &endpoint);
    }
    let code = crate::chat::render::report_end(&report, conversation.settings.max_steps);
    if let TurnEnd::NoAnswer(not_kept) = &report.end
        && let Some(session) = &conversation.session
    {
        note(&format!("({}; {} is unchanged)", not_kept.notice(), session.path().display()));
    }
    match report.end {
        TurnEnd::Cancelled => Err(Interrupted.into()),
        TurnEnd::Failed(error) => Err(explain(&endpoint, error)),
        _ => {
            // A kept conversation is compacted now, so the next run starts within the window.
            if conversation.session.is_some() && conversation.near_context_limit(&report) {
                note("(the conversation is near the model's context window: summarising older turns)");
                let cancel = CancelToken::new();
                let _watch = interrupt::cancel_on_ctrl_c(&cancel);
                match conversation.compact(cancel) {
                    Ok(0) => {}
                    Ok(n) => note(&format!(
                        "(compacted: {n} earlier messages are now one summary; the session file keeps them all)"
                    )),
                    Err(e) => warn(&format!("compaction failed: {:#}", explain(&endpoint, e))),
                }
            }
            Ok(code)
        }
    }
}

/// The `--json` result (documented in the README).
#[derive(Serialize)]
struct JsonResult<'a> {
    version: u32,
    text: &'a str,
    stop_reason: Option<&'a str>,
    steps: u32,
    tool_calls: &'a [ToolCallRecord],
    usage: JsonUsage,
    /// Why the turn did not end normally: `max_steps`, `cancelled`, `no_answer`, or an error's message.
    error: Option<String>,
}

#[derive(Serialize)]
struct JsonUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
}

fn json_result(report: TurnReport, endpoint: &Endpoint) -> anyhow::Result<ExitCode> {
    let (error, code) = match report.end {
        TurnEnd::Completed => (None, ExitCode::SUCCESS),
        TurnEnd::NoAnswer(_) => (Some("no_answer".to_string()), ExitCode::from(crate::exit::FAILURE)),
        TurnEnd::MaxSteps => (Some("max_steps".to_string()), ExitCode::from(crate::exit::FAILURE)),
        TurnEnd::Cancelled => (Some("cancelled".to_string()), ExitCode::from(crate::exit::INTERRUPTED)),
        TurnEnd::Failed(e) => {
            let error = explain(endpoint, e);
            let code = super::exit_code(&error);
            (Some(format!("{error:#}")), code)
        }
    };
    let result = JsonResult {
        version: JSON_VERSION,
        text: &report.text,
        stop_reason: report.last.as_ref().and_then(|m| m.stop_reason.as_deref()),
        steps: report.steps,
        tool_calls: &report.tool_calls,
        usage: JsonUsage {
            input_tokens: report.usage.input_tokens,
            output_tokens: report.usage.output_tokens,
            cache_read_input_tokens: report.usage.cache_read_input_tokens,
        },
        error,
    };
    let mut text = serde_json::to_string_pretty(&result)?;
    text.push('\n');
    output::write_stdout(text.as_bytes())?;
    Ok(code)
}

/// No Anthropic credential: say so, and on a terminal offer to log in now.
fn login_now(ctx: &Context, can_ask: bool) -> anyhow::Result<ResolvedCredential> {
    let missing =
        "no Anthropic credential\nhint: run `pincer auth login --provider anthropic`, or set ANTHROPIC_API_KEY";
    if !can_ask {
        anyhow::bail!(missing);
    }
    let mut input = Input::stdin();
    let answer = input.choose("No Anthropic credential found. Log in now?", &["Yes, log in", "No"], 0)?;
    if answer != 0 {
        anyhow::bail!(missing);
    }
    let args = LoginArgs { provider: Some(ANTHROPIC.into()), ..Default::default() };
    super::auth_login::run(ctx, &args, &mut input)?;
    resolve::resolve(ANTHROPIC, &ctx.env, &Store::in_home(&ctx.home).load()?).ok_or_else(|| anyhow::anyhow!(missing))
}
