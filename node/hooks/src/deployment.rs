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

/// A node's view of its own folder: what it held when last loaded, so a change to it (a file
/// added, edited or removed) is loaded as PocketBase reloads its hooks on a change.
pub struct FolderWatch {
    folder: PathBuf,
    loaded_signature: Option<String>,
}

impl FolderWatch {
    pub fn new(folder: PathBuf) -> FolderWatch {
        FolderWatch {
            folder,
            loaded_signature: None,
        }
    }

    /// Bring the node onto the bundle it should run now (see [`sync`]).
    pub async fn sync(&mut self, hooks: &Hooks, app: &App) {
        sync(hooks, app, &self.folder, &mut self.loaded_signature).await;
    }

    /// Keep syncing every [`WATCH_INTERVAL`] until the node stops.
    pub fn spawn(mut self, hooks: Hooks, app: App) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(WATCH_INTERVAL);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                self.sync(&hooks, &app).await;
            }
        })
    }
}

/// Bring the node onto the bundle the cluster wants now: the deployed one, else its folder
/// (again when the folder changed since `loaded_signature`). Failures (a bundle no reachable
/// member holds, a folder that cannot be read) are logged; the node keeps what it runs.
async fn sync(hooks: &Hooks, app: &App, folder: &Path, loaded_signature: &mut Option<String>) {
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
        None => {
            let signature = Bundle::folder_signature(folder);
            if current.source == BundleSource::Folder && signature == *loaded_signature {
                return;
            }
            *loaded_signature = signature;
            match Bundle::read_dir(folder) {
                Ok(bundle) => hooks.load_from(bundle, BundleSource::Folder).await,
                Err(error) => {
                    tracing::error!(dir = %folder.display(), %error, "the hooks folder cannot be loaded; serving without hooks");
                    hooks
                        .load_from(Bundle::default(), BundleSource::Folder)
                        .await
                }
            }
        }
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
