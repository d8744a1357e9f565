//! Which provider and upstream model ID a `--model` name means.
//!
//! Order: a name from `[models]` in config; an `[aliases]` entry (followed once); `provider/ID`;
//! a built-in short alias (`sonnet`, `opus`, `haiku`) when config does not define it; a bare
//! `claude-*` ID. Then, for Anthropic
//! only, dots in `claude-*` IDs become hyphens (`claude-sonnet-4.6` → `claude-sonnet-4-6`): the
//! API has no dotted IDs, while other servers' names (`qwen2.5-0.5b`) must pass unchanged.

use crate::auth::resolve::ANTHROPIC;
use crate::config::ModelEntry;

/// Short aliases that work without config, as Claude Code users expect.
pub const BUILTIN_ALIASES: &[(&str, &str)] =
    &[("sonnet", "claude-sonnet-4-6"), ("opus", "claude-opus-4-8"), ("haiku", "claude-haiku-4-5")];

/// A resolved model: where it goes and what is sent.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelChoice {
    pub provider: String,
    pub model: String,
    /// The config entry it came from, for its options (base URL, max_tokens, …).
    pub entry: Option<ModelEntry>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ModelError {
    #[error(
        "unknown model `{0}`\nhint: use `provider/model-id` (e.g. `anthropic/claude-sonnet-4-6`), or add it to config.toml under [models]"
    )]
    Unknown(String),
    #[error("empty model name\nhint: pass --model NAME or set default_model in config.toml")]
    Empty,
    #[error(
        "the model `{name}` in config.toml cannot be used: {problem}\nhint: fix that entry in config.toml (`pincer models` lists every problem)"
    )]
    Broken { name: String, problem: String },
}

pub fn resolve(name: &str, models: &[ModelEntry], aliases: &[(String, String)]) -> Result<ModelChoice, ModelError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ModelError::Empty);
    }
    // An alias names a model or provider/ID; it is followed once, so aliases cannot loop.
    let name = match aliases.iter().find(|(alias, _)| alias == name) {
        Some((_, target)) if !models.iter().any(|m| m.name == name) => target.trim(),
        _ => name,
    };
    if let Some(entry) = models.iter().find(|m| m.name == name) {
        // A broken entry is never used half-read, nor shadowed by a built-in of the same name.
        if let Some(problem) = &entry.problem {
            return Err(ModelError::Broken { name: entry.name.clone(), problem: problem.clone() });
        }
        return Ok(ModelChoice {
            provider: entry.provider.clone(),
            model: normalize(&entry.provider, &entry.model),
            entry: Some(entry.clone()),
        });
    }
    if let Some((provider, id)) = name.split_once('/')
        && !provider.is_empty()
        && !id.is_empty()
    {
        let provider = provider.to_ascii_lowercase();
        let model = normalize(&provider, id);
        return Ok(ModelChoice { provider, model, entry: None });
    }
    if let Some((_, id)) = BUILTIN_ALIASES.iter().find(|(alias, _)| *alias == name) {
        return Ok(ModelChoice { provider: ANTHROPIC.into(), model: id.to_string(), entry: None });
    }
    if name.starts_with("claude-") {
        return Ok(ModelChoice { provider: ANTHROPIC.into(), model: normalize(ANTHROPIC, name), entry: None });
    }
    Err(ModelError::Unknown(name.to_string()))
}

/// Dots to hyphens in Anthropic `claude-*` IDs only.
pub fn normalize(provider: &str, id: &str) -> String {
    if provider == ANTHROPIC && id.starts_with("claude-") { id.replace('.', "-") } else { id.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, provider: &str, model: &str) -> ModelEntry {
        ModelEntry { name: name.into(), provider: provider.into(), model: model.into(), ..ModelEntry::default() }
    }

    #[test]
    fn dots_become_hyphens_in_claude_ids_only() {
        assert_eq!(resolve("claude-sonnet-4.6", &[], &[]).unwrap().model, "claude-sonnet-4-6");
        assert_eq!(resolve("anthropic/claude-opus-4.8", &[], &[]).unwrap().model, "claude-opus-4-8");
        assert_eq!(resolve("claude-sonnet-4-5-20250929", &[], &[]).unwrap().model, "claude-sonnet-4-5-20250929");
        let local = resolve("openai/qwen2.5-0.5b", &[], &[]).unwrap();
        assert_eq!((local.provider.as_str(), local.model.as_str()), ("openai", "qwen2.5-0.5b"));
        // A gateway's Claude name under another provider passes unchanged.
        assert_eq!(resolve("openrouter/claude-sonnet-4.6", &[], &[]).unwrap().model, "claude-sonnet-4.6");
    }

    #[test]
    fn config_names_win_then_prefix_then_aliases() {
        let models = [entry("sonnet", "anthropic", "claude-sonnet-4.5"), entry("local", "openai", "qwen2.5-0.5b")];
        let s = resolve("sonnet", &models, &[]).unwrap();
        assert_eq!(s.model, "claude-sonnet-4-5");
        assert_eq!(s.entry.unwrap().name, "sonnet");
        assert_eq!(resolve("local", &models, &[]).unwrap().model, "qwen2.5-0.5b");
        assert_eq!(resolve("opus", &models, &[]).unwrap().model, "claude-opus-4-8");
        assert_eq!(resolve("haiku", &[], &[]).unwrap().provider, "anthropic");
        assert_eq!(resolve("ANTHROPIC/claude-x", &[], &[]).unwrap().provider, "anthropic");
    }

    #[test]
    fn aliases_are_followed_once() {
        let models = [entry("local", "openai", "qwen2.5-0.5b")];
        let aliases = [
            ("fast".to_string(), "local".to_string()),
            ("big".into(), "anthropic/claude-opus-4.8".into()),
            ("loop".into(), "loop".into()),
        ];
        assert_eq!(resolve("fast", &models, &aliases).unwrap().model, "qwen2.5-0.5b");
        assert_eq!(resolve("big", &models, &aliases).unwrap().model, "claude-opus-4-8");
        assert!(resolve("loop", &models, &aliases).is_err());
    }

    #[test]
    fn a_broken_entry_says_why_and_never_falls_back_to_a_builtin() {
        let broken = ModelEntry {
            problem: Some("line 3: `models.sonnet.max_tokens` should be a positive integer, not a string".into()),
            ..entry("sonnet", "anthropic", "claude-sonnet-4-5")
        };
        let models = [broken, entry("local", "openai", "qwen")];
        let aliases = [("s".to_string(), "sonnet".to_string())];
        for name in ["sonnet", "s"] {
            let err = resolve(name, &models, &aliases).unwrap_err();
            assert!(matches!(&err, ModelError::Broken { name, .. } if name == "sonnet"), "{err:?}");
            let text = err.to_string();
            assert!(text.contains("line 3") && text.contains("max_tokens") && text.contains("hint:"), "{text}");
        }
        assert_eq!(resolve("local", &models, &[]).unwrap().model, "qwen");
    }

    #[test]
    fn unknown_and_empty_names_explain() {
        assert_eq!(resolve("gpt-5", &[], &[]), Err(ModelError::Unknown("gpt-5".into())));
        assert_eq!(resolve("  ", &[], &[]), Err(ModelError::Empty));
        assert!(resolve("/x", &[], &[]).is_err());
    }
}
