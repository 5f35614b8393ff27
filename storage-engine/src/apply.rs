//! Applying one log entry: check each command's conditions and compute its writes, all or
//! nothing, deterministically (no clock, randomness or environment).

use std::collections::HashSet;
use std::sync::Arc;

use crate::apply_limits::ApplyLimits;
use crate::change_feed::{AppliedChanges, ChangeAction, RecordChange};
use crate::codec::{decode, decode_string, decode_u64, encode, encode_u64};
use crate::compiled_collection::CompiledCollections;
use crate::file_refs;
use crate::index::maintain::{self, RecordMap};
use crate::kv::KvBackend;
use crate::overlay::Overlay;
use crate::record_layout::{self, decode_record, RecordValue};
use crate::stored::CollectionValue;
use crate::{
    keys, ApplyEntry, CollectionExpect, Command, CommandResult, EntryResult, RecordExpect,
    Rejection, SettingExpect, StorageError,
};

/// Creation order is `(index << 16) | position`: a create must sit among the first this many
/// commands of its entry, or its position would spill into the index bits (or, masked, wrap
/// around) and reorder creates. `creates_past_order_bound` rejects such an entry before any
/// of it is evaluated.
pub(crate) const CREATE_POSITIONS_MAX: u64 = 1 << 16;

/// What applying one entry carries along: its index, the bounds apply enforces, and
/// `position`, which numbers every non-batch command of the entry in order, so creations in
/// one entry get distinct, ordered `created_seq`s.
struct EntryContext<'c> {
    index: u64,
    limits: ApplyLimits,
    position: u64,
    compiled: &'c CompiledCollections,
    /// The record changes made so far, for the change feed.
    changes: Vec<RecordChange>,
    /// The collections put or deleted so far, for the change feed.
    collections: Vec<String>,
}

impl EntryContext<'_> {
    fn next_created_seq(&mut self) -> u64 {
        debug_assert!(
            self.position < CREATE_POSITIONS_MAX,
            "create at position {} of entry {}: creates_past_order_bound should have rejected it",
            self.position,
            self.index
        );
        // 2^48 log indexes are far beyond any log's life.
        debug_assert!(
            self.index < 1 << 48,
            "log index {} overflows creation order",
            self.index
        );
        let seq = (self.index << 16) | self.position;
        self.position += 1;
        seq
    }

    /// The creation sequence `next_created_seq` will give, without taking it.
    fn peek_created_seq(&self) -> u64 {
        (self.index << 16) | self.position
    }

    fn skip(&mut self) {
        self.position += 1;
    }
}

type Outcome = Result<(), Rejection>;

/// Apply one entry; its result, and the record and collection changes it made (none of a
/// rejected command).
pub(crate) fn apply_entry(
    backend: &dyn KvBackend,
    entry: ApplyEntry,
    limits: ApplyLimits,
    compiled: &CompiledCollections,
) -> Result<(Option<EntryResult>, AppliedChanges), StorageError> {
    let mut changes = AppliedChanges {
        index: entry.index,
        ..AppliedChanges::default()
    };
    let (mut batch, result) = {
        let view = backend.view()?;
        if let Some(bytes) = view.get(&keys::applied_index())? {
            let last = decode_u64(&bytes, "applied index")?;
            if entry.index <= last {
                return Err(StorageError::ApplyOutOfOrder {
                    last,
                    next: entry.index,
                });
            }
        }
        let mut overlay = Overlay::new(&*view);
        let mut context = EntryContext {
            index: entry.index,
            limits,
            position: 0,
            compiled,
            changes: Vec::new(),
            collections: Vec::new(),
        };
        let result = match &entry.command {
            None => None,
            Some(Command::Group(commands)) => Some(EntryResult::Each(evaluate_group(
                &mut overlay,
                commands,
                &mut context,
            )?)),
            Some(command) if creates_past_order_bound(command, 0) => Some(EntryResult::One(
                CommandResult::Rejected(Rejection::TooManyCreates {
                    commands_max: CREATE_POSITIONS_MAX,
                }),
            )),
            Some(command) => Some(EntryResult::One(
                match evaluate(&mut overlay, command, &mut context)? {
                    Ok(()) => CommandResult::Applied {
                        version: entry.index,
                    },
                    Err(rejection) => {
                        overlay.discard();
                        context.changes.clear();
                        context.collections.clear();
                        CommandResult::Rejected(rejection)
                    }
                },
            )),
        };
        changes.changes = context.changes;
        changes.collections = context.collections;
        (overlay.into_batch(), result)
        // The view is dropped here, before the write.
    };
    batch.put(keys::last_applied(), entry.last_applied);
    batch.put(keys::applied_index(), encode_u64(entry.index).to_vec());
    if let Some(membership) = entry.membership {
        batch.put(keys::membership(), membership);
    }
    backend.write(batch)?;
    Ok((result, changes))
}

/// Apply each command of a group on its own: a rejected one takes back only its own writes
/// and changes. A command that would write a record an earlier one of the group wrote is
/// rejected with `RecordWrittenInEntry` (two answers would name one version for two
/// contents), and one whose creates would pass the creation-order bound with
/// `TooManyCreates`.
fn evaluate_group(
    overlay: &mut Overlay<'_>,
    commands: &[Command],
    context: &mut EntryContext<'_>,
) -> Result<Vec<CommandResult>, StorageError> {
    let mut written: HashSet<(String, String)> = HashSet::new();
    let mut results = Vec::with_capacity(commands.len());
    for command in commands {
        let rejection = if matches!(command, Command::Group(_)) {
            Some(Rejection::GroupNested)
        } else if creates_past_order_bound(command, context.position) {
            Some(Rejection::TooManyCreates {
                commands_max: CREATE_POSITIONS_MAX,
            })
        } else if command
            .records_put()
            .any(|record| written.contains(&record))
        {
            Some(Rejection::RecordWrittenInEntry)
        } else {
            None
        };
        if let Some(rejection) = rejection {
            context.position += command.positions();
            results.push(CommandResult::Rejected(rejection));
            continue;
        }
        let savepoint = overlay.savepoint();
        let changes = context.changes.len();
        let collections = context.collections.len();
        match evaluate(overlay, command, context)? {
            Ok(()) => {
                written.extend(command.records_put());
                results.push(CommandResult::Applied {
                    version: context.index,
                });
            }
            Err(rejection) => {
                overlay.rollback(savepoint);
                context.changes.truncate(changes);
                context.collections.truncate(collections);
                results.push(CommandResult::Rejected(rejection));
            }
        }
    }
    Ok(results)
}

fn evaluate(
    overlay: &mut Overlay<'_>,
    command: &Command,
    context: &mut EntryContext<'_>,
) -> Result<Outcome, StorageError> {
    match command {
        Command::PutCollection { collection, expect } => {
            put_collection(overlay, collection, *expect, context)
        }
        Command::DeleteCollection { collection_id } => {
            context.skip();
            let outcome = delete_collection(overlay, collection_id)?;
            if outcome.is_ok() {
                context.collections.push(collection_id.clone());
            }
            Ok(outcome)
        }
        Command::TruncateCollection { collection_id } => {
            context.skip();
            truncate_collection(overlay, collection_id)
        }
        Command::CheckRecord {
            collection_id,
            record_id,
            expect,
        } => {
            context.skip();
            let current = record(overlay, collection_id, record_id)?;
            Ok(check_record_expect(current.as_ref(), *expect))
        }
        Command::PutRecord {
            collection_id,
            record_id,
            doc_json,
            expect,
        } => put_record(
            overlay,
            collection_id,
            record_id,
            doc_json,
            *expect,
            context,
        ),
        Command::DeleteRecord {
            collection_id,
            record_id,
            expect,
        } => {
            context.skip();
            delete_record(overlay, collection_id, record_id, *expect, context)
        }
        Command::PutSetting { key, value_json } => {
            context.skip();
            put_setting(overlay, key, value_json, context.index);
            Ok(Ok(()))
        }
        Command::PutSettingIf {
            key,
            value_json,
            expect,
        } => {
            context.skip();
            let current = match overlay.get(&keys::setting_version(key))? {
                Some(bytes) => Some(decode_u64(&bytes, "setting version")?),
                None => None,
            };
            let expected = match expect {
                SettingExpect::Unversioned => None,
                SettingExpect::Version(version) => Some(*version),
            };
            if current != expected {
                return Ok(Err(Rejection::SettingVersionMismatch { current }));
            }
            put_setting(overlay, key, value_json, context.index);
            Ok(Ok(()))
        }
        Command::Idempotent {
            stamp,
            answer,
            command,
        } => {
            let kept = crate::idempotency::Keeping {
                index: context.index,
                keys_max: context.limits.idempotency_keys_max,
            };
            crate::idempotency::apply(overlay, stamp, answer, kept, command, |overlay, inner| {
                evaluate(overlay, inner, context)
            })
        }
        Command::Group(_) => Ok(Err(Rejection::GroupNested)),
        // A restore is applied by `StateMachine::apply_restore`, never as part of another
        // command.
        Command::RestoreState { .. } => Ok(Err(Rejection::RestoreNotAlone)),
        Command::PutOutbox { id, entry_json } => {
            context.skip();
            overlay.put(keys::outbox(id), entry_json.as_bytes().to_vec());
            Ok(Ok(()))
        }
        Command::DeleteOutbox { id } => {
            context.skip();
            overlay.delete(keys::outbox(id));
            Ok(Ok(()))
        }
        Command::Batch(commands) => {
            if commands
                .iter()
                .any(|command| matches!(command, Command::Idempotent { .. }))
            {
                return Ok(Err(Rejection::IdempotentInBatch));
            }
            for (position, command) in commands.iter().enumerate() {
                if let Err(reason) = evaluate(overlay, command, context)? {
                    // More than u32::MAX commands cannot fit in one Raft entry.
                    let position = u32::try_from(position).unwrap_or(u32::MAX);
                    return Ok(Err(Rejection::InBatch {
                        position,
                        reason: Box::new(reason),
                    }));
                }
            }
            Ok(Ok(()))
        }
    }
}

/// A setting's value and its version (this entry's index), whichever command wrote it.
fn put_setting(overlay: &mut Overlay<'_>, key: &str, value_json: &str, version: u64) {
    overlay.put(keys::setting(key), value_json.as_bytes().to_vec());
    overlay.put(keys::setting_version(key), encode_u64(version).to_vec());
}

/// Whether a command that may create a record or collection, numbered from `first` (as
/// `EntryContext` numbers them: non-batch commands in order), sits at a position creation
/// order cannot hold.
fn creates_past_order_bound(command: &Command, first: u64) -> bool {
    fn walk(command: &Command, position: &mut u64) -> bool {
        match command {
            Command::Batch(commands) | Command::Group(commands) => {
                return commands.iter().any(|command| walk(command, position));
            }
            Command::Idempotent { command, .. } => return walk(command, position),
            _ => {}
        }
        let at = *position;
        *position += 1;
        at >= CREATE_POSITIONS_MAX && may_create(command)
    }
    let mut position = first;
    walk(command, &mut position)
}

/// Whether applying `command` can take a creation position (`EntryContext::next_created_seq`).
fn may_create(command: &Command) -> bool {
    match command {
        Command::PutCollection { expect, .. } => *expect == CollectionExpect::Absent,
        Command::PutRecord { expect, .. } => *expect == RecordExpect::Absent,
        Command::Batch(commands) | Command::Group(commands) => commands.iter().any(may_create),
        Command::Idempotent { command, .. } => may_create(command),
        Command::DeleteCollection { .. }
        | Command::TruncateCollection { .. }
        | Command::CheckRecord { .. }
        | Command::DeleteRecord { .. }
        | Command::PutSetting { .. }
        | Command::PutSettingIf { .. }
        | Command::PutOutbox { .. }
        | Command::DeleteOutbox { .. }
        | Command::RestoreState { .. } => false,
    }
}

fn collection(overlay: &Overlay<'_>, id: &str) -> Result<Option<CollectionValue>, StorageError> {
    match overlay.get(&keys::collection(id))? {
        Some(bytes) => Ok(Some(decode(&bytes, "collection")?)),
        None => Ok(None),
    }
}

fn record(
    overlay: &Overlay<'_>,
    collection_id: &str,
    record_id: &str,
) -> Result<Option<RecordValue>, StorageError> {
    match overlay.get(&keys::record(collection_id, record_id))? {
        Some(bytes) => Ok(Some(decode_record(&bytes)?)),
        None => Ok(None),
    }
}

fn put_collection(
    overlay: &mut Overlay<'_>,
    doc: &crate::CollectionDoc,
    expect: CollectionExpect,
    context: &mut EntryContext<'_>,
) -> Result<Outcome, StorageError> {
    let current = collection(overlay, &doc.id)?;
    let new_indexes =
        match maintain::collection_indexes(context.compiled, &doc.id, &doc.name, &doc.doc_json) {
            Ok(indexes) => indexes,
            Err(rejection) => {
                context.skip();
                return Ok(Err(rejection));
            }
        };
    let name_key = keys::collection_name(&doc.name);
    let name_owner = match overlay.get(&name_key)? {
        Some(bytes) => Some(decode_string(&bytes, "collection name index")?),
        None => None,
    };
    let created_seq = match expect {
        CollectionExpect::Absent => {
            if current.is_some() {
                return Ok(Err(Rejection::CollectionExists));
            }
            if name_owner.is_some() {
                return Ok(Err(Rejection::CollectionNameTaken));
            }
            let created_seq = context.next_created_seq();
            overlay.put(name_key, doc.id.as_bytes().to_vec());
            overlay.put(
                keys::collection_order(created_seq),
                doc.id.as_bytes().to_vec(),
            );
            created_seq
        }
        CollectionExpect::Version(version) => {
            context.skip();
            let Some(current) = current else {
                return Ok(Err(Rejection::CollectionMissing));
            };
            if current.version != version {
                return Ok(Err(Rejection::VersionMismatch {
                    current: current.version,
                }));
            }
            match name_owner {
                Some(owner) if owner != doc.id => return Ok(Err(Rejection::CollectionNameTaken)),
                Some(_) => {}
                None => {
                    overlay.delete(keys::collection_name(&current.name));
                    overlay.put(name_key, doc.id.as_bytes().to_vec());
                }
            }
            if let Err(rejection) =
                migrate_collection(overlay, doc, &current, &new_indexes, context)?
            {
                return Ok(Err(rejection));
            }
            current.created_seq
        }
    };
    let value = CollectionValue {
        name: doc.name.clone(),
        doc_json: doc.doc_json.clone(),
        version: context.index,
        created_seq,
    };
    overlay.put(keys::collection(&doc.id), encode(&value, "collection")?);
    context.collections.push(doc.id.clone());
    Ok(Ok(()))
}

fn delete_collection(overlay: &mut Overlay<'_>, id: &str) -> Result<Outcome, StorageError> {
    let Some(current) = collection(overlay, id)? else {
        return Ok(Err(Rejection::CollectionMissing));
    };
    overlay.delete(keys::collection(id));
    overlay.delete(keys::collection_name(&current.name));
    overlay.delete(keys::collection_order(current.created_seq));
    delete_all_records(overlay, id)?;
    Ok(Ok(()))
}

/// A collection update's effect on its records and indexes, by field id: a renamed field's
/// values move to the new name and a removed field's values are dropped in every record
/// (whose version becomes this entry's), indexes no longer listed are dropped, and new or
/// changed ones are built over the records (a unique conflict rejects the whole update).
/// Rewriting or indexing more than `limits.migration_records_max` records rejects it before
/// anything is written, so one entry's apply stays bounded.
fn migrate_collection(
    overlay: &mut Overlay<'_>,
    new: &crate::CollectionDoc,
    old: &CollectionValue,
    new_indexes: &[crate::index::CompiledIndex],
    context: &EntryContext<'_>,
) -> Result<Outcome, StorageError> {
    let version = context.index;
    let collection_id = new.id.as_str();
    // The old statements were accepted when written; should one no longer compile, it has
    // no entries worth keeping, and dropping all of them below is correct.
    let old_indexes =
        maintain::collection_indexes(context.compiled, collection_id, &old.name, &old.doc_json)
            .unwrap_or_else(|_| Arc::from([]));
    let (renames, drops) = field_changes(context.compiled, new, old);
    let rewrite = !renames.is_empty() || !drops.is_empty();
    let added: Vec<&crate::index::CompiledIndex> = new_indexes
        .iter()
        .filter(|index| !old_indexes.contains(index))
        .collect();
    if rewrite || !added.is_empty() {
        let records = record_count(overlay, collection_id)?;
        let records_max = context.limits.migration_records_max;
        if records > records_max {
            return Ok(Err(Rejection::MigrationTooLarge {
                records,
                records_max,
            }));
        }
    }
    // Range deletes: bounded work whatever the index holds.
    for index in old_indexes.iter() {
        if !new_indexes.contains(index) {
            maintain::drop_index(overlay, collection_id, index.name());
        }
    }
    if !rewrite && added.is_empty() {
        return Ok(Ok(()));
    }
    // A removed file field's files are no longer named by the record: their entries, and
    // the references that keep their blobs, go with the field.
    let file_fields: Vec<String> = context
        .compiled
        .get(&new.id, &new.name, &new.doc_json)
        .map(|compiled| {
            compiled
                .schema()
                .fields
                .iter()
                .filter(|field| field.type_name == "file")
                .map(|field| field.name.clone())
                .collect()
        })
        .unwrap_or_default();
    let file_fields: Vec<&str> = file_fields.iter().map(String::as_str).collect();
    let prefix = keys::records_prefix(collection_id);
    let stored = overlay.scan_prefix_merged(&prefix)?;
    let mut records: Vec<(String, u64, RecordMap)> = Vec::with_capacity(stored.len());
    for (key, bytes) in stored {
        let record_id = String::from_utf8(key[prefix.len()..].to_vec())
            .map_err(|error| StorageError::corrupt("record key", error))?;
        let value = decode_record(&bytes)?;
        let mut map = maintain::record_map(&value.doc_json);
        if rewrite {
            let moved: Vec<(String, serde_json::Value)> = renames
                .iter()
                .filter_map(|(from, to)| map.remove(from).map(|value| (to.clone(), value)))
                .collect();
            for name in &drops {
                map.remove(name);
            }
            map.extend(moved);
            let old_blobs = file_refs::blobs_of(&map);
            if file_refs::prune_unnamed(&mut map, &file_fields) {
                let new_blobs = file_refs::blobs_of(&map);
                file_refs::replace_refs(overlay, collection_id, &record_id, &old_blobs, &new_blobs);
            }
            let doc_json = serde_json::Value::Object(map.clone()).to_string();
            overlay.put(
                key,
                record_layout::encode(&doc_json, version, value.created_seq)?,
            );
        }
        records.push((record_id, value.created_seq, map));
    }
    for index in added {
        if let Err(rejection) = maintain::build_index(overlay, collection_id, index, &records)? {
            return Ok(Err(rejection));
        }
    }
    Ok(Ok(()))
}

/// Fields renamed (old name, new name) and removed (old name), matched by field id.
fn field_changes(
    compiled: &CompiledCollections,
    new: &crate::CollectionDoc,
    old: &CollectionValue,
) -> (Vec<(String, String)>, Vec<String>) {
    let (Ok(old), Ok(new)) = (
        compiled.get(&new.id, &old.name, &old.doc_json),
        compiled.get(&new.id, &new.name, &new.doc_json),
    ) else {
        return (Vec::new(), Vec::new());
    };
    let (old, new) = (old.schema(), new.schema());
    let mut renames = Vec::new();
    let mut drops = Vec::new();
    for field in old.fields.iter().filter(|field| !field.id.is_empty()) {
        match new.field_by_id(&field.id) {
            Some(kept) if kept.name != field.name => {
                renames.push((field.name.clone(), kept.name.clone()))
            }
            Some(_) => {}
            None => drops.push(field.name.clone()),
        }
    }
    (renames, drops)
}

fn truncate_collection(overlay: &mut Overlay<'_>, id: &str) -> Result<Outcome, StorageError> {
    if collection(overlay, id)?.is_none() {
        return Ok(Err(Rejection::CollectionMissing));
    }
    delete_all_records(overlay, id)?;
    Ok(Ok(()))
}

/// Every record of a collection, with its order keys, count and blob references (range
/// deletes, and one delete per reference).
fn delete_all_records(overlay: &mut Overlay<'_>, id: &str) -> Result<(), StorageError> {
    maintain::drop_all(overlay, id);
    file_refs::drop_collection_refs(overlay, id)?;
    overlay.delete(keys::record_count(id));
    for prefix in [keys::records_prefix(id), keys::record_order_prefix(id)] {
        let end = keys::prefix_end(&prefix);
        overlay.delete_range(prefix, end);
    }
    Ok(())
}

fn record_count(overlay: &Overlay<'_>, collection_id: &str) -> Result<u64, StorageError> {
    match overlay.get(&keys::record_count(collection_id))? {
        Some(bytes) => decode_u64(&bytes, "record count"),
        None => Ok(0),
    }
}

fn check_record_expect(
    current: Option<&RecordValue>,
    expect: RecordExpect,
) -> Result<(), Rejection> {
    match (expect, current) {
        (RecordExpect::Absent, Some(_)) => Err(Rejection::RecordExists),
        (RecordExpect::Absent, None) => Ok(()),
        (RecordExpect::Exists | RecordExpect::Version(_), None) => Err(Rejection::RecordMissing),
        (RecordExpect::Exists, Some(_)) => Ok(()),
        (RecordExpect::Version(version), Some(current)) if current.version != version => {
            Err(Rejection::VersionMismatch {
                current: current.version,
            })
        }
        (RecordExpect::Version(_), Some(_)) => Ok(()),
    }
}

fn put_record(
    overlay: &mut Overlay<'_>,
    collection_id: &str,
    record_id: &str,
    doc_json: &str,
    expect: RecordExpect,
    context: &mut EntryContext<'_>,
) -> Result<Outcome, StorageError> {
    let Some(collection_value) = collection(overlay, collection_id)? else {
        context.skip();
        return Ok(Err(Rejection::CollectionMissing));
    };
    let current = record(overlay, collection_id, record_id)?;
    if let Err(rejection) = check_record_expect(current.as_ref(), expect) {
        context.skip();
        return Ok(Err(rejection));
    }
    let indexes = match maintain::collection_indexes(
        context.compiled,
        collection_id,
        &collection_value.name,
        &collection_value.doc_json,
    ) {
        Ok(indexes) => indexes,
        Err(rejection) => {
            context.skip();
            return Ok(Err(rejection));
        }
    };
    let old_files = current
        .as_ref()
        .is_some_and(|current| file_refs::may_refer_to_blobs(&current.doc_json));
    let new_files = file_refs::may_refer_to_blobs(doc_json);
    if !indexes.is_empty() || old_files || new_files {
        let old = current
            .as_ref()
            .map(|current| maintain::record_map(&current.doc_json));
        let new = maintain::record_map(doc_json);
        let created_seq = current
            .as_ref()
            .map_or_else(|| context.peek_created_seq(), |current| current.created_seq);
        let outcome = maintain::replace_entries(
            overlay,
            collection_id,
            record_id,
            created_seq,
            &indexes,
            old.as_ref(),
            Some(&new),
        )?;
        if let Err(rejection) = outcome {
            context.skip();
            return Ok(Err(rejection));
        }
        let old_blobs = old.as_ref().map(file_refs::blobs_of).unwrap_or_default();
        file_refs::replace_refs(
            overlay,
            collection_id,
            record_id,
            &old_blobs,
            &file_refs::blobs_of(&new),
        );
    }
    let (action, before) = match &current {
        Some(current) => (ChangeAction::Update, Some(current.doc_json.clone())),
        None => (ChangeAction::Create, None),
    };
    let created_seq = match current {
        Some(current) => {
            context.skip();
            current.created_seq
        }
        None => {
            let created_seq = context.next_created_seq();
            overlay.put(
                keys::record_order(collection_id, created_seq, record_id),
                record_id.as_bytes().to_vec(),
            );
            let count = record_count(overlay, collection_id)?;
            overlay.put(
                keys::record_count(collection_id),
                encode_u64(count + 1).to_vec(),
            );
            created_seq
        }
    };
    overlay.put(
        keys::record(collection_id, record_id),
        record_layout::encode(doc_json, context.index, created_seq)?,
    );
    context.changes.push(RecordChange {
        collection_id: collection_id.to_owned(),
        record_id: record_id.to_owned(),
        action,
        before,
        after: Some(doc_json.to_owned()),
    });
    Ok(Ok(()))
}

fn delete_record(
    overlay: &mut Overlay<'_>,
    collection_id: &str,
    record_id: &str,
    expect: RecordExpect,
    context: &mut EntryContext<'_>,
) -> Result<Outcome, StorageError> {
    let compiled = context.compiled;
    let Some(collection_value) = collection(overlay, collection_id)? else {
        return Ok(Err(Rejection::CollectionMissing));
    };
    let current = record(overlay, collection_id, record_id)?;
    if let Err(rejection) = check_record_expect(current.as_ref(), expect) {
        return Ok(Err(rejection));
    }
    let Some(current) = current else {
        // `Absent` and already absent: nothing to delete.
        return Ok(Ok(()));
    };
    // Statements that no longer compile have no entries to remove.
    let indexes = maintain::collection_indexes(
        compiled,
        collection_id,
        &collection_value.name,
        &collection_value.doc_json,
    )
    .unwrap_or_else(|_| Arc::from([]));
    if !indexes.is_empty() || file_refs::may_refer_to_blobs(&current.doc_json) {
        let old = maintain::record_map(&current.doc_json);
        // Removing entries never conflicts.
        let _removed = maintain::replace_entries(
            overlay,
            collection_id,
            record_id,
            current.created_seq,
            &indexes,
            Some(&old),
            None,
        )?;
        file_refs::replace_refs(
            overlay,
            collection_id,
            record_id,
            &file_refs::blobs_of(&old),
            &Default::default(),
        );
    }
    overlay.delete(keys::record(collection_id, record_id));
    overlay.delete(keys::record_order(
        collection_id,
        current.created_seq,
        record_id,
    ));
    let count = record_count(overlay, collection_id)?;
    let count = count
        .checked_sub(1)
        .ok_or_else(|| StorageError::corrupt("record count", "zero while a record exists"))?;
    overlay.put(
        keys::record_count(collection_id),
        encode_u64(count).to_vec(),
    );
    context.changes.push(RecordChange {
        collection_id: collection_id.to_owned(),
        record_id: record_id.to_owned(),
        action: ChangeAction::Delete,
        before: Some(current.doc_json),
        after: None,
    });
    Ok(Ok(()))
}
