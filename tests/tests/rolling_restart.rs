//! A rolling restart of a three-node cluster, as an operator or Kubernetes does one: each
//! node in turn gets SIGTERM, exits cleanly, is started again and waited for until
//! `/api/health/ready` says so, while the Rust SDK (given every node) writes and reads back
//! in a loop. Not one request fails, the leader's stop hands leadership over instead of
//! leaving the cluster to time out, and every acknowledged write is on every node after
//! (`edgebase_tests::rolling`).

use std::time::Duration;

use edgebase_tests::rolling::{rolling_restart, RestartWith};
use edgebase_tests::{run_test, Cluster};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_fails_no_request() {
    run_test(
        "rolling_restart",
        Duration::from_secs(600),
        |context| async move {
            let mut cluster = Cluster::builder(context.root()).size(3).start().await?;
            rolling_restart(&mut cluster, RestartWith::SameBinary).await?;
            Ok(())
        },
    )
    .await;
}
