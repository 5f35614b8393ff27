//! The public listeners of `edgebase serve`: plain HTTP, and with `--https` a TLS listener
//! whose certificate comes from PEM files or an ACME CA, while the HTTP listener redirects to
//! it.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::net::TcpListener;

use edgebase_api::http_server::{Listener, RouterSlot, Transport};
use edgebase_api::tls::acme::{self, AcmeSettings, Http01Challenges};
use edgebase_api::tls::{self, CertificateFiles, CertificateSlot};

use crate::cli::https_args::{HttpsArgs, ACME_DOMAINS_MAX};
use crate::cli::ServeArgs;

/// Where the ACME account and certificate are kept, under the data dir.
const ACME_CACHE_DIR: &str = "acme";

/// Bind the listeners `args` ask for; `node` is the router of the API. With HTTPS, its
/// certificate is loaded (files) or its renewal started (ACME) before this returns.
pub async fn public_listeners(
    args: &ServeArgs,
    node: &RouterSlot,
) -> anyhow::Result<Vec<Listener>> {
    let http = TcpListener::bind(args.http)
        .await
        .with_context(|| format!("listen on {}", args.http))?;
    let Some(https_addr) = args.https.https else {
        return Ok(vec![Listener {
            socket: http,
            transport: Transport::Plain,
            routers: node.clone(),
        }]);
    };
    let https = TcpListener::bind(https_addr)
        .await
        .with_context(|| format!("listen for HTTPS on {https_addr}"))?;
    let https_port = https.local_addr().context("read the HTTPS port")?.port();
    let slot = Arc::new(CertificateSlot::default());
    let challenges = start_certificate(args, &slot).await?;
    let acceptor = slot.acceptor().context("configure TLS")?;
    let redirect = RouterSlot::new(tls::http_side_router(https_port, challenges, node.clone()));
    Ok(vec![
        Listener {
            socket: http,
            transport: Transport::Plain,
            routers: redirect,
        },
        Listener {
            socket: https,
            transport: Transport::Tls(acceptor),
            routers: node.clone(),
        },
    ])
}

/// Put the first certificate in `slot` (files), or start getting one (ACME: its challenges
/// are returned for the HTTP listener to answer).
async fn start_certificate(
    args: &ServeArgs,
    slot: &Arc<CertificateSlot>,
) -> anyhow::Result<Option<Http01Challenges>> {
    let https = &args.https;
    match certificate_source(https)? {
        Source::Files(files) => {
            let interval = Duration::from_secs(https.tls_reload_interval_secs);
            files
                .serve_and_reload(slot.clone(), interval)
                .await
                .context("load the HTTPS certificate (--tls-cert, --tls-key)")?;
            Ok(None)
        }
        Source::Acme(settings) => {
            let settings = AcmeSettings {
                cache_dir: args.dir.join(ACME_CACHE_DIR),
                ..settings
            };
            let challenges = Http01Challenges::default();
            acme::serve_and_renew(settings, slot.clone(), challenges.clone())
                .await
                .context("start getting the HTTPS certificate from the ACME CA")?;
            Ok(Some(challenges))
        }
    }
}

enum Source {
    Files(CertificateFiles),
    Acme(AcmeSettings),
}

/// The certificate source the flags name. clap already refuses every other combination;
/// flags read back from `node.json` are checked here too.
fn certificate_source(https: &HttpsArgs) -> anyhow::Result<Source> {
    match (&https.tls_cert, &https.tls_key, https.acme_domains.is_empty()) {
        (Some(certificate), Some(key), true) => Ok(Source::Files(CertificateFiles {
            certificate: certificate.clone(),
            key: key.clone(),
        })),
        (None, None, false) => {
            if https.acme_domains.len() > ACME_DOMAINS_MAX {
                bail!("at most {ACME_DOMAINS_MAX} --acme-domain names fit in one certificate");
            }
            Ok(Source::Acme(AcmeSettings {
                domains: https.acme_domains.clone(),
                contact_email: https.acme_email.clone(),
                directory_url: https.acme_directory.clone(),
                ca_file: https.acme_ca_file.clone(),
                cache_dir: Default::default(),
            }))
        }
        _ => bail!(
            "--https needs a certificate: both --tls-cert and --tls-key, or --acme-domain (not both)"
        ),
    }
}
