//! `edgebase restore BACKUP --dir DIR`: seed a new data dir from a backup archive; a node
//! started on it (`edgebase serve --dir DIR`) founds a new cluster with the backup's state
//! and files, which other nodes then join as usual.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use edgebase_service::backups::seed::{seed_data_dir, DataDirLayout, SeedProgress};

use super::progress::Progress;

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup archive (from `edgebase backup download` or the console).
    pub backup: PathBuf,
    /// The new data dir; it must not exist or be empty.
    #[arg(long)]
    pub dir: PathBuf,
}

pub async fn run(args: RestoreArgs) -> anyhow::Result<()> {
    let layout = DataDirLayout {
        db_dir: crate::boot::db_dir(&args.dir),
        blobs_dir: args.dir.join("blobs"),
    };
    let state = Progress::bytes("restoring the state", 0);
    let blobs = std::sync::Mutex::new(None::<(Progress, u64)>);
    let show = |step: SeedProgress| match step {
        SeedProgress::Opened {
            state_bytes,
            blobs: count,
        } => {
            state.set_total(state_bytes);
            *blobs.lock().unwrap_or_else(|p| p.into_inner()) =
                Some((Progress::files("copying files", count), count));
        }
        SeedProgress::StateBytes(bytes) => state.advance(bytes),
        SeedProgress::StateInstalled => state.finish("state restored"),
        SeedProgress::Blob(_) => {
            if let Some((bar, _)) = blobs.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                bar.advance(1);
            }
        }
    };
    let manifest = seed_data_dir(&args.backup, &args.dir, &layout, &show)
        .await
        .with_context(|| {
            format!(
                "restore {} into {}",
                args.backup.display(),
                args.dir.display()
            )
        })?;
    if let Some((bar, count)) = blobs.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
        bar.finish(&format!("{count} files restored"));
    }
    println!(
        "restored the state of log index {} (backup of {}) into {}; start it with `edgebase serve --dir {}`",
        manifest.applied_index,
        manifest.created,
        args.dir.display(),
        args.dir.display()
    );
    Ok(())
}
