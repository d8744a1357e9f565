//! Permission rules: their grammar (SPEC §9) and what one rule matches.
//!
//! ```text
//! rule     = class | tool | tool "(" pattern ")"
//! class    = read | edit | bash | web | mcp
//! tool     = a tool's name: web_fetch, read_file, mcp__SERVER (all its tools), mcp__SERVER__TOOL
//! pattern  = bash(cargo test:*)        a command prefix, word by word (`cargo test`, `cargo test --lib`)
//!          | bash(git status)          one exact command
//!          | read_file(.env)           a gitignore-style glob relative to the workspace; for every
//!            edit_file(src/**)         tool of that class (read_file, list_dir, glob, grep / write_file,
//!            read(…) edit(…)           edit_file); `/abs/**` matches absolute paths; `./x` anchors x
//!          | web_fetch(domain:docs.rs) the host and its subdomains
//! ```
//!
//! A deny path pattern also covers everything inside a folder it matches (as `.gitignore`
//! does); an allow pattern covers only what it matches, so `src/**` is written for a folder's
//! contents. A deny command pattern matches any command a line could run (see `split`); an
//! allow one only a line that is one simple command.

use std::fmt;
use std::path::Path;

use super::Effect;
use super::split::{self, CommandsRun, Word};
use crate::tools::glob::Glob;
use crate::tools::{Target, ToolClass};

/// What the error's `hint:` line lists: every form a rule may take.
pub const RULE_FORMS: &str = "a rule is a class (read, edit, bash, web, mcp), a tool (web_fetch, \
     mcp__SERVER, mcp__SERVER__TOOL), or a tool with a pattern: bash(cargo test:*), bash(git status), \
     read_file(.env), edit_file(src/**), web_fetch(domain:docs.rs)";

/// The built-in tools whose calls touch paths, with their class: a path pattern written on one of
/// them (or on the class) covers every tool of that class, so `read_file(.env)` also covers `grep`.
const FILE_TOOLS: &[(&str, ToolClass)] = &[
    ("read_file", ToolClass::Read),
    ("list_dir", ToolClass::Read),
    ("glob", ToolClass::Read),
    ("grep", ToolClass::Read),
    ("write_file", ToolClass::Edit),
    ("edit_file", ToolClass::Edit),
];

/// The tool whose commands `bash(…)` patterns match.
pub(crate) const BASH_TOOL: &str = "bash";
/// The tool whose hosts `domain:` patterns match.
pub(crate) const WEB_TOOL: &str = "web_fetch";
/// How a domain pattern starts: `web_fetch(domain:docs.rs)`.
const DOMAIN_PREFIX: &str = "domain:";
/// How a command prefix pattern ends: `bash(cargo test:*)`.
const PREFIX_SUFFIX: &str = ":*";
/// MCP tools are named `mcp__SERVER__TOOL` (SPEC §10).
const MCP_PREFIX: &str = "mcp__";
const MCP_SEPARATOR: &str = "__";
/// Longest tool name a model API accepts.
const MAX_TOOL_NAME: usize = 64;

/// One permission rule, parsed. Displays as it was written.
#[derive(Debug, Clone)]
pub struct Rule {
    text: String,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Class(ToolClass),
    Tool(String),
    /// `mcp__SERVER`: every tool of that server.
    McpServer(String),
    /// `bash(…)`: the words of a command, or of its start when `prefix`.
    Command {
        words: Vec<String>,
        prefix: bool,
    },
    /// `read_file(…)`, `edit(…)`: paths touched by any tool of `class`.
    Path {
        class: ToolClass,
        glob: PathGlob,
    },
    /// `web_fetch(domain:…)`: a host (lower-case, no trailing dot) and its subdomains.
    Domain {
        class: ToolClass,
        domain: String,
    },
}

#[derive(Debug, Clone)]
struct PathGlob {
    /// Written from `/`: matched against the resolved path, not the workspace-relative one.
    absolute: bool,
    matcher: Glob,
}

/// A rule that does not parse: names the rule and what is wrong; the hint lists the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid permission rule `{rule}`: {problem}\nhint: {RULE_FORMS}")]
pub struct RuleError {
    pub rule: String,
    pub problem: String,
}

/// A tool call as the policy sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Call<'a> {
    pub tool: &'a str,
    pub class: ToolClass,
    pub target: &'a Target,
}

impl PartialEq for Rule {
    fn eq(&self, other: &Rule) -> bool {
        self.text == other.text
    }
}

impl Eq for Rule {}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Rule {
    type Err = RuleError;

    fn from_str(text: &str) -> Result<Rule, RuleError> {
        Rule::parse(text)
    }
}

impl Rule {
    /// Parses a rule from `--allow`/`--deny` or `[permissions]` (surrounding space is ignored).
    pub fn parse(text: &str) -> Result<Rule, RuleError> {
        let text = text.trim();
        let fail = |problem: &str| RuleError { rule: text.to_string(), problem: problem.to_string() };
        if text.is_empty() {
            return Err(fail("it is empty"));
        }
        let kind = match text.split_once('(') {
            None if text.contains(')') => return Err(fail("a `)` without its `(`")),
            None => parse_name(text).map_err(|p| fail(&p))?,
            Some((name, rest)) => {
                let Some(pattern) = rest.strip_suffix(')') else {
                    return Err(fail("a pattern ends with `)` and nothing follows it"));
                };
                parse_pattern(name, pattern).map_err(|p| fail(&p))?
            }
        };
        Ok(Rule { text: text.to_string(), kind })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The tool this rule names, when it names one (so the caller can warn about unknown tools).
    pub fn tool(&self) -> Option<&str> {
        match &self.kind {
            Kind::Tool(name) => Some(name),
            Kind::Command { .. } => Some(BASH_TOOL),
            _ => None,
        }
    }

    /// A path pattern (`read_file(.env)`, `edit(src/**)`).
    pub(crate) fn is_path_pattern(&self) -> bool {
        matches!(self.kind, Kind::Path { .. })
    }

    /// A `bash(…)` rule: matches commands word by word (allow) or as any part of a line (deny).
    pub(crate) fn is_command_pattern(&self) -> bool {
        matches!(self.kind, Kind::Command { .. })
    }

    /// Whether the rule covers the call (every kind but commands, which match by their words). A
    /// path pattern in a deny rule covers what lies inside a folder it matches, as in
    /// `.gitignore`; in an allow rule only what it matches itself (`src/**` for a whole folder),
    /// so allowing one folder's listing does not allow reading all that is in it.
    pub(crate) fn covers(&self, call: Call<'_>, effect: Effect) -> bool {
        match &self.kind {
            Kind::Class(class) => *class == call.class,
            Kind::Tool(name) => name == call.tool,
            Kind::McpServer(server) => call
                .tool
                .strip_prefix(MCP_PREFIX)
                .and_then(|rest| rest.strip_prefix(server.as_str()))
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(MCP_SEPARATOR)),
            Kind::Command { .. } => false,
            Kind::Path { class, glob } => *class == call.class && glob.matches(call.target, effect == Effect::Deny),
            Kind::Domain { class, domain } => {
                *class == call.class && matches!(call.target, Target::Url { host, .. } if domain_matches(domain, host))
            }
        }
    }

    /// As an allow rule, for a command's words (`None` unless it is one simple command).
    pub(crate) fn allows_words(&self, words: &[String]) -> bool {
        let Kind::Command { words: rule, prefix } = &self.kind else { return false };
        let fits = if *prefix { words.len() >= rule.len() } else { words.len() == rule.len() };
        fits && rule.iter().zip(words).all(|(r, w)| r == w)
    }

    /// As a deny rule: whether any command the line could run matches. A word whose value is
    /// known only at run time could be anything, so it matches.
    pub(crate) fn denies_any(&self, run: &CommandsRun) -> bool {
        let Kind::Command { words: rule, prefix } = &self.kind else { return false };
        let Some((head, rest)) = rule.split_first() else { return false };
        let head = split::basename(head);
        run.iter().any(|(name, args)| {
            let fits = if *prefix { args.len() >= rest.len() } else { args.len() == rest.len() };
            fits && name == head && rest.iter().zip(args).all(|(r, a): (&String, &Word)| a.dynamic || *r == a.text)
        })
    }
}

/// A built-in tool whose calls touch paths.
pub(crate) fn is_file_tool(name: &str) -> bool {
    FILE_TOOLS.iter().any(|(tool, _)| *tool == name)
}

/// A rule without a pattern: a class, a tool, an MCP server or one of its tools.
fn parse_name(name: &str) -> Result<Kind, String> {
    if let Some(class) = ToolClass::parse(name) {
        return Ok(Kind::Class(class));
    }
    check_tool_name(name)?;
    if let Some(rest) = name.strip_prefix(MCP_PREFIX) {
        if rest.is_empty() || rest.starts_with(MCP_SEPARATOR) || rest.ends_with(MCP_SEPARATOR) {
            return Err("an MCP rule is mcp__SERVER or mcp__SERVER__TOOL".into());
        }
        if !rest.contains(MCP_SEPARATOR) {
            return Ok(Kind::McpServer(rest.to_string()));
        }
    }
    Ok(Kind::Tool(name.to_string()))
}

fn check_tool_name(name: &str) -> Result<(), String> {
    let valid = name.len() <= MAX_TOOL_NAME && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if valid { Ok(()) } else { Err(format!("`{name}` is not a class or a tool name")) }
}

fn parse_pattern(name: &str, pattern: &str) -> Result<Kind, String> {
    let name = name.trim();
    if name == BASH_TOOL {
        return parse_command(pattern.trim());
    }
    if name == WEB_TOOL || name == ToolClass::Web.as_str() {
        return parse_domain(pattern.trim()).map(|domain| Kind::Domain { class: ToolClass::Web, domain });
    }
    let class = FILE_TOOLS.iter().find(|(tool, _)| *tool == name).map(|(_, class)| *class).or(match name {
        "read" => Some(ToolClass::Read),
        "edit" => Some(ToolClass::Edit),
        _ => None,
    });
    if let Some(class) = class {
        return parse_glob(pattern.trim()).map(|glob| Kind::Path { class, glob });
    }
    check_tool_name(name)?;
    Err(format!(
        "`{name}` takes no pattern (patterns work on bash, web_fetch and the file tools: read_file, list_dir, glob, \
         grep, write_file, edit_file); write `{name}` alone for the whole tool"
    ))
}

/// `cargo test:*` (prefix) or `git status` (exact): one simple command, no operators.
fn parse_command(pattern: &str) -> Result<Kind, String> {
    let (body, prefix) = match pattern.strip_suffix(PREFIX_SUFFIX) {
        Some(body) => (body.trim_end(), true),
        None => (pattern, false),
    };
    if body.is_empty() {
        return Err("the command is empty (write `bash` for every command)".into());
    }
    if body.contains('*') {
        return Err("`*` only ends a prefix, as in bash(cargo test:*)".into());
    }
    let words = split::simple_words(body)
        .filter(|w| !w.is_empty())
        .ok_or("a command pattern is one simple command: no ; & | $ ` > < ( ) \\ or newline")?;
    Ok(Kind::Command { words, prefix })
}

/// `domain:docs.rs` → `docs.rs`.
fn parse_domain(pattern: &str) -> Result<String, String> {
    let Some(domain) = pattern.strip_prefix(DOMAIN_PREFIX) else {
        return Err(format!("a web pattern is domain:HOST, as in web_fetch(domain:{pattern})"));
    };
    let domain = normalize_host(domain.trim()).to_ascii_lowercase();
    if domain.is_empty() {
        return Err("the domain is empty (write `web_fetch` for every site)".into());
    }
    if domain.contains('*') {
        return Err("no wildcards: domain:docs.rs already covers its subdomains".into());
    }
    if !domain.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':')) || domain.starts_with('.') {
        return Err("a domain is a host name only (ASCII, punycode for others), without scheme, port or path".into());
    }
    Ok(domain)
}

/// A gitignore-style glob: `*` stays within a folder, `**` crosses folders, a pattern without a
/// slash matches at any depth, one with a slash (or starting with `./`) is anchored at the
/// workspace, one starting with `/` is absolute.
fn parse_glob(pattern: &str) -> Result<PathGlob, String> {
    if pattern.is_empty() {
        return Err("the path pattern is empty (write the tool alone for every path)".into());
    }
    if pattern.starts_with('~') {
        return Err("`~` is not expanded in rules: write the absolute path".into());
    }
    if pattern.split('/').any(|part| part == "..") {
        return Err("paths are matched after `..` is resolved: write the pattern without `..`".into());
    }
    let absolute = pattern.starts_with('/');
    let trimmed = pattern.trim_end_matches('/');
    let glob = if absolute {
        if trimmed.is_empty() { "/**".to_string() } else { trimmed.to_string() }
    } else {
        match trimmed.strip_prefix("./") {
            _ if trimmed.is_empty() || trimmed == "." => return Err("use `**` for the whole workspace".into()),
            Some(rest) => rest.to_string(),
            None if trimmed.contains('/') => trimmed.to_string(),
            None => format!("**/{trimmed}"),
        }
    };
    // The same matcher as `glob`, `grep` and .gitignore files (globset would bring a regex
    // engine, the largest part of the binary, for this).
    let matcher = Glob::new(&glob).map_err(|e| format!("not a valid glob: {e}"))?;
    Ok(PathGlob { absolute, matcher })
}

impl PathGlob {
    /// Whether the path matches, or (`with_folders`) a folder above it does.
    fn matches(&self, target: &Target, with_folders: bool) -> bool {
        let Target::Path { resolved, relative } = target else { return false };
        let path: &Path = match (self.absolute, relative) {
            (true, _) => resolved,
            (false, Some(relative)) => relative,
            (false, None) => return false,
        };
        let is_match = |p: &Path| self.matcher.is_match(&p.to_string_lossy());
        if !with_folders {
            return is_match(path);
        }
        path.ancestors().filter(|p| !p.as_os_str().is_empty() && p.parent().is_some()).any(is_match)
    }
}

/// Without brackets and a trailing dot: `[::1]` → `::1`, `docs.rs.` → `docs.rs`.
fn normalize_host(host: &str) -> &str {
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    host.strip_suffix('.').unwrap_or(host)
}

/// `docs.rs` matches `docs.rs` and `www.docs.rs`, not `evildocs.rs`; an IP address only itself.
fn domain_matches(domain: &str, host: &str) -> bool {
    let host = normalize_host(host).to_ascii_lowercase();
    if host == domain {
        return true;
    }
    let is_ip = host.parse::<std::net::IpAddr>().is_ok();
    !is_ip && host.strip_suffix(domain).is_some_and(|sub| sub.ends_with('.'))
}

/// Escapes glob metacharacters so `path` matches only itself.
pub(crate) fn escape_glob(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '{' | '}' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn path(relative: &str) -> Target {
        Target::Path { resolved: PathBuf::from("/work/ws").join(relative), relative: Some(PathBuf::from(relative)) }
    }

    fn outside(resolved: &str) -> Target {
        Target::Path { resolved: PathBuf::from(resolved), relative: None }
    }

    fn url(host: &str) -> Target {
        Target::Url { url: format!("https://{host}/x"), host: host.to_string() }
    }

    /// As a deny rule (which also covers what is inside a matching folder).
    fn names(rule: &str, tool: &str, class: ToolClass, target: &Target) -> bool {
        Rule::parse(rule).unwrap().covers(Call { tool, class, target }, Effect::Deny)
    }

    fn allows(rule: &str, tool: &str, class: ToolClass, target: &Target) -> bool {
        Rule::parse(rule).unwrap().covers(Call { tool, class, target }, Effect::Allow)
    }

    #[test]
    fn rules_parse_or_say_what_is_wrong() {
        for ok in [
            "read",
            " edit ",
            "bash",
            "web",
            "mcp",
            "web_fetch",
            "read_file",
            "mcp__files",
            "mcp__files__read",
            "some-tool",
            "bash(cargo test:*)",
            "bash(cargo test :*)",
            "bash(git status)",
            "bash(git commit -m 'wip':*)",
            "read_file(.env)",
            "edit_file(src/**)",
            "read(/etc/**)",
            "edit(./Cargo.toml)",
            "grep(src/a(1).rs)",
            "web_fetch(domain:docs.rs)",
            "web(domain:Docs.RS.)",
            "web_fetch(domain:[::1])",
        ] {
            assert!(Rule::parse(ok).is_ok(), "{ok}: {:?}", Rule::parse(ok).err());
        }
        let cases: &[(&str, &str)] = &[
            ("", "empty"),
            ("bash(", "ends with `)`"),
            ("bash(x) y", "ends with `)`"),
            ("bash)", "without its `(`"),
            ("bash()", "empty"),
            ("bash(:*)", "empty"),
            ("bash(rm *)", "`*` only ends a prefix"),
            ("bash(rm:*:*)", "`*` only ends a prefix"),
            ("bash(x; y)", "one simple command"),
            ("bash(echo $HOME)", "one simple command"),
            ("bash('unclosed)", "one simple command"),
            ("web_fetch(docs.rs)", "domain:HOST"),
            ("web_fetch(domain:)", "empty"),
            ("web_fetch(domain:*.docs.rs)", "already covers its subdomains"),
            ("web_fetch(domain:https://docs.rs)", "without scheme"),
            ("web_fetch(domain:docs.rs/x)", "without scheme"),
            ("read_file()", "empty"),
            ("read_file(~/.ssh/**)", "`~` is not expanded"),
            ("read_file(../x)", "without `..`"),
            ("read_file(.)", "`**`"),
            ("edit_file(src/[)", "not a valid glob"),
            ("mcp__files__read(x)", "takes no pattern"),
            ("mcp__", "mcp__SERVER"),
            ("mcp____x", "mcp__SERVER"),
            ("web fetch", "not a class or a tool name"),
            ("bash!", "not a class or a tool name"),
        ];
        for (rule, problem) in cases {
            let err = Rule::parse(rule).expect_err(rule);
            assert_eq!(err.rule, rule.trim());
            assert!(err.problem.contains(problem), "{rule}: {}", err.problem);
            assert!(err.to_string().ends_with(&format!("hint: {RULE_FORMS}")), "{err}");
        }
    }

    #[test]
    fn unknown_but_well_formed_tool_names_are_rules() {
        // MCP tools and future tools are not known when rules are read: the caller may warn.
        assert_eq!(Rule::parse("reed").unwrap().tool(), Some("reed"));
        assert_eq!(Rule::parse("bash(ls:*)").unwrap().tool(), Some("bash"));
        assert_eq!(Rule::parse("read").unwrap().tool(), None);
    }

    #[test]
    fn class_tool_and_mcp_rules() {
        use ToolClass::*;
        let none = Target::None;
        assert!(names("edit", "write_file", Edit, &path("a")));
        assert!(!names("edit", "read_file", Read, &path("a")));
        assert!(names("web_fetch", "web_fetch", Web, &url("x.org")));
        assert!(!names("web_fetch", "web_fetcher", Web, &url("x.org")));
        assert!(names("mcp__files", "mcp__files__read", Mcp, &none));
        assert!(!names("mcp__files", "mcp__filesystem__read", Mcp, &none));
        assert!(!names("mcp__files", "files__read", Mcp, &none));
        assert!(names("mcp__files__read", "mcp__files__read", Mcp, &none));
        assert!(!names("mcp__files__read", "mcp__files__read_all", Mcp, &none));
        assert!(!names("mcp__files__read", "mcp__files__write", Mcp, &none));
        assert!(names("mcp", "mcp__files__write", Mcp, &none));
    }

    #[test]
    fn path_globs_are_gitignore_style() {
        use ToolClass::*;
        let cases: &[(&str, &str, bool)] = &[
            (".env", ".env", true),
            (".env", "config/.env", true),
            (".env", ".env.example", false),
            ("*.pem", "keys/a.pem", true),
            ("secrets", "secrets/key", true),
            ("secrets/", "secrets/deep/key", true),
            ("src/**", "src/main.rs", true),
            ("src/**", "src/a/b.rs", true),
            ("src/**", "tests/src/a.rs", false),
            ("src/*.rs", "src/a/b.rs", false),
            ("src/*.rs", "src/b.rs", true),
            ("src/main.rs", "src/main.rs", true),
            ("src/main.rs", "x/src/main.rs", false),
            ("./Cargo.toml", "Cargo.toml", true),
            ("./Cargo.toml", "sub/Cargo.toml", false),
            ("Cargo.toml", "sub/Cargo.toml", true),
            ("**", "anything/at/all", true),
            ("src/\\[id\\].rs", "src/[id].rs", true),
            ("src/\\[id\\].rs", "src/i.rs", false),
        ];
        for (pattern, relative, expected) in cases {
            let rule = format!("read_file({pattern})");
            assert_eq!(names(&rule, "read_file", Read, &path(relative)), *expected, "{rule} on {relative}");
        }
        // A path pattern covers every tool of its class, and only that class.
        assert!(names("read_file(.env)", "grep", Read, &path(".env")));
        assert!(names("read(.env)", "list_dir", Read, &path(".env")));
        assert!(names("edit_file(src/**)", "write_file", Edit, &path("src/new.rs")));
        assert!(!names("read_file(.env)", "edit_file", Edit, &path(".env")));
        assert!(!names("read_file(.env)", "web_fetch", Web, &url("x.org")));
        // Relative patterns never match outside the workspace; absolute ones match the resolved path.
        assert!(!names("read_file(**)", "read_file", Read, &outside("/etc/passwd")));
        assert!(!names("read_file(passwd)", "read_file", Read, &outside("/etc/passwd")));
        assert!(names("read_file(/etc/**)", "read_file", Read, &outside("/etc/passwd")));
        assert!(names("read_file(/etc/)", "read_file", Read, &outside("/etc/ssl/certs/x.pem")));
        assert!(names("read_file(/)", "read_file", Read, &outside("/etc/passwd")));
        assert!(names("read_file(/work/ws/.env)", "read_file", Read, &path(".env")));
        assert!(!names("read_file(/etc/**)", "read_file", Read, &outside("/etcetera/x")));
    }

    #[test]
    fn allow_path_patterns_cover_only_what_they_match() {
        use ToolClass::*;
        assert!(allows("list_dir(/etc)", "list_dir", Read, &outside("/etc")));
        assert!(!allows("list_dir(/etc)", "read_file", Read, &outside("/etc/shadow")));
        assert!(names("read_file(/etc)", "read_file", Read, &outside("/etc/shadow")), "a deny covers the inside");
        assert!(allows("read_file(/etc/**)", "read_file", Read, &outside("/etc/ssl/x.pem")));
        assert!(!allows("edit_file(src)", "edit_file", Edit, &path("src/main.rs")));
        assert!(allows("edit_file(src/**)", "edit_file", Edit, &path("src/a/main.rs")));
        assert!(allows("edit_file(*.rs)", "edit_file", Edit, &path("src/a/main.rs")));
        assert!(allows("edit_file(./Cargo.toml)", "write_file", Edit, &path("Cargo.toml")));
    }

    #[test]
    fn domains_cover_subdomains_on_a_dot() {
        let cases: &[(&str, &str, bool)] = &[
            ("docs.rs", "docs.rs", true),
            ("docs.rs", "www.docs.rs", true),
            ("docs.rs", "a.b.docs.rs", true),
            ("docs.rs", "evildocs.rs", false),
            ("docs.rs", "docs.rs.evil.com", false),
            ("docs.rs", "docs.rs.", true),
            ("Docs.RS", "DOCS.rs", true),
            ("www.docs.rs", "docs.rs", false),
            ("1.1", "1.1.1.1", false),
            ("1.1.1.1", "1.1.1.1", true),
            ("[::1]", "::1", true),
        ];
        for (domain, host, expected) in cases {
            let rule = format!("web_fetch(domain:{domain})");
            assert_eq!(names(&rule, "web_fetch", ToolClass::Web, &url(host)), *expected, "{rule} on {host}");
        }
    }

    #[test]
    fn allow_command_patterns_match_word_by_word() {
        let words = |line: &str| split::simple_words(line).unwrap();
        let prefix = Rule::parse("bash(cargo test:*)").unwrap();
        assert!(prefix.allows_words(&words("cargo test")));
        assert!(prefix.allows_words(&words("cargo  test --lib")));
        assert!(prefix.allows_words(&words("cargo 'test' --lib")));
        assert!(!prefix.allows_words(&words("cargo testify")));
        assert!(!prefix.allows_words(&words("cargo")));
        assert!(!prefix.allows_words(&words("FOO=1 cargo test")));
        assert!(!prefix.allows_words(&words("/usr/bin/cargo test")));
        let exact = Rule::parse("bash(git status)").unwrap();
        assert!(exact.allows_words(&words("git status")));
        assert!(!exact.allows_words(&words("git status -s")));
        assert!(!exact.allows_words(&words("git")));
        assert!(!Rule::parse("bash").unwrap().allows_words(&words("git status")), "classes are not patterns");
    }

    #[test]
    fn deny_command_patterns_match_any_part() {
        let denies =
            |rule: &str, line: &str| Rule::parse(rule).unwrap().denies_any(&split::commands_run(line).unwrap());
        assert!(denies("bash(rm:*)", "x; /bin/rm -rf y"));
        assert!(denies("bash(/bin/rm:*)", "rm -rf y"), "a path in a deny rule means its basename");
        assert!(denies("bash(git push:*)", "cd x && git push --force"));
        assert!(denies("bash(git push:*)", "git $SUB origin"), "a dynamic word could be `push`");
        assert!(!denies("bash(git push:*)", "git pull"));
        assert!(!denies("bash(rm:*)", "echo rm -rf y"));
        assert!(!denies("bash(rm:*)", "git commit -m 'rm -rf y'"));
        assert!(denies("bash(git push)", "sudo git push"));
        assert!(!denies("bash(git push)", "git push origin"), "an exact rule stays exact");
    }

    #[test]
    fn escaped_paths_match_only_themselves() {
        assert_eq!(escape_glob("src/[id]/*.rs"), "src/\\[id\\]/\\*.rs");
        let rule = format!("edit_file({})", escape_glob("a{b,c}?.rs"));
        assert!(names(&rule, "edit_file", ToolClass::Edit, &path("a{b,c}?.rs")));
        assert!(!names(&rule, "edit_file", ToolClass::Edit, &path("ab.rs")));
    }
}
