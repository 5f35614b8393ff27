//! Why the service layer refuses or fails a request, in PocketBase's kinds, without HTTP:
//! the HTTP edge maps each kind to PocketBase's status and envelope in one place.

use edgebase_consensus::ConsensusError;
use edgebase_model::ModelError;
use edgebase_storage::query::QueryError;
use edgebase_storage::StorageError;

/// The kinds of refusal PocketBase answers, each with its own status at the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// A request that cannot be served as asked (400).
    BadRequest,
    /// A token is needed (401).
    Unauthorized,
    /// The caller may not do this (403).
    Forbidden,
    /// Nothing there, or nothing the caller may see (404).
    NotFound,
    /// A body or upload over its bound (413).
    TooLarge,
    /// A rate limit or attempt limit was hit (429).
    TooManyRequests,
    /// The cluster or a dependency cannot take it right now; retry (503).
    Unavailable,
    /// A conditional write's record is no longer at the version it names (412).
    PreconditionFailed,
}

/// A failed request.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// PocketBase's answer to a request it refuses: kind, message and per-field errors.
    #[error("{message}")]
    Refused {
        kind: RefusalKind,
        message: String,
        data: FieldErrors,
    },
    /// The model's checks refused the request.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A filter, sort or rule that cannot be evaluated, or a read over its work bound.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// Reading the local state failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Consensus did not take or finish the write, or a read barrier failed.
    #[error(transparent)]
    Consensus(#[from] ConsensusError),
    /// Something that should not fail did: a bug or a broken invariant, never the caller's
    /// fault. `context` says what was being done.
    #[error("{context}")]
    Internal {
        context: &'static str,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl ServiceError {
    pub fn refused(kind: RefusalKind, message: impl Into<String>) -> Self {
        ServiceError::Refused {
            kind,
            message: message.into(),
            data: FieldErrors::new(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::refused(RefusalKind::BadRequest, message)
    }

    /// PocketBase's generic 400 for a body that is not what the endpoint reads.
    pub fn invalid_body() -> Self {
        Self::bad_request("Something went wrong while processing your request.")
    }

    /// PocketBase's 400 with per-field errors.
    pub fn validation(message: impl Into<String>, data: FieldErrors) -> Self {
        ServiceError::Refused {
            kind: RefusalKind::BadRequest,
            message: message.into(),
            data,
        }
    }

    pub fn not_found() -> Self {
        Self::refused(
            RefusalKind::NotFound,
            "The requested resource wasn't found.",
        )
    }

    /// Unknown collection on a read or delete.
    pub fn missing_collection() -> Self {
        Self::refused(RefusalKind::NotFound, "Missing collection context.")
    }

    /// Unknown collection on a create or update (PocketBase words these differently).
    pub fn missing_or_invalid_collection() -> Self {
        Self::refused(
            RefusalKind::NotFound,
            "Missing or invalid collection context.",
        )
    }

    pub fn unauthorized() -> Self {
        Self::refused(
            RefusalKind::Unauthorized,
            "The request requires valid record authorization token.",
        )
    }

    pub fn superusers_only() -> Self {
        Self::forbidden("Only superusers can perform this action.")
    }

    /// An `If-Match` the record no longer meets.
    pub fn precondition_failed() -> Self {
        Self::refused(
            RefusalKind::PreconditionFailed,
            "The record has changed since the version If-Match names.",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::refused(RefusalKind::Forbidden, message)
    }

    pub fn too_large() -> Self {
        Self::refused(RefusalKind::TooLarge, "Request entity too large.")
    }

    pub fn too_many_requests(message: impl Into<String>) -> Self {
        Self::refused(RefusalKind::TooManyRequests, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::refused(RefusalKind::Unavailable, message)
    }

    /// A failure with no cause to carry (an invariant that did not hold).
    pub fn internal(context: &'static str) -> Self {
        ServiceError::Internal {
            context,
            source: None,
        }
    }

    /// A failure caused by `source`, kept for the log.
    pub fn internal_from(
        context: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        ServiceError::Internal {
            context,
            source: Some(Box::new(source)),
        }
    }
}

pub use edgebase_model::{field_error, FieldErrors, ValidationCode};
