//! PKCE (RFC 7636, S256 only) and the `state` value: fresh randomness from the operating system
//! for every authorization request, and a comparison that takes the same time whatever matches.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};

use crate::secret::Secret;

/// The only challenge method pincer uses (and the only one OAuth 2.1 recommends).
pub const S256: &str = "S256";
/// 32 random bytes: a 43-character verifier, RFC 7636's minimum length and 256 bits.
const VERIFIER_BYTES: usize = 32;
/// 24 random bytes: 192 bits, far beyond guessing within one sign-in.
const STATE_BYTES: usize = 24;

/// One authorization request's verifier (kept) and challenge (sent).
pub struct Pkce {
    pub verifier: Secret<String>,
    pub challenge: String,
}

impl Default for Pkce {
    fn default() -> Pkce {
        Pkce::new()
    }
}

impl Pkce {
    pub fn new() -> Pkce {
        let verifier = random_text(VERIFIER_BYTES);
        let challenge = challenge_of(verifier.expose());
        Pkce { verifier, challenge }
    }
}

/// `BASE64URL(SHA256(verifier))`, unpadded (RFC 7636 §4.2).
pub fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()))
}

/// A fresh `state`: it ties the browser's redirect to this request.
pub fn new_state() -> Secret<String> {
    random_text(STATE_BYTES)
}

/// Equal, compared in time that does not depend on where the first difference is.
pub fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn random_text(bytes: usize) -> Secret<String> {
    let mut buf = vec![0u8; bytes];
    // The kernel's random source cannot run dry; failing to read it means the system is broken,
    // and no sign-in may go on with predictable values.
    SystemRandom::new().fill(&mut buf).expect("the operating system's random source failed");
    let text = URL_SAFE_NO_PAD.encode(&buf);
    zeroize::Zeroize::zeroize(&mut buf);
    Secret::new(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_matches_the_rfc_7636_example() {
        // RFC 7636 Appendix B.
        assert_eq!(
            challenge_of("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifiers_are_long_unreserved_and_fresh() {
        let a = Pkce::new();
        let b = Pkce::new();
        let v = a.verifier.expose();
        assert_eq!(v.len(), 43);
        assert!(v.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'), "{v}");
        assert_ne!(v, b.verifier.expose());
        assert_eq!(a.challenge, challenge_of(v));
        assert_ne!(new_state().expose(), new_state().expose());
        assert!(new_state().expose().len() >= 32);
    }

    #[test]
    fn state_comparison() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd") && !same("abc", "ab") && !same("", "a"));
    }
}
