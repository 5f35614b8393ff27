//! `GET /api/collections/meta/scaffolds`: the empty collection of each type, as PocketBase's
//! dashboard uses them to start a new collection.

use edgebase_wire::{Collection, CollectionType};
use serde_json::{json, Map, Value};

use crate::auth_collection;
use crate::collection_schema::system_id_field;

fn empty(kind: CollectionType) -> Collection {
    Collection {
        id: String::new(),
        list_rule: None,
        view_rule: None,
        create_rule: None,
        update_rule: None,
        delete_rule: None,
        name: String::new(),
        kind,
        fields: Vec::new(),
        indexes: Vec::new(),
        created: String::new(),
        updated: String::new(),
        system: false,
        options: Map::new(),
    }
}

/// `{"auth": .., "base": .., "view": ..}`.
pub fn scaffolds() -> Value {
    let mut base = empty(CollectionType::Base);
    base.fields = vec![system_id_field()];
    let mut auth = empty(CollectionType::Auth);
    auth.fields = auth_collection::system_fields();
    auth.indexes = auth_collection::system_indexes("");
    auth.options = auth_collection::default_options();
    let mut view = empty(CollectionType::View);
    view.options.insert("viewQuery".into(), json!(""));
    json!({"auth": auth, "base": base, "view": view})
}
