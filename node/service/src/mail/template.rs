//! PocketBase's email template placeholders: `{APP_NAME}`, `{APP_URL}`, `{TOKEN}`, `{OTP}`,
//! `{OTP_ID}`, `{ALERT_INFO}` and `{RECORD:field}` for each visible field of the auth
//! collection (as PocketBase: hidden fields are not offered, values are HTML-escaped except
//! dates, booleans and numbers, and a field the record lacks renders empty).

use edgebase_wire::{Collection, FieldKind};
use serde_json::Value;

use edgebase_model::record_values::Document;

/// The values a template is rendered with.
#[derive(Debug, Default, Clone)]
pub struct Placeholders<'a> {
    pub app_name: &'a str,
    pub app_url: &'a str,
    pub token: &'a str,
    pub otp: &'a str,
    pub otp_id: &'a str,
    pub alert_info: &'a str,
    /// `("{RECORD:name}", value)` pairs, from [`record_placeholders`].
    pub record: Vec<(String, String)>,
}

fn field_text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Null) | None => String::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| field_text(Some(item)))
            .collect::<Vec<_>>()
            .join(","),
        Some(other) => other.to_string(),
    }
}

fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '&' => escaped.push_str("&amp;"),
            '\'' => escaped.push_str("&#39;"),
            '"' => escaped.push_str("&#34;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// The `{RECORD:field}` values of `doc`, one per visible field of its collection.
pub fn record_placeholders(collection: &Collection, doc: &Document) -> Vec<(String, String)> {
    collection
        .fields
        .iter()
        .filter(|field| !field.hidden)
        .map(|field| {
            let text = field_text(doc.get(&field.name));
            let plain = matches!(
                field.kind,
                FieldKind::Autodate { .. }
                    | FieldKind::Date { .. }
                    | FieldKind::Bool { .. }
                    | FieldKind::Number { .. }
            );
            let value = if plain { text } else { escape_html(&text) };
            (format!("{{RECORD:{}}}", field.name), value)
        })
        .collect()
}

/// Replace the placeholders of `template`.
pub fn render(template: &str, values: &Placeholders<'_>) -> String {
    let mut text = template
        .replace("{APP_NAME}", values.app_name)
        .replace("{APP_URL}", values.app_url)
        .replace("{TOKEN}", values.token)
        .replace("{OTP_ID}", values.otp_id)
        .replace("{OTP}", values.otp)
        .replace("{ALERT_INFO}", values.alert_info);
    for (placeholder, value) in &values.record {
        if text.contains(placeholder.as_str()) {
            text = text.replace(placeholder.as_str(), value);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn placeholders_are_replaced() {
        let record = vec![
            ("{RECORD:email}".to_string(), "a@x.com".to_string()),
            ("{RECORD:name}".to_string(), "&lt;b&gt;".to_string()),
        ];
        let values = Placeholders {
            app_name: "Acme",
            app_url: "http://app.test",
            token: "T.K.N",
            otp: "123456",
            otp_id: "otp1",
            alert_info: "",
            record,
        };
        let cases = [
            ("{APP_NAME} at {APP_URL}/x", "Acme at http://app.test/x"),
            (
                "{APP_URL}/_/#/auth/confirm-verification/{TOKEN}",
                "http://app.test/_/#/auth/confirm-verification/T.K.N",
            ),
            ("code {OTP} ({OTP_ID})", "code 123456 (otp1)"),
            ("{RECORD:email} {RECORD:name}", "a@x.com &lt;b&gt;"),
            (
                "{RECORD:tokenKey}{RECORD:missing}",
                "{RECORD:tokenKey}{RECORD:missing}",
            ),
        ];
        for (template, expected) in cases {
            assert_eq!(render(template, &values), expected, "{template}");
        }
    }

    #[test]
    fn record_placeholders_follow_the_visible_fields() {
        let collection =
            edgebase_model::auth_collection::users_collection("2024-01-01 00:00:00.000Z")
                .expect("users");
        let doc: Document = match json!({"id": "r1", "email": "a@x.com", "name": "<b>", "tokenKey": "k", "password": "h", "verified": true})
        {
            Value::Object(map) => map,
            _ => Document::new(),
        };
        let placeholders = record_placeholders(&collection, &doc);
        let get = |name: &str| {
            placeholders
                .iter()
                .find(|(key, _)| key == &format!("{{RECORD:{name}}}"))
                .map(|(_, value)| value.clone())
        };
        for (name, expected) in [
            ("id", Some("r1")),
            ("email", Some("a@x.com")),
            ("name", Some("&lt;b&gt;")),
            ("verified", Some("true")),
            ("created", Some("")),
            ("tokenKey", None),
            ("password", None),
        ] {
            assert_eq!(get(name).as_deref(), expected, "{name}");
        }
    }
}
