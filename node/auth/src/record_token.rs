//! PocketBase's one-purpose record tokens (verification, password reset, email change): HS256
//! JWTs keyed by the record's `tokenKey` plus the collection's secret for that purpose, so a
//! new password (a new `tokenKey`) or a rotated secret invalidates them on every node.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::token::TokenError;
use edgebase_model::auth_config::AuthOptions;

/// What a record token is for; each kind has its own secret and lifetime in the collection's
/// options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordTokenKind {
    Verification,
    PasswordReset,
    EmailChange,
    /// Downloads of protected files (`POST /api/files/token`).
    File,
}

impl RecordTokenKind {
    /// The `type` claim PocketBase writes.
    pub fn claim(self) -> &'static str {
        match self {
            RecordTokenKind::Verification => "verification",
            RecordTokenKind::PasswordReset => "passwordReset",
            RecordTokenKind::EmailChange => "emailChange",
            RecordTokenKind::File => "file",
        }
    }

    /// The collection option holding this kind's `secret` and `duration`.
    pub fn option(self) -> &'static str {
        match self {
            RecordTokenKind::Verification => "verificationToken",
            RecordTokenKind::PasswordReset => "passwordResetToken",
            RecordTokenKind::EmailChange => "emailChangeToken",
            RecordTokenKind::File => "fileToken",
        }
    }
}

/// The claims of a record token, in the order PocketBase writes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordTokenClaims {
    #[serde(rename = "collectionId")]
    pub collection_id: String,
    #[serde(default)]
    pub email: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    pub id: String,
    /// Only in email change tokens.
    #[serde(rename = "newEmail", default, skip_serializing_if = "Option::is_none")]
    pub new_email: Option<String>,
    #[serde(rename = "type")]
    pub token_type: String,
}

/// The secret and lifetime (seconds) of `kind` in an auth collection's options.
pub fn secret_and_duration(options: &AuthOptions, kind: RecordTokenKind) -> Option<(&str, u64)> {
    let token = match kind {
        RecordTokenKind::Verification => &options.verification_token,
        RecordTokenKind::PasswordReset => &options.password_reset_token,
        RecordTokenKind::EmailChange => &options.email_change_token,
        RecordTokenKind::File => &options.file_token,
    };
    token.signing()
}

/// The signing input of a record token: what identifies the record and the purpose.
pub struct TokenSubject<'a> {
    pub record_id: &'a str,
    pub collection_id: &'a str,
    pub email: &'a str,
    pub token_key: &'a str,
}

/// Sign a `kind` token for the subject, valid `duration_secs` from now.
pub fn sign(
    kind: RecordTokenKind,
    subject: &TokenSubject<'_>,
    new_email: Option<&str>,
    secret: &str,
    duration_secs: u64,
) -> Result<String, TokenError> {
    let now_secs = chrono::Utc::now().timestamp().max(0) as u64;
    let claims = RecordTokenClaims {
        collection_id: subject.collection_id.to_string(),
        email: subject.email.to_string(),
        exp: now_secs.saturating_add(duration_secs),
        id: subject.record_id.to_string(),
        new_email: new_email.map(String::from),
        token_type: kind.claim().to_string(),
    };
    let key = format!("{}{secret}", subject.token_key);
    Ok(encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(key.as_bytes()),
    )?)
}

/// The claims without checking the signature: only to find the record whose key then
/// checks it.
pub fn unverified_claims(token: &str) -> Result<RecordTokenClaims, TokenError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.insecure_disable_signature_validation();
    validation.validate_exp = false;
    decode::<RecordTokenClaims>(token, &DecodingKey::from_secret(&[]), &validation)
        .map(|data| data.claims)
        .map_err(|_| TokenError::Malformed)
}

/// Check signature, expiry and type with the record's `tokenKey` and the kind's secret.
pub fn verify(
    token: &str,
    kind: RecordTokenKind,
    token_key: &str,
    secret: &str,
) -> Result<RecordTokenClaims, TokenError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp"]);
    let key = format!("{token_key}{secret}");
    let claims = decode::<RecordTokenClaims>(
        token,
        &DecodingKey::from_secret(key.as_bytes()),
        &validation,
    )
    .map(|data| data.claims)
    .map_err(|_| TokenError::Invalid)?;
    if claims.token_type != kind.claim() {
        return Err(TokenError::Invalid);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject<'a>(token_key: &'a str) -> TokenSubject<'a> {
        TokenSubject {
            record_id: "rec",
            collection_id: "pbc_1",
            email: "a@x.com",
            token_key,
        }
    }

    /// (kind signed, kind checked, token key checked, secret checked, valid)
    #[test]
    fn tokens_verify_only_for_their_kind_key_and_secret() {
        use RecordTokenKind::*;
        let cases = [
            (Verification, Verification, "key", "secret", true),
            (PasswordReset, PasswordReset, "key", "secret", true),
            (EmailChange, EmailChange, "key", "secret", true),
            (PasswordReset, Verification, "key", "secret", false),
            (Verification, EmailChange, "key", "secret", false),
            (PasswordReset, PasswordReset, "new-key", "secret", false),
            (Verification, Verification, "key", "other-secret", false),
        ];
        for (signed, checked, key, secret, valid) in cases {
            let new_email = (signed == EmailChange).then_some("b@x.com");
            let token = sign(signed, &subject("key"), new_email, "secret", 60).expect("sign");
            let outcome = verify(&token, checked, key, secret);
            assert_eq!(
                outcome.is_ok(),
                valid,
                "{signed:?} as {checked:?} {key} {secret}"
            );
            if let Ok(claims) = outcome {
                assert_eq!(claims.email, "a@x.com");
                assert_eq!(claims.new_email.as_deref(), new_email);
            }
        }
    }

    #[test]
    fn an_expired_token_fails() {
        let mut claims = unverified_claims(
            &sign(
                RecordTokenKind::Verification,
                &subject("key"),
                None,
                "s",
                60,
            )
            .expect("sign"),
        )
        .expect("claims");
        claims.exp = 1;
        let token = encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"keys"),
        )
        .expect("encode");
        assert!(verify(&token, RecordTokenKind::Verification, "key", "s").is_err());
    }
}
