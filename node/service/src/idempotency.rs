//! Idempotent writes (beyond PocketBase): a write sent with an `Idempotency-Key` applies at
//! most once for that key, and a retry with the key, at any node, gets the first answer
//! again. The key belongs to the identity that sent it; the request is fingerprinted, so the
//! same key on another request is refused. The check and the key's keeping happen at apply,
//! in the write's own entry (`edgebase_storage::idempotency`): two attempts racing through
//! different nodes cannot both apply, and the answer a retry replays travels in that entry,
//! so it survives the death of the node that first took the write.

use edgebase_storage::idempotency::{
    IdempotencyEntry, IdempotencyStamp, StoredAnswer, IDEMPOTENT_ANSWER_BYTES_MAX,
};
use edgebase_storage::Command;
use sha2::{Digest, Sha256};

use crate::app::App;
use crate::caller::Caller;
use crate::error::ServiceError;
use crate::principal::Principal;

/// Longest key a client may send.
pub const IDEMPOTENCY_KEY_CHARS_MAX: usize = 255;
/// The stored status of an answer too large to keep: the write applied, its answer is gone.
pub const ANSWER_NOT_KEPT: u16 = 0;

/// A keyed write: whose key, which key, and the request's fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentWrite {
    pub scope: String,
    pub key: String,
    pub fingerprint: [u8; 32],
}

/// What the key says before planning.
#[derive(Debug)]
pub enum Prior {
    /// Never used (or expired): plan and propose the write under the key.
    Unused,
    /// This request was applied: replay its answer.
    Applied(IdempotencyEntry),
    /// The key was used for another request.
    OtherRequest,
}

impl IdempotentWrite {
    /// The key `key` (as a client sent it) of `caller`'s request, fingerprinted by `parts`
    /// (method, path and query, body...; each hashed with its length, so parts cannot run
    /// into each other). A key must be 1 to 255 visible ASCII characters.
    pub fn new(caller: &Caller, key: &str, parts: &[&[u8]]) -> Result<Self, ServiceError> {
        IdempotentWrite::for_principal(caller.principal(), key, parts)
    }

    /// Like [`IdempotentWrite::new`], for a request whose caller is known only by its
    /// principal (superuser endpoints).
    pub fn for_principal(
        principal: &Principal,
        key: &str,
        parts: &[&[u8]],
    ) -> Result<Self, ServiceError> {
        let valid = !key.is_empty()
            && key.len() <= IDEMPOTENCY_KEY_CHARS_MAX
            && key.bytes().all(|byte| byte.is_ascii_graphic());
        if !valid {
            return Err(ServiceError::bad_request(
                "Invalid Idempotency-Key header: 1 to 255 visible ASCII characters.",
            ));
        }
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part);
        }
        Ok(IdempotentWrite {
            scope: scope_of(principal),
            key: key.to_string(),
            fingerprint: hasher.finalize().into(),
        })
    }

    /// The key's state on this node.
    pub fn prior(&self, app: &App) -> Result<Prior, ServiceError> {
        let Some(entry) = app.state().idempotency_entry(&self.scope, &self.key)? else {
            return Ok(Prior::Unused);
        };
        if !entry.is_live(now_ms()) {
            return Ok(Prior::Unused);
        }
        if entry.fingerprint != self.fingerprint {
            return Ok(Prior::OtherRequest);
        }
        Ok(Prior::Applied(entry))
    }

    /// `command`, to be applied once for this key, keeping the answer `status` and `body`
    /// (too large a body is not kept: a retry then learns the write applied, not its answer).
    pub fn wrap(&self, command: Command, status: u16, body: Vec<u8>) -> Command {
        let answer = if body.len() > IDEMPOTENT_ANSWER_BYTES_MAX {
            StoredAnswer {
                status: ANSWER_NOT_KEPT,
                body: Vec::new(),
            }
        } else {
            StoredAnswer { status, body }
        };
        Command::Idempotent {
            stamp: IdempotencyStamp {
                scope: self.scope.clone(),
                key: self.key.clone(),
                fingerprint: self.fingerprint,
                now_ms: now_ms(),
            },
            answer,
            command: Box::new(command),
        }
    }
}

/// The scope a principal's keys live in.
fn scope_of(principal: &Principal) -> String {
    match principal {
        Principal::Anonymous => "guest".to_string(),
        Principal::Superuser { id } => format!("superuser:{id}"),
        Principal::Record { collection_id, id } => format!("record:{collection_id}:{id}"),
        Principal::System(_) => "system".to_string(),
    }
}

fn now_ms() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_have_their_own_scopes() {
        let scopes = [
            scope_of(&Principal::Anonymous),
            scope_of(&Principal::Superuser { id: "a".into() }),
            scope_of(&Principal::Record {
                collection_id: "c".into(),
                id: "a".into(),
            }),
        ];
        assert_eq!(scopes, ["guest", "superuser:a", "record:c:a"]);
    }
}
