//! A `WWW-Authenticate` header and a redirect's query come from servers (and, for the redirect,
//! from anything that can reach the loopback port). Neither may panic; what is read must be
//! well-formed: scopes are RFC 6749 scope tokens, and only the expected `state` yields a code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pincer::mcp::oauth::challenge;
use pincer::mcp::oauth::listener::{Expected, Verdict, judge};
use pincer::secret::Secret;

fuzz_target!(|input: &[u8]| {
    let text = String::from_utf8_lossy(input);
    if let Some(c) = challenge::parse(&text) {
        for scope in c.scope.iter().flatten() {
            assert!(pincer::mcp::oauth::is_scope(scope), "{scope:?}");
        }
    }
    let state = Secret::new("the-state".to_string());
    let expected = Expected { state: &state, issuer: "https://auth.example.com", iss_required: false };
    if let Verdict::Code(_) = judge(&text, &expected) {
        let state = url::form_urlencoded::parse(text.as_bytes()).find(|(k, _)| k == "state").map(|(_, v)| v.into_owned());
        assert_eq!(state.as_deref(), Some("the-state"), "a code was taken without this sign-in's state");
    }
});
