//! `POST /api/collections/{c}/auth-with-password`: identity and password to a token. Any
//! failure to find the record or match the password answers PocketBase's one 400, and an
//! unknown identity still pays for a hash, so neither answer nor timing tells them apart.

use edgebase_model::ValidationCode;

use axum::http::StatusCode;
use axum::response::Response;
use edgebase_storage::query::{
    CompareKind, CompareOp, Expr, FilterAccess, FilterPart, ListRequest, Modifier, Operand,
    Path as FieldPath, PathRoot,
};
use serde_json::Value;

use crate::auth::check_auth_rule_in;
use crate::auth::mfa::{complete_auth, requested_mfa_id, METHOD_PASSWORD};
use crate::auth::sign_in::SignIn;
use crate::error::{field_error, ApiError, FieldErrors};
use crate::extract::{json_object, Body};
use edgebase_auth::password;
use edgebase_model::record_values::Document;
use edgebase_service::app::{App, LoadedCollection};
use edgebase_service::caller::Caller;
use edgebase_service::record_writes::decode;

/// Longest identity, password or identity field name PocketBase accepts.
const INPUT_LENGTH_MAX: usize = 255;

/// A loose email shape check, only to pick which identity field to try first.
fn looks_like_email(identity: &str) -> bool {
    match identity.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !identity.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// The record whose `field` equals `identity` (the field's unique index makes it at most
/// one; without such an index the field is not an identity).
fn find_by_field(
    app: &App,
    loaded: &LoadedCollection,
    caller: &Caller,
    field: &str,
    identity: &str,
) -> Result<Option<Document>, ApiError> {
    let Some(case_insensitive) =
        edgebase_model::auth_options::single_column_unique_index(&loaded.collection, field)
    else {
        return Ok(None);
    };
    // A `COLLATE NOCASE` index makes the identity match whatever its ASCII case, as in
    // PocketBase; otherwise it matches exactly.
    let (modifier, identity) = if case_insensitive {
        (Some(Modifier::Lower), identity.to_ascii_lowercase())
    } else {
        (None, identity.to_string())
    };
    let expr = Expr::Compare {
        left: Operand::Path(FieldPath {
            root: PathRoot::Record,
            segments: vec![field.to_string()],
            modifier,
        }),
        op: CompareOp {
            kind: CompareKind::Eq,
            any_of: false,
        },
        right: Operand::Text(identity),
    };
    let page = app.state().list_records(&ListRequest::matching(
        loaded.collection.id.clone(),
        vec![FilterPart::new(expr, FilterAccess::Unrestricted)],
        1,
        caller.context(&serde_json::Map::new()),
        app.limits().records_examined_max,
    ))?;
    Ok(page.records.first().map(decode).transpose()?)
}

/// PocketBase's lookup: the named identity field, else email first when the identity looks
/// like one, then the other identity fields in order.
fn find_record(
    app: &App,
    loaded: &LoadedCollection,
    caller: &Caller,
    identity: &str,
    identity_field: &str,
) -> Result<Option<Document>, ApiError> {
    if !identity_field.is_empty() {
        return find_by_field(app, loaded, caller, identity_field, identity);
    }
    let fields = &loaded.auth.password_auth.identity_fields;
    let is_email = looks_like_email(identity);
    if is_email && fields.iter().any(|field| field == "email") {
        if let Some(doc) = find_by_field(app, loaded, caller, "email", identity)? {
            return Ok(Some(doc));
        }
    }
    for field in fields {
        if field == "email" {
            continue;
        }
        if let Some(doc) = find_by_field(app, loaded, caller, field, identity)? {
            return Ok(Some(doc));
        }
    }
    Ok(None)
}

fn input_errors(
    identity: &str,
    given_password: &str,
    identity_field: &str,
    fields: &[String],
) -> FieldErrors {
    let mut errors = FieldErrors::new();
    for (key, value) in [("identity", identity), ("password", given_password)] {
        if value.is_empty() {
            errors.insert(
                key.into(),
                field_error(ValidationCode::Required, "Cannot be blank.", None),
            );
        } else if value.chars().count() > INPUT_LENGTH_MAX {
            errors.insert(
                key.into(),
                field_error(
                    ValidationCode::LengthOutOfRange,
                    format!("The length must be between 1 and {INPUT_LENGTH_MAX}."),
                    Some(serde_json::json!({"min": 1, "max": INPUT_LENGTH_MAX})),
                ),
            );
        }
    }
    if !identity_field.is_empty() && !fields.iter().any(|field| field == identity_field) {
        errors.insert(
            "identityField".into(),
            field_error(ValidationCode::InInvalid, "Must be a valid value.", None),
        );
    }
    errors
}

pub async fn auth_with_password(sign_in: SignIn, Body(body): Body) -> Result<Response, ApiError> {
    let SignIn {
        app,
        loaded,
        caller,
        client,
        uri,
    } = sign_in;
    if !loaded.auth.password_auth.enabled {
        return Err(ApiError::forbidden(
            "The collection is not configured to allow password authentication.",
        ));
    }
    let input = json_object(&body).map_err(|_| {
        ApiError::bad_request("An error occurred while loading the submitted data.")
    })?;
    let field = |key: &str| {
        input
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (identity, given_password, identity_field) =
        (field("identity"), field("password"), field("identityField"));
    let errors = input_errors(
        &identity,
        &given_password,
        &identity_field,
        &loaded.auth.password_auth.identity_fields,
    );
    if !errors.is_empty() {
        return Err(ApiError::validation(
            "An error occurred while validating the submitted data.",
            errors,
        ));
    }
    // Failed sign-ins are limited whatever the rate-limit settings say (`login_guard`).
    let now_secs = chrono::Utc::now().timestamp();
    let guard = app.login_guard();
    if !guard.allows(&loaded.collection.id, &identity, &client.address, now_secs) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too Many Requests.",
        ));
    }
    let doc = find_record(&app, &loaded, &caller, &identity, &identity_field)?;
    let stored_hash = doc.as_ref().and_then(|doc| {
        doc.get("password")
            .and_then(Value::as_str)
            .filter(|hash| !hash.is_empty())
            .map(String::from)
    });
    // An unknown identity still pays for a hash, so timing does not tell which it was.
    let matches = password::verify(given_password, stored_hash)
        .await
        .map_err(|error| {
            tracing::error!(%error, "verify password");
            ApiError::internal()
        })?;
    let doc = match doc {
        Some(doc) if matches => {
            guard.succeeded(&loaded.collection.id, &identity);
            doc
        }
        _ => {
            guard.failed(&loaded.collection.id, &identity, &client.address, now_secs);
            return Err(ApiError::bad_request("Failed to authenticate."));
        }
    };
    check_auth_rule_in(&app, &loaded, &doc, &caller, METHOD_PASSWORD)?;
    complete_auth(
        &app,
        &loaded,
        &doc,
        &caller,
        METHOD_PASSWORD,
        &requested_mfa_id(&uri, &input),
        &client,
    )
    .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn email_shapes() {
        for (identity, expected) in [
            ("a@x.com", true),
            ("A@X.COM", true),
            ("alice", false),
            ("a@x", false),
            ("a b@x.com", false),
            ("@x.com", false),
        ] {
            assert_eq!(super::looks_like_email(identity), expected, "{identity}");
        }
    }
}
