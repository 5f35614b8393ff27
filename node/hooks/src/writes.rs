//! The natives under `$app.save`, `$app.delete` and `$app.runInTransaction`. Every write a
//! hook makes belongs to a transaction (a lone save is a transaction of one): each write
//! runs its model hooks around a plan over the transaction's earlier writes (so a
//! validation error throws at the save, as in PocketBase), and the commit proposes every
//! plan as one command. A commit whose conditions went stale writes nothing and says so;
//! the prelude then runs the transaction's function again. Once the command applied here,
//! the after-success hooks of its writes run (or, when it failed, the after-error hooks).

use std::sync::{Arc, Mutex};

use edgebase_service::app::{App, LoadedCollection};
use edgebase_service::error::ServiceError;
use edgebase_service::system_writes::{Committed, Session, SystemWrite};
use edgebase_service::RefusalKind;
use rquickjs::{Ctx, Exception, Function, Object};
use serde::Deserialize;
use serde_json::{json, Map, Value as Json};

use crate::error::HookFailure;
use crate::model::{ModelOutcome, RecordAction};
use crate::natives::{NativeEnv, NextFn};
use crate::Hooks;

/// A write the prelude asks for.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WriteOp {
    collection: String,
    #[serde(default)]
    delete: bool,
    #[serde(default)]
    is_new: bool,
    record: Map<String, Json>,
}

/// A write planned in the open transaction, for its after-hooks.
struct Planned {
    action: RecordAction,
    loaded: LoadedCollection,
    record: Json,
}

#[derive(Default)]
struct Tx {
    session: Session,
    planned: Vec<Planned>,
    /// The outbox entries the writes carry (delivered once the commit applied here).
    outbox: Vec<String>,
}

type TxSlot = Arc<Mutex<Option<Tx>>>;

/// What the natives of a call's writes reach.
#[derive(Clone)]
struct Writes {
    app: App,
    hooks: Hooks,
    runtime: tokio::runtime::Handle,
    tx: TxSlot,
    watchdog: crate::limits::Watchdog,
}

pub fn bind<'js>(ctx: &Ctx<'js>, native: &Object<'js>, env: &NativeEnv) -> rquickjs::Result<()> {
    let writes = match (&env.app, &env.hooks, &env.http) {
        (Some(app), Some(hooks), Some((runtime, _))) => Some(Writes {
            app: app.clone(),
            hooks: hooks.clone(),
            runtime: runtime.clone(),
            tx: TxSlot::default(),
            watchdog: env.watchdog.clone(),
        }),
        _ => None,
    };
    let begin = writes.clone();
    native.set(
        "txBegin",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>| -> rquickjs::Result<()> {
            let writes = need(&ctx, &begin)?;
            let mut tx = lock(&writes.tx);
            if tx.is_some() {
                return Err(Exception::throw_message(
                    &ctx,
                    "a transaction is already open",
                ));
            }
            *tx = Some(Tx::default());
            Ok(())
        })?,
    )?;
    let write = writes.clone();
    native.set(
        "txWrite",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, op: String| -> rquickjs::Result<String> {
                let writes = need(&ctx, &write)?;
                let op: WriteOp = serde_json::from_str(&op).map_err(|error| {
                    Exception::throw_message(&ctx, &format!("a write's record: {error}"))
                })?;
                Ok(writes.write(op).to_string())
            },
        )?,
    )?;
    let commit = writes.clone();
    native.set(
        "txCommit",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>| -> rquickjs::Result<String> {
                let writes = need(&ctx, &commit)?;
                Ok(writes.commit().to_string())
            },
        )?,
    )?;
    native.set(
        "txAbort",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, reason: String| -> rquickjs::Result<()> {
                let writes = need(&ctx, &writes)?;
                writes.abort(HookFailure::internal(reason));
                Ok(())
            },
        )?,
    )?;
    Ok(())
}

impl Writes {
    /// Plan one write in the open transaction, around its model hooks.
    fn write(&self, op: WriteOp) -> Json {
        let loaded = match self.app.collection(&op.collection) {
            Ok(Some(loaded)) => loaded,
            Ok(None) => return failed(HookFailure::not_found()),
            Err(error) => return failed(failure_of_service(error)),
        };
        let action = match (op.delete, op.is_new) {
            (true, _) => RecordAction::Delete,
            (false, true) => RecordAction::Create,
            (false, false) => RecordAction::Update,
        };
        let record_id = op
            .record
            .get("id")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned();
        let save = self.planner(action, loaded.clone(), record_id);
        let hooks = self.hooks.clone();
        let model_loaded = loaded.clone();
        let record = Json::Object(op.record);
        let outcome = self.block_on(async move {
            hooks
                .around_model(action, &model_loaded, record, save)
                .await
        });
        match outcome {
            Some(ModelOutcome::Saved(record)) => {
                if let Some(tx) = lock(&self.tx).as_mut() {
                    tx.planned.push(Planned {
                        action,
                        loaded,
                        record: record.clone(),
                    });
                }
                json!({ "record": record })
            }
            Some(ModelOutcome::Failed(failure)) => failed(failure),
            Some(ModelOutcome::Stopped) => json!({ "stopped": true }),
            None => failed(out_of_time()),
        }
    }

    /// The save a write's model hooks end in: plan it over the transaction so far.
    fn planner(&self, action: RecordAction, loaded: LoadedCollection, record_id: String) -> NextFn {
        let app = self.app.clone();
        let slot = Arc::clone(&self.tx);
        Box::new(move |record: Json| {
            Box::pin(async move {
                let Some(mut tx) = lock(&slot).take() else {
                    return Err(HookFailure::internal("no transaction is open"));
                };
                let planned =
                    plan(&app, &mut tx.session, action, &loaded, &record_id, record).await;
                *lock(&slot) = Some(tx);
                planned
            })
        })
    }

    /// Propose the open transaction's writes; then their after-hooks.
    fn commit(&self) -> Json {
        let Some(tx) = lock(&self.tx).take() else {
            return failed(HookFailure::internal("no transaction is open"));
        };
        let app = self.app.clone();
        let Tx {
            session,
            planned,
            outbox,
        } = tx;
        let committed = self.block_on(async move { session.commit(&app).await });
        let failure = match committed {
            None => out_of_time(),
            Some(Ok(Committed::Applied(index))) => {
                self.after(planned, None);
                let (hooks, app) = (self.hooks.clone(), self.app.clone());
                let _ = self.block_on(async move {
                    for id in outbox {
                        hooks.deliver(&app, &id).await;
                    }
                });
                return json!({ "applied": index });
            }
            // Its writes carry no idempotency key, so only staleness stops them.
            Some(Ok(Committed::Stale | Committed::KeyUsed)) => return json!({ "stale": true }),
            Some(Err(error)) => failure_of_service(error),
        };
        self.after(planned, Some(&failure));
        failed(failure)
    }

    /// Drop the open transaction (its function threw): nothing was proposed.
    fn abort(&self, failure: HookFailure) {
        if let Some(tx) = lock(&self.tx).take() {
            self.after(tx.planned, Some(&failure));
        }
    }

    fn after(&self, planned: Vec<Planned>, error: Option<&HookFailure>) {
        let hooks = self.hooks.clone();
        let error = error.cloned();
        let _ = self.block_on(async move {
            for write in planned {
                hooks
                    .after_model(write.action, &write.loaded, write.record, error.as_ref())
                    .await;
            }
        });
    }

    /// Run `work` on the node's runtime from this worker thread, within the call's time
    /// (`None`: the time ran out, and the call is stopped).
    fn block_on<T>(&self, work: impl std::future::Future<Output = T>) -> Option<T> {
        crate::blocking::wait_within(&self.runtime, &self.watchdog, work)
    }
}

/// Plan `record` (as the hooks left it) as a write of `action` in `session`; the record as
/// it will be stored, as hooks see records.
async fn plan(
    app: &App,
    session: &mut Session,
    action: RecordAction,
    loaded: &LoadedCollection,
    record_id: &str,
    record: Json,
) -> Result<Json, HookFailure> {
    let Json::Object(mut fields) = record else {
        return Err(HookFailure::internal("a record must be an object"));
    };
    let collection_id = loaded.collection.id.clone();
    let write = match action {
        RecordAction::Create => {
            fields.retain(|_, value| !value.is_null());
            SystemWrite::Create {
                collection: loaded.clone(),
                fields,
            }
        }
        RecordAction::Update => {
            // Only what differs from the record as it stands: a password's stored hash or
            // an unchanged token key must not be written back as new values.
            let current = session
                .current(app, &collection_id, record_id)
                .map_err(failure_of_service)?
                .ok_or_else(HookFailure::not_found)?;
            fields.retain(|name, value| name != "id" && current.get(name) != Some(value));
            SystemWrite::Update {
                collection: loaded.clone(),
                record_id: record_id.to_owned(),
                fields,
            }
        }
        RecordAction::Delete => SystemWrite::Delete {
            collection: loaded.clone(),
            record_id: record_id.to_owned(),
        },
    };
    let before = match action {
        RecordAction::Delete => session
            .current(app, &collection_id, record_id)
            .map_err(failure_of_service)?,
        _ => None,
    };
    let written = session
        .plan(app, &write)
        .await
        .map_err(failure_of_service)?;
    let mut doc = written.or(before).unwrap_or_default();
    doc.insert("collectionId".into(), Json::String(collection_id));
    doc.insert(
        "collectionName".into(),
        Json::String(loaded.collection.name.clone()),
    );
    Ok(Json::Object(doc))
}

/// A service refusal as a hook sees it: PocketBase's status, message and field errors.
pub fn failure_of_service(error: ServiceError) -> HookFailure {
    match error {
        ServiceError::Refused {
            kind,
            message,
            data,
        } => HookFailure {
            status: match kind {
                RefusalKind::BadRequest => 400,
                RefusalKind::Unauthorized => 401,
                RefusalKind::Forbidden => 403,
                RefusalKind::NotFound => 404,
                RefusalKind::TooLarge => 413,
                RefusalKind::TooManyRequests => 429,
                RefusalKind::Unavailable => 503,
                RefusalKind::PreconditionFailed => 412,
            },
            message,
            data: serde_json::to_value(data)
                .ok()
                .and_then(|value| value.as_object().cloned())
                .unwrap_or_default(),
            cause: None,
        },
        other => HookFailure::internal(other.to_string()),
    }
}

fn out_of_time() -> HookFailure {
    HookFailure::internal("the call ran out of time in a write")
}

fn failed(failure: HookFailure) -> Json {
    json!({ "failure": failure })
}

fn need<'a, 'js>(ctx: &Ctx<'js>, writes: &'a Option<Writes>) -> rquickjs::Result<&'a Writes> {
    writes
        .as_ref()
        .ok_or_else(|| Exception::throw_message(ctx, "$app writes are not available here"))
}

fn lock(slot: &TxSlot) -> std::sync::MutexGuard<'_, Option<Tx>> {
    slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
