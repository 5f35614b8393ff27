//! HTTPS on the public port (`serve --https`): a certificate from PEM files serves the API
//! and plain HTTP redirects to it; a new pair of files is served without a restart while a
//! broken one is refused; a certificate from a local ACME CA (pebble, validating HTTP-01
//! challenges for real) is served and survives a restart without a new order; and clap
//! refuses flag combinations that cannot work.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_tests::{
    certificates_in, describe_certificate, edgebase_binary, free_addr, presented_chain, run_test,
    wait_until, write_atomically, IssuedPair, Node, NodeSpec, Pebble, TestCa, NODE_START_TIMEOUT,
};
use serde_json::Value;

/// Longest a changed pair of files may take to be served (the node reads them every 2 s).
const RELOAD_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest pebble and the node may take to order, validate and install a certificate.
const ACME_ISSUE_TIMEOUT: Duration = Duration::from_secs(120);

/// A node serving HTTPS with the certificate files under its test dir.
struct FilesNode {
    node: Node,
    https_addr: SocketAddr,
    certificate_file: PathBuf,
    key_file: PathBuf,
}

fn start_with_files(root: &Path, name: &str, pair: &IssuedPair) -> anyhow::Result<FilesNode> {
    let mut spec = NodeSpec::single(root, name)?;
    let tls_dir = root.join(name).join("tls");
    std::fs::create_dir_all(&tls_dir)?;
    let certificate_file = tls_dir.join("server.crt");
    let key_file = tls_dir.join("server.key");
    write_atomically(&certificate_file, &pair.certificate_pem)?;
    write_atomically(&key_file, &pair.key_pem)?;
    let https_addr = free_addr()?;
    spec.extra_args = vec![
        "--https".into(),
        https_addr.to_string(),
        "--tls-cert".into(),
        certificate_file.display().to_string(),
        "--tls-key".into(),
        key_file.display().to_string(),
    ];
    Ok(FilesNode {
        node: Node::start(spec)?,
        https_addr,
        certificate_file,
        key_file,
    })
}

/// A client trusting `root_pem` that reaches every `localhost` URL on 127.0.0.1 (the port
/// stays the URL's) and follows no redirect.
fn client_trusting(root_pem: &str, host: &str) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(root_pem.as_bytes())?)
        .resolve(host, SocketAddr::from(([127, 0, 0, 1], 0)))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(15))
        .build()?)
}

/// The serial of the leaf certificate in `pem`.
fn serial_of(pem: &str) -> anyhow::Result<String> {
    let leaf = certificates_in(pem)?
        .into_iter()
        .next()
        .context("no certificate in the PEM")?;
    Ok(describe_certificate(&leaf)?.serial)
}

/// The serial of the leaf `addr` presents for `server_name`, checked against `root_pem`.
async fn serial_served(
    addr: SocketAddr,
    server_name: &str,
    root_pem: &str,
) -> anyhow::Result<String> {
    let chain = presented_chain(addr, server_name, root_pem).await?;
    let leaf = chain.first().context("an empty chain")?;
    Ok(describe_certificate(leaf)?.serial)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_certificate_files_serves_the_api_and_http_redirects_to_it() {
    run_test(
        "https_files",
        Duration::from_secs(120),
        |context| async move {
            let ca = TestCa::new("EdgeBase HTTPS test CA")?;
            let pair = ca.issue(&["localhost", "one.edgebase.test"], 1)?;
            let FilesNode {
                mut node,
                https_addr,
                ..
            } = start_with_files(context.root(), "files", &pair)?;
            // The harness probes /api/health over plain HTTP: it is not redirected.
            node.wait_healthy(NODE_START_TIMEOUT).await?;
            let client = client_trusting(&ca.certificate_pem(), "localhost")?;
            let https = format!("https://localhost:{}", https_addr.port());
            let plain = format!("http://localhost:{}", node.http_addr().port());

            let health = client.get(format!("{https}/api/health")).send().await?;
            ensure!(
                health.status() == 200,
                "health over HTTPS: {}",
                health.status()
            );
            let body: Value = health.json().await?;
            ensure!(body["code"] == 200, "health body: {body}");

            // The node's router and middleware answer over HTTPS as over HTTP: a superuser
            // route refuses an anonymous caller in PocketBase's envelope, with the index header.
            let collections = client
                .get(format!("{https}/api/collections"))
                .send()
                .await?;
            ensure!(
                collections.status() == 401,
                "anonymous collections list over HTTPS: {}",
                collections.status()
            );
            ensure!(
                collections.headers().contains_key("x-edgebase-index"),
                "no X-Edgebase-Index over HTTPS: {:?}",
                collections.headers()
            );
            let envelope: Value = collections.json().await?;
            ensure!(envelope["status"] == 401, "error envelope: {envelope}");

            let served = serial_served(https_addr, "localhost", &ca.certificate_pem()).await?;
            ensure!(
                served == serial_of(&pair.certificate_pem)?,
                "served serial {served}"
            );

            // Plain HTTP redirects with 308, host, path and query kept, to the HTTPS port.
            let path = "/api/collections/posts/records?page=2&filter=(title%3D%27a%27)";
            let redirected = client.get(format!("{plain}{path}")).send().await?;
            ensure!(
                redirected.status() == 308,
                "HTTP answered {} instead of a redirect",
                redirected.status()
            );
            let location = redirected
                .headers()
                .get("location")
                .context("a redirect without Location")?
                .to_str()?;
            ensure!(
                location == format!("{https}{path}"),
                "redirected to {location}"
            );
            let posted = client
                .post(format!("{plain}/api/collections/users/records"))
                .body("{}")
                .send()
                .await?;
            ensure!(
                posted.status() == 308,
                "a POST over HTTP answered {}",
                posted.status()
            );

            // A client that follows redirects ends up at the API over HTTPS.
            let following = reqwest::Client::builder()
                .use_rustls_tls()
                .add_root_certificate(reqwest::Certificate::from_pem(
                    ca.certificate_pem().as_bytes(),
                )?)
                .resolve("localhost", SocketAddr::from(([127, 0, 0, 1], 0)))
                .timeout(Duration::from_secs(15))
                .build()?;
            let followed = following
                .get(format!("{plain}/api/collections"))
                .send()
                .await?;
            ensure!(
                followed.url().scheme() == "https" && followed.status() == 401,
                "following the redirect reached {} with {}",
                followed.url(),
                followed.status()
            );

            let plain_health = client.get(format!("{plain}/api/health")).send().await?;
            ensure!(
                plain_health.status() == 200,
                "health over HTTP: {}",
                plain_health.status()
            );
            Ok(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_certificate_pair_is_served_without_a_restart_and_a_broken_one_is_refused() {
    run_test(
        "https_swap",
        Duration::from_secs(120),
        |context| async move {
            let ca = TestCa::new("EdgeBase HTTPS test CA")?;
            let ca_pem = ca.certificate_pem();
            let first = ca.issue(&["localhost", "one.edgebase.test"], 1)?;
            let second = ca.issue(&["localhost", "two.edgebase.test"], 2)?;
            let first_serial = serial_of(&first.certificate_pem)?;
            let second_serial = serial_of(&second.certificate_pem)?;
            ensure!(first_serial != second_serial, "rcgen gave equal serials");
            let FilesNode {
                mut node,
                https_addr,
                certificate_file,
                key_file,
            } = start_with_files(context.root(), "swap", &first)?;
            node.wait_healthy(NODE_START_TIMEOUT).await?;
            let pid = node.pid();
            let served = serial_served(https_addr, "localhost", &ca_pem).await?;
            ensure!(served == first_serial, "served {served} at start");

            // Half a renewal: the new certificate beside the old key. It is refused and the
            // first certificate keeps being served.
            write_atomically(&certificate_file, &second.certificate_pem)?;
            let node_ref = &node;
            wait_until(
                "the node refuses the mismatched pair",
                RELOAD_TIMEOUT,
                || async move {
                    Ok(node_ref
                        .log_text()?
                        .contains("the changed TLS certificate files cannot be used")
                        .then_some(()))
                },
            )
            .await?;
            let served = serial_served(https_addr, "localhost", &ca_pem).await?;
            ensure!(
                served == first_serial,
                "served {served} after a broken pair was written"
            );

            // The new key completes the pair: the next handshakes get the new certificate.
            write_atomically(&key_file, &second.key_pem)?;
            let ca_pem = &ca_pem;
            let second_serial = &second_serial;
            wait_until(
                "the new certificate is served",
                RELOAD_TIMEOUT,
                || async move {
                    let served = serial_served(https_addr, "localhost", ca_pem).await?;
                    Ok((&served == second_serial).then_some(()))
                },
            )
            .await?;
            // It is really the new one: its second name verifies.
            let served = serial_served(https_addr, "two.edgebase.test", ca_pem).await?;
            ensure!(&served == second_serial, "served {served} for the new name");
            ensure!(
                node.is_running() && node.pid() == pid,
                "the node restarted or died during the swap"
            );
            let client = client_trusting(ca_pem, "localhost")?;
            let health = client
                .get(format!(
                    "https://localhost:{}/api/health",
                    https_addr.port()
                ))
                .send()
                .await?;
            ensure!(
                health.status() == 200,
                "health after the swap: {}",
                health.status()
            );
            Ok(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_a_local_acme_ca_is_served_and_kept_across_a_restart() {
    run_test(
        "https_acme",
        Duration::from_secs(240),
        |context| async move {
            const DOMAIN: &str = "edgebase.test";
            let mut spec = NodeSpec::single(context.root(), "acme")?;
            // Pebble validates HTTP-01 on the node's HTTP port, as a real CA on port 80.
            let pebble =
                Pebble::start(&context.root().join("pebble"), spec.http_addr.port()).await?;
            let https_addr = free_addr()?;
            spec.extra_args = vec![
                "--https".into(),
                https_addr.to_string(),
                "--acme-domain".into(),
                DOMAIN.into(),
                "--acme-email".into(),
                "ops@edgebase.test".into(),
                "--acme-directory".into(),
                pebble.directory_url().into(),
                "--acme-ca-file".into(),
                pebble.ca_file().display().to_string(),
            ];
            let mut node = Node::start(spec)?;
            node.wait_healthy(NODE_START_TIMEOUT).await?;
            let root_pem = pebble.root_pem().await?;
            let intermediate_pem = pebble.intermediate_pem().await?;

            // The served chain verifies up to pebble's root for the name.
            let root = &root_pem;
            let chain = wait_until(
                "a certificate from pebble",
                ACME_ISSUE_TIMEOUT,
                || async move { Ok(Some(presented_chain(https_addr, DOMAIN, root).await?)) },
            )
            .await?;
            let leaf = describe_certificate(chain.first().context("an empty chain")?)?;
            let intermediate = certificates_in(&intermediate_pem)?
                .into_iter()
                .next()
                .context("pebble has no intermediate")?;
            let intermediate = describe_certificate(&intermediate)?;
            ensure!(
                leaf.issuer == intermediate.subject,
                "the leaf's issuer {} is not pebble's intermediate {}",
                leaf.issuer,
                intermediate.subject
            );
            let client = client_trusting(&root_pem, DOMAIN)?;
            let health = client
                .get(format!("https://{DOMAIN}:{}/api/health", https_addr.port()))
                .send()
                .await?;
            ensure!(
                health.status() == 200,
                "health over HTTPS: {}",
                health.status()
            );

            // A restart serves the cached certificate and orders nothing.
            node.terminate(NODE_START_TIMEOUT).await?;
            node.restart()?;
            node.wait_healthy(NODE_START_TIMEOUT).await?;
            let served = wait_until(
                "the restarted node serves HTTPS",
                NODE_START_TIMEOUT,
                || async move { Ok(Some(serial_served(https_addr, DOMAIN, root).await?)) },
            )
            .await?;
            ensure!(
                served == leaf.serial,
                "after the restart the node serves {served}, not the cached {}",
                leaf.serial
            );
            let log = node.log_text()?;
            let orders = log
                .matches("ordering a certificate from the ACME CA")
                .count();
            ensure!(orders == 1, "{orders} orders across the restart");
            ensure!(
                log.contains("serving the cached ACME certificate"),
                "the restarted node did not use its cached certificate"
            );
            Ok(())
        },
    )
    .await;
}

#[tokio::test]
async fn flag_combinations_that_cannot_work_are_refused() {
    let binary = edgebase_binary().expect("the edgebase binary is built");
    // (flags after `serve`, a piece of the expected error)
    let cases: &[(&[&str], &str)] = &[
        (&["--https", "127.0.0.1:1"], "--tls-cert"),
        (&["--tls-cert", "a.pem", "--tls-key", "b.pem"], "--https"),
        (
            &["--https", "127.0.0.1:1", "--tls-cert", "a.pem"],
            "--tls-key",
        ),
        (
            &["--https", "127.0.0.1:1", "--tls-key", "b.pem"],
            "--tls-cert",
        ),
        (
            &[
                "--https",
                "127.0.0.1:1",
                "--tls-cert",
                "a.pem",
                "--tls-key",
                "b.pem",
                "--acme-domain",
                "example.com",
            ],
            "cannot be used with",
        ),
        (&["--acme-domain", "example.com"], "--https"),
        (
            &["--https", "127.0.0.1:1", "--acme-domain", "*.example.com"],
            "wildcard",
        ),
        (&["--acme-email", "a@example.com"], "--acme-domain"),
    ];
    for (flags, expected) in cases {
        let output = tokio::process::Command::new(&binary)
            .arg("serve")
            .args(*flags)
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(Duration::from_secs(30), output)
            .await
            .expect("a refused command line exits at once")
            .expect("run edgebase");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{flags:?} was not refused: {stderr}"
        );
        assert!(
            stderr.contains(expected),
            "{flags:?}: expected {expected:?} in: {stderr}"
        );
    }
}
