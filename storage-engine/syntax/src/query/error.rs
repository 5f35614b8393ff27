//! Why a filter could not be parsed, and where.

/// A filter that is not valid PocketBase syntax, or exceeds a bound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid filter at character {position}: {message}")]
pub struct FilterError {
    /// Character offset in the filter.
    pub position: usize,
    pub message: String,
}

impl FilterError {
    pub fn at(position: usize, message: impl Into<String>) -> Self {
        FilterError {
            position,
            message: message.into(),
        }
    }
}
