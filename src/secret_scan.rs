//! Spotting credentials in text a person is about to send (a REPL line today; other input later).
//!
//! Conservative by design: a match needs a known prefix at the start of a word and a body of
//! realistic length and shape, so prose, code and hyphenated words pass. The caller refuses the
//! text and says why; nothing is rewritten.

/// What a match looks like, for the message ("an Anthropic key", …).
pub type Kind = &'static str;

/// The first credential-like token in `text`, if any.
pub fn find_credential(text: &str) -> Option<Kind> {
    if has_private_key_header(text) {
        return Some("a private key (PEM)");
    }
    RULES.iter().find(|rule| rule.prefixes.iter().any(|p| matches_at_word_start(text, p, rule))).map(|r| r.kind)
}

#[derive(Clone, Copy)]
enum Chars {
    /// Letters, digits, `-` and `_`.
    Token,
    /// Letters and digits.
    Alnum,
    /// Letters, digits and `_`.
    Word,
    /// Upper-case letters and digits.
    UpperAlnum,
    /// Lower-case hexadecimal digits.
    Hex,
    /// Letters, digits and `-`.
    Dashed,
}

impl Chars {
    fn admits(self, c: char) -> bool {
        match self {
            Chars::Token => c.is_ascii_alphanumeric() || c == '-' || c == '_',
            Chars::Alnum => c.is_ascii_alphanumeric(),
            Chars::Word => c.is_ascii_alphanumeric() || c == '_',
            Chars::UpperAlnum => c.is_ascii_uppercase() || c.is_ascii_digit(),
            Chars::Hex => c.is_ascii_digit() || ('a'..='f').contains(&c),
            Chars::Dashed => c.is_ascii_alphanumeric() || c == '-',
        }
    }
}

struct Rule {
    kind: Kind,
    prefixes: &'static [&'static str],
    chars: Chars,
    /// The body (after the prefix) has at least this many characters…
    min: usize,
    /// …and, when set, exactly `min`.
    exact: bool,
    shape: Shape,
}

/// What random keys have and words do not.
#[derive(Clone, Copy)]
enum Shape {
    Any,
    /// At least one digit.
    Digit,
    /// Upper case, lower case and digits.
    Mixed,
}

const fn rule(kind: Kind, prefixes: &'static [&'static str], chars: Chars, min: usize) -> Rule {
    Rule { kind, prefixes, chars, min, exact: false, shape: Shape::Any }
}

// Order matters only for the name in the message: specific prefixes come before `sk-`.
const RULES: &[Rule] = &[
    rule("an Anthropic key or token", &["sk-ant-"], Chars::Token, 32),
    rule("an OpenRouter key", &["sk-or-v1-"], Chars::Hex, 32),
    Rule {
        shape: Shape::Mixed,
        ..rule("an OpenAI key", &["sk-proj-", "sk-svcacct-", "sk-admin-", "sk-"], Chars::Token, 32)
    },
    rule("a GitHub token", &["ghp_", "gho_", "ghu_", "ghs_", "ghr_"], Chars::Alnum, 36),
    rule("a GitHub token", &["github_pat_"], Chars::Word, 40),
    Rule { exact: true, ..rule("an AWS access key ID", &["AKIA", "ASIA"], Chars::UpperAlnum, 16) },
    Rule {
        shape: Shape::Digit,
        ..rule("a Slack token", &["xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xoxe-"], Chars::Dashed, 20)
    },
    Rule { exact: true, ..rule("a Google API key", &["AIza"], Chars::Token, 35) },
    Rule { shape: Shape::Mixed, ..rule("a Stripe secret key", &["sk_live_", "rk_live_"], Chars::Alnum, 24) },
];

/// Whether `prefix` starts a word somewhere in `text` and is followed by a body the rule accepts.
fn matches_at_word_start(text: &str, prefix: &str, rule: &Rule) -> bool {
    text.match_indices(prefix).any(|(at, _)| {
        let starts_word = text[..at].chars().next_back().is_none_or(|c| !Chars::Token.admits(c));
        starts_word && body_fits(&text[at + prefix.len()..], rule)
    })
}

fn body_fits(rest: &str, rule: &Rule) -> bool {
    let len = rest.chars().take_while(|c| rule.chars.admits(*c)).count();
    let body = &rest[..len]; // the admitted characters are all ASCII
    let long_enough = if rule.exact { len == rule.min } else { len >= rule.min };
    let has = |class: fn(&u8) -> bool| body.bytes().any(|b| class(&b));
    let shaped = match rule.shape {
        Shape::Any => true,
        Shape::Digit => has(u8::is_ascii_digit),
        Shape::Mixed => has(u8::is_ascii_uppercase) && has(u8::is_ascii_lowercase) && has(u8::is_ascii_digit),
    };
    long_enough && shaped
}

/// `-----BEGIN … PRIVATE KEY-----` (RSA, EC, OPENSSH, ENCRYPTED or plain).
fn has_private_key_header(text: &str) -> bool {
    const BEGIN: &str = "-----BEGIN ";
    const LABEL_END: &str = "PRIVATE KEY";
    const DASHES: &str = "-----";
    text.match_indices(BEGIN).any(|(at, _)| {
        let rest = &text[at + BEGIN.len()..];
        // Upper-case words and spaces, all ASCII: a byte count.
        let label_len = rest.chars().take_while(|c| c.is_ascii_uppercase() || *c == ' ').count();
        rest[..label_len].ends_with(LABEL_END) && rest[label_len..].starts_with(DASHES)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A random-looking body of `len` characters (built here so no real-looking key sits in the source).
    fn body(len: usize) -> String {
        "aB3xY9kQ7mZ2".chars().cycle().take(len).collect()
    }

    #[test]
    fn credentials_are_found_in_a_line() {
        let cases = [
            (format!("my key is sk-ant-api03-{}AA please", body(95)), "an Anthropic key or token"),
            (format!("sk-ant-oat01-{}", body(95)), "an Anthropic key or token"),
            (format!("OPENAI_API_KEY=sk-proj-{}", body(150)), "an OpenAI key"),
            (format!("sk-{}", body(48)), "an OpenAI key"),
            (format!("\"sk-or-v1-{}\"", "0123456789abcdef".repeat(4)), "an OpenRouter key"),
            (format!("token: ghp_{}", body(36)), "a GitHub token"),
            (format!("github_pat_11{}_{}", body(20), body(59)), "a GitHub token"),
            ("aws_access_key_id = AKIAIOSFODNN7EXAMPLE".to_string(), "an AWS access key ID"),
            (format!("xoxb-1234567890-{}", body(24)), "a Slack token"),
            (format!("key=AIza{}", body(35)), "a Google API key"),
            (format!("sk_live_{}", body(24)), "a Stripe secret key"),
            ("-----BEGIN RSA PRIVATE KEY-----\nMIIE".to_string(), "a private key (PEM)"),
            ("-----BEGIN OPENSSH PRIVATE KEY-----".to_string(), "a private key (PEM)"),
            ("-----BEGIN PRIVATE KEY-----".to_string(), "a private key (PEM)"),
        ];
        for (text, kind) in &cases {
            assert_eq!(find_credential(text), Some(*kind), "{text}");
        }
    }

    #[test]
    fn ordinary_text_passes() {
        let cases = [
            "how do I use sk-learn for a regression?".to_string(),
            "the ask-ant-colony algorithm".to_string(),
            format!("desk-{}", body(48)),
            "sk-this-is-a-very-long-hyphenated-list-of-plain-words".to_string(),
            "sk-ant-api03-short".to_string(),
            "what does the AKIA prefix mean in AWS?".to_string(),
            "AKIAIOSFODNN7EXAMPLEANDMORE".to_string(),
            "ghp_ tokens are GitHub personal access tokens".to_string(),
            "xoxo-hugs-and-kisses-to-everyone-here".to_string(),
            "xoxb-tokens-are-for-bots-in-slack-workspaces".to_string(),
            "AIza is how Google keys begin".to_string(),
            "-----BEGIN PUBLIC KEY-----".to_string(),
            "-----BEGIN CERTIFICATE-----".to_string(),
            "550e8400-e29b-41d4-a716-446655440000".to_string(),
            "c2VjcmV0IGJ1dCBub3QgYSBrZXkgd2l0aCBhIHByZWZpeA==".to_string(),
            "fn sk_live_mode() {}".to_string(),
        ];
        for text in &cases {
            assert_eq!(find_credential(text), None, "{text}");
        }
    }
}
