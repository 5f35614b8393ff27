//! Planning record writes: validate the body, check the collection's API rule on this node's
//! state, and build the commands whose conditions name everything the decision relied on
//! (the record's version, the records a rule or a relation read), plus cascades on delete.
//!
//! Planning never writes. A single request proposes its plan as one command; a batch plans
//! request after request over [`Pending`] (what the earlier requests will have written) and
//! proposes all plans as one `Batch`, so every replica applies all of it or none.

use edgebase_model::record_values::text;
use edgebase_model::ValidationCode;
use std::cell::RefCell;
use std::collections::HashMap;

use edgebase_storage::query::{FilterAccess, FilterPart, ListRequest, RecordRead, RuleSubject};
use edgebase_storage::{Command, RecordExpect, Rejection, Rule, StoredRecord};
use edgebase_wire::{Collection, CollectionType, FieldKind};
use serde_json::{json, Map, Value};

use crate::app::{App, LoadedCollection};
use crate::caller::Caller;
use crate::error::{field_error, FieldErrors, ServiceError};
use crate::external_auths;
use crate::precondition::{RecordVersion, VersionPrecondition};
use crate::rules::{self, Gate};
use edgebase_auth::password;
use edgebase_model::auth_record::{self, AuthAccess};
use edgebase_model::fields::file::Uploads;
use edgebase_model::record_values::{self, Document, RecordLookup, WriteContext, Writer};
use edgebase_model::time;

/// Most records one delete may touch through cascades and reference removals.
const CASCADE_RECORDS_MAX: usize = 10_000;
/// Deepest chain of cascading deletes followed.
const CASCADE_DEPTH_MAX: usize = 16;

/// What the earlier requests of a batch will have written: `None` for a deleted record.
#[derive(Debug, Default)]
pub struct Pending {
    records: HashMap<(String, String), Option<Document>>,
}

impl Pending {
    /// What the earlier writes left of a record: `Some(None)` deleted, `None` untouched.
    pub fn get(&self, collection_id: &str, record_id: &str) -> Option<&Option<Document>> {
        self.records
            .get(&(collection_id.to_string(), record_id.to_string()))
    }

    /// Take a plan's effects into account for the requests after it.
    pub fn absorb(&mut self, planned: &Planned) {
        for effect in &planned.effects {
            self.records.insert(
                (effect.collection_id.clone(), effect.record_id.clone()),
                effect.doc.clone(),
            );
        }
    }
}

/// One record a plan writes (`doc`) or deletes (`None`).
#[derive(Debug, Clone)]
pub struct Effect {
    pub collection_id: String,
    pub record_id: String,
    pub doc: Option<Document>,
}

/// The answer a write gives once its commands applied.
#[derive(Debug, Clone)]
pub enum Answer {
    Record(Map<String, Value>),
    NoContent,
}

/// A planned write: its commands (conditions first), its answer and its effects.
#[derive(Debug, Clone)]
pub struct Planned {
    pub commands: Vec<Command>,
    pub answer: Answer,
    pub effects: Vec<Effect>,
    /// The message a rejected write answers with (`Failed to create record.`, ...).
    failed: &'static str,
}

/// Which record write a plan is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    fn failed(self) -> &'static str {
        match self {
            Action::Create => "Failed to create record.",
            Action::Update => "Failed to update record.",
            Action::Delete => "Failed to delete record.",
        }
    }
}

/// The answer when one command would create records past the positions creation order
/// holds (a batch, or a write carrying very many rule checks).
pub fn too_many_creates(commands_max: u64) -> ServiceError {
    ServiceError::bad_request(format!(
        "Too many writes in one request: records can only be created among its first \
         {commands_max} writes."
    ))
}

/// What became of a proposed plan.
pub enum Verdict {
    /// Something it relied on changed between planning and applying: plan again.
    Stale,
    Failed(ServiceError),
}

impl Planned {
    /// The plan's commands as one command.
    pub fn command(&self) -> Command {
        match self.commands.as_slice() {
            [single] => single.clone(),
            _ => Command::Batch(self.commands.clone()),
        }
    }

    /// Judge a rejection of this plan's own commands.
    pub fn verdict(&self, rejection: &Rejection) -> Verdict {
        match rejection {
            Rejection::InBatch { reason, .. } => self.verdict(reason),
            Rejection::UniqueViolation { columns, .. } => {
                let mut data = FieldErrors::new();
                for column in columns {
                    data.insert(
                        column.clone(),
                        field_error(ValidationCode::NotUnique, "Value must be unique.", None),
                    );
                }
                Verdict::Failed(ServiceError::validation(self.failed, data))
            }
            Rejection::RecordExists => {
                let mut data = FieldErrors::new();
                data.insert(
                    "id".into(),
                    field_error(ValidationCode::NotUnique, "Value must be unique.", None),
                );
                Verdict::Failed(ServiceError::validation(self.failed, data))
            }
            Rejection::CollectionMissing => {
                Verdict::Failed(ServiceError::missing_or_invalid_collection())
            }
            Rejection::RecordMissing | Rejection::VersionMismatch { .. } => Verdict::Stale,
            Rejection::TooManyCreates { commands_max } => {
                Verdict::Failed(too_many_creates(*commands_max))
            }
            other => {
                tracing::error!(rejection = ?other, "unexpected rejection of a record write");
                Verdict::Failed(ServiceError::internal("apply a record write"))
            }
        }
    }
}

/// A record as a plan found it, and the condition that says "still as found".
struct Current {
    doc: Document,
    expect: RecordExpect,
}

impl Current {
    fn version(&self) -> RecordVersion {
        match self.expect {
            RecordExpect::Version(version) => RecordVersion::Stored(version),
            _ => RecordVersion::Pending,
        }
    }
}

/// Plans writes for one caller over local state and `pending`.
pub struct Planner<'a> {
    pub app: &'a App,
    pub caller: &'a Caller,
    pub pending: &'a Pending,
    /// Files uploaded with the request, already held as blobs on a majority of voters
    /// (`record_values::NO_UPLOADS` for a JSON body).
    pub uploads: &'a Uploads,
    /// The request's `If-Match`, checked on an update's or delete's record once the rule
    /// admits the caller.
    pub precondition: Option<&'a VersionPrecondition>,
}

/// Relation ids a write refers to, checked against local state (or the batch) and
/// remembered so the write can require them to still exist.
struct RelationLookup<'a> {
    app: &'a App,
    pending: &'a Pending,
    checked: RefCell<Vec<(String, String)>>,
}

impl RecordLookup for RelationLookup<'_> {
    fn record_exists(&self, collection_id: &str, record_id: &str) -> bool {
        if let Some(pending) = self.pending.get(collection_id, record_id) {
            return pending.is_some();
        }
        let exists = matches!(
            self.app.state().record(collection_id, record_id),
            Ok(Some(_))
        );
        if exists {
            self.checked
                .borrow_mut()
                .push((collection_id.to_string(), record_id.to_string()));
        }
        exists
    }
}

impl Planner<'_> {
    fn current(
        &self,
        collection_id: &str,
        record_id: &str,
    ) -> Result<Option<Current>, ServiceError> {
        if let Some(pending) = self.pending.get(collection_id, record_id) {
            return Ok(pending.as_ref().map(|doc| Current {
                doc: doc.clone(),
                expect: RecordExpect::Exists,
            }));
        }
        let Some(stored) = self.app.state().record(collection_id, record_id)? else {
            return Ok(None);
        };
        let doc = decode(&stored)?;
        let expect = RecordExpect::Version(stored.version);
        Ok(Some(Current { doc, expect }))
    }

    /// The request's `If-Match`, on the record the write is conditioned on.
    fn check_precondition(&self, current: &Current) -> Result<(), ServiceError> {
        match self.precondition {
            Some(precondition) if !precondition.admits(current.version()) => {
                Err(ServiceError::precondition_failed())
            }
            _ => Ok(()),
        }
    }

    /// Whether a record exists, counting the batch's earlier writes.
    pub fn exists(&self, collection_id: &str, record_id: &str) -> Result<bool, ServiceError> {
        Ok(self.current(collection_id, record_id)?.is_some())
    }

    /// Check `rule` for this caller on `record`: `Ok(Some(reads))` when allowed (with the
    /// records the rule read), `Ok(None)` when the rule does not match.
    fn rule_allows(
        &self,
        rule: &Rule,
        subject: RuleSubject<'_>,
        body: &Map<String, Value>,
    ) -> Result<Option<Vec<RecordRead>>, ServiceError> {
        if self.caller.is_superuser() {
            return Ok(Some(Vec::new()));
        }
        let filter = match rules::gate(rule)? {
            Gate::SuperusersOnly => return Err(ServiceError::superusers_only()),
            Gate::Everyone => return Ok(Some(Vec::new())),
            Gate::Filter(filter) => filter,
        };
        let filters = [filter];
        let context = self.caller.context(body);
        let check = self.caller.budget().run(|allowance| {
            self.app
                .state()
                .check_record(subject, &filters, &context, allowance)
        })?;
        Ok(check.matched.then_some(check.reads))
    }

    fn write_context<'l>(
        &'l self,
        now: &'l str,
        lookup: &'l RelationLookup<'_>,
        auth_access: AuthAccess,
    ) -> WriteContext<'l> {
        WriteContext {
            now,
            lookup,
            writer: self.writer(),
            auth_access,
            uploads: self.uploads,
            // Settings that cannot be read keep new files on the members: always safe.
            uploads_in_bucket: !self.uploads.is_empty()
                && self
                    .app
                    .settings()
                    .is_ok_and(|settings| settings.s3.enabled),
        }
    }

    /// Whether this caller manages `record` of an auth collection: a superuser, or one the
    /// collection's manageRule admits for it.
    fn auth_access(
        &self,
        loaded: &LoadedCollection,
        subject: RuleSubject<'_>,
        body: &Map<String, Value>,
    ) -> Result<AuthAccess, ServiceError> {
        if self.caller.is_superuser() {
            return Ok(AuthAccess::Manage);
        }
        let manage = &loaded.rules().manage;
        if loaded.collection.kind != CollectionType::Auth || *manage == Rule::SuperusersOnly {
            return Ok(AuthAccess::Own);
        }
        let allowed = self.rule_allows(manage, subject, body)?;
        Ok(if allowed.is_some() {
            AuthAccess::Manage
        } else {
            AuthAccess::Own
        })
    }

    /// The access a create of an auth record has: the manageRule is checked on the record
    /// the body would make.
    fn create_access(
        &self,
        loaded: &LoadedCollection,
        body: &Map<String, Value>,
    ) -> Result<AuthAccess, ServiceError> {
        if self.caller.is_superuser() {
            return Ok(AuthAccess::Manage);
        }
        let collection = &loaded.collection;
        if collection.kind != CollectionType::Auth || loaded.rules().manage == Rule::SuperusersOnly
        {
            return Ok(AuthAccess::Own);
        }
        let lookup = self.lookup();
        let now = time::now_string();
        let probe = record_values::document_for_create(
            collection,
            body,
            &self.write_context(&now, &lookup, AuthAccess::Manage),
        );
        match probe {
            Ok(doc) => {
                let id = text(&doc, "id");
                self.auth_access(loaded, document(&collection.id, &id, &doc), body)
            }
            Err(_) => Ok(AuthAccess::Own),
        }
    }

    fn writer(&self) -> Writer {
        if self.caller.is_superuser() {
            Writer::Superuser
        } else {
            Writer::Client
        }
    }

    pub async fn create(
        &self,
        loaded: &LoadedCollection,
        body: &Map<String, Value>,
    ) -> Result<Planned, ServiceError> {
        let collection = &loaded.collection;
        if !self.caller.is_superuser() && loaded.rules().create == Rule::SuperusersOnly {
            return Err(ServiceError::superusers_only());
        }
        let failed = Action::Create.failed();
        let access = self.create_access(loaded, body)?;
        let (mut doc, related) = self.build(collection, failed, access, |context| {
            record_values::document_for_create(collection, body, context)
        })?;
        hash_passwords(collection, body, self.writer(), &mut doc).await?;
        let record_id = text(&doc, "id");
        let subject = document(&collection.id, &record_id, &doc);
        let Some(reads) = self.rule_allows(&loaded.rules().create, subject, body)? else {
            return Err(ServiceError::bad_request(failed));
        };
        let mut commands = conditions(reads, related, &collection.id, &record_id);
        commands.push(Command::PutRecord {
            collection_id: collection.id.clone(),
            record_id: record_id.clone(),
            doc_json: self.encode(&doc)?,
            expect: RecordExpect::Absent,
        });
        Ok(Planned {
            commands,
            answer: Answer::Record(self.shown(collection, &doc, access)),
            effects: vec![Effect {
                collection_id: collection.id.clone(),
                record_id,
                doc: Some(doc),
            }],
            failed,
        })
    }

    pub async fn update(
        &self,
        loaded: &LoadedCollection,
        record_id: &str,
        body: &Map<String, Value>,
    ) -> Result<Planned, ServiceError> {
        let collection = &loaded.collection;
        let current = self
            .current(&collection.id, record_id)?
            .ok_or_else(ServiceError::not_found)?;
        let Some(reads) = self.rule_allows(
            &loaded.rules().update,
            document(&collection.id, record_id, &current.doc),
            body,
        )?
        else {
            return Err(ServiceError::not_found());
        };
        self.check_precondition(&current)?;
        let failed = Action::Update.failed();
        let access = self.auth_access(
            loaded,
            document(&collection.id, record_id, &current.doc),
            body,
        )?;
        let (mut doc, related) = self.build(collection, failed, access, |context| {
            record_values::document_for_update(collection, &current.doc, body, context)
        })?;
        if let Some(old_password) = auth_record::old_password_to_check(collection, body, access) {
            let stored_hash = current
                .doc
                .get("password")
                .and_then(Value::as_str)
                .map(String::from);
            let matches = password::verify(old_password, stored_hash)
                .await
                .map_err(|error| ServiceError::internal_from("verify an old password", error))?;
            if !matches {
                let mut errors = FieldErrors::new();
                errors.insert("oldPassword".into(), auth_record::invalid_old_password());
                return Err(ServiceError::validation(failed, errors));
            }
        }
        hash_passwords(collection, body, self.writer(), &mut doc).await?;
        let mut commands = conditions(reads, related, &collection.id, record_id);
        commands.push(Command::PutRecord {
            collection_id: collection.id.clone(),
            record_id: record_id.to_string(),
            doc_json: self.encode(&doc)?,
            expect: current.expect,
        });
        Ok(Planned {
            commands,
            answer: Answer::Record(self.shown(collection, &doc, access)),
            effects: vec![Effect {
                collection_id: collection.id.clone(),
                record_id: record_id.to_string(),
                doc: Some(doc),
            }],
            failed,
        })
    }

    pub async fn delete(
        &self,
        loaded: &LoadedCollection,
        record_id: &str,
    ) -> Result<Planned, ServiceError> {
        let collection = &loaded.collection;
        let current = self
            .current(&collection.id, record_id)?
            .ok_or_else(ServiceError::not_found)?;
        let Some(reads) = self.rule_allows(
            &loaded.rules().delete,
            document(&collection.id, record_id, &current.doc),
            &Map::new(),
        )?
        else {
            return Err(ServiceError::not_found());
        };
        self.check_precondition(&current)?;
        let mut commands = conditions(reads, Vec::new(), &collection.id, record_id);
        commands.push(Command::DeleteRecord {
            collection_id: collection.id.clone(),
            record_id: record_id.to_string(),
            expect: current.expect,
        });
        let mut effects = vec![Effect {
            collection_id: collection.id.clone(),
            record_id: record_id.to_string(),
            doc: None,
        }];
        let mut cascade = Cascade {
            planner: self,
            commands: &mut commands,
            effects: &mut effects,
        };
        cascade.references_to(&collection.id, record_id, 0)?;
        if collection.kind == CollectionType::Auth {
            let context = self.caller.context(&Map::new());
            let unlink =
                external_auths::unlink_commands(self.app, &context, &collection.id, record_id);
            commands.extend(unlink?);
        }
        Ok(Planned {
            commands,
            answer: Answer::NoContent,
            effects,
            failed: Action::Delete.failed(),
        })
    }

    /// Build a document with this node's clock and a relation lookup that remembers the
    /// related records it found (they become conditions of the write). Synchronous, so the
    /// lookup never lives across an await.
    fn build(
        &self,
        collection: &Collection,
        failed: &'static str,
        access: AuthAccess,
        document: impl FnOnce(&WriteContext<'_>) -> Result<Document, FieldErrors>,
    ) -> Result<(Document, Vec<(String, String)>), ServiceError> {
        let lookup = self.lookup();
        let now = time::now_string();
        let doc = document(&self.write_context(&now, &lookup, access))
            .map_err(|errors| ServiceError::validation(failed, errors))?;
        let errors = self.app.record_checks().check(&collection.name, &doc);
        if !errors.is_empty() {
            return Err(ServiceError::validation(failed, errors));
        }
        Ok((doc, lookup.checked.into_inner()))
    }

    fn lookup(&self) -> RelationLookup<'_> {
        RelationLookup {
            app: self.app,
            pending: self.pending,
            checked: RefCell::new(Vec::new()),
        }
    }

    fn encode(&self, doc: &Document) -> Result<String, ServiceError> {
        let doc_json = serde_json::to_string(doc)
            .map_err(|source| ServiceError::internal_from("encode a document", source))?;
        let max = self.app.limits().record_bytes_max;
        if doc_json.len() > max {
            return Err(ServiceError::bad_request(format!(
                "The record is larger than the {max} bytes a record may hold."
            )));
        }
        Ok(doc_json)
    }

    /// The written record as the caller sees it; one who manages it sees its email.
    fn shown(
        &self,
        collection: &Collection,
        doc: &Document,
        access: AuthAccess,
    ) -> Map<String, Value> {
        let mut shown = self.caller.shown(collection, doc);
        if access == AuthAccess::Manage && collection.kind == CollectionType::Auth {
            shown = record_values::public_record(collection, doc, self.caller.is_superuser());
        }
        shown
    }
}

/// Deleting a record reaches the records whose relations point at it: PocketBase deletes
/// them too (`cascadeDelete`), or removes the reference, or refuses when the relation is
/// required and would be left empty.
struct Cascade<'p, 'a> {
    planner: &'p Planner<'a>,
    commands: &'p mut Vec<Command>,
    effects: &'p mut Vec<Effect>,
}

impl Cascade<'_, '_> {
    fn already_deleted(&self, collection_id: &str, record_id: &str) -> bool {
        self.effects.iter().any(|effect| {
            effect.doc.is_none()
                && effect.collection_id == collection_id
                && effect.record_id == record_id
        })
    }

    fn references_to(
        &mut self,
        target_collection_id: &str,
        target_id: &str,
        depth: usize,
    ) -> Result<(), ServiceError> {
        if depth >= CASCADE_DEPTH_MAX {
            return Err(ServiceError::bad_request(format!(
                "Failed to delete record: cascading deletes go deeper than {CASCADE_DEPTH_MAX} levels."
            )));
        }
        for loaded in self.planner.app.collections()? {
            let collection = loaded.collection.clone();
            for field in &collection.fields {
                let FieldKind::Relation {
                    collection_id,
                    cascade_delete,
                    ..
                } = &field.kind
                else {
                    continue;
                };
                if collection_id != target_collection_id {
                    continue;
                }
                for referencing in self.referencing(&collection, &field.name, target_id)? {
                    if self.already_deleted(&collection.id, &referencing.id) {
                        continue;
                    }
                    if self.effects.len() >= CASCADE_RECORDS_MAX {
                        return Err(ServiceError::bad_request(format!(
                            "Failed to delete record: it would change more than {CASCADE_RECORDS_MAX} referencing records."
                        )));
                    }
                    let mut doc = decode(&referencing)?;
                    if *cascade_delete {
                        self.commands.push(Command::DeleteRecord {
                            collection_id: collection.id.clone(),
                            record_id: referencing.id.clone(),
                            expect: RecordExpect::Version(referencing.version),
                        });
                        self.effects.push(Effect {
                            collection_id: collection.id.clone(),
                            record_id: referencing.id.clone(),
                            doc: None,
                        });
                        self.references_to(&collection.id, &referencing.id, depth + 1)?;
                        continue;
                    }
                    let remaining = without_reference(doc.get(&field.name), target_id);
                    if field.required && is_empty_relation(&remaining) {
                        return Err(ServiceError::bad_request(
                            "Failed to delete record. Make sure that the record is not part of a required relation reference.",
                        ));
                    }
                    doc.insert(field.name.clone(), remaining);
                    self.commands.push(Command::PutRecord {
                        collection_id: collection.id.clone(),
                        record_id: referencing.id.clone(),
                        doc_json: serde_json::to_string(&doc).map_err(|source| {
                            ServiceError::internal_from("encode a document", source)
                        })?,
                        expect: RecordExpect::Version(referencing.version),
                    });
                    self.effects.push(Effect {
                        collection_id: collection.id.clone(),
                        record_id: referencing.id.clone(),
                        doc: Some(doc),
                    });
                }
            }
        }
        Ok(())
    }

    /// Records of `collection` whose relation `field` holds `target_id`.
    fn referencing(
        &self,
        collection: &Collection,
        field: &str,
        target_id: &str,
    ) -> Result<Vec<StoredRecord>, ServiceError> {
        let expr = crate::expand::references(field, target_id);
        let mut found = Vec::new();
        let page_size = edgebase_storage::RECORDS_PAGE_LIMIT_MAX;
        loop {
            let request = ListRequest {
                offset: found.len() as u64,
                ..ListRequest::matching(
                    collection.id.clone(),
                    vec![FilterPart::new(expr.clone(), FilterAccess::Unrestricted)],
                    page_size,
                    self.planner.caller.context(&Map::new()),
                    0,
                )
            };
            let page = self.planner.caller.budget().run(|allowance| {
                self.planner.app.state().list_records(&ListRequest {
                    records_examined_max: allowance,
                    ..request
                })
            })?;
            let got = page.records.len() as u64;
            found.extend(page.records);
            if got < page_size || found.len() > CASCADE_RECORDS_MAX {
                return Ok(found);
            }
        }
    }
}

fn without_reference(value: Option<&Value>, target_id: &str) -> Value {
    match value {
        Some(Value::Array(items)) => Value::Array(
            items
                .iter()
                .filter(|item| item.as_str() != Some(target_id))
                .cloned()
                .collect(),
        ),
        Some(Value::String(id)) if id == target_id => json!(""),
        Some(other) => other.clone(),
        None => json!(""),
    }
}

fn is_empty_relation(value: &Value) -> bool {
    match value {
        Value::Array(items) => items.is_empty(),
        Value::String(id) => id.is_empty(),
        _ => true,
    }
}

/// The conditions a write carries: the records a rule read must still be at the versions
/// read, and the related records must still exist. The written record itself carries its
/// own condition on the write command.
fn conditions(
    reads: Vec<RecordRead>,
    related: Vec<(String, String)>,
    collection_id: &str,
    record_id: &str,
) -> Vec<Command> {
    let is_self = |c: &str, r: &str| c == collection_id && r == record_id;
    let mut commands: Vec<Command> = Vec::new();
    let mut seen: Vec<(String, String)> = Vec::new();
    for RecordRead {
        collection_id: collection,
        record_id: record,
        version,
    } in reads
    {
        if is_self(&collection, &record) || seen.contains(&(collection.clone(), record.clone())) {
            continue;
        }
        seen.push((collection.clone(), record.clone()));
        commands.push(Command::CheckRecord {
            collection_id: collection,
            record_id: record,
            expect: RecordExpect::Version(version),
        });
    }
    for (collection, record) in related {
        if is_self(&collection, &record) || seen.contains(&(collection.clone(), record.clone())) {
            continue;
        }
        seen.push((collection.clone(), record.clone()));
        commands.push(Command::CheckRecord {
            collection_id: collection,
            record_id: record,
            expect: RecordExpect::Exists,
        });
    }
    commands
}

/// A record's document as the subject of a rule check.
fn document<'a>(collection_id: &'a str, record_id: &'a str, doc: &'a Document) -> RuleSubject<'a> {
    RuleSubject::Document {
        collection_id,
        id: record_id,
        doc,
    }
}

/// Whether `caller` may update (or, `delete`, delete) the record `record_id` as it is
/// (`doc`) under its collection's rule, with `body` as `@request.body`: the check the write
/// itself makes, for code that must run only when it passes (PocketBase checks it before a
/// request's hooks run). A superusers-only rule refuses a non-superuser with its 403.
pub fn rule_admits(
    app: &App,
    caller: &Caller,
    loaded: &LoadedCollection,
    record_id: &str,
    doc: &Document,
    body: &Map<String, Value>,
    delete: bool,
) -> Result<bool, ServiceError> {
    let pending = Pending::default();
    let planner = Planner {
        app,
        caller,
        pending: &pending,
        uploads: &record_values::NO_UPLOADS,
        precondition: None,
    };
    let rule = if delete {
        &loaded.rules().delete
    } else {
        &loaded.rules().update
    };
    let subject = document(&loaded.collection.id, record_id, doc);
    Ok(planner.rule_allows(rule, subject, body)?.is_some())
}

pub fn decode(stored: &StoredRecord) -> Result<Document, ServiceError> {
    serde_json::from_str(&stored.doc_json)
        .map_err(|error| ServiceError::internal_from("decode stored record", error))
}

/// Replace newly given passwords (validated as plain text) by their hashes.
async fn hash_passwords(
    collection: &Collection,
    body: &Map<String, Value>,
    writer: Writer,
    doc: &mut Document,
) -> Result<(), ServiceError> {
    for name in record_values::passwords_to_hash(collection, body, writer) {
        let plain = text(doc, &name);
        let hashed = password::hash(plain)
            .await
            .map_err(|error| ServiceError::internal_from("hash a password field", error))?;
        doc.insert(name, Value::String(hashed));
    }
    Ok(())
}
