//! An auth collection's options on save: what the client sent merged over the current (or
//! default) options as PocketBase decodes JSON onto its options struct, the token secrets
//! kept or generated, and the checks PocketBase 0.40 makes (codes and messages read off it).
//! Rule syntax (authRule, manageRule, mfa.rule) is checked with the other rules in
//! `api::collection_checks`, which knows the other collections.

use crate::ValidationCode;
use edgebase_syntax::index::{parse_index, Collation};
use edgebase_wire::Collection;
use serde_json::{json, Map, Value};

use crate::{auth_collection, ids, oauth2_providers};
use crate::{field_error, FieldErrors};

/// The token configurations every auth collection has, each with its own secret.
pub const TOKEN_OPTIONS: [&str; 5] = [
    "authToken",
    "passwordResetToken",
    "emailChangeToken",
    "verificationToken",
    "fileToken",
];

/// Length of a generated token secret (PocketBase's).
pub const SECRET_LENGTH: usize = 50;
const SECRET_LENGTH_MIN: usize = 30;
const SECRET_LENGTH_MAX: usize = 255;
const TOKEN_DURATION_MIN_SECS: i64 = 10;
/// About three years, PocketBase's longest token lifetime.
const TOKEN_DURATION_MAX_SECS: i64 = 94_670_856;
const OTP_MFA_DURATION_MAX_SECS: i64 = 86_400;
const OTP_LENGTH_MIN: i64 = 4;
/// Most OAuth2 providers one collection may list.
const PROVIDERS_MAX: usize = 100;

/// The OAuth2 provider names PocketBase 0.40 knows.
pub const OAUTH2_PROVIDERS: &[&str] = &[
    "apple",
    "bitbucket",
    "box",
    "discord",
    "facebook",
    "gitea",
    "gitee",
    "github",
    "gitlab",
    "google",
    "instagram2",
    "kakao",
    "lark",
    "linear",
    "livechat",
    "mailcow",
    "microsoft",
    "monday",
    "notion",
    "oidc",
    "oidc2",
    "oidc3",
    "patreon",
    "planningcenter",
    "spotify",
    "strava",
    "trakt",
    "twitch",
    "twitter",
    "vk",
    "wakatime",
    "yandex",
];

/// Merge `patch` into `base` as Go's JSON decoding onto a struct does: objects merge key by
/// key, anything else (arrays included) replaces.
fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            for (key, value) in patch {
                match base.get_mut(key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        merge(existing, value)
                    }
                    _ => {
                        base.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (base, patch) => *base = patch.clone(),
    }
}

/// The options an auth collection stores: `previous` (or the defaults for a new collection)
/// with the sent `options` merged over, unknown keys dropped, and every token config given a
/// secret (sent, kept, or new). Errors are PocketBase's, keyed by option name.
pub fn prepare(
    collection: &mut Collection,
    previous: Option<&Collection>,
) -> Result<(), FieldErrors> {
    let defaults = auth_collection::default_options();
    let mut merged = Value::Object(match previous {
        Some(previous) => {
            let mut base = Value::Object(defaults.clone());
            merge(&mut base, &Value::Object(previous.options.clone()));
            match base {
                Value::Object(map) => map,
                _ => defaults.clone(),
            }
        }
        None => defaults.clone(),
    });
    let sent = std::mem::take(&mut collection.options);
    // A null option is left as it was (Go leaves a struct field alone for a JSON null),
    // except the rules, which are nullable.
    let sent: Map<String, Value> = sent
        .into_iter()
        .filter(|(key, value)| {
            defaults.contains_key(key)
                && (!value.is_null() || key == "authRule" || key == "manageRule")
        })
        .collect();
    let mut errors = FieldErrors::new();
    for (key, value) in &sent {
        let expects_object = defaults.get(key).is_some_and(Value::is_object);
        if expects_object && !value.is_object() {
            return Err(format_error());
        }
        if (key == "authRule" || key == "manageRule") && !(value.is_null() || value.is_string()) {
            return Err(format_error());
        }
    }
    let mut sent = sent;
    oauth2_providers::decode_in_options(&mut sent, &merged).map_err(|_| format_error())?;
    merge(&mut merged, &Value::Object(sent.clone()));
    let Value::Object(mut options) = merged else {
        return Err(format_error());
    };
    for name in TOKEN_OPTIONS {
        let sent_secret = sent
            .get(name)
            .and_then(|token| token.get("secret"))
            .and_then(Value::as_str)
            .filter(|secret| !secret.is_empty());
        let kept = previous
            .and_then(|previous| previous.options.get(name))
            .and_then(|token| token.get("secret"))
            .and_then(Value::as_str)
            .filter(|secret| !secret.is_empty());
        // An update body is merged over the stored definition, so the stored secret comes
        // back as if sent: only a different one is new.
        let sent_secret = sent_secret.filter(|secret| Some(*secret) != kept);
        // PocketBase invalidates every issued auth token when the authRule changes.
        let rule_text = |options: &Map<String, Value>| {
            options
                .get("authRule")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let kept = match previous {
            Some(previous)
                if name == "authToken" && rule_text(&previous.options) != rule_text(&options) =>
            {
                None
            }
            _ => kept,
        };
        let secret = match (sent_secret, kept) {
            (Some(secret), _) | (None, Some(secret)) => secret.to_string(),
            (None, None) => ids::new_secret(SECRET_LENGTH),
        };
        if let Some(token) = options.get_mut(name).and_then(Value::as_object_mut) {
            token.insert("secret".into(), json!(secret));
        }
    }
    unset_missing_mapped_fields(collection, &mut options);
    collection.options = options;
    // The rules' syntax is checked between the shapes and the last checks, by the caller
    // that knows the other collections (`api::collection_checks`).
    errors.extend(shape_errors(collection));
    if errors.is_empty() {
        let last =
            mfa_methods_error(&collection.options).or_else(|| identity_fields_error(collection));
        errors.extend(last);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn format_error() -> FieldErrors {
    let mut errors = FieldErrors::new();
    errors.insert(
        String::new(),
        json!("Failed to load the submitted data due to invalid formatting."),
    );
    errors
}

/// Whether `errors` is the format error of [`prepare`] rather than field errors.
pub fn is_format_error(errors: &FieldErrors) -> bool {
    errors.contains_key("")
}

/// OAuth2 mapped fields naming a field the collection lacks are cleared, as PocketBase does.
fn unset_missing_mapped_fields(collection: &Collection, options: &mut Map<String, Value>) {
    let Some(mapped) = options
        .get_mut("oauth2")
        .and_then(|oauth2| oauth2.get_mut("mappedFields"))
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for value in mapped.values_mut() {
        let name = value.as_str().unwrap_or_default();
        if !name.is_empty() && collection.field(name).is_none() {
            *value = json!("");
        }
    }
}

fn int(value: Option<&Value>) -> i64 {
    match value {
        Some(Value::Number(number)) => number
            .as_i64()
            .or_else(|| number.as_f64().map(|float| float as i64))
            .unwrap_or(0),
        _ => 0,
    }
}

fn text(value: Option<&Value>) -> &str {
    value.and_then(Value::as_str).unwrap_or_default()
}

fn enabled(options: &Map<String, Value>, name: &str) -> bool {
    options
        .get(name)
        .and_then(|option| option.get("enabled"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn required() -> Value {
    field_error(ValidationCode::Required, "Cannot be blank.", None)
}

fn min_error(threshold: i64) -> Value {
    field_error(
        ValidationCode::MinGreaterEqualThanRequired,
        format!("Must be no less than {threshold}."),
        Some(json!({ "threshold": threshold })),
    )
}

fn max_error(threshold: i64) -> Value {
    field_error(
        ValidationCode::MaxLessEqualThanRequired,
        format!("Must be no greater than {threshold}."),
        Some(json!({ "threshold": threshold })),
    )
}

/// A duration's error: required (non-zero), then the bounds.
fn duration_error(value: i64, max: i64) -> Option<Value> {
    if value == 0 {
        Some(required())
    } else if value < TOKEN_DURATION_MIN_SECS {
        Some(min_error(TOKEN_DURATION_MIN_SECS))
    } else if value > max {
        Some(max_error(max))
    } else {
        None
    }
}

fn template_errors(template: Option<&Value>) -> Map<String, Value> {
    let mut errors = Map::new();
    for key in ["subject", "body"] {
        if text(template.and_then(|template| template.get(key))).is_empty() {
            errors.insert(key.into(), required());
        }
    }
    errors
}

fn insert_nested(errors: &mut FieldErrors, option: &str, nested: Map<String, Value>) {
    if !nested.is_empty() {
        errors.insert(option.into(), Value::Object(nested));
    }
}

fn validate(options: &Map<String, Value>, errors: &mut FieldErrors) {
    if options.get("manageRule").and_then(Value::as_str) == Some("") {
        errors.insert(
            "manageRule".into(),
            field_error(
                ValidationCode::NilOrNotEmptyRequired,
                "Cannot be blank.",
                None,
            ),
        );
    }
    for name in TOKEN_OPTIONS {
        let token = options.get(name);
        let mut nested = Map::new();
        let secret_length = text(token.and_then(|token| token.get("secret")))
            .chars()
            .count();
        if !(SECRET_LENGTH_MIN..=SECRET_LENGTH_MAX).contains(&secret_length) {
            nested.insert(
                "secret".into(),
                field_error(
                    ValidationCode::LengthOutOfRange,
                    format!(
                        "The length must be between {SECRET_LENGTH_MIN} and {SECRET_LENGTH_MAX}."
                    ),
                    Some(json!({ "min": SECRET_LENGTH_MIN, "max": SECRET_LENGTH_MAX })),
                ),
            );
        }
        let duration = int(token.and_then(|token| token.get("duration")));
        if let Some(error) = duration_error(duration, TOKEN_DURATION_MAX_SECS) {
            nested.insert("duration".into(), error);
        }
        insert_nested(errors, name, nested);
    }
    for (name, has_length) in [("otp", true), ("mfa", false)] {
        if !enabled(options, name) {
            continue;
        }
        let option = options.get(name);
        let mut nested = Map::new();
        let duration = int(option.and_then(|option| option.get("duration")));
        if let Some(error) = duration_error(duration, OTP_MFA_DURATION_MAX_SECS) {
            nested.insert("duration".into(), error);
        }
        if has_length {
            let length = int(option.and_then(|option| option.get("length")));
            if length == 0 {
                nested.insert("length".into(), required());
            } else if length < OTP_LENGTH_MIN {
                nested.insert("length".into(), min_error(OTP_LENGTH_MIN));
            }
        }
        insert_nested(errors, name, nested);
    }
    let otp_template = template_errors(options.get("otp").and_then(|otp| otp.get("emailTemplate")));
    if !otp_template.is_empty() {
        let mut nested = Map::new();
        nested.insert("emailTemplate".into(), Value::Object(otp_template));
        insert_nested(errors, "otp", nested);
    }
    let alert_template = template_errors(
        options
            .get("authAlert")
            .and_then(|alert| alert.get("emailTemplate")),
    );
    if !alert_template.is_empty() {
        let mut nested = Map::new();
        nested.insert("emailTemplate".into(), Value::Object(alert_template));
        insert_nested(errors, "authAlert", nested);
    }
    for name in [
        "verificationTemplate",
        "resetPasswordTemplate",
        "confirmEmailChangeTemplate",
    ] {
        insert_nested(errors, name, template_errors(options.get(name)));
    }
    if enabled(options, "passwordAuth") {
        let fields = options
            .get("passwordAuth")
            .and_then(|auth| auth.get("identityFields"))
            .and_then(Value::as_array);
        if fields.is_none_or(Vec::is_empty) {
            let mut nested = Map::new();
            nested.insert("identityFields".into(), required());
            insert_nested(errors, "passwordAuth", nested);
        }
    }
    if enabled(options, "oauth2") {
        if let Some(nested) = providers_errors(options) {
            let mut wrapper = Map::new();
            wrapper.insert("providers".into(), nested);
            insert_nested(errors, "oauth2", wrapper);
        }
    }
}

/// PocketBase's first check after the options (and rules) are valid: MFA needs two methods.
pub fn mfa_methods_error(options: &Map<String, Value>) -> Option<(String, Value)> {
    if !enabled(options, "mfa") {
        return None;
    }
    let methods = ["passwordAuth", "oauth2", "otp"]
        .into_iter()
        .filter(|name| enabled(options, name))
        .count();
    (methods < 2).then(|| {
        (
            "mfa".to_string(),
            json!({"enabled": field_error(
                ValidationCode::MfaNotEnoughAuths,
                "MFA requires at least 2 auth methods to be enabled.",
                None,
            )}),
        )
    })
}

/// PocketBase's last check: every identity field has a single-column unique index.
pub fn identity_fields_error(collection: &Collection) -> Option<(String, Value)> {
    let options = &collection.options;
    if !enabled(options, "passwordAuth") {
        return None;
    }
    let fields = options
        .get("passwordAuth")
        .and_then(|auth| auth.get("identityFields"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    fields.iter().find_map(|field| {
        let name = field.as_str().unwrap_or_default();
        (!has_single_column_unique_index(collection, name)).then(|| {
            (
                "passwordAuth".to_string(),
                json!({"identityFields": field_error(
                    ValidationCode::MissingUniqueConstraint,
                    format!("The field {name} doesn't have a UNIQUE constraint."),
                    Some(json!({ "fieldName": name })),
                )}),
            )
        })
    })
}

/// The checks of the options' own shapes (PocketBase's struct validation): token configs,
/// OTP and MFA when on, templates, identity fields present, OAuth2 providers.
pub fn shape_errors(collection: &Collection) -> FieldErrors {
    let mut errors = FieldErrors::new();
    validate(&collection.options, &mut errors);
    errors
}

fn providers_errors(options: &Map<String, Value>) -> Option<Value> {
    let providers = options
        .get("oauth2")
        .and_then(|oauth2| oauth2.get("providers"))
        .and_then(Value::as_array)?;
    let mut errors = Map::new();
    if providers.len() > PROVIDERS_MAX {
        return Some(field_error(
            ValidationCode::LengthTooLong,
            format!("The length must be no more than {PROVIDERS_MAX}."),
            Some(json!({ "max": PROVIDERS_MAX })),
        ));
    }
    let mut seen: Vec<&str> = Vec::new();
    for (index, provider) in providers.iter().enumerate() {
        let mut nested = Map::new();
        let name = text(provider.get("name"));
        if name.is_empty() {
            nested.insert("name".into(), required());
        } else if !OAUTH2_PROVIDERS.contains(&name) {
            nested.insert(
                "name".into(),
                field_error(
                    ValidationCode::MissingProvider,
                    format!("Invalid or missing provider with name {name}."),
                    Some(json!({ "name": name })),
                ),
            );
        } else if seen.contains(&name) {
            nested.insert(
                "name".into(),
                field_error(
                    ValidationCode::DuplicatedProvider,
                    format!("The provider {name} is already registered."),
                    Some(json!({ "name": name })),
                ),
            );
        }
        seen.push(name);
        for key in ["clientId", "clientSecret"] {
            if text(provider.get(key)).is_empty() {
                nested.insert(key.into(), required());
            }
        }
        nested.extend(oauth2_providers::url_errors(provider));
        if !nested.is_empty() {
            errors.insert(index.to_string(), Value::Object(nested));
        }
    }
    (!errors.is_empty()).then_some(Value::Object(errors))
}

/// Whether one of the collection's indexes is `UNIQUE` over `field` alone.
pub fn has_single_column_unique_index(collection: &Collection, field: &str) -> bool {
    single_column_unique_index(collection, field).is_some()
}

/// The collation of the single-column unique index over `field`: `Some(true)` when it
/// compares case-insensitively (`COLLATE NOCASE`), `Some(false)` when exactly, `None` when
/// there is no such index.
pub fn single_column_unique_index(collection: &Collection, field: &str) -> Option<bool> {
    collection.indexes.iter().find_map(|sql| {
        let definition = parse_index(sql).ok()?;
        match definition.columns.as_slice() {
            [column] if definition.unique && column.name.eq_ignore_ascii_case(field) => {
                Some(column.collation == Collation::NoCase)
            }
            _ => None,
        }
    })
}

/// The option values as the API shows them: every token secret removed.
pub fn without_secrets(value: &mut Value) {
    for name in TOKEN_OPTIONS {
        if let Some(token) = value.get_mut(name).and_then(Value::as_object_mut) {
            token.remove("secret");
        }
    }
    oauth2_providers::without_client_secrets(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth_collection(options: Value) -> Collection {
        let mut collection: Collection = serde_json::from_value(json!({
            "id": "pbc_1", "name": "members", "type": "auth",
            "fields": [{"name": "username", "type": "text"}],
            "indexes": [
                "CREATE UNIQUE INDEX `idx_tokenKey_pbc_1` ON `members` (`tokenKey`)",
                "CREATE UNIQUE INDEX `idx_email_pbc_1` ON `members` (`email`) WHERE `email` != ''"
            ]
        }))
        .expect("valid");
        if let Value::Object(options) = options {
            collection.options = options;
        }
        collection
    }

    fn codes(errors: &FieldErrors) -> Value {
        fn strip(value: &Value) -> Value {
            match value {
                Value::Object(map) if map.contains_key("code") => map["code"].clone(),
                Value::Object(map) => Value::Object(
                    map.iter()
                        .map(|(key, value)| (key.clone(), strip(value)))
                        .collect(),
                ),
                other => other.clone(),
            }
        }
        strip(&Value::Object(errors.clone()))
    }

    /// Sent options -> error codes, read off PocketBase 0.40.6.
    #[test]
    fn option_errors_match_pocketbase() {
        let cases: &[(Value, Value)] = &[
            (json!({}), json!({})),
            (
                json!({"authToken": {"duration": 0}, "otp": {"length": 0}, "mfa": {"enabled": true}}),
                json!({"authToken": {"duration": "validation_required"}}),
            ),
            (
                json!({"passwordAuth": {"enabled": true, "identityFields": ["username"]}}),
                json!({"passwordAuth": {"identityFields": "validation_missing_unique_constraint"}}),
            ),
            (
                json!({"authToken": {"duration": 5, "secret": "abc"}, "oauth2": {"enabled": true, "providers": [{"name": "nope"}]}}),
                json!({
                    "authToken": {"duration": "validation_min_greater_equal_than_required", "secret": "validation_length_out_of_range"},
                    "oauth2": {"providers": {"0": {"clientId": "validation_required", "clientSecret": "validation_required", "name": "validation_missing_provider"}}}
                }),
            ),
            (
                json!({"mfa": {"enabled": true}}),
                json!({"mfa": {"enabled": "validation_mfa_not_enough_auths"}}),
            ),
            (
                json!({"otp": {"enabled": true, "length": 2, "duration": 100000}}),
                json!({"otp": {"duration": "validation_max_less_equal_than_required", "length": "validation_min_greater_equal_than_required"}}),
            ),
            (
                json!({"manageRule": ""}),
                json!({"manageRule": "validation_nil_or_not_empty_required"}),
            ),
        ];
        for (options, expected) in cases {
            let mut collection = auth_collection(options.clone());
            let outcome = prepare(&mut collection, None);
            let got = match outcome {
                Ok(()) => json!({}),
                Err(errors) => codes(&errors),
            };
            assert_eq!(&got, expected, "{options}");
        }
    }

    #[test]
    fn secrets_are_generated_then_kept() {
        let mut created = auth_collection(json!({}));
        prepare(&mut created, None).expect("valid");
        let secret = created.options["authToken"]["secret"].clone();
        assert_eq!(secret.as_str().map(str::len), Some(SECRET_LENGTH));
        let mut updated = auth_collection(json!({"authToken": {"duration": 60}}));
        prepare(&mut updated, Some(&created)).expect("valid");
        assert_eq!(updated.options["authToken"]["secret"], secret);
        assert_eq!(updated.options["authToken"]["duration"], json!(60));
        let mut rule_changed = auth_collection(json!({"authRule": "verified = true"}));
        prepare(&mut rule_changed, Some(&updated)).expect("valid");
        assert_ne!(rule_changed.options["authToken"]["secret"], secret);
        assert_eq!(
            rule_changed.options["passwordResetToken"]["secret"],
            updated.options["passwordResetToken"]["secret"]
        );
        let mut shown = serde_json::to_value(&updated).expect("serialises");
        without_secrets(&mut shown);
        assert!(shown["authToken"].get("secret").is_none());
    }
}
