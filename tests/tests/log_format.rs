//! `--log-format json`: a real node writes every log line as one JSON object (with its
//! level, target and fields), the start-up lines and the first-run installer link included.

use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_tests::{run_test, wait_until, Node, NodeSpec, NODE_START_TIMEOUT};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_log_lines_are_json_objects() {
    run_test(
        "log_format",
        Duration::from_secs(120),
        |context| async move {
            let mut spec = NodeSpec::single(context.root(), "json")?;
            spec.extra_args = vec!["--log-format".into(), "json".into()];
            let mut node = Node::start(spec)?;
            node.wait_healthy(NODE_START_TIMEOUT).await?;
            let node = &node;
            let lines: Vec<Value> = wait_until(
                "the installer link in the log",
                NODE_START_TIMEOUT,
                || async move {
                    let text = node.log_text()?;
                    let lines = text
                        .lines()
                        // The harness's own marker lines.
                        .filter(|line| !line.starts_with("====="))
                        .map(|line| {
                            serde_json::from_str::<Value>(line)
                                .with_context(|| format!("a log line that is not JSON: {line}"))
                        })
                        .collect::<anyhow::Result<Vec<Value>>>()?;
                    let linked = lines.iter().any(|line| {
                        line["fields"]["url"]
                            .as_str()
                            .is_some_and(|url| url.contains("/_/#/pbinstall/"))
                    });
                    Ok(linked.then_some(lines))
                },
            )
            .await?;
            ensure!(
                lines
                    .iter()
                    .any(|line| line["fields"]["message"] == "EdgeBase is serving"
                        && line["level"] == "INFO"
                        && line["target"].is_string()
                        && line["timestamp"].is_string()),
                "no start-up line in {lines:?}"
            );
            Ok(())
        },
    )
    .await;
}
