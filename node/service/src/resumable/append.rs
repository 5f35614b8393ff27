//! Appending one request's bytes to an upload: written as they arrive (never whole in
//! memory), bounded by what the upload still lacks and by one request's limit, and in time
//! by [`BODY_IDLE_MAX`] between pieces, checked
//! against the request's `Upload-Checksum` when it sent one (a mismatch keeps nothing), and
//! synced before the new offset is reported.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::ResumableError;

/// A checksum a request's bytes must have (tus's checksum extension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checksum {
    Sha1(Vec<u8>),
    Sha256(Vec<u8>),
}

/// Longest wait for the next piece of a request's body before it counts as cut off.
pub const BODY_IDLE_MAX: Duration = Duration::from_secs(30);

/// The algorithms `Tus-Checksum-Algorithm` names.
pub const CHECKSUM_ALGORITHMS: &str = "sha1,sha256";

impl Checksum {
    /// `algorithm` and the digest's bytes, from `Upload-Checksum`; `None` for an algorithm
    /// this server does not know.
    pub fn new(algorithm: &str, digest: Vec<u8>) -> Option<Checksum> {
        match algorithm {
            "sha1" => Some(Checksum::Sha1(digest)),
            "sha256" => Some(Checksum::Sha256(digest)),
            _ => None,
        }
    }
}

enum Hasher {
    None,
    Sha1(Sha1),
    Sha256(Sha256),
}

impl Hasher {
    fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::None => {}
            Hasher::Sha1(hasher) => hasher.update(bytes),
            Hasher::Sha256(hasher) => hasher.update(bytes),
        }
    }
}

/// Append `body` to the file at `path`, which holds `offset` bytes, taking at most
/// `bytes_max`; the new offset.
pub(crate) async fn append<S, E>(
    path: &Path,
    offset: u64,
    bytes_max: u64,
    body: S,
    checksum: Option<&Checksum>,
) -> Result<u64, ResumableError>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .await
        .map_err(ResumableError::io("open an upload"))?;
    file.set_len(offset)
        .await
        .map_err(ResumableError::io("trim an upload"))?;
    let mut file = tokio::io::BufWriter::with_capacity(256 * 1024, file);
    tokio::io::AsyncSeekExt::seek(&mut file, std::io::SeekFrom::Start(offset))
        .await
        .map_err(ResumableError::io("seek an upload"))?;
    let mut hasher = match checksum {
        None => Hasher::None,
        Some(Checksum::Sha1(_)) => Hasher::Sha1(Sha1::new()),
        Some(Checksum::Sha256(_)) => Hasher::Sha256(Sha256::new()),
    };
    let mut written: u64 = 0;
    let mut failure = None;
    futures::pin_mut!(body);
    loop {
        let chunk = match tokio::time::timeout(BODY_IDLE_MAX, body.next()).await {
            Ok(None) => break,
            Ok(Some(Ok(chunk))) => chunk,
            Ok(Some(Err(error))) => {
                failure = Some(ResumableError::BodyCut(error.to_string()));
                break;
            }
            Err(_) => {
                failure = Some(ResumableError::BodyCut(format!(
                    "nothing arrived for {} s",
                    BODY_IDLE_MAX.as_secs()
                )));
                break;
            }
        };
        if written + chunk.len() as u64 > bytes_max {
            failure = Some(ResumableError::TooLarge(format!(
                "The request carries more than the {bytes_max} bytes the upload may still take."
            )));
            break;
        }
        hasher.update(&chunk);
        file.write_all(&chunk)
            .await
            .map_err(ResumableError::io("write an upload"))?;
        written += chunk.len() as u64;
    }
    file.flush()
        .await
        .map_err(ResumableError::io("write an upload"))?;
    let file = file.into_inner();
    let matches = match (hasher, checksum) {
        (Hasher::None, _) | (_, None) => true,
        (Hasher::Sha1(hasher), Some(Checksum::Sha1(expected))) => {
            hasher.finalize().as_slice() == expected.as_slice()
        }
        (Hasher::Sha256(hasher), Some(Checksum::Sha256(expected))) => {
            hasher.finalize().as_slice() == expected.as_slice()
        }
        _ => false,
    };
    // Keep what arrived only when nothing says it is wrong: a checksummed request is kept
    // whole or not at all, and bytes past the bound never.
    let keep = match &failure {
        None => matches,
        Some(ResumableError::BodyCut(_)) => checksum.is_none(),
        Some(_) => false,
    };
    let end = if keep { offset + written } else { offset };
    file.set_len(end)
        .await
        .map_err(ResumableError::io("trim an upload"))?;
    file.sync_data()
        .await
        .map_err(ResumableError::io("sync an upload"))?;
    match failure {
        Some(failure) => Err(failure),
        None if !matches => Err(ResumableError::ChecksumMismatch),
        None => Ok(end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(chunks: &[&'static [u8]]) -> impl Stream<Item = Result<Bytes, String>> {
        futures::stream::iter(
            chunks
                .iter()
                .map(|c| Ok(Bytes::from_static(c)))
                .collect::<Vec<_>>(),
        )
    }

    #[tokio::test]
    async fn appends_checks_and_keeps_nothing_wrong() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("data");
        std::fs::write(&path, b"").expect("create");
        let offset = append(&path, 0, 10, body(&[b"abc", b"de"]), None)
            .await
            .expect("append");
        assert_eq!(offset, 5);
        let sha1 = Sha1::digest(b"fg").to_vec();
        let offset = append(&path, 5, 5, body(&[b"fg"]), Some(&Checksum::Sha1(sha1)))
            .await
            .expect("checksummed");
        assert_eq!(offset, 7);
        let wrong = Checksum::Sha256(vec![0; 32]);
        let refused = append(&path, 7, 3, body(&[b"hi"]), Some(&wrong)).await;
        assert!(
            matches!(refused, Err(ResumableError::ChecksumMismatch)),
            "{refused:?}"
        );
        let too_much = append(&path, 7, 3, body(&[b"hi", b"jk"]), None).await;
        assert!(
            matches!(too_much, Err(ResumableError::TooLarge(_))),
            "{too_much:?}"
        );
        assert_eq!(std::fs::read(&path).expect("read"), b"abcdefg");

        let cut =
            futures::stream::iter(vec![Ok(Bytes::from_static(b"hi")), Err("cut".to_string())]);
        let kept = append(&path, 7, 3, cut, None).await;
        assert!(matches!(kept, Err(ResumableError::BodyCut(_))), "{kept:?}");
        assert_eq!(
            std::fs::read(&path).expect("read"),
            b"abcdefghi",
            "a cut body keeps what came"
        );
    }
}
