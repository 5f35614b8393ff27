//! Value encoding: bincode 2 (serde) with a size limit, and fixed-width integers for keys.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::StorageError;

/// The largest value the engine decodes; a corrupt length prefix cannot make it allocate more.
pub const VALUE_BYTES_MAX: usize = 64 << 20;

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<VALUE_BYTES_MAX>()
}

pub(crate) fn encode<T: Serialize>(value: &T, what: &'static str) -> Result<Vec<u8>, StorageError> {
    bincode::serde::encode_to_vec(value, config()).map_err(|error| StorageError::Encode {
        what,
        detail: error.to_string(),
    })
}

pub(crate) fn decode<T: DeserializeOwned>(
    bytes: &[u8],
    what: &'static str,
) -> Result<T, StorageError> {
    let (value, read) = bincode::serde::decode_from_slice(bytes, config())
        .map_err(|error| StorageError::corrupt(what, error))?;
    if read != bytes.len() {
        return Err(StorageError::corrupt(
            what,
            format!("{} trailing bytes", bytes.len() - read),
        ));
    }
    Ok(value)
}

pub(crate) fn encode_u64(value: u64) -> [u8; 8] {
    value.to_be_bytes()
}

pub(crate) fn decode_u64(bytes: &[u8], what: &'static str) -> Result<u64, StorageError> {
    let fixed: [u8; 8] = bytes
        .try_into()
        .map_err(|_| StorageError::corrupt(what, format!("{} bytes, expected 8", bytes.len())))?;
    Ok(u64::from_be_bytes(fixed))
}

pub(crate) fn decode_string(bytes: &[u8], what: &'static str) -> Result<String, StorageError> {
    String::from_utf8(bytes.to_vec()).map_err(|error| StorageError::corrupt(what, error))
}
