//! The node's own replicated documents, kept as settings under `edgebase.*` keys (the backup
//! catalog, scheduled-job claims): read with their version, and changed only at the
//! version read (`Command::PutSettingIf`), so two nodes changing one document cannot lose
//! each other's change. PocketBase's settings API reads only its own key, so none of these
//! is ever shown there.

use edgebase_storage::{Command, CommandResult, Rejection, SettingExpect};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::app::App;
use crate::error::ServiceError;

/// A document as read from local state, with the condition a write of it needs.
#[derive(Debug, Clone)]
pub struct Versioned<T> {
    pub value: T,
    pub expect: SettingExpect,
}

/// The document under `key` (its default when never written).
pub fn read<T: DeserializeOwned + Default>(
    app: &App,
    key: &str,
) -> Result<Versioned<T>, ServiceError> {
    match app.state().stored_setting(key)? {
        None => Ok(Versioned {
            value: T::default(),
            expect: SettingExpect::Unversioned,
        }),
        Some(stored) => Ok(Versioned {
            value: serde_json::from_str(&stored.value_json)
                .map_err(|error| ServiceError::internal_from("decode a system setting", error))?,
            expect: stored.expect(),
        }),
    }
}

/// The command that writes `value` under `key` only if it is still as `read` saw it.
pub fn write_command<T: Serialize>(
    key: &str,
    value: &T,
    expect: SettingExpect,
) -> Result<Command, ServiceError> {
    Ok(Command::PutSettingIf {
        key: key.to_owned(),
        value_json: serde_json::to_string(value)
            .map_err(|error| ServiceError::internal_from("encode a system setting", error))?,
        expect,
    })
}

/// What a change function decided.
pub enum Change<R> {
    /// Write the changed document and answer `R`.
    Write(R),
    /// Write nothing and answer `R`.
    Keep(R),
}

/// Change the document under `key` with `change`, at the version read; when another node
/// changed it meanwhile, read it again past a read barrier and apply `change` to that, at
/// most `write_attempts_max` times.
pub async fn update<T, R>(
    app: &App,
    key: &str,
    mut change: impl FnMut(&mut T) -> Result<Change<R>, ServiceError>,
) -> Result<R, ServiceError>
where
    T: DeserializeOwned + Serialize + Default,
{
    let attempts = app.limits().write_attempts_max.max(1);
    for attempt in 1..=attempts {
        let mut read = read::<T>(app, key)?;
        let answer = match change(&mut read.value)? {
            Change::Keep(answer) => return Ok(answer),
            Change::Write(answer) => answer,
        };
        let outcome = app
            .propose(write_command(key, &read.value, read.expect)?)
            .await?;
        match outcome.result {
            CommandResult::Applied { .. } => return Ok(answer),
            CommandResult::Rejected(Rejection::SettingVersionMismatch { .. }) => {
                tracing::debug!(key, attempt, "a system setting changed meanwhile; again");
                app.consensus().linearizable_barrier().await?;
            }
            CommandResult::Rejected(rejection) => {
                tracing::error!(key, ?rejection, "write a system setting");
                return Err(ServiceError::internal("write a system setting"));
            }
        }
    }
    Err(ServiceError::unavailable(
        "The cluster is busy changing the same document; try again.",
    ))
}
