//! Reading a `WWW-Authenticate` header (RFC 9110 §11.6.1, RFC 6750 §3): the parameters of its
//! `Bearer` challenge, which name the protected-resource metadata (RFC 9728 §5.1), the scopes the
//! request needs, and the error (`invalid_token`, `insufficient_scope`).
//!
//! The grammar: `scheme [token68 | param *(, param)]`, challenges separated by commas, a
//! parameter's value a token or a quoted string with `\` escapes. Anything unreadable is skipped,
//! never guessed at: a missing parameter only means falling back to the next discovery step.

use super::split_scopes;

/// The `error` of a request whose token lacks a scope (RFC 6750 §3.1).
pub const INSUFFICIENT_SCOPE: &str = "insufficient_scope";
/// The longest header read; real challenges are a few hundred bytes.
const MAX_HEADER_CHARS: usize = 8 * 1024;

/// What a `Bearer` challenge said.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Challenge {
    pub resource_metadata: Option<String>,
    pub scope: Option<Vec<String>>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

impl Challenge {
    pub fn insufficient_scope(&self) -> bool {
        self.error.as_deref() == Some(INSUFFICIENT_SCOPE)
    }
}

/// The `Bearer` challenge of a header, if it has one.
pub fn parse(header: &str) -> Option<Challenge> {
    let header: String = header.chars().take(MAX_HEADER_CHARS).collect();
    let mut p = Parser { s: header.as_bytes(), i: 0 };
    let mut in_bearer = false;
    let mut found: Option<Challenge> = None;
    loop {
        p.skip(|b| is_space(b) || b == b',');
        let Some(name) = p.token() else {
            if p.at_end() {
                break;
            }
            // A character no grammar rule starts with: step over it.
            p.i += 1;
            continue;
        };
        p.skip(is_space);
        if p.peek() == Some(b'=') {
            p.i += 1;
            p.skip(is_space);
            let value = if p.peek() == Some(b'"') { p.quoted() } else { p.token() };
            // `=` with no value: the padding of a token68 (`Basic dXNlcg==`).
            p.skip(|b| b == b'=');
            if let (true, Some(value), Some(c)) = (in_bearer, value, found.as_mut()) {
                match name.to_ascii_lowercase().as_str() {
                    "resource_metadata" => c.resource_metadata = Some(value),
                    "scope" => c.scope = Some(split_scopes(&value)),
                    "error" => c.error = Some(value),
                    "error_description" => c.error_description = Some(value),
                    _ => {}
                }
            }
        } else {
            // A new challenge begins. Only the first Bearer challenge counts.
            in_bearer = name.eq_ignore_ascii_case("bearer") && found.is_none();
            if in_bearer {
                found = Some(Challenge::default());
            }
        }
    }
    found
}

/// Spaces, tabs, and the line breaks of a folded header.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn at_end(&self) -> bool {
        self.i >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip(&mut self, what: impl Fn(u8) -> bool) {
        while self.peek().is_some_and(&what) {
            self.i += 1;
        }
    }

    /// A token (RFC 9110 tchar), plus `/` and `:`, which unquoted URLs and scopes carry.
    fn token(&mut self) -> Option<String> {
        let start = self.i;
        self.skip(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~/:".contains(&b));
        (self.i > start).then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    /// A quoted string, its escapes undone; an unterminated one runs to the end.
    fn quoted(&mut self) -> Option<String> {
        self.i += 1;
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            self.i += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    if let Some(next) = self.peek() {
                        out.push(next);
                        self.i += 1;
                    }
                }
                _ => out.push(b),
            }
        }
        Some(String::from_utf8_lossy(&out).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_bearer_parameters_the_spec_examples_use() {
        let c = parse(
            r#"Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource",
                         scope="files:read""#,
        )
        .unwrap();
        assert_eq!(
            c.resource_metadata.as_deref(),
            Some("https://mcp.example.com/.well-known/oauth-protected-resource")
        );
        assert_eq!(c.scope, Some(vec!["files:read".to_string()]));
        assert!(!c.insufficient_scope());

        let c = parse(
            r#"Bearer error="insufficient_scope", scope="files:read files:write user:profile", resource_metadata="https://m.example/prm", error_description="Additional file write permission required""#,
        )
        .unwrap();
        assert!(c.insufficient_scope());
        assert_eq!(c.scope.unwrap().len(), 3);
        assert_eq!(c.error_description.as_deref(), Some("Additional file write permission required"));
    }

    #[test]
    fn tokens_escapes_case_and_other_schemes() {
        let c = parse(
            r#"Basic realm="x", bearer Scope=read, ERROR="a \"quoted\" one", resource_metadata=http://127.0.0.1:1/p"#,
        )
        .unwrap();
        assert_eq!(c.scope, Some(vec!["read".to_string()]));
        assert_eq!(c.error.as_deref(), Some(r#"a "quoted" one"#));
        assert_eq!(c.resource_metadata.as_deref(), Some("http://127.0.0.1:1/p"));
        // A Basic challenge's parameters are not Bearer's; a later scheme ends Bearer's.
        let c = parse(r#"Basic scope="no", Bearer realm="r", Negotiate dXNlcg==, scope="late""#).unwrap();
        assert_eq!(c.scope, None);
        assert!(parse("Basic realm=\"x\"").is_none());
        assert!(parse("").is_none());
    }

    #[test]
    fn garbage_never_panics_and_gives_what_it_can() {
        for junk in [
            "Bearer",
            "Bearer ,,, =",
            "Bearer scope=\"unterminated",
            "\u{1b}[31mBearer scope=x",
            "Bearer a=\"\\",
            "=====",
            "Bearer é=ü",
        ] {
            let _ = parse(junk);
        }
        assert_eq!(parse("Bearer scope=\"unterminated").unwrap().scope, Some(vec!["unterminated".to_string()]));
        let long = format!("Bearer scope=\"{}\"", "a ".repeat(100_000));
        assert!(parse(&long).is_some());
    }
}
