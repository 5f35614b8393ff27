//! What a filter may read of the HTTP request (`@request.*`) and the clock (`@now`, ...):
//! plain data the HTTP layer fills in, so evaluation itself reads no clock.

use serde_json::{Map, Value};

/// The request a filter or rule is evaluated for.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestContext {
    /// The authenticated record's fields, hidden ones included (and `email` whatever its
    /// `emailVisibility`), plus `id`, `collectionId` and `collectionName`; None for a guest.
    /// Fields other than `id`, `collectionId`, `collectionName`, `email`,
    /// `emailVisibility` and `verified` are read from the stored record when it exists.
    pub auth: Option<Map<String, Value>>,
    /// The request body (`@request.body.*`), as parsed JSON or form fields.
    pub body: Map<String, Value>,
    /// Query parameters (`@request.query.*`).
    pub query: Map<String, Value>,
    /// Headers with lower-cased names and `-` turned into `_` (`@request.headers.*`).
    pub headers: Map<String, Value>,
    /// `GET`, `POST`, ...
    pub method: String,
    /// `default`, `oauth2`, `otp`, `password`, `realtime`, `protectedFile`.
    pub context: String,
    /// The current time in milliseconds since the Unix epoch (UTC), for `@now` and friends.
    pub now_unix_ms: i64,
}

impl RequestContext {
    /// A guest GET request at `now_unix_ms` with nothing else set.
    pub fn at(now_unix_ms: i64) -> RequestContext {
        RequestContext {
            auth: None,
            body: Map::new(),
            query: Map::new(),
            headers: Map::new(),
            method: "GET".into(),
            context: "default".into(),
            now_unix_ms,
        }
    }
}
