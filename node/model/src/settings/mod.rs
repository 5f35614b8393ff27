//! The application settings PocketBase keeps under `/api/settings`: one replicated document
//! with PocketBase 0.40's sections and defaults. Secrets are stored but never shown.

mod cron;
mod validate;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{FieldErrors, ModelError};

/// The key the settings document is replicated under (`Command::PutSetting`).
pub const SETTINGS_KEY: &str = "settings";

/// The whole settings document, in PocketBase's field order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    #[serde(rename = "superuserIPs")]
    pub superuser_ips: Vec<String>,
    pub smtp: SmtpSettings,
    pub backups: BackupSettings,
    pub s3: S3Settings,
    pub meta: MetaSettings,
    pub rate_limits: RateLimitSettings,
    pub trusted_proxy: TrustedProxySettings,
    pub batch: BatchSettings,
    pub logs: LogSettings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SmtpSettings {
    pub enabled: bool,
    pub port: i64,
    pub host: String,
    pub username: String,
    /// Never shown: [`Settings::redacted`] drops it.
    pub password: String,
    pub auth_method: String,
    pub tls: bool,
    pub local_name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct S3Settings {
    pub enabled: bool,
    pub bucket: String,
    pub region: String,
    pub endpoint: String,
    pub access_key: String,
    /// Never shown: [`Settings::redacted`] drops it.
    pub secret: String,
    pub force_path_style: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BackupSettings {
    pub cron: String,
    pub cron_max_keep: i64,
    pub s3: S3Settings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MetaSettings {
    pub accent_color: String,
    pub app_name: String,
    #[serde(rename = "appURL")]
    pub app_url: String,
    pub sender_name: String,
    pub sender_address: String,
    pub hide_controls: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RateLimitSettings {
    pub rules: Vec<RateLimitRule>,
    #[serde(rename = "excludedIPs")]
    pub excluded_ips: Vec<String>,
    pub enabled: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RateLimitRule {
    pub label: String,
    /// `""` (everyone), `@guest` or `@auth`.
    pub audience: String,
    /// Seconds per window.
    pub duration: i64,
    pub max_requests: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TrustedProxySettings {
    pub headers: Vec<String>,
    #[serde(rename = "useLeftmostIP")]
    pub use_leftmost_ip: bool,
}

/// `POST /api/batch`: off until a superuser enables it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BatchSettings {
    pub enabled: bool,
    pub max_requests: i64,
    /// Seconds a batch may take; 0 means PocketBase's 3.
    pub timeout: i64,
    /// Bytes; 0 means PocketBase's 128 MiB.
    pub max_body_size: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LogSettings {
    pub max_data_size: i64,
    pub max_days: i64,
    pub min_level: i64,
    #[serde(rename = "logIP")]
    pub log_ip: bool,
    pub log_auth_id: bool,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        SmtpSettings {
            enabled: false,
            port: 587,
            host: "smtp.example.com".into(),
            username: String::new(),
            password: String::new(),
            auth_method: String::new(),
            tls: false,
            local_name: String::new(),
        }
    }
}

impl Default for BackupSettings {
    fn default() -> Self {
        BackupSettings {
            cron: String::new(),
            cron_max_keep: 3,
            s3: S3Settings::default(),
        }
    }
}

impl Default for MetaSettings {
    fn default() -> Self {
        MetaSettings {
            accent_color: "#1055c9".into(),
            app_name: "Acme".into(),
            app_url: "http://localhost:8090".into(),
            sender_name: "Support".into(),
            sender_address: "support@example.com".into(),
            hide_controls: false,
        }
    }
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        let rule = |label: &str, duration, max_requests| RateLimitRule {
            label: label.into(),
            audience: String::new(),
            duration,
            max_requests,
        };
        RateLimitSettings {
            rules: vec![
                rule("*:auth", 3, 2),
                rule("*:create", 5, 20),
                rule("/api/batch", 1, 3),
                rule("/api/", 10, 300),
            ],
            excluded_ips: Vec::new(),
            enabled: false,
        }
    }
}

impl Default for BatchSettings {
    fn default() -> Self {
        BatchSettings {
            enabled: false,
            max_requests: 50,
            timeout: 3,
            max_body_size: 0,
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            max_data_size: 0,
            max_days: 5,
            min_level: 0,
            log_ip: true,
            log_auth_id: false,
        }
    }
}

const LOAD_FAILED: &str = "An error occurred while loading the submitted data.";
const SAVE_FAILED: &str = "An error occurred while saving the new settings.";

impl Settings {
    /// The settings as `GET /api/settings` shows them: secrets removed.
    pub fn redacted(&self) -> Value {
        let mut shown = serde_json::to_value(self).unwrap_or(Value::Null);
        for (section, key) in [("smtp", "password"), ("s3", "secret")] {
            if let Some(section) = shown.get_mut(section).and_then(Value::as_object_mut) {
                section.remove(key);
            }
        }
        if let Some(s3) = shown
            .pointer_mut("/backups/s3")
            .and_then(Value::as_object_mut)
        {
            s3.remove("secret");
        }
        shown
    }

    /// These settings with a `PATCH /api/settings` body applied, validated. As PocketBase's
    /// JSON binding does: objects merge key by key, other values replace, `null` leaves a
    /// value as it is (a list becomes empty), and unknown keys are ignored.
    pub fn patched(&self, body: &[u8]) -> Result<Settings, ModelError> {
        let Ok(Value::Object(patch)) = serde_json::from_slice::<Value>(body) else {
            return Err(ModelError::bad_request(LOAD_FAILED));
        };
        let mut merged = serde_json::to_value(self).map_err(|source| ModelError::Encode {
            what: "settings",
            source,
        })?;
        merge_into(&mut merged, patch);
        let settings: Settings =
            serde_json::from_value(merged).map_err(|_| ModelError::bad_request(LOAD_FAILED))?;
        let errors: FieldErrors = validate::errors(&settings);
        if errors.is_empty() {
            Ok(settings)
        } else {
            Err(ModelError::validation(SAVE_FAILED, errors))
        }
    }

    /// The batch body limit in bytes, with PocketBase's fallback for 0.
    pub fn batch_body_bytes_max(&self) -> u64 {
        const BATCH_BODY_DEFAULT_BYTES: u64 = 128 << 20;
        u64::try_from(self.batch.max_body_size)
            .ok()
            .filter(|bytes| *bytes > 0)
            .unwrap_or(BATCH_BODY_DEFAULT_BYTES)
    }

    /// The batch time limit, with PocketBase's fallback for 0.
    pub fn batch_timeout(&self) -> std::time::Duration {
        const BATCH_TIMEOUT_DEFAULT_SECONDS: u64 = 3;
        let seconds = u64::try_from(self.batch.timeout)
            .ok()
            .filter(|seconds| *seconds > 0)
            .unwrap_or(BATCH_TIMEOUT_DEFAULT_SECONDS);
        std::time::Duration::from_secs(seconds)
    }
}

fn merge_into(target: &mut Value, patch: Map<String, Value>) {
    let Value::Object(target) = target else {
        return;
    };
    for (key, value) in patch {
        let Some(slot) = target.get_mut(&key) else {
            // Unknown keys are ignored, as Go's JSON binding ignores them.
            continue;
        };
        match (slot, value) {
            (slot @ Value::Object(_), Value::Object(inner)) => merge_into(slot, inner),
            (slot @ Value::Array(_), Value::Null) => *slot = Value::Array(Vec::new()),
            (_, Value::Null) => {}
            (slot, value) => *slot = value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(body: Value) -> Result<Settings, ModelError> {
        Settings::default().patched(body.to_string().as_bytes())
    }

    #[test]
    fn defaults_match_pocketbase() {
        let shown = Settings::default().redacted();
        assert_eq!(
            shown["batch"],
            json!({"enabled": false, "maxRequests": 50, "timeout": 3, "maxBodySize": 0})
        );
        assert_eq!(
            shown["rateLimits"]["rules"][2]["label"],
            json!("/api/batch")
        );
        assert_eq!(shown["meta"]["appURL"], json!("http://localhost:8090"));
        assert!(shown["smtp"].get("password").is_none());
        assert!(shown["s3"].get("secret").is_none());
    }

    #[test]
    fn patches_merge_and_keep_secrets_inside() {
        let settings =
            patch(json!({"batch": {"enabled": true}, "smtp": {"password": "p"}, "nope": 1}))
                .expect("valid");
        assert!(settings.batch.enabled);
        assert_eq!(settings.batch.max_requests, 50);
        assert_eq!(settings.smtp.password, "p");
        assert!(
            serde_json::to_value(settings.redacted()).expect("serialises")["smtp"]
                .get("password")
                .is_none()
        );
    }

    /// Cases read off PocketBase 0.40.6: body -> message and the error codes by path.
    #[test]
    fn errors_match_pocketbase() {
        type Case<'a> = (Value, &'a str, &'a [(&'a str, &'a str)]);
        let cases: &[Case] = &[
            (json!([1]), LOAD_FAILED, &[]),
            (json!({"batch": "x"}), LOAD_FAILED, &[]),
            (json!({"batch": {"maxRequests": 1.5}}), LOAD_FAILED, &[]),
            (json!({"batch": {"maxRequests": "5"}}), LOAD_FAILED, &[]),
            (
                json!({"batch": {"enabled": true, "maxRequests": 0}}),
                SAVE_FAILED,
                &[("/batch/maxRequests", "validation_required")],
            ),
            (
                json!({"batch": {"maxRequests": -1, "timeout": -1, "maxBodySize": -5}}),
                SAVE_FAILED,
                &[
                    (
                        "/batch/maxRequests",
                        "validation_min_greater_equal_than_required",
                    ),
                    (
                        "/batch/timeout",
                        "validation_min_greater_equal_than_required",
                    ),
                    (
                        "/batch/maxBodySize",
                        "validation_min_greater_equal_than_required",
                    ),
                ],
            ),
            (
                json!({"meta": {"appURL": "notaurl", "senderAddress": "bad", "appName": "x".repeat(300)},
                       "smtp": {"enabled": true, "host": "", "port": 0, "authMethod": "X", "localName": "a b"}}),
                SAVE_FAILED,
                &[
                    ("/meta/appName", "validation_length_out_of_range"),
                    ("/meta/appURL", "validation_is_url"),
                    ("/meta/senderAddress", "validation_is_email"),
                    ("/smtp/authMethod", "validation_in_invalid"),
                    ("/smtp/host", "validation_required"),
                    ("/smtp/localName", "validation_is_host"),
                    ("/smtp/port", "validation_required"),
                ],
            ),
            (
                json!({"superuserIPs": ["notip"]}),
                SAVE_FAILED,
                &[("/superuserIPs/0", "validation_invlaid_ip_or_subnet")],
            ),
            (
                json!({"backups": {"cron": "bad cron", "cronMaxKeep": 0}}),
                SAVE_FAILED,
                &[
                    ("/backups/cron", "validation_invalid_cron"),
                    ("/backups/cronMaxKeep", "validation_required"),
                ],
            ),
            (
                json!({"backups": {"cron": "61 * * * *"}}),
                SAVE_FAILED,
                &[("/backups/cron", "validation_invalid_cron")],
            ),
            (
                json!({"rateLimits": {"enabled": true, "rules": [{"label": "a b c", "maxRequests": 0, "duration": 0, "audience": "x"}]}}),
                SAVE_FAILED,
                &[
                    ("/rateLimits/rules/0/audience", "validation_in_invalid"),
                    ("/rateLimits/rules/0/duration", "validation_required"),
                    ("/rateLimits/rules/0/label", "validation_match_invalid"),
                    ("/rateLimits/rules/0/maxRequests", "validation_required"),
                ],
            ),
            (
                json!({"rateLimits": {"rules": [{"label": "/api/", "maxRequests": 1, "duration": 1}, {"label": "/api/", "maxRequests": 1, "duration": 1}]}}),
                SAVE_FAILED,
                &[(
                    "/rateLimits/rules/1/label",
                    "validation_conflicting_rate_limit_rule",
                )],
            ),
            (
                json!({"s3": {"enabled": true}, "logs": {"maxDays": -1}}),
                SAVE_FAILED,
                &[
                    (
                        "/logs/maxDays",
                        "validation_min_greater_equal_than_required",
                    ),
                    ("/s3/accessKey", "validation_required"),
                    ("/s3/bucket", "validation_required"),
                    ("/s3/endpoint", "validation_required"),
                    ("/s3/region", "validation_required"),
                    ("/s3/secret", "validation_required"),
                ],
            ),
        ];
        for (body, message, codes) in cases {
            let error = patch(body.clone()).expect_err(&body.to_string());
            assert_eq!(error.message(), *message, "{body}");
            let data = Value::Object(error.field_errors());
            let mut found = Vec::new();
            collect_codes(&data, String::new(), &mut found);
            let mut expected: Vec<(String, String)> = codes
                .iter()
                .map(|(path, code)| (path.to_string(), code.to_string()))
                .collect();
            expected.sort();
            found.sort();
            assert_eq!(found, expected, "{body}");
        }
    }

    #[test]
    fn valid_patches_pass() {
        for body in [
            json!({"backups": {"cron": "*/5 1-3 * * 1,2"}}),
            json!({"backups": {"cron": "@daily"}}),
            json!({"superuserIPs": ["10.0.0.0/8", "::1"], "trustedProxy": {"headers": ["X-Real-IP"]}}),
            json!({"batch": {"enabled": true, "maxRequests": 10, "timeout": 5, "maxBodySize": 1000}}),
            json!({"superuserIPs": null}),
        ] {
            patch(body.clone()).unwrap_or_else(|error| panic!("{body}: {error:?}"));
        }
    }

    fn collect_codes(value: &Value, path: String, out: &mut Vec<(String, String)>) {
        if let Some(code) = value.get("code").and_then(Value::as_str) {
            out.push((path, code.to_string()));
            return;
        }
        if let Value::Object(map) = value {
            for (key, inner) in map {
                collect_codes(inner, format!("{path}/{key}"), out);
            }
        }
    }
}
