//! The user's files: `config.toml` and `auth.json` may hold anything. Loading must not panic;
//! login's config edit must always produce TOML that parses again and never changes the user's
//! default; a credential file that loads must save and load again unchanged in size.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pincer::auth::store::parse_auth_json;
use pincer::config::Config;

fuzz_target!(|input: &[u8]| {
    if let Ok(file) = parse_auth_json(input) {
        let json = serde_json::to_vec(&file).expect("credentials serialize");
        let again = parse_auth_json(&json).expect("saved credentials load back");
        assert_eq!(again.credentials.len(), file.credentials.len());
    }

    let Ok(text) = std::str::from_utf8(input) else { return };
    let Ok(mut config) = Config::parse("config.toml".into(), text) else { return };
    let _ = (config.models(), config.aliases(), config.timeouts(), config.max_response_bytes());
    let _ = (config.provider("anthropic"), config.problems(), config.permissions(), config.tools());
    let _ = (config.mcp_servers(), config.broken_mcp_servers());
    let default_before = config.default_model().map(str::to_string);
    config.ensure_model("anthropic", "claude-sonnet-4-6", &["sonnet", "claude"]);
    // The permission prompt's "always" edit: whatever the list looks like, the TOML stays valid.
    let _ = config.add_permission_rule(pincer::config::RuleList::Allow, "bash(cargo test:*)");
    let edited = config.to_text();
    let reparsed = Config::parse("config.toml".into(), &edited).unwrap_or_else(|e| panic!("login's edit broke the TOML: {e:#}\n{edited}"));
    if default_before.is_some() {
        assert_eq!(reparsed.default_model().map(str::to_string), default_before, "the user's default changed");
    }
    assert!(reparsed.models().iter().any(|m| m.provider == "anthropic") || reparsed.default_model().is_none());
});
