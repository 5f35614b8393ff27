//! What every auth collection has: PocketBase 0.40's system fields (password, tokenKey,
//! email, emailVisibility, verified) and its default auth options. Email template wording is
//! EdgeBase's own; the placeholders (`{APP_NAME}`, `{APP_URL}`, `{TOKEN}`, `{OTP}`,
//! `{ALERT_INFO}`) are PocketBase's.

use edgebase_wire::{Collection, CollectionType, Field, FieldKind};
use serde_json::{json, Map, Value};

use crate::collection_schema::system_id_field;
use crate::FieldErrors;
use crate::{auth_options, ids};

/// The id PocketBase gives the `users` collection of a new installation.
pub const USERS_ID: &str = "_pb_users_auth_";
pub const USERS_NAME: &str = "users";
/// The names of the system fields every auth collection has besides `id`.
pub const SYSTEM_FIELD_NAMES: [&str; 5] = [
    "password",
    "tokenKey",
    "email",
    "emailVisibility",
    "verified",
];

/// Default auth token lifetime of a new auth collection (PocketBase's 5 days).
pub const AUTH_TOKEN_DURATION_SECS: u64 = 432_000;

pub(crate) fn system_field(name: &str, hidden: bool, required: bool, kind: FieldKind) -> Field {
    Field {
        id: ids::field_id(kind.type_name(), name),
        name: name.into(),
        help: String::new(),
        hidden,
        presentable: false,
        required,
        system: true,
        kind,
    }
}

/// The system fields of an auth collection, `id` first.
pub fn system_fields() -> Vec<Field> {
    vec![
        system_id_field(),
        system_field(
            "password",
            true,
            true,
            FieldKind::Password {
                min: 8,
                max: 0,
                pattern: String::new(),
                cost: 0,
            },
        ),
        system_field(
            "tokenKey",
            true,
            true,
            FieldKind::Text {
                min: 30,
                max: 60,
                pattern: String::new(),
                autogenerate_pattern: "[a-zA-Z0-9]{50}".into(),
                primary_key: false,
            },
        ),
        system_field(
            "email",
            false,
            true,
            FieldKind::Email {
                except_domains: vec![],
                only_domains: vec![],
            },
        ),
        system_field("emailVisibility", false, false, FieldKind::Bool {}),
        system_field("verified", false, false, FieldKind::Bool {}),
    ]
}

/// The unique indexes every auth collection has (token key, and email when set), named with
/// a random suffix as PocketBase names them.
pub fn system_indexes(collection_name: &str) -> Vec<String> {
    let suffix = ids::new_record_id()[..10].to_string();
    vec![
        format!("CREATE UNIQUE INDEX `idx_tokenKey_{suffix}` ON `{collection_name}` (`tokenKey`)"),
        format!(
            "CREATE UNIQUE INDEX `idx_email_{suffix}` ON `{collection_name}` (`email`) WHERE `email` != ''"
        ),
    ]
}

/// The two system unique indexes, named after the collection id as PocketBase names them.
pub fn system_indexes_for(collection_id: &str, collection_name: &str) -> Vec<String> {
    vec![
        format!(
            "CREATE UNIQUE INDEX `idx_tokenKey_{collection_id}` ON `{collection_name}` (`tokenKey`)"
        ),
        format!(
            "CREATE UNIQUE INDEX `idx_email_{collection_id}` ON `{collection_name}` (`email`) WHERE `email` != ''"
        ),
    ]
}

/// Make a new auth collection whole: the system fields the body left out are appended
/// (PocketBase's order), the system indexes added when missing, and its options prepared.
pub fn prepare_new(collection: &mut Collection) -> Result<(), FieldErrors> {
    add_missing_system_fields(collection);
    add_missing_system_indexes(collection);
    auth_options::prepare(collection, None)
}

/// An auth collection's update: system fields left out of the field list are put back (as
/// PocketBase does), the system indexes stay, and options merge over the current ones.
pub fn prepare_update(
    collection: &mut Collection,
    previous: &Collection,
) -> Result<(), FieldErrors> {
    add_missing_system_fields(collection);
    add_missing_system_indexes(collection);
    auth_options::prepare(collection, Some(previous))
}

/// System fields the list lacks (by id and by name) are appended; a given field with a
/// system field's id stays a system field.
fn add_missing_system_fields(collection: &mut Collection) {
    for system in system_fields().into_iter().skip(1) {
        let position = collection.fields.iter().position(|field| {
            field.id == system.id || (field.id.is_empty() && field.name == system.name)
        });
        match position {
            Some(index) => collection.fields[index].system = true,
            None if collection.field(&system.name).is_none() => collection.fields.push(system),
            None => {}
        }
    }
}

fn add_missing_system_indexes(collection: &mut Collection) {
    let wanted = system_indexes_for(&collection.id, &collection.name);
    for (field, sql) in ["tokenKey", "email"].into_iter().zip(wanted) {
        if !auth_options::has_single_column_unique_index(collection, field) {
            collection.indexes.push(sql);
        }
    }
}

/// The `users` collection a new cluster starts with, as PocketBase 0.40 creates it: `name`,
/// an image `avatar` (which OAuth2's `avatarURL` maps to), `created` and `updated`.
pub fn users_collection(now: &str) -> Result<Collection, FieldErrors> {
    let mut fields: Vec<Field> = system_fields();
    let text_field = |name: &str| Field {
        id: ids::field_id("text", name),
        name: name.into(),
        help: String::new(),
        hidden: false,
        presentable: false,
        required: false,
        system: false,
        kind: FieldKind::Text {
            min: 0,
            max: 255,
            pattern: String::new(),
            autogenerate_pattern: String::new(),
            primary_key: false,
        },
    };
    let autodate = |name: &str, on_update: bool| Field {
        id: ids::field_id("autodate", name),
        name: name.into(),
        help: String::new(),
        hidden: false,
        presentable: false,
        required: false,
        system: false,
        kind: FieldKind::Autodate {
            on_create: true,
            on_update,
        },
    };
    fields.push(text_field("name"));
    fields.push(Field {
        id: ids::field_id("file", "avatar"),
        name: "avatar".into(),
        help: String::new(),
        hidden: false,
        presentable: false,
        required: false,
        system: false,
        kind: FieldKind::File {
            max_select: 1,
            max_size: 0,
            mime_types: [
                "image/jpeg",
                "image/png",
                "image/svg+xml",
                "image/gif",
                "image/webp",
            ]
            .map(String::from)
            .to_vec(),
            thumbs: Vec::new(),
            protected: false,
        },
    });
    fields.push(autodate("created", false));
    fields.push(autodate("updated", true));
    let owner = Some("id = @request.auth.id".to_string());
    let mut collection = Collection {
        id: USERS_ID.into(),
        list_rule: owner.clone(),
        view_rule: owner.clone(),
        create_rule: Some(String::new()),
        update_rule: owner.clone(),
        delete_rule: owner,
        name: USERS_NAME.into(),
        kind: CollectionType::Auth,
        fields,
        indexes: system_indexes_for(USERS_ID, USERS_NAME),
        created: now.into(),
        updated: now.into(),
        system: false,
        options: Map::new(),
    };
    collection.options.insert(
        "oauth2".into(),
        json!({"mappedFields": {"name": "name", "avatarURL": "avatar"}}),
    );
    auth_options::prepare(&mut collection, None)?;
    Ok(collection)
}

fn template(subject: &str, lines: &[&str]) -> Value {
    let body: String = lines
        .iter()
        .map(|line| format!("<p>{line}</p>\n"))
        .collect();
    json!({ "subject": subject, "body": body.trim_end() })
}

/// The auth options of a new auth collection.
pub fn default_options() -> Map<String, Value> {
    let thanks = "Thanks,<br/>\n  the {APP_NAME} team";
    let options = json!({
        "authRule": "",
        "manageRule": null,
        "authAlert": {
            "enabled": true,
            "emailTemplate": template("New sign-in to {APP_NAME}", &[
                "Hi,",
                "Your {APP_NAME} account was just signed in to from a place we had not seen before:",
                "<em>{ALERT_INFO}</em>",
                "<strong>If it was not you, change your {APP_NAME} password now; that signs out every other session.</strong>",
                "If it was you, there is nothing to do.",
                thanks,
            ]),
        },
        "oauth2": {
            "providers": [],
            "mappedFields": {"id": "", "name": "", "username": "", "avatarURL": ""},
            "enabled": false,
        },
        "passwordAuth": {"enabled": true, "identityFields": ["email"]},
        "mfa": {"enabled": false, "duration": 600, "rule": ""},
        "otp": {
            "enabled": false,
            "duration": 180,
            "length": 8,
            "emailTemplate": template("Your {APP_NAME} sign-in code", &[
                "Hi,",
                "Your one-time sign-in code is <strong>{OTP}</strong>.",
                "<i>If you did not ask for a code, you can ignore this email.</i>",
                thanks,
            ]),
        },
        "authToken": {"duration": AUTH_TOKEN_DURATION_SECS},
        "passwordResetToken": {"duration": 1800},
        "emailChangeToken": {"duration": 1800},
        "verificationToken": {"duration": 86400},
        "fileToken": {"duration": 180},
        "verificationTemplate": template("Confirm your {APP_NAME} email", &[
            "Hi,",
            "Welcome to {APP_NAME}. Please confirm your email address:",
            "<a class=\"btn\" href=\"{APP_URL}/_/#/auth/confirm-verification/{TOKEN}\" target=\"_blank\" rel=\"noopener\">Confirm email</a>",
            "<i>If you did not sign up, you can ignore this email.</i>",
            thanks,
        ]),
        "resetPasswordTemplate": template("Reset your {APP_NAME} password", &[
            "Hi,",
            "Follow the link to choose a new password:",
            "<a class=\"btn\" href=\"{APP_URL}/_/#/auth/confirm-password-reset/{TOKEN}\" target=\"_blank\" rel=\"noopener\">Choose a new password</a>",
            "<i>If you did not ask for this, you can ignore this email.</i>",
            thanks,
        ]),
        "confirmEmailChangeTemplate": template("Confirm your new {APP_NAME} email", &[
            "Hi,",
            "Follow the link to confirm your new email address:",
            "<a class=\"btn\" href=\"{APP_URL}/_/#/auth/confirm-email-change/{TOKEN}\" target=\"_blank\" rel=\"noopener\">Confirm new email</a>",
            "<i>If you did not ask for this, you can ignore this email.</i>",
            thanks,
        ]),
    });
    match options {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}
