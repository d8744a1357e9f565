//! An MCP sign-in in `auth.json`: the entry `mcp:NAME` of `credentials`.
//!
//! The entry is an ordinary OAuth credential to anything that reads `auth.json` (`provider`
//! `mcp:NAME`, `method` `oauth`, `secret` the access token, `saved_at`, `expires_at` the access
//! token's expiry), so pincers from before MCP sign-in read the file as before and keep the rest,
//! an `mcp` object, as an unknown key. That object says where the token goes and how to renew
//! it: the server URL and `resource`, the issuer and token endpoint, the client (its id, its
//! secret if it has one, how it authenticates, where it came from), the refresh token and the
//! granted scopes. Its own unknown keys are kept too.
//!
//! Every write goes through the store's lock, atomic rename and 0600 rules.

use jiff::Timestamp;

pub use crate::auth::mcp_sign_in::McpSignIn;

use super::registration::Client;
use crate::auth::credential::Method;
use crate::auth::store::{AuthFile, Store, StoredCredential};
use crate::secret::Secret;

/// `credentials` keys of MCP sign-ins start with this; the rest is the server's name.
pub const KEY_PREFIX: &str = "mcp:";

pub fn key(name: &str) -> String {
    format!("{KEY_PREFIX}{name}")
}

impl McpSignIn {
    pub fn client(&self) -> Client {
        Client {
            id: self.client_id.clone(),
            secret: self.client_secret.clone(),
            method: self.token_endpoint_auth_method,
            source: self.client,
        }
    }
}

/// One server's sign-in as stored.
#[derive(Debug, Clone)]
pub struct Stored {
    pub access_token: Secret<String>,
    pub expires_at: Option<Timestamp>,
    pub saved_at: Timestamp,
    pub sign_in: McpSignIn,
}

/// Every MCP sign-in of a file, by server name, in name order.
pub fn all(file: &AuthFile) -> Vec<(String, Stored)> {
    file.credentials
        .keys()
        .filter_map(|k| {
            let name = k.strip_prefix(KEY_PREFIX)?;
            Some((name.to_string(), get(file, name)?))
        })
        .collect()
}

pub fn get(file: &AuthFile, name: &str) -> Option<Stored> {
    let c = file.credentials.get(&key(name))?;
    Some(Stored {
        access_token: c.secret.clone(),
        expires_at: c.expires_at,
        saved_at: c.saved_at,
        sign_in: c.mcp.clone()?,
    })
}

/// Puts a sign-in into the file (the caller holds the lock and saves). The entry's own unknown
/// keys, from a newer pincer, are kept.
pub fn put(file: &mut AuthFile, name: &str, stored: &Stored) {
    let k = key(name);
    let unknown = file.credentials.remove(&k).map(|c| c.unknown).unwrap_or_default();
    file.credentials.insert(
        k.clone(),
        StoredCredential {
            provider: k,
            method: Method::OAuth,
            secret: stored.access_token.clone(),
            saved_at: stored.saved_at,
            expires_at: stored.expires_at,
            account: None,
            mcp: Some(stored.sign_in.clone()),
            unknown,
        },
    );
}

/// Saves a sign-in under the store's lock.
pub fn save(store: &Store, name: &str, stored: &Stored) -> anyhow::Result<()> {
    let (mut file, guard) = store.lock()?;
    put(&mut file, name, stored);
    store.save(&file, &guard)
}

/// Removes a sign-in under the lock the caller holds; the removed one, if there was one.
pub fn remove(file: &mut AuthFile, name: &str) -> Option<Stored> {
    let found = get(file, name);
    file.credentials.remove(&key(name));
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::mcp_sign_in::{AuthMethod, ClientSource};

    fn sample() -> Stored {
        Stored {
            access_token: Secret::new("AT-secret".into()),
            expires_at: Some("2026-01-01T01:00:00Z".parse().unwrap()),
            saved_at: "2026-01-01T00:00:00Z".parse().unwrap(),
            sign_in: McpSignIn {
                server_url: "https://m.example/mcp".into(),
                resource: "https://m.example/mcp".into(),
                issuer: "https://a.example".into(),
                token_endpoint: "https://a.example/token".into(),
                revocation_endpoint: None,
                client_id: "cid".into(),
                client_secret: Some(Secret::new("CS-secret".into())),
                token_endpoint_auth_method: AuthMethod::ClientSecretBasic,
                client: ClientSource::DynamicRegistration,
                refresh_token: Some(Secret::new("RT-secret".into())),
                scopes: vec!["a".into()],
                unknown: Default::default(),
            },
        }
    }

    #[test]
    fn an_entry_is_an_ordinary_oauth_credential_to_older_readers() {
        let mut file = AuthFile::default();
        put(&mut file, "notes", &sample());
        let json = serde_json::to_value(&file).unwrap();
        let e = &json["credentials"]["mcp:notes"];
        assert_eq!(e["provider"], "mcp:notes");
        assert_eq!(e["method"], "oauth");
        assert_eq!(e["secret"], "AT-secret");
        assert_eq!(e["mcp"]["refresh_token"], "RT-secret");
        assert_eq!(e["mcp"]["token_endpoint_auth_method"], "client_secret_basic");
        assert_eq!(e["mcp"]["client"], "dynamic_registration");
        // An older pincer's view: the schema of before, with `mcp` as an unknown key it keeps.
        #[derive(serde::Deserialize, serde::Serialize)]
        struct Old {
            provider: String,
            method: Method,
            secret: String,
            saved_at: Timestamp,
            expires_at: Option<Timestamp>,
            #[serde(flatten)]
            unknown: serde_json::Map<String, serde_json::Value>,
        }
        let old: Old = serde_json::from_value(e.clone()).unwrap();
        assert!(old.unknown.contains_key("mcp"));
        let rewritten = serde_json::to_value(&old).unwrap();
        assert_eq!(&rewritten["mcp"], &e["mcp"]);
    }

    #[test]
    fn round_trip_keeps_unknown_keys_and_debug_shows_no_secret() {
        let mut file = AuthFile::default();
        let mut s = sample();
        s.sign_in.unknown.insert("future".into(), serde_json::json!({"x": "FUTURE-SECRET"}));
        put(&mut file, "notes", &s);
        let text = serde_json::to_string(&file).unwrap();
        let back = crate::auth::store::parse_auth_json(text.as_bytes()).unwrap();
        let got = get(&back, "notes").unwrap();
        assert_eq!(got.sign_in.unknown["future"]["x"], "FUTURE-SECRET");
        assert_eq!(got.sign_in.refresh_token.as_ref().unwrap().expose(), "RT-secret");
        let debug = format!("{got:?} {back:?}");
        for secret in ["AT-secret", "RT-secret", "CS-secret", "FUTURE-SECRET"] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        assert_eq!(all(&back).len(), 1);
        let mut back = back;
        assert!(remove(&mut back, "notes").is_some());
        assert!(all(&back).is_empty());
    }
}
