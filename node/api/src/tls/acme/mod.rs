//! Certificates from an ACME CA (Let's Encrypt by default), as PocketBase's `serve DOMAIN`
//! gets them: an account and the certificate are cached under the data dir (`DIR/acme/`) so a
//! restart serves at once and orders nothing, and a background task renews the certificate
//! before it expires.
//!
//! Domains are proven with HTTP-01 challenges, answered on the HTTP listener
//! (`/.well-known/acme-challenge/{token}`, see `tls::http_side_router`). HTTP-01 rather than
//! TLS-ALPN-01: the HTTP listener is already there, the answers go through the router like
//! any request, and the TLS listener keeps one certificate resolver with no challenge
//! certificates in it. It means the CA must reach the node on port 80 of each domain (what
//! PocketBase asks too), and it cannot prove wildcard names.

mod account;
mod cache;
mod challenges;
mod http_client;
mod order;
mod renewal;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use challenges::Http01Challenges;

use super::certificate::{certificate_summary, parse_certified_key, CertificateSummary};
use super::error::{with_causes, TlsError};
use super::slot::CertificateSlot;
use cache::CertificateCache;
use http_client::AcmeHttpClient;

/// Let's Encrypt's production directory, the default CA.
pub const LETS_ENCRYPT_DIRECTORY: &str = instant_acme::LetsEncrypt::Production.url();

/// The first pause after a failed order; each further failure doubles it, up to
/// [`RETRY_PAUSE_MAX`]. Let's Encrypt allows 5 failed validations per name per hour, so the
/// first five failures take more than an hour.
const RETRY_PAUSE_FIRST: Duration = Duration::from_secs(120);
const RETRY_PAUSE_MAX: Duration = Duration::from_secs(3_600);
/// Longest the renewal task sleeps before looking at the clock again (a suspended machine
/// or a clock that jumps wakes it late otherwise).
const RENEWAL_CHECK_INTERVAL_MAX: Duration = Duration::from_secs(6 * 3_600);

/// What `--acme-*` asks for.
#[derive(Debug, Clone)]
pub struct AcmeSettings {
    /// The names the certificate is for (its subject alternative names).
    pub domains: Vec<String>,
    /// Where the CA sends expiry notices, if anywhere.
    pub contact_email: Option<String>,
    pub directory_url: String,
    /// PEM file of extra CAs to trust for the ACME server's own TLS (a test CA).
    pub ca_file: Option<PathBuf>,
    /// Where the account and certificate are kept (`DIR/acme`).
    pub cache_dir: PathBuf,
}

/// Serve the cached certificate when it covers the domains and has not expired, then keep
/// one valid in a background task: order when there is none, renew before expiry, and back
/// off after failures. Fails now only for what retrying cannot mend (an unreadable CA file,
/// a cache dir that cannot be made).
pub async fn serve_and_renew(
    settings: AcmeSettings,
    slot: Arc<CertificateSlot>,
    challenges: Http01Challenges,
) -> Result<(), TlsError> {
    let http = AcmeHttpClient::new(settings.ca_file.as_deref()).await?;
    let cache = CertificateCache::open(&settings.cache_dir).await?;
    let served = match cache.load().await {
        Ok(Some((certificate, summary)))
            if renewal::covers(&summary, &settings.domains)
                && unix_now_s() < summary.not_after_unix_s =>
        {
            tracing::info!(
                serial = %summary.serial,
                names = ?summary.dns_names,
                not_after_unix_s = summary.not_after_unix_s,
                "serving the cached ACME certificate"
            );
            slot.install(certificate);
            Some(summary)
        }
        Ok(_) => None,
        Err(error) => {
            tracing::warn!(
                error = %with_causes(&error),
                "the cached ACME certificate cannot be used; ordering a new one"
            );
            None
        }
    };
    tokio::spawn(keep_renewed(
        settings, http, cache, slot, challenges, served,
    ));
    Ok(())
}

async fn keep_renewed(
    settings: AcmeSettings,
    http: AcmeHttpClient,
    cache: CertificateCache,
    slot: Arc<CertificateSlot>,
    challenges: Http01Challenges,
    served: Option<CertificateSummary>,
) {
    let mut served = served;
    let mut failures: u32 = 0;
    loop {
        if let Some(summary) = &served {
            let wait = renewal::wait_before_renewal(summary, &settings.domains, unix_now_s());
            if !wait.is_zero() {
                tokio::time::sleep(wait.min(RENEWAL_CHECK_INTERVAL_MAX)).await;
                continue;
            }
        }
        tracing::info!(names = ?settings.domains, directory = %settings.directory_url, "ordering a certificate from the ACME CA");
        match obtain_and_install(&settings, &http, &cache, &slot, &challenges).await {
            Ok(summary) => {
                tracing::info!(
                    serial = %summary.serial,
                    names = ?summary.dns_names,
                    not_after_unix_s = summary.not_after_unix_s,
                    "serving a new certificate from the ACME CA"
                );
                served = Some(summary);
                failures = 0;
            }
            Err(error) => {
                failures = failures.saturating_add(1);
                let pause = retry_pause(failures);
                tracing::warn!(
                    error = %with_causes(&error),
                    failures,
                    retry_in_s = pause.as_secs(),
                    "could not get a certificate from the ACME CA"
                );
                tokio::time::sleep(pause).await;
            }
        }
    }
}

async fn obtain_and_install(
    settings: &AcmeSettings,
    http: &AcmeHttpClient,
    cache: &CertificateCache,
    slot: &CertificateSlot,
    challenges: &Http01Challenges,
) -> Result<CertificateSummary, TlsError> {
    let account = account::load_or_create(settings, http, cache.dir()).await?;
    let (chain_pem, key_pem) = order::obtain(&account, &settings.domains, challenges).await?;
    let certificate = parse_certified_key(chain_pem.as_bytes(), key_pem.as_bytes())?;
    let leaf = certificate
        .cert
        .first()
        .expect("a parsed certified key has a leaf certificate");
    let summary = certificate_summary(leaf)?;
    cache.save(&chain_pem, &key_pem).await?;
    slot.install(certificate);
    Ok(summary)
}

fn retry_pause(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    RETRY_PAUSE_FIRST
        .saturating_mul(1 << doublings)
        .min(RETRY_PAUSE_MAX)
}

fn unix_now_s() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_pauses_double_up_to_an_hour() {
        let pauses: Vec<u64> = (1..=8).map(|n| retry_pause(n).as_secs()).collect();
        assert_eq!(pauses, vec![120, 240, 480, 960, 1_920, 3_600, 3_600, 3_600]);
        assert_eq!(retry_pause(u32::MAX), RETRY_PAUSE_MAX);
    }
}
