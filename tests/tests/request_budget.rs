//! One request's work is bounded as a whole: a list whose expand fans out into a
//! back-relation per record is refused once the list, the expands and their rule checks
//! together examine more records than `--request-records-examined-max`, although each single
//! read stays under it. A request that fits is answered in full, and the node keeps serving.

use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_tests::{run_test, Cluster, RawClient, NODE_START_TIMEOUT};
use serde_json::{json, Value};

/// The bound the node is started with.
const RECORDS_EXAMINED_MAX: u64 = 300;
const POSTS: usize = 20;
/// Comments per post: one back-relation read scans every comment (no index on `post`), so
/// one read examines `POSTS * COMMENTS_PER_POST` = 200 records, under the bound, and a page
/// of every post examines 20 of them, far over it.
const COMMENTS_PER_POST: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expand_fan_out_is_refused_within_the_request_budget() {
    run_test(
        "request_budget",
        Duration::from_secs(180),
        |context| async move {
            let bound = RECORDS_EXAMINED_MAX.to_string();
            let cluster = Cluster::builder(context.root())
                .size(1)
                .extra_args(&["--request-records-examined-max", &bound])
                .start()
                .await?;
            let id = cluster.ids()[0];
            cluster.wait_for_leader(&[id], NODE_START_TIMEOUT).await?;
            let admin = cluster.admin(id).await?;
            let posts = admin
                .collections()
                .create(&json!({
                    "name": "posts", "type": "base", "listRule": "", "viewRule": "",
                    "fields": [{"name": "title", "type": "text"}]
                }))
                .await
                .context("create posts")?;
            admin
                .collections()
                .create(&json!({
                    "name": "comments", "type": "base", "listRule": "", "viewRule": "",
                    "fields": [
                        {"name": "body", "type": "text"},
                        {"name": "post", "type": "relation", "collectionId": posts.id,
                         "maxSelect": 1}
                    ]
                }))
                .await
                .context("create comments")?;
            for post in 0..POSTS {
                let created = admin
                    .records("posts")
                    .create(&json!({"title": format!("post {post}")}))
                    .await
                    .context("create a post")?;
                let post_id = created
                    .get("id")
                    .and_then(Value::as_str)
                    .context("post id")?
                    .to_string();
                for comment in 0..COMMENTS_PER_POST {
                    admin
                        .records("comments")
                        .create(&json!({"body": format!("comment {comment}"), "post": post_id}))
                        .await
                        .context("create a comment")?;
                }
            }

            let raw = RawClient::new(&cluster.node(id).http_url())?;
            let after = [("X-Edgebase-After", admin.last_index().to_string())];
            let get = |path: &'static str| {
                let raw = raw.clone();
                let after = after.clone();
                async move {
                    raw.send("GET", path, None, edgebase_tests::RawBody::None, &after)
                        .await
                }
            };

            let fits =
                get("/api/collections/posts/records?perPage=1&expand=comments_via_post").await?;
            ensure!(fits.status == 200, "a page of one post: {}", fits.text);
            let expanded = fits.json.as_ref().and_then(|body| {
                body["items"][0]["expand"]["comments_via_post"]
                    .as_array()
                    .map(Vec::len)
            });
            ensure!(
                expanded == Some(COMMENTS_PER_POST),
                "one post's comments expanded: {}",
                fits.text
            );

            let fan_out =
                get("/api/collections/posts/records?perPage=50&expand=comments_via_post").await?;
            ensure!(
                fan_out.status == 400,
                "a page of every post with its comments must be refused: {} {}",
                fan_out.status,
                fan_out.text.chars().take(300).collect::<String>()
            );
            let message = fan_out
                .envelope()
                .context("PocketBase's error envelope")?
                .message;
            ensure!(
                message.contains(&format!(
                    "more than {RECORDS_EXAMINED_MAX} records examined"
                )),
                "the refusal names the request's bound: {message}"
            );

            let plain = get("/api/collections/posts/records?perPage=50").await?;
            ensure!(plain.status == 200, "the list alone fits: {}", plain.text);
            let health = get("/api/health").await?;
            ensure!(
                health.status == 200,
                "the node keeps serving: {}",
                health.text
            );
            Ok(())
        },
    )
    .await;
}
