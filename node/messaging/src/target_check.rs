//! The check every create and update of a push target passes (`_messageTargets`), so a
//! malformed subscription is refused with field errors when it is registered, not found
//! out at the first delivery.

use edgebase_model::record_values::Document;
use edgebase_model::validation::{field_error, FieldErrors, ValidationCode};
use edgebase_service::record_checks::RecordCheck;
use serde_json::Value;

use crate::collections::{SUBSCRIPTIONS, TARGETS};
use crate::providers::check_subscription;

/// Checks a target's fields against its `kind`.
pub struct TargetCheck;

impl RecordCheck for TargetCheck {
    fn collections(&self) -> &[&'static str] {
        &[TARGETS]
    }

    /// A record's push targets and topic subscriptions go when it goes.
    fn owned_by_auth_records(&self) -> &[&'static str] {
        &[TARGETS, SUBSCRIPTIONS]
    }

    fn check(&self, _collection: &str, doc: &Document) -> FieldErrors {
        let text = |name: &str| doc.get(name).and_then(Value::as_str).unwrap_or_default();
        let mut errors = FieldErrors::new();
        let refuse =
            |errors: &mut FieldErrors, field: &str, code: ValidationCode, message: &str| {
                errors.insert(field.into(), field_error(code, message, None));
            };
        match text("kind") {
            "webpush" => {
                for field in ["endpoint", "p256dh", "auth"] {
                    if text(field).is_empty() {
                        refuse(
                            &mut errors,
                            field,
                            ValidationCode::Required,
                            "A Web Push target needs it.",
                        );
                    }
                }
                if errors.is_empty() {
                    if let Err(message) =
                        check_subscription(text("endpoint"), text("p256dh"), text("auth"))
                    {
                        let lower = message.to_lowercase();
                        let field = if lower.contains("endpoint") {
                            "endpoint"
                        } else if lower.contains("auth") {
                            "auth"
                        } else {
                            "p256dh"
                        };
                        refuse(&mut errors, field, ValidationCode::InvalidValue, &message);
                    }
                }
            }
            "fcm" | "apns" => {
                let token = text("token");
                if token.is_empty() {
                    refuse(
                        &mut errors,
                        "token",
                        ValidationCode::Required,
                        "An FCM or APNs target needs its token.",
                    );
                } else if text("kind") == "apns" && !token.chars().all(|c| c.is_ascii_hexdigit()) {
                    refuse(
                        &mut errors,
                        "token",
                        ValidationCode::InvalidValue,
                        "An APNs device token is hexadecimal.",
                    );
                }
            }
            // The select field refuses other kinds.
            _ => {}
        }
        errors
    }
}
