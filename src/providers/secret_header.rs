//! A secret as an HTTP header value, or an error: never a placeholder. A value that cannot be a
//! header (a control character, a line break) means nothing is sent at all, rather than a
//! request that fails for a reason nobody can see.

use ureq::http::HeaderValue;

/// A credential that cannot travel in an HTTP header. The message never contains it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the credential contains characters that cannot be sent in an HTTP header, so nothing was sent\nhint: log in again with `pincer auth login`, or fix the variable that holds it"
)]
pub struct UnsendableCredential;

/// The value, marked sensitive so it is never logged by the HTTP stack.
pub fn sensitive(value: &str) -> Result<HeaderValue, UnsendableCredential> {
    let mut v = HeaderValue::from_str(value).map_err(|_| UnsendableCredential)?;
    v.set_sensitive(true);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_unsafe_values_are_refused_not_replaced() {
        assert!(sensitive("sk-ant-api03-abc").unwrap().is_sensitive());
        for bad in ["a\nb", "a\rb", "a\u{0}b", "a\u{7f}b"] {
            assert_eq!(sensitive(bad), Err(UnsendableCredential), "{bad:?}");
        }
    }
}
