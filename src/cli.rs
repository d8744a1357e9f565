//! Every command, flag and help text.

use clap::{Args, Parser, Subcommand};

pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    success
  1    runtime failure (network, server, file)
  2    usage error (bad flags, invalid token format, end of input at a prompt)
  130  interrupted (Ctrl-C)

Secrets are never taken on the command line: pincer prompts for them (hidden) on a terminal
and reads one line from stdin otherwise.";

/// The text after the top-level help: exit codes and the environment variables.
pub fn help_footer() -> String {
    let mut text = format!("{EXIT_CODES_HELP}\n\nEnvironment:\n");
    for (name, what) in crate::env::ALL {
        text.push_str(&format!("  {name:<24} {what}\n"));
    }
    text
}

#[derive(Debug, Parser)]
#[command(name = "pincer", version, about = "A small, fast, trustworthy AI assistant for the terminal")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in to a provider, log out, and see credentials and usage
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Chat with a model: one message (-m or stdin) or an interactive session
    #[command(
        visible_alias = "chat",
        after_help = "Examples:
  pincer agent -m \"Explain SSE in one sentence\"
  git diff | pincer agent --system \"Review this diff\"
  pincer agent --model opus --session work        # continue the `work` conversation
  pincer agent                                    # interactive, on a terminal"
    )]
    Agent(AgentArgs),
    /// List configured models, their provider, and the credential each would use
    Models {
        /// Machine-readable output (documented in the README)
        #[arg(long)]
        json: bool,
    },
    /// List the agent's tools: class, permission now, and the sandbox state
    Tools {
        /// Machine-readable output (documented in the README)
        #[arg(long)]
        json: bool,
        /// Where tools would work (default: the current folder)
        #[arg(long, value_name = "DIR")]
        workspace: Option<std::path::PathBuf>,
    },
    /// List the skills the agent offers the model, and those that cannot be used
    Skills {
        /// Machine-readable output (documented in the README)
        #[arg(long)]
        json: bool,
        /// The workspace whose skills count (default: the current folder)
        #[arg(long, value_name = "DIR")]
        workspace: Option<std::path::PathBuf>,
    },
    /// Manage MCP servers: their tools become the agent's tools (class `mcp`)
    #[command(subcommand)]
    Mcp(McpCommand),
    /// Print a shell completion script
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Store a credential (a setup token or an API key), or sign in to an MCP server (--mcp)
    #[command(after_help = "Examples:
  pincer auth login --provider anthropic                 # menu: setup token or API key
  claude setup-token   # then paste the token into:
  pincer auth login --provider anthropic --setup-token
  printf '%s\\n' \"$KEY\" | pincer auth login -p anthropic --api-key
  printf '2\\n%s\\n' \"$KEY\" | pincer auth login -p anthropic   # the menu through a pipe
  pincer auth login --provider openai --api-key
  pincer auth login --mcp notes                          # OAuth sign-in in the browser
  pincer auth login --mcp notes --no-browser             # print the address, paste the result back
  pincer auth login --mcp notes --client-secret          # a pre-registered client's secret, hidden")]
    Login(LoginArgs),
    /// Remove stored credentials (all of them, MCP sign-ins too, unless --provider or --mcp is given)
    Logout {
        /// Only this provider's stored credential (environment variables are left alone)
        #[arg(short, long, value_name = "NAME", conflicts_with = "mcp")]
        provider: Option<String>,
        /// Only the sign-in to this MCP server (also revoked at its authorization server)
        #[arg(long, value_name = "NAME")]
        mcp: Option<String>,
    },
    /// Show each credential and, for Anthropic subscriptions, the 5-hour and 7-day usage
    Status(StatusArgs),
}

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The message to send (otherwise stdin when it is not a terminal, or an interactive session)
    #[arg(short, long, value_name = "MESSAGE")]
    pub message: Option<String>,
    /// A model name from config.toml, an alias (sonnet, opus, haiku), or provider/model-id
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// Keep the conversation in sessions/NAME.jsonl and continue it next time
    #[arg(long, value_name = "NAME")]
    pub session: Option<String>,
    /// More instructions for the model, added at the end of the system prompt
    #[arg(long, value_name = "TEXT")]
    pub system: Option<String>,
    /// Where tools work (default: the current folder)
    #[arg(long, value_name = "DIR")]
    pub workspace: Option<std::path::PathBuf>,
    /// Pre-approve tool calls matching RULE, e.g. 'bash(cargo test:*)' (repeatable)
    #[arg(long = "allow", value_name = "RULE")]
    pub allow: Vec<String>,
    /// Forbid tool calls matching RULE, e.g. 'bash(rm:*)'; deny always wins (repeatable)
    #[arg(long = "deny", value_name = "RULE")]
    pub deny: Vec<String>,
    /// Approve every call except those denied and the hard limits (never the default)
    #[arg(long)]
    pub yolo: bool,
    /// Plain chat: no tools are sent
    #[arg(long, conflicts_with_all = ["allow", "deny", "yolo"])]
    pub no_tools: bool,
    /// Model calls per turn before pincer stops it
    #[arg(long, value_name = "N", default_value_t = crate::chat::turn::DEFAULT_MAX_STEPS, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_steps: u32,
    /// No streaming: print one JSON result object on stdout at the end (documented in the README)
    #[arg(long)]
    pub json: bool,
    /// Print the system prompt and the tools that would be sent, with their sizes; send nothing
    #[arg(long)]
    pub show_prompt: bool,
}

#[derive(Debug, Default, Args)]
pub struct LoginArgs {
    /// anthropic, openai, or a provider named in config.toml
    #[arg(short, long, value_name = "NAME", required_unless_present = "mcp")]
    pub provider: Option<String>,
    /// The credential is a setup token (from `claude setup-token`, sk-ant-oat01-…)
    #[arg(long, conflicts_with = "api_key")]
    pub setup_token: bool,
    /// The credential is an API key
    #[arg(long)]
    pub api_key: bool,
    /// Do not check an API key with the provider before saving it
    #[arg(long)]
    pub no_verify: bool,
    /// Sign in to the MCP server [mcp.NAME] of config.toml (OAuth 2.1, in the browser)
    #[arg(long, value_name = "NAME", conflicts_with_all = ["provider", "setup_token", "api_key", "no_verify"])]
    pub mcp: Option<String>,
    /// Print the sign-in address instead of opening a browser, and take the address the
    /// browser was sent to, pasted back (for SSH sessions and headless machines)
    #[arg(long, requires = "mcp")]
    pub no_browser: bool,
    /// Read the secret of the pre-registered client_id of [mcp.NAME] (hidden prompt or stdin);
    /// it is kept in auth.json, never in config.toml
    #[arg(long, requires = "mcp")]
    pub client_secret: bool,
    /// Ask for these scopes (space-separated) instead of those the server suggests
    #[arg(long, value_name = "SCOPES", requires = "mcp")]
    pub scope: Option<String>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only this provider
    #[arg(short, long, value_name = "NAME")]
    pub provider: Option<String>,
    /// Machine-readable output (documented in the README)
    #[arg(long)]
    pub json: bool,
    /// Send a one-token request to read the current rate-limit figures (uses a little quota)
    #[arg(long, conflicts_with = "no_usage")]
    pub probe: bool,
    /// Do not contact the provider for usage
    #[arg(long)]
    pub no_usage: bool,
}

#[derive(Debug, Subcommand)]
pub enum McpCommand {
    /// Add a server: a command to run (stdio) or a URL (streamable HTTP)
    #[command(after_help = "Examples:
  pincer mcp add files -- npx -y @modelcontextprotocol/server-filesystem ~/notes
  pincer mcp add search --env API_REGION=eu -- /usr/local/bin/search-mcp --stdio
  pincer mcp add remote --url https://example.com/mcp --header x-team:blue")]
    Add(McpAddArgs),
    /// Each server: transport, state (ok / failed: why), protocol revision, tools
    List {
        /// Machine-readable output (documented in the README)
        #[arg(long)]
        json: bool,
    },
    /// A server's tools with their descriptions and input schemas
    Tools {
        /// The server's name in config.toml
        name: String,
        /// Machine-readable output (documented in the README)
        #[arg(long)]
        json: bool,
    },
    /// Call one tool by hand; the result's text goes to stdout
    #[command(after_help = "Examples:
  pincer mcp call files list_directory --args '{\"path\": \"/home/me/notes\"}'
  pincer mcp call remote deploy --accept-defaults      # a script answers the server's forms

A server may ask questions (elicitation). On a terminal you are asked, with the form's defaults
pre-filled; otherwise the question is declined, unless --accept-defaults accepts the defaults.")]
    Call {
        /// The server's name in config.toml
        name: String,
        /// The tool's name, as `pincer mcp tools NAME` lists it
        tool: String,
        /// The arguments: a JSON object
        #[arg(long, value_name = "JSON")]
        args: Option<String>,
        /// Without a terminal, answer a server's questions with their defaults instead of declining
        #[arg(long)]
        accept_defaults: bool,
    },
    /// Remove a server from config.toml
    Remove {
        /// The server's name in config.toml
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct McpAddArgs {
    /// The server's name: its tools are called mcp__NAME__TOOL
    pub name: String,
    /// The URL of a streamable HTTP server
    #[arg(long, value_name = "URL", conflicts_with_all = ["env", "cwd", "command"])]
    pub url: Option<String>,
    /// A header sent to an HTTP server (not for secrets)
    #[arg(long = "header", value_name = "K:V", requires = "url")]
    pub headers: Vec<String>,
    /// An environment variable for a stdio server
    #[arg(long = "env", value_name = "K=V")]
    pub env: Vec<String>,
    /// The working folder of a stdio server (default: the workspace)
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<std::path::PathBuf>,
    /// The command that starts a stdio server, after `--`
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Every argument of every command, found by walking clap's tree, has a help text.
    #[test]
    fn every_flag_and_argument_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            let path = format!("{path} {}", cmd.get_name());
            if cmd.get_about().is_none() && cmd.get_name() != "help" {
                missing.push(format!("{path} (the command itself)"));
            }
            for arg in cmd.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !builtin && arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!(
                        "{path} {}",
                        arg.get_long().map_or(arg.get_id().to_string(), |l| format!("--{l}"))
                    ));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &path, missing);
            }
        }
        let mut cmd = Cli::command();
        cmd.build();
        let mut missing = Vec::new();
        walk(&cmd, "", &mut missing);
        assert!(missing.is_empty(), "no help text: {missing:#?}");
        // The walk reaches the leaves (a walk that saw nothing would pass too).
        let logout = cmd.find_subcommand("auth").and_then(|a| a.find_subcommand("logout")).expect("auth logout");
        assert!(logout.get_arguments().any(|a| a.get_long() == Some("provider")));
    }
}
