//! The `_externalAuths` system collection as PocketBase 0.40 defines it: one record per link
//! between an auth record and an OAuth2 provider's user id, replicated like any record, with
//! unique indexes so two nodes racing to link the same provider user cannot both win.

use edgebase_client::wire::{Collection, CollectionType, FieldKind};
use edgebase_storage::query::{
    CompareKind, CompareOp, Expr, FilterAccess, FilterPart, ListRequest, Operand,
    Path as FieldPath, PathRoot, RequestContext, TotalCount,
};
use edgebase_storage::{
    CollectionDoc, CollectionExpect, Command, CommandResult, RecordExpect, Rejection,
};
use serde_json::Map;

use crate::api::error::ApiError;
use crate::app::App;
use crate::domain::collection_schema::system_id_field;
use crate::domain::{auth_collection::system_field, ids, time};

pub const EXTERNAL_AUTHS_NAME: &str = "_externalAuths";

/// The owner rule PocketBase gives the list, view and delete rules.
const OWNER_RULE: &str =
    "@request.auth.id != '' && recordRef = @request.auth.id && collectionRef = @request.auth.collectionId";

fn text_field(name: &str) -> edgebase_client::wire::Field {
    system_field(
        name,
        false,
        true,
        FieldKind::Text {
            min: 0,
            max: 0,
            pattern: String::new(),
            autogenerate_pattern: String::new(),
            primary_key: false,
        },
    )
}

/// The collection definition (its id is PocketBase's, derived from type and name).
pub fn external_auths_collection(now: &str) -> Collection {
    let mut fields = vec![system_id_field()];
    fields.extend(
        ["collectionRef", "recordRef", "provider", "providerId"]
            .into_iter()
            .map(text_field),
    );
    fields.extend([
        system_field(
            "created",
            false,
            false,
            FieldKind::Autodate {
                on_create: true,
                on_update: false,
            },
        ),
        system_field(
            "updated",
            false,
            false,
            FieldKind::Autodate {
                on_create: true,
                on_update: true,
            },
        ),
    ]);
    Collection {
        id: ids::collection_id("base", EXTERNAL_AUTHS_NAME),
        list_rule: Some(OWNER_RULE.into()),
        view_rule: Some(OWNER_RULE.into()),
        create_rule: None,
        update_rule: None,
        delete_rule: Some(OWNER_RULE.into()),
        name: EXTERNAL_AUTHS_NAME.into(),
        kind: CollectionType::Base,
        fields,
        indexes: vec![
            "CREATE UNIQUE INDEX `idx_externalAuths_record_provider` ON `_externalAuths` (collectionRef, recordRef, provider)".into(),
            "CREATE UNIQUE INDEX `idx_externalAuths_collection_provider` ON `_externalAuths` (collectionRef, provider, providerId)".into(),
        ],
        created: now.into(),
        updated: now.into(),
        system: true,
        options: Map::new(),
    }
}

/// Most links one auth record can have (one per provider of its collection).
const LINKS_PER_RECORD_MAX: u64 = 100;

fn equals(field: &str, value: &str) -> FilterPart {
    FilterPart {
        expr: Expr::Compare {
            left: Operand::Path(FieldPath {
                root: PathRoot::Record,
                segments: vec![field.to_string()],
                modifier: None,
            }),
            op: CompareOp {
                kind: CompareKind::Eq,
                any_of: false,
            },
            right: Operand::Text(value.to_string()),
        },
        access: FilterAccess::Unrestricted,
    }
}

/// The commands that delete every link of the auth record `record_id` of `collection_id`,
/// for the record's own delete (PocketBase removes a record's links with it).
pub fn unlink_commands(
    app: &App,
    context: &RequestContext,
    collection_id: &str,
    record_id: &str,
) -> Result<Vec<Command>, ApiError> {
    let Some(links) = app.collection(EXTERNAL_AUTHS_NAME)? else {
        return Ok(Vec::new());
    };
    let page = app.state().list_records(&ListRequest {
        collection_id: links.collection.id.clone(),
        filters: vec![
            equals("collectionRef", collection_id),
            equals("recordRef", record_id),
        ],
        sort: Vec::new(),
        sort_access: FilterAccess::Unrestricted,
        offset: 0,
        limit: LINKS_PER_RECORD_MAX,
        total: TotalCount::Skip,
        context: context.clone(),
        records_examined_max: app.limits().records_examined_max,
        random_seed: 0,
    })?;
    Ok(page
        .records
        .iter()
        .map(|link| Command::DeleteRecord {
            collection_id: links.collection.id.clone(),
            record_id: link.id.clone(),
            expect: RecordExpect::Exists,
        })
        .collect())
}

/// Create `_externalAuths` if this cluster has none yet (a node that started before OAuth2
/// existed gets it on its next start).
pub async fn ensure_collection(app: &App) -> Result<(), ApiError> {
    if app.collection(EXTERNAL_AUTHS_NAME)?.is_some() {
        return Ok(());
    }
    let collection = external_auths_collection(&time::now_string());
    let doc_json = serde_json::to_string(&collection).map_err(|_| ApiError::internal())?;
    let outcome = app
        .propose(Command::PutCollection {
            collection: CollectionDoc {
                id: collection.id,
                name: collection.name,
                doc_json,
            },
            expect: CollectionExpect::Absent,
        })
        .await?;
    match outcome.result {
        CommandResult::Applied { .. }
        | CommandResult::Rejected(Rejection::CollectionExists | Rejection::CollectionNameTaken) => {
            Ok(())
        }
        CommandResult::Rejected(other) => {
            tracing::error!(?other, "create _externalAuths");
            Err(ApiError::internal())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Id and field ids read off PocketBase 0.40.6.
    #[test]
    fn ids_match_pocketbase() {
        let collection = external_auths_collection("2026-01-01 00:00:00.000Z");
        assert_eq!(collection.id, "pbc_2281828961");
        let ids: Vec<&str> = collection
            .fields
            .iter()
            .map(|field| field.id.as_str())
            .collect();
        assert_eq!(
            ids,
            [
                "text3208210256",
                "text455797646",
                "text127846527",
                "text2462348188",
                "text1044722854",
                "autodate2990389176",
                "autodate3332085495"
            ]
        );
    }
}
