//! The replicated state machine: applies entries and answers reads from applied state.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;
use std::sync::Arc;

use crate::apply_limits::ApplyLimits;
use crate::change_feed::{ChangeListener, ListenerSlot};
use crate::codec::{decode, decode_string, decode_u64, encode_u64};
use crate::compiled_collection::{CompiledCollection, CompiledCollections};
use crate::file_refs::{BlobPlace, BlobUse};
use crate::kv::{KvBackend, KvPair, KvRead, ScanStep};
use crate::memory_backend::MemoryBackend;
use crate::query::{
    FilterPart, ListPage, ListRequest, QueryError, RequestContext, RuleCheck, RuleSubject,
};
use crate::record_layout::decode_record;
use crate::snapshot::{SnapshotReader, SnapshotStats, SnapshotWriter};
use crate::stored::CollectionValue;
use crate::{
    apply, keys, Command, CommandResult, EntryResult, StorageError, StoredCollection, StoredRecord,
    StoredSetting,
};

/// At most this many records per page; larger limits are clamped (PocketBase's `perPage`
/// maximum).
pub const RECORDS_PAGE_LIMIT_MAX: u64 = 1000;

/// One log entry to apply. `last_applied` and `membership` are opaque bytes the consensus
/// layer encodes (its log id and stored membership).
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyEntry {
    pub index: u64,
    pub command: Option<Command>,
    pub last_applied: Vec<u8>,
    pub membership: Option<Vec<u8>>,
}

/// What was applied last, as the consensus layer encoded it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppliedMeta {
    pub last_applied: Option<Vec<u8>>,
    pub membership: Option<Vec<u8>>,
}

/// The state machine over a [`KvBackend`]. Cheap to clone.
#[derive(Clone)]
pub struct StateMachine {
    pub(crate) backend: Arc<dyn KvBackend>,
    limits: ApplyLimits,
    /// Shared by every clone and reader: apply, queries and the node compile a collection
    /// version once.
    compiled: Arc<CompiledCollections>,
    /// Told of every applied record change (the realtime hub).
    listener: ListenerSlot,
}

impl std::fmt::Debug for StateMachine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateMachine").finish_non_exhaustive()
    }
}

impl StateMachine {
    pub fn with_backend(backend: Arc<dyn KvBackend>) -> Self {
        Self {
            backend,
            limits: ApplyLimits::default(),
            compiled: Arc::default(),
            listener: ListenerSlot::default(),
        }
    }

    /// A state machine that applies with other bounds than every replica's (tests only: a
    /// replica with its own bounds would reject what the others apply).
    #[cfg(test)]
    pub(crate) fn with_limits(backend: Arc<dyn KvBackend>, limits: ApplyLimits) -> Self {
        Self {
            backend,
            limits,
            compiled: Arc::default(),
            listener: ListenerSlot::default(),
        }
    }

    /// A state machine held in memory (tests and the model).
    pub fn in_memory() -> Self {
        Self::with_backend(Arc::new(MemoryBackend::new()))
    }

    pub fn applied(&self) -> Result<AppliedMeta, StorageError> {
        let view = self.backend.view()?;
        applied_meta(&*view)
    }

    /// Apply one entry in ONE write batch: the command's effects (if any, and if its
    /// conditions hold), `last_applied`, and `membership` when Some. Returns None for entries
    /// without a command. Deterministic: never reads the clock, randomness or the
    /// environment. Errors if `entry.index` is not above the last applied index.
    pub fn apply(&self, entry: ApplyEntry) -> Result<Option<EntryResult>, StorageError> {
        if matches!(entry.command, Some(Command::RestoreState { .. })) {
            // Only `apply_restore`, given the snapshot file, can apply it.
            return Err(StorageError::RestoreWithoutFile { index: entry.index });
        }
        let (result, changes) =
            apply::apply_entry(&*self.backend, entry, self.limits, &self.compiled)?;
        if let Some(listener) = self.listener.get() {
            if !changes.is_empty() {
                listener.applied(changes);
            }
        }
        Ok(result)
    }

    /// Apply an entry holding a `Command::RestoreState`: replace the whole state with the
    /// snapshot at `snapshot` (the file the command's blob names, handed over by the
    /// consensus layer), keeping this state's membership and the settings the command names,
    /// and recording this entry as applied, all in one atomic install. A snapshot that does
    /// not read whole leaves the state as it was and is an error (the entry cannot apply).
    pub fn apply_restore(
        &self,
        entry: ApplyEntry,
        snapshot: &Path,
    ) -> Result<Option<EntryResult>, StorageError> {
        let Some(Command::RestoreState { kept_settings, .. }) = &entry.command else {
            return self.apply(entry);
        };
        let mut dropped = vec![
            keys::last_applied(),
            keys::applied_index(),
            keys::membership(),
        ];
        let mut injected: Vec<KvPair> = vec![
            (keys::last_applied(), entry.last_applied.clone()),
            (keys::applied_index(), encode_u64(entry.index).to_vec()),
        ];
        {
            let view = self.backend.view()?;
            if let Some(bytes) = view.get(&keys::applied_index())? {
                let last = decode_u64(&bytes, "applied index")?;
                if entry.index <= last {
                    return Err(StorageError::ApplyOutOfOrder {
                        last,
                        next: entry.index,
                    });
                }
            }
            let membership = match &entry.membership {
                Some(membership) => Some(membership.clone()),
                None => view.get(&keys::membership())?,
            };
            if let Some(membership) = membership {
                injected.push((keys::membership(), membership));
            }
            for key in kept_settings {
                for kept in [keys::setting(key), keys::setting_version(key)] {
                    if let Some(value) = view.get(&kept)? {
                        injected.push((kept.clone(), value));
                    }
                    dropped.push(kept);
                }
            }
        }
        let file =
            File::open(snapshot).map_err(|e| StorageError::io("open snapshot", snapshot, e))?;
        let reader = SnapshotReader::new(BufReader::new(file))?;
        let mut source = crate::kv::Then {
            first: crate::kv::Without {
                source: reader,
                dropped,
            },
            then: injected.into_iter(),
        };
        self.backend.replace_all(&mut source)?;
        if let Some(listener) = self.listener.get() {
            listener.jumped(entry.index);
        }
        Ok(Some(EntryResult::One(CommandResult::Applied {
            version: entry.index,
        })))
    }

    /// Tell `listener` of every record and collection change applied from now on, in log order, and of
    /// every snapshot installed. Only the first listener set is kept; whether it was this one.
    pub fn set_change_listener(&self, listener: Arc<dyn ChangeListener>) -> bool {
        self.listener.set(listener)
    }

    pub fn collection_by_id(&self, id: &str) -> Result<Option<StoredCollection>, StorageError> {
        let view = self.backend.view()?;
        collection_in(&*view, id)
    }

    /// The compiled form of a stored collection (schema, parsed rules, compiled indexes),
    /// compiled once per stored document.
    pub fn compiled_collection(
        &self,
        stored: &StoredCollection,
    ) -> Result<Arc<CompiledCollection>, StorageError> {
        self.compiled
            .stored(stored)
            .map_err(|error| StorageError::corrupt("collection document", error))
    }

    /// Case-insensitive name lookup.
    pub fn collection_by_name(&self, name: &str) -> Result<Option<StoredCollection>, StorageError> {
        let view = self.backend.view()?;
        match view.get(&keys::collection_name(name))? {
            Some(id) => collection_in(&*view, &decode_string(&id, "collection name index")?),
            None => Ok(None),
        }
    }

    /// Every collection, in creation order.
    pub fn collections(&self) -> Result<Vec<StoredCollection>, StorageError> {
        let view = self.backend.view()?;
        let mut ids = Vec::new();
        view.scan_prefix(&keys::collection_order_prefix(), &mut |_, id| {
            ids.push(decode_string(id, "collection order")?);
            Ok(ScanStep::Continue)
        })?;
        let mut collections = Vec::with_capacity(ids.len());
        for id in ids {
            let collection = collection_in(&*view, &id)?.ok_or_else(|| {
                StorageError::corrupt("collection order", format!("{id} has no collection"))
            })?;
            collections.push(collection);
        }
        Ok(collections)
    }

    pub fn record(
        &self,
        collection_id: &str,
        record_id: &str,
    ) -> Result<Option<StoredRecord>, StorageError> {
        let view = self.backend.view()?;
        record_in(&*view, collection_id, record_id)
    }

    /// Records in creation order, skipping `offset`, at most `limit` (clamped to
    /// [`RECORDS_PAGE_LIMIT_MAX`]).
    pub fn records_page(
        &self,
        collection_id: &str,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<StoredRecord>, StorageError> {
        let limit = limit.min(RECORDS_PAGE_LIMIT_MAX);
        let view = self.backend.view()?;
        let mut ids = Vec::new();
        let mut skipped = 0u64;
        if limit > 0 {
            view.scan_prefix(&keys::record_order_prefix(collection_id), &mut |_, id| {
                if skipped < offset {
                    skipped += 1;
                    return Ok(ScanStep::Continue);
                }
                ids.push(decode_string(id, "record order")?);
                Ok(if ids.len() as u64 >= limit {
                    ScanStep::Stop
                } else {
                    ScanStep::Continue
                })
            })?;
        }
        let mut records = Vec::with_capacity(ids.len());
        for id in ids {
            let record = record_in(&*view, collection_id, &id)?.ok_or_else(|| {
                StorageError::corrupt("record order", format!("{id} has no record"))
            })?;
            records.push(record);
        }
        Ok(records)
    }

    /// One page of a collection's records matching the request's filters, in its sort
    /// order (creation order when none), with the total when asked; all from one
    /// consistent view. Fails with a 400-class [`QueryError`] on unknown fields, and with
    /// [`QueryError::TooMuchWork`] past `records_examined_max`.
    pub fn list_records(&self, request: &ListRequest) -> Result<ListPage, QueryError> {
        let view = self.backend.view()?;
        crate::query::list(&*view, &self.compiled, request)
    }

    /// Evaluate `filters` (a view/update/delete rule) on one record, or on the document a
    /// create would write, and report the other records read with their versions so the
    /// write can carry them as conditions.
    pub fn check_record(
        &self,
        subject: RuleSubject<'_>,
        filters: &[FilterPart],
        context: &RequestContext,
        records_examined_max: u64,
    ) -> Result<RuleCheck, QueryError> {
        let view = self.backend.view()?;
        crate::query::check_record(
            &*view,
            &self.compiled,
            subject,
            filters,
            context,
            records_examined_max,
        )
    }

    /// How a list with this filter and sort would read its candidates: which index, how many
    /// candidates (for tests, logs and benchmarks).
    pub fn explain_list(
        &self,
        collection_id: &str,
        filter: Option<&crate::query::Expr>,
        sort: &[crate::query::SortKey],
        candidates_max: usize,
    ) -> Result<crate::query::plan::Explain, StorageError> {
        let view = self.backend.view()?;
        let stored = collection_in(&*view, collection_id)?.ok_or_else(|| {
            StorageError::corrupt("explain", format!("no collection {collection_id}"))
        })?;
        let compiled = self.compiled_collection(&stored)?;
        crate::query::plan::explain(&*view, compiled.schema(), filter, sort, candidates_max)
    }

    /// Check a rule or filter against a collection definition (PocketBase's JSON, stored or
    /// about to be), as PocketBase validates rules when a collection is saved.
    pub fn validate_filter(
        &self,
        collection_doc_json: &str,
        expr: &crate::query::Expr,
    ) -> Result<(), QueryError> {
        let view = self.backend.view()?;
        crate::query::validate_filter(&*view, &self.compiled, collection_doc_json, expr)
    }

    /// One entry of the hooks' outbox.
    pub fn outbox_entry(&self, id: &str) -> Result<Option<String>, StorageError> {
        let view = self.backend.view()?;
        match view.get(&keys::outbox(id))? {
            Some(bytes) => Ok(Some(decode_string(&bytes, "outbox entry")?)),
            None => Ok(None),
        }
    }

    /// The hooks' outbox: up to `limit` entries (id, entry JSON), in id order.
    pub fn outbox(&self, limit: usize) -> Result<Vec<(String, String)>, StorageError> {
        let view = self.backend.view()?;
        let prefix = keys::outbox_prefix();
        let mut entries = Vec::new();
        if limit == 0 {
            return Ok(entries);
        }
        view.scan_prefix(&prefix, &mut |key, value| {
            let id = decode_string(&key[prefix.len()..], "outbox id")?;
            entries.push((id, decode_string(value, "outbox entry")?));
            Ok(if entries.len() >= limit {
                ScanStep::Stop
            } else {
                ScanStep::Continue
            })
        })?;
        Ok(entries)
    }

    /// How the records use `blob` (by its SHA-256): on the members, in the bucket, or not at
    /// all. Stops reading references as soon as both are known.
    pub fn blob_use(&self, blob: &[u8; 32]) -> Result<BlobUse, StorageError> {
        let view = self.backend.view()?;
        let mut found = BlobUse::default();
        view.scan_prefix(&keys::blob_ref_prefix(blob), &mut |_, value| {
            found.add(BlobPlace::of_ref_value(value));
            Ok(if found.on_members && found.in_bucket {
                ScanStep::Stop
            } else {
                ScanStep::Continue
            })
        })?;
        Ok(found)
    }

    /// The blobs records refer to, with how they are used, in hash order, starting after
    /// `after`, at most `limit`: page through them to make sure a node holds every one.
    pub fn referenced_blobs(
        &self,
        after: Option<&[u8; 32]>,
        limit: usize,
    ) -> Result<Vec<([u8; 32], BlobUse)>, StorageError> {
        let view = self.backend.view()?;
        let prefix = keys::blob_refs_prefix();
        let start = match after {
            Some(blob) => keys::prefix_end(&keys::blob_ref_prefix(blob)),
            None => prefix.clone(),
        };
        let mut blobs: Vec<([u8; 32], BlobUse)> = Vec::new();
        if limit == 0 {
            return Ok(blobs);
        }
        view.scan_prefix_from(&prefix, &start, &mut |key, value| {
            let blob = keys::blob_of_ref(key)
                .ok_or_else(|| StorageError::corrupt("blob reference", "short key"))?;
            if blobs.last().map(|(last, _)| last) != Some(&blob) {
                if blobs.len() == limit {
                    return Ok(ScanStep::Stop);
                }
                blobs.push((blob, BlobUse::default()));
            }
            if let Some((_, uses)) = blobs.last_mut() {
                uses.add(BlobPlace::of_ref_value(value));
            }
            Ok(ScanStep::Continue)
        })?;
        Ok(blobs)
    }

    pub fn count_records(&self, collection_id: &str) -> Result<u64, StorageError> {
        let view = self.backend.view()?;
        record_count_in(&*view, collection_id)
    }

    /// The idempotency key `key` of `scope`, live or expired (the caller compares
    /// `created_ms` with its clock).
    pub fn idempotency_entry(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<crate::idempotency::IdempotencyEntry>, StorageError> {
        let view = self.backend.view()?;
        crate::idempotency::entry(&*view, scope, key)
    }

    pub fn setting(&self, key: &str) -> Result<Option<String>, StorageError> {
        let view = self.backend.view()?;
        match view.get(&keys::setting(key))? {
            Some(bytes) => Ok(Some(decode_string(&bytes, "setting")?)),
            None => Ok(None),
        }
    }

    /// A setting with its version, both from one view (a write conditioned on the version
    /// then replaces exactly the value read). None if it was never written, which a
    /// `PutSettingIf` expects as `SettingExpect::Unversioned`.
    pub fn stored_setting(&self, key: &str) -> Result<Option<StoredSetting>, StorageError> {
        let view = self.backend.view()?;
        let Some(bytes) = view.get(&keys::setting(key))? else {
            return Ok(None);
        };
        let version = match view.get(&keys::setting_version(key))? {
            Some(version) => Some(decode_u64(&version, "setting version")?),
            None => None,
        };
        Ok(Some(StoredSetting {
            value_json: decode_string(&bytes, "setting")?,
            version,
        }))
    }

    /// Write a consistent point-in-time copy of the whole state machine to `path` (synced).
    pub fn build_snapshot(&self, path: &Path) -> Result<SnapshotStats, StorageError> {
        self.build_snapshot_seeing(path, &mut |_| {})
    }

    /// A backup's snapshot: [`Self::build_snapshot`], and every blob the state refers to
    /// (each once, in order), read from the same view, so the list is exactly the
    /// snapshot's.
    pub fn build_backup_snapshot(
        &self,
        path: &Path,
    ) -> Result<(SnapshotStats, Vec<[u8; 32]>), StorageError> {
        let mut blobs: Vec<[u8; 32]> = Vec::new();
        let stats = self.build_snapshot_seeing(path, &mut |key| {
            if let Some(blob) = keys::blob_of_ref_key(key) {
                // References are keyed by blob first, so one blob's are adjacent.
                if blobs.last() != Some(&blob) {
                    blobs.push(blob);
                }
            }
        })?;
        Ok((stats, blobs))
    }

    fn build_snapshot_seeing(
        &self,
        path: &Path,
        seen: &mut dyn FnMut(&[u8]),
    ) -> Result<SnapshotStats, StorageError> {
        let file = File::create(path).map_err(|e| StorageError::io("create snapshot", path, e))?;
        let view = self.backend.view()?;
        let applied = applied_meta(&*view)?;
        let mut writer = SnapshotWriter::new(BufWriter::new(file))
            .map_err(|e| StorageError::io("write snapshot", path, e))?;
        view.scan_prefix(&[], &mut |key, value| {
            seen(key);
            writer.push(key, value)?;
            Ok(ScanStep::Continue)
        })?;
        drop(view);
        let (out, keys, bytes) = writer.finish()?;
        let file = out
            .into_inner()
            .map_err(|e| StorageError::io("write snapshot", path, e.into_error()))?;
        file.sync_all()
            .map_err(|e| StorageError::io("sync snapshot", path, e))?;
        Ok(SnapshotStats {
            bytes,
            keys,
            applied,
        })
    }

    /// Replace the state with a backup's snapshot as a new cluster's first state: without
    /// the applied log id, applied index and membership of the cluster it came from (the
    /// new cluster's log starts afresh) and without the settings named in
    /// `dropped_settings`. Atomic, like installing a snapshot. The number of keys kept.
    pub fn seed_from_snapshot(
        &self,
        path: &Path,
        dropped_settings: &[&str],
    ) -> Result<u64, StorageError> {
        let file = File::open(path).map_err(|e| StorageError::io("open snapshot", path, e))?;
        let reader = SnapshotReader::new(BufReader::new(file))?;
        let mut dropped = vec![
            keys::last_applied(),
            keys::applied_index(),
            keys::membership(),
        ];
        for key in dropped_settings {
            dropped.push(keys::setting(key));
            dropped.push(keys::setting_version(key));
        }
        let mut source = crate::kv::Without {
            source: reader,
            dropped,
        };
        self.backend.replace_all(&mut source)
    }

    /// Ask the backend to compact its files (space back after large deletes).
    pub fn compact_storage(&self) -> Result<(), StorageError> {
        self.backend.compact()
    }

    /// Replace the whole state machine with the snapshot file at `path`, atomically: a bad
    /// file or a crash leaves the old state.
    pub fn install_snapshot(&self, path: &Path) -> Result<(), StorageError> {
        let file = File::open(path).map_err(|e| StorageError::io("open snapshot", path, e))?;
        let mut reader = SnapshotReader::new(BufReader::new(file))?;
        self.backend.replace_all(&mut reader)?;
        if let Some(listener) = self.listener.get() {
            let view = self.backend.view()?;
            let index = match view.get(&keys::applied_index())? {
                Some(bytes) => decode_u64(&bytes, "applied index")?,
                None => 0,
            };
            listener.jumped(index);
        }
        Ok(())
    }
}

fn applied_meta(view: &dyn KvRead) -> Result<AppliedMeta, StorageError> {
    Ok(AppliedMeta {
        last_applied: view.get(&keys::last_applied())?,
        membership: view.get(&keys::membership())?,
    })
}

pub(crate) fn record_count_in(view: &dyn KvRead, collection_id: &str) -> Result<u64, StorageError> {
    match view.get(&keys::record_count(collection_id))? {
        Some(bytes) => decode_u64(&bytes, "record count"),
        None => Ok(0),
    }
}

pub(crate) fn collection_in(
    view: &dyn KvRead,
    id: &str,
) -> Result<Option<StoredCollection>, StorageError> {
    match view.get(&keys::collection(id))? {
        Some(bytes) => {
            let value: CollectionValue = decode(&bytes, "collection")?;
            Ok(Some(value.into_stored(id)))
        }
        None => Ok(None),
    }
}

pub(crate) fn record_in(
    view: &dyn KvRead,
    collection_id: &str,
    record_id: &str,
) -> Result<Option<StoredRecord>, StorageError> {
    match view.get(&keys::record(collection_id, record_id))? {
        Some(bytes) => Ok(Some(
            decode_record(&bytes)?.into_stored(collection_id, record_id),
        )),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::StateMachine;
    use crate::{
        keys, ApplyEntry, Command, CommandResult, KvBackend, KvBatch, MemoryBackend, Rejection,
        SettingExpect, StoredSetting,
    };

    /// A setting written before versions were kept has none; a conditioned write expecting
    /// "unversioned" replaces it and gives it one.
    #[test]
    fn a_setting_from_before_versions_reads_as_unversioned() {
        let backend = Arc::new(MemoryBackend::new());
        let mut old_write = KvBatch::new();
        old_write.put(keys::setting("k"), b"\"old\"".to_vec());
        backend.write(old_write).expect("write");
        let state = StateMachine::with_backend(backend);
        let stored = state.stored_setting("k").expect("read").expect("written");
        assert_eq!(
            stored,
            StoredSetting {
                value_json: "\"old\"".into(),
                version: None,
            }
        );
        let apply = |index, expect| {
            state
                .apply(ApplyEntry {
                    index,
                    command: Some(Command::PutSettingIf {
                        key: "k".into(),
                        value_json: index.to_string(),
                        expect,
                    }),
                    last_applied: Vec::new(),
                    membership: None,
                })
                .expect("apply")
        };
        let cases = [
            (
                SettingExpect::Version(1),
                CommandResult::Rejected(Rejection::SettingVersionMismatch { current: None }),
            ),
            (stored.expect(), CommandResult::Applied { version: 2 }),
        ];
        for (position, (expect, expected)) in cases.into_iter().enumerate() {
            assert_eq!(
                apply(position as u64 + 1, expect),
                Some(crate::EntryResult::One(expected)),
                "{expect:?}"
            );
        }
        let stored = state.stored_setting("k").expect("read").expect("written");
        assert_eq!(stored.version, Some(2));
    }
}
