//! Web Push (RFC 8030): one browser subscription's push, its payload encrypted for that
//! browser alone (RFC 8291, `aes128gcm`) and the request signed for the push service with the
//! application server's VAPID key (RFC 8292).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};
use reqwest::Url;
use web_push_native::jwt_simple::prelude::{
    Claims, Duration as ClaimsDuration, ECDSAP256KeyPairLike, ES256KeyPair,
};
use web_push_native::p256::elliptic_curve::sec1::ToEncodedPoint;
use web_push_native::p256::{PublicKey, SecretKey};
use web_push_native::Auth;

use super::{
    answer_text, digest_id, outcome_of_error, outcome_of_status, Outcome, PushContent,
    PUSH_PAYLOAD_BYTES_MAX, REQUEST_TIMEOUT,
};
use crate::settings::WebPushSettings;

/// Longest subscription endpoint taken (browsers' are a few hundred characters).
const ENDPOINT_CHARS_MAX: usize = 2_048;
/// Longest base64url key text looked at (a P-256 point is 87 characters, padded 88).
const KEY_CHARS_MAX: usize = 128;
/// An uncompressed P-256 point: `0x04`, then x and y of 32 bytes each.
const P256_POINT_BYTES: usize = 65;
/// The subscription's authentication secret (RFC 8291 §3.2).
const AUTH_SECRET_BYTES: usize = 16;
/// A VAPID private key: the P-256 scalar.
const VAPID_PRIVATE_KEY_BYTES: usize = 32;
/// How long a VAPID token is valid; RFC 8292 §2 allows at most 24 hours.
const VAPID_VALID_HOURS: u64 = 12;
/// RFC 8030 §5.4: a `Topic` is at most 32 characters of the base64url alphabet.
const TOPIC_CHARS_MAX: usize = 32;

/// A browser's push subscription, as `PushSubscription.toJSON()` gives it: the push
/// service's endpoint and the browser's keys, base64url (padded or not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebPushSubscription {
    pub endpoint: String,
    /// The browser's P-256 public key, uncompressed.
    pub p256dh: String,
    /// The browser's 16-byte authentication secret.
    pub auth: String,
}

/// A subscription whose parts all parsed.
struct SubscriptionKeys {
    endpoint: Url,
    public_key: PublicKey,
    auth: Auth,
}

/// Whether a subscription can be pushed to: its endpoint an absolute http(s) URL of at
/// most 2048 characters, `p256dh` a P-256 public key and `auth` 16 bytes. The error is a
/// sentence for the user.
pub fn check_subscription(endpoint: &str, p256dh: &str, auth: &str) -> Result<(), String> {
    parse_subscription(endpoint, p256dh, auth).map(|_| ())
}

fn parse_subscription(
    endpoint: &str,
    p256dh: &str,
    auth: &str,
) -> Result<SubscriptionKeys, String> {
    let endpoint = parse_endpoint(endpoint)?;
    let public_key = decode_base64url(p256dh)
        .filter(|bytes| bytes.len() == P256_POINT_BYTES)
        .and_then(|bytes| PublicKey::from_sec1_bytes(&bytes).ok())
        .ok_or("The p256dh key is not a P-256 public key.")?;
    let auth = decode_base64url(auth)
        .filter(|bytes| bytes.len() == AUTH_SECRET_BYTES)
        .map(|bytes| Auth::clone_from_slice(&bytes))
        .ok_or("The auth secret is not 16 bytes of base64url.")?;
    Ok(SubscriptionKeys {
        endpoint,
        public_key,
        auth,
    })
}

fn parse_endpoint(endpoint: &str) -> Result<Url, String> {
    if endpoint.len() > ENDPOINT_CHARS_MAX {
        return Err(format!(
            "The endpoint is longer than {ENDPOINT_CHARS_MAX} characters."
        ));
    }
    let url =
        Url::parse(endpoint).map_err(|_| "The endpoint is not an absolute URL.".to_string())?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("The endpoint is not an http or https URL.".into());
    }
    Ok(url)
}

/// Base64url, with or without its `=` padding.
fn decode_base64url(text: &str) -> Option<Vec<u8>> {
    if text.len() > KEY_CHARS_MAX {
        return None;
    }
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()
}

/// A new VAPID key pair: (the public key, an uncompressed P-256 point; the private scalar),
/// both base64url without padding.
pub fn generate_vapid_keys() -> (String, String) {
    let secret = SecretKey::random(&mut rand::rngs::OsRng);
    let public = secret.public_key().to_encoded_point(false);
    (
        URL_SAFE_NO_PAD.encode(public.as_bytes()),
        URL_SAFE_NO_PAD.encode(secret.to_bytes()),
    )
}

/// The application server's VAPID signing key and its public key as `k` carries it.
struct VapidKey {
    key_pair: ES256KeyPair,
    public_key: String,
}

/// How long a signed VAPID header is reused: its token is valid for
/// [`VAPID_VALID_HOURS`], and one is reused while more than an hour of that remains.
const VAPID_REUSE: std::time::Duration =
    std::time::Duration::from_secs((VAPID_VALID_HOURS - 1) * 3600);
/// Most push services (origins) whose VAPID header is kept.
const VAPID_ORIGINS_MAX: usize = 1_000;

/// The VAPID key of the settings last used, and the headers signed with it per push
/// service, so a push neither derives the key nor signs a token again (both cost more than
/// the payload's encryption).
#[derive(Default)]
struct VapidCache {
    /// The settings the key came from: private key, public key and subject.
    source: (String, String, String),
    key: Option<Arc<VapidKey>>,
    headers: HashMap<String, (String, Instant)>,
}

/// Most payloads encrypted at once (each on a blocking-pool thread).
const ENCRYPTING_MAX: usize = 4;

/// Sends Web Push, keeping the VAPID key and headers between pushes.
pub struct WebPushClient {
    vapid: Mutex<VapidCache>,
    encrypting: tokio::sync::Semaphore,
}

impl Default for WebPushClient {
    fn default() -> Self {
        WebPushClient {
            vapid: Mutex::default(),
            encrypting: tokio::sync::Semaphore::new(ENCRYPTING_MAX),
        }
    }
}

impl std::fmt::Debug for WebPushClient {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("WebPushClient")
            .finish_non_exhaustive()
    }
}

impl WebPushClient {
    pub fn new() -> WebPushClient {
        WebPushClient::default()
    }

    /// The `Authorization` header for a push to `endpoint`, signed once per push service
    /// and settings.
    fn authorization(&self, settings: &WebPushSettings, endpoint: &Url) -> Result<String, String> {
        let mut cache = self
            .vapid
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let source = (
            settings.private_key.clone(),
            settings.public_key.clone(),
            settings.subject.clone(),
        );
        if cache.source != source || cache.key.is_none() {
            *cache = VapidCache {
                key: Some(Arc::new(vapid_key(settings)?)),
                source,
                headers: HashMap::new(),
            };
        }
        let origin = endpoint.origin().ascii_serialization();
        let now = Instant::now();
        if let Some((header, until)) = cache.headers.get(&origin) {
            if *until > now {
                return Ok(header.clone());
            }
        }
        let key = cache.key.clone().ok_or("The VAPID key is missing.")?;
        let header = vapid_authorization(&key, endpoint, &settings.subject)?;
        if cache.headers.len() >= VAPID_ORIGINS_MAX {
            cache.headers.retain(|_, (_, until)| *until > now);
            if cache.headers.len() >= VAPID_ORIGINS_MAX {
                cache.headers.clear();
            }
        }
        cache
            .headers
            .insert(origin, (header.clone(), now + VAPID_REUSE));
        Ok(header)
    }

    /// Send one push to a subscription. A subscription or key that cannot be used fails
    /// without a request. The payload is encrypted on the blocking pool (a few at once), so
    /// many pushes use every core without holding up the node's async workers.
    pub async fn send(
        &self,
        http: &reqwest::Client,
        settings: &WebPushSettings,
        subscription: &WebPushSubscription,
        content: &PushContent,
    ) -> Outcome {
        let authorization = match parse_endpoint(&subscription.endpoint)
            .and_then(|endpoint| self.authorization(settings, &endpoint))
        {
            Ok(authorization) => authorization,
            Err(reason) => return Outcome::Failed(reason),
        };
        let (subscription, content) = (subscription.clone(), content.clone());
        let Ok(permit) = self.encrypting.acquire().await else {
            return Outcome::Retry("the Web Push client is closed".into());
        };
        let prepared =
            tokio::task::spawn_blocking(move || prepare(authorization, &subscription, &content))
                .await;
        // Held while encrypting only, not while the push service answers.
        drop(permit);
        let push = match prepared {
            Ok(Ok(push)) => push,
            Ok(Err(reason)) => return Outcome::Failed(reason),
            Err(error) => return Outcome::Retry(format!("encrypting the push stopped: {error}")),
        };
        send_prepared(http, push).await
    }
}

fn vapid_key(settings: &WebPushSettings) -> Result<VapidKey, String> {
    let private = URL_SAFE_NO_PAD
        .decode(settings.private_key.trim_end_matches('='))
        .ok()
        .filter(|bytes| bytes.len() == VAPID_PRIVATE_KEY_BYTES)
        .and_then(|bytes| SecretKey::from_slice(&bytes).ok())
        .ok_or("The VAPID private key is not a base64url P-256 private key.")?;
    let key_pair = ES256KeyPair::from_bytes(&private.to_bytes())
        .map_err(|_| "The VAPID private key is not a P-256 private key.".to_string())?;
    let public_key =
        URL_SAFE_NO_PAD.encode(private.public_key().to_encoded_point(false).as_bytes());
    let configured = settings.public_key.trim_end_matches('=');
    if !configured.is_empty() && configured != public_key {
        return Err("The VAPID public key does not belong to the VAPID private key.".into());
    }
    if !(settings.subject.starts_with("mailto:") || settings.subject.starts_with("https:")) {
        return Err("The VAPID subject is not a mailto: or https: URL.".into());
    }
    Ok(VapidKey {
        key_pair,
        public_key,
    })
}

/// The `Authorization` header of RFC 8292 §3: `vapid t=<JWT>, k=<public key>`.
///
/// Signed here rather than by web-push-native's builder: its `aud` is the endpoint's scheme
/// and host only, and RFC 8292 §2 asks for the origin, which keeps a non-default port.
fn vapid_authorization(key: &VapidKey, endpoint: &Url, subject: &str) -> Result<String, String> {
    let claims = Claims::create(ClaimsDuration::from_hours(VAPID_VALID_HOURS))
        .with_audience(endpoint.origin().ascii_serialization())
        .with_subject(subject);
    let token = key
        .key_pair
        .sign(claims)
        .map_err(|error| format!("Signing the VAPID token failed: {error}"))?;
    Ok(format!("vapid t={token}, k={}", key.public_key))
}

/// The `Topic` header for a collapse id: the id itself when it is short base64url, else a
/// digest of it cut to 32 characters; none for no id.
fn topic(collapse_id: &str) -> Option<String> {
    if collapse_id.is_empty() {
        return None;
    }
    let fits = collapse_id.len() <= TOPIC_CHARS_MAX
        && collapse_id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    if fits {
        return Some(collapse_id.to_string());
    }
    let mut digest = digest_id(collapse_id);
    digest.truncate(TOPIC_CHARS_MAX);
    Some(digest)
}

/// A push ready to go out: where, signed how, and the encrypted body.
struct PreparedPush {
    endpoint: Url,
    authorization: String,
    body: Vec<u8>,
    topic: Option<String>,
    ttl_secs: u32,
}

fn prepare(
    authorization: String,
    subscription: &WebPushSubscription,
    content: &PushContent,
) -> Result<PreparedPush, String> {
    let keys = parse_subscription(
        &subscription.endpoint,
        &subscription.p256dh,
        &subscription.auth,
    )?;
    let payload = content.web_push_payload();
    if payload.len() > PUSH_PAYLOAD_BYTES_MAX {
        return Err(format!(
            "The push payload is {} bytes, more than {PUSH_PAYLOAD_BYTES_MAX}.",
            payload.len()
        ));
    }
    let body = web_push_native::encrypt(payload, &keys.public_key, &keys.auth)
        .map_err(|error| format!("Encrypting the push failed: {error}"))?;
    Ok(PreparedPush {
        endpoint: keys.endpoint,
        authorization,
        body,
        topic: topic(&content.collapse_id),
        ttl_secs: content.ttl_secs,
    })
}

/// Send a prepared push and read what the push service answered.
async fn send_prepared(http: &reqwest::Client, push: PreparedPush) -> Outcome {
    let mut request = http
        .post(push.endpoint)
        .timeout(REQUEST_TIMEOUT)
        .header(AUTHORIZATION, push.authorization)
        .header(CONTENT_ENCODING, "aes128gcm")
        .header(CONTENT_TYPE, "application/octet-stream")
        .header("TTL", push.ttl_secs)
        .header("Urgency", "normal")
        .body(push.body);
    if let Some(topic) = push.topic {
        request = request.header("Topic", topic);
    }
    match request.send().await {
        Ok(answer) => {
            let status = answer.status().as_u16();
            web_push_outcome(status, &answer_text(answer).await)
        }
        Err(error) => outcome_of_error(&error),
    }
}

/// A push service's answer: [`outcome_of_status`], but a 413 says the payload is too large.
fn web_push_outcome(status: u16, answer: &str) -> Outcome {
    match status {
        413 => Outcome::Failed(format!(
            "payload too large: {}",
            answer.chars().take(300).collect::<String>()
        )),
        _ => outcome_of_status(status, answer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8291 Appendix A: the user agent's keys and the message it receives.
    const RFC_UA_PRIVATE: &str = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
    const RFC_UA_PUBLIC: &str =
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    const RFC_AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";
    const RFC_MESSAGE: &str = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";

    fn decode(text: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .expect("test vectors are base64url")
    }

    #[test]
    fn rfc8291_example_decrypts() {
        let secret = SecretKey::from_slice(&decode(RFC_UA_PRIVATE)).expect("the RFC's key");
        let auth = Auth::clone_from_slice(&decode(RFC_AUTH));
        let plaintext = web_push_native::decrypt(decode(RFC_MESSAGE), &secret, &auth)
            .expect("the RFC's message decrypts");
        assert_eq!(plaintext, b"When I grow up, I want to be a watermelon");
        assert!(check_subscription(
            "https://push.example.net/p/JzLQ3raZJfFBR0aqvOMsLrt54w4rJUsV",
            RFC_UA_PUBLIC,
            RFC_AUTH
        )
        .is_ok());
    }

    fn browser_keys() -> (SecretKey, String, String) {
        let secret = SecretKey::random(&mut rand::rngs::OsRng);
        let p256dh = URL_SAFE_NO_PAD.encode(secret.public_key().to_encoded_point(false).as_bytes());
        let auth = URL_SAFE_NO_PAD.encode([7u8; 16]);
        (secret, p256dh, auth)
    }

    #[test]
    fn subscriptions_are_checked() {
        let (_, p256dh, auth) = browser_keys();
        let padded = format!("{p256dh}=");
        let compressed = {
            let secret = SecretKey::random(&mut rand::rngs::OsRng);
            URL_SAFE_NO_PAD.encode(secret.public_key().to_encoded_point(true).as_bytes())
        };
        let not_on_curve = URL_SAFE_NO_PAD.encode([4u8; 65]);
        let long_endpoint = format!("https://push.example/{}", "a".repeat(2_048));
        let good = "https://fcm.googleapis.com/fcm/send/abc";
        let cases: &[(&str, &str, &str, Result<(), &str>)] = &[
            (good, &p256dh, &auth, Ok(())),
            (good, &padded, "BwcHBwcHBwcHBwcHBwcHBw==", Ok(())),
            ("http://127.0.0.1:9000/push/1", &p256dh, &auth, Ok(())),
            (
                "/push/1",
                &p256dh,
                &auth,
                Err("The endpoint is not an absolute URL."),
            ),
            (
                "ftp://push.example/1",
                &p256dh,
                &auth,
                Err("The endpoint is not an http or https URL."),
            ),
            (
                &long_endpoint,
                &p256dh,
                &auth,
                Err("The endpoint is longer than 2048 characters."),
            ),
            (
                good,
                "not base64!",
                &auth,
                Err("The p256dh key is not a P-256 public key."),
            ),
            (
                good,
                &compressed,
                &auth,
                Err("The p256dh key is not a P-256 public key."),
            ),
            (
                good,
                &not_on_curve,
                &auth,
                Err("The p256dh key is not a P-256 public key."),
            ),
            (
                good,
                &p256dh,
                "BwcHBwcHBwcHBwcHBwcH",
                Err("The auth secret is not 16 bytes of base64url."),
            ),
            (
                good,
                &p256dh,
                "",
                Err("The auth secret is not 16 bytes of base64url."),
            ),
        ];
        for (endpoint, p256dh, auth, expected) in cases {
            let got = check_subscription(endpoint, p256dh, auth);
            assert_eq!(
                got,
                expected.map_err(String::from),
                "{endpoint} {p256dh} {auth}"
            );
        }
    }

    #[test]
    fn generated_vapid_keys_pair_up() {
        let (public, private) = generate_vapid_keys();
        assert_eq!(decode(&public).len(), P256_POINT_BYTES);
        assert_eq!(decode(&private).len(), VAPID_PRIVATE_KEY_BYTES);
        let settings = WebPushSettings {
            enabled: true,
            subject: "mailto:ops@example.com".into(),
            public_key: public.clone(),
            private_key: private,
        };
        let key = vapid_key(&settings).expect("a generated pair is usable");
        assert_eq!(key.public_key, public);
        let (other_public, _) = generate_vapid_keys();
        let mismatched = WebPushSettings {
            public_key: other_public,
            ..settings.clone()
        };
        assert!(vapid_key(&mismatched).is_err());
        let no_contact = WebPushSettings {
            subject: "ops@example.com".into(),
            ..settings
        };
        assert_eq!(
            vapid_key(&no_contact).err().as_deref(),
            Some("The VAPID subject is not a mailto: or https: URL.")
        );
    }

    fn content(collapse_id: &str) -> PushContent {
        PushContent {
            title: "Hello".into(),
            body: "World".into(),
            data: serde_json::Map::new(),
            ttl_secs: 60,
            collapse_id: collapse_id.into(),
            message_id: "m1".into(),
        }
    }

    #[test]
    fn a_prepared_push_decrypts_and_names_its_origin() {
        let (secret, p256dh, auth) = browser_keys();
        let (public_key, private_key) = generate_vapid_keys();
        let settings = WebPushSettings {
            enabled: true,
            subject: "https://example.com/contact".into(),
            public_key: public_key.clone(),
            private_key,
        };
        let subscription = WebPushSubscription {
            endpoint: "http://127.0.0.1:8123/push/1".into(),
            p256dh,
            auth: auth.clone(),
        };
        let client = WebPushClient::new();
        let endpoint = Url::parse(&subscription.endpoint).expect("a URL");
        let authorization = client.authorization(&settings, &endpoint).expect("signed");
        // One push service, one signature, while it lasts.
        assert_eq!(
            client.authorization(&settings, &endpoint).unwrap(),
            authorization
        );
        let push = prepare(authorization, &subscription, &content("m1")).expect("prepared");
        let auth = Auth::clone_from_slice(&decode(&auth));
        let plaintext = web_push_native::decrypt(push.body, &secret, &auth).expect("decrypts");
        assert_eq!(plaintext, content("m1").web_push_payload());

        let (token, key) = push
            .authorization
            .strip_prefix("vapid t=")
            .and_then(|rest| rest.split_once(", k="))
            .expect("vapid t=..., k=...");
        assert_eq!(key, public_key);
        let claims_part = token.split('.').nth(1).expect("a JWT has claims");
        let claims: serde_json::Value =
            serde_json::from_slice(&decode(claims_part)).expect("claims are JSON");
        assert_eq!(claims["aud"], "http://127.0.0.1:8123");
        assert_eq!(claims["sub"], "https://example.com/contact");
        let lifetime =
            claims["exp"].as_u64().unwrap_or_default() - claims["iat"].as_u64().unwrap_or_default();
        assert_eq!(lifetime, VAPID_VALID_HOURS * 3600);
        assert_eq!(push.topic.as_deref(), Some("m1"));
    }

    #[test]
    fn topics_fit_rfc8030() {
        let long = "x".repeat(33);
        let cases: &[(&str, Option<&str>)] = &[
            ("", None),
            ("abc-DEF_123", Some("abc-DEF_123")),
            (
                "12345678901234567890123456789012",
                Some("12345678901234567890123456789012"),
            ),
        ];
        for (collapse_id, expected) in cases {
            assert_eq!(topic(collapse_id).as_deref(), *expected, "{collapse_id}");
        }
        for odd in [long.as_str(), "has space", "dot.ted"] {
            let hashed = topic(odd).expect("a topic");
            assert_eq!(hashed.len(), TOPIC_CHARS_MAX, "{odd}");
            assert_eq!(topic(odd), Some(hashed), "stable for {odd}");
        }
    }

    #[test]
    fn answers_map_to_outcomes() {
        let cases: &[(u16, &str)] = &[
            (201, "sent"),
            (200, "sent"),
            (202, "sent"),
            (404, "gone"),
            (410, "gone"),
            (413, "failed"),
            (400, "failed"),
            (403, "failed"),
            (429, "retry"),
            (500, "retry"),
            (503, "retry"),
        ];
        for (status, expected) in cases {
            let got = match web_push_outcome(*status, "") {
                Outcome::Sent => "sent",
                Outcome::Gone(_) => "gone",
                Outcome::Retry(_) => "retry",
                Outcome::Failed(_) => "failed",
            };
            assert_eq!(got, *expected, "{status}");
        }
        assert!(
            matches!(web_push_outcome(413, ""), Outcome::Failed(text) if text.starts_with("payload too large"))
        );
    }

    #[tokio::test]
    async fn a_bad_subscription_fails_without_a_request() {
        let (public_key, private_key) = generate_vapid_keys();
        let settings = WebPushSettings {
            enabled: true,
            subject: "mailto:ops@example.com".into(),
            public_key,
            private_key,
        };
        let subscription = WebPushSubscription {
            // Nothing listens here: a request would come back as Retry, not Failed.
            endpoint: "http://127.0.0.1:9/push/1".into(),
            p256dh: "AAAA".into(),
            auth: URL_SAFE_NO_PAD.encode([1u8; 16]),
        };
        let outcome = WebPushClient::new()
            .send(
                &super::super::http_client(),
                &settings,
                &subscription,
                &content("x"),
            )
            .await;
        assert_eq!(
            outcome,
            Outcome::Failed("The p256dh key is not a P-256 public key.".into())
        );
    }
}
