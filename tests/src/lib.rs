//! Test harness for EdgeBase: real `edgebase` (and PocketBase) processes on loopback, no mocks.
//!
//! The integration tests in `tests/tests/` build on these pieces: `Node` and `Cluster` start
//! processes, `wait_until` polls with a deadline, `run_test` bounds a test in time and prints
//! node logs on failure, `conformance` replays scenarios against two servers, and
//! `push_services` stands in for Web Push, FCM, APNs and an SMS gateway.

mod binary;
mod cli;
mod cluster;
pub mod conformance;
mod data;
mod harness;
mod images;
pub mod linearizability;
pub mod messages;
mod multipart;
pub mod nemesis;
mod node;
mod node_script;
pub mod oauth2_flow;
mod oidc_provider;
mod pebble;
mod ports;
mod process;
pub mod push_services;
mod raw;
pub mod regions;
pub mod rolling;
mod s3_server;
mod seed;
mod smtp_sink;
mod sse;
mod tcp_proxy;
mod tls;
mod wait;

pub use binary::{edgebase_binary, package_dir, pocketbase_binary, previous_release_binary};
pub use cli::{Cli, CommandOutput, COMMAND_TIMEOUT};
pub use cluster::{
    superuser_env, Cluster, ClusterBuilder, NODE_START_TIMEOUT, SUPERUSER_EMAIL, SUPERUSER_PASSWORD,
};
pub use data::{all_records, blob_path, string_field};
pub use harness::{run_test, TestContext};
pub use images::{png, png_size};
pub use multipart::MultipartBody;
pub use node::{Node, NodeSpec};
pub use node_script::{conformance_dir, NodeScript, SCRIPT_TIMEOUT};
pub use oidc_provider::{avatar_png, OidcProvider, UserSource, CLIENT_ID, CLIENT_SECRET};
pub use pebble::Pebble;
pub use ports::{free_addr, free_addr_pair};
pub use process::{log_tail, ServerProcess};
pub use raw::{RawBody, RawClient, RawResponse};
pub use s3_server::{bucket_key, S3Server};
pub use seed::{seeded_rng, SEED_VARIABLE};
pub use smtp_sink::{SmtpSink, MAIL_TIMEOUT};
pub use sse::{SseClient, SseEvent};
pub use tcp_proxy::TcpProxy;
pub use tls::{
    certificates_in, describe_certificate, presented_chain, write_atomically, CertificateFacts,
    IssuedPair, TestCa,
};
pub use wait::wait_until;
