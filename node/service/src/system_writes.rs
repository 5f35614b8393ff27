//! Writes the node makes for itself, past the collections' API rules (a hook's `$app.save`,
//! `$app.delete` and `$app.runInTransaction`). A [`Session`] plans write after write over
//! what the earlier ones will have written ([`Pending`], as a batch request does), so a
//! refusal (a validation error, a missing record) is known when the write is asked for;
//! [`Session::commit`] then proposes every plan as one command, which every replica applies
//! whole or not at all. The commit is made once: when a record a plan relied on changed in
//! between, it answers [`Committed::Stale`] and the caller runs its code again on the
//! fresher state (a hook's writes are planned from what its code decided, so re-planning
//! them without running the code again could write a decision made on old data).

use edgebase_storage::{Command, CommandResult, Rejection};
use serde_json::{Map, Value};

use crate::app::{App, LoadedCollection};
use crate::caller::Caller;
use crate::error::ServiceError;
use crate::precondition::VersionPrecondition;
use crate::record_writes::{decode, too_many_creates, Pending, Planned, Planner, Verdict};
use edgebase_model::record_values::{Document, NO_UPLOADS};

/// `@request.context` of the node's own writes (PocketBase's for writes made by code).
const CONTEXT: &str = "default";
/// Most writes one session may hold.
pub const WRITES_MAX: usize = 1_000;

/// One write the node makes.
#[derive(Debug, Clone)]
pub enum SystemWrite {
    Create {
        collection: LoadedCollection,
        fields: Map<String, Value>,
    },
    /// `fields` are the ones to change (the others stay as stored).
    Update {
        collection: LoadedCollection,
        record_id: String,
        fields: Map<String, Value>,
    },
    Delete {
        collection: LoadedCollection,
        record_id: String,
    },
}

/// How a commit ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// Every write applied, at this log index (nothing to write is `Applied(0)`).
    Applied(u64),
    /// A record a plan relied on changed before the command applied: nothing was written.
    Stale,
    /// The command was wrapped under an `Idempotency-Key` that another attempt used first:
    /// nothing was written (see [`Session::commit_wrapped`]).
    KeyUsed,
}

/// The writes of one piece of code, planned and not yet proposed.
#[derive(Default)]
pub struct Session {
    pending: Pending,
    plans: Vec<Planned>,
}

impl Session {
    /// Plan `write` after the session's earlier writes; the record as it will be stored
    /// (`None` for a delete).
    pub async fn plan(
        &mut self,
        app: &App,
        write: &SystemWrite,
    ) -> Result<Option<Document>, ServiceError> {
        self.plan_if(app, write, None).await
    }

    /// [`Session::plan`], refused with `RefusalKind::PreconditionFailed` when the record an
    /// update or delete changes is not as `precondition` asks (a claim made on the version
    /// its decision read).
    pub async fn plan_if(
        &mut self,
        app: &App,
        write: &SystemWrite,
        precondition: Option<&VersionPrecondition>,
    ) -> Result<Option<Document>, ServiceError> {
        if self.plans.len() >= WRITES_MAX {
            return Err(ServiceError::bad_request(format!(
                "Too many writes in one transaction: at most {WRITES_MAX}."
            )));
        }
        let caller = Caller::system(CONTEXT);
        let planner = Planner {
            app,
            caller: &caller,
            pending: &self.pending,
            uploads: &NO_UPLOADS,
            precondition,
        };
        let (planned, written) = match write {
            SystemWrite::Create { collection, fields } => {
                let planned = planner.create(collection, fields).await?;
                let doc = effect_doc(&planned, &collection.collection.id);
                (planned, doc)
            }
            SystemWrite::Update {
                collection,
                record_id,
                fields,
            } => {
                let planned = planner.update(collection, record_id, fields).await?;
                let doc = effect_doc(&planned, &collection.collection.id);
                (planned, doc)
            }
            SystemWrite::Delete {
                collection,
                record_id,
            } => (planner.delete(collection, record_id).await?, None),
        };
        self.pending.absorb(&planned);
        self.plans.push(planned);
        Ok(written)
    }

    /// A record as the session's writes so far leave it (the stored one when they did not
    /// touch it).
    pub fn current(
        &self,
        app: &App,
        collection_id: &str,
        record_id: &str,
    ) -> Result<Option<Document>, ServiceError> {
        if let Some(pending) = self.pending.get(collection_id, record_id) {
            return Ok(pending.clone());
        }
        app.state()
            .record(collection_id, record_id)?
            .map(|stored| decode(&stored))
            .transpose()
    }

    /// Put `entry` in the hooks' outbox with the last planned write (in the same command).
    pub fn add_outbox_entry(
        &mut self,
        id: &str,
        entry: &crate::hooks_outbox::OutboxEntry,
    ) -> Result<(), ServiceError> {
        let Some(last) = self.plans.last_mut() else {
            return Err(ServiceError::internal("an outbox entry without a write"));
        };
        // A plan's commands are applied as one batch: the entry joins them.
        last.commands.push(crate::hooks_outbox::put(id, entry)?);
        Ok(())
    }

    /// Whether anything was planned.
    pub fn is_empty(&self) -> bool {
        self.plans.is_empty()
    }

    /// Propose every planned write as one command, once.
    pub async fn commit(self, app: &App) -> Result<Committed, ServiceError> {
        self.commit_wrapped(app, |command| command).await
    }

    /// [`Session::commit`], the command passed through `wrap` first (an idempotent write
    /// wraps it under its key with the answer it will give).
    pub async fn commit_wrapped(
        self,
        app: &App,
        wrap: impl FnOnce(Command) -> Command,
    ) -> Result<Committed, ServiceError> {
        let commands: Vec<Command> = self
            .plans
            .iter()
            .flat_map(|plan| plan.commands.iter().cloned())
            .collect();
        let command = match commands.len() {
            0 => return Ok(Committed::Applied(0)),
            1 => commands
                .into_iter()
                .next()
                .unwrap_or(Command::Batch(Vec::new())),
            _ => Command::Batch(commands),
        };
        let outcome = app.propose(wrap(command)).await?;
        match outcome.result {
            CommandResult::Applied { .. } => Ok(Committed::Applied(outcome.index)),
            CommandResult::Rejected(Rejection::IdempotencyKeyUsed { .. }) => Ok(Committed::KeyUsed),
            CommandResult::Rejected(Rejection::InBatch { position, reason }) => {
                let plan = self.plan_at(position as usize).ok_or_else(|| {
                    ServiceError::internal("find the write a batch rejection names")
                })?;
                judge(plan.verdict(&reason))
            }
            CommandResult::Rejected(Rejection::TooManyCreates { commands_max }) => {
                Err(too_many_creates(commands_max))
            }
            CommandResult::Rejected(rejection) => match self.plans.as_slice() {
                [only] => judge(only.verdict(&rejection)),
                _ => {
                    tracing::error!(?rejection, "unexpected rejection of the node's own writes");
                    Err(ServiceError::internal("apply the node's own writes"))
                }
            },
        }
    }

    /// The plan whose commands include the batch's `position`-th.
    fn plan_at(&self, position: usize) -> Option<&Planned> {
        let mut first = 0;
        for plan in &self.plans {
            let count = plan.commands.len();
            if position < first + count {
                return Some(plan);
            }
            first += count;
        }
        None
    }
}

fn judge(verdict: Verdict) -> Result<Committed, ServiceError> {
    match verdict {
        Verdict::Stale => Ok(Committed::Stale),
        Verdict::Failed(error) => Err(error),
    }
}

/// The document a plan writes to the record of `collection_id` it is about.
fn effect_doc(planned: &Planned, collection_id: &str) -> Option<Document> {
    planned
        .effects
        .iter()
        .find(|effect| effect.collection_id == collection_id)
        .and_then(|effect| effect.doc.clone())
}
