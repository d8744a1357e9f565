//! `pincer skills`: the skills the agent would offer the model, where each comes from, and the
//! ones that cannot be used, with why.

use std::path::Path;
use std::process::ExitCode;

use serde::Serialize;

use super::Context;
use crate::chat::skills::{self, BrokenSkill, Skill};

/// Version of the `--json` shape; bumped only on incompatible changes.
pub const JSON_VERSION: u32 = 1;

#[derive(Serialize)]
struct Report<'a> {
    version: u32,
    skills: &'a [Skill],
    broken: &'a [BrokenSkill],
}

pub fn run(ctx: &Context, workspace: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let set = skills::discover(&skills::skill_roots(workspace, &ctx.home));
    let text = if json {
        let report = Report { version: JSON_VERSION, skills: &set.skills, broken: &set.broken };
        format!("{}\n", serde_json::to_string_pretty(&report)?)
    } else {
        render(&set.skills, &set.broken, workspace, &ctx.home)
    };
    crate::term::output::write_stdout(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn render(skills: &[Skill], broken: &[BrokenSkill], workspace: &Path, home: &Path) -> String {
    let clean = |t: &str| crate::sanitize::sanitize(t).into_owned();
    let mut out = String::new();
    if skills.is_empty() && broken.is_empty() {
        out.push_str("no skills installed\n");
        out.push_str(&format!(
            "(a skill is a folder with a SKILL.md in {}, {} or {})\n",
            workspace.join(skills::WORKSPACE_SKILL_DIRS[0]).display(),
            workspace.join(skills::WORKSPACE_SKILL_DIRS[1]).display(),
            home.join(skills::HOME_SKILL_DIR).display()
        ));
        return out;
    }
    let width = skills.iter().map(|s| s.name.chars().count()).max().unwrap_or(0);
    for skill in skills {
        out.push_str(&format!("{:<width$}  {}\n", clean(&skill.name), clean(&skill.description)));
        out.push_str(&format!("{:<width$}  {}\n", "", skill.path.display()));
    }
    for b in broken {
        out.push_str(&format!("broken: {}: {}\n", b.path.display(), clean(&b.reason)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_skills_and_broken_ones_sanitised() {
        let skills = [Skill {
            name: "pdf".into(),
            description: "PDFs \u{1b}[31m".into(),
            path: "/h/skills/pdf/SKILL.md".into(),
        }];
        let broken = [BrokenSkill { path: "/h/skills/x/SKILL.md".into(), reason: "no front matter".into() }];
        let text = render(&skills, &broken, Path::new("/w"), Path::new("/h"));
        assert_eq!(
            text,
            "pdf  PDFs ^[[31m\n     /h/skills/pdf/SKILL.md\nbroken: /h/skills/x/SKILL.md: no front matter\n"
        );
        assert!(render(&[], &[], Path::new("/w"), Path::new("/h")).starts_with("no skills installed"));
    }
}
