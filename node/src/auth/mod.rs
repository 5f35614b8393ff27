//! Identity: password hashing, auth tokens, and who a request is from.

pub mod login_guard;
pub mod password;
pub mod principal;
pub mod token;
