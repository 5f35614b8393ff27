//! Collections and records as readers see them, and their encoded values on disk.

use serde::{Deserialize, Serialize};

use crate::SettingExpect;

/// A collection definition as last written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCollection {
    pub id: String,
    pub name: String,
    pub doc_json: String,
    /// Log index of the entry that last wrote it.
    pub version: u64,
}

/// A record as last written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub collection_id: String,
    pub id: String,
    pub doc_json: String,
    /// Log index of the entry that last wrote it.
    pub version: u64,
    /// Creation order within the collection: `index << 16 | position in the entry`. Updates
    /// keep it.
    pub created_seq: u64,
}

/// A setting as last written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSetting {
    pub value_json: String,
    /// Log index of the entry that last wrote it; None if that was before versions were kept.
    pub version: Option<u64>,
}

impl StoredSetting {
    /// The condition under which a write of this setting replaces exactly this value.
    pub fn expect(&self) -> SettingExpect {
        self.version
            .map_or(SettingExpect::Unversioned, SettingExpect::Version)
    }
}

/// The value stored under a collection key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CollectionValue {
    pub name: String,
    pub doc_json: String,
    pub version: u64,
    pub created_seq: u64,
}

impl CollectionValue {
    pub(crate) fn into_stored(self, id: &str) -> StoredCollection {
        StoredCollection {
            id: id.to_owned(),
            name: self.name,
            doc_json: self.doc_json,
            version: self.version,
        }
    }
}
