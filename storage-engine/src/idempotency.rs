//! Idempotency keys in the replicated state: a write proposed with a key (scoped to the
//! identity that sent it) is applied at most once while the key lives, and its first answer
//! is kept beside it, so a retry through any node replays that answer instead of writing
//! again. Apply checks and stores the key in the same batch as the write, so two attempts
//! that race through different nodes cannot both apply. Keys live `IDEMPOTENCY_KEY_TTL_MS`
//! by the proposing node's clock as the command carries it (apply reads no clock); at most
//! `IDEMPOTENCY_KEYS_MAX` are kept, the oldest dropped first, and each new key sweeps a few
//! expired ones, so the table's size and every apply's work stay bounded.

use serde::{Deserialize, Serialize};

use crate::codec::{decode, decode_u64, encode, encode_u64};
use crate::command::{Command, Rejection};
use crate::error::StorageError;
use crate::keys;
use crate::overlay::Overlay;

/// How long a key keeps its write from applying again (24 hours).
pub const IDEMPOTENCY_KEY_TTL_MS: u64 = 24 * 60 * 60 * 1000;
/// Keys kept at once; past it the oldest goes.
pub const IDEMPOTENCY_KEYS_MAX: u64 = 100_000;
/// The largest answer kept for replay.
pub const IDEMPOTENT_ANSWER_BYTES_MAX: usize = 1 << 20;
/// Expired keys one new key removes at most.
const EXPIRED_SWEEP_PER_KEY: usize = 16;

/// Which key a write carries, for whom, for what request, and when it was proposed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyStamp {
    /// The identity that sent the key (keys of different callers never meet).
    pub scope: String,
    pub key: String,
    /// A hash of the request, to tell a retry from another request reusing the key.
    pub fingerprint: [u8; 32],
    /// The proposing node's clock, in milliseconds since the Unix epoch.
    pub now_ms: u64,
}

/// The first answer to a keyed write, as the proposing node would give it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAnswer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// A key as stored: what it was used for, when, by which entry, and the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyEntry {
    pub fingerprint: [u8; 32],
    pub created_ms: u64,
    /// The log index of the entry that applied the write.
    pub index: u64,
    pub answer: StoredAnswer,
}

impl IdempotencyEntry {
    /// Whether the key still holds at `now_ms`.
    pub fn is_live(&self, now_ms: u64) -> bool {
        self.created_ms.saturating_add(IDEMPOTENCY_KEY_TTL_MS) > now_ms
    }
}

/// Where a new key goes: the applying entry's index, and how many keys may be kept.
pub(crate) struct Keeping {
    pub(crate) index: u64,
    pub(crate) keys_max: u64,
}

/// Apply `command` under `stamp`: refused with `IdempotencyKeyUsed` while the key lives,
/// else applied, and on success the key is stored with `answer` in the same batch.
pub(crate) fn apply<F>(
    overlay: &mut Overlay<'_>,
    stamp: &IdempotencyStamp,
    answer: &StoredAnswer,
    keeping: Keeping,
    command: &Command,
    mut evaluate: F,
) -> Result<Result<(), Rejection>, StorageError>
where
    F: FnMut(&mut Overlay<'_>, &Command) -> Result<Result<(), Rejection>, StorageError>,
{
    let key = keys::idempotency(&stamp.scope, &stamp.key);
    if let Some(bytes) = overlay.get(&key)? {
        let entry: IdempotencyEntry = decode(&bytes, "idempotency key")?;
        if entry.is_live(stamp.now_ms) {
            return Ok(Err(Rejection::IdempotencyKeyUsed { index: entry.index }));
        }
        remove(overlay, &stamp.scope, &stamp.key, entry.created_ms)?;
    }
    if let Err(rejection) = evaluate(overlay, command)? {
        return Ok(Err(rejection));
    }
    sweep_expired(overlay, stamp.now_ms)?;
    // One in, one out once full (a few more if the bound was lowered since).
    for _ in 0..EXPIRED_SWEEP_PER_KEY {
        if count(overlay)? < keeping.keys_max.max(1) || !remove_oldest(overlay)? {
            break;
        }
    }
    let entry = IdempotencyEntry {
        fingerprint: stamp.fingerprint,
        created_ms: stamp.now_ms,
        index: keeping.index,
        answer: answer.clone(),
    };
    overlay.put(key, encode(&entry, "idempotency key")?);
    overlay.put(
        keys::idempotency_by_time(stamp.now_ms, &stamp.scope, &stamp.key),
        Vec::new(),
    );
    set_count(overlay, count(overlay)? + 1);
    Ok(Ok(()))
}

/// The stored entry of a key, live or not.
pub(crate) fn entry(
    view: &dyn crate::kv::KvRead,
    scope: &str,
    key: &str,
) -> Result<Option<IdempotencyEntry>, StorageError> {
    view.get(&keys::idempotency(scope, key))?
        .map(|bytes| decode(&bytes, "idempotency key"))
        .transpose()
}

fn count(overlay: &Overlay<'_>) -> Result<u64, StorageError> {
    match overlay.get(&keys::idempotency_count())? {
        Some(bytes) => decode_u64(&bytes, "idempotency key count"),
        None => Ok(0),
    }
}

fn set_count(overlay: &mut Overlay<'_>, count: u64) {
    overlay.put(keys::idempotency_count(), encode_u64(count).to_vec());
}

fn remove(
    overlay: &mut Overlay<'_>,
    scope: &str,
    key: &str,
    created_ms: u64,
) -> Result<(), StorageError> {
    overlay.delete(keys::idempotency(scope, key));
    overlay.delete(keys::idempotency_by_time(created_ms, scope, key));
    let count = count(overlay)?;
    set_count(overlay, count.saturating_sub(1));
    Ok(())
}

/// The oldest keys by time, at most `limit`: (created_ms, scope, key).
fn oldest(overlay: &Overlay<'_>, limit: usize) -> Result<Vec<(u64, String, String)>, StorageError> {
    let prefix = keys::idempotency_by_time_prefix();
    overlay
        .first_keys(&prefix, limit)?
        .iter()
        .map(|raw| {
            keys::parse_idempotency_by_time(raw).ok_or_else(|| StorageError::Corrupt {
                what: "idempotency time key",
                detail: format!("{} bytes", raw.len()),
            })
        })
        .collect()
}

fn sweep_expired(overlay: &mut Overlay<'_>, now_ms: u64) -> Result<(), StorageError> {
    for (created_ms, scope, key) in oldest(overlay, EXPIRED_SWEEP_PER_KEY)? {
        if created_ms.saturating_add(IDEMPOTENCY_KEY_TTL_MS) > now_ms {
            break;
        }
        remove(overlay, &scope, &key, created_ms)?;
    }
    Ok(())
}

/// Remove the oldest key; false when there is none.
fn remove_oldest(overlay: &mut Overlay<'_>) -> Result<bool, StorageError> {
    match oldest(overlay, 1)?.into_iter().next() {
        Some((created_ms, scope, key)) => {
            remove(overlay, &scope, &key, created_ms)?;
            Ok(true)
        }
        None => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::apply_limits::ApplyLimits;
    use crate::{ApplyEntry, CollectionDoc, CollectionExpect, CommandResult, MemoryBackend};
    use crate::{RecordExpect, StateMachine};

    const KEYS_MAX: u64 = 5;

    fn state() -> StateMachine {
        let limits = ApplyLimits {
            idempotency_keys_max: KEYS_MAX,
            ..ApplyLimits::default()
        };
        let state = StateMachine::with_limits(Arc::new(MemoryBackend::new()), limits);
        let collection = Command::PutCollection {
            collection: CollectionDoc {
                id: "c1".into(),
                name: "posts".into(),
                doc_json: r#"{"id":"c1","name":"posts","type":"base","fields":[]}"#.into(),
            },
            expect: CollectionExpect::Absent,
        };
        assert!(matches!(
            apply(&state, 1, collection),
            CommandResult::Applied { .. }
        ));
        state
    }

    fn apply(state: &StateMachine, index: u64, command: Command) -> CommandResult {
        state
            .apply(ApplyEntry {
                index,
                command: Some(command),
                last_applied: index.to_be_bytes().to_vec(),
                membership: None,
            })
            .expect("apply")
            .expect("a command has a result")
            .into_one()
            .expect("not a group")
    }

    fn keyed(key: &str, now_ms: u64, record_id: &str) -> Command {
        Command::Idempotent {
            stamp: IdempotencyStamp {
                scope: "user-1".into(),
                key: key.into(),
                fingerprint: [1; 32],
                now_ms,
            },
            answer: StoredAnswer {
                status: 200,
                body: format!("{{\"id\":\"{record_id}\"}}").into_bytes(),
            },
            command: Box::new(Command::PutRecord {
                collection_id: "c1".into(),
                record_id: record_id.into(),
                doc_json: format!("{{\"id\":\"{record_id}\"}}"),
                expect: RecordExpect::Absent,
            }),
        }
    }

    fn record_exists(state: &StateMachine, id: &str) -> bool {
        state.record("c1", id).expect("read").is_some()
    }

    #[test]
    fn a_key_applies_its_write_once_and_keeps_the_answer() {
        let state = state();
        assert!(matches!(
            apply(&state, 2, keyed("k", 1_000, "r1")),
            CommandResult::Applied { .. }
        ));
        // A retry, even of another write under the same key, writes nothing.
        assert_eq!(
            apply(&state, 3, keyed("k", 2_000, "r2")),
            CommandResult::Rejected(Rejection::IdempotencyKeyUsed { index: 2 })
        );
        assert!(record_exists(&state, "r1") && !record_exists(&state, "r2"));
        let entry = state
            .idempotency_entry("user-1", "k")
            .expect("read")
            .expect("kept");
        assert_eq!((entry.index, entry.created_ms), (2, 1_000));
        assert_eq!(entry.answer.body, br#"{"id":"r1"}"#);
        // Another scope's key of the same name is another key.
        assert_eq!(state.idempotency_entry("user-2", "k").expect("read"), None);
    }

    #[test]
    fn a_rejected_write_keeps_no_key() {
        let state = state();
        assert!(matches!(
            apply(&state, 2, keyed("a", 1_000, "r1")),
            CommandResult::Applied { .. }
        ));
        // r1 exists: the write under key "b" is rejected, and "b" stays free.
        assert_eq!(
            apply(&state, 3, keyed("b", 1_000, "r1")),
            CommandResult::Rejected(Rejection::RecordExists)
        );
        assert_eq!(state.idempotency_entry("user-1", "b").expect("read"), None);
        assert!(matches!(
            apply(&state, 4, keyed("b", 1_000, "r2")),
            CommandResult::Applied { .. }
        ));
    }

    #[test]
    fn keys_expire_by_the_commands_clock() {
        let state = state();
        assert!(matches!(
            apply(&state, 2, keyed("k", 1_000, "r1")),
            CommandResult::Applied { .. }
        ));
        let later = 1_000 + IDEMPOTENCY_KEY_TTL_MS;
        assert!(matches!(
            apply(&state, 3, keyed("k", later, "r2")),
            CommandResult::Applied { .. }
        ));
        assert!(record_exists(&state, "r2"));
        let entry = state
            .idempotency_entry("user-1", "k")
            .expect("read")
            .expect("kept");
        assert_eq!(entry.index, 3);
    }

    #[test]
    fn the_table_is_bounded_and_sweeps_expired_keys() {
        let state = state();
        for n in 0..KEYS_MAX + 3 {
            let applied = apply(
                &state,
                2 + n,
                keyed(&format!("k{n}"), 1_000 + n, &format!("r{n}")),
            );
            assert!(
                matches!(applied, CommandResult::Applied { .. }),
                "{n}: {applied:?}"
            );
        }
        let kept: Vec<u64> = (0..KEYS_MAX + 3)
            .filter(|n| {
                state
                    .idempotency_entry("user-1", &format!("k{n}"))
                    .expect("read")
                    .is_some()
            })
            .collect();
        assert_eq!(
            kept,
            (3..KEYS_MAX + 3).collect::<Vec<_>>(),
            "the oldest went first"
        );
        // Much later, a new key sweeps the expired ones.
        let later = 10_000 + IDEMPOTENCY_KEY_TTL_MS;
        assert!(matches!(
            apply(&state, 100, keyed("new", later, "rn")),
            CommandResult::Applied { .. }
        ));
        let left: Vec<u64> = (0..KEYS_MAX + 3)
            .filter(|n| {
                state
                    .idempotency_entry("user-1", &format!("k{n}"))
                    .expect("read")
                    .is_some()
            })
            .collect();
        assert!(left.is_empty(), "expired keys left: {left:?}");
    }

    #[test]
    fn keys_are_not_batched() {
        let state = state();
        let batch = Command::Batch(vec![keyed("k", 1_000, "r1")]);
        assert_eq!(
            apply(&state, 2, batch),
            CommandResult::Rejected(Rejection::IdempotentInBatch)
        );
        assert!(!record_exists(&state, "r1"));
    }
}
