//! `FilteredListPlan` and its run: one EdgeBase node, then PocketBase (never both at once),
//! each given the same seeded `items` collection of `--records` records through batches,
//! then timed on filtered lists; totals of a few sample filters are checked against the
//! dataset itself.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::compare::{SUPERUSER_EMAIL, SUPERUSER_PASSWORD};
use crate::driver::http_client;
use crate::edgebase_cluster::EdgebaseCluster;
use crate::items_client::ItemsClient;
use crate::items_dataset::{Item, ItemsDataset};
use crate::list_load::{run_list_load, ListShape};
use crate::list_query::{category_filter, range_filter, ListQuery, RANGE_WIDTH};
use crate::measurement::Measurement;
use crate::pocketbase_server::PocketbaseServer;

/// Most records one run loads.
pub const RECORDS_MAX: usize = 10_000_000;

#[derive(Debug, Clone)]
pub struct FilteredListPlan {
    pub edgebase_bin: PathBuf,
    pub pocketbase_bin: PathBuf,
    pub records: usize,
    pub seed: u64,
    /// Connection counts each query runs with, in order.
    pub connections: Vec<usize>,
    pub warmup: Duration,
    pub duration: Duration,
    /// Restart the EdgeBase node between the load and the lists.
    pub restart_after_load: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    Edgebase,
    Pocketbase,
}

impl Server {
    pub fn label(self) -> &'static str {
        match self {
            Server::Edgebase => "EdgeBase (1 node)",
            Server::Pocketbase => "PocketBase",
        }
    }
}

/// One timed query at one connection count.
#[derive(Debug, Clone)]
pub struct ListRun {
    pub query: ListQuery,
    pub connections: usize,
    pub measurement: Measurement,
}

/// A filter whose `totalItems` every server must agree on, with the count in the dataset.
#[derive(Debug, Clone)]
pub struct SampleFilter {
    pub filter: String,
    pub expected: i64,
}

/// What one server did.
#[derive(Debug, Clone)]
pub struct ServerResult {
    pub server: Server,
    pub load: Duration,
    /// `totalItems` per sample filter, in the order of `FilteredListResults::samples`.
    pub totals: Vec<i64>,
    pub runs: Vec<ListRun>,
}

#[derive(Debug, Clone)]
pub struct FilteredListResults {
    pub samples: Vec<SampleFilter>,
    pub servers: Vec<ServerResult>,
}

impl FilteredListResults {
    pub fn run_of(&self, server: Server, query: ListQuery, connections: usize) -> Option<&ListRun> {
        self.servers
            .iter()
            .find(|result| result.server == server)?
            .runs
            .iter()
            .find(|run| run.query == query && run.connections == connections)
    }

    /// Whether every server answered the dataset's own count for every sample filter.
    pub fn totals_agree(&self) -> bool {
        self.servers.iter().all(|result| {
            result.totals.len() == self.samples.len()
                && result
                    .totals
                    .iter()
                    .zip(&self.samples)
                    .all(|(total, sample)| *total == sample.expected)
        })
    }
}

pub async fn run(plan: &FilteredListPlan) -> anyhow::Result<FilteredListResults> {
    if plan.records == 0 || plan.records > RECORDS_MAX {
        anyhow::bail!("records must be 1..={RECORDS_MAX}");
    }
    eprintln!(
        "generating {} records from seed {}",
        plan.records, plan.seed
    );
    let dataset = ItemsDataset::generate(plan.seed, plan.records);
    let samples = sample_filters(&dataset.items);
    let mut servers = Vec::new();
    for server in [Server::Edgebase, Server::Pocketbase] {
        eprintln!("starting {}", server.label());
        let result = match server {
            Server::Edgebase => {
                let mut node = EdgebaseCluster::start(
                    &plan.edgebase_bin,
                    1,
                    SUPERUSER_EMAIL,
                    SUPERUSER_PASSWORD,
                )
                .await?;
                let url = node.http_urls()[0].clone();
                let restart = plan.restart_after_load.then_some(&mut node);
                let result = measure_server(plan, server, &url, &dataset, &samples, restart).await;
                node.stop().await;
                result?
            }
            Server::Pocketbase => {
                let pocketbase = PocketbaseServer::start(
                    &plan.pocketbase_bin,
                    SUPERUSER_EMAIL,
                    SUPERUSER_PASSWORD,
                )
                .await?;
                let result =
                    measure_server(plan, server, pocketbase.url(), &dataset, &samples, None).await;
                pocketbase.stop().await;
                result?
            }
        };
        servers.push(result);
    }
    Ok(FilteredListResults { samples, servers })
}

/// Load `dataset` into the server at `url`, check the sample totals, time every query.
async fn measure_server(
    plan: &FilteredListPlan,
    server: Server,
    url: &str,
    dataset: &ItemsDataset,
    samples: &[SampleFilter],
    restart: Option<&mut EdgebaseCluster>,
) -> anyhow::Result<ServerResult> {
    let connections_max = plan.connections.iter().copied().max().unwrap_or(1);
    let http = http_client(connections_max)?;
    let client = ItemsClient::login(http, url, SUPERUSER_EMAIL, SUPERUSER_PASSWORD).await?;
    client.enable_batch().await?;
    client.create_collection().await?;
    let load = client.load(&dataset.items).await?;
    eprintln!(
        "{:<18} loaded {} records in {:.1} s ({:.0} records/s)",
        server.label(),
        dataset.items.len(),
        load.as_secs_f64(),
        dataset.items.len() as f64 / load.as_secs_f64().max(f64::EPSILON)
    );
    if let Some(node) = restart {
        node.kill_node(0).await?;
        node.restart_node(0).await?;
        eprintln!("{:<18} restarted after the load", server.label());
    }
    let mut totals = Vec::with_capacity(samples.len());
    for sample in samples {
        let total = client
            .list(&[
                ("filter", sample.filter.clone()),
                ("perPage", "1".to_owned()),
            ])
            .await?;
        eprintln!(
            "{:<18} totalItems {:>6} (dataset {:>6}) for {}",
            server.label(),
            total,
            sample.expected,
            sample.filter
        );
        totals.push(total);
    }
    let client = Arc::new(client);
    let mut runs = Vec::new();
    for query in ListQuery::ALL {
        for &connections in &plan.connections {
            let shape = ListShape {
                connections,
                warmup: plan.warmup,
                duration: plan.duration,
            };
            let measurement = run_list_load(Arc::clone(&client), query, shape, plan.seed).await?;
            eprintln!(
                "{:<18} {:<45} c={:<3} {}",
                server.label(),
                query.label(),
                connections,
                measurement.summary()
            );
            if let Some(error) = &measurement.first_error {
                eprintln!("  first error: {error}");
            }
            runs.push(ListRun {
                query,
                connections,
                measurement,
            });
        }
    }
    Ok(ServerResult {
        server,
        load,
        totals,
        runs,
    })
}

/// A few filters of each kind with their count in the dataset.
fn sample_filters(items: &[Item]) -> Vec<SampleFilter> {
    let count = |keep: &dyn Fn(&Item) -> bool| -> i64 {
        i64::try_from(items.iter().filter(|item| keep(item)).count()).unwrap_or(i64::MAX)
    };
    let mut samples = Vec::new();
    for category in [0u32, 500, 999] {
        let cat = format!("c{category}");
        samples.push(SampleFilter {
            filter: category_filter(category),
            expected: count(&|item| item.cat == cat),
        });
    }
    for start in [0u64, 500_000] {
        samples.push(SampleFilter {
            filter: range_filter(start),
            expected: count(&|item| item.n >= start && item.n < start + RANGE_WIDTH),
        });
    }
    samples.push(SampleFilter {
        filter: "title~'abc'".to_owned(),
        expected: count(&|item| item.title.contains("abc")),
    });
    samples
}
