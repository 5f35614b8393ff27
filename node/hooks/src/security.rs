//! `$security`'s natives: random strings, hashes and HMACs (hex, as PocketBase gives them),
//! constant-time comparison, and HS256 JWTs.

use base64::Engine;
use hmac::{Hmac, Mac};
use md5::Md5;
use rand::Rng;
use rquickjs::prelude::Opt;
use rquickjs::{Ctx, Exception, Function, Object};
use sha2::{Digest, Sha256, Sha512};

/// PocketBase's default alphabet for random strings.
const ALPHANUMERIC: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
/// Longest random string made at once.
const RANDOM_CHARS_MAX: usize = 1 << 16;

pub fn bind<'js>(ctx: &Ctx<'js>, native: &Object<'js>) -> rquickjs::Result<()> {
    native.set(
        "randomString",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, length: f64, alphabet: Opt<String>| {
                random_string(length, alphabet.0.as_deref().unwrap_or(ALPHANUMERIC))
                    .map_err(|message| Exception::throw_range(&ctx, message))
            },
        )?,
    )?;
    native.set(
        "hash",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, kind: String, text: String| match kind.as_str() {
                "md5" => Ok(hex::encode(Md5::digest(text.as_bytes()))),
                "sha256" => Ok(hex::encode(Sha256::digest(text.as_bytes()))),
                "sha512" => Ok(hex::encode(Sha512::digest(text.as_bytes()))),
                other => Err(Exception::throw_type(&ctx, &format!("no hash {other}"))),
            },
        )?,
    )?;
    native.set(
        "hmac",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>,
             kind: String,
             text: String,
             secret: String|
             -> rquickjs::Result<String> {
                let bad_key = |_| Exception::throw_type(&ctx, "invalid HMAC key");
                match kind.as_str() {
                    "sha256" => {
                        let mut mac =
                            Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(bad_key)?;
                        mac.update(text.as_bytes());
                        Ok(hex::encode(mac.finalize().into_bytes()))
                    }
                    "sha512" => {
                        let mut mac =
                            Hmac::<Sha512>::new_from_slice(secret.as_bytes()).map_err(bad_key)?;
                        mac.update(text.as_bytes());
                        Ok(hex::encode(mac.finalize().into_bytes()))
                    }
                    other => Err(Exception::throw_type(&ctx, &format!("no HMAC {other}"))),
                }
            },
        )?,
    )?;
    native.set(
        "equal",
        Function::new(ctx.clone(), |a: String, b: String| {
            // Constant time for equal lengths, as PocketBase's `subtle` comparison.
            a.len() == b.len()
                && a.bytes()
                    .zip(b.bytes())
                    .fold(0u8, |diff, (x, y)| diff | (x ^ y))
                    == 0
        })?,
    )?;
    native.set(
        "createJWT",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>,
             payload: String,
             secret: String,
             duration_secs: f64|
             -> rquickjs::Result<String> {
                let mut claims: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(&payload).unwrap_or_default();
                if duration_secs > 0.0 {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|elapsed| elapsed.as_secs())
                        .unwrap_or(0);
                    claims.insert("exp".into(), serde_json::json!(now + duration_secs as u64));
                }
                jsonwebtoken::encode(
                    &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
                    &claims,
                    &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
                )
                .map_err(|error| Exception::throw_message(&ctx, &format!("createJWT: {error}")))
            },
        )?,
    )?;
    native.set(
        "parseJWT",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, token: String, secret: Opt<String>| -> rquickjs::Result<String> {
                let claims = match secret.0 {
                    Some(secret) => {
                        let mut validation =
                            jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
                        validation.required_spec_claims.clear();
                        jsonwebtoken::decode::<serde_json::Value>(
                            &token,
                            &jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()),
                            &validation,
                        )
                        .map(|data| data.claims)
                        .map_err(|error| {
                            Exception::throw_message(&ctx, &format!("parseJWT: {error}"))
                        })?
                    }
                    None => unverified_claims(&token).ok_or_else(|| {
                        Exception::throw_message(&ctx, "parseUnverifiedJWT: not a JWT")
                    })?,
                };
                Ok(claims.to_string())
            },
        )?,
    )?;
    Ok(())
}

fn random_string(length: f64, alphabet: &str) -> Result<String, &'static str> {
    let chars: Vec<char> = alphabet.chars().collect();
    if chars.is_empty() {
        return Err("the alphabet is empty");
    }
    if !(0.0..=RANDOM_CHARS_MAX as f64).contains(&length) {
        return Err("the length is out of range");
    }
    let mut rng = rand::thread_rng();
    Ok((0..length as usize)
        .map(|_| chars[rng.gen_range(0..chars.len())])
        .collect())
}

/// A JWT's claims, unchecked.
fn unverified_claims(token: &str) -> Option<serde_json::Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_strings_use_the_alphabet_and_claims_read_back() {
        let made = random_string(32.0, "ab").expect("made");
        assert_eq!(made.len(), 32);
        assert!(made.chars().all(|c| c == 'a' || c == 'b'));
        assert!(random_string(4.0, "").is_err());
        assert!(random_string(-1.0, "ab").is_err());
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &serde_json::json!({"id": "x"}),
            &jsonwebtoken::EncodingKey::from_secret(b"secret"),
        )
        .expect("token");
        assert_eq!(
            unverified_claims(&token),
            Some(serde_json::json!({"id": "x"}))
        );
        assert_eq!(unverified_claims("garbage"), None);
    }
}
