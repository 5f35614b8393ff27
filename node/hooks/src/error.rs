//! Why loading or running hooks failed.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A failure of the hooks engine itself (not of a hook's code: see [`HookFailure`]).
#[derive(Debug, thiserror::Error)]
pub enum HooksError {
    #[error("read the hooks folder {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The folder holds more than a bundle may.
    #[error("the hooks folder is too large: {0}")]
    TooLarge(String),
    /// A bundle sent to deploy is not one.
    #[error("not a hooks bundle: {0}")]
    BadBundle(String),
    /// Every runtime is busy and the queue is full.
    #[error("every JavaScript runtime is busy; try again")]
    Busy,
    /// Calls nested in calls past [`crate::engine::NESTING_MAX`].
    #[error("hooks nested more than {0} deep (a hook's write ran hooks that wrote again...)")]
    TooDeep(usize),
    /// The engine stopped (the node is shutting down).
    #[error("the hooks engine stopped")]
    Stopped,
    /// QuickJS could not make a runtime or context.
    #[error("start a JavaScript runtime: {0}")]
    Runtime(String),
}

/// What a hook's failure answers, as PocketBase's router shapes it: a thrown `ApiError`
/// keeps its status, message and data; anything else is a 400 (or a 404 for a missing row)
/// whose cause is logged, not sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HookFailure {
    pub status: u16,
    pub message: String,
    #[serde(default)]
    pub data: Map<String, Value>,
    /// What was actually thrown, for the log.
    #[serde(default)]
    pub cause: Option<String>,
}

impl HookFailure {
    /// A missing record or collection, as PocketBase's finds answer it.
    pub fn not_found() -> HookFailure {
        HookFailure {
            status: 404,
            message: "The requested resource wasn't found.".into(),
            data: Map::new(),
            cause: None,
        }
    }

    /// A limit stopped the call, or the call could not run: a 500 with the reason logged.
    pub fn internal(cause: impl Into<String>) -> HookFailure {
        HookFailure {
            status: 500,
            message: "Something went wrong while processing your request.".into(),
            data: Map::new(),
            cause: Some(cause.into()),
        }
    }
}
