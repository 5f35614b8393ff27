//! Length-prefixed frames: a u32 big-endian byte count, then a bincode 2 (serde) payload.
//!
//! Frame sizes are checked against [`MAX_FRAME_BYTES`] before anything is allocated, on both
//! the sending and the receiving side.

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::transport::TransportError;

/// Largest payload one frame may carry. Snapshot chunks are 1 MiB
/// (`snapshot_max_chunk_size`) and append-entries batches are bounded by
/// `max_payload_entries`, so 16 MiB leaves ample room.
pub const MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;

fn bincode_config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<MAX_FRAME_BYTES>()
}

/// Serialize `message` into a frame (length prefix included).
/// How many bytes `message` takes encoded (0 if it cannot be encoded), without encoding it
/// into memory.
pub fn encoded_len<T: Serialize>(message: &T) -> usize {
    let mut counter = bincode::enc::write::SizeWriter::default();
    match bincode::serde::encode_into_writer(message, &mut counter, bincode_config()) {
        Ok(()) => counter.bytes_written,
        Err(_) => 0,
    }
}

pub fn encode_frame<T: Serialize>(message: &T) -> Result<Vec<u8>, TransportError> {
    let mut frame = vec![0u8; 4];
    bincode::serde::encode_into_std_write(message, &mut frame, bincode_config())
        .map_err(|e| TransportError::Encode(e.to_string()))?;
    let len_bytes = frame.len() - 4;
    if len_bytes > MAX_FRAME_BYTES {
        return Err(TransportError::FrameTooLarge {
            len_bytes: len_bytes as u64,
            max_bytes: MAX_FRAME_BYTES as u64,
        });
    }
    let len = u32::try_from(len_bytes).map_err(|_| TransportError::FrameTooLarge {
        len_bytes: len_bytes as u64,
        max_bytes: MAX_FRAME_BYTES as u64,
    })?;
    frame[..4].copy_from_slice(&len.to_be_bytes());
    Ok(frame)
}

/// Decode one frame's payload (without its length prefix).
pub fn decode_payload<T: DeserializeOwned>(payload: &[u8]) -> Result<T, TransportError> {
    let (message, used) = bincode::serde::decode_from_slice(payload, bincode_config())
        .map_err(|e| TransportError::Decode(e.to_string()))?;
    if used != payload.len() {
        return Err(TransportError::Decode(format!(
            "{} trailing bytes after message",
            payload.len() - used
        )));
    }
    Ok(message)
}

/// Write one already-encoded frame.
pub async fn write_frame<W: AsyncWrite + Unpin>(
    writer: &mut W,
    frame: &[u8],
) -> std::io::Result<()> {
    writer.write_all(frame).await?;
    writer.flush().await
}

/// Why reading a frame failed.
#[derive(Debug, thiserror::Error)]
pub enum FrameReadError {
    #[error("read frame: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Invalid(#[from] TransportError),
}

/// Read one frame's payload, refusing (without allocating) any frame over the limit.
pub async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R) -> Result<Vec<u8>, FrameReadError> {
    let mut header = [0u8; 4];
    reader.read_exact(&mut header).await?;
    let len_bytes = u32::from_be_bytes(header) as usize;
    if len_bytes > MAX_FRAME_BYTES {
        return Err(TransportError::FrameTooLarge {
            len_bytes: len_bytes as u64,
            max_bytes: MAX_FRAME_BYTES as u64,
        }
        .into());
    }
    let mut payload = vec![0u8; len_bytes];
    reader.read_exact(&mut payload).await?;
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_round_trip_and_oversized_frames_are_refused() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        let message = (7u64, "seven".to_string(), vec![1u8, 2, 3]);
        let frame = encode_frame(&message).expect("encode");
        let writer = tokio::spawn(async move {
            write_frame(&mut a, &frame).await.expect("write");
            let oversized = ((MAX_FRAME_BYTES + 1) as u32).to_be_bytes();
            write_frame(&mut a, &oversized).await.expect("write header");
        });
        let payload = read_frame(&mut b).await.expect("read");
        let decoded: (u64, String, Vec<u8>) = decode_payload(&payload).expect("decode");
        assert_eq!(decoded, message);
        let err = read_frame(&mut b).await.expect_err("oversized frame");
        assert!(matches!(
            err,
            FrameReadError::Invalid(TransportError::FrameTooLarge { .. })
        ));
        writer.await.expect("writer task");
    }

    #[test]
    fn garbage_payload_is_a_decode_error() {
        let err = decode_payload::<(u64, String)>(&[0xff; 3]).expect_err("garbage");
        assert!(matches!(err, TransportError::Decode(_)));
        let frame = encode_frame(&(1u64, 2u64)).expect("encode");
        let err = decode_payload::<u64>(&frame[4..]).expect_err("trailing bytes");
        assert!(matches!(err, TransportError::Decode(_)));
    }
}
