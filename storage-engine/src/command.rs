//! Commands replicated through the Raft log, and the results of applying them.
//!
//! A command carries everything apply needs (ids, timestamps, hashes are chosen by the
//! proposing node), so applying it is deterministic on every replica. JSON documents travel
//! as strings because bincode cannot carry `serde_json::Value`.

use serde::{Deserialize, Serialize};

use crate::idempotency::{IdempotencyStamp, StoredAnswer};

/// One replicated state change. Conditions (`expect`) name what the proposer relied on; a
/// failed condition is a deterministic [`Rejection`], never a partial write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Create or replace a collection definition.
    PutCollection {
        collection: CollectionDoc,
        expect: CollectionExpect,
    },
    /// Delete a collection and every record in it.
    DeleteCollection { collection_id: String },
    /// Create or replace one record.
    PutRecord {
        collection_id: String,
        record_id: String,
        doc_json: String,
        expect: RecordExpect,
    },
    /// Delete one record.
    DeleteRecord {
        collection_id: String,
        record_id: String,
        expect: RecordExpect,
    },
    /// Set a cluster-wide setting (a JSON document under a key).
    PutSetting { key: String, value_json: String },
    /// Several commands applied all-or-nothing: if one is rejected, none is written.
    Batch(Vec<Command>),
    /// Delete every record of a collection; the collection stays. (Variants are only ever
    /// added at the end: the log stores them by position.)
    TruncateCollection { collection_id: String },
    /// Write nothing; only check that a record is as the proposer read it (a rule or a
    /// relation the write relied on). Used inside a `Batch` beside the write itself.
    CheckRecord {
        collection_id: String,
        record_id: String,
        expect: RecordExpect,
    },
    /// Set a setting only if it is still at the version the proposer read (so a write
    /// planned on stale state cannot undo a newer one). Supersedes `PutSetting`, which stays
    /// for the entries logs already hold.
    PutSettingIf {
        key: String,
        value_json: String,
        expect: SettingExpect,
    },
    /// Apply `command` at most once for the stamp's key while it lives, keeping `answer` for
    /// retries (see `crate::idempotency`). Never inside a `Batch`; it may hold one.
    Idempotent {
        stamp: IdempotencyStamp,
        answer: StoredAnswer,
        command: Box<Command>,
    },
    /// Independent commands proposed together (a leader packs concurrent writes into one
    /// entry): each applies or is rejected on its own, in order, seeing what the ones before
    /// it wrote; the entry's result has one [`CommandResult`] per command. Never nested and
    /// never inside another command.
    Group(Vec<Command>),
    /// Replace the whole state with a backup's: the snapshot file whose SHA-256 (hex) is
    /// `snapshot_blob`, which the consensus layer hands apply as a file (content-addressed,
    /// so every replica reads the same bytes). This cluster's applied position, membership
    /// and the settings named in `kept_settings` stay as they are. Only ever alone in its
    /// entry: inside another command it is rejected.
    RestoreState {
        snapshot_blob: String,
        kept_settings: Vec<String>,
    },
    /// Put an entry in the hooks' outbox: an after-success hook that must run at least
    /// once for the write it sits beside (in one `Batch`), under an id the proposer chose;
    /// `entry_json` is what running it needs. (Peer protocol 2.)
    PutOutbox { id: String, entry_json: String },
    /// Take an entry out of the outbox once its hook ran (nothing when it is already gone).
    /// (Peer protocol 2.)
    DeleteOutbox { id: String },
}

impl Command {
    /// The records this command puts (creates or replaces), as (collection id, record id).
    pub fn records_put(&self) -> Box<dyn Iterator<Item = (String, String)> + '_> {
        match self {
            Command::PutRecord {
                collection_id,
                record_id,
                ..
            } => Box::new(std::iter::once((collection_id.clone(), record_id.clone()))),
            Command::Batch(commands) | Command::Group(commands) => {
                Box::new(commands.iter().flat_map(Command::records_put))
            }
            Command::Idempotent { command, .. } => command.records_put(),
            _ => Box::new(std::iter::empty()),
        }
    }

    /// How many creation positions this command takes in its entry: one per command that is
    /// not a `Batch` or `Group` (apply orders creates by `index << 16 | position`).
    pub fn positions(&self) -> u64 {
        match self {
            Command::Batch(commands) | Command::Group(commands) => {
                commands.iter().map(Command::positions).sum()
            }
            Command::Idempotent { command, .. } => command.positions(),
            _ => 1,
        }
    }

    /// The first peer protocol version whose nodes can apply this command (the consensus
    /// layer's `wire_version`): a leader proposes it only once every member speaks that
    /// version, so a node of the previous release never meets an entry it cannot read. A
    /// variant added later returns the version it came with; a nested command needs what its
    /// parts need.
    pub fn wire_version(&self) -> u16 {
        match self {
            Command::Batch(commands) | Command::Group(commands) => commands
                .iter()
                .map(Command::wire_version)
                .max()
                .unwrap_or(1),
            Command::Idempotent { command, .. } => command.wire_version(),
            Command::PutCollection { .. }
            | Command::DeleteCollection { .. }
            | Command::PutRecord { .. }
            | Command::DeleteRecord { .. }
            | Command::PutSetting { .. }
            | Command::TruncateCollection { .. }
            | Command::CheckRecord { .. }
            | Command::PutSettingIf { .. }
            | Command::RestoreState { .. } => 1,
            Command::PutOutbox { .. } | Command::DeleteOutbox { .. } => 2,
        }
    }
}

/// A collection definition as stored: its identity plus the whole PocketBase-shaped JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectionDoc {
    pub id: String,
    /// Unique case-insensitively across collections.
    pub name: String,
    pub doc_json: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CollectionExpect {
    /// Neither the id nor the (case-folded) name exists yet.
    Absent,
    /// The collection exists at exactly this version; a rename must not collide.
    Version(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecordExpect {
    /// The record must not exist.
    Absent,
    /// The record must exist, at this exact version.
    Version(u64),
    /// The record must exist, any version.
    Exists,
}

/// The version a setting must be at for `Command::PutSettingIf` to write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SettingExpect {
    /// No version is stored: the setting was never written, or only before versions were
    /// kept.
    Unversioned,
    /// The log index of the setting's last write.
    Version(u64),
}

/// What applying one command did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CommandResult {
    /// Written. `version` is the log index of the entry that wrote it.
    Applied { version: u64 },
    /// A condition failed; nothing was written.
    Rejected(Rejection),
}

/// What applying one entry's command gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EntryResult {
    /// The result of a single command (or of a whole `Batch`).
    One(CommandResult),
    /// One result per command of a [`Command::Group`], in its order.
    Each(Vec<CommandResult>),
}

impl EntryResult {
    /// The single command's result; `None` for a group.
    pub fn into_one(self) -> Option<CommandResult> {
        match self {
            EntryResult::One(result) => Some(result),
            EntryResult::Each(_) => None,
        }
    }
}

/// Why a command was rejected. Deterministic: every replica rejects the same way. (Variants
/// are only ever added at the end: forwarded writes carry them between nodes by position.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Rejection {
    #[error("a collection with this id or name already exists")]
    CollectionExists,
    #[error("another collection has this name")]
    CollectionNameTaken,
    #[error("the collection does not exist")]
    CollectionMissing,
    #[error("the record already exists")]
    RecordExists,
    #[error("the record does not exist")]
    RecordMissing,
    #[error("the version is {current}, not the one expected")]
    VersionMismatch { current: u64 },
    /// In a batch: the command at `position` was rejected for `reason`.
    #[error("command {position} of the batch: {reason}")]
    InBatch {
        position: u32,
        reason: Box<Rejection>,
    },
    /// Another record already holds this record's values in a unique index (named with its
    /// columns); or, on a collection update, existing records violate a new unique index.
    #[error("unique index {index} already holds these values of {columns:?}")]
    UniqueViolation { index: String, columns: Vec<String> },
    /// A collection's index statement cannot be used (unparsable, an unknown column, a
    /// repeated name). `index` is empty when the statement has no readable name.
    #[error("index {index:?} cannot be used: {message}")]
    InvalidIndex { index: String, message: String },
    /// A command that creates a record or collection sits at or past position
    /// `commands_max` among the entry's commands, where creation order
    /// (`index << 16 | position`) cannot hold it.
    #[error(
        "too many commands in one entry to keep creation order: a create must be among its \
         first {commands_max} commands"
    )]
    TooManyCreates { commands_max: u64 },
    /// A collection update would rewrite or index its `records` records (renamed or removed
    /// fields, new or changed indexes), more than one apply may.
    #[error(
        "the collection update would migrate {records} records, more than the {records_max} \
         one update may"
    )]
    MigrationTooLarge { records: u64, records_max: u64 },
    /// A setting is not at the version a `PutSettingIf` expected; `current` is None when no
    /// version is stored.
    #[error("the setting is at version {current:?}, not the one expected")]
    SettingVersionMismatch { current: Option<u64> },
    /// The idempotency key of an `Idempotent` command was used by the write the entry at
    /// `index` applied, and still lives; nothing was written again.
    #[error("the idempotency key was used by the write at index {index}")]
    IdempotencyKeyUsed { index: u64 },
    /// An `Idempotent` command sits inside a `Batch` (only the whole entry can be keyed).
    #[error("an idempotent command cannot be part of a batch")]
    IdempotentInBatch,
    /// A `Group` sits inside another command.
    #[error("a group of commands cannot be nested in another command")]
    GroupNested,
    /// In a `Group`: the command writes a record an earlier command of the same entry wrote,
    /// and both would report the same version for different contents. Nothing was written;
    /// the proposer proposes it again in an entry of its own.
    #[error("the record was written earlier in the same entry")]
    RecordWrittenInEntry,
    /// A `RestoreState` inside another command (it replaces the whole state, so it is
    /// only ever an entry of its own).
    #[error("a state restore cannot be part of another command")]
    RestoreNotAlone,
}
