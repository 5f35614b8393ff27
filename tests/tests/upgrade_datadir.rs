//! A data dir written by an earlier release opens with this one and serves every record:
//! `tests/upgrade/v57ef5ea` holds the data dir the release build of commit 57ef5ea wrote
//! (`tests/upgrade/make-datadir.sh`: a base collection with a unique and two plain indexes,
//! 300 creates, 20 updates, 10 deletes, an auth collection) and the records it held. That
//! release stored one write per log entry and index entries without creation sequences; this
//! one must read both. The test lists and fetches every record, queries through each index,
//! then writes over the old data: a new record, an update of an old one, a unique value an
//! old record holds (refused), a login into the old auth collection.

use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_tests::{
    package_dir, run_test, Node, NodeSpec, RawBody, RawClient, NODE_START_TIMEOUT,
};
use serde_json::{json, Value};

const FIXTURE: &str = "upgrade/v57ef5ea";
const EMAIL: &str = "upgrade@example.com";
const PASSWORD: &str = "upgradepass123";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_dir_of_the_previous_release_serves_every_record() {
    run_test(
        "upgrade_datadir",
        Duration::from_secs(300),
        |context| async move {
            let fixture = package_dir().join(FIXTURE);
            let spec = NodeSpec::single(context.root(), "node")?;
            let node_root = spec.data_dir.parent().context("node root")?.to_path_buf();
            let unpacked = std::process::Command::new("tar")
                .arg("-xzf")
                .arg(fixture.join("datadir.tar.gz"))
                .arg("-C")
                .arg(&node_root)
                .status()
                .context("run tar")?;
            ensure!(unpacked.success(), "unpack the fixture: {unpacked}");
            let expected: Vec<Value> =
                serde_json::from_slice(&std::fs::read(fixture.join("expected.json"))?)?;
            ensure!(
                expected.len() == 290,
                "the fixture holds 290 records: {}",
                expected.len()
            );

            let mut node = Node::start(spec)?;
            node.wait_healthy(NODE_START_TIMEOUT).await?;
            let http = RawClient::new(&node.http_url())?;
            let login = http
                .send(
                    "POST",
                    "/api/collections/_superusers/auth-with-password",
                    None,
                    RawBody::Json(json!({"identity": EMAIL, "password": PASSWORD})),
                    &[],
                )
                .await?;
            ensure!(login.status == 200, "superuser login: {}", login.text);
            let token = login
                .json
                .as_ref()
                .and_then(|j| j["token"].as_str())
                .context("token")?
                .to_owned();
            let token = Some(token.as_str());

            // Every record, listed and fetched one by one, as it was.
            let listed = http
                .get(
                    "/api/collections/notes/records?perPage=500&sort=id&fields=id,title,n,tag,done",
                    token,
                )
                .await?;
            ensure!(listed.status == 200, "list: {}", listed.text);
            let items = listed
                .json
                .as_ref()
                .and_then(|j| j["items"].as_array())
                .context("items")?;
            ensure!(
                items == &expected,
                "the listed records are the ones written"
            );
            for record in &expected {
                let id = record["id"].as_str().context("id")?;
                let got = http
                    .get(
                        &format!("/api/collections/notes/records/{id}?fields=id,title,n,tag,done"),
                        token,
                    )
                    .await?;
                ensure!(
                    got.status == 200 && got.json.as_ref() == Some(record),
                    "{id}: {}",
                    got.text
                );
            }

            // Queries through each index give what the records say.
            let by = |pick: &dyn Fn(&Value) -> bool| -> Vec<String> {
                expected
                    .iter()
                    .filter(|r| pick(r))
                    .filter_map(|r| r["id"].as_str().map(str::to_owned))
                    .collect()
            };
            let cases: Vec<(&str, Vec<String>)> = vec![
                ("title='title 150'", by(&|r| r["title"] == "title 150")),
                ("n=7", by(&|r| r["n"] == 7)),
                (
                    "n>=10 && n<13",
                    by(&|r| r["n"].as_f64().is_some_and(|n| (10.0..13.0).contains(&n))),
                ),
                (
                    "tag='red' && n=3",
                    by(&|r| r["tag"] == "red" && r["n"] == 3),
                ),
                (
                    "tag='blue' && done=true",
                    by(&|r| r["tag"] == "blue" && r["done"] == true),
                ),
            ];
            for (filter, mut want) in cases {
                want.sort();
                let url = format!(
                    "/api/collections/notes/records?perPage=500&fields=id&filter={}",
                    urlencode(filter)
                );
                let got = http.get(&url, token).await?;
                ensure!(got.status == 200, "{filter}: {}", got.text);
                let json = got.json.context("json")?;
                let mut ids: Vec<String> = json["items"]
                    .as_array()
                    .context("items")?
                    .iter()
                    .filter_map(|item| item["id"].as_str().map(str::to_owned))
                    .collect();
                ids.sort();
                ensure!(ids == want, "{filter}: {ids:?}, wanted {want:?}");
                ensure!(
                    json["totalItems"] == want.len(),
                    "{filter}: total {}",
                    json["totalItems"]
                );
            }

            // Writing over the old data.
            let created = http
                .send(
                    "POST",
                    "/api/collections/notes/records",
                    token,
                    RawBody::Json(json!({"title": "new one", "n": 7, "tag": "red"})),
                    &[],
                )
                .await?;
            ensure!(created.status == 200, "create: {}", created.text);
            let updated = http
                .send(
                    "PATCH",
                    "/api/collections/notes/records/note00000000100",
                    token,
                    RawBody::Json(json!({"n": 7})),
                    &[],
                )
                .await?;
            ensure!(
                updated.status == 200,
                "update an old record: {}",
                updated.text
            );
            let taken = http
                .send(
                    "POST",
                    "/api/collections/notes/records",
                    token,
                    RawBody::Json(json!({"title": "title 150"})),
                    &[],
                )
                .await?;
            ensure!(
                taken.status == 400,
                "an old record's unique title is taken: {} {}",
                taken.status,
                taken.text
            );
            let sevens = http
                .get(
                    "/api/collections/notes/records?perPage=500&fields=id&filter=n%3D7",
                    token,
                )
                .await?;
            let total = sevens.json.as_ref().map(|j| j["totalItems"].clone());
            let old_sevens = expected.iter().filter(|r| r["n"] == 7).count();
            ensure!(
                total == Some(json!(old_sevens + 2)),
                "n=7 after the writes: {total:?}"
            );
            let member = http
                .send(
                    "POST",
                    "/api/collections/members/auth-with-password",
                    None,
                    RawBody::Json(
                        json!({"identity": "member3@example.com", "password": "memberpass3"}),
                    ),
                    &[],
                )
                .await?;
            ensure!(
                member.status == 200,
                "a member of the old auth collection logs in: {}",
                member.text
            );

            // And it all survives a restart of the new release.
            node.terminate(NODE_START_TIMEOUT).await?;
            node.restart()?;
            node.wait_healthy(NODE_START_TIMEOUT).await?;
            let again = http
                .get("/api/collections/notes/records?perPage=1&fields=id", token)
                .await?;
            let total = again.json.as_ref().map(|j| j["totalItems"].clone());
            ensure!(
                total == Some(json!(291)),
                "records after a restart: {total:?}"
            );
            Ok(())
        },
    )
    .await;
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
