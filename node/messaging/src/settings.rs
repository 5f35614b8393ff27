//! The messaging providers' settings: one replicated document, `edgebase.messaging`, that
//! PocketBase's settings API never shows. Secrets (the VAPID private key, FCM's and APNs'
//! private keys, the SMS auth token) are kept but never shown: an answer carries them
//! empty, and a change that leaves one out (or empty) keeps the stored one.

use serde::{Deserialize, Serialize};

/// The replicated document's key.
pub const SETTINGS_KEY: &str = "edgebase.messaging";

/// Web Push (RFC 8030) with VAPID (RFC 8292) and payload encryption (RFC 8291).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WebPushSettings {
    pub enabled: bool,
    /// The VAPID `sub` claim: a `mailto:` or `https:` contact for the push services.
    pub subject: String,
    /// The application server's P-256 public key, uncompressed, base64url without padding
    /// (what a browser's `pushManager.subscribe({applicationServerKey})` takes).
    pub public_key: String,
    /// Its private scalar, 32 bytes, base64url without padding. Secret.
    pub private_key: String,
}

/// Firebase Cloud Messaging, HTTP v1 API, authorised by a service account's OAuth2 token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FcmSettings {
    pub enabled: bool,
    pub project_id: String,
    /// The service account's `client_email`.
    pub client_email: String,
    /// The service account's RSA `private_key`, PEM. Secret.
    pub private_key: String,
    /// Where the service account's signed JWT is exchanged for an access token.
    pub token_url: String,
    /// The FCM API's origin; `{endpoint}/v1/projects/{projectId}/messages:send`.
    pub endpoint: String,
}

impl Default for FcmSettings {
    fn default() -> Self {
        FcmSettings {
            enabled: false,
            project_id: String::new(),
            client_email: String::new(),
            private_key: String::new(),
            token_url: "https://oauth2.googleapis.com/token".into(),
            endpoint: "https://fcm.googleapis.com".into(),
        }
    }
}

/// Apple Push Notification service, token-based (an ES256 JWT from a `.p8` key), HTTP/2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApnsSettings {
    pub enabled: bool,
    pub team_id: String,
    pub key_id: String,
    /// The `.p8` signing key, PKCS#8 PEM. Secret.
    pub private_key: String,
    /// The app's bundle id (`apns-topic`).
    pub topic: String,
    /// `https://api.push.apple.com` or `https://api.sandbox.push.apple.com` (an `http://`
    /// endpoint is spoken to as HTTP/2 without TLS, for local test servers).
    pub endpoint: String,
}

impl Default for ApnsSettings {
    fn default() -> Self {
        ApnsSettings {
            enabled: false,
            team_id: String::new(),
            key_id: String::new(),
            private_key: String::new(),
            topic: String::new(),
            endpoint: "https://api.push.apple.com".into(),
        }
    }
}

/// An SMS gateway taking a Twilio-style form: `POST url` with basic auth and the form
/// fields `To`, `From` and `Body`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SmsSettings {
    pub enabled: bool,
    /// E.g. `https://api.twilio.com/2010-04-01/Accounts/{sid}/Messages.json`.
    pub url: String,
    /// The basic-auth user (Twilio's account SID).
    pub username: String,
    /// The basic-auth password (Twilio's auth token). Secret.
    pub password: String,
    /// The sender number.
    pub from: String,
    /// The auth records' field holding a phone number.
    pub phone_field: String,
}

impl Default for SmsSettings {
    fn default() -> Self {
        SmsSettings {
            enabled: false,
            url: String::new(),
            username: String::new(),
            password: String::new(),
            from: String::new(),
            phone_field: "phone".into(),
        }
    }
}

/// Email messages go through the node's mailer and the `smtp` settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EmailSettings {
    pub enabled: bool,
}

/// How failed deliveries are tried again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RetrySettings {
    /// Attempts per delivery, the first included (1 to 20).
    pub attempts_max: u32,
    /// Wait before the second attempt; it doubles after each (100 ms to 1 h).
    pub backoff_ms: u64,
    /// The longest wait between two attempts (at least `backoff_ms`, at most 1 day).
    pub backoff_max_ms: u64,
}

impl Default for RetrySettings {
    fn default() -> Self {
        RetrySettings {
            attempts_max: 5,
            backoff_ms: 1_000,
            backoff_max_ms: 60_000,
        }
    }
}

/// Every provider's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MessagingSettings {
    pub web_push: WebPushSettings,
    pub fcm: FcmSettings,
    pub apns: ApnsSettings,
    pub sms: SmsSettings,
    pub email: EmailSettings,
    pub retry: RetrySettings,
}

impl MessagingSettings {
    /// Whether any provider is on.
    pub fn any_enabled(&self) -> bool {
        self.web_push.enabled
            || self.fcm.enabled
            || self.apns.enabled
            || self.sms.enabled
            || self.email.enabled
    }
}
