//! Reading, showing and changing the messaging settings (`edgebase.messaging`): a change is
//! merged over the stored document section by section, secrets left out (or empty) are
//! kept, the result is checked whole, and it is written at the version read.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use edgebase_model::validation::{field_error, FieldErrors, ValidationCode};
use edgebase_service::app::App;
use edgebase_service::error::ServiceError;
use edgebase_service::system_settings::{self, Change};
use serde_json::{Map, Value};
use web_push_native::p256;
use web_push_native::p256::elliptic_curve::sec1::ToEncodedPoint;

use crate::providers::generate_vapid_keys;
use crate::settings::{MessagingSettings, SETTINGS_KEY};

/// Every secret, as `(section, field)`.
const SECRETS: [(&str, &str); 4] = [
    ("webPush", "privateKey"),
    ("fcm", "privateKey"),
    ("apns", "privateKey"),
    ("sms", "password"),
];

/// PocketBase's message for a body whose fields do not validate.
const INVALID: &str = "An error occurred while validating the submitted data.";

/// The settings as this node has them.
pub fn read(app: &App) -> Result<MessagingSettings, ServiceError> {
    Ok(system_settings::read::<MessagingSettings>(app, SETTINGS_KEY)?.value)
}

/// The settings as an answer shows them: every secret empty.
pub fn shown(settings: &MessagingSettings) -> Value {
    let mut value = serde_json::to_value(settings).unwrap_or(Value::Null);
    for (section, field) in SECRETS {
        if let Some(section) = value.get_mut(section).and_then(Value::as_object_mut) {
            section.insert(field.into(), Value::String(String::new()));
        }
    }
    value
}

/// Merge `patch` over the stored settings, check them, and write them; the settings as
/// written.
pub async fn update(
    app: &App,
    patch: &Map<String, Value>,
) -> Result<MessagingSettings, ServiceError> {
    system_settings::update(app, SETTINGS_KEY, |stored: &mut MessagingSettings| {
        let merged = merged(stored, patch)?;
        if merged == *stored {
            return Ok(Change::Keep(merged));
        }
        *stored = merged.clone();
        Ok(Change::Write(merged))
    })
    .await
}

/// `stored` with `patch` over it, checked.
pub fn merged(
    stored: &MessagingSettings,
    patch: &Map<String, Value>,
) -> Result<MessagingSettings, ServiceError> {
    let mut document = serde_json::to_value(stored)
        .map_err(|error| ServiceError::internal_from("encode the messaging settings", error))?;
    let mut errors = FieldErrors::new();
    for (section, changes) in patch {
        let Some(current) = document.get_mut(section).and_then(Value::as_object_mut) else {
            errors.insert(
                section.clone(),
                field_error(
                    ValidationCode::InvalidValue,
                    "Unknown settings section.",
                    None,
                ),
            );
            continue;
        };
        let Some(changes) = changes.as_object() else {
            errors.insert(
                section.clone(),
                field_error(ValidationCode::InvalidValue, "Must be an object.", None),
            );
            continue;
        };
        for (field, value) in changes {
            if section == "fcm" && field == "serviceAccount" {
                if let Err(message) = apply_service_account(current, value) {
                    errors.insert(
                        section.clone(),
                        nested(field, ValidationCode::InvalidValue, message),
                    );
                }
                continue;
            }
            let secret = SECRETS.contains(&(section.as_str(), field.as_str()));
            if secret && (value.is_null() || value.as_str() == Some("")) {
                continue;
            }
            current.insert(field.clone(), value.clone());
        }
    }
    if !errors.is_empty() {
        return Err(ServiceError::validation(INVALID, errors));
    }
    let mut settings: MessagingSettings = serde_json::from_value(document).map_err(|error| {
        ServiceError::validation(
            INVALID,
            FieldErrors::from_iter([(
                "settings".to_string(),
                field_error(ValidationCode::InvalidValue, error.to_string(), None),
            )]),
        )
    })?;
    if settings.web_push.enabled && settings.web_push.private_key.is_empty() {
        let (public_key, private_key) = generate_vapid_keys();
        settings.web_push.public_key = public_key;
        settings.web_push.private_key = private_key;
    }
    let errors = check(&settings);
    if !errors.is_empty() {
        return Err(ServiceError::validation(INVALID, errors));
    }
    Ok(settings)
}

/// A service account file (`project_id`, `client_email`, `private_key`, `token_uri`), as
/// JSON text or an object, over the FCM section.
fn apply_service_account(fcm: &mut Map<String, Value>, value: &Value) -> Result<(), String> {
    let account: Map<String, Value> = match value {
        Value::String(text) => serde_json::from_str(text)
            .map_err(|_| "The service account is not a JSON object.".to_string())?,
        Value::Object(account) => account.clone(),
        _ => return Err("The service account is not a JSON object.".into()),
    };
    for (from, to) in [
        ("project_id", "projectId"),
        ("client_email", "clientEmail"),
        ("private_key", "privateKey"),
        ("token_uri", "tokenUrl"),
    ] {
        match account.get(from).and_then(Value::as_str) {
            Some(text) if !text.is_empty() => {
                fcm.insert(to.into(), text.into());
            }
            _ if from == "token_uri" => {}
            _ => return Err(format!("The service account has no {from}.")),
        }
    }
    Ok(())
}

/// `{field: {code, message}}`, one section's error.
fn nested(field: &str, code: ValidationCode, message: impl Into<String>) -> Value {
    Value::Object(Map::from_iter([(
        field.to_string(),
        field_error(code, message, None),
    )]))
}

/// The field errors of settings about to be written, by section.
pub fn check(settings: &MessagingSettings) -> FieldErrors {
    let mut errors = FieldErrors::new();
    let mut section = |name: &str, problems: Vec<(&str, String)>| {
        if problems.is_empty() {
            return;
        }
        let fields = problems
            .into_iter()
            .map(|(field, message)| {
                (
                    field.to_string(),
                    field_error(ValidationCode::InvalidValue, message, None),
                )
            })
            .collect();
        errors.insert(name.into(), Value::Object(fields));
    };
    let web_push = &settings.web_push;
    let mut problems = Vec::new();
    if web_push.enabled {
        if !(web_push.subject.starts_with("mailto:") || web_push.subject.starts_with("https:")) {
            problems.push((
                "subject",
                "A VAPID subject is a mailto: or https: contact.".to_string(),
            ));
        }
        match vapid_public_key(&web_push.private_key) {
            Some(public_key) if public_key == web_push.public_key => {}
            Some(_) => problems.push((
                "publicKey",
                "The public key is not the private key's.".to_string(),
            )),
            None => problems.push((
                "privateKey",
                "The private key is not a P-256 scalar (32 bytes, base64url).".to_string(),
            )),
        }
    }
    section("webPush", problems);

    let fcm = &settings.fcm;
    let mut problems = Vec::new();
    if fcm.enabled {
        required(&mut problems, "projectId", &fcm.project_id);
        required(&mut problems, "clientEmail", &fcm.client_email);
        if jsonwebtoken::EncodingKey::from_rsa_pem(fcm.private_key.as_bytes()).is_err() {
            problems.push((
                "privateKey",
                "The private key is not an RSA PEM key.".into(),
            ));
        }
        url(&mut problems, "tokenUrl", &fcm.token_url);
        url(&mut problems, "endpoint", &fcm.endpoint);
    }
    section("fcm", problems);

    let apns = &settings.apns;
    let mut problems = Vec::new();
    if apns.enabled {
        required(&mut problems, "teamId", &apns.team_id);
        required(&mut problems, "keyId", &apns.key_id);
        required(&mut problems, "topic", &apns.topic);
        if jsonwebtoken::EncodingKey::from_ec_pem(apns.private_key.as_bytes()).is_err() {
            problems.push((
                "privateKey",
                "The private key is not a P-256 PKCS#8 PEM key (a .p8 file).".into(),
            ));
        }
        url(&mut problems, "endpoint", &apns.endpoint);
    }
    section("apns", problems);

    let sms = &settings.sms;
    let mut problems = Vec::new();
    if sms.enabled {
        url(&mut problems, "url", &sms.url);
        required(&mut problems, "from", &sms.from);
        required(&mut problems, "phoneField", &sms.phone_field);
    }
    section("sms", problems);

    let retry = &settings.retry;
    let mut problems = Vec::new();
    if !(1..=20).contains(&retry.attempts_max) {
        problems.push(("attemptsMax", "Between 1 and 20.".into()));
    }
    if !(100..=3_600_000).contains(&retry.backoff_ms) {
        problems.push(("backoffMs", "Between 100 and 3600000.".into()));
    }
    if retry.backoff_max_ms < retry.backoff_ms || retry.backoff_max_ms > 86_400_000 {
        problems.push((
            "backoffMaxMs",
            "At least backoffMs and at most 86400000.".into(),
        ));
    }
    section("retry", problems);
    errors
}

fn required(problems: &mut Vec<(&str, String)>, field: &'static str, value: &str) {
    if value.trim().is_empty() {
        problems.push((field, "Cannot be blank.".into()));
    }
}

fn url(problems: &mut Vec<(&str, String)>, field: &'static str, value: &str) {
    let parsed = reqwest::Url::parse(value);
    if !parsed.is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.has_host()) {
        problems.push((field, "Must be an http or https URL.".into()));
    }
}

/// The uncompressed public key (base64url) of a VAPID private scalar (base64url).
pub fn vapid_public_key(private_key: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(private_key.trim_end_matches('='))
        .ok()?;
    let secret = p256::SecretKey::from_slice(&bytes).ok()?;
    let point = secret.public_key().to_encoded_point(false);
    Some(URL_SAFE_NO_PAD.encode(point.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn enabling_web_push_makes_a_key_pair_and_hides_the_private_key() {
        let settings = merged(
            &MessagingSettings::default(),
            &patch(json!({"webPush": {"enabled": true, "subject": "mailto:ops@example.com"}})),
        )
        .unwrap();
        assert_eq!(
            vapid_public_key(&settings.web_push.private_key).unwrap(),
            settings.web_push.public_key
        );
        let shown = shown(&settings);
        assert_eq!(shown["webPush"]["privateKey"], "");
        assert_eq!(shown["webPush"]["publicKey"], settings.web_push.public_key);
        // A change that leaves the secret out, or sends it empty, keeps it.
        let again = merged(
            &settings,
            &patch(json!({"webPush": {"privateKey": "", "subject": "https://example.com"}})),
        )
        .unwrap();
        assert_eq!(again.web_push.private_key, settings.web_push.private_key);
        assert_eq!(again.web_push.subject, "https://example.com");
    }

    #[test]
    fn bad_settings_name_their_fields() {
        let error = merged(
            &MessagingSettings::default(),
            &patch(json!({
                "webPush": {"enabled": true, "subject": "ops"},
                "fcm": {"enabled": true, "privateKey": "nope"},
                "retry": {"attemptsMax": 0},
            })),
        )
        .unwrap_err();
        let text = format!("{error:?}");
        for expected in ["subject", "projectId", "privateKey", "attemptsMax"] {
            assert!(text.contains(expected), "{expected} in {text}");
        }
        assert!(merged(&MessagingSettings::default(), &patch(json!({"nope": {}}))).is_err());
    }
}
