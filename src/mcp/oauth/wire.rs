//! The HTTP calls of a sign-in, behind [`Wire`], so discovery, registration and token rules are
//! tested against scripted answers. [`UreqWire`] is the real one: the shared client (proxies,
//! trusted CAs, `user-agent: pincer/…`, no redirects), small bounded bodies.

use std::io::Read;

use url::Url;
use zeroize::Zeroizing;

use super::OAuthError;
use super::urls::without_query;
use crate::env::Env;
use crate::http::Timeouts;
use crate::secret::Secret;

/// The largest document read: metadata, registration and token answers are a few KiB; a
/// bigger one is refused rather than parsed.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
const ACCEPT_JSON: &str = "application/json";
const CONTENT_FORM: &str = "application/x-www-form-urlencoded";

/// One HTTP answer. `body` holds at most [`MAX_DOCUMENT_BYTES`]; `too_large` says there was more.
pub struct Answer {
    pub status: u16,
    pub body: Zeroizing<Vec<u8>>,
    pub too_large: bool,
}

impl Answer {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

pub enum Body<'a> {
    /// `application/x-www-form-urlencoded` pairs (token requests).
    Form(&'a [(&'a str, &'a str)]),
    /// A JSON document (dynamic client registration).
    Json(&'a serde_json::Value),
}

pub trait Wire: Send + Sync {
    fn get(&self, url: &Url) -> Result<Answer, OAuthError>;
    /// `authorization`: a whole `Authorization` header value (HTTP Basic client authentication).
    fn post(&self, url: &Url, body: Body<'_>, authorization: Option<&Secret<String>>) -> Result<Answer, OAuthError>;
}

/// The real network.
#[derive(Clone)]
pub struct UreqWire {
    pub env: Env,
    pub timeouts: Timeouts,
}

impl UreqWire {
    fn client(&self, url: &Url) -> Result<crate::http::Client, OAuthError> {
        crate::http::client(&self.env, self.timeouts, url.as_str()).map_err(|e| OAuthError::Usage(format!("{e:#}")))
    }

    fn finish(
        &self,
        client: &crate::http::Client,
        url: &Url,
        sent: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Answer, OAuthError> {
        let mut response =
            sent.map_err(|e| OAuthError::Network { what: without_query(url), reason: client.failure(&e).one_line() })?;
        let status = response.status().as_u16();
        let mut body = Zeroizing::new(Vec::new());
        response.body_mut().as_reader().take(MAX_DOCUMENT_BYTES as u64 + 1).read_to_end(&mut body).map_err(|e| {
            OAuthError::Network { what: without_query(url), reason: format!("the answer broke off ({e})") }
        })?;
        let too_large = body.len() > MAX_DOCUMENT_BYTES;
        body.truncate(MAX_DOCUMENT_BYTES);
        Ok(Answer { status, body, too_large })
    }
}

impl Wire for UreqWire {
    fn get(&self, url: &Url) -> Result<Answer, OAuthError> {
        let client = self.client(url)?;
        tracing::debug!("GET {}", without_query(url));
        let sent = client.get(url.as_str()).header("accept", ACCEPT_JSON).call();
        self.finish(&client, url, sent)
    }

    fn post(&self, url: &Url, body: Body<'_>, authorization: Option<&Secret<String>>) -> Result<Answer, OAuthError> {
        let client = self.client(url)?;
        tracing::debug!("POST {}", without_query(url));
        let (content_type, bytes) = match body {
            Body::Form(pairs) => {
                let mut form = url::form_urlencoded::Serializer::new(String::new());
                for (k, v) in pairs {
                    form.append_pair(k, v);
                }
                (CONTENT_FORM, Zeroizing::new(form.finish().into_bytes()))
            }
            Body::Json(value) => (ACCEPT_JSON, Zeroizing::new(value.to_string().into_bytes())),
        };
        let mut req = client.post(url.as_str()).header("accept", ACCEPT_JSON).header("content-type", content_type);
        if let Some(value) = authorization {
            let value = crate::providers::secret_header::sensitive(value.expose())
                .map_err(|e| OAuthError::Usage(format!("the client credentials cannot be sent: {e}")))?;
            req = req.header("authorization", value);
        }
        let sent = req.send(&bytes[..]);
        self.finish(&client, url, sent)
    }
}

/// A typed document from an answer, parsed straight into `T` (so a secret lands in its
/// `Secret` without a plain copy on the way), or why not, never quoting the content.
pub fn parse_document<T: serde::de::DeserializeOwned>(answer: &Answer, what: &str) -> Result<T, OAuthError> {
    if answer.too_large {
        return Err(OAuthError::metadata(what, format!("the answer is larger than {} KiB", MAX_DOCUMENT_BYTES / 1024)));
    }
    serde_json::from_slice(&answer.body).map_err(|e| {
        let problem = match e.classify() {
            serde_json::error::Category::Data => format!(
                "the answer lacks a field or has one of the wrong type (line {}, column {})",
                e.line(),
                e.column()
            ),
            _ => format!("the answer is not a JSON object (line {}, column {})", e.line(), e.column()),
        };
        OAuthError::metadata(what, problem)
    })
}

/// Scripted answers for tests: each URL (without query) gets its answer; every call is recorded.
#[cfg(test)]
pub mod fake {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::*;

    /// Answers by URL: status and body, the last one repeating.
    type Script = HashMap<String, Vec<(u16, Vec<u8>)>>;

    pub struct FakeWire {
        pub answers: Mutex<Script>,
        pub calls: Mutex<Vec<String>>,
    }

    impl FakeWire {
        pub fn new(answers: &[(&str, u16, &str)]) -> FakeWire {
            let mut map = Script::new();
            for (url, status, body) in answers {
                map.entry(url.to_string()).or_default().push((*status, body.as_bytes().to_vec()));
            }
            FakeWire { answers: Mutex::new(map), calls: Mutex::default() }
        }

        /// `GET url` and `POST url [authorization] body` lines, in order.
        pub fn calls(&self) -> Vec<String> {
            self.calls.lock().unwrap().clone()
        }

        fn answer(&self, url: &Url) -> Answer {
            let key = without_query(url);
            let mut answers = self.answers.lock().unwrap();
            let (status, body) = match answers.get_mut(&key) {
                // The last answer repeats.
                Some(list) if list.len() > 1 => list.remove(0),
                Some(list) => list[0].clone(),
                None => (404, b"not found".to_vec()),
            };
            let too_large = body.len() > MAX_DOCUMENT_BYTES;
            Answer { status, body: Zeroizing::new(body), too_large }
        }
    }

    impl Wire for FakeWire {
        fn get(&self, url: &Url) -> Result<Answer, OAuthError> {
            self.calls.lock().unwrap().push(format!("GET {url}"));
            Ok(self.answer(url))
        }

        fn post(
            &self,
            url: &Url,
            body: Body<'_>,
            authorization: Option<&Secret<String>>,
        ) -> Result<Answer, OAuthError> {
            let text = match body {
                Body::Form(pairs) => pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&"),
                Body::Json(v) => v.to_string(),
            };
            let auth = authorization.map(|a| format!(" [{}]", a.expose())).unwrap_or_default();
            self.calls.lock().unwrap().push(format!("POST {url}{auth} {text}"));
            Ok(self.answer(url))
        }
    }
}
