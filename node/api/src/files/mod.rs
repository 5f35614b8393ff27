//! File fields over HTTP: downloads (with PocketBase's headers, ranges and validators),
//! protected-file tokens and thumbnails.

pub mod ranged_body;
