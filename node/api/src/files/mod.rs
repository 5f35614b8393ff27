//! File fields over HTTP: downloads (with PocketBase's headers, ranges and validators),
//! protected-file tokens, thumbnails, and resumable (tus) uploads.

pub mod batch_body;
pub mod download;
pub mod ranged_body;
pub mod record_body;
pub mod record_rule;
pub mod token;
pub mod tus;
