//! What the node keeps about one resumable upload, beside its bytes: where it goes, how
//! long it is, who may continue it, and (once done) the file name the record took.

use serde::{Deserialize, Serialize};

use crate::principal::Principal;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadInfo {
    pub id: String,
    pub collection_id: String,
    pub record_id: String,
    pub field: String,
    /// The client's name for the file (`Upload-Metadata: filename`), before sanitising.
    pub filename: String,
    pub length_bytes: u64,
    /// `Upload-Metadata` as the client sent it, given back on `HEAD`.
    pub metadata: String,
    /// Who created it ([`owner_of`]); only they may continue, read or end it.
    pub owner: String,
    pub created_at_unix_secs: u64,
    /// The stored file name once the record names the finished upload.
    #[serde(default)]
    pub finished_as: Option<String>,
}

/// A principal as an upload owner: `anonymous`, `superuser:ID` or `record:COLLECTION:ID`.
pub fn owner_of(principal: &Principal) -> String {
    match principal {
        Principal::Anonymous => "anonymous".to_string(),
        Principal::Superuser { id } => format!("superuser:{id}"),
        Principal::Record { collection_id, id } => format!("record:{collection_id}:{id}"),
        Principal::System(_) => "system".to_string(),
    }
}
