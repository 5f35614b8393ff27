//! The thumbs one node has made, on disk under its blob store (`blobs/thumbs/ab/<blob>/
//! <size>`, so a thumb belongs to the content it was made from and goes with it), made once:
//! concurrent requests for the same thumb wait for one rendering, at most a few render at
//! once, and waiting for a turn is bounded.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

use super::{render, ThumbSize};

/// Thumbs rendered at once on this node.
const RENDERS_MAX: usize = 2;
/// Longest a request waits for a turn before it is served the original.
const RENDER_WAIT: Duration = Duration::from_secs(60);

pub struct Thumbs {
    dir: PathBuf,
    renders: Arc<Semaphore>,
    in_flight: Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>,
}

impl Thumbs {
    pub fn new(dir: PathBuf) -> Thumbs {
        Thumbs {
            dir,
            renders: Arc::new(Semaphore::new(RENDERS_MAX)),
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    /// Where the thumbs of one blob are kept.
    pub fn dir_of(&self, blob_hex: &str) -> PathBuf {
        self.dir
            .join(blob_hex.get(..2).unwrap_or("00"))
            .join(blob_hex)
    }

    /// The thumb `size_text` of the blob at `source`, made now if this node has not yet;
    /// `None` when it cannot be made (the caller serves the original, as PocketBase does).
    pub async fn get(
        &self,
        blob_hex: &str,
        source: &Path,
        stored_type: &str,
        size_text: &str,
    ) -> Option<PathBuf> {
        let size = ThumbSize::parse(size_text)?;
        let out = self.dir_of(blob_hex).join(size_text);
        if out.exists() {
            return Some(out);
        }
        let turn = {
            let mut in_flight = self
                .in_flight
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            in_flight.entry(out.clone()).or_default().clone()
        };
        let made = {
            let _one_at_a_time = turn.lock().await;
            if out.exists() {
                Some(out.clone())
            } else {
                self.make(source, stored_type, size, &out).await
            }
        };
        let mut in_flight = self
            .in_flight
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if Arc::strong_count(&turn) <= 2 {
            in_flight.remove(&out);
        }
        made
    }

    async fn make(
        &self,
        source: &Path,
        stored_type: &str,
        size: ThumbSize,
        out: &Path,
    ) -> Option<PathBuf> {
        let permit = match tokio::time::timeout(RENDER_WAIT, self.renders.clone().acquire_owned())
            .await
        {
            Ok(Ok(permit)) => permit,
            _ => {
                tracing::warn!(thumb = %out.display(), "no turn to render a thumb in time; serving the original");
                return None;
            }
        };
        let (source, stored_type, out_path) = (
            source.to_path_buf(),
            stored_type.to_string(),
            out.to_path_buf(),
        );
        let rendered = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            render(&source, &stored_type, size, &out_path)
        })
        .await;
        match rendered {
            Ok(Ok(())) => Some(out.to_path_buf()),
            Ok(Err(error)) => {
                tracing::warn!(thumb = %out.display(), %error, "thumb not made; serving the original");
                None
            }
            Err(error) => {
                tracing::warn!(thumb = %out.display(), %error, "thumb render failed; serving the original");
                None
            }
        }
    }
}
