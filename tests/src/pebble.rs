//! A local ACME CA for the HTTPS tests: Debian's `pebble` (Let's Encrypt's test server,
//! installed by `tests/run-all.sh`) with `pebble-challtestsrv` as its DNS server, which
//! answers every name with 127.0.0.1, so pebble validates HTTP-01 challenges against a node
//! on loopback without touching `/etc/hosts`. Both run on free ports, log to `server.log`
//! files under the test dir, and are killed when dropped.
//!
//! Pebble validates for real (no `PEBBLE_VA_ALWAYS_VALID`); `PEBBLE_VA_NOSLEEP=1` only skips
//! its random pause before validating.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, ensure, Context};
use tokio::process::{Child, Command};

use crate::{free_addr, wait_until, TestCa};

/// How long pebble may take to answer its directory.
const START_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Pebble {
    pebble: Child,
    dns: Child,
    directory_url: String,
    management_url: String,
    ca_file: PathBuf,
    http: reqwest::Client,
}

impl Pebble {
    /// Start pebble in `dir`, validating HTTP-01 challenges on port `http_port` of whatever
    /// name it is asked for (that is, of 127.0.0.1).
    pub async fn start(dir: &Path, http_port: u16) -> anyhow::Result<Pebble> {
        let pebble_bin = on_path("pebble")?;
        let dns_bin = on_path("pebble-challtestsrv")?;
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        // Pebble's own HTTPS needs a certificate; a CA of the test's issues it, and the node
        // trusts that CA through --acme-ca-file.
        let ca = TestCa::new("pebble test CA (EdgeBase tests)")?;
        let served = ca.issue(&["localhost", "127.0.0.1"], 1)?;
        let ca_file = dir.join("pebble-ca.pem");
        let certificate_file = dir.join("pebble-cert.pem");
        let key_file = dir.join("pebble-key.pem");
        std::fs::write(&ca_file, ca.certificate_pem())?;
        std::fs::write(&certificate_file, &served.certificate_pem)?;
        std::fs::write(&key_file, &served.key_pem)?;

        let dns_addr = free_addr()?;
        let dns_management = free_addr()?;
        let dns_dir = dir.join("challtestsrv");
        std::fs::create_dir_all(&dns_dir)?;
        let dns = Command::new(&dns_bin)
            .args([
                "-defaultIPv4",
                "127.0.0.1",
                "-defaultIPv6",
                "",
                "-dns01",
                &dns_addr.to_string(),
                "-http01",
                "",
                "-https01",
                "",
                "-tlsalpn01",
                "",
                "-management",
                &dns_management.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(log_file(&dns_dir)?)
            .stderr(log_file(&dns_dir)?)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("start {}", dns_bin.display()))?;

        let listen = free_addr()?;
        let management = free_addr()?;
        let tls_port = free_addr()?.port();
        let config = serde_json::json!({
            "pebble": {
                "listenAddress": listen.to_string(),
                "managementListenAddress": management.to_string(),
                "certificate": certificate_file,
                "privateKey": key_file,
                "httpPort": http_port,
                "tlsPort": tls_port,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": false,
            }
        });
        let config_file = dir.join("pebble-config.json");
        std::fs::write(&config_file, serde_json::to_vec_pretty(&config)?)?;
        let pebble_dir = dir.join("pebble");
        std::fs::create_dir_all(&pebble_dir)?;
        let pebble = Command::new(&pebble_bin)
            .arg("-config")
            .arg(&config_file)
            .arg("-dnsserver")
            .arg(dns_addr.to_string())
            .env("PEBBLE_VA_NOSLEEP", "1")
            // Validation must really fetch the node's challenge answer.
            .env_remove("PEBBLE_VA_ALWAYS_VALID")
            .stdin(Stdio::null())
            .stdout(log_file(&pebble_dir)?)
            .stderr(log_file(&pebble_dir)?)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("start {}", pebble_bin.display()))?;

        let root = reqwest::Certificate::from_pem(ca.certificate_pem().as_bytes())?;
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .add_root_certificate(root)
            .timeout(Duration::from_secs(10))
            .build()?;
        let pebble = Pebble {
            pebble,
            dns,
            directory_url: format!("https://{listen}/dir"),
            management_url: format!("https://{management}"),
            ca_file,
            http,
        };
        wait_until("pebble answers its directory", START_TIMEOUT, || async {
            let answer = pebble.http.get(&pebble.directory_url).send().await?;
            Ok(answer.status().is_success().then_some(()))
        })
        .await?;
        Ok(pebble)
    }

    /// The ACME directory, for `--acme-directory`.
    pub fn directory_url(&self) -> &str {
        &self.directory_url
    }

    /// The CA of pebble's own HTTPS, for `--acme-ca-file`.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// The root pebble issues under (new at every start), PEM.
    pub async fn root_pem(&self) -> anyhow::Result<String> {
        self.management("roots/0").await
    }

    /// The intermediate that signs pebble's certificates, PEM.
    pub async fn intermediate_pem(&self) -> anyhow::Result<String> {
        self.management("intermediates/0").await
    }

    async fn management(&self, path: &str) -> anyhow::Result<String> {
        let url = format!("{}/{path}", self.management_url);
        let answer = self.http.get(&url).send().await?;
        ensure!(
            answer.status().is_success(),
            "GET {url}: {}",
            answer.status()
        );
        Ok(answer.text().await?)
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        for (name, child) in [
            ("pebble", &mut self.pebble),
            ("pebble-challtestsrv", &mut self.dns),
        ] {
            if let Err(error) = child.start_kill() {
                eprintln!("stop {name}: {error}");
            }
        }
    }
}

/// `name` on `$PATH`, or an error saying how to install it.
fn on_path(name: &str) -> anyhow::Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!(
        "`{name}` is not installed: the ACME test needs Debian's `pebble` package \
         (`apt-get install pebble`; tests/run-all.sh installs it)"
    )
}

fn log_file(dir: &Path) -> anyhow::Result<std::fs::File> {
    let path = dir.join("server.log");
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("open {}", path.display()))
}
