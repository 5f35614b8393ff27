//! Keeping a node on the cluster's hooks: the bundle deployed through Raft
//! (`edgebase_service::hooks_deployment`) when there is one, else the node's own `pb_hooks`
//! folder. A watcher reads the replicated document every [`WATCH_INTERVAL`]; when it names
//! another bundle, the node fetches it (from a member if need be), checks its hash, loads it,
//! swaps it in whole and runs its `onBootstrap`, as a restart of PocketBase with a changed
//! folder would. The bundle each node runs is in cluster status.

use std::path::{Path, PathBuf};
use std::time::Duration;

use edgebase_service::app::App;
use edgebase_service::hooks_deployment;

use crate::{Bundle, BundleSource, Hooks};

/// How often a node checks which bundle the cluster wants.
pub const WATCH_INTERVAL: Duration = Duration::from_millis(500);

/// Bring the node onto the bundle the cluster wants now. Failures (a bundle no reachable
/// member holds, a folder that cannot be read) are logged; the node keeps what it runs.
pub async fn sync(hooks: &Hooks, app: &App, folder: &Path) {
    let wanted = match hooks_deployment::deployed(app) {
        Ok(wanted) => wanted,
        Err(error) => {
            tracing::warn!(%error, "read the deployed hooks bundle");
            return;
        }
    };
    let current = hooks.current();
    let loaded = match wanted {
        Some(bundle) if current.source == BundleSource::Deployed && current.hash == bundle.hash => {
            return
        }
        Some(bundle) => match fetch(app, &bundle).await {
            Ok(decoded) => hooks.load_from(decoded, BundleSource::Deployed).await,
            Err(reason) => {
                tracing::warn!(hash = %bundle.hash, %reason, "the deployed hooks bundle cannot be loaded yet");
                return;
            }
        },
        None if current.source == BundleSource::Folder => return,
        None => match Bundle::read_dir(folder) {
            Ok(bundle) => hooks.load_from(bundle, BundleSource::Folder).await,
            Err(error) => {
                tracing::error!(dir = %folder.display(), %error, "the hooks folder cannot be loaded; serving without hooks");
                hooks
                    .load_from(Bundle::default(), BundleSource::Folder)
                    .await
            }
        },
    };
    match loaded {
        Ok(loaded) if !loaded.bundle.is_empty() => {
            if let Err(error) = hooks.bootstrap().await {
                tracing::error!(%error, "run onBootstrap");
            }
        }
        Ok(_) => {}
        Err(error) => tracing::error!(%error, "load the hooks bundle"),
    }
}

async fn fetch(app: &App, bundle: &hooks_deployment::DeployedBundle) -> Result<Bundle, String> {
    let bytes = hooks_deployment::fetch(app, bundle)
        .await
        .map_err(|error| error.to_string())?;
    let decoded = Bundle::decode(&bytes).map_err(|error| error.to_string())?;
    if decoded.hash() != bundle.hash {
        return Err(format!(
            "its files hash to {}, not to {}",
            decoded.hash(),
            bundle.hash
        ));
    }
    Ok(decoded)
}

/// Watch for deploys and withdrawals until the node stops.
pub fn spawn_watcher(hooks: Hooks, app: App, folder: PathBuf) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(WATCH_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            sync(&hooks, &app, &folder).await;
        }
    })
}
