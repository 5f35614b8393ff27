//! `cronAdd` jobs on the node's scheduler: the hooks give the scheduler their jobs
//! (`ExtraJobs`), which claims each due tick through the replicated claim document, so a job
//! runs once per tick across the cluster; the node whose claim wins runs the handler here,
//! in a fresh context like every call, with `{id, scheduledAt, node}` as its argument
//! (EdgeBase's addition: PocketBase calls the handler with none).

use chrono::{DateTime, SecondsFormat, Utc};
use edgebase_service::scheduler::ExtraJobs;
use futures::future::BoxFuture;
use serde_json::json;

use crate::Hooks;

impl ExtraJobs for Hooks {
    fn jobs(&self) -> Vec<(String, String)> {
        self.current()
            .registry
            .active_crons()
            .into_iter()
            .map(|cron| (cron.id.clone(), cron.expression.clone()))
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
            hooks.run_cron(&id, run.to_string()).await
        })
    }
}
