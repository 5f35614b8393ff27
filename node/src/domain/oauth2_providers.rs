//! An auth collection's `oauth2.providers` option: the built-in endpoints of the providers
//! EdgeBase can log in with, each configured provider decoded as PocketBase decodes it
//! (merged over the stored provider of the same name, so a client that never saw the
//! `clientSecret` keeps it by sending the list back), PocketBase's checks on it, and the
//! secret hidden from answers.

use serde_json::{json, Map, Value};

use crate::api::error::{field_error, FieldErrors};

/// How a provider's user answer maps to PocketBase's OAuth2 user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserClaims {
    /// OpenID Connect standard claims: `sub`, `name`, `preferred_username`, `picture`, and
    /// `email` only when `email_verified` is true.
    OpenIdConnect,
    /// GitLab's `/api/v4/user`: numeric `id`, `name`, `username`, `avatar_url`, and
    /// `email` only when `confirmed_at` is set.
    GitLab,
    /// GitHub's `/user`: numeric `id`, `name`, `login`, `avatar_url`, `email`, else the
    /// verified primary address from `/user/emails`.
    GitHub,
    /// Discord's `/users/@me`: `id`, `username#discriminator` as the name, the avatar hash
    /// as a CDN URL, `email` only when `verified`.
    Discord,
    /// Spotify's `/v1/me`: `id`, `display_name`, the first of `images`, never the email
    /// (Spotify does not verify it).
    Spotify,
    /// A user answer whose fields are named by [`PlainFields`] (an empty name maps nothing).
    Plain(PlainFields),
}

/// The keys of a provider's user answer holding PocketBase's user fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlainFields {
    pub id: &'static str,
    pub name: &'static str,
    pub username: &'static str,
    pub avatar_url: &'static str,
    pub email: &'static str,
}

/// A provider EdgeBase can run the authorization code flow with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderKind {
    pub name: &'static str,
    pub display_name: &'static str,
    pub auth_url: &'static str,
    pub token_url: &'static str,
    pub user_info_url: &'static str,
    pub scopes: &'static [&'static str],
    pub pkce: bool,
    pub claims: UserClaims,
}

const OIDC_SCOPES: &[&str] = &["openid", "email", "profile"];

/// A provider list whose values have the wrong types (PocketBase's format error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatError;

/// The providers the login flow supports: PocketBase's generic OpenID Connect slots and the
/// standard OAuth2 providers whose user answer is mapped above. PocketBase accepts the
/// other names of [`crate::domain::auth_options::OAUTH2_PROVIDERS`] in the options; EdgeBase
/// stores them but does not offer them (as PocketBase does for a provider it cannot init).
pub const SUPPORTED: &[ProviderKind] = &[
    ProviderKind {
        name: "oidc",
        display_name: "OIDC",
        auth_url: "",
        token_url: "",
        user_info_url: "",
        scopes: OIDC_SCOPES,
        pkce: true,
        claims: UserClaims::OpenIdConnect,
    },
    ProviderKind {
        name: "oidc2",
        display_name: "OIDC",
        auth_url: "",
        token_url: "",
        user_info_url: "",
        scopes: OIDC_SCOPES,
        pkce: true,
        claims: UserClaims::OpenIdConnect,
    },
    ProviderKind {
        name: "oidc3",
        display_name: "OIDC",
        auth_url: "",
        token_url: "",
        user_info_url: "",
        scopes: OIDC_SCOPES,
        pkce: true,
        claims: UserClaims::OpenIdConnect,
    },
    ProviderKind {
        name: "google",
        display_name: "Google",
        auth_url: "https://accounts.google.com/o/oauth2/v2/auth",
        token_url: "https://oauth2.googleapis.com/token",
        user_info_url: "https://www.googleapis.com/oauth2/v3/userinfo",
        scopes: &[
            "https://www.googleapis.com/auth/userinfo.profile",
            "https://www.googleapis.com/auth/userinfo.email",
        ],
        pkce: true,
        claims: UserClaims::OpenIdConnect,
    },
    ProviderKind {
        name: "gitlab",
        display_name: "GitLab",
        auth_url: "https://gitlab.com/oauth/authorize",
        token_url: "https://gitlab.com/oauth/token",
        user_info_url: "https://gitlab.com/api/v4/user",
        scopes: &["read_user"],
        pkce: true,
        claims: UserClaims::GitLab,
    },
    ProviderKind {
        name: "github",
        display_name: "GitHub",
        auth_url: "https://github.com/login/oauth/authorize",
        token_url: "https://github.com/login/oauth/access_token",
        user_info_url: "https://api.github.com/user",
        scopes: &["read:user", "user:email"],
        pkce: true,
        claims: UserClaims::GitHub,
    },
    ProviderKind {
        name: "discord",
        display_name: "Discord",
        auth_url: "https://discord.com/api/oauth2/authorize",
        token_url: "https://discord.com/api/oauth2/token",
        user_info_url: "https://discord.com/api/users/@me",
        scopes: &["identify", "email"],
        pkce: true,
        claims: UserClaims::Discord,
    },
    ProviderKind {
        name: "gitea",
        display_name: "Gitea/Forgejo",
        auth_url: "https://gitea.com/login/oauth/authorize",
        token_url: "https://gitea.com/login/oauth/access_token",
        user_info_url: "https://gitea.com/api/v1/user",
        scopes: &["read:user", "user:email"],
        pkce: true,
        claims: UserClaims::Plain(PlainFields {
            id: "id",
            name: "full_name",
            username: "login",
            avatar_url: "avatar_url",
            email: "email",
        }),
    },
    ProviderKind {
        name: "microsoft",
        display_name: "Microsoft",
        auth_url: "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        token_url: "https://login.microsoftonline.com/common/oauth2/v2.0/token",
        user_info_url: "https://graph.microsoft.com/v1.0/me",
        scopes: &["User.Read"],
        pkce: true,
        claims: UserClaims::Plain(PlainFields {
            id: "id",
            name: "displayName",
            username: "",
            avatar_url: "",
            email: "mail",
        }),
    },
    ProviderKind {
        name: "spotify",
        display_name: "Spotify",
        auth_url: "https://accounts.spotify.com/authorize",
        token_url: "https://accounts.spotify.com/api/token",
        user_info_url: "https://api.spotify.com/v1/me",
        scopes: &["user-read-private"],
        pkce: true,
        claims: UserClaims::Spotify,
    },
];

/// The supported provider called `name`.
pub fn supported(name: &str) -> Option<&'static ProviderKind> {
    SUPPORTED.iter().find(|kind| kind.name == name)
}

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

/// The collection's stored provider entries (empty when OAuth2 has none).
pub fn entries(options: &Map<String, Value>) -> Vec<Value> {
    options
        .get("oauth2")
        .and_then(|oauth2| oauth2.get("providers"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The stored entry of the provider called `name`, if configured.
pub fn entry(options: &Map<String, Value>, name: &str) -> Option<Value> {
    entries(options)
        .into_iter()
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
        || reqwest::Url::parse(value).is_ok_and(|url| {
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
                field_error("validation_is_url", "Must be a valid URL.", None),
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
        assert!(ProviderConfig::from_option(&json!({"name": "apple"})).is_none());
    }
}
