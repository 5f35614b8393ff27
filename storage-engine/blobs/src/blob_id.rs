//! A blob's address: the SHA-256 of its contents, shown as 64 lowercase hex digits.

use std::fmt;
use std::str::FromStr;

use crate::BlobError;

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobId([u8; 32]);

impl BlobId {
    pub fn from_digest(digest: [u8; 32]) -> BlobId {
        BlobId(digest)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobId({})", self.to_hex())
    }
}

impl FromStr for BlobId {
    type Err = BlobError;

    /// Exactly 64 hex digits (either case).
    fn from_str(text: &str) -> Result<BlobId, BlobError> {
        let invalid = || BlobError::InvalidId(text.chars().take(80).collect());
        if text.len() != 64 {
            return Err(invalid());
        }
        let mut digest = [0u8; 32];
        hex::decode_to_slice(text, &mut digest).map_err(|_| invalid())?;
        Ok(BlobId(digest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_rejects_anything_else() {
        let text = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let id: BlobId = text.parse().expect("valid");
        assert_eq!(id.to_string(), text);
        assert_eq!(text.to_uppercase().parse::<BlobId>().expect("valid"), id);
        for bad in [
            "",
            "e3b0",
            &text[..63],
            &format!("{text}0"),
            &text.replace('e', "g"),
        ] {
            assert!(bad.parse::<BlobId>().is_err(), "{bad:?}");
        }
        assert!("../../etc/passwd".parse::<BlobId>().is_err());
    }
}
