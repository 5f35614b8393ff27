//! What an index entry holds: the record's id and its creation sequence, so a list served by
//! an index knows its candidates' creation order (and, when the index answers the whole
//! filter, their count and page) without reading the records.
//!
//! Layout: `0xFF`, the creation sequence (8 bytes, big-endian), the id. Entries written
//! before the sequence was kept hold the id alone, as UTF-8, which never starts with `0xFF`;
//! both are read.

/// Marks an entry value that carries the creation sequence.
const WITH_SEQUENCE: u8 = 0xFF;

/// The value of `record_id`'s entry.
pub fn entry_value(record_id: &str, created_seq: u64) -> Vec<u8> {
    let mut value = Vec::with_capacity(9 + record_id.len());
    value.push(WITH_SEQUENCE);
    value.extend_from_slice(&created_seq.to_be_bytes());
    value.extend_from_slice(record_id.as_bytes());
    value
}

/// The record id and (when the entry keeps it) creation sequence of an entry's value.
pub fn read_entry_value(value: &[u8]) -> Result<(&str, Option<u64>), std::str::Utf8Error> {
    match value {
        [WITH_SEQUENCE, rest @ ..] if rest.len() >= 8 => {
            let (seq, id) = rest.split_at(8);
            let seq = u64::from_be_bytes(seq.try_into().unwrap_or([0; 8]));
            Ok((std::str::from_utf8(id)?, Some(seq)))
        }
        _ => Ok((std::str::from_utf8(value)?, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::{entry_value, read_entry_value};

    #[test]
    fn reads_both_layouts() {
        let value = entry_value("abc123", 0x0102_0304_0506_0708);
        assert_eq!(
            read_entry_value(&value),
            Ok(("abc123", Some(0x0102_0304_0506_0708)))
        );
        assert_eq!(read_entry_value(b"abc123"), Ok(("abc123", None)));
        assert_eq!(read_entry_value(b""), Ok(("", None)));
        assert!(
            read_entry_value(&[0xFF, 1, 2]).is_err(),
            "a short sequence is not UTF-8"
        );
    }
}
