//! Identity: password hashing, auth tokens, and who a request is from.

pub mod login_guard;
pub mod oauth2_client;
pub mod password;
pub mod principal;
pub mod record_token;
pub mod token;
