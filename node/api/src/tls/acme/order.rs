//! One ACME order: HTTP-01 challenges for every name, then a new key and CSR (made by
//! instant-acme with rcgen), then the issued chain.

use std::time::Duration;

use instant_acme::{
    Account, AuthorizationStatus, ChallengeType, Identifier, NewOrder, OrderStatus, RetryPolicy,
};

use super::challenges::Http01Challenges;
use crate::tls::error::TlsError;

/// Longest the CA may take to validate the challenges, and then to issue.
const VALIDATION_TIMEOUT: Duration = Duration::from_secs(120);
const ISSUANCE_TIMEOUT: Duration = Duration::from_secs(120);

/// A certificate chain for `domains` and its private key, both PEM.
pub(super) async fn obtain(
    account: &Account,
    domains: &[String],
    challenges: &Http01Challenges,
) -> Result<(String, String), TlsError> {
    let identifiers: Vec<Identifier> = domains
        .iter()
        .map(|domain| Identifier::Dns(domain.clone()))
        .collect();
    let mut order = account.new_order(&NewOrder::new(&identifiers)).await?;
    // Answers stay up until the order is ready (or fails), then are dropped.
    let mut answers = Vec::with_capacity(domains.len());
    let mut authorizations = order.authorizations();
    while let Some(authorization) = authorizations.next().await {
        let mut authorization = authorization?;
        match authorization.status {
            AuthorizationStatus::Pending => {}
            AuthorizationStatus::Valid => continue,
            status => {
                return Err(TlsError::AcmeRefused(format!(
                    "the authorization for {} is {status:?}",
                    authorization.identifier()
                )))
            }
        }
        let name = authorization.identifier().to_string();
        let mut challenge = authorization
            .challenge(ChallengeType::Http01)
            .ok_or_else(|| {
                TlsError::AcmeRefused(format!("the CA offers no HTTP-01 challenge for {name}"))
            })?;
        answers.push(challenges.answer(
            challenge.token.clone(),
            challenge.key_authorization().as_str().to_owned(),
        ));
        challenge.set_ready().await?;
    }
    let retries = RetryPolicy::new().timeout(VALIDATION_TIMEOUT);
    let status = order.poll_ready(&retries).await?;
    drop(answers);
    if status != OrderStatus::Ready {
        return Err(TlsError::AcmeRefused(format!(
            "the order is {status:?}: the CA could not validate every name over HTTP \
             (port 80 of each name must reach this node's HTTP listener)"
        )));
    }
    let key_pem = order.finalize().await?;
    let retries = RetryPolicy::new().timeout(ISSUANCE_TIMEOUT);
    let chain_pem = order.poll_certificate(&retries).await?;
    Ok((chain_pem, key_pem))
}
