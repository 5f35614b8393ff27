//! Mutual TLS between nodes: the cluster CA, node certificates and the quinn configs built
//! from them.
//!
//! Every node presents a certificate signed by the cluster CA whose DNS SAN
//! `node-{id}.edgebase` names it. A server requires a client certificate from the same CA; a
//! dialer verifies the server name `node-{peer}.edgebase`, so both sides know who answered.

mod certs;
mod error;
mod material;
mod paths;

pub use certs::{
    generate_ca, generate_node_cert, node_id_from_cert, node_server_name, ANY_MEMBER_SERVER_NAME,
    CA_CERT_FILE, CA_KEY_FILE, NODE_CERT_FILE, NODE_KEY_FILE,
};
pub use error::TlsError;
pub use material::TlsMaterial;
pub use paths::TlsPaths;
