//! Identity mechanics with no HTTP in them: argon2id password hashes (on the blocking
//! pool), auth and record tokens (HS256 JWTs), the OAuth2 client, Apple's client secret,
//! and the failed sign-in guard.

pub mod apple_client_secret;
pub mod login_guard;
pub mod oauth2_client;
pub mod password;
pub mod record_token;
pub mod token;
