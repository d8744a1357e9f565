//! Credentials: their kinds and token rules, the `auth.json` store, `Secret<T>`, and the one
//! ordered chain that decides which credential a provider uses.

pub mod credential;
pub mod fields;
pub mod mcp_sign_in;
pub mod resolve;
pub mod store;
