//! The OAuth2 popup login of the unmodified PocketBase JS SDK (`authWithOAuth2({provider})`,
//! `tests/conformance/sdk/oauth2_popup_flow.mjs`) against the test OpenID Connect provider:
//! first against PocketBase 0.40.6 (so the script itself is checked), then against three
//! EdgeBase nodes with the SDK's stream at one node and the provider's redirect landing at
//! another; then Apple's `form_post`, whose user's name is kept by the node the redirect
//! reached and read by the node that finishes the login.

use std::time::Duration;

use edgebase_tests::conformance::{Target, TargetKind};
use edgebase_tests::{run_test, Cluster, NodeScript, OidcProvider, UserSource, NODE_START_TIMEOUT};
use serde_json::json;

const SCRIPT: &str = "oauth2_popup_flow.mjs";
const OIDC_EMAIL: &str = "popup@example.com";
const APPLE_EMAIL: &str = "apple-user@example.com";
const APPLE_NAME: &str = "Ada Lovelace";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_logs_in_through_a_popup_redirect_at_another_node() {
    run_test(
        "oauth2_popup",
        Duration::from_secs(300),
        |context| async move {
            let oidc = OidcProvider::start(json!({
            "sub": "popup-user", "email": OIDC_EMAIL, "email_verified": true, "name": "Popup User"
        }))
        .await?;
            let apple = OidcProvider::start_as_apple(json!({
            "sub": "apple-user", "email": APPLE_EMAIL, "email_verified": "true", "name": APPLE_NAME
        }))
        .await?;
            let oidc_option = oidc
                .provider_option("oidc", UserSource::UserInfo)
                .to_string();

            let pocketbase =
                Target::start(TargetKind::PocketBase, context.root(), "pocketbase").await?;
            NodeScript {
                script: SCRIPT,
                url: pocketbase.process.http_url(),
                kind: TargetKind::PocketBase.to_string(),
                env: vec![
                    ("OIDC_PROVIDER".into(), oidc_option.clone()),
                    ("OIDC_EMAIL".into(), OIDC_EMAIL.into()),
                ],
            }
            .run(|| pocketbase.process.log_tail(40))
            .await?;
            drop(pocketbase);

            let cluster = Cluster::builder(context.root()).size(3).start().await?;
            let ids = cluster.ids();
            cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
            let stream_node = cluster.node(ids[0]);
            let redirect_node = cluster.node(ids[2]);
            NodeScript {
                script: SCRIPT,
                url: stream_node.http_url(),
                kind: TargetKind::EdgeBase.to_string(),
                env: vec![
                    ("REDIRECT_URL".into(), redirect_node.http_url()),
                    ("OIDC_PROVIDER".into(), oidc_option),
                    ("OIDC_EMAIL".into(), OIDC_EMAIL.into()),
                    ("APPLE_PROVIDER".into(), apple.apple_option().to_string()),
                    ("APPLE_EMAIL".into(), APPLE_EMAIL.into()),
                    ("APPLE_NAME".into(), APPLE_NAME.into()),
                ],
            }
            .run(|| cluster.log_tails(40))
            .await?;
            anyhow::ensure!(
                oidc.pkce_failures() == 0 && apple.pkce_failures() == 0,
                "PKCE held"
            );
            Ok(())
        },
    )
    .await;
}
