//! `Http01Challenges`: the HTTP-01 answers of the order under way, read by the HTTP
//! listener's `/.well-known/acme-challenge/{token}` route.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

/// Token to key authorization. Entries live only while an order runs, one per name of the
/// certificate, so the map stays as small as `--acme-domain`'s list.
#[derive(Debug, Clone, Default)]
pub struct Http01Challenges {
    answers: Arc<RwLock<HashMap<String, String>>>,
}

impl Http01Challenges {
    pub fn key_authorization(&self, token: &str) -> Option<String> {
        self.answers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(token)
            .cloned()
    }

    /// Answer `token` until the returned guard is dropped.
    pub(super) fn answer(&self, token: String, key_authorization: String) -> ChallengeAnswer {
        self.answers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(token.clone(), key_authorization);
        ChallengeAnswer {
            challenges: self.clone(),
            token,
        }
    }
}

/// Removes its challenge's answer when dropped, however the order ends.
pub(super) struct ChallengeAnswer {
    challenges: Http01Challenges,
    token: String,
}

impl Drop for ChallengeAnswer {
    fn drop(&mut self) {
        self.challenges
            .answers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.token);
    }
}
