//! The unmodified PocketBase JS SDK (npm `pocketbase`, pinned in `tests/conformance/package.json`)
//! drives a real server through `tests/conformance/sdk/auth_flow.mjs`: sign-up, login, refresh,
//! an owner-only rule, and a password change that revokes the old token; and through
//! `files_flow.mjs`: uploads from `FormData`/`Blob`/`File`, `pb.files.getURL`, and a protected
//! file with `pb.files.getToken()`. Each script runs against PocketBase 0.40.6 first (so the
//! script itself is checked), then against EdgeBase. `tus_flow.mjs` (the stock `tus-js-client`
//! resuming a stopped upload) runs against EdgeBase only: PocketBase has no resumable uploads.
//! `realtime_flow.mjs`: subscriptions with options, rule-filtered events, unsubscribing, and
//! (EdgeBase only) a revoked token losing its realtime auth.

use std::time::Duration;

use edgebase_tests::conformance::{Target, TargetKind};
use edgebase_tests::{run_test, NodeScript};

async fn run_script(script: &str, target: &Target) -> anyhow::Result<()> {
    NodeScript {
        script,
        url: target.process.http_url(),
        kind: target.kind.to_string(),
        env: Vec::new(),
    }
    .run(|| target.process.log_tail(40))
    .await
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
