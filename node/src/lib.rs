//! The `edgebase` node: HTTP API, auth, operator CLI and start-up, over the consensus
//! and storage crates.

pub mod admin_socket;
pub mod api;
pub mod app;
pub mod auth;
pub mod boot;
pub mod cli;
pub mod domain;
pub mod mail;
pub mod parsed_cache;
pub mod rate_limiter;
pub mod serve;
