//! Realtime at every node: PocketBase's subscription topics and events, fed by the storage
//! engine's change feed so every node serves its own subscribers, each event checked against
//! the collection's rules with the subscriber's auth, and delivered in commit order. A
//! request naming a client held by another node is relayed there over the cluster transport.
//! No HTTP here: `edgebase-api` streams a [`Connection`]'s messages as SSE.

mod access;
mod client;
mod client_id;
mod hub;
mod oauth2;
mod relay;
mod ring;
mod topic;

pub use client::{ClientAuth, Message, ResumePoint};
pub use client_id::owner_of;
pub use hub::{
    Connection, Hub, HubLimits, RealtimeError, SubscribeRequest, CLIENT_ID_CHARS_MAX,
    REFETCH_EVENT, SUBSCRIPTIONS_MAX, TOPIC_CHARS_MAX,
};
pub use oauth2::{OAuth2Redirect, OAUTH2_TOPIC};
pub use ring::RingLimits;
pub use topic::{Subscription, Target};
