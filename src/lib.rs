//! pincer: a small, fast, trustworthy personal AI assistant for the terminal.
//!
//! Data flows one way: cli → commands → (config, credential store) → providers → terminal.

// Data reaches stdout only through `term::output` (clippy.toml refuses `std::io::stdout`), and
// nothing prints with macros that panic when a pipe closes.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod auth;
pub mod cancel;
pub mod chat;
pub mod cli;
pub mod commands;
pub mod config;
pub mod env;
pub mod exit;
pub mod fsutil;
pub mod http;
#[cfg(windows)]
mod job;
pub mod mcp;
pub mod notice;
pub mod providers;
pub mod sanitize;
pub mod secret;
pub mod secret_scan;
pub mod term;
pub mod tools;
pub mod usage;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use crate::cli::{AuthCommand, Cli, Command};
use crate::commands::Context;
use crate::env::Env;

/// Parses the arguments and runs the command. Errors carry their exit code (see [`exit`]).
pub fn run() -> anyhow::Result<ExitCode> {
    let matches = match Cli::command().after_help(cli::help_footer()).try_get_matches() {
        Ok(matches) => matches,
        // --help and --version are data on stdout: a closed pipe or a full disk is handled as such.
        Err(e) if !e.use_stderr() => {
            e.print().map_err(term::output::OutputError::from)?;
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => e.exit(),
    };
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    harden_process();
    let env = Env::from_process();
    // Read once above; from here no process pincer starts (bash, MCP servers, Claude Code)
    // inherits a credential, and /proc/<pid>/environ no longer shows one. Before any thread.
    env::scrub_credentials_from_process();
    term::style::init(env.no_color);
    init_logging(&env);

    if let Command::Completions { shell } = cli.command {
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "pincer", &mut script);
        term::output::write_stdout(&script)?;
        return Ok(ExitCode::SUCCESS);
    }
    let home = env.pincer_home()?;
    // `[network]` timeouts apply to every command; a config.toml that does not parse is reported
    // by the commands that need it, so here it only means the defaults. Its problems are told
    // here, once per run, whichever command runs (commands load it again, silently).
    let config = config::Config::load(&home);
    if let Ok(config) = &config {
        warn_config_problems(config);
    }
    let timeouts = config.map(|c| c.timeouts()).unwrap_or_default();
    let ctx = Context { env, home, timeouts };
    match &cli.command {
        Command::Auth(AuthCommand::Login(args)) => match &args.mcp {
            Some(name) => commands::auth_mcp::login(&ctx, name, args, &mut term::prompt::Input::stdin()),
            None => commands::auth_login::run(&ctx, args, &mut term::prompt::Input::stdin()),
        },
        Command::Auth(AuthCommand::Logout { mcp: Some(name), .. }) => commands::auth_mcp::logout(&ctx, name),
        Command::Auth(AuthCommand::Logout { provider, .. }) => commands::auth_logout::run(&ctx, provider.as_deref()),
        Command::Auth(AuthCommand::Status(args)) => commands::auth_status::run(&ctx, args),
        Command::Agent(args) => commands::agent::run(&ctx, args),
        Command::Models { json } => commands::models::run(&ctx, *json),
        Command::Mcp(command) => commands::mcp::run(&ctx, command),
        Command::Tools { json, workspace } => commands::tools::run(&ctx, workspace.as_deref(), *json),
        Command::Skills { json, workspace } => {
            commands::skills::run(&ctx, &commands::workspace(workspace.as_deref())?, *json)
        }
        Command::Completions { .. } => unreachable!("handled above"),
    }
}

/// One warning per problem in config.toml, with the file, line, key, type and what pincer does.
fn warn_config_problems(config: &config::Config) {
    for problem in config.problems() {
        term::style::warn(&format!("{} {problem}", config.path().display()));
    }
}

/// Secrets live in this process's memory: no core dump may write them to disk, and other
/// processes of the same user may not attach to read them.
///
/// - Unix: no core dumps (`RLIMIT_CORE` 0).
/// - Linux: not dumpable either, which also stops same-user `ptrace` and `/proc/PID/mem` reads.
/// - macOS: nothing more is needed: reading another process's memory (`task_for_pid`) takes root
///   or the developer-tools authorisation, even for the same user.
/// - Windows: a documented no-op. Windows Error Reporting writes no dump unless `LocalDumps` is
///   configured, and there is no per-process way to keep the same user's processes out.
fn harden_process() {
    #[cfg(unix)]
    {
        let no_core = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: a plain system call on this process with a valid argument; failure is harmless.
        unsafe {
            libc::setrlimit(libc::RLIMIT_CORE, &no_core);
        }
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: a plain system call on this process with valid arguments; failure is harmless.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

/// Logs go to stderr, filtered by `PINCER_LOG` / `RUST_LOG` (warnings only by default). The
/// filter is `level` or `target=level` pairs (`debug`, `pincer=trace,warn`); `Targets` parses that
/// without the regex engine `EnvFilter` would add to the binary.
fn init_logging(env: &Env) {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let text = env.log_filter.as_deref().unwrap_or("warn");
    let filter: Targets = text.parse().unwrap_or_else(|_| {
        term::style::warn(&format!("ignoring invalid log filter {text:?} (use e.g. debug or pincer=trace)"));
        Targets::new().with_default(tracing::Level::WARN)
    });
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        // Plain text: logs are for grepping, and colour support would cost binary size.
        .with_ansi(false)
        .without_time();
    tracing_subscriber::registry().with(layer).with(filter).init();
}
