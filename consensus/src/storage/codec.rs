//! bincode 2 (serde, standard config, size-limited) for entries, votes, log ids and
//! memberships handed to the storage engine as opaque bytes.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::StorageAdapterError;

/// The largest value decoded; matches the storage engine's value limit.
const DECODE_BYTES_MAX: usize = edgebase_storage::VALUE_BYTES_MAX;

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<DECODE_BYTES_MAX>()
}

pub(crate) fn encode<T: Serialize>(
    value: &T,
    what: &'static str,
) -> Result<Vec<u8>, StorageAdapterError> {
    bincode::serde::encode_to_vec(value, config()).map_err(|error| StorageAdapterError::Encode {
        what,
        detail: error.to_string(),
    })
}

pub(crate) fn decode<T: DeserializeOwned>(
    bytes: &[u8],
    what: &'static str,
) -> Result<T, StorageAdapterError> {
    let (value, read) = bincode::serde::decode_from_slice(bytes, config()).map_err(|error| {
        StorageAdapterError::Decode {
            what,
            detail: error.to_string(),
        }
    })?;
    if read != bytes.len() {
        return Err(StorageAdapterError::Decode {
            what,
            detail: format!("{} trailing bytes", bytes.len() - read),
        });
    }
    Ok(value)
}

pub(crate) fn decode_optional<T: DeserializeOwned>(
    bytes: Option<Vec<u8>>,
    what: &'static str,
) -> Result<Option<T>, StorageAdapterError> {
    bytes.map(|bytes| decode(&bytes, what)).transpose()
}
