//! `cronAdd` jobs on the node's scheduler: the hooks give the scheduler their jobs
//! (`ExtraJobs`), which claims each due tick through the replicated claim document, so a job
//! runs once per tick across the cluster; the node whose claim wins runs the handler here,
//! in a fresh context like every call, with `{id, scheduledAt, node}` as its argument
//! (EdgeBase's addition: PocketBase calls the handler with none).
//!
//! The jobs are the bundle's (registered when its files load) changed by `cronAdd` and
//! `cronRemove` called at run time (in a route, a hook, a job): those changes go to the
//! replicated document `edgebase.hooks.crons`, so every node's scheduler sees the same jobs;
//! they hold for the bundle they were made under (a new deploy or folder starts from its own
//! registrations, as a PocketBase restart does).

use chrono::{DateTime, SecondsFormat, Utc};
use edgebase_model::cron_schedule::CronSchedule;
use edgebase_service::app::App;
use edgebase_service::scheduler::ExtraJobs;
use edgebase_service::system_settings::{self, Change};
use edgebase_service::ServiceError;
use futures::future::BoxFuture;
use rquickjs::{Ctx, Exception, Function, Object};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::natives::NativeEnv;
use crate::registry::Cron;
use crate::Hooks;

/// The replicated document of the jobs changed at run time.
pub const RUNTIME_CRONS_KEY: &str = "edgebase.hooks.crons";
/// Most jobs added at run time.
const RUNTIME_CRONS_MAX: usize = 1_000;
/// Largest handler a job added at run time may have.
const HANDLER_BYTES_MAX: usize = 64 << 10;

/// `cronAdd`/`cronRemove` made at run time, under the bundle whose hash is `bundle`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct RuntimeCrons {
    bundle: String,
    added: Vec<Cron>,
    removed: Vec<String>,
}

impl Hooks {
    /// The jobs in force: the bundle's, with the run-time changes made under it.
    fn crons(&self) -> Vec<Cron> {
        let loaded = self.current();
        let mut jobs: Vec<Cron> = loaded
            .registry
            .active_crons()
            .into_iter()
            .cloned()
            .collect();
        let Some(app) = self.app() else {
            return jobs;
        };
        let runtime = match system_settings::read::<RuntimeCrons>(app, RUNTIME_CRONS_KEY) {
            Ok(read) => read.value,
            Err(error) => {
                tracing::warn!(%error, "read the cron jobs changed at run time");
                return jobs;
            }
        };
        if runtime.bundle != loaded.hash {
            return jobs;
        }
        for added in runtime.added {
            jobs.retain(|job| job.id != added.id);
            jobs.push(added);
        }
        jobs.retain(|job| !runtime.removed.contains(&job.id));
        jobs
    }
}

impl ExtraJobs for Hooks {
    fn jobs(&self) -> Vec<(String, String)> {
        self.crons()
            .into_iter()
            .map(|cron| (cron.id, cron.expression))
            .collect()
    }

    fn run(
        &self,
        id: &str,
        scheduled: Option<DateTime<Utc>>,
    ) -> BoxFuture<'static, Result<(), String>> {
        let hooks = self.clone();
        let id = id.to_owned();
        Box::pin(async move {
            let run = json!({
                "id": id,
                "scheduledAt": scheduled.map(|minute| minute.to_rfc3339_opts(SecondsFormat::Millis, true)),
                "node": hooks.node_id(),
            });
            let Some(cron) = hooks.crons().into_iter().find(|cron| cron.id == id) else {
                return Err(format!("no cron job {id} in the hooks in use"));
            };
            hooks.run_cron(&cron, run.to_string()).await
        })
    }
}

/// `cronAdd` and `cronRemove` at run time (the prelude's; while a file loads, registration
/// takes their place).
pub fn bind<'js>(ctx: &Ctx<'js>, native: &Object<'js>, env: &NativeEnv) -> rquickjs::Result<()> {
    let changes = match (&env.app, &env.hooks, &env.http) {
        (Some(app), Some(hooks), Some((runtime, _))) => {
            Some((app.clone(), hooks.clone(), runtime.clone()))
        }
        _ => None,
    };
    let watchdog = env.watchdog.clone();
    native.set(
        "cronChange",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, change: String| -> rquickjs::Result<()> {
                let Some((app, hooks, runtime)) = &changes else {
                    return Err(Exception::throw_message(
                        &ctx,
                        "cron jobs cannot change here",
                    ));
                };
                let change: CronChange = serde_json::from_str(&change).map_err(|error| {
                    Exception::throw_message(&ctx, &format!("a cron change: {error}"))
                })?;
                change
                    .check()
                    .map_err(|message| Exception::throw_message(&ctx, &message))?;
                let bundle = hooks.current().hash.clone();
                match crate::blocking::wait_within(runtime, &watchdog, change.apply(app, bundle)) {
                    Some(Ok(())) => Ok(()),
                    Some(Err(error)) => Err(Exception::throw_message(&ctx, &error.to_string())),
                    None => Err(Exception::throw_internal(
                        &ctx,
                        "interrupted: the call ran out of time",
                    )),
                }
            },
        )?,
    )?;
    Ok(())
}

/// One run-time change of the jobs.
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
enum CronChange {
    Add(Cron),
    Remove { id: String },
}

impl CronChange {
    fn check(&self) -> Result<(), String> {
        match self {
            CronChange::Add(cron) => {
                CronSchedule::parse(&cron.expression).map_err(|reason| {
                    format!("invalid cron expression {:?}: {reason}", cron.expression)
                })?;
                if cron.handler.len() > HANDLER_BYTES_MAX {
                    return Err(format!(
                        "a cron job's handler may hold at most {HANDLER_BYTES_MAX} bytes"
                    ));
                }
                Ok(())
            }
            CronChange::Remove { .. } => Ok(()),
        }
    }

    /// Write the change to the replicated document, for the bundle `bundle`.
    async fn apply(self, app: &App, bundle: String) -> Result<(), ServiceError> {
        system_settings::update::<RuntimeCrons, ()>(app, RUNTIME_CRONS_KEY, |crons| {
            if crons.bundle != bundle {
                *crons = RuntimeCrons {
                    bundle: bundle.clone(),
                    ..RuntimeCrons::default()
                };
            }
            match &self {
                CronChange::Add(cron) => {
                    crons.removed.retain(|id| *id != cron.id);
                    crons.added.retain(|known| known.id != cron.id);
                    if crons.added.len() >= RUNTIME_CRONS_MAX {
                        return Err(ServiceError::bad_request(format!(
                            "At most {RUNTIME_CRONS_MAX} cron jobs may be added at run time."
                        )));
                    }
                    crons.added.push(cron.clone());
                }
                CronChange::Remove { id } => {
                    crons.added.retain(|known| known.id != *id);
                    if !crons.removed.contains(id) {
                        crons.removed.push(id.clone());
                    }
                }
            }
            Ok(Change::Write(()))
        })
        .await
    }
}
