//! An MCP server's sign-in as `auth.json` keeps it (`credentials["mcp:NAME"].mcp`): the store
//! owns the shape, so it never needs the OAuth code that fills it (`mcp::oauth`).

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// How the client proves itself at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// A public client: `client_id` in the body, no secret.
    None,
    ClientSecretPost,
    ClientSecretBasic,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::None => "none",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::ClientSecretBasic => "client_secret_basic",
        }
    }

    pub fn parse(text: &str) -> Option<AuthMethod> {
        [AuthMethod::None, AuthMethod::ClientSecretPost, AuthMethod::ClientSecretBasic]
            .into_iter()
            .find(|m| m.as_str() == text)
    }
}

/// Where the client identity came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientSource {
    PreRegistered,
    MetadataDocument,
    DynamicRegistration,
}

impl ClientSource {
    pub fn describe(self) -> &'static str {
        match self {
            ClientSource::PreRegistered => "pre-registered client",
            ClientSource::MetadataDocument => "client ID metadata document",
            ClientSource::DynamicRegistration => "dynamic registration",
        }
    }
}

/// The `mcp` object of an entry.
#[derive(Clone, Serialize, Deserialize)]
pub struct McpSignIn {
    /// The `[mcp.NAME] url` signed in to: the token goes to this origin only.
    pub server_url: String,
    /// The `resource` of token requests (RFC 8707).
    pub resource: String,
    pub issuer: String,
    pub token_endpoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<Secret<String>>,
    pub token_endpoint_auth_method: AuthMethod,
    pub client: ClientSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret<String>>,
    /// Granted (or, when the server did not say, requested) scopes.
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(flatten)]
    pub unknown: serde_json::Map<String, serde_json::Value>,
}

impl std::fmt::Debug for McpSignIn {
    /// Without the unknown keys' values: a newer pincer's additions may be secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpSignIn")
            .field("server_url", &self.server_url)
            .field("resource", &self.resource)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("client", &self.client)
            .field("refresh_token", &self.refresh_token)
            .field("scopes", &self.scopes)
            .field("unknown_keys", &self.unknown.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}
