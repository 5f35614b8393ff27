//! The system fields of an auth collection's records on create and update: `password` with
//! `passwordConfirm` (and `oldPassword` for a caller who does not manage the record),
//! `email` and `verified` changed only by those who manage records, and a new `tokenKey`
//! with every new password, so the record's old tokens stop verifying on every node.
//! Codes and messages read off PocketBase 0.40.6.

use crate::ValidationCode;
use edgebase_wire::{Collection, CollectionType, FieldKind};
use serde_json::{json, Value};

use crate::fields::{self, text};
use crate::ids;
use crate::record_values::{Document, RecordLookup};
use crate::superusers::TOKEN_KEY_LENGTH;
use crate::{field_error, FieldErrors};

/// What the writer may do to an auth record's system fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthAccess {
    /// A superuser, or a caller the collection's manageRule admits: may set `email` and
    /// `verified`, and a new password without the old one.
    Manage,
    /// Anyone else (the record's owner included).
    Own,
}

/// A body's text value (`""` when missing), as PocketBase casts form values.
fn given(body: &serde_json::Map<String, Value>, key: &str) -> String {
    body.get(key).map(text::cast_text).unwrap_or_default()
}

fn mismatch() -> Value {
    field_error(ValidationCode::ValuesMismatch, "Values don't match.", None)
}

fn required() -> Value {
    field_error(ValidationCode::Required, "Cannot be blank.", None)
}

/// Apply the auth parts of `body` to `doc` (the document being written; `original` is the
/// stored one on update) and return their errors. A newly given password is put into `doc`
/// in plain text: the caller hashes it (see [`new_password_given`]) before storing.
pub fn apply(
    collection: &Collection,
    original: Option<&Document>,
    body: &serde_json::Map<String, Value>,
    doc: &mut Document,
    access: AuthAccess,
    lookup: &dyn RecordLookup,
) -> FieldErrors {
    let mut errors = FieldErrors::new();
    if collection.kind != CollectionType::Auth {
        return errors;
    }
    let is_new = original.is_none();
    let password = given(body, "password");
    let confirm = given(body, "passwordConfirm");
    let old_password = given(body, "oldPassword");
    let changing = !password.is_empty() || !confirm.is_empty() || !old_password.is_empty();
    if is_new || changing {
        if password.is_empty() {
            errors.insert("password".into(), required());
        } else if let Some(field) = collection
            .fields
            .iter()
            .find(|field| matches!(field.kind, FieldKind::Password { .. }))
        {
            if let Some(error) = fields::validate(field, &json!(password), lookup) {
                errors.insert("password".into(), error);
            }
        }
        if confirm.is_empty() && (is_new || !password.is_empty()) {
            errors.insert("passwordConfirm".into(), required());
        } else if confirm != password {
            errors.insert("passwordConfirm".into(), mismatch());
        }
        if !is_new
            && access == AuthAccess::Own
            && (!password.is_empty() || !confirm.is_empty())
            && old_password.is_empty()
        {
            errors.insert("oldPassword".into(), required());
        }
        if !password.is_empty() {
            doc.insert("password".into(), json!(password));
            if !is_new {
                doc.insert("tokenKey".into(), json!(ids::new_secret(TOKEN_KEY_LENGTH)));
            }
        }
    }
    if access == AuthAccess::Own {
        let before = |key: &str, zero: Value| {
            original
                .and_then(|original| original.get(key).cloned())
                .unwrap_or(zero)
        };
        let now = |key: &str, zero: Value| doc.get(key).cloned().unwrap_or(zero);
        if now("verified", json!(false)) != before("verified", json!(false)) {
            errors.insert("verified".into(), mismatch());
        }
        if !is_new && now("email", json!("")) != before("email", json!("")) {
            errors.insert("email".into(), mismatch());
        }
    }
    // Superusers are always verified, whatever the body says (as in PocketBase).
    if collection.name == crate::superusers::SUPERUSERS_NAME {
        doc.insert("verified".into(), json!(true));
    }
    errors
}

/// Whether this write sets a new password (which [`apply`] left in plain text in the
/// document, to be hashed by the caller).
pub fn new_password_given(collection: &Collection, body: &serde_json::Map<String, Value>) -> bool {
    collection.kind == CollectionType::Auth && !given(body, "password").is_empty()
}

/// The old password an update must be checked against, when the writer must give one.
pub fn old_password_to_check(
    collection: &Collection,
    body: &serde_json::Map<String, Value>,
    access: AuthAccess,
) -> Option<String> {
    let old = given(body, "oldPassword");
    (collection.kind == CollectionType::Auth && access == AuthAccess::Own && !old.is_empty())
        .then_some(old)
}

/// The error for an old password that does not match.
pub fn invalid_old_password() -> Value {
    field_error(
        ValidationCode::InvalidOldPassword,
        "Missing or invalid old password.",
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth_collection;

    fn no_records(_: &str, _: &str) -> bool {
        false
    }

    fn members() -> Collection {
        let mut collection: Collection =
            serde_json::from_value(json!({"id": "pbc_1", "name": "members", "type": "auth"}))
                .expect("valid");
        auth_collection::prepare_new(&mut collection).expect("valid");
        collection
    }

    fn stored() -> Document {
        json!({"id": "u1", "email": "a@x.com", "verified": false, "password": "$argon2id$x", "tokenKey": "k"})
            .as_object()
            .cloned()
            .expect("object")
    }

    /// (is update, body, access) -> error codes, read off PocketBase 0.40.6.
    #[test]
    fn auth_fields_match_pocketbase() {
        let cases: &[(bool, Value, AuthAccess, Value)] = &[
            (
                false,
                json!({"email": "a@x.com"}),
                AuthAccess::Own,
                json!({"password": "validation_required", "passwordConfirm": "validation_required"}),
            ),
            (
                false,
                json!({"password": "12345678", "passwordConfirm": "12345679"}),
                AuthAccess::Own,
                json!({"passwordConfirm": "validation_values_mismatch"}),
            ),
            (
                false,
                json!({"password": "123", "passwordConfirm": "123"}),
                AuthAccess::Own,
                json!({"password": "validation_min_text_constraint"}),
            ),
            (
                false,
                json!({"password": "12345678", "passwordConfirm": "12345678", "verified": true}),
                AuthAccess::Own,
                json!({"verified": "validation_values_mismatch"}),
            ),
            (
                false,
                json!({"password": "12345678", "passwordConfirm": "12345678", "verified": true}),
                AuthAccess::Manage,
                json!({}),
            ),
            (
                true,
                json!({"password": "abcdefgh", "passwordConfirm": "abcdefgh"}),
                AuthAccess::Own,
                json!({"oldPassword": "validation_required"}),
            ),
            (
                true,
                json!({"password": "abcdefgh", "passwordConfirm": "abcdefgh"}),
                AuthAccess::Manage,
                json!({}),
            ),
            (
                true,
                json!({"email": "new@x.com"}),
                AuthAccess::Own,
                json!({"email": "validation_values_mismatch"}),
            ),
            (
                true,
                json!({"verified": true}),
                AuthAccess::Own,
                json!({"verified": "validation_values_mismatch"}),
            ),
            (
                true,
                json!({"verified": false, "email": "a@x.com"}),
                AuthAccess::Own,
                json!({}),
            ),
        ];
        for (is_update, body, access, expected) in cases {
            let collection = members();
            let original = is_update.then(stored);
            let mut doc = original.clone().unwrap_or_default();
            for key in ["email", "verified"] {
                if let Some(value) = body.get(key) {
                    doc.insert(key.into(), value.clone());
                }
            }
            let errors = apply(
                &collection,
                original.as_ref(),
                body.as_object().expect("object"),
                &mut doc,
                *access,
                &no_records,
            );
            let codes: serde_json::Map<String, Value> = errors
                .iter()
                .map(|(key, error)| (key.clone(), error["code"].clone()))
                .collect();
            assert_eq!(&Value::Object(codes), expected, "{body}");
        }
    }

    #[test]
    fn a_new_password_gets_a_new_token_key() {
        let collection = members();
        let original = stored();
        let mut doc = original.clone();
        let body = json!({"password": "abcdefgh", "passwordConfirm": "abcdefgh"});
        let errors = apply(
            &collection,
            Some(&original),
            body.as_object().expect("object"),
            &mut doc,
            AuthAccess::Manage,
            &no_records,
        );
        assert!(errors.is_empty());
        assert_eq!(doc["password"], json!("abcdefgh"));
        assert_ne!(doc["tokenKey"], original["tokenKey"]);
    }
}
