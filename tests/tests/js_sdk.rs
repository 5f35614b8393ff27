//! The unmodified PocketBase JS SDK (npm `pocketbase`, pinned in `tests/conformance/package.json`)
//! drives a real server through `tests/conformance/sdk/auth_flow.mjs`: sign-up, login, refresh,
//! an owner-only rule, and a password change that revokes the old token; and through
//! `files_flow.mjs`: uploads from `FormData`/`Blob`/`File`, `pb.files.getURL`, and a protected
//! file with `pb.files.getToken()`. Each script runs against PocketBase 0.40.6 first (so the
//! script itself is checked), then against EdgeBase. `tus_flow.mjs` (the stock `tus-js-client`
//! resuming a stopped upload) runs against EdgeBase only: PocketBase has no resumable uploads.
//! `realtime_flow.mjs`: subscriptions with options, rule-filtered events, unsubscribing, and
//! (EdgeBase only) a revoked token losing its realtime auth.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use edgebase_tests::conformance::{Target, TargetKind};
use edgebase_tests::{run_test, SUPERUSER_EMAIL, SUPERUSER_PASSWORD};

/// Longest one script run may take.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

fn conformance_dir() -> PathBuf {
    edgebase_tests::package_dir().join("conformance")
}

async fn run_script(script: &str, target: &Target) -> anyhow::Result<()> {
    let dir = conformance_dir();
    if !dir.join("node_modules/pocketbase").is_dir() {
        bail!(
            "the pocketbase npm package is not installed: run tests/run-all.sh, or `npm install` in {}",
            dir.display()
        );
    }
    let mut command = tokio::process::Command::new("node");
    command
        // Node 20's EventSource, which the SDK's realtime service needs.
        .arg("--experimental-eventsource")
        .arg(dir.join("sdk").join(script))
        .env("TARGET_KIND", target.kind.to_string())
        .current_dir(&dir)
        .env("EDGEBASE_URL", target.process.http_url())
        .env("SUPERUSER_EMAIL", SUPERUSER_EMAIL)
        .env("SUPERUSER_PASSWORD", SUPERUSER_PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command
        .spawn()
        .context("start node (is Node.js installed?)")?;
    let output = tokio::time::timeout(SCRIPT_TIMEOUT, child.wait_with_output())
        .await
        .with_context(|| {
            format!(
                "{script} against {} took longer than {SCRIPT_TIMEOUT:?}",
                target.kind
            )
        })?
        .context("wait for node")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("--- {script} against {}:\n{stdout}{stderr}", target.kind);
    if !output.status.success() {
        bail!(
            "{script} failed against {} ({}):\n{stdout}{stderr}\nserver log:\n{}",
            target.kind,
            output.status,
            target.process.log_tail(40)
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pocketbase_js_sdk_works_unmodified() {
    run_test("js_sdk", Duration::from_secs(300), |context| async move {
        for kind in [TargetKind::PocketBase, TargetKind::EdgeBase] {
            let target = Target::start(kind, context.root(), &kind.to_string()).await?;
            run_script("auth_flow.mjs", &target).await?;
            run_script("files_flow.mjs", &target).await?;
            run_script("realtime_flow.mjs", &target).await?;
            if kind == TargetKind::EdgeBase {
                run_script("tus_flow.mjs", &target).await?;
            }
        }
        Ok(())
    })
    .await
}
