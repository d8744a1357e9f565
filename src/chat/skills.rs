//! Skills: folders holding a `SKILL.md` (YAML front matter with `name` and `description`, then
//! instructions and any files). Only each skill's name, description and path go into the prompt;
//! the model reads the rest with `read_file` when it needs it.
//!
//! Skills come from the workspace's `.pincer/skills/` and `.agents/skills/`, then
//! `$PINCER_HOME/skills/`; a name found twice keeps the first (the project's own wins) and the
//! other is listed as shadowed. A skill that cannot be read or parsed is listed with why, never
//! silently dropped (`pincer skills`).

use std::path::{Path, PathBuf};

/// The file that makes a folder a skill.
pub const SKILL_FILE: &str = "SKILL.md";
/// Where skills live, relative to the workspace.
pub const WORKSPACE_SKILL_DIRS: [&str; 2] = [".pincer/skills", ".agents/skills"];
/// Where skills live in `$PINCER_HOME`.
pub const HOME_SKILL_DIR: &str = "skills";
/// A `SKILL.md` larger than this is not read (its front matter is at the top; the rest is for
/// the model to read on demand).
const MAX_SKILL_FILE_BYTES: u64 = 256 * 1024;
/// Longest description kept in the prompt.
pub const MAX_DESCRIPTION_CHARS: usize = 300;
/// Skills listed in the prompt at most (the rest are named by `pincer skills`).
pub const MAX_SKILLS_IN_PROMPT: usize = 50;
const MAX_NAME_CHARS: usize = 64;

/// A usable skill.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skill {
    pub name: String,
    pub description: String,
    /// The `SKILL.md` file.
    pub path: PathBuf,
}

/// A skill folder that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BrokenSkill {
    pub path: PathBuf,
    pub reason: String,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SkillSet {
    pub skills: Vec<Skill>,
    pub broken: Vec<BrokenSkill>,
}

/// The skill folders searched, in precedence order.
pub fn skill_roots(workspace: &Path, home: &Path) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = WORKSPACE_SKILL_DIRS.iter().map(|d| workspace.join(d)).collect();
    roots.push(home.join(HOME_SKILL_DIR));
    roots
}

/// Finds and parses every skill under `roots` (missing roots are fine).
pub fn discover(roots: &[PathBuf]) -> SkillSet {
    let mut set = SkillSet::default();
    for root in roots {
        let Ok(entries) = std::fs::read_dir(root) else { continue };
        let mut folders: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
        folders.sort();
        for folder in folders {
            let file = folder.join(SKILL_FILE);
            if !file.exists() {
                // A folder without SKILL.md is not a skill (it may hold shared files).
                continue;
            }
            match load(&file) {
                Ok(skill) => match set.skills.iter().find(|s| s.name == skill.name) {
                    Some(first) => set.broken.push(BrokenSkill {
                        path: file,
                        reason: format!(
                            "shadowed: a skill named `{}` is already at {}",
                            skill.name,
                            first.path.display()
                        ),
                    }),
                    None => set.skills.push(skill),
                },
                Err(reason) => set.broken.push(BrokenSkill { path: file, reason }),
            }
        }
    }
    set
}

fn load(file: &Path) -> Result<Skill, String> {
    let meta = std::fs::metadata(file).map_err(|e| format!("cannot read it: {e}"))?;
    if meta.len() > MAX_SKILL_FILE_BYTES {
        return Err(format!("it is larger than {} KiB", MAX_SKILL_FILE_BYTES / 1024));
    }
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read it: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_string())?;
    let (name, description) = parse_front_matter(&text)?;
    Ok(Skill { name, description, path: file.to_path_buf() })
}

/// Reads `name` and `description` from a `SKILL.md`'s front matter: the block between a first
/// line `---` and the next `---`. The YAML subset real skills use is understood: `key: value`,
/// single- and double-quoted strings, `|` / `>` block scalars and nested keys (ignored). Anything
/// else is an error that says where.
pub fn parse_front_matter(text: &str) -> Result<(String, String), String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, first)) if first.trim_end() == "---" => {}
        _ => return Err("no front matter: SKILL.md must start with a `---` line".into()),
    }
    let mut block: Vec<(usize, &str)> = Vec::new();
    let mut closed = false;
    for (i, line) in lines {
        if line.trim_end() == "---" {
            closed = true;
            break;
        }
        block.push((i + 1, line));
    }
    if !closed {
        return Err("the front matter has no closing `---` line".into());
    }
    let fields = parse_yaml_map(&block)?;
    let get = |key: &str| fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim().to_string());
    let name = get("name").filter(|n| !n.is_empty()).ok_or("the front matter has no `name`")?;
    let description = get("description").filter(|d| !d.is_empty()).ok_or("the front matter has no `description`")?;
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(|c| c.is_control()) {
        return Err(format!("the name must be one line of at most {MAX_NAME_CHARS} characters"));
    }
    let description = one_line(&description, MAX_DESCRIPTION_CHARS);
    Ok((name, description))
}

/// Top-level `key: value` pairs of a YAML block (values as strings).
fn parse_yaml_map(block: &[(usize, &str)]) -> Result<Vec<(String, String)>, String> {
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut i = 0;
    while i < block.len() {
        let (number, line) = block[i];
        i += 1;
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if line.starts_with('\t') {
            return Err(format!("line {number}: YAML does not allow tabs for indentation"));
        }
        if line.starts_with(' ') {
            // A nested key of an ignored field (e.g. `metadata:`), handled with its parent.
            continue;
        }
        let Some((key, rest)) = line.split_once(':') else {
            return Err(format!("line {number}: expected `key: value`"));
        };
        let key = key.trim().to_string();
        if fields.iter().any(|(k, _)| *k == key) {
            return Err(format!("line {number}: `{key}` is given twice"));
        }
        let rest = rest.trim();
        let value = if rest.starts_with('|') || rest.starts_with('>') {
            let folded = rest.starts_with('>');
            let mut parts = Vec::new();
            while i < block.len() && (block[i].1.starts_with(' ') || block[i].1.trim().is_empty()) {
                parts.push(block[i].1.trim());
                i += 1;
            }
            parts.join(if folded { " " } else { "\n" }).trim().to_string()
        } else if let Some(body) = rest.strip_prefix('"') {
            double_quoted(body).ok_or(format!("line {number}: the double-quoted value of `{key}` is not closed"))?
        } else if let Some(body) = rest.strip_prefix('\'') {
            single_quoted(body).ok_or(format!("line {number}: the single-quoted value of `{key}` is not closed"))?
        } else {
            // A plain scalar may continue on more-indented lines.
            let mut value = strip_comment(rest).to_string();
            while i < block.len() && block[i].1.starts_with(' ') && !block[i].1.trim().is_empty() {
                if !value.is_empty() {
                    value.push(' ');
                }
                value.push_str(block[i].1.trim());
                i += 1;
            }
            value
        };
        fields.push((key, value));
    }
    Ok(fields)
}

fn strip_comment(value: &str) -> &str {
    match value.find(" #") {
        Some(i) => value[..i].trim_end(),
        None => value,
    }
}

fn double_quoted(body: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

fn single_quoted(body: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            if chars.peek() == Some(&'\'') {
                chars.next();
                out.push('\'');
                continue;
            }
            return Some(out);
        }
        out.push(c);
    }
    None
}

/// Whitespace collapsed to single spaces, clipped with `…`.
fn one_line(text: &str, max: usize) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match joined.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &joined[..i]),
        None => joined,
    }
}

/// The prompt section listing the skills (empty when there are none).
pub fn prompt_section(skills: &[Skill]) -> String {
    if skills.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "Skills (instructions for particular tasks; when one fits, read its SKILL.md with read_file first):\n",
    );
    for skill in skills.iter().take(MAX_SKILLS_IN_PROMPT) {
        out.push_str(&format!("- {}: {} ({})\n", skill.name, skill.description, skill.path.display()));
    }
    if skills.len() > MAX_SKILLS_IN_PROMPT {
        out.push_str(&format!(
            "({} more skills are installed; `pincer skills` lists them)\n",
            skills.len() - MAX_SKILLS_IN_PROMPT
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_forms_real_skills_use() {
        let plain =
            "---\nname: pdf\ndescription: Work with PDF files: extract text, fill forms.\nlicense: MIT\n---\n# PDF\n";
        assert_eq!(
            parse_front_matter(plain).unwrap(),
            ("pdf".into(), "Work with PDF files: extract text, fill forms.".into())
        );
        let quoted = "---\nname: \"my-skill\"\ndescription: 'It''s quoted # not a comment'\n---\n";
        assert_eq!(parse_front_matter(quoted).unwrap().1, "It's quoted # not a comment");
        let block = "---\nname: x\ndescription: >\n  Folded over\n  two lines.\nmetadata:\n  version: 2\n---\n";
        assert_eq!(parse_front_matter(block).unwrap().1, "Folded over two lines.");
        let literal = "---\nname: x\ndescription: |\n  Line one\n  line two\n---\n";
        assert_eq!(parse_front_matter(literal).unwrap().1, "Line one line two", "collapsed to one line for the prompt");
        let continued = "---\nname: x  # the name\ndescription: starts here\n  and goes on\n---\n";
        assert_eq!(parse_front_matter(continued).unwrap(), ("x".into(), "starts here and goes on".into()));
        assert_eq!(parse_front_matter("\u{feff}---\nname: a\ndescription: b\n---").unwrap().0, "a");
    }

    #[test]
    fn broken_front_matter_says_why() {
        let cases = [
            ("# no front matter\n", "must start with"),
            ("---\nname: a\ndescription: b\n", "no closing"),
            ("---\ndescription: b\n---\n", "no `name`"),
            ("---\nname: a\n---\n", "no `description`"),
            ("---\nname: a\ndescription: \"open\n---\n", "not closed"),
            ("---\nname: a\n\tdescription: b\n---\n", "tabs"),
            ("---\nname: a\nname: b\ndescription: c\n---\n", "given twice"),
            ("---\nname: a\njust words\n---\n", "line 3"),
            ("---\nname: a\ndescription:\n---\n", "no `description`"),
        ];
        for (text, expected) in cases {
            let error = parse_front_matter(text).unwrap_err();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }

    #[test]
    fn discovery_orders_shadows_and_reports_broken_skills() {
        let dir = tempfile::tempdir().unwrap();
        let workspace = dir.path().join("ws");
        let home = dir.path().join("home");
        let write = |path: PathBuf, text: &str| {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            workspace.join(".pincer/skills/deploy/SKILL.md"),
            "---\nname: deploy\ndescription: project deploy\n---\n",
        );
        write(home.join("skills/deploy/SKILL.md"), "---\nname: deploy\ndescription: my deploy\n---\n");
        write(home.join("skills/notes/SKILL.md"), "---\nname: notes\ndescription: take notes\n---\n");
        write(home.join("skills/bad/SKILL.md"), "no front matter");
        write(home.join("skills/binary/SKILL.md"), "");
        std::fs::write(home.join("skills/binary/SKILL.md"), [0xff, 0xfe, 0x00]).unwrap();
        std::fs::create_dir_all(home.join("skills/not-a-skill")).unwrap();
        let set = discover(&skill_roots(&workspace, &home));
        let names: Vec<(&str, &str)> = set.skills.iter().map(|s| (s.name.as_str(), s.description.as_str())).collect();
        assert_eq!(names, [("deploy", "project deploy"), ("notes", "take notes")]);
        let reasons: Vec<&str> = set.broken.iter().map(|b| b.reason.as_str()).collect();
        assert_eq!(reasons.len(), 3, "{reasons:?}");
        assert!(reasons.iter().any(|r| r.starts_with("no front matter")));
        assert!(reasons.iter().any(|r| r.contains("not UTF-8")));
        assert!(reasons.iter().any(|r| r.starts_with("shadowed")));
        let section = prompt_section(&set.skills);
        assert!(section.contains("- notes: take notes ("), "{section}");
        assert_eq!(prompt_section(&[]), "");
    }
}
