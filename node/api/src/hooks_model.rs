//! PocketBase's model hooks around the records API's own writes: `onRecordCreate`,
//! `onRecordUpdate` and `onRecordDelete` (with `onRecordValidate` inside them) wrap the
//! write after the request hooks handed it on; the after-success hooks see the record as
//! stored once the write applied on this node, the after-error hooks the record the write
//! failed on. The answer is the write's (a handler that throws after its `e.next()` answers
//! its error, and the written record stands: a write that applied is never taken back).

use std::sync::Arc;

use axum::response::Response;
use edgebase_hooks::{HookFailure, Hooks, ModelOutcome, RecordAction};
use edgebase_service::app::{App, LoadedCollection};
use edgebase_service::record_writes::decode;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::hooks_requests::{
    answering_next, buffered, failure_of_api, hook_stopped, take_answer, AnswerSlot, WriteAction,
};
use crate::hooks_routes::refused;

/// Run the model hooks of `action` around `write`, starting from `record` (the whole
/// record: stored fields with the request's over them), then the after-hooks.
pub async fn around_save(
    hooks: &Hooks,
    app: &App,
    action: RecordAction,
    loaded: &LoadedCollection,
    record: Map<String, Value>,
    write: WriteAction,
) -> Result<Response, ApiError> {
    let tag = loaded.collection.name.as_str();
    let after_success = hooks.handles_after(action, tag, true);
    let after_error = hooks.handles_after(action, tag, false);
    if !hooks.handles_model(action, tag) && !after_success && !after_error {
        return write(record).await;
    }
    let answered: AnswerSlot = Arc::default();
    let next = answering_next(write, Arc::clone(&answered));
    let outcome = hooks
        .around_model(action, loaded, Value::Object(record.clone()), next)
        .await;
    let answer = match outcome {
        ModelOutcome::Saved(_) => take_answer(&answered),
        ModelOutcome::Failed(failure) => Err(refused(failure)),
        ModelOutcome::Stopped => Err(hook_stopped(
            action.before(),
            tag,
            ", so nothing was saved.",
        )),
    };
    match answer {
        Ok(response) if after_success => {
            let (response, written) = buffered(response).await.map_err(refused)?;
            let stored = match action {
                RecordAction::Delete => Some(record),
                _ => written
                    .get("id")
                    .and_then(Value::as_str)
                    .and_then(|id| stored_record(app, loaded, id)),
            };
            if let Some(stored) = stored {
                hooks
                    .after_model(action, loaded, with_collection(stored, loaded), None)
                    .await;
            }
            Ok(response)
        }
        Err(error) if after_error => {
            let failure: HookFailure = failure_of_api(&error);
            hooks
                .after_model(
                    action,
                    loaded,
                    with_collection(record, loaded),
                    Some(&failure),
                )
                .await;
            Err(error)
        }
        answer => answer,
    }
}

/// The record as stored on this node now (the write applied here before it answered).
fn stored_record(app: &App, loaded: &LoadedCollection, id: &str) -> Option<Map<String, Value>> {
    let stored = app.state().record(&loaded.collection.id, id).ok()??;
    decode(&stored).ok()
}

/// `record` with its collection's id and name, as hooks see records.
pub(crate) fn with_collection(mut record: Map<String, Value>, loaded: &LoadedCollection) -> Value {
    record.insert(
        "collectionId".into(),
        Value::String(loaded.collection.id.clone()),
    );
    record.insert(
        "collectionName".into(),
        Value::String(loaded.collection.name.clone()),
    );
    Value::Object(record)
}
