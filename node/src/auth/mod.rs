//! Identity: password hashing, auth tokens, and who a request is from.

pub mod password;
pub mod principal;
pub mod record_token;
pub mod token;
