//! EdgeBase's Rust SDK and the JSON wire types of its HTTP API.
//!
//! ```no_run
//! # async fn demo() -> Result<(), edgebase_client::ClientError> {
//! use edgebase_client::{Client, Totals};
//! let client = Client::new("http://127.0.0.1:8090")?;
//! client.superuser_login("admin@example.com", "secret-password").await?;
//! let record = client.records("posts").create(&serde_json::json!({"title": "hi"})).await?;
//! let page = client.records("posts").list(1, 30, Totals::Skip).await?;
//! // Read-your-writes: the list was sent with `X-Edgebase-After: <index of the create>`.
//! assert!(page.items.iter().any(|item| item.get("id") == record.get("id")));
//! # Ok(()) }
//! ```

mod client;
mod collections;
mod consistency;
mod error;
mod messages;
mod node_pool;
mod realtime;
mod records;
pub use edgebase_wire as wire;

pub use client::{Client, ClientOptions};
pub use collections::Collections;
pub use consistency::Consistency;
pub use error::ClientError;
pub use messages::Messages;
pub use node_pool::{
    NodeLatency, NodeSelection, NODES_MAX, PROBE_INTERVAL_MIN_MS, PROBE_SAMPLES_MAX,
};
pub use realtime::{RealtimeEvent, Subscription};
pub use records::{Records, Totals};
pub use wire::Record;
