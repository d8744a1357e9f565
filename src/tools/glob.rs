//! Glob patterns for paths, as `.gitignore` and ripgrep write them: `*` and `?` stay within one
//! name, `**` as a whole name spans folders (zero or more; at the end, one or more), `[a-z]` and
//! `[!a-z]` classes, `{a,b}` alternatives, `\` escapes the next character.
//!
//! Written here rather than taken from `globset`: globset compiles globs to regexes and so brings
//! the whole `regex-automata` engine, 674 KB of a 4 MiB binary; this matcher is a few hundred
//! lines. Matching is linear in practice: names by a greedy match with one backtrack point, paths
//! by dynamic programming over (pattern part, path part), so `**/a/**/b` cannot explode.

/// `{…}` alternatives a pattern may expand to.
pub const MAX_ALTERNATIVES: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GlobError {
    #[error("unclosed `[` in the glob {0:?}")]
    UnclosedClass(String),
    #[error("unclosed `{{` in the glob {0:?}")]
    UnclosedBrace(String),
    #[error("the glob {0:?} ends with a lone `\\`")]
    TrailingEscape(String),
    #[error("the glob {0:?} expands to more than {MAX_ALTERNATIVES} alternatives")]
    TooManyAlternatives(String),
}

/// A compiled glob.
#[derive(Debug, Clone)]
pub struct Glob {
    alternatives: Vec<Vec<Part>>,
}

#[derive(Debug, Clone)]
enum Part {
    /// `**`: any number of names.
    AnyPath,
    Name(Vec<Token>),
}

#[derive(Debug, Clone)]
enum Token {
    Char(char),
    /// `?`
    AnyChar,
    /// `*`
    AnyRun,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Token {
    fn matches(&self, c: char) -> bool {
        match self {
            Token::Char(x) => *x == c,
            Token::AnyChar => true,
            Token::AnyRun => false,
            Token::Class { negated, ranges } => ranges.iter().any(|&(a, b)| a <= c && c <= b) != *negated,
        }
    }
}

impl Glob {
    pub fn new(pattern: &str) -> Result<Glob, GlobError> {
        let alternatives =
            expand_braces(pattern, pattern)?.iter().map(|p| parse_parts(p, pattern)).collect::<Result<Vec<_>, _>>()?;
        Ok(Glob { alternatives })
    }

    /// Whether a `/`-separated relative path matches (empty names, as in `a//b`, are skipped).
    pub fn is_match(&self, path: &str) -> bool {
        let names: Vec<&str> = path.split('/').filter(|n| !n.is_empty()).collect();
        self.alternatives.iter().any(|parts| match_parts(parts, &names))
    }
}

/// Index of the `]` closing a class that opens at `open`, if any.
fn class_end(chars: &[char], open: usize) -> Option<usize> {
    let mut i = open + 1;
    if matches!(chars.get(i), Some('!' | '^')) {
        i += 1;
    }
    // A `]` first in the class is a member, not the end.
    if chars.get(i) == Some(&']') {
        i += 1;
    }
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            ']' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// Expands the first top-level `{a,b}` and recurses: `x{a,b}y` → `xay`, `xby`.
fn expand_braces(pattern: &str, whole: &str) -> Result<Vec<String>, GlobError> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '[' => i = class_end(&chars, i).map_or(chars.len(), |end| end + 1),
            '{' => {
                let (close, commas) =
                    brace_end(&chars, i).ok_or_else(|| GlobError::UnclosedBrace(whole.to_string()))?;
                let prefix: String = chars[..i].iter().collect();
                let suffix: String = chars[close + 1..].iter().collect();
                let mut bounds = vec![i];
                bounds.extend(commas);
                bounds.push(close);
                let mut out = Vec::new();
                for pair in bounds.windows(2) {
                    let alternative: String = chars[pair[0] + 1..pair[1]].iter().collect();
                    for expanded in expand_braces(&format!("{prefix}{alternative}{suffix}"), whole)? {
                        out.push(expanded);
                        if out.len() > MAX_ALTERNATIVES {
                            return Err(GlobError::TooManyAlternatives(whole.to_string()));
                        }
                    }
                }
                return Ok(out);
            }
            _ => i += 1,
        }
    }
    Ok(vec![pattern.to_string()])
}

/// The `}` matching the `{` at `open`, and the top-level commas between them.
fn brace_end(chars: &[char], open: usize) -> Option<(usize, Vec<usize>)> {
    let (mut depth, mut commas, mut i) = (0, Vec::new(), open + 1);
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '[' => i = class_end(chars, i)?,
            '{' => depth += 1,
            '}' if depth == 0 => return Some((i, commas)),
            '}' => depth -= 1,
            ',' if depth == 0 => commas.push(i),
            _ => {}
        }
        i += 1;
    }
    None
}

fn parse_parts(pattern: &str, whole: &str) -> Result<Vec<Part>, GlobError> {
    pattern
        .split('/')
        .filter(|p| !p.is_empty())
        .map(|p| if p == "**" { Ok(Part::AnyPath) } else { parse_name(p, whole).map(Part::Name) })
        .collect()
}

fn parse_name(name: &str, whole: &str) -> Result<Vec<Token>, GlobError> {
    let chars: Vec<char> = name.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                let c = *chars.get(i + 1).ok_or_else(|| GlobError::TrailingEscape(whole.to_string()))?;
                tokens.push(Token::Char(c));
                i += 2;
            }
            '*' => {
                if !matches!(tokens.last(), Some(Token::AnyRun)) {
                    tokens.push(Token::AnyRun);
                }
                i += 1;
            }
            '?' => {
                tokens.push(Token::AnyChar);
                i += 1;
            }
            '[' => {
                let end = class_end(&chars, i).ok_or_else(|| GlobError::UnclosedClass(whole.to_string()))?;
                tokens.push(parse_class(&chars[i + 1..end]));
                i = end + 1;
            }
            c => {
                tokens.push(Token::Char(c));
                i += 1;
            }
        }
    }
    Ok(tokens)
}

/// The inside of `[…]`: an optional `!`/`^`, then members and `a-z` ranges.
fn parse_class(inner: &[char]) -> Token {
    let negated = matches!(inner.first(), Some('!' | '^'));
    let mut members = Vec::new();
    let mut i = usize::from(negated);
    while i < inner.len() {
        let c = if inner[i] == '\\' && i + 1 < inner.len() {
            i += 1;
            inner[i]
        } else {
            inner[i]
        };
        members.push(c);
        i += 1;
    }
    // Ranges: `a-z`, with a `-` first or last taken literally.
    let mut ranges = Vec::new();
    let mut j = 0;
    while j < members.len() {
        if j + 2 < members.len() && members[j + 1] == '-' {
            ranges.push((members[j], members[j + 2]));
            j += 3;
        } else {
            ranges.push((members[j], members[j]));
            j += 1;
        }
    }
    Token::Class { negated, ranges }
}

/// `parts` against `names`: `ok[j]` says whether the parts from `i` on match the names from
/// `j` on, computed from the last part backwards.
fn match_parts(parts: &[Part], names: &[&str]) -> bool {
    let n = names.len();
    let mut next = vec![false; n + 1];
    next[n] = true;
    for (i, part) in parts.iter().enumerate().rev() {
        let mut ok = vec![false; n + 1];
        for j in (0..=n).rev() {
            ok[j] = match part {
                // At the end, `**` needs at least one name: `src/**` is what is inside src.
                Part::AnyPath if i == parts.len() - 1 => j < n,
                Part::AnyPath => next[j] || (j < n && ok[j + 1]),
                Part::Name(tokens) => j < n && next[j + 1] && match_name(tokens, names[j]),
            };
        }
        next = ok;
    }
    next[0]
}

/// One name against tokens: greedy, going back to the last `*` on a mismatch.
fn match_name(tokens: &[Token], name: &str) -> bool {
    let chars: Vec<char> = name.chars().collect();
    let (mut t, mut c) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while c < chars.len() {
        match tokens.get(t) {
            Some(Token::AnyRun) => {
                star = Some((t, c));
                t += 1;
                continue;
            }
            Some(token) if token.matches(chars[c]) => {
                t += 1;
                c += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((st, sc)) => {
                t = st + 1;
                c = sc + 1;
                star = Some((st, sc + 1));
            }
            None => return false,
        }
    }
    tokens[t..].iter().all(|token| matches!(token, Token::AnyRun))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, path: &str) -> bool {
        Glob::new(pattern).unwrap().is_match(path)
    }

    #[test]
    fn stars_stay_in_a_name_and_double_stars_span_folders() {
        assert!(m("*.rs", "main.rs"));
        assert!(!m("*.rs", "src/main.rs"));
        assert!(m("**/*.rs", "main.rs"));
        assert!(m("**/*.rs", "src/a/b/main.rs"));
        assert!(m("src/**/*.rs", "src/main.rs"));
        assert!(m("src/**", "src/a/b"));
        assert!(!m("src/**", "src"), "a trailing ** is what is inside");
        assert!(m("src/*/mod.rs", "src/lib/mod.rs"));
        assert!(!m("src/*/mod.rs", "src/a/b/mod.rs"));
        assert!(m("a/**/b/**/c", "a/x/b/y/z/c"));
        assert!(m("a/**/b", "a/b"));
        assert!(!m("a/**/b", "a/c"));
        assert!(m("*", ".hidden"));
        assert!(m("a*b*c", "aXbYc") && !m("a*b*c", "aXbY"));
        assert!(m("x**y", "xaby"), "** inside a name is *");
    }

    #[test]
    fn classes_alternatives_and_escapes() {
        assert!(m("file?.txt", "file1.txt") && !m("file?.txt", "file10.txt"));
        assert!(m("[abc].rs", "b.rs") && !m("[abc].rs", "d.rs"));
        assert!(m("[a-c0-9]x", "7x") && !m("[!a-c]x", "bx") && m("[^a-c]x", "dx"));
        assert!(m("[]]", "]") && m("[a-]", "-"));
        assert!(m("*.{rs,toml}", "Cargo.toml") && m("*.{rs,toml}", "a.rs") && !m("*.{rs,toml}", "a.md"));
        assert!(m("{src,tests}/**/*.rs", "tests/cli/main.rs"));
        assert!(m("a{b,{c,d}e}f", "adef") && m("a{b,{c,d}e}f", "abf"));
        assert!(m(r"\*.rs", "*.rs") && !m(r"\*.rs", "a.rs"));
        assert!(m("[{]", "{"));
        assert!(m("é*", "été"));
    }

    #[test]
    fn malformed_globs_are_errors() {
        assert!(matches!(Glob::new("[abc"), Err(GlobError::UnclosedClass(_))));
        assert!(matches!(Glob::new("{a,b"), Err(GlobError::UnclosedBrace(_))));
        assert!(matches!(Glob::new("a\\"), Err(GlobError::TrailingEscape(_))));
        let many = "{a,b,c,d}{a,b,c,d}{a,b,c,d}{a,b,c,d}{a,b}";
        assert!(matches!(Glob::new(many), Err(GlobError::TooManyAlternatives(_))));
        assert!(Glob::new("}").unwrap().is_match("}"));
    }

    #[test]
    fn pathological_patterns_stay_fast() {
        let pattern = "**/".repeat(20) + "x";
        let path = "a/".repeat(200) + "y";
        // Exponential backtracking would never finish; the table answers at once.
        assert!(!m(&pattern, &path));
        let name = "a".repeat(5000);
        assert!(!m(&("*a".repeat(50) + "b"), &name));
    }
}
