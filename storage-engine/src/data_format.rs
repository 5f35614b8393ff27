//! The data dir's format version, kept in the Raft metadata column family. A binary opens a
//! data dir of its own format or an older one (upgrading it in place, then stamping its own
//! format, synced) and refuses one written by a newer binary before touching anything, with
//! a message that says so. Format 1 is every data dir written before versions were kept
//! (records as bincode around JSON, or the field-offset layout: both are read); format 2
//! adds nothing to migrate, only the stamp.

use rocksdb::{WriteBatch, WriteOptions, DB};

use crate::StorageError;

/// The format this build writes.
pub const DATA_FORMAT: u64 = 2;
/// What a data dir without a stamp is.
const UNSTAMPED_FORMAT: u64 = 1;
const FORMAT_KEY: &[u8] = b"data_format";

/// Check `db`'s format against this build's and bring an older one up to it; the format
/// it had.
pub(crate) fn check_and_upgrade(db: &DB, meta_cf: &str) -> Result<u64, StorageError> {
    let stored = read(db, meta_cf)?;
    if stored > DATA_FORMAT {
        return Err(StorageError::NewerDataFormat {
            found: stored,
            supported: DATA_FORMAT,
        });
    }
    if stored < DATA_FORMAT {
        // Formats 1 -> 2: nothing to rewrite (old records are read as they are and rewritten
        // by their next write). Later upgrades go here, one step at a time.
        write(db, meta_cf, DATA_FORMAT)?;
        tracing::info!(
            from = stored,
            to = DATA_FORMAT,
            "upgraded the data dir's format"
        );
    }
    Ok(stored)
}

/// The format stamped in `db` (format 1 when none is).
pub(crate) fn read(db: &DB, meta_cf: &str) -> Result<u64, StorageError> {
    match db.get_cf(meta(db, meta_cf)?, FORMAT_KEY)? {
        Some(bytes) => {
            let array: [u8; 8] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| StorageError::corrupt("data format", "not 8 bytes"))?;
            Ok(u64::from_be_bytes(array))
        }
        None => Ok(UNSTAMPED_FORMAT),
    }
}

/// Stamp `format` in `db`, synced.
pub(crate) fn write(db: &DB, meta_cf: &str, format: u64) -> Result<(), StorageError> {
    let mut batch = WriteBatch::default();
    batch.put_cf(meta(db, meta_cf)?, FORMAT_KEY, format.to_be_bytes());
    let mut synced = WriteOptions::default();
    synced.set_sync(true);
    db.write_opt(batch, &synced)?;
    Ok(())
}

fn meta<'db>(db: &'db DB, meta_cf: &str) -> Result<&'db rocksdb::ColumnFamily, StorageError> {
    db.cf_handle(meta_cf)
        .ok_or_else(|| StorageError::corrupt("data dir", "the metadata column family is missing"))
}

#[cfg(test)]
mod tests {
    use crate::{StorageError, Store};

    use super::*;

    #[test]
    fn newer_formats_are_refused_and_older_ones_upgraded() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.data_format().unwrap(), DATA_FORMAT);
        store.stamp_format(DATA_FORMAT + 1).unwrap();
        drop(store);
        match Store::open(dir.path()) {
            Err(StorageError::NewerDataFormat { found, supported }) => {
                assert_eq!((found, supported), (DATA_FORMAT + 1, DATA_FORMAT));
            }
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("a newer format was opened"),
        }
        // An older (unstamped) one opens and is stamped.
        let old = tempfile::tempdir().unwrap();
        let store = Store::open(old.path()).unwrap();
        store.stamp_format(UNSTAMPED_FORMAT).unwrap();
        drop(store);
        let store = Store::open(old.path()).unwrap();
        assert_eq!(store.data_format().unwrap(), DATA_FORMAT);
    }
}
