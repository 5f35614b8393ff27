//! Why the model refuses something: PocketBase's kinds of refusal, without HTTP.

/// A refusal by the model's checks. The HTTP edge maps each kind to PocketBase's status and
/// envelope (all of these are 400s there, except `Internal`).
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A body that fails the checks, with per-field errors (PocketBase's `data`).
    #[error("{message}")]
    Validation {
        message: String,
        errors: crate::FieldErrors,
    },
    /// A refusal with PocketBase's message and no per-field errors.
    #[error("{0}")]
    BadRequest(String),
    /// A body or parameter that is not what the endpoint reads: PocketBase's generic 400.
    #[error("the request body or parameters cannot be read")]
    InvalidBody,
    /// A value the model made itself did not encode: a bug, never the caller's fault.
    #[error("encode {what}")]
    Encode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

impl ModelError {
    pub fn validation(message: impl Into<String>, errors: crate::FieldErrors) -> Self {
        ModelError::Validation {
            message: message.into(),
            errors,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ModelError::BadRequest(message.into())
    }

    pub fn invalid_body() -> Self {
        ModelError::InvalidBody
    }

    /// The message PocketBase would show (its generic one for `InvalidBody`).
    pub fn message(&self) -> String {
        match self {
            ModelError::InvalidBody => {
                "Something went wrong while processing your request.".to_string()
            }
            other => other.to_string(),
        }
    }

    /// The per-field errors, empty unless this is a validation failure.
    pub fn field_errors(&self) -> crate::FieldErrors {
        match self {
            ModelError::Validation { errors, .. } => errors.clone(),
            _ => crate::FieldErrors::new(),
        }
    }
}
