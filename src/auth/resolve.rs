//! The one ordered chain that decides which credential a provider uses: environment first, then
//! `auth.json`. Resolved at request time, never copied into config.
//!
//! Anthropic: `ANTHROPIC_API_KEY`, then `CLAUDE_CODE_OAUTH_TOKEN`, then the store (the order
//! Claude Code uses for the two variables). A token's method is decided by its prefix, so a setup
//! token placed in `ANTHROPIC_API_KEY` is still sent as a Bearer token rather than refused.

use jiff::Timestamp;

use super::credential::{Method, check_for_provider, method_of_anthropic_token};
use super::store::AuthFile;
use crate::env::{self, Env};
use crate::secret::Secret;

pub use super::credential::{ANTHROPIC, OPENAI};

/// Where a credential comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Env(&'static str),
    Store,
}

impl Source {
    pub fn describe(self) -> String {
        match self {
            Source::Env(var) => format!("env ({var})"),
            Source::Store => "auth.json".to_string(),
        }
    }

    pub fn kind(self) -> &'static str {
        match self {
            Source::Env(_) => "env",
            Source::Store => "store",
        }
    }
}

/// A credential ready to use. `Debug` is safe: the secret is a [`Secret`].
#[derive(Debug, Clone)]
pub struct ResolvedCredential {
    pub provider: String,
    pub method: Method,
    pub secret: Secret<String>,
    pub source: Source,
    pub saved_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
}

/// A credential from the environment that fails the token rules, named by its variable: logging
/// in again cannot help while the variable wins, so the way out is to fix or unset it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{var} does not hold a usable credential: {problem}\nnothing was sent\nhint: fix {var}, or unset it (`unset {var}`) to use the credential saved by `pincer auth login`; logging in again cannot help while {var} is set, because it takes precedence"
)]
pub struct EnvCredentialError {
    pub var: &'static str,
    /// The first line of the rule's message (never the token).
    pub problem: String,
}

impl ResolvedCredential {
    /// Checks, before anything is sent, a credential that did not come through `auth login`:
    /// one from the environment must pass the same token rules, chosen by its prefix. Stored
    /// credentials passed them when they were saved.
    pub fn check_before_sending(&self) -> Result<(), EnvCredentialError> {
        let Source::Env(var) = self.source else { return Ok(()) };
        check_for_provider(&self.provider, self.secret.expose()).map_err(|e| EnvCredentialError {
            var,
            problem: e.to_string().lines().next().unwrap_or_default().to_string(),
        })
    }
}

/// Every credential available for `provider`, in precedence order: the first is the one in use.
pub fn candidates(provider: &str, env: &Env, store: &AuthFile) -> Vec<ResolvedCredential> {
    let mut out = Vec::new();
    let from_env = |var: &'static str, secret: &Secret<String>, method: Method| ResolvedCredential {
        provider: provider.to_string(),
        method,
        secret: secret.clone(),
        source: Source::Env(var),
        saved_at: None,
        expires_at: None,
    };
    match provider {
        ANTHROPIC => {
            for (var, value) in [
                (env::ANTHROPIC_API_KEY, &env.anthropic_api_key),
                (env::CLAUDE_CODE_OAUTH_TOKEN, &env.claude_code_oauth_token),
            ] {
                if let Some(secret) = value {
                    out.push(from_env(var, secret, method_of_anthropic_token(secret.expose())));
                }
            }
        }
        OPENAI => {
            if let Some(secret) = &env.openai_api_key {
                out.push(from_env(env::OPENAI_API_KEY, secret, Method::ApiKey));
            }
        }
        _ => {}
    }
    if let Some(stored) = store.credentials.get(provider) {
        out.push(ResolvedCredential {
            provider: provider.to_string(),
            method: stored.method,
            secret: stored.secret.clone(),
            source: Source::Store,
            saved_at: Some(stored.saved_at),
            expires_at: stored.expires_at,
        });
    }
    out
}

/// The credential `provider` uses now, if any.
pub fn resolve(provider: &str, env: &Env, store: &AuthFile) -> Option<ResolvedCredential> {
    candidates(provider, env, store).into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::credential::tests::{api_key, setup_token};
    use crate::auth::store::StoredCredential;

    fn store_with(provider: &str, secret: &str, method: Method) -> AuthFile {
        let mut file = AuthFile::default();
        file.credentials.insert(
            provider.into(),
            StoredCredential {
                provider: provider.into(),
                method,
                secret: Secret::new(secret.into()),
                saved_at: Timestamp::UNIX_EPOCH,
                expires_at: None,
                account: None,
                mcp: None,
                unknown: Default::default(),
            },
        );
        file
    }

    #[test]
    fn env_wins_over_store_in_documented_order() {
        let store = store_with(ANTHROPIC, &setup_token(108), Method::OAuth);
        let env = Env {
            anthropic_api_key: Some(Secret::new(api_key(108))),
            claude_code_oauth_token: Some(Secret::new(setup_token(100))),
            ..Env::default()
        };
        let all = candidates(ANTHROPIC, &env, &store);
        let sources: Vec<Source> = all.iter().map(|c| c.source).collect();
        assert_eq!(
            sources,
            [Source::Env(env::ANTHROPIC_API_KEY), Source::Env(env::CLAUDE_CODE_OAUTH_TOKEN), Source::Store]
        );
        assert_eq!(all[0].method, Method::ApiKey);
        assert_eq!(all[1].method, Method::OAuth);
        assert_eq!(resolve(ANTHROPIC, &Env::default(), &store).unwrap().source, Source::Store);
        assert!(resolve(ANTHROPIC, &Env::default(), &AuthFile::default()).is_none());
    }

    #[test]
    fn method_follows_the_token_not_the_variable() {
        let env = Env { anthropic_api_key: Some(Secret::new(setup_token(108))), ..Env::default() };
        assert_eq!(resolve(ANTHROPIC, &env, &AuthFile::default()).unwrap().method, Method::OAuth);
    }

    #[test]
    fn environment_credentials_are_checked_and_named_by_their_variable() {
        let env = Env { anthropic_api_key: Some(Secret::new(api_key(60))), ..Env::default() };
        let cred = resolve(ANTHROPIC, &env, &AuthFile::default()).unwrap();
        let e = cred.check_before_sending().unwrap_err();
        assert_eq!(e.var, env::ANTHROPIC_API_KEY);
        let text = e.to_string();
        assert!(
            text.starts_with("ANTHROPIC_API_KEY does not hold a usable credential: the token is 60 characters"),
            "{text}"
        );
        assert!(text.contains("`unset ANTHROPIC_API_KEY`") && text.contains("logging in again cannot help"), "{text}");
        assert_eq!(text.matches("hint:").count(), 1, "{text}");
        assert!(!text.contains(&api_key(60)[13..]), "{text}");

        let quoted = format!("'{}'", setup_token(108));
        let env = Env { claude_code_oauth_token: Some(Secret::new(quoted)), ..Env::default() };
        let e = resolve(ANTHROPIC, &env, &AuthFile::default()).unwrap().check_before_sending().unwrap_err();
        assert_eq!(e.var, env::CLAUDE_CODE_OAUTH_TOKEN);
        assert!(e.problem.contains("wrapped in quotes"), "{e}");

        let env = Env { openai_api_key: Some(Secret::new("sk-a\u{1}b".into())), ..Env::default() };
        let e = resolve(OPENAI, &env, &AuthFile::default()).unwrap().check_before_sending().unwrap_err();
        assert_eq!(e.var, env::OPENAI_API_KEY);

        // Good values and stored credentials pass.
        let env = Env { anthropic_api_key: Some(Secret::new(api_key(108))), ..Env::default() };
        assert_eq!(resolve(ANTHROPIC, &env, &AuthFile::default()).unwrap().check_before_sending(), Ok(()));
        let store = store_with(ANTHROPIC, "anything", Method::ApiKey);
        assert_eq!(resolve(ANTHROPIC, &Env::default(), &store).unwrap().check_before_sending(), Ok(()));
    }

    #[test]
    fn openai_env_then_store() {
        let store = store_with(OPENAI, "sk-stored", Method::ApiKey);
        let env = Env { openai_api_key: Some(Secret::new("sk-env".into())), ..Env::default() };
        assert_eq!(resolve(OPENAI, &env, &store).unwrap().secret.expose(), "sk-env");
        assert_eq!(resolve(OPENAI, &Env::default(), &store).unwrap().secret.expose(), "sk-stored");
    }
}
