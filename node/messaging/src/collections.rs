//! Messaging's system collections, ordinary replicated collections with API rules:
//! `_messageTargets` (an auth record's push targets: Web Push subscriptions, FCM
//! registration tokens, APNs device tokens), `_messageTopics` (named audiences),
//! `_messageSubscriptions` (which auth records follow a topic) and `_messages` (the outbox:
//! every accepted message with its deliveries). They are created, once cluster-wide, when a
//! provider is first enabled, so a cluster that never uses messaging lists only
//! PocketBase's collections.

use edgebase_model::{ids, time};
use edgebase_service::app::{App, LoadedCollection};
use edgebase_service::collections::ensure_system_collection;
use edgebase_service::error::ServiceError;
use edgebase_wire::{Collection, CollectionType, Field, FieldKind};
use serde_json::Map;

pub const TARGETS: &str = "_messageTargets";
pub const TOPICS: &str = "_messageTopics";
pub const SUBSCRIPTIONS: &str = "_messageSubscriptions";
pub const MESSAGES: &str = "_messages";

/// The kinds of push target.
pub const TARGET_KINDS: [&str; 3] = ["webpush", "fcm", "apns"];

/// Who may read and remove a target or subscription: the auth record it belongs to.
const OWNER: &str = "@request.auth.id != '' && recordRef = @request.auth.id && collectionRef = @request.auth.collectionId";
/// Who may create one: an auth record, for itself.
const OWN_CREATE: &str = "@request.auth.id != '' && @request.body.recordRef = @request.auth.id && @request.body.collectionRef = @request.auth.collectionId";

/// Messaging's four collections (created if this cluster has none yet), in this order:
/// targets, topics, subscriptions, messages.
pub async fn ensure_all(app: &App) -> Result<[LoadedCollection; 4], ServiceError> {
    let now = time::now_string();
    Ok([
        ensure_system_collection(app, TARGETS, || targets(&now)).await?,
        ensure_system_collection(app, TOPICS, || topics(&now)).await?,
        ensure_system_collection(app, SUBSCRIPTIONS, || subscriptions(&now)).await?,
        ensure_system_collection(app, MESSAGES, || messages(&now)).await?,
    ])
}

/// The collection `name` when messaging was set up (`None` before).
pub fn loaded(app: &App, name: &str) -> Result<Option<LoadedCollection>, ServiceError> {
    Ok(app
        .collection(name)?
        .filter(|loaded| loaded.collection.system))
}

fn field(name: &str, required: bool, kind: FieldKind) -> Field {
    Field {
        id: ids::field_id(kind.type_name(), name),
        name: name.into(),
        help: String::new(),
        hidden: false,
        presentable: false,
        required,
        system: true,
        kind,
    }
}

fn text(name: &str, required: bool, max: i64, pattern: &str) -> Field {
    field(
        name,
        required,
        FieldKind::Text {
            min: 0,
            max,
            pattern: pattern.into(),
            autogenerate_pattern: String::new(),
            primary_key: false,
        },
    )
}

fn select(name: &str, values: &[&str]) -> Field {
    field(
        name,
        true,
        FieldKind::Select {
            values: values.iter().map(|value| value.to_string()).collect(),
            max_select: 1,
        },
    )
}

fn json(name: &str, max_size: i64) -> Field {
    field(name, false, FieldKind::Json { max_size })
}

fn autodates() -> [Field; 2] {
    let autodate = |name: &str, on_update: bool| {
        field(
            name,
            false,
            FieldKind::Autodate {
                on_create: true,
                on_update,
            },
        )
    };
    [autodate("created", false), autodate("updated", true)]
}

fn owner_refs() -> [Field; 2] {
    [
        text("collectionRef", true, 100, ""),
        text("recordRef", true, 100, ""),
    ]
}

fn collection(
    name: &str,
    now: &str,
    fields: Vec<Field>,
    indexes: Vec<String>,
    rules: [Option<&str>; 5],
) -> Collection {
    let [list, view, create, update, delete] = rules.map(|rule| rule.map(str::to_owned));
    Collection {
        id: ids::collection_id("base", name),
        list_rule: list,
        view_rule: view,
        create_rule: create,
        update_rule: update,
        delete_rule: delete,
        name: name.into(),
        kind: CollectionType::Base,
        fields,
        indexes,
        created: now.into(),
        updated: now.into(),
        system: true,
        options: Map::new(),
    }
}

fn with_id(fields: impl IntoIterator<Item = Field>) -> Vec<Field> {
    let mut all = vec![edgebase_model::collection_schema::system_id_field()];
    all.extend(fields);
    all
}

/// `_messageTargets`: `kind` is `webpush` (with `endpoint`, `p256dh`, `auth` from the
/// browser's `PushSubscription`), `fcm` or `apns` (with `token`); `name` is the app's own
/// label for the device. A record registers and removes its own; only superusers change one.
pub fn targets(now: &str) -> Collection {
    let mut fields = with_id(owner_refs());
    fields.extend([
        select("kind", &TARGET_KINDS),
        text("endpoint", false, 2048, ""),
        text("p256dh", false, 100, ""),
        text("auth", false, 30, ""),
        text("token", false, 4096, ""),
        text("name", false, 200, ""),
    ]);
    fields.extend(autodates());
    collection(
        TARGETS,
        now,
        fields,
        vec![format!(
            "CREATE INDEX `idx_messageTargets_owner` ON `{TARGETS}` (collectionRef, recordRef)"
        )],
        [
            Some(OWNER),
            Some(OWNER),
            Some(OWN_CREATE),
            None,
            Some(OWNER),
        ],
    )
}

/// `_messageTopics`: named audiences; signed-in records read them, superusers manage them.
pub fn topics(now: &str) -> Collection {
    let mut fields = with_id([
        text("name", true, 100, "^[A-Za-z0-9_.-]+$"),
        text("description", false, 1000, ""),
    ]);
    fields.extend(autodates());
    let signed_in = Some("@request.auth.id != ''");
    collection(
        TOPICS,
        now,
        fields,
        vec![format!(
            "CREATE UNIQUE INDEX `idx_messageTopics_name` ON `{TOPICS}` (name)"
        )],
        [signed_in, signed_in, None, None, None],
    )
}

/// `_messageSubscriptions`: an auth record following a topic (removed with the topic).
pub fn subscriptions(now: &str) -> Collection {
    let mut fields = with_id([field(
        "topic",
        true,
        FieldKind::Relation {
            cascade_delete: true,
            collection_id: ids::collection_id("base", TOPICS),
            max_select: 1,
            min_select: 0,
        },
    )]);
    fields.extend(owner_refs());
    fields.extend(autodates());
    collection(
        SUBSCRIPTIONS,
        now,
        fields,
        vec![
            format!("CREATE UNIQUE INDEX `idx_messageSubscriptions_unique` ON `{SUBSCRIPTIONS}` (topic, collectionRef, recordRef)"),
            format!("CREATE INDEX `idx_messageSubscriptions_owner` ON `{SUBSCRIPTIONS}` (collectionRef, recordRef)"),
        ],
        [Some(OWNER), Some(OWNER), Some(OWN_CREATE), None, Some(OWNER)],
    )
}

/// `_messages`: the outbox. Superusers only (the node writes it for `POST /api/messages`).
/// `dueAt` (Unix ms) is when the message next needs a node's attention, 0 once every
/// delivery is settled; the delivering node finds due messages through its index.
pub fn messages(now: &str) -> Collection {
    let mut fields = with_id([
        select("kind", &["push", "email", "sms"]),
        select(
            "status",
            &[
                "scheduled",
                "pending",
                "sending",
                "sent",
                "partial",
                "failed",
            ],
        ),
        json("recipients", 256 << 10),
        json("content", 1 << 20),
        text("sendAt", false, 40, ""),
        field(
            "dueAt",
            false,
            FieldKind::Number {
                min: Some(0.0),
                max: None,
                only_int: true,
            },
        ),
        json("claim", 4 << 10),
        json("deliveries", 2 << 20),
        text("error", false, 1000, ""),
    ]);
    fields.extend(autodates());
    collection(
        MESSAGES,
        now,
        fields,
        vec![format!(
            "CREATE INDEX `idx_messages_dueAt` ON `{MESSAGES}` (dueAt)"
        )],
        [None, None, None, None, None],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_are_valid_collections() {
        let now = "2026-01-01 00:00:00.000Z";
        for definition in [targets(now), topics(now), subscriptions(now), messages(now)] {
            let names: Vec<&str> = definition.fields.iter().map(|f| f.name.as_str()).collect();
            assert_eq!(names[0], "id", "{}", definition.name);
            assert!(names.contains(&"created"), "{}", definition.name);
            assert!(definition.system);
        }
    }
}
