//! JSON wire types of the HTTP API, shared by the server and the SDK.

mod cluster;
mod collection;
mod envelope;
mod headers;
pub mod messaging;

pub use cluster::{ClusterStatus, MemberRole, MemberStatus, ProposalCounts, RegionRtt};
pub use collection::{Collection, CollectionType, Field, FieldKind};
pub use envelope::{AuthResponse, ErrorEnvelope, FieldError, HealthResponse, ListResult};
pub use headers::{
    HEADER_AFTER, HEADER_CONSISTENCY, HEADER_FILE_NAME, HEADER_INDEX, HEADER_MAX_STALENESS_MS,
    HEADER_STALE_FALLBACK,
};

/// A record as the API shows it: a JSON object of field values plus `id`,
/// `collectionId` and `collectionName`.
pub type Record = serde_json::Map<String, serde_json::Value>;
