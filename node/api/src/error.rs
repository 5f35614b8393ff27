//! The one place where failures become HTTP: PocketBase's error envelope and status codes.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use edgebase_client::wire::ErrorEnvelope;
use edgebase_consensus::ConsensusError;
use edgebase_model::ModelError;
use edgebase_service::{RefusalKind, ServiceError};
use edgebase_storage::query::QueryError;
use edgebase_storage::StorageError;
use serde_json::{Map, Value};

/// An error answer: status, message and per-field `data`, as PocketBase sends them.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub data: Map<String, Value>,
}

pub use edgebase_model::{field_error, FieldErrors, ValidationCode};

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            data: Map::new(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 400 with PocketBase's generic message for a body that is not what the endpoint reads.
    pub fn invalid_body() -> Self {
        Self::bad_request("Something went wrong while processing your request.")
    }

    pub fn validation(message: impl Into<String>, data: FieldErrors) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            data,
        }
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "The requested resource wasn't found.",
        )
    }

    /// Unknown collection on a read or delete.
    pub fn missing_collection() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Missing collection context.")
    }

    /// Unknown collection on a create or update (PocketBase words these differently).
    pub fn missing_or_invalid_collection() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Missing or invalid collection context.",
        )
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "The request requires valid record authorization token.",
        )
    }

    pub fn superusers_only() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Only superusers can perform this action.",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    pub fn too_large() -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "Request entity too large.")
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong while processing your request.",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let logged = crate::request_log::LoggedError {
            message: self.message.clone(),
            details: self.data.clone(),
        };
        let envelope = ErrorEnvelope {
            status: self.status.as_u16(),
            message: self.message,
            data: self.data,
        };
        let mut response = (self.status, axum::Json(envelope)).into_response();
        response.extensions_mut().insert(logged);
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body is not read, so this connection cannot carry another request.
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
        }
        response
    }
}

impl From<ServiceError> for ApiError {
    /// The one mapping from the service's kinds of failure to PocketBase's statuses and
    /// messages. Failures that are not the caller's are logged here, with their cause.
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Refused {
                kind,
                message,
                data,
            } => {
                let status = match kind {
                    RefusalKind::BadRequest => StatusCode::BAD_REQUEST,
                    RefusalKind::Unauthorized => StatusCode::UNAUTHORIZED,
                    RefusalKind::Forbidden => StatusCode::FORBIDDEN,
                    RefusalKind::NotFound => StatusCode::NOT_FOUND,
                    RefusalKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                    RefusalKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
                    RefusalKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                    RefusalKind::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
                };
                ApiError {
                    status,
                    message,
                    data,
                }
            }
            ServiceError::Model(error) => model_error(error),
            ServiceError::Query(error) => query_error(error),
            ServiceError::Storage(error) => {
                tracing::error!(error = &error as &dyn std::error::Error, "read local state");
                ApiError::internal()
            }
            ServiceError::Consensus(error) => consensus_error(error),
            error @ ServiceError::Internal { .. } => {
                tracing::error!(error = &error as &dyn std::error::Error, "internal failure");
                ApiError::internal()
            }
        }
    }
}

impl From<ModelError> for ApiError {
    fn from(error: ModelError) -> Self {
        model_error(error)
    }
}

impl From<StorageError> for ApiError {
    fn from(error: StorageError) -> Self {
        ServiceError::from(error).into()
    }
}

impl From<edgebase_blobs::BlobError> for ApiError {
    fn from(error: edgebase_blobs::BlobError) -> Self {
        ServiceError::internal_from("store a file", error).into()
    }
}

impl From<edgebase_service::resumable::ResumableError> for ApiError {
    fn from(error: edgebase_service::resumable::ResumableError) -> Self {
        use edgebase_service::resumable::ResumableError;
        let status = match &error {
            ResumableError::NotFound => StatusCode::NOT_FOUND,
            ResumableError::OffsetMismatch { .. } => StatusCode::CONFLICT,
            ResumableError::Busy => StatusCode::LOCKED,
            ResumableError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            // tus's checksum extension names its own status.
            ResumableError::ChecksumMismatch => {
                StatusCode::from_u16(460).unwrap_or(StatusCode::BAD_REQUEST)
            }
            ResumableError::BodyCut(_) => StatusCode::BAD_REQUEST,
            ResumableError::TooMany => StatusCode::TOO_MANY_REQUESTS,
            ResumableError::Io { .. } | ResumableError::Blob(_) => {
                tracing::error!(error = &error as &dyn std::error::Error, "resumable upload");
                return ApiError::internal();
            }
        };
        ApiError::new(status, error.to_string())
    }
}

impl From<QueryError> for ApiError {
    fn from(error: QueryError) -> Self {
        query_error(error)
    }
}

impl From<ConsensusError> for ApiError {
    fn from(error: ConsensusError) -> Self {
        consensus_error(error)
    }
}

fn model_error(error: ModelError) -> ApiError {
    match error {
        ModelError::Encode { .. } => {
            tracing::error!(error = &error as &dyn std::error::Error, "model");
            ApiError::internal()
        }
        other => ApiError::validation(other.message(), other.field_errors()),
    }
}

fn query_error(error: QueryError) -> ApiError {
    match error {
        QueryError::Storage(error) => ServiceError::from(error).into(),
        QueryError::TooMuchWork {
            records_examined_max,
        } => ApiError::bad_request(format!(
            "The request needs more than {records_examined_max} records examined; narrow \
             the filter or add an index on the filtered fields."
        )),
        QueryError::Forbidden { reason } => ApiError::forbidden(reason),
        QueryError::TooCostly { what } => {
            ApiError::bad_request(format!("The request is too costly to evaluate: {what}."))
        }
        other => {
            // PocketBase answers every unusable filter or sort with its generic 400.
            tracing::debug!(error = %other, "unusable filter or sort");
            ApiError::invalid_body()
        }
    }
}

fn consensus_error(error: ConsensusError) -> ApiError {
    use ConsensusError as E;
    match &error {
        E::Timeout { .. } => {
            tracing::warn!(%error, "consensus timeout");
            ApiError::new(StatusCode::GATEWAY_TIMEOUT, error.to_string())
        }
        E::NotYetApplied { .. } => {
            tracing::warn!(%error, "write committed, not yet applied here");
            ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "The write was committed but this node has not applied it yet; read with \
                     X-Edgebase-After to see it: {error}"
                ),
            )
        }
        E::CommandTooLarge { .. } => ApiError::too_large(),
        E::Refused { reason } => {
            ApiError::bad_request(format!("The cluster refused the change: {reason}."))
        }
        E::NoLeader | E::Unavailable { .. } => {
            tracing::warn!(%error, "cluster unavailable");
            ApiError::unavailable(format!(
                "The cluster cannot take this request right now, retry: {error}"
            ))
        }
        E::OutcomeUnknown { .. } => {
            tracing::warn!(%error, "write outcome unknown");
            ApiError::unavailable(format!(
                "The write may or may not have been applied; read before retrying: {error}"
            ))
        }
        _ => {
            tracing::error!(%error, "consensus");
            ApiError::internal()
        }
    }
}
