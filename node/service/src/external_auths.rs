//! The `_externalAuths` system collection as PocketBase 0.40 defines it: one record per link
//! between an auth record and an OAuth2 provider's user id, replicated like any record, with
//! unique indexes so two nodes racing to link the same provider user cannot both win.

pub use edgebase_model::external_auths::*;

use edgebase_storage::query::{FilterPart, ListRequest, RequestContext};
use edgebase_storage::{Command, RecordExpect};

use crate::app::App;
use crate::collections::ensure_system_collection;
use crate::error::ServiceError;
use edgebase_model::time;

pub const EXTERNAL_AUTHS_NAME: &str = "_externalAuths";

/// Most links one auth record can have (one per provider of its collection).
const LINKS_PER_RECORD_MAX: u64 = 100;
/// Most records of one other owned collection deleted with an auth record (a page).
const OWNED_PER_RECORD_MAX: u64 = 1_000;

/// The commands that delete every link of the auth record `record_id` of `collection_id`,
/// and every record a layer above says belongs to it (messaging's push targets and topic
/// subscriptions), for the record's own delete (PocketBase removes a record's links with
/// it).
pub fn unlink_commands(
    app: &App,
    context: &RequestContext,
    collection_id: &str,
    record_id: &str,
) -> Result<Vec<Command>, ServiceError> {
    let mut owned = vec![(EXTERNAL_AUTHS_NAME, LINKS_PER_RECORD_MAX)];
    owned.extend(
        app.record_checks()
            .owned_by_auth_records()
            .into_iter()
            .map(|name| (name, OWNED_PER_RECORD_MAX)),
    );
    let mut commands = Vec::new();
    for (name, limit) in owned {
        let Some(links) = app.collection(name)? else {
            continue;
        };
        let page = app.state().list_records(&ListRequest::matching(
            links.collection.id.clone(),
            vec![
                FilterPart::field_equals("collectionRef", collection_id),
                FilterPart::field_equals("recordRef", record_id),
            ],
            limit,
            context.clone(),
            app.limits().records_examined_max,
        ))?;
        commands.extend(page.records.iter().map(|link| Command::DeleteRecord {
            collection_id: links.collection.id.clone(),
            record_id: link.id.clone(),
            expect: RecordExpect::Exists,
        }));
    }
    Ok(commands)
}

/// Create `_externalAuths` if this cluster has none yet (a node that started before OAuth2
/// existed gets it on its next start).
pub async fn ensure_collection(app: &App) -> Result<(), ServiceError> {
    ensure_system_collection(app, EXTERNAL_AUTHS_NAME, || {
        external_auths_collection(&time::now_string())
    })
    .await
    .map(drop)
}
