//! A Unix socket in the data dir for local operator commands against a running node
//! (`superuser upsert`). Only who can open the data dir can use it, as with PocketBase's CLI
//! (a data dir too deep for a socket path gets a 0600 socket in the temp dir instead).

use std::path::{Path, PathBuf};

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::net::{UnixListener, UnixStream};

use crate::error::ApiError;
use edgebase_service::app::App;
use edgebase_service::superusers;

const SOCKET_FILE: &str = "admin.sock";
/// Largest answer read back from the socket.
const RESPONSE_BYTES_MAX: usize = 64 * 1024;

#[derive(Debug, Serialize, Deserialize)]
struct UpsertRequest {
    email: String,
    password: String,
}

/// Longest socket path the OS takes (`sun_path` is 108 bytes on Linux, with its terminator).
const SOCKET_PATH_BYTES_MAX: usize = 100;

/// `DIR/admin.sock`; when that is longer than a Unix socket path may be, a socket in the temp
/// dir named after a hash of the (canonical) data dir, so the node and the CLI agree on it.
/// Either way only the owner may open it (mode 0600).
pub fn socket_path(dir: &Path) -> PathBuf {
    let beside = dir.join(SOCKET_FILE);
    if beside.as_os_str().len() <= SOCKET_PATH_BYTES_MAX {
        return beside;
    }
    let canonical = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let digest = Sha256::digest(canonical.as_os_str().as_encoded_bytes());
    std::env::temp_dir().join(format!("edgebase-{}.sock", &hex::encode(digest)[..16]))
}

/// Serve the admin socket until the process ends.
pub async fn serve(app: App, dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let path = socket_path(dir);
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    let router = Router::new()
        .route("/superusers/upsert", post(upsert))
        .with_state(app);
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!(%error, "admin socket stopped");
        }
    });
    Ok(())
}

async fn upsert(
    State(app): State<App>,
    Json(request): Json<UpsertRequest>,
) -> Result<Json<()>, ApiError> {
    superusers::upsert(&app, &request.email, &request.password).await?;
    Ok(Json(()))
}

/// Ask a running node to upsert a superuser. `None` when no node is listening in `dir`.
pub async fn upsert_superuser(
    dir: &Path,
    email: &str,
    password: &str,
) -> Option<anyhow::Result<()>> {
    let stream = UnixStream::connect(socket_path(dir)).await.ok()?;
    Some(send_upsert(stream, email, password).await)
}

async fn send_upsert(stream: UnixStream, email: &str, password: &str) -> anyhow::Result<()> {
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let body = serde_json::to_vec(&UpsertRequest {
        email: email.into(),
        password: password.into(),
    })?;
    let request = hyper::Request::post("/superusers/upsert")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Full::new(bytes::Bytes::from(body)))?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let bytes = http_body_util::Limited::new(response.into_body(), RESPONSE_BYTES_MAX)
        .collect()
        .await
        .map_err(|error| anyhow::anyhow!("read admin answer: {error}"))?
        .to_bytes();
    if !status.is_success() {
        let message = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|value| {
                value
                    .get("message")
                    .and_then(|m| m.as_str())
                    .map(String::from)
            })
            .unwrap_or_else(|| status.to_string());
        anyhow::bail!("{message}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_data_dirs_get_a_short_socket_path() {
        let short = Path::new("/var/lib/edgebase");
        assert_eq!(socket_path(short), short.join(SOCKET_FILE));
        let long = PathBuf::from(format!("/tmp/{}", "d".repeat(120)));
        let path = socket_path(&long);
        assert!(
            path.as_os_str().len() <= SOCKET_PATH_BYTES_MAX,
            "{}",
            path.display()
        );
        assert_eq!(path, socket_path(&long), "the node and the CLI agree");
    }
}
