//! The ACME account: created on the first order (accepting the CA's terms of service, as
//! PocketBase does) and kept in `DIR/acme/account.json` with the directory it belongs to, so
//! later orders and restarts reuse it; a different `--acme-directory` gets a new account.

use std::path::Path;

use instant_acme::{Account, AccountCredentials, NewAccount};
use serde::{Deserialize, Serialize};

use super::cache::{read_private, write_private};
use super::http_client::AcmeHttpClient;
use super::AcmeSettings;
use crate::tls::error::TlsError;

const ACCOUNT_FILE: &str = "account.json";
const ACCOUNT_FILE_BYTES_MAX: u64 = 64 * 1024;

#[derive(Serialize, Deserialize)]
struct StoredAccount {
    directory_url: String,
    credentials: AccountCredentials,
}

pub(super) async fn load_or_create(
    settings: &AcmeSettings,
    http: &AcmeHttpClient,
    dir: &Path,
) -> Result<Account, TlsError> {
    let path = dir.join(ACCOUNT_FILE);
    if let Some(bytes) = read_private(&path, ACCOUNT_FILE_BYTES_MAX).await? {
        let stored: StoredAccount =
            serde_json::from_slice(&bytes).map_err(|source| TlsError::AccountFile {
                path: path.clone(),
                source,
            })?;
        if stored.directory_url == settings.directory_url {
            let account = Account::builder_with_http(http.boxed())
                .from_credentials(stored.credentials)
                .await?;
            return Ok(account);
        }
        tracing::info!(
            previous = %stored.directory_url,
            directory = %settings.directory_url,
            "the ACME directory changed; creating a new account"
        );
    }
    let contact = settings
        .contact_email
        .as_ref()
        .map(|email| format!("mailto:{email}"));
    let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
    let (account, credentials) = Account::builder_with_http(http.boxed())
        .create(
            &NewAccount {
                contact: &contacts,
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            settings.directory_url.clone(),
            None,
        )
        .await?;
    let stored = StoredAccount {
        directory_url: settings.directory_url.clone(),
        credentials,
    };
    let bytes = serde_json::to_vec_pretty(&stored).expect("account credentials serialise to JSON");
    write_private(&path, &bytes).await?;
    tracing::info!(account = %account.id(), directory = %settings.directory_url, "created an ACME account");
    Ok(account)
}
