//! Credential kinds and the rules a pasted token must pass before it is stored.
//!
//! Every rejection names what is wrong and what to do, and never repeats the token: a message may
//! end up in a terminal scroll-back, a CI log or a bug report.

use serde::{Deserialize, Serialize};

/// The built-in providers' names, as `--provider` and config.toml spell them.
pub const ANTHROPIC: &str = "anthropic";
pub const OPENAI: &str = "openai";

pub const SETUP_TOKEN_PREFIX: &str = "sk-ant-oat01-";
pub const REFRESH_TOKEN_PREFIX: &str = "sk-ant-ort01-";
/// API keys are `sk-ant-api` + two digits + `-` (today `sk-ant-api03-`).
pub const API_KEY_PREFIX_START: &str = "sk-ant-api";
const API_KEY_PREFIX_LEN: usize = "sk-ant-api03-".len();
pub const ADMIN_KEY_PREFIX: &str = "sk-ant-admin";
/// Real setup tokens and API keys are 108 characters; anything under 80 was cut off while pasting.
pub const MIN_ANTHROPIC_TOKEN_LEN: usize = 80;
/// Real tokens are 108 characters; the bound leaves room for a longer future format, while a
/// pasted paragraph, file or log line (kilobytes) is refused as what it is.
pub const MAX_ANTHROPIC_TOKEN_LEN: usize = 256;
/// Other providers' keys vary (OpenAI project keys are about 164 characters, some gateways
/// issue JWTs of several hundred); beyond this it is not a key.
pub const MAX_OTHER_KEY_LEN: usize = 1024;
/// Setup tokens last about a year; warn a month before.
pub const SETUP_TOKEN_WARN_AGE_DAYS: i64 = 330;

/// How a credential authenticates: the one fact that decides the request headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// A subscription (OAuth) token, e.g. a setup token: `Authorization: Bearer`.
    #[serde(rename = "oauth")]
    OAuth,
    /// An API key: `x-api-key` for Anthropic, `Authorization: Bearer` for OpenAI-compatible servers.
    ApiKey,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::OAuth => "oauth",
            Method::ApiKey => "api_key",
        }
    }

    /// Words for people.
    pub fn describe(self) -> &'static str {
        match self {
            Method::OAuth => "setup token (OAuth)",
            Method::ApiKey => "API key",
        }
    }
}

/// Why a pasted token was refused. Messages never contain the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("no token was entered\nhint: {0}")]
    Empty(&'static str),
    #[error(
        "this is an Anthropic API key, not a setup token\nhint: run `pincer auth login --provider anthropic --api-key`"
    )]
    ApiKeyGivenForSetupToken,
    #[error(
        "this is a setup token (sk-ant-oat01-…), not an API key\nhint: run `pincer auth login --provider anthropic --setup-token`"
    )]
    SetupTokenGivenForApiKey,
    #[error(
        "this is a refresh token (sk-ant-ort01-…), which cannot call the API\nhint: paste the setup token (sk-ant-oat01-…) that `claude setup-token` prints"
    )]
    RefreshToken,
    #[error(
        "this is an Anthropic Admin key (sk-ant-admin…), which only works with the Admin API\nhint: create a regular API key (sk-ant-api03-…) at console.anthropic.com"
    )]
    AdminKey,
    #[error("this does not look like {expected}: it should start with `{prefix}`\nhint: {hint}")]
    WrongPrefix { expected: &'static str, prefix: &'static str, hint: &'static str },
    #[error(
        "the token is {len} characters long, but {expected} has at least {min} (usually 108): it was probably cut off while pasting\nhint: copy the whole token again"
    )]
    TooShort { len: usize, min: usize, expected: &'static str },
    #[error(
        "character {position} of the token is {what}, which a token never contains (only letters, digits, `-` and `_`)\nhint: {hint}"
    )]
    BadCharacter { position: usize, what: String, hint: &'static str },
    /// Bytes that are not UTF-8 (a paste from a mis-encoded source), reported like a bad character.
    #[error(
        "character {position} of the token is a byte that is not UTF-8 text, which a token never contains (only letters, digits, `-` and `_`)\nhint: {hint}",
        hint = HINT_BAD_CHARACTER
    )]
    NotUtf8 { position: usize },
    #[error(
        "this is an Anthropic subscription token, which only Anthropic's own API accepts\nhint: run `pincer auth login --provider anthropic --setup-token`"
    )]
    AnthropicTokenForOtherProvider,
    #[error(
        "the input is {len} characters long, but {expected} has at most {max} (usually 108): this is not a token alone\nhint: copy only the token itself"
    )]
    TooLong { len: usize, max: usize, expected: &'static str },
    #[error("{}\nhint: paste the token alone, without {}", .0, .0.remove())]
    Wrapped(Wrapper),
}

/// Something pasted around a token: the message names it instead of a confusing "bad character".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrapper {
    Quotes,
    Bearer,
    Assignment,
    Export,
}

impl Wrapper {
    fn remove(self) -> &'static str {
        match self {
            Wrapper::Quotes => "the quotes",
            Wrapper::Bearer => "`Bearer `",
            Wrapper::Assignment => "the `NAME=` in front",
            Wrapper::Export => "the `export NAME=` in front",
        }
    }
}

impl std::fmt::Display for Wrapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Wrapper::Quotes => "the token is wrapped in quotes",
            Wrapper::Bearer => "the input starts with `Bearer `, which belongs to the HTTP header, not to the token",
            Wrapper::Assignment => "the input is a shell assignment (`NAME=…`), not a token alone",
            Wrapper::Export => "the input is an `export NAME=…` line, not a token alone",
        })
    }
}

const HINT_RUN_SETUP_TOKEN: &str = "run `claude setup-token` and paste the token it prints";
const HINT_API_KEY: &str = "create an API key at console.anthropic.com and paste it";
const HINT_BAD_CHARACTER: &str =
    "copy the token again from its source; shortened displays (with `…`) and wrapped lines do not work";

/// Checks a setup token (from `claude setup-token`). The input is already trimmed.
pub fn check_setup_token(token: &str) -> Result<(), TokenError> {
    if token.is_empty() {
        return Err(TokenError::Empty(HINT_RUN_SETUP_TOKEN));
    }
    check_shape(token, MAX_ANTHROPIC_TOKEN_LEN, "a setup token")?;
    if token.starts_with(API_KEY_PREFIX_START) {
        return Err(TokenError::ApiKeyGivenForSetupToken);
    }
    if token.starts_with(REFRESH_TOKEN_PREFIX) {
        return Err(TokenError::RefreshToken);
    }
    if !token.starts_with(SETUP_TOKEN_PREFIX) {
        return Err(TokenError::WrongPrefix {
            expected: "a setup token",
            prefix: SETUP_TOKEN_PREFIX,
            hint: HINT_RUN_SETUP_TOKEN,
        });
    }
    check_body(token, SETUP_TOKEN_PREFIX.len(), "a setup token")
}

/// Checks an Anthropic API key. The input is already trimmed.
pub fn check_api_key(key: &str) -> Result<(), TokenError> {
    if key.is_empty() {
        return Err(TokenError::Empty(HINT_API_KEY));
    }
    check_shape(key, MAX_ANTHROPIC_TOKEN_LEN, "an API key")?;
    if key.starts_with(SETUP_TOKEN_PREFIX) || key.starts_with("sk-ant-oat") {
        return Err(TokenError::SetupTokenGivenForApiKey);
    }
    if key.starts_with(REFRESH_TOKEN_PREFIX) {
        return Err(TokenError::RefreshToken);
    }
    if key.starts_with(ADMIN_KEY_PREFIX) {
        return Err(TokenError::AdminKey);
    }
    if !has_api_key_prefix(key) {
        return Err(TokenError::WrongPrefix {
            expected: "an Anthropic API key",
            prefix: "sk-ant-api03-",
            hint: HINT_API_KEY,
        });
    }
    check_body(key, API_KEY_PREFIX_LEN, "an API key")
}

/// Checks a key for an OpenAI-compatible provider. Their formats vary (local servers accept
/// anything), so only what would break an HTTP header or betray a mix-up is refused. Anthropic
/// API keys are allowed (Anthropic's OpenAI-compatible endpoint takes them as Bearer tokens);
/// subscription tokens are not (nothing but Anthropic's native API accepts them).
pub fn check_openai_key(key: &str) -> Result<(), TokenError> {
    if key.is_empty() {
        return Err(TokenError::Empty("paste the API key the provider gave you"));
    }
    check_shape(key, MAX_OTHER_KEY_LEN, "an API key")?;
    if key.starts_with("sk-ant-oat") || key.starts_with(REFRESH_TOKEN_PREFIX) {
        return Err(TokenError::AnthropicTokenForOtherProvider);
    }
    match key.chars().enumerate().find(|(_, c)| c.is_whitespace() || c.is_control() || !c.is_ascii()) {
        Some((i, c)) => {
            Err(TokenError::BadCharacter { position: i + 1, what: describe_char(c), hint: HINT_BAD_CHARACTER })
        }
        None => Ok(()),
    }
}

/// Checks a token for `provider` by the rules its prefix selects: for Anthropic a subscription
/// token (`sk-ant-oat…`) must pass the setup-token rules and anything else the API-key rules;
/// other providers get the loose key rules. Used for credentials that did not come through
/// `auth login` (the environment), before they are sent.
pub fn check_for_provider(provider: &str, token: &str) -> Result<(), TokenError> {
    match provider {
        ANTHROPIC => match method_of_anthropic_token(token) {
            Method::OAuth => check_setup_token(token),
            Method::ApiKey => check_api_key(token),
        },
        _ => check_openai_key(token),
    }
}

/// Raw input bytes as text. A byte that is not UTF-8 is reported like any other bad character:
/// by its position (in characters, counting from 1), never with the text around it.
pub fn decode_token_input(bytes: &[u8]) -> Result<&str, TokenError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = &bytes[..e.valid_up_to()];
        // The prefix is valid UTF-8 by construction.
        let position = std::str::from_utf8(valid).map_or(0, |t| t.chars().count()) + 1;
        TokenError::BadCharacter {
            position,
            what: format!("a byte that is not UTF-8 text (0x{:02X})", bytes[e.valid_up_to()]),
            hint: HINT_BAD_CHARACTER,
        }
    })
}

/// What must hold before the prefix is even looked at: nothing pasted around the token, and
/// not kilobytes of text.
fn check_shape(token: &str, max: usize, expected: &'static str) -> Result<(), TokenError> {
    if let Some(wrapper) = wrapper_of(token) {
        return Err(TokenError::Wrapped(wrapper));
    }
    let len = token.chars().count();
    if len > max {
        return Err(TokenError::TooLong { len, max, expected });
    }
    Ok(())
}

const QUOTES: &[char] = &['"', '\'', '`', '“', '”', '‘', '’'];
const BEARER: &str = "bearer ";
const EXPORT: &str = "export ";

/// The outermost wrapper first: `export NAME="…"` is an export line before it is quoted.
fn wrapper_of(token: &str) -> Option<Wrapper> {
    if let Some(rest) = token.strip_prefix(EXPORT)
        && is_assignment(rest.trim_start())
    {
        return Some(Wrapper::Export);
    }
    if is_assignment(token) {
        return Some(Wrapper::Assignment);
    }
    if token.get(..BEARER.len()).is_some_and(|head| head.eq_ignore_ascii_case(BEARER)) {
        return Some(Wrapper::Bearer);
    }
    (token.starts_with(QUOTES) || token.ends_with(QUOTES)).then_some(Wrapper::Quotes)
}

/// `NAME=value` with a shell variable name. Base64 padding (`abc==`) is not an assignment: the
/// value must have something besides `=`.
fn is_assignment(text: &str) -> bool {
    let Some((name, value)) = text.split_once('=') else { return false };
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && value.trim_start_matches('=').chars().any(|c| !c.is_whitespace())
}

/// True for `sk-ant-api` + two ASCII digits + `-`.
fn has_api_key_prefix(key: &str) -> bool {
    let bytes = key.as_bytes();
    key.starts_with(API_KEY_PREFIX_START)
        && bytes.len() >= API_KEY_PREFIX_LEN
        && bytes[API_KEY_PREFIX_START.len()].is_ascii_digit()
        && bytes[API_KEY_PREFIX_START.len() + 1].is_ascii_digit()
        && bytes[API_KEY_PREFIX_LEN - 1] == b'-'
}

/// Character set first (a `…` from a shortened display is a better diagnosis than "too short"),
/// then length.
fn check_body(token: &str, prefix_len: usize, expected: &'static str) -> Result<(), TokenError> {
    if let Some((i, c)) =
        token.chars().enumerate().skip(prefix_len).find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(TokenError::BadCharacter { position: i + 1, what: describe_char(c), hint: HINT_BAD_CHARACTER });
    }
    let len = token.chars().count();
    if len < MIN_ANTHROPIC_TOKEN_LEN {
        return Err(TokenError::TooShort { len, min: MIN_ANTHROPIC_TOKEN_LEN, expected });
    }
    Ok(())
}

/// Names a character that is not part of any token, so showing it reveals nothing secret.
fn describe_char(c: char) -> String {
    match c {
        ' ' => "a space".into(),
        '\t' => "a tab".into(),
        '\n' | '\r' => "a line break".into(),
        '…' => "`…` (an ellipsis from a shortened display)".into(),
        c if c.is_control() => format!("a control character (U+{:04X})", c as u32),
        c if c.is_ascii() => format!("`{c}`"),
        c => format!("a non-ASCII character (U+{:04X})", c as u32),
    }
}

/// A token as people may see it: the known prefix, three characters, `…`, the last three.
/// Short or unknown tokens show less; a masked token never has more than six secret characters.
pub fn mask(token: &str) -> String {
    const KNOWN_PREFIXES: &[&str] =
        &[SETUP_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX, "sk-ant-api03-", "sk-ant-", "sk-proj-", "sk-or-v1-", "sk-"];
    const SHOWN: usize = 3;
    const MIN_HIDDEN: usize = 12;
    let prefix = KNOWN_PREFIXES.iter().find(|p| token.starts_with(**p)).copied().unwrap_or("");
    let rest: Vec<char> = token[prefix.len()..].chars().collect();
    if rest.len() < 2 * SHOWN + MIN_HIDDEN {
        return format!("{prefix}…");
    }
    let head: String = rest[..SHOWN].iter().collect();
    let tail: String = rest[rest.len() - SHOWN..].iter().collect();
    format!("{prefix}{head}…{tail}")
}

/// Guesses the method of a token found in the environment, by prefix.
pub fn method_of_anthropic_token(token: &str) -> Method {
    if token.starts_with("sk-ant-oat") { Method::OAuth } else { Method::ApiKey }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A setup-token-shaped string of `len` characters.
    pub fn setup_token(len: usize) -> String {
        let mut t = SETUP_TOKEN_PREFIX.to_string();
        while t.len() < len {
            t.push(if t.len().is_multiple_of(7) { '_' } else { 'a' });
        }
        t
    }

    pub fn api_key(len: usize) -> String {
        let mut t = "sk-ant-api03-".to_string();
        while t.len() < len {
            t.push(if t.len().is_multiple_of(5) { '-' } else { 'Z' });
        }
        t
    }

    #[test]
    fn setup_token_length_boundary_is_80() {
        assert_eq!(
            check_setup_token(&setup_token(79)),
            Err(TokenError::TooShort { len: 79, min: 80, expected: "a setup token" })
        );
        assert_eq!(check_setup_token(&setup_token(80)), Ok(()));
        assert_eq!(check_setup_token(&setup_token(108)), Ok(()));
    }

    #[test]
    fn api_key_length_boundary_is_80() {
        assert!(matches!(check_api_key(&api_key(79)), Err(TokenError::TooShort { len: 79, .. })));
        assert_eq!(check_api_key(&api_key(80)), Ok(()));
        assert_eq!(check_api_key(&api_key(108)), Ok(()));
    }

    #[test]
    fn each_prefix_is_routed_to_its_own_message() {
        assert_eq!(check_setup_token(""), Err(TokenError::Empty(HINT_RUN_SETUP_TOKEN)));
        assert_eq!(check_api_key(""), Err(TokenError::Empty(HINT_API_KEY)));
        assert_eq!(check_setup_token(&api_key(108)), Err(TokenError::ApiKeyGivenForSetupToken));
        assert_eq!(check_api_key(&setup_token(108)), Err(TokenError::SetupTokenGivenForApiKey));
        let refresh = format!("{REFRESH_TOKEN_PREFIX}{}", "a".repeat(95));
        assert_eq!(check_setup_token(&refresh), Err(TokenError::RefreshToken));
        assert_eq!(check_api_key(&refresh), Err(TokenError::RefreshToken));
        assert_eq!(check_api_key(&format!("sk-ant-admin01-{}", "a".repeat(95))), Err(TokenError::AdminKey));
        assert!(matches!(check_setup_token(&"x".repeat(108)), Err(TokenError::WrongPrefix { .. })));
        assert!(matches!(
            check_setup_token(&format!("sk-ant-oat02-{}", "a".repeat(95))),
            Err(TokenError::WrongPrefix { .. })
        ));
        assert!(matches!(
            check_api_key(&format!("sk-ant-apiXY-{}", "a".repeat(95))),
            Err(TokenError::WrongPrefix { .. })
        ));
        assert!(matches!(
            check_api_key(&format!("sk-ant-api031{}", "a".repeat(95))),
            Err(TokenError::WrongPrefix { .. })
        ));
        assert!(matches!(check_api_key("sk-proj-abc"), Err(TokenError::WrongPrefix { .. })));
        assert_eq!(check_api_key(&format!("sk-ant-api04-{}", "a".repeat(95))), Ok(()));
    }

    #[test]
    fn each_bad_character_is_named_with_its_position() {
        for (bad, what) in [
            (' ', "a space"),
            ('\t', "a tab"),
            ('\n', "a line break"),
            ('.', "`.`"),
            ('=', "`=`"),
            ('/', "`/`"),
            ('+', "`+`"),
            ('…', "`…` (an ellipsis from a shortened display)"),
            ('\u{7}', "a control character (U+0007)"),
            ('é', "a non-ASCII character (U+00E9)"),
        ] {
            let mut token: Vec<char> = setup_token(108).chars().collect();
            token[40] = bad;
            let token: String = token.into_iter().collect();
            match check_setup_token(&token) {
                Err(TokenError::BadCharacter { position, what: got, .. }) => {
                    assert_eq!(position, 41, "{bad:?}");
                    assert_eq!(got, what);
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn messages_never_contain_the_token() {
        let secret_tail = "SECRETSECRETSECRET";
        let inputs = [
            format!("{SETUP_TOKEN_PREFIX}{secret_tail}"),
            format!("{SETUP_TOKEN_PREFIX}{secret_tail}.{}", "a".repeat(80)),
            format!("sk-ant-api03-{secret_tail}"),
            format!("nope-{secret_tail}"),
        ];
        for input in &inputs {
            for result in [check_setup_token(input), check_api_key(input), check_openai_key(input)] {
                if let Err(e) = result {
                    assert!(!e.to_string().contains(secret_tail), "{e}");
                }
            }
        }
    }

    #[test]
    fn openai_keys_are_loosely_checked() {
        assert_eq!(check_openai_key("sk-proj-abc123"), Ok(()));
        assert_eq!(check_openai_key("local-dev-key"), Ok(()));
        assert!(matches!(check_openai_key("a b"), Err(TokenError::BadCharacter { position: 2, .. })));
        assert_eq!(check_openai_key(&setup_token(108)), Err(TokenError::AnthropicTokenForOtherProvider));
        assert_eq!(check_openai_key(&api_key(108)), Ok(()), "Anthropic's OpenAI-compatible layer takes API keys");
    }

    #[test]
    fn masking_shows_prefix_and_three_characters_each_side() {
        let t = format!("{SETUP_TOKEN_PREFIX}abc{}xyz", "m".repeat(89));
        assert_eq!(mask(&t), "sk-ant-oat01-abc…xyz");
        assert_eq!(mask(&format!("sk-ant-api03-Qrs{}UvW", "0".repeat(89))), "sk-ant-api03-Qrs…UvW");
        assert_eq!(mask("sk-ant-oat01-short"), "sk-ant-oat01-…");
        assert_eq!(mask("hunter2"), "…");
        assert_eq!(mask("abcdefghijklmnopqrstuvwxyz"), "abc…xyz");
    }

    #[test]
    fn kilobytes_are_not_a_token() {
        assert_eq!(check_setup_token(&setup_token(256)), Ok(()));
        assert_eq!(
            check_setup_token(&setup_token(257)),
            Err(TokenError::TooLong { len: 257, max: 256, expected: "a setup token" })
        );
        assert!(matches!(check_api_key(&api_key(4096)), Err(TokenError::TooLong { len: 4096, .. })));
        assert_eq!(check_openai_key(&"k".repeat(1024)), Ok(()));
        assert!(matches!(check_openai_key(&"k".repeat(1025)), Err(TokenError::TooLong { max: 1024, .. })));
        let e = check_setup_token(&setup_token(3000)).unwrap_err().to_string();
        assert!(e.contains("3000 characters long") && e.contains("at most 256"), "{e}");
    }

    #[test]
    fn wrappers_around_a_pasted_token_are_named() {
        let token = setup_token(108);
        for (input, wrapper) in [
            (format!("\"{token}\""), Wrapper::Quotes),
            (format!("'{token}'"), Wrapper::Quotes),
            (format!("“{token}”"), Wrapper::Quotes),
            (format!("{token}\""), Wrapper::Quotes),
            (format!("Bearer {token}"), Wrapper::Bearer),
            (format!("bearer {token}"), Wrapper::Bearer),
            (format!("CLAUDE_CODE_OAUTH_TOKEN={token}"), Wrapper::Assignment),
            (format!("CLAUDE_CODE_OAUTH_TOKEN=\"{token}\""), Wrapper::Assignment),
            (format!("export CLAUDE_CODE_OAUTH_TOKEN={token}"), Wrapper::Export),
            (format!("export  ANTHROPIC_API_KEY='{token}'"), Wrapper::Export),
        ] {
            for result in [check_setup_token(&input), check_api_key(&input), check_openai_key(&input)] {
                assert_eq!(result, Err(TokenError::Wrapped(wrapper)), "{input}");
            }
        }
        let e = check_setup_token(&format!("Bearer {token}")).unwrap_err().to_string();
        assert!(
            e.contains("starts with `Bearer `") && e.contains("hint: paste the token alone, without `Bearer `"),
            "{e}"
        );
        assert!(!e.contains(&token[13..]), "{e}");
        let e = check_api_key(&format!("export ANTHROPIC_API_KEY={}", api_key(108))).unwrap_err().to_string();
        assert!(e.contains("`export NAME=…` line") && !e.contains("ANTHROPIC_API_KEY"), "{e}");
        // Base64 padding and ordinary keys are not assignments.
        assert_eq!(check_openai_key("c2VjcmV0a2V5=="), Ok(()));
        assert_eq!(check_openai_key("sk-proj-abc"), Ok(()));
    }

    #[test]
    fn invalid_utf8_is_a_bad_character_with_its_position() {
        assert_eq!(decode_token_input(b"sk-ant-oat01-abc"), Ok("sk-ant-oat01-abc"));
        let mut bytes = setup_token(108).into_bytes();
        bytes[40] = 0xFF;
        match decode_token_input(&bytes) {
            Err(TokenError::BadCharacter { position, what, .. }) => {
                assert_eq!(position, 41);
                assert_eq!(what, "a byte that is not UTF-8 text (0xFF)");
            }
            other => panic!("{other:?}"),
        }
        // Positions count characters, not bytes: `é` before the bad byte is one character.
        match decode_token_input("aé\u{0}".as_bytes().iter().copied().chain([0xC3]).collect::<Vec<u8>>().as_slice()) {
            Err(TokenError::BadCharacter { position: 4, .. }) => {}
            other => panic!("{other:?}"),
        }
        let e = decode_token_input(&[b'x', 0x80]).unwrap_err();
        assert!(crate::commands::exit_code(&anyhow::Error::new(e)) == std::process::ExitCode::from(crate::exit::USAGE));
    }

    #[test]
    fn environment_tokens_are_checked_by_their_prefix() {
        assert_eq!(check_for_provider("anthropic", &setup_token(108)), Ok(()));
        assert_eq!(check_for_provider("anthropic", &api_key(108)), Ok(()));
        assert!(matches!(check_for_provider("anthropic", &setup_token(60)), Err(TokenError::TooShort { .. })));
        assert!(matches!(check_for_provider("anthropic", "hunter2"), Err(TokenError::WrongPrefix { .. })));
        assert_eq!(check_for_provider("openai", "sk-local"), Ok(()));
        assert!(matches!(check_for_provider("openai", "a\u{7f}b"), Err(TokenError::BadCharacter { position: 2, .. })));
    }

    #[test]
    fn method_by_prefix() {
        assert_eq!(method_of_anthropic_token(&setup_token(108)), Method::OAuth);
        assert_eq!(method_of_anthropic_token(&api_key(108)), Method::ApiKey);
    }
}
