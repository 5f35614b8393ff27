//! An auth collection's options, typed: what sign-in, tokens, mail and OAuth2 read from a
//! stored auth collection. Decoded once per collection version (the service layer caches it
//! beside the collection); saving options (merging, defaults, checks) is `auth_options`.
//! The rules among the options (`authRule`, `manageRule`, `mfa.rule`) are compiled with the
//! collection's other rules by the storage engine and are not repeated here.

use edgebase_wire::{Collection, CollectionType};
use serde_json::{Map, Value};

use crate::auth_collection::AUTH_TOKEN_DURATION_SECS;

/// The auth options of one auth collection. Every part defaults as an unset option reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuthOptions {
    pub auth_alert: AuthAlertOptions,
    pub oauth2: OAuth2Options,
    pub password_auth: PasswordAuthOptions,
    pub mfa: MfaOptions,
    pub otp: OtpOptions,
    pub auth_token: TokenOptions,
    pub password_reset_token: TokenOptions,
    pub email_change_token: TokenOptions,
    pub verification_token: TokenOptions,
    pub file_token: TokenOptions,
    pub verification_template: EmailTemplate,
    pub reset_password_template: EmailTemplate,
    pub confirm_email_change_template: EmailTemplate,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuthAlertOptions {
    pub enabled: bool,
    pub email_template: EmailTemplate,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct OAuth2Options {
    pub enabled: bool,
    /// The configured providers as stored (`oauth2_providers` reads each entry).
    pub providers: Vec<Value>,
    pub mapped_fields: MappedFields,
}

/// Which of the collection's fields take the OAuth2 user's id, name, username and avatar
/// URL; `""` maps none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MappedFields {
    pub id: String,
    pub name: String,
    pub username: String,
    pub avatar_url: String,
}

impl MappedFields {
    /// The field mapped for `key` (`id`, `name`, `username`, `avatarURL`), `""` for none.
    pub fn get(&self, key: &str) -> &str {
        match key {
            "id" => &self.id,
            "name" => &self.name,
            "username" => &self.username,
            "avatarURL" => &self.avatar_url,
            _ => "",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PasswordAuthOptions {
    pub enabled: bool,
    pub identity_fields: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MfaOptions {
    pub enabled: bool,
    /// How long a first factor waits for the second.
    pub duration_secs: u64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct OtpOptions {
    pub enabled: bool,
    pub duration_secs: u64,
    /// Digits in a code.
    pub length: u64,
    pub email_template: EmailTemplate,
}

/// One kind of token's signing secret (never shown) and lifetime.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenOptions {
    pub secret: String,
    pub duration_secs: u64,
}

impl TokenOptions {
    /// The secret and lifetime, when a secret is set.
    pub fn signing(&self) -> Option<(&str, u64)> {
        (!self.secret.is_empty()).then_some((self.secret.as_str(), self.duration_secs))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmailTemplate {
    pub subject: String,
    pub body: String,
}

impl AuthOptions {
    /// The typed options of `collection`: the defaults for a collection that is not an auth
    /// collection.
    pub fn of(collection: &Collection) -> AuthOptions {
        if collection.kind != CollectionType::Auth {
            return AuthOptions::default();
        }
        Self::from_options(&collection.options)
    }

    /// Read an options map as the node always has: a missing option, or one of another
    /// shape than expected, reads as unset (`false`, `0`, `""`, empty).
    pub fn from_options(options: &Map<String, Value>) -> AuthOptions {
        let root = Reader(Some(options));
        let token = |name: &str| {
            let token = root.object(name);
            TokenOptions {
                secret: token.text("secret"),
                duration_secs: token.count("duration"),
            }
        };
        let template = |reader: Reader<'_>| EmailTemplate {
            subject: reader.text("subject"),
            body: reader.text("body"),
        };
        let alert = root.object("authAlert");
        let oauth2 = root.object("oauth2");
        let mapped = oauth2.object("mappedFields");
        let password = root.object("passwordAuth");
        let mfa = root.object("mfa");
        let otp = root.object("otp");
        AuthOptions {
            auth_alert: AuthAlertOptions {
                enabled: alert.flag("enabled"),
                email_template: template(alert.object("emailTemplate")),
            },
            oauth2: OAuth2Options {
                enabled: oauth2.flag("enabled"),
                providers: oauth2.list("providers").to_vec(),
                mapped_fields: MappedFields {
                    id: mapped.text("id"),
                    name: mapped.text("name"),
                    username: mapped.text("username"),
                    avatar_url: mapped.text("avatarURL"),
                },
            },
            password_auth: PasswordAuthOptions {
                enabled: password.flag("enabled"),
                identity_fields: password
                    .list("identityFields")
                    .iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect(),
            },
            mfa: MfaOptions {
                enabled: mfa.flag("enabled"),
                duration_secs: mfa.count("duration"),
            },
            otp: OtpOptions {
                enabled: otp.flag("enabled"),
                duration_secs: otp.count("duration"),
                length: otp.count("length"),
                email_template: template(otp.object("emailTemplate")),
            },
            auth_token: token("authToken"),
            password_reset_token: token("passwordResetToken"),
            email_change_token: token("emailChangeToken"),
            verification_token: token("verificationToken"),
            file_token: token("fileToken"),
            verification_template: template(root.object("verificationTemplate")),
            reset_password_template: template(root.object("resetPasswordTemplate")),
            confirm_email_change_template: template(root.object("confirmEmailChangeTemplate")),
        }
    }

    /// The auth token lifetime, PocketBase's default when unset.
    pub fn auth_token_duration_secs(&self) -> u64 {
        match self.auth_token.duration_secs {
            0 => AUTH_TOKEN_DURATION_SECS,
            secs => secs,
        }
    }

    /// One of the collection's mail templates.
    pub fn template(&self, kind: MailTemplate) -> &EmailTemplate {
        match kind {
            MailTemplate::Verification => &self.verification_template,
            MailTemplate::PasswordReset => &self.reset_password_template,
            MailTemplate::EmailChange => &self.confirm_email_change_template,
            MailTemplate::Otp => &self.otp.email_template,
            MailTemplate::LoginAlert => &self.auth_alert.email_template,
        }
    }
}

/// The mails an auth collection sends, each with its own template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailTemplate {
    Verification,
    PasswordReset,
    EmailChange,
    Otp,
    LoginAlert,
}

impl MailTemplate {
    /// By the name `POST /api/settings/test/email` takes.
    pub fn from_test_name(name: &str) -> Option<MailTemplate> {
        Some(match name {
            "verification" => MailTemplate::Verification,
            "password-reset" => MailTemplate::PasswordReset,
            "email-change" => MailTemplate::EmailChange,
            "otp" => MailTemplate::Otp,
            "login-alert" => MailTemplate::LoginAlert,
            _ => return None,
        })
    }
}

/// One level of an options object; reading a missing or mistyped key gives the unset value.
#[derive(Clone, Copy)]
struct Reader<'a>(Option<&'a Map<String, Value>>);

impl<'a> Reader<'a> {
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.0.and_then(|map| map.get(key))
    }

    fn object(&self, key: &str) -> Reader<'a> {
        Reader(self.get(key).and_then(Value::as_object))
    }

    fn flag(&self, key: &str) -> bool {
        self.get(key).and_then(Value::as_bool).unwrap_or(false)
    }

    /// A non-negative whole number (a float is truncated, as PocketBase's int fields read it).
    fn count(&self, key: &str) -> u64 {
        match self.get(key) {
            Some(Value::Number(number)) => number
                .as_u64()
                .or_else(|| number.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
                .unwrap_or(0),
            _ => 0,
        }
    }

    fn text(&self, key: &str) -> String {
        self.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    }

    fn list(&self, key: &str) -> &'a [Value] {
        self.get(key)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth_collection;

    #[test]
    fn reads_the_default_options_of_a_new_auth_collection() {
        let options = AuthOptions::from_options(&auth_collection::default_options());
        assert!(options.password_auth.enabled);
        assert_eq!(options.password_auth.identity_fields, vec!["email"]);
        assert!(!options.oauth2.enabled);
        assert!(options.auth_alert.enabled);
        assert_eq!(options.mfa.duration_secs, 600);
        assert_eq!(options.otp.length, 8);
        assert_eq!(options.otp.duration_secs, 180);
        assert_eq!(options.verification_token.duration_secs, 86_400);
        assert_eq!(options.auth_token_duration_secs(), AUTH_TOKEN_DURATION_SECS);
        assert!(options.auth_token.signing().is_none(), "no secret yet");
        assert!(options
            .template(MailTemplate::Verification)
            .body
            .contains("{TOKEN}"));
        assert_eq!(
            MailTemplate::from_test_name("login-alert"),
            Some(MailTemplate::LoginAlert)
        );
    }

    #[test]
    fn a_missing_or_mistyped_option_reads_as_unset() {
        let mut options = auth_collection::default_options();
        options.insert(
            "otp".into(),
            serde_json::json!({"length": "eight", "enabled": 1}),
        );
        options.insert("mfa".into(), Value::Null);
        options.insert(
            "authToken".into(),
            serde_json::json!({"duration": 60.0, "secret": "s"}),
        );
        let decoded = AuthOptions::from_options(&options);
        assert_eq!(decoded.otp.length, 0);
        assert!(!decoded.otp.enabled);
        assert_eq!(decoded.mfa, MfaOptions::default());
        assert_eq!(decoded.auth_token.signing(), Some(("s", 60)));
    }
}
