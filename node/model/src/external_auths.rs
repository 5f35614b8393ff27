//! The `_externalAuths` system collection as PocketBase 0.40 defines it: one record per link
//! between an auth record and an OAuth2 provider's user id, replicated like any record, with
//! unique indexes so two nodes racing to link the same provider user cannot both win.

use edgebase_wire::{Collection, CollectionType, FieldKind};
use serde_json::Map;

use crate::collection_schema::system_id_field;
use crate::{auth_collection::system_field, ids};

pub const EXTERNAL_AUTHS_NAME: &str = "_externalAuths";

/// The owner rule PocketBase gives the list, view and delete rules.
const OWNER_RULE: &str =
    "@request.auth.id != '' && recordRef = @request.auth.id && collectionRef = @request.auth.collectionId";

fn text_field(name: &str) -> edgebase_wire::Field {
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
