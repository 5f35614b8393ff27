//! The snapshot file format: a framed, checksummed stream of the state machine's keys.
//!
//! Layout: the magic `EBSNAP01`, then one frame per key — `key_len: u32 LE`,
//! `value_len: u32 LE`, key, value, `crc32(lengths, key, value): u32 LE` — then an end marker
//! (`u32::MAX`), the number of frames (`u64 LE`) and the CRC-32 of that count. Reading checks
//! every frame's checksum, the count and that nothing follows, so a truncated, corrupted or
//! padded file is refused before anything is installed. Frames are bounded
//! ([`SNAPSHOT_KEY_BYTES_MAX`], [`SNAPSHOT_VALUE_BYTES_MAX`]): reading never holds more than
//! one frame in memory.
//!
//! Why our own stream and not a RocksDB `Checkpoint`: a checkpoint copies every column
//! family, the Raft log included, as a directory of files; we need the state alone as one
//! file openraft can ship. The stream is read from a RocksDB snapshot (a consistent view),
//! and installed through [`crate::KvBackend::replace_all`], which is atomic.

use std::io::{ErrorKind, Read, Write};

use crate::kv::{KvPair, KvSource};
use crate::state_machine::AppliedMeta;
use crate::StorageError;

const MAGIC: &[u8; 8] = b"EBSNAP01";
const END_MARKER: u32 = u32::MAX;
/// The largest key a snapshot frame may carry.
pub const SNAPSHOT_KEY_BYTES_MAX: u32 = 1 << 20;
/// The largest value a snapshot frame may carry.
pub const SNAPSHOT_VALUE_BYTES_MAX: u32 = 64 << 20;

/// What [`crate::StateMachine::build_snapshot`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotStats {
    /// Size of the file.
    pub bytes: u64,
    /// Number of keys in it.
    pub keys: u64,
    /// The applied log id and membership the snapshot contains (read from the same
    /// consistent view as the keys).
    pub applied: AppliedMeta,
}

/// Writes frames to `out`.
pub(crate) struct SnapshotWriter<W: Write> {
    out: W,
    keys: u64,
    bytes: u64,
}

impl<W: Write> SnapshotWriter<W> {
    pub(crate) fn new(mut out: W) -> std::io::Result<Self> {
        out.write_all(MAGIC)?;
        Ok(Self {
            out,
            keys: 0,
            bytes: MAGIC.len() as u64,
        })
    }

    pub(crate) fn push(&mut self, key: &[u8], value: &[u8]) -> Result<(), StorageError> {
        let key_len = frame_len(key.len(), SNAPSHOT_KEY_BYTES_MAX, "snapshot key")?;
        let value_len = frame_len(value.len(), SNAPSHOT_VALUE_BYTES_MAX, "snapshot value")?;
        let mut crc = crc32fast::Hasher::new();
        crc.update(&key_len.to_le_bytes());
        crc.update(&value_len.to_le_bytes());
        crc.update(key);
        crc.update(value);
        let write = |out: &mut W| -> std::io::Result<()> {
            out.write_all(&key_len.to_le_bytes())?;
            out.write_all(&value_len.to_le_bytes())?;
            out.write_all(key)?;
            out.write_all(value)?;
            out.write_all(&crc.finalize().to_le_bytes())
        };
        write(&mut self.out).map_err(snapshot_io)?;
        self.keys += 1;
        self.bytes += 4 + 4 + key.len() as u64 + value.len() as u64 + 4;
        Ok(())
    }

    /// Write the end marker; returns the output, the number of keys and of bytes.
    pub(crate) fn finish(mut self) -> Result<(W, u64, u64), StorageError> {
        let count = self.keys.to_le_bytes();
        let write = |out: &mut W| -> std::io::Result<()> {
            out.write_all(&END_MARKER.to_le_bytes())?;
            out.write_all(&count)?;
            out.write_all(&crc32fast::hash(&count).to_le_bytes())?;
            out.flush()
        };
        write(&mut self.out).map_err(snapshot_io)?;
        Ok((self.out, self.keys, self.bytes + 4 + 8 + 4))
    }
}

/// Reads and verifies frames from `input`.
pub(crate) struct SnapshotReader<R: Read> {
    input: R,
    keys: u64,
    finished: bool,
}

impl<R: Read> SnapshotReader<R> {
    pub(crate) fn new(mut input: R) -> Result<Self, StorageError> {
        let mut magic = [0u8; 8];
        read_exact(&mut input, &mut magic)?;
        if &magic != MAGIC {
            return Err(StorageError::Snapshot(
                "not a snapshot file (bad magic)".into(),
            ));
        }
        Ok(Self {
            input,
            keys: 0,
            finished: false,
        })
    }

    fn read_u32(&mut self) -> Result<u32, StorageError> {
        let mut bytes = [0u8; 4];
        read_exact(&mut self.input, &mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    }

    fn read_end(&mut self) -> Result<(), StorageError> {
        let mut count = [0u8; 8];
        read_exact(&mut self.input, &mut count)?;
        let crc = self.read_u32()?;
        if crc != crc32fast::hash(&count) {
            return Err(StorageError::Snapshot(
                "end marker checksum mismatch".into(),
            ));
        }
        let expected = u64::from_le_bytes(count);
        if expected != self.keys {
            return Err(StorageError::Snapshot(format!(
                "end marker says {expected} keys, read {}",
                self.keys
            )));
        }
        let mut extra = [0u8; 1];
        match self.input.read(&mut extra) {
            Ok(0) => Ok(()),
            Ok(_) => Err(StorageError::Snapshot("data after the end marker".into())),
            Err(error) => Err(snapshot_io(error)),
        }
    }
}

impl<R: Read> KvSource for SnapshotReader<R> {
    fn next_pair(&mut self) -> Result<Option<KvPair>, StorageError> {
        if self.finished {
            return Ok(None);
        }
        let key_len = self.read_u32()?;
        if key_len == END_MARKER {
            self.read_end()?;
            self.finished = true;
            return Ok(None);
        }
        let value_len = self.read_u32()?;
        if key_len > SNAPSHOT_KEY_BYTES_MAX || value_len > SNAPSHOT_VALUE_BYTES_MAX {
            return Err(StorageError::Snapshot(format!(
                "frame of key {key_len} bytes and value {value_len} bytes exceeds the limits"
            )));
        }
        let mut key = vec![0u8; key_len as usize];
        read_exact(&mut self.input, &mut key)?;
        let mut value = vec![0u8; value_len as usize];
        read_exact(&mut self.input, &mut value)?;
        let crc = self.read_u32()?;
        let mut expected = crc32fast::Hasher::new();
        expected.update(&key_len.to_le_bytes());
        expected.update(&value_len.to_le_bytes());
        expected.update(&key);
        expected.update(&value);
        if crc != expected.finalize() {
            return Err(StorageError::Snapshot(format!(
                "checksum mismatch in frame {}",
                self.keys
            )));
        }
        self.keys += 1;
        Ok(Some((key, value)))
    }
}

fn frame_len(len: usize, max: u32, what: &'static str) -> Result<u32, StorageError> {
    match u32::try_from(len) {
        Ok(len) if len <= max => Ok(len),
        _ => Err(StorageError::TooLarge {
            what,
            bytes: len as u64,
            max_bytes: u64::from(max),
        }),
    }
}

fn read_exact(input: &mut impl Read, buffer: &mut [u8]) -> Result<(), StorageError> {
    input.read_exact(buffer).map_err(|error| {
        if error.kind() == ErrorKind::UnexpectedEof {
            StorageError::Snapshot("file is truncated".into())
        } else {
            snapshot_io(error)
        }
    })
}

fn snapshot_io(error: std::io::Error) -> StorageError {
    StorageError::Snapshot(format!("i/o: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut writer = SnapshotWriter::new(Vec::new()).expect("write to a Vec");
        for (key, value) in pairs {
            writer.push(key, value).expect("small frame");
        }
        writer.finish().expect("write to a Vec").0
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<KvPair>, StorageError> {
        let mut reader = SnapshotReader::new(bytes)?;
        let mut pairs = Vec::new();
        while let Some(pair) = reader.next_pair()? {
            pairs.push(pair);
        }
        Ok(pairs)
    }

    #[test]
    fn round_trip() {
        let bytes = written(&[(b"a", b"1"), (b"b", b""), (b"", b"x")]);
        let pairs = read_all(&bytes).expect("valid file");
        assert_eq!(pairs.len(), 3);
        assert_eq!(pairs[0], (b"a".to_vec(), b"1".to_vec()));
    }

    #[test]
    fn damaged_files_are_refused() {
        let bytes = written(&[(b"key", b"value"), (b"k2", b"v2")]);
        let check = |damaged: Vec<u8>, case: &str| {
            assert!(read_all(&damaged).is_err(), "{case} was accepted");
        };
        check(bytes[..bytes.len() - 1].to_vec(), "truncated end");
        check(bytes[..20].to_vec(), "truncated frame");
        let mut flipped = bytes.clone();
        flipped[20] ^= 0x01;
        check(flipped, "flipped bit");
        let mut padded = bytes.clone();
        padded.push(0);
        check(padded, "trailing byte");
        let mut magic = bytes.clone();
        magic[0] = b'X';
        check(magic, "bad magic");
        check(Vec::new(), "empty file");
    }
}
