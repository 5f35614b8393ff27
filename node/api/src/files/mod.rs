//! File fields over HTTP: downloads (with PocketBase's headers, ranges and validators),
//! protected-file tokens and thumbnails.

pub mod batch_body;
pub mod download;
pub mod ranged_body;
pub mod record_body;
pub mod token;
