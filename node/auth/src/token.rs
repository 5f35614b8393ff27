//! PocketBase-compatible auth tokens: HS256 JWTs signed with the record's `tokenKey` plus
//! the collection's secret, so any node verifies them from its replicated state, and a new
//! `tokenKey` (password change) invalidates old tokens everywhere.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// PocketBase's auth token claims, in the order it writes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthClaims {
    #[serde(rename = "collectionId")]
    pub collection_id: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    pub id: String,
    /// False for impersonation tokens: `auth-refresh` hands them back unchanged.
    pub refreshable: bool,
    #[serde(rename = "type")]
    pub token_type: String,
}

/// Whether `auth-refresh` may issue a new token for a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    Allowed,
    /// Impersonation tokens live exactly their given duration.
    Refused,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("invalid signature or expired token")]
    Invalid,
    #[error("sign token: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
}

fn signing_key(token_key: &str, collection_secret: &str) -> Vec<u8> {
    format!("{token_key}{collection_secret}").into_bytes()
}

/// Sign an auth token valid for `duration_secs` from now.
pub fn sign(
    record_id: &str,
    collection_id: &str,
    token_key: &str,
    collection_secret: &str,
    duration_secs: u64,
    refresh: Refresh,
) -> Result<String, TokenError> {
    let now_secs = chrono::Utc::now().timestamp().max(0) as u64;
    let claims = AuthClaims {
        collection_id: collection_id.to_string(),
        exp: now_secs.saturating_add(duration_secs),
        id: record_id.to_string(),
        refreshable: refresh == Refresh::Allowed,
        token_type: "auth".to_string(),
    };
    let key = EncodingKey::from_secret(&signing_key(token_key, collection_secret));
    Ok(encode(&Header::new(Algorithm::HS256), &claims, &key)?)
}

/// Read the claims without checking the signature: only to find which record and
/// collection hold the key that [`verify`] then checks with.
pub fn unverified_claims(token: &str) -> Result<AuthClaims, TokenError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.insecure_disable_signature_validation();
    validation.validate_exp = false;
    decode::<AuthClaims>(token, &DecodingKey::from_secret(&[]), &validation)
        .map(|data| data.claims)
        .map_err(|_| TokenError::Malformed)
}

/// Check signature and expiry with the record's key.
pub fn verify(
    token: &str,
    token_key: &str,
    collection_secret: &str,
) -> Result<AuthClaims, TokenError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp"]);
    let key = DecodingKey::from_secret(&signing_key(token_key, collection_secret));
    let claims = decode::<AuthClaims>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|_| TokenError::Invalid)?;
    if claims.token_type != "auth" {
        return Err(TokenError::Invalid);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_round_trip() {
        let token = sign("rec", "pbc_1", "key", "secret", 60, Refresh::Allowed).expect("sign");
        let claims = verify(&token, "key", "secret").expect("valid");
        assert_eq!(claims.id, "rec");
        assert_eq!(
            unverified_claims(&token).expect("claims").collection_id,
            "pbc_1"
        );
    }

    /// PocketBase 0.40.6 writes the claims in this order (read off one of its tokens).
    #[test]
    fn claims_are_pocketbase_shaped() {
        let token = sign("rec", "pbc_1", "key", "secret", 60, Refresh::Refused).expect("sign");
        let payload = token.split('.').nth(1).expect("three parts");
        use base64::Engine;
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("base64url");
        let text = String::from_utf8(json).expect("utf-8");
        let expected = regex::Regex::new(
            r#"^\{"collectionId":"pbc_1","exp":\d+,"id":"rec","refreshable":false,"type":"auth"\}$"#,
        )
        .expect("pattern");
        assert!(expected.is_match(&text), "{text}");
    }

    #[test]
    fn another_key_or_secret_is_refused() {
        let token = sign("rec", "pbc_1", "key", "secret", 60, Refresh::Allowed).expect("sign");
        assert!(verify(&token, "other-key", "secret").is_err());
        assert!(verify(&token, "key", "other-cluster-secret").is_err());
        assert!(unverified_claims("not a token").is_err());
    }
}
