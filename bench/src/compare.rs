//! `compare`: start each system in turn, run every workload against it, stop it, and collect
//! the rows of the report. Only one system runs at a time, so none steals the other's CPU.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::ValueEnum;

use crate::driver::{http_client, Driver};
use crate::edgebase_cluster::EdgebaseCluster;
use crate::etcd_cluster::EtcdCluster;
use crate::etcd_driver::EtcdDriver;
use crate::pocketbase_server::PocketbaseServer;
use crate::records_driver::RecordsDriver;
use crate::result_row::{Placement, ResultRow, Section, System};
use crate::workload::{preload, run_load, LoadShape, Workload};

/// The superuser the bench creates on EdgeBase and PocketBase.
pub const SUPERUSER_EMAIL: &str = "bench@example.com";
pub const SUPERUSER_PASSWORD: &str = "bench-password-123";

/// Concurrent requests used to preload records.
const PRELOAD_PARALLELISM: usize = 16;

/// Most records preloaded for reads.
pub const PRELOAD_MAX: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetKind {
    /// One EdgeBase node.
    Edgebase,
    /// Three EdgeBase nodes (certificates and `--join`).
    EdgebaseCluster,
    /// Real PocketBase.
    Pocketbase,
    /// A three-member etcd cluster through its HTTP/JSON gateway.
    Etcd,
}

/// What a comparison runs.
#[derive(Debug, Clone)]
pub struct ComparePlan {
    pub targets: Vec<TargetKind>,
    pub edgebase_bin: PathBuf,
    pub pocketbase_bin: PathBuf,
    pub etcd_bin: PathBuf,
    pub shape: LoadShape,
    pub sweep_connections: Vec<usize>,
    pub sweep_duration: Duration,
    pub preload: usize,
}

impl ComparePlan {
    fn sweep_shape(&self, connections: usize) -> LoadShape {
        LoadShape {
            connections,
            warmup: self.shape.warmup,
            duration: self.sweep_duration,
        }
    }
}

/// Run the plan; rows come back in the order they were measured.
pub async fn compare(plan: &ComparePlan) -> anyhow::Result<Vec<ResultRow>> {
    if plan.preload == 0 || plan.preload > PRELOAD_MAX {
        anyhow::bail!("preload must be 1..={PRELOAD_MAX}");
    }
    let mut rows = Vec::new();
    for target in &plan.targets {
        match target {
            TargetKind::Edgebase => edgebase_node(plan, &mut rows).await?,
            TargetKind::EdgebaseCluster => edgebase_cluster(plan, &mut rows).await?,
            TargetKind::Pocketbase => pocketbase(plan, &mut rows).await?,
            TargetKind::Etcd => etcd(plan, &mut rows).await?,
        }
    }
    Ok(rows)
}

/// One run, printed as it finishes and added to `rows`.
#[allow(clippy::too_many_arguments)]
async fn measure(
    rows: &mut Vec<ResultRow>,
    section: Section,
    system: System,
    placement: Placement,
    driver: &Arc<Driver>,
    workload: Workload,
    ids: &Arc<Vec<String>>,
    shape: LoadShape,
) -> anyhow::Result<()> {
    let measurement = run_load(Arc::clone(driver), workload, Arc::clone(ids), shape).await?;
    eprintln!(
        "{:<18} {:<12} {:<9} c={:<4} {}",
        system.label(),
        workload.label(),
        placement.label(),
        shape.connections,
        measurement.summary()
    );
    if let Some(error) = &measurement.first_error {
        eprintln!("  first error: {error}");
    }
    rows.push(ResultRow {
        section,
        system,
        workload,
        placement,
        connections: shape.connections,
        measurement,
    });
    Ok(())
}

fn collection_name() -> String {
    format!("bench_{}", std::process::id())
}

async fn edgebase_node(plan: &ComparePlan, rows: &mut Vec<ResultRow>) -> anyhow::Result<()> {
    eprintln!("starting one EdgeBase node");
    let node =
        EdgebaseCluster::start(&plan.edgebase_bin, 1, SUPERUSER_EMAIL, SUPERUSER_PASSWORD).await?;
    let result = records_single(plan, rows, System::EdgebaseNode, &node.http_urls()[0]).await;
    node.stop().await;
    result
}

async fn pocketbase(plan: &ComparePlan, rows: &mut Vec<ResultRow>) -> anyhow::Result<()> {
    eprintln!("starting PocketBase");
    let server =
        PocketbaseServer::start(&plan.pocketbase_bin, SUPERUSER_EMAIL, SUPERUSER_PASSWORD).await?;
    let result = records_single(plan, rows, System::Pocketbase, server.url()).await;
    server.stop().await;
    result
}

/// Create, get and mixed at one server; for EdgeBase also the write sweep.
async fn records_single(
    plan: &ComparePlan,
    rows: &mut Vec<ResultRow>,
    system: System,
    url: &str,
) -> anyhow::Result<()> {
    let connections_max = plan.sweep_connections.iter().copied().max().unwrap_or(1);
    let http = http_client(plan.shape.connections.max(connections_max))?;
    let records = RecordsDriver::create_collection(
        http,
        url,
        SUPERUSER_EMAIL,
        SUPERUSER_PASSWORD,
        &collection_name(),
    )
    .await?;
    let driver = Arc::new(Driver::Records(records));
    let ids = Arc::new(preload(Arc::clone(&driver), plan.preload, PRELOAD_PARALLELISM).await?);
    for workload in [Workload::Create, Workload::Get, Workload::Mixed] {
        let section = Section::Comparison;
        measure(
            rows,
            section,
            system,
            Placement::Single,
            &driver,
            workload,
            &ids,
            plan.shape,
        )
        .await?;
    }
    if system == System::EdgebaseNode {
        for &connections in &plan.sweep_connections {
            let shape = plan.sweep_shape(connections);
            let (section, placement) = (Section::Sweep, Placement::Single);
            measure(
                rows,
                section,
                system,
                placement,
                &driver,
                Workload::Create,
                &ids,
                shape,
            )
            .await?;
        }
    }
    Ok(())
}

async fn edgebase_cluster(plan: &ComparePlan, rows: &mut Vec<ResultRow>) -> anyhow::Result<()> {
    eprintln!("starting three EdgeBase nodes");
    let cluster =
        EdgebaseCluster::start(&plan.edgebase_bin, 3, SUPERUSER_EMAIL, SUPERUSER_PASSWORD).await?;
    let result = edgebase_cluster_runs(plan, rows, &cluster).await;
    cluster.stop().await;
    result
}

async fn edgebase_cluster_runs(
    plan: &ComparePlan,
    rows: &mut Vec<ResultRow>,
    cluster: &EdgebaseCluster,
) -> anyhow::Result<()> {
    let (leader, follower) = cluster.leader_and_follower().await?;
    let connections_max = plan.sweep_connections.iter().copied().max().unwrap_or(1);
    let http = http_client(plan.shape.connections.max(connections_max))?;
    let base = RecordsDriver::create_collection(
        http,
        &leader,
        SUPERUSER_EMAIL,
        SUPERUSER_PASSWORD,
        &collection_name(),
    )
    .await?;
    let at_leader = Arc::new(Driver::Records(base.at(&leader, &leader).await?));
    let follower_records = base.at(&follower, &follower).await?;
    let ids = preload(Arc::clone(&at_leader), plan.preload, PRELOAD_PARALLELISM).await?;
    if let Some(last) = ids.last() {
        follower_records.wait_readable(last).await?;
    }
    let ids = Arc::new(ids);
    let at_follower = Arc::new(Driver::Records(follower_records));
    replicated_runs(
        plan,
        rows,
        System::EdgebaseCluster,
        &at_leader,
        &at_follower,
        &ids,
    )
    .await
}

async fn etcd(plan: &ComparePlan, rows: &mut Vec<ResultRow>) -> anyhow::Result<()> {
    eprintln!("starting three etcd members");
    let cluster = EtcdCluster::start(&plan.etcd_bin, 3).await?;
    let result = etcd_runs(plan, rows, &cluster).await;
    cluster.stop().await;
    result
}

async fn etcd_runs(
    plan: &ComparePlan,
    rows: &mut Vec<ResultRow>,
    cluster: &EtcdCluster,
) -> anyhow::Result<()> {
    let (leader, follower) = cluster.leader_and_follower().await?;
    let connections_max = plan.sweep_connections.iter().copied().max().unwrap_or(1);
    let http = http_client(plan.shape.connections.max(connections_max))?;
    let at_leader = Arc::new(Driver::Etcd(EtcdDriver::new(
        http.clone(),
        &leader,
        &leader,
    )));
    let follower_driver = EtcdDriver::new(http, &follower, &follower);
    let ids = preload(Arc::clone(&at_leader), plan.preload, PRELOAD_PARALLELISM).await?;
    if let Some(last) = ids.last() {
        crate::wait::wait_until(
            "preloaded keys to replicate",
            Duration::from_secs(30),
            || async { Ok(follower_driver.readable(last).await) },
        )
        .await?;
    }
    let ids = Arc::new(ids);
    let at_follower = Arc::new(Driver::Etcd(follower_driver));
    replicated_runs(plan, rows, System::Etcd, &at_leader, &at_follower, &ids).await
}

/// The replicated-system runs shared by the EdgeBase cluster and etcd: the comparison
/// workloads at the leader and a follower, then the write sweep at the leader.
async fn replicated_runs(
    plan: &ComparePlan,
    rows: &mut Vec<ResultRow>,
    system: System,
    at_leader: &Arc<Driver>,
    at_follower: &Arc<Driver>,
    ids: &Arc<Vec<String>>,
) -> anyhow::Result<()> {
    let runs = [
        (Workload::Create, Placement::Leader, at_leader),
        (Workload::Create, Placement::Follower, at_follower),
        (Workload::Get, Placement::Follower, at_follower),
        (Workload::Mixed, Placement::Follower, at_follower),
    ];
    for (workload, placement, driver) in runs {
        measure(
            rows,
            Section::Comparison,
            system,
            placement,
            driver,
            workload,
            ids,
            plan.shape,
        )
        .await?;
    }
    for &connections in &plan.sweep_connections {
        measure(
            rows,
            Section::Sweep,
            system,
            Placement::Leader,
            at_leader,
            Workload::Create,
            ids,
            plan.sweep_shape(connections),
        )
        .await?;
    }
    Ok(())
}
