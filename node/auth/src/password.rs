//! Password hashing with argon2id, always off the async runtime's threads.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// OWASP's argon2id recommendation: 19 MiB of memory, 2 passes, 1 lane.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;

/// A PHC string hashed from a fixed throwaway password, so a login for an unknown identity
/// does the same work as a wrong password.
const DUMMY_PASSWORD: &str = "edgebase-dummy-password-for-timing";

/// Most hashes computed at once: each takes `MEMORY_KIB` of memory and a core for tens of
/// milliseconds, so a burst of logins waits here instead of exhausting memory.
const CONCURRENT_HASHES_MAX: usize = 8;

fn hash_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| tokio::sync::Semaphore::new(CONCURRENT_HASHES_MAX))
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("hash password: {0}")]
    Hash(String),
    #[error("hashing task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("the hashing pool is closed")]
    Closed(#[from] tokio::sync::AcquireError),
}

fn hasher() -> Argon2<'static> {
    let params =
        Params::new(MEMORY_KIB, PASSES, LANES, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hash `password` into a PHC string on the blocking pool.
pub async fn hash(password: String) -> Result<String, PasswordError> {
    let _permit = hash_permits().acquire().await?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        hasher()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|error| PasswordError::Hash(error.to_string()))
    })
    .await?
}

/// Check `password` against a stored PHC string (constant-time compare inside argon2).
/// With no stored hash, a dummy hash is checked so the work done is the same.
pub async fn verify(password: String, stored_hash: Option<String>) -> Result<bool, PasswordError> {
    let _permit = hash_permits().acquire().await?;
    tokio::task::spawn_blocking(move || {
        let (phc, known) = match stored_hash {
            Some(phc) => (phc, true),
            None => (dummy_hash().to_string(), false),
        };
        let Ok(parsed) = PasswordHash::new(&phc) else {
            return Ok(false);
        };
        let matches = hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(known && matches)
    })
    .await?
}

fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        hasher()
            .hash_password(DUMMY_PASSWORD.as_bytes(), &salt)
            .expect("hashing a constant password cannot fail")
            .to_string()
    })
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn hash_then_verify() {
        let phc = super::hash("correct horse".into()).await.expect("hash");
        assert!(phc.starts_with("$argon2id$"));
        assert!(super::verify("correct horse".into(), Some(phc.clone()))
            .await
            .expect("verify"));
        assert!(!super::verify("wrong".into(), Some(phc))
            .await
            .expect("verify"));
        assert!(!super::verify("anything".into(), None)
            .await
            .expect("verify"));
    }

    /// An unknown identity is checked against a dummy hash made with the very same argon2id
    /// parameters as real ones, so a failed login costs the same work whether or not the
    /// identity exists (the timing differs in noise, not in kind).
    #[tokio::test]
    async fn unknown_identities_pay_for_the_same_hash() {
        let real = super::hash("some password".into()).await.expect("hash");
        let parameters = |phc: &str| phc.split('$').take(4).collect::<Vec<_>>().join("$");
        assert_eq!(parameters(&real), parameters(super::dummy_hash()));
        assert!(parameters(&real).starts_with("$argon2id$v=19$m="));
    }
}
