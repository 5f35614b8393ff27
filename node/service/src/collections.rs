//! Collections as the service stores them: encoding a definition for a command, and the
//! one way a system collection (`_superusers`, `_externalAuths`, `_otps`, ...) comes into
//! being, once cluster-wide.

use edgebase_storage::{CollectionDoc, CollectionExpect, Command, CommandResult, Rejection};
use edgebase_wire::Collection;

use crate::app::{App, LoadedCollection};
use crate::error::ServiceError;

/// A collection definition as a command carries it.
pub fn encode(collection: &Collection) -> Result<CollectionDoc, ServiceError> {
    Ok(CollectionDoc {
        id: collection.id.clone(),
        name: collection.name.clone(),
        doc_json: serde_json::to_string(collection)
            .map_err(|source| ServiceError::internal_from("encode collection", source))?,
    })
}

/// Whether a collection with exactly this id exists in local state (relation fields).
pub fn collection_exists(app: &App) -> impl Fn(&str) -> bool + '_ {
    move |id: &str| {
        app.collection(id)
            .ok()
            .flatten()
            .is_some_and(|loaded| loaded.collection.id == id)
    }
}

/// The system collection `name`, created from `definition` if this cluster has none yet.
/// Two nodes racing both propose it as absent; one wins and the other's loss is success.
pub async fn ensure_system_collection(
    app: &App,
    name: &str,
    definition: impl FnOnce() -> Collection,
) -> Result<LoadedCollection, ServiceError> {
    if let Some(loaded) = app.collection(name)? {
        return Ok(loaded);
    }
    let outcome = app
        .propose(Command::PutCollection {
            collection: encode(&definition())?,
            expect: CollectionExpect::Absent,
        })
        .await?;
    match outcome.result {
        CommandResult::Applied { .. }
        | CommandResult::Rejected(Rejection::CollectionExists | Rejection::CollectionNameTaken) => {
        }
        CommandResult::Rejected(rejection) => {
            tracing::error!(?rejection, collection = name, "create system collection");
            return Err(ServiceError::internal("create a system collection"));
        }
    }
    app.collection(name)?
        .ok_or_else(|| ServiceError::internal("read a just-created system collection"))
}
