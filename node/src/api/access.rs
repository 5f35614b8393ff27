//! Who may do what on superuser-only endpoints. (Collection API rules are checked where
//! records are read and planned: `records.rs`, `record_writes.rs`, `expand.rs`.)

use crate::api::error::ApiError;
use crate::auth::principal::Principal;

/// Collection management and operator endpoints: superusers only.
pub fn require_superuser(principal: &Principal) -> Result<(), ApiError> {
    match principal {
        Principal::Superuser { .. } => Ok(()),
        Principal::Anonymous => Err(ApiError::unauthorized()),
        Principal::Record { .. } => Err(ApiError::forbidden(
            "The authorized record is not allowed to perform this action.",
        )),
    }
}
