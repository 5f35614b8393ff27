//! Apple's OAuth2 client secret: a JWT the app signs with its "Sign in with Apple" key
//! (ES256, the key's id in the header), issued by the team to the service id for Apple,
//! as PocketBase's `/api/settings/apple/generate-client-secret` makes it.

use serde::Serialize;

/// Who Apple expects the secret to be for.
const APPLE_AUDIENCE: &str = "https://appleid.apple.com";

/// What a client secret is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppleSecretRequest<'a> {
    /// The service id (the OAuth2 client id).
    pub client_id: &'a str,
    pub team_id: &'a str,
    pub key_id: &'a str,
    /// The PKCS#8 PEM of the P-256 key.
    pub private_key_pem: &'a str,
    pub duration_secs: i64,
}

/// Why no secret was made; the messages are PocketBase's (Go's JWT library's).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AppleSecretError {
    #[error("invalid key: Key must be a PEM encoded PKCS1 or PKCS8 key")]
    NotPem,
    #[error("key is not a valid ECDSA private key")]
    NotEcdsa,
    #[error("{0}")]
    Sign(String),
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: [&'a str; 1],
    exp: i64,
    iat: i64,
}

/// The signed secret, valid from `now_secs` for the request's duration.
pub fn client_secret(
    request: &AppleSecretRequest<'_>,
    now_secs: i64,
) -> Result<String, AppleSecretError> {
    let block = pem::parse(request.private_key_pem.trim()).map_err(|_| AppleSecretError::NotPem)?;
    let key = jsonwebtoken::EncodingKey::from_ec_der(block.contents());
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(request.key_id.to_string());
    let claims = Claims {
        iss: request.team_id,
        sub: request.client_id,
        aud: [APPLE_AUDIENCE],
        exp: now_secs.saturating_add(request.duration_secs),
        iat: now_secs,
    };
    jsonwebtoken::encode(&header, &claims, &key).map_err(|error| match error.kind() {
        jsonwebtoken::errors::ErrorKind::InvalidEcdsaKey
        | jsonwebtoken::errors::ErrorKind::InvalidKeyFormat => AppleSecretError::NotEcdsa,
        _ => AppleSecretError::Sign(error.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    /// A P-256 key made for this test only.
    const TEST_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgJloQt/9yv5GpL1x5
yYL2wzOWuJf39lwvHJccp9gLcJmhRANCAAQndwGi5RvQKyxTdPtSj4Hw8rE8X4g0
0yO0OuLtQA7Brtc/evgkxF/59olDc6S3g/MTW/sGA/hZLbyrupzcEb9F
-----END PRIVATE KEY-----";

    fn request(pem: &str) -> AppleSecretRequest<'_> {
        AppleSecretRequest {
            client_id: "com.example.app",
            team_id: "ABCDEFGHIJ",
            key_id: "KEYID12345",
            private_key_pem: pem,
            duration_secs: 3600,
        }
    }

    fn decoded(part: &str) -> serde_json::Value {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .expect("base64url");
        serde_json::from_slice(&bytes).expect("json")
    }

    #[test]
    fn a_secret_as_pocketbase_makes_it() {
        let secret = client_secret(&request(TEST_KEY), 1_000).expect("signed");
        let parts: Vec<&str> = secret.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(
            decoded(parts[0]),
            serde_json::json!({"typ": "JWT", "alg": "ES256", "kid": "KEYID12345"})
        );
        assert_eq!(
            decoded(parts[1]),
            serde_json::json!({
                "iss": "ABCDEFGHIJ", "sub": "com.example.app",
                "aud": ["https://appleid.apple.com"], "exp": 4_600, "iat": 1_000
            })
        );
    }

    #[test]
    fn keys_that_are_not_p256_pems_are_refused() {
        assert_eq!(
            client_secret(&request("abc"), 0),
            Err(AppleSecretError::NotPem)
        );
        assert_eq!(
            client_secret(
                &request("-----BEGIN PRIVATE KEY-----\nYWJj\n-----END PRIVATE KEY-----"),
                0
            ),
            Err(AppleSecretError::NotEcdsa)
        );
    }
}
