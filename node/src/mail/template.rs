//! PocketBase's email template placeholders: `{APP_NAME}`, `{APP_URL}`, `{TOKEN}`, `{OTP}`,
//! `{OTP_ID}`, `{ALERT_INFO}` and `{RECORD:field}` for any field of the record (hidden ones
//! too, as PocketBase's templates may name them; `password` and `tokenKey` never).

use serde_json::Value;

use crate::domain::record_values::Document;

/// Record fields a template may never show.
const SECRET_FIELDS: [&str; 2] = ["password", "tokenKey"];

/// The values a template is rendered with.
#[derive(Debug, Default, Clone)]
pub struct Placeholders<'a> {
    pub app_name: &'a str,
    pub app_url: &'a str,
    pub token: &'a str,
    pub otp: &'a str,
    pub otp_id: &'a str,
    pub alert_info: &'a str,
    pub record: Option<&'a Document>,
}

fn field_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Replace the placeholders of `template` (`{APP_URL}` without its trailing slash).
pub fn render(template: &str, values: &Placeholders<'_>) -> String {
    let mut text = template
        .replace("{APP_NAME}", values.app_name)
        .replace("{APP_URL}", values.app_url.trim_end_matches('/'))
        .replace("{TOKEN}", values.token)
        .replace("{OTP_ID}", values.otp_id)
        .replace("{OTP}", values.otp)
        .replace("{ALERT_INFO}", values.alert_info);
    if let Some(record) = values.record {
        for (name, value) in record {
            if SECRET_FIELDS.contains(&name.as_str()) {
                continue;
            }
            let placeholder = format!("{{RECORD:{name}}}");
            if text.contains(&placeholder) {
                text = text.replace(&placeholder, &field_text(value));
            }
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
        let record: Document = match json!({"id": "r1", "email": "a@x.com", "age": 3, "tokenKey": "k", "password": "h"})
        {
            Value::Object(map) => map,
            _ => Document::new(),
        };
        let values = Placeholders {
            app_name: "Acme",
            app_url: "http://app.test/",
            token: "T.K.N",
            otp: "123456",
            otp_id: "otp1",
            alert_info: "",
            record: Some(&record),
        };
        let cases = [
            ("{APP_NAME} at {APP_URL}/x", "Acme at http://app.test/x"),
            (
                "{APP_URL}/_/#/auth/confirm-verification/{TOKEN}",
                "http://app.test/_/#/auth/confirm-verification/T.K.N",
            ),
            ("code {OTP} ({OTP_ID})", "code 123456 (otp1)"),
            ("{RECORD:email} {RECORD:age} {RECORD:id}", "a@x.com 3 r1"),
            (
                "{RECORD:tokenKey}{RECORD:password}{RECORD:missing}",
                "{RECORD:tokenKey}{RECORD:password}{RECORD:missing}",
            ),
        ];
        for (template, expected) in cases {
            assert_eq!(render(template, &values), expected, "{template}");
        }
    }
}
