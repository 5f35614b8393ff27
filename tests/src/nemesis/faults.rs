//! The nemesis itself: a seeded schedule of faults, each injected, held, and healed, with
//! quiet time between them, recorded with when it started and when it was healed.

use std::collections::BTreeSet;
use std::ops::Range;
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::{json, Value};

use super::cluster::NemesisCluster;

/// The faults the schedule draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    /// `kill -9` the leader; restart it at heal.
    KillLeader,
    /// `kill -9` a random node (the learner included).
    KillNode,
    /// SIGSTOP the leader; SIGCONT at heal.
    PauseLeader,
    PauseNode,
    /// Cut the leader off from every other node.
    IsolateLeader,
    /// Cut a random node off (a minority; the learner included).
    IsolateNode,
    /// Drop the leader's packets to the others, not theirs to it.
    OneWayFromLeader,
    /// Drop the others' packets to the leader, not its to them.
    OneWayToLeader,
    /// Isolate and heal a random voter every half second.
    Flapping,
    /// 10 % loss and 30 ms more delay between every pair of nodes.
    LossAndDelay,
    /// Hand leadership to another voter.
    TransferLeader,
    /// Remove a follower voter, wipe its disk, join it again as a learner, promote it.
    ReplaceMember,
    /// Like `ReplaceMember`, with the leader cut off for two seconds half way.
    ReplaceMemberUnderPartition,
    /// Kill a follower, let the log move on (snapshots), restart it and kill it again while
    /// it catches up, then restart it.
    KillDuringCatchUp,
    /// Pause a follower and cut the leader off: no majority anywhere until heal.
    PauseFollowerIsolateLeader,
    /// The leader's disk turns slow: 200 ms before every WAL sync (`--fault-injection`,
    /// SIGUSR1 on and off).
    SlowDiskLeader,
    /// A follower voter's disk turns slow.
    SlowDiskFollower,
}

impl FaultKind {
    pub const ALL: &'static [FaultKind] = &[
        FaultKind::KillLeader,
        FaultKind::KillNode,
        FaultKind::PauseLeader,
        FaultKind::PauseNode,
        FaultKind::IsolateLeader,
        FaultKind::IsolateNode,
        FaultKind::OneWayFromLeader,
        FaultKind::OneWayToLeader,
        FaultKind::Flapping,
        FaultKind::LossAndDelay,
        FaultKind::TransferLeader,
        FaultKind::ReplaceMember,
        FaultKind::ReplaceMemberUnderPartition,
        FaultKind::KillDuringCatchUp,
        FaultKind::PauseFollowerIsolateLeader,
        FaultKind::SlowDiskLeader,
        FaultKind::SlowDiskFollower,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::KillLeader => "kill-leader",
            FaultKind::KillNode => "kill-node",
            FaultKind::PauseLeader => "pause-leader",
            FaultKind::PauseNode => "pause-node",
            FaultKind::IsolateLeader => "isolate-leader",
            FaultKind::IsolateNode => "isolate-node",
            FaultKind::OneWayFromLeader => "one-way-from-leader",
            FaultKind::OneWayToLeader => "one-way-to-leader",
            FaultKind::Flapping => "flapping",
            FaultKind::LossAndDelay => "loss-and-delay",
            FaultKind::TransferLeader => "transfer-leader",
            FaultKind::ReplaceMember => "replace-member",
            FaultKind::ReplaceMemberUnderPartition => "replace-member-under-partition",
            FaultKind::KillDuringCatchUp => "kill-during-catch-up",
            FaultKind::PauseFollowerIsolateLeader => "pause-follower-isolate-leader",
            FaultKind::SlowDiskLeader => "slow-disk-leader",
            FaultKind::SlowDiskFollower => "slow-disk-follower",
        }
    }

    pub fn parse(name: &str) -> Option<FaultKind> {
        FaultKind::ALL
            .iter()
            .copied()
            .find(|kind| kind.name() == name)
    }
}

/// One fault as it happened.
#[derive(Debug, Clone)]
pub struct FaultRecord {
    pub kind: FaultKind,
    /// Which nodes it hit.
    pub detail: String,
    pub started_us: u64,
    pub healed_us: u64,
    /// Why it could not be injected as planned (the run goes on; the report shows it).
    pub error: Option<String>,
}

/// How long faults last and the quiet between them.
#[derive(Debug, Clone)]
pub struct ScheduleConfig {
    pub kinds: Vec<FaultKind>,
    pub hold: Range<Duration>,
    pub quiet: Range<Duration>,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            kinds: FaultKind::ALL.to_vec(),
            hold: Duration::from_secs(2)..Duration::from_secs(6),
            quiet: Duration::from_secs(2)..Duration::from_secs(4),
        }
    }
}

/// What is broken right now, so heal can undo all of it.
#[derive(Default)]
struct Damage {
    killed: BTreeSet<String>,
    paused: BTreeSet<String>,
    /// Removed from the cluster and wiped: they join again as learners and are promoted.
    wiped: BTreeSet<String>,
    /// Slow disks on (SIGUSR1 again turns one off).
    slow_disks: BTreeSet<String>,
    network: bool,
}

/// Inject faults from `config` until `until`, each healed before the next; everything is
/// healed when it returns.
pub async fn run_schedule(
    cluster: &NemesisCluster,
    rng: &mut StdRng,
    config: &ScheduleConfig,
    started: Instant,
    until: Instant,
) -> anyhow::Result<Vec<FaultRecord>> {
    let now_us = || started.elapsed().as_micros() as u64;
    let mut records = Vec::new();
    let mut damage = Damage::default();
    loop {
        let quiet = pick(rng, &config.quiet);
        tokio::time::sleep(quiet).await;
        if Instant::now() + config.hold.start >= until || config.kinds.is_empty() {
            break;
        }
        let kind = *config.kinds.choose(rng).expect("kinds is not empty");
        let hold = pick(rng, &config.hold);
        let started_us = now_us();
        let injected = inject(cluster, rng, kind, hold, &mut damage).await;
        heal(cluster, &mut damage).await?;
        let (detail, error) = match injected {
            Ok(detail) => (detail, None),
            Err(error) => (String::new(), Some(format!("{error:#}"))),
        };
        records.push(FaultRecord {
            kind,
            detail,
            started_us,
            healed_us: now_us(),
            error,
        });
    }
    Ok(records)
}

fn pick(rng: &mut StdRng, range: &Range<Duration>) -> Duration {
    if range.is_empty() {
        return range.start;
    }
    let micros = rng.gen_range(range.start.as_micros() as u64..range.end.as_micros() as u64);
    Duration::from_micros(micros)
}

/// Undo every fault: network, pauses, kills (restarting a node waits until it is healthy).
async fn heal(cluster: &NemesisCluster, damage: &mut Damage) -> anyhow::Result<()> {
    if damage.network {
        cluster.regions.heal().await?;
        damage.network = false;
    }
    for name in std::mem::take(&mut damage.paused) {
        cluster.regions.signal(&name, "CONT").await?;
    }
    for name in std::mem::take(&mut damage.slow_disks) {
        cluster.regions.signal(&name, "USR1").await?;
    }
    for name in std::mem::take(&mut damage.killed) {
        cluster.regions.restart(&name, false, None).await?;
    }
    for name in std::mem::take(&mut damage.wiped) {
        rejoin(cluster, &name).await?;
    }
    Ok(())
}

/// Start wiped node `name` as a learner joining through the leader of the moment, then
/// promote it.
async fn rejoin(cluster: &NemesisCluster, name: &str) -> anyhow::Result<()> {
    let id = cluster.id_of(name)?;
    let others: Vec<String> = cluster
        .names()
        .into_iter()
        .filter(|other| other != name)
        .collect();
    let leader = cluster.leader(&others, Duration::from_secs(20)).await?;
    cluster.regions.restart(name, true, Some(&leader)).await?;
    let leader = cluster.leader(&others, Duration::from_secs(20)).await?;
    cluster
        .admin_call(
            &leader,
            "POST",
            &format!("/api/cluster/members/{id}/promote"),
            Value::Null,
            &[200],
        )
        .await?;
    Ok(())
}

async fn inject(
    cluster: &NemesisCluster,
    rng: &mut StdRng,
    kind: FaultKind,
    hold: Duration,
    damage: &mut Damage,
) -> anyhow::Result<String> {
    let names = cluster.names();
    let leader = cluster.leader(&names, Duration::from_secs(10)).await?;
    let voters = cluster.voters(&leader).await?;
    let followers: Vec<String> = voters
        .iter()
        .filter(|name| **name != leader)
        .cloned()
        .collect();
    let any_node = names.choose(rng).expect("nodes").clone();
    let follower = followers
        .choose(rng)
        .cloned()
        .context("the leader has no follower voter")?;
    let regions = &cluster.regions;
    let detail = match kind {
        FaultKind::KillLeader | FaultKind::KillNode => {
            let victim = if kind == FaultKind::KillLeader {
                &leader
            } else {
                &any_node
            };
            regions.signal(victim, "KILL").await?;
            damage.killed.insert(victim.clone());
            tokio::time::sleep(hold).await;
            victim.clone()
        }
        FaultKind::PauseLeader | FaultKind::PauseNode => {
            let victim = if kind == FaultKind::PauseLeader {
                &leader
            } else {
                &any_node
            };
            regions.signal(victim, "STOP").await?;
            damage.paused.insert(victim.clone());
            tokio::time::sleep(hold).await;
            victim.clone()
        }
        FaultKind::IsolateLeader | FaultKind::IsolateNode => {
            let victim = if kind == FaultKind::IsolateLeader {
                &leader
            } else {
                &any_node
            };
            damage.network = true;
            regions.partition(victim).await?;
            tokio::time::sleep(hold).await;
            victim.clone()
        }
        FaultKind::OneWayFromLeader | FaultKind::OneWayToLeader => {
            damage.network = true;
            for other in names.iter().filter(|name| **name != leader) {
                if kind == FaultKind::OneWayFromLeader {
                    regions.cut(&leader, other, true).await?;
                } else {
                    regions.cut(other, &leader, true).await?;
                }
            }
            tokio::time::sleep(hold).await;
            leader.clone()
        }
        FaultKind::Flapping => {
            let flaps = (hold.as_millis() / 500).max(2);
            damage.network = true;
            for flap in 0..flaps {
                if flap % 2 == 0 {
                    regions.partition(&follower).await?;
                } else {
                    regions.heal().await?;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            format!("{follower} x{flaps}")
        }
        FaultKind::LossAndDelay => {
            damage.network = true;
            regions.set_loss(10.0).await?;
            regions.set_extra_delay(Duration::from_millis(30)).await?;
            tokio::time::sleep(hold).await;
            "10% loss, +30 ms".to_owned()
        }
        FaultKind::TransferLeader => {
            let to = cluster.id_of(&follower)?;
            cluster
                .admin_call(
                    &leader,
                    "POST",
                    "/api/cluster/leader",
                    json!({ "id": to }),
                    &[200],
                )
                .await?;
            format!("{leader} -> {follower}")
        }
        FaultKind::ReplaceMember | FaultKind::ReplaceMemberUnderPartition => {
            let partition = kind == FaultKind::ReplaceMemberUnderPartition;
            replace_member(cluster, &leader, &follower, partition, damage).await?;
            follower.clone()
        }
        FaultKind::KillDuringCatchUp => {
            regions.signal(&follower, "KILL").await?;
            damage.killed.insert(follower.clone());
            tokio::time::sleep(hold).await;
            regions.restart(&follower, false, None).await?;
            let catching_up = Duration::from_millis(rng.gen_range(50..1_500));
            tokio::time::sleep(catching_up).await;
            regions.signal(&follower, "KILL").await?;
            format!(
                "{follower} killed again {} ms after its restart",
                catching_up.as_millis()
            )
        }
        FaultKind::SlowDiskLeader | FaultKind::SlowDiskFollower => {
            let victim = if kind == FaultKind::SlowDiskLeader {
                &leader
            } else {
                &follower
            };
            regions.signal(victim, "USR1").await?;
            damage.slow_disks.insert(victim.clone());
            tokio::time::sleep(hold).await;
            victim.clone()
        }
        FaultKind::PauseFollowerIsolateLeader => {
            regions.signal(&follower, "STOP").await?;
            damage.paused.insert(follower.clone());
            damage.network = true;
            regions.partition(&leader).await?;
            tokio::time::sleep(hold).await;
            format!("{follower} paused, {leader} isolated")
        }
    };
    Ok(detail)
}

/// Remove voter `victim` and wipe it (heal joins it again and promotes it); with
/// `partition`, the leader is cut off for two seconds after the removal.
async fn replace_member(
    cluster: &NemesisCluster,
    leader: &str,
    victim: &str,
    partition: bool,
    damage: &mut Damage,
) -> anyhow::Result<()> {
    let id = cluster.id_of(victim)?;
    let regions = &cluster.regions;
    cluster
        .admin_call(
            leader,
            "DELETE",
            &format!("/api/cluster/members/{id}"),
            Value::Null,
            &[204],
        )
        .await?;
    regions.signal(victim, "KILL").await?;
    regions.wipe(victim).await?;
    damage.wiped.insert(victim.to_owned());
    if partition {
        damage.network = true;
        regions.partition(leader).await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        regions.heal().await?;
    }
    Ok(())
}
