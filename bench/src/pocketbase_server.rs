//! `PocketbaseServer`: a real PocketBase started by the bench in a temporary directory
//! (`superuser upsert`, then `serve`), killed on drop.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use crate::child_process::{run_to_completion, ChildProcess};
use crate::edgebase_cluster::path_arg;
use crate::ports::free_port;
use crate::wait::wait_http_ok;

const START_TIMEOUT: Duration = Duration::from_secs(60);

pub struct PocketbaseServer {
    process: ChildProcess,
    url: String,
    _root: tempfile::TempDir,
}

impl PocketbaseServer {
    pub async fn start(
        binary: &Path,
        email: &str,
        password: &str,
    ) -> anyhow::Result<PocketbaseServer> {
        PocketbaseServer::start_with_hooks(binary, email, password, None).await
    }

    /// [`Self::start`] with `--hooksDir` when `hooks_dir` is given.
    pub async fn start_with_hooks(
        binary: &Path,
        email: &str,
        password: &str,
        hooks_dir: Option<&Path>,
    ) -> anyhow::Result<PocketbaseServer> {
        let root = tempfile::Builder::new()
            .prefix("pocketbase-bench-")
            .tempdir()
            .context("make a temporary directory")?;
        let data_dir = path_arg(&root.path().join("pb_data"));
        run_to_completion(
            binary,
            &["superuser", "upsert", email, password, "--dir", &data_dir],
        )
        .await?;
        let port = free_port()?;
        let mut args = vec![
            "serve".to_owned(),
            "--http".to_owned(),
            format!("127.0.0.1:{port}"),
            "--dir".to_owned(),
            data_dir,
        ];
        if let Some(hooks_dir) = hooks_dir {
            args.extend(["--hooksDir".to_owned(), path_arg(hooks_dir)]);
        }
        let mut process = ChildProcess::spawn(
            "pocketbase",
            binary,
            &args,
            &root.path().join("pocketbase.log"),
        )?;
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?;
        wait_http_ok(
            &http,
            &format!("{url}/api/health"),
            &mut process,
            START_TIMEOUT,
        )
        .await?;
        Ok(PocketbaseServer {
            process,
            url,
            _root: root,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }

    pub async fn stop(self) {
        self.process.stop().await;
    }
}
