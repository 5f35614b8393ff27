//! A cluster-wide job's claim on a tick: one replicated document per job
//! (`edgebase.cron.<job id>`) naming the last tick claimed, by which node, when, and
//! whether its run finished. A node runs a tick only after its claim is applied (a
//! `PutSettingIf` at the version it read, so of two racing nodes one wins), and marks it
//! done at the claim's version when the run ends. A claim whose run did not finish within
//! the job's lease (its node died or hung) can be taken over for the same tick.

use edgebase_storage::{Command, CommandResult, Rejection, SettingExpect};
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::error::ServiceError;
use crate::system_settings;

/// The key of `job`'s claim document.
pub fn claim_key(job: &str) -> String {
    format!("edgebase.cron.{job}")
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claim {
    /// The scheduler minute (since the epoch) last claimed; 0 when never.
    pub tick: u64,
    pub node: u64,
    /// When the claim was made, by the claiming node's clock.
    pub claimed_ms: i64,
    pub done: bool,
}

/// A claim this node holds: what marks its run done (only while the claim is still this
/// one).
#[derive(Debug, Clone)]
pub struct Held {
    pub job: String,
    pub claim: Claim,
    /// The claim document's version once written (the log index of the claim).
    pub version: u64,
}

impl Held {
    /// The command that marks the run done, refused if another node took the tick over.
    pub fn completion(&self) -> Result<Command, ServiceError> {
        let done = Claim {
            done: true,
            ..self.claim.clone()
        };
        system_settings::write_command(
            &claim_key(&self.job),
            &done,
            SettingExpect::Version(self.version),
        )
    }
}

/// Whether a node should claim `tick` given the stored claim: a later tick than the last
/// one finished; or any tick not yet passed once the unfinished claim's lease ran out (its
/// node died or hung). An unfinished run holds the job, so runs never overlap.
pub fn wants(stored: &Claim, tick: u64, now_ms: i64, lease_ms: i64) -> bool {
    if stored.tick > tick {
        return false;
    }
    if stored.done || stored.tick == 0 {
        return stored.tick < tick;
    }
    now_ms.saturating_sub(stored.claimed_ms) > lease_ms
}

/// Try to claim `tick` of `job` for this node; the claim when this node won it.
pub async fn try_claim(
    app: &App,
    job: &str,
    tick: u64,
    lease_ms: i64,
) -> Result<Option<Held>, ServiceError> {
    let key = claim_key(job);
    let read = system_settings::read::<Claim>(app, &key)?;
    let now_ms = chrono::Utc::now().timestamp_millis();
    if !wants(&read.value, tick, now_ms, lease_ms) {
        return Ok(None);
    }
    let claim = Claim {
        tick,
        node: app.consensus().node_id(),
        claimed_ms: now_ms,
        done: false,
    };
    let outcome = app
        .propose(system_settings::write_command(&key, &claim, read.expect)?)
        .await?;
    match outcome.result {
        CommandResult::Applied { version } => Ok(Some(Held {
            job: job.to_owned(),
            claim,
            version,
        })),
        // Another node claimed it first (or this node's state was behind).
        CommandResult::Rejected(Rejection::SettingVersionMismatch { .. }) => Ok(None),
        CommandResult::Rejected(rejection) => {
            tracing::error!(job, ?rejection, "claim a scheduled job's tick");
            Err(ServiceError::internal("claim a scheduled job's tick"))
        }
    }
}

/// Mark a held claim's run done; false when the tick was taken over meanwhile. A mark that
/// cannot be proposed now (no leader for a moment) is tried again, with growing pauses,
/// for up to `patience`: an unmarked run would be taken over and run again once its lease
/// ran out. A mark whose fate was lost is read back from the claim document.
pub async fn finish(
    app: &App,
    held: &Held,
    patience: std::time::Duration,
) -> Result<bool, ServiceError> {
    let deadline = tokio::time::Instant::now() + patience;
    let mut pause = std::time::Duration::from_millis(100);
    loop {
        match app.propose(held.completion()?).await {
            Ok(outcome) => {
                if matches!(outcome.result, CommandResult::Applied { .. }) {
                    return Ok(true);
                }
                // Refused: either an earlier attempt of this mark applied, or the tick was
                // taken over.
                let stored = system_settings::read::<Claim>(app, &claim_key(&held.job))?.value;
                return Ok(stored.tick == held.claim.tick
                    && stored.node == held.claim.node
                    && stored.claimed_ms == held.claim.claimed_ms
                    && stored.done);
            }
            Err(error) if tokio::time::Instant::now() + pause < deadline => {
                tracing::debug!(job = %held.job, %error, "mark a run done; again");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(std::time::Duration::from_secs(2));
            }
            Err(error) => return Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_ticks_are_wanted() {
        let done = Claim {
            tick: 10,
            node: 1,
            claimed_ms: 1_000,
            done: true,
        };
        assert!(wants(&done, 11, 2_000, 60_000));
        assert!(!wants(&done, 10, 999_999, 60_000));
        assert!(!wants(&done, 9, 2_000, 60_000));
        let running = Claim {
            done: false,
            ..done.clone()
        };
        assert!(!wants(&running, 10, 30_000, 60_000));
        assert!(wants(&running, 10, 70_000, 60_000));
        // A later tick waits for the unfinished run, until its lease runs out.
        assert!(!wants(&running, 11, 30_000, 60_000));
        assert!(wants(&running, 11, 70_000, 60_000));
        assert!(wants(&Claim::default(), 1, 0, 60_000));
    }
}
