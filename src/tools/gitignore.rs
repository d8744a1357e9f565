//! The rules of one `.gitignore`-style file (gitignore(5)): `#` comments, `!` re-includes, a
//! trailing `/` for folders only, a `/` at the start or in the middle anchors the pattern to the
//! file's folder, otherwise it matches a name at any depth; the last matching rule wins.
//! `search.rs` stacks these files as it walks (deeper files first, `.ignore` before
//! `.gitignore`, as ripgrep does).

use super::glob::Glob;

#[derive(Debug, Clone)]
struct Rule {
    glob: Glob,
    negated: bool,
    dir_only: bool,
    /// No `/` in the pattern: it is matched against the last name of the path only.
    name_only: bool,
}

#[derive(Debug, Clone, Default)]
pub struct IgnoreRules {
    rules: Vec<Rule>,
}

impl IgnoreRules {
    /// Parses a file's text; lines that are not valid patterns are skipped, as git does.
    pub fn parse(text: &str) -> IgnoreRules {
        IgnoreRules { rules: text.lines().filter_map(parse_line).collect() }
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// What the rules say about `rel` (`/`-separated, relative to the file's folder):
    /// `Some(true)` ignored, `Some(false)` re-included by a `!` rule, `None` no rule matched.
    pub fn decide(&self, rel: &str, is_dir: bool) -> Option<bool> {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        self.rules.iter().rev().find_map(|rule| {
            if rule.dir_only && !is_dir {
                return None;
            }
            let subject = if rule.name_only { name } else { rel };
            rule.glob.is_match(subject).then_some(!rule.negated)
        })
    }
}

fn parse_line(line: &str) -> Option<Rule> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.starts_with('#') {
        return None;
    }
    // Trailing spaces go, unless escaped with a backslash.
    let mut line = line;
    while line.ends_with(' ') && !line.ends_with("\\ ") {
        line = &line[..line.len() - 1];
    }
    let (negated, line) = match line.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    // `\!` and `\#` start a pattern with that character.
    let line = if line.starts_with("\\!") || line.starts_with("\\#") { &line[1..] } else { line };
    let (dir_only, line) = match line.strip_suffix('/') {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    if line.is_empty() {
        return None;
    }
    let name_only = !line.contains('/');
    let line = line.strip_prefix('/').unwrap_or(line);
    let glob = Glob::new(line).ok()?;
    Some(Rule { glob, negated, dir_only, name_only })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitignore_semantics() {
        let rules = IgnoreRules::parse(
            "# build output\n\ntarget/\n*.log\n!keep.log\n/root-only.txt\ndocs/*.html\n**/gen/**\n\\#literal\ntrailing   \nspace\\ \n",
        );
        let ignored = |p: &str, dir: bool| rules.decide(p, dir);
        assert_eq!(ignored("target", true), Some(true));
        assert_eq!(ignored("a/b/target", true), Some(true));
        assert_eq!(ignored("target", false), None, "folders only");
        assert_eq!(ignored("x/debug.log", false), Some(true));
        assert_eq!(ignored("x/keep.log", false), Some(false));
        assert_eq!(ignored("root-only.txt", false), Some(true));
        assert_eq!(ignored("sub/root-only.txt", false), None, "anchored");
        assert_eq!(ignored("docs/a.html", false), Some(true));
        assert_eq!(ignored("docs/api/a.html", false), None);
        assert_eq!(ignored("src/gen/x.rs", false), Some(true));
        assert_eq!(ignored("#literal", false), Some(true));
        assert_eq!(ignored("trailing", false), Some(true));
        assert_eq!(ignored("space ", false), Some(true));
        assert_eq!(ignored("main.rs", false), None);
        assert!(IgnoreRules::parse("# only a comment\n\n").is_empty());
        assert!(IgnoreRules::parse("[unclosed\n").is_empty(), "an invalid line is skipped");
    }
}
