//! An auth collection's `oauth2.providers` option: the built-in endpoints of the providers
//! EdgeBase can log in with, each configured provider decoded as PocketBase decodes it
//! (merged over the stored provider of the same name, so a client that never saw the
//! `clientSecret` keeps it by sending the list back), PocketBase's checks on it, and the
//! secret hidden from answers.

use crate::ValidationCode;
use serde_json::{json, Map, Value};

use crate::auth_config::OAuth2Options;

use crate::{field_error, FieldErrors};

mod listing;
mod provider_table;
mod user_mapping;

pub use listing::{listings, ProviderListing};
pub use provider_table::{supported, PlainFields, ProviderKind, UserClaims, UserPaths, SUPPORTED};
pub use user_mapping::{map_user, InactiveAccount, UserFields};

/// A provider list whose values have the wrong types (PocketBase's format error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatError;

/// One configured provider with the built-in defaults filled in where the config is empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    pub kind: &'static ProviderKind,
    pub client_id: String,
    pub client_secret: String,
    pub display_name: String,
    pub auth_url: String,
    pub token_url: String,
    pub user_info_url: String,
    pub pkce: bool,
    /// Provider specific options (`jwksURL`, `issuers` for OpenID Connect id_tokens).
    pub extra: Map<String, Value>,
}

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn or_default(configured: String, default: &str) -> String {
    if configured.is_empty() {
        default.to_string()
    } else {
        configured
    }
}

impl ProviderConfig {
    /// The config of a stored provider entry, `None` when its name is not supported.
    pub fn from_option(entry: &Value) -> Option<ProviderConfig> {
        let kind = supported(&text(entry, "name"))?;
        Some(ProviderConfig {
            kind,
            client_id: text(entry, "clientId"),
            client_secret: text(entry, "clientSecret"),
            display_name: or_default(text(entry, "displayName"), kind.display_name),
            auth_url: or_default(text(entry, "authURL"), kind.auth_url),
            token_url: or_default(text(entry, "tokenURL"), kind.token_url),
            user_info_url: or_default(text(entry, "userInfoURL"), kind.user_info_url),
            pkce: entry
                .get("pkce")
                .and_then(Value::as_bool)
                .unwrap_or(kind.pkce),
            extra: entry
                .get("extra")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
        })
    }
}

/// The stored entry of the provider called `name`, if configured.
pub fn entry<'a>(options: &'a OAuth2Options, name: &str) -> Option<&'a Value> {
    options
        .providers
        .iter()
        .find(|entry| entry.get("name").and_then(Value::as_str) == Some(name))
}

const STRING_KEYS: [&str; 7] = [
    "name",
    "clientId",
    "clientSecret",
    "authURL",
    "tokenURL",
    "userInfoURL",
    "displayName",
];

/// Decode the sent `providers` over the stored ones as PocketBase 0.40.6 does: a sent entry
/// merges over the stored entry of the same name (an explicit value, even empty, wins), a
/// new name starts empty, and the list takes the sent order and length. Every entry gets
/// PocketBase's keys (`pkce` null, `extra` {}). A value of the wrong type is PocketBase's
/// format error.
pub fn decode(sent: &Value, stored: &[Value]) -> Result<Vec<Value>, FormatError> {
    let Value::Array(sent) = sent else {
        return if sent.is_null() {
            Ok(stored.to_vec())
        } else {
            Err(FormatError)
        };
    };
    let mut decoded = Vec::with_capacity(sent.len());
    for entry in sent {
        let Value::Object(entry) = entry else {
            return Err(FormatError);
        };
        let name = entry
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let previous = stored.iter().find(|previous| {
            !name.is_empty() && previous.get("name").and_then(Value::as_str) == Some(name)
        });
        let mut merged = match previous {
            Some(Value::Object(previous)) => previous.clone(),
            _ => Map::new(),
        };
        for (key, value) in entry {
            if value.is_null() && key != "pkce" {
                continue;
            }
            let fits = match key.as_str() {
                "pkce" => value.is_null() || value.is_boolean(),
                "extra" => value.is_object(),
                key if STRING_KEYS.contains(&key) => value.is_string(),
                _ => true,
            };
            if !fits {
                return Err(FormatError);
            }
            if STRING_KEYS.contains(&key.as_str()) || key == "pkce" || key == "extra" {
                merged.insert(key.clone(), value.clone());
            }
        }
        let mut normalised = Map::new();
        normalised.insert(
            "pkce".into(),
            merged.get("pkce").cloned().unwrap_or(Value::Null),
        );
        for key in STRING_KEYS {
            normalised.insert(
                key.into(),
                merged.get(key).cloned().unwrap_or_else(|| json!("")),
            );
        }
        normalised.insert(
            "extra".into(),
            merged.get("extra").cloned().unwrap_or_else(|| json!({})),
        );
        decoded.push(Value::Object(normalised));
    }
    Ok(decoded)
}

/// Replace the `oauth2.providers` of `sent` options by their decoding over the providers of
/// `current` options (see [`decode`]).
pub fn decode_in_options(
    sent: &mut Map<String, Value>,
    current: &Value,
) -> Result<(), FormatError> {
    let Some(providers) = sent
        .get_mut("oauth2")
        .and_then(Value::as_object_mut)
        .and_then(|oauth2| oauth2.get_mut("providers"))
    else {
        return Ok(());
    };
    let stored = current
        .get("oauth2")
        .and_then(|oauth2| oauth2.get("providers"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    *providers = Value::Array(decode(providers, &stored)?);
    Ok(())
}

/// PocketBase's check of an absolute URL (`is.URL`): empty passes, else http(s) with a host.
fn is_url(value: &str) -> bool {
    value.is_empty()
        || url::Url::parse(value).is_ok_and(|url| {
            matches!(url.scheme(), "http" | "https")
                && url.host_str().is_some_and(|h| !h.is_empty())
        })
}

/// The URL errors of one provider entry (`validation_is_url`), keyed by option name.
pub fn url_errors(entry: &Value) -> FieldErrors {
    let mut errors = FieldErrors::new();
    for key in ["authURL", "tokenURL", "userInfoURL"] {
        if !is_url(&text(entry, key)) {
            errors.insert(
                key.into(),
                field_error(ValidationCode::IsUrl, "Must be a valid URL.", None),
            );
        }
    }
    errors
}

/// The options as the API shows them: every provider's `clientSecret` removed.
pub fn without_client_secrets(options: &mut Value) {
    let Some(providers) = options
        .get_mut("oauth2")
        .and_then(|oauth2| oauth2.get_mut("providers"))
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for provider in providers {
        if let Some(provider) = provider.as_object_mut() {
            provider.remove("clientSecret");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sent providers over stored ones -> stored result, read off PocketBase 0.40.6.
    #[test]
    fn decode_merges_by_name() {
        let stored = vec![
            json!({"pkce": null, "name": "oidc", "clientId": "cid", "clientSecret": "sec",
            "authURL": "http://a", "tokenURL": "", "userInfoURL": "", "displayName": "", "extra": {}}),
        ];
        let cases: &[(Value, Option<Value>)] = &[
            (
                json!([{"name": "oidc", "clientId": "other"}]),
                Some(
                    json!([{"pkce": null, "name": "oidc", "clientId": "other", "clientSecret": "sec",
                    "authURL": "http://a", "tokenURL": "", "userInfoURL": "", "displayName": "", "extra": {}}]),
                ),
            ),
            (json!([]), Some(json!([]))),
            (
                json!([{"name": "google", "pkce": false}, {"name": "oidc"}]),
                Some(json!([{"pkce": false, "name": "google", "clientId": "",
                    "clientSecret": "", "authURL": "", "tokenURL": "", "userInfoURL": "",
                    "displayName": "", "extra": {}}, stored[0].clone()])),
            ),
            (
                json!([{"name": "bogus"}]),
                Some(json!([{"pkce": null, "name": "bogus", "clientId": "",
                    "clientSecret": "", "authURL": "", "tokenURL": "", "userInfoURL": "",
                    "displayName": "", "extra": {}}])),
            ),
            (
                json!([{"name": "oidc", "clientSecret": ""}]),
                Some(
                    json!([{"pkce": null, "name": "oidc", "clientId": "cid", "clientSecret": "",
                    "authURL": "http://a", "tokenURL": "", "userInfoURL": "", "displayName": "", "extra": {}}]),
                ),
            ),
            (json!([{"name": "oidc", "pkce": "x"}]), None),
            (json!([{"name": 3}]), None),
            (json!({"name": "oidc"}), None),
        ];
        for (sent, expected) in cases {
            let got = decode(sent, &stored).ok().map(Value::Array);
            assert_eq!(&got, expected, "{sent}");
        }
    }

    #[test]
    fn url_checks() {
        for (url, valid) in [
            ("", true),
            ("http://127.0.0.1:1/token", true),
            ("https://idp.example.com/auth?x=1", true),
            ("not a url", false),
            ("ftp://x.example.com", false),
            ("/relative", false),
        ] {
            let errors = url_errors(&json!({ "authURL": url }));
            assert_eq!(errors.is_empty(), valid, "{url}");
        }
    }

    #[test]
    fn config_fills_defaults() {
        let config = ProviderConfig::from_option(
            &json!({"name": "google", "clientId": "g", "clientSecret": "s", "pkce": null}),
        )
        .expect("supported");
        assert_eq!(
            config.auth_url,
            "https://accounts.google.com/o/oauth2/v2/auth"
        );
        assert_eq!(config.display_name, "Google");
        assert!(config.pkce);
        let apple = ProviderConfig::from_option(&json!({"name": "apple", "clientId": "a"}))
            .expect("apple is supported");
        assert_eq!(apple.token_url, "https://appleid.apple.com/auth/token");
        assert!(ProviderConfig::from_option(&json!({"name": "unknown"})).is_none());
    }
}
