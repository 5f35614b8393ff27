//! Flags for the server-side hooks (`pb_hooks`): where the folder is, how many runtimes run
//! hooks at once, and the limits on one call.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use edgebase_hooks::{CallLimits, EngineConfig};
use serde::{Deserialize, Serialize};

const RUNTIMES_DEFAULT: usize = 4;
const CPU_MS_DEFAULT: u64 = 5_000;
const WALL_MS_DEFAULT: u64 = 30_000;
const MEMORY_MB_DEFAULT: usize = 64;
/// Calls that may wait for a runtime, per runtime.
const QUEUE_PER_RUNTIME: usize = 64;

#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct HooksArgs {
    /// The folder of JavaScript hooks (`*.pb.js`), as PocketBase's `--hooksDir`; default
    /// `pb_hooks` next to the data dir.
    #[arg(long)]
    #[serde(default)]
    pub hooks_dir: Option<PathBuf>,
    /// JavaScript runtimes running hooks at once on this node.
    #[arg(long, default_value_t = RUNTIMES_DEFAULT, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=64))]
    pub hooks_runtimes: usize,
    /// CPU time one hook call may use before it is stopped, in ms.
    #[arg(long, default_value_t = CPU_MS_DEFAULT, value_parser = clap::value_parser!(u64).range(1..))]
    pub hooks_cpu_ms: u64,
    /// Wall-clock time one hook call may take before it is stopped, in ms.
    #[arg(long, default_value_t = WALL_MS_DEFAULT, value_parser = clap::value_parser!(u64).range(1..))]
    pub hooks_wall_ms: u64,
    /// Memory one hook runtime may hold during a call, in MiB.
    #[arg(long, default_value_t = MEMORY_MB_DEFAULT, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=4096))]
    pub hooks_memory_mb: usize,
}

impl Default for HooksArgs {
    fn default() -> Self {
        HooksArgs {
            hooks_dir: None,
            hooks_runtimes: RUNTIMES_DEFAULT,
            hooks_cpu_ms: CPU_MS_DEFAULT,
            hooks_wall_ms: WALL_MS_DEFAULT,
            hooks_memory_mb: MEMORY_MB_DEFAULT,
        }
    }
}

impl HooksArgs {
    /// The hooks folder for the data dir `dir`.
    pub fn dir(&self, data_dir: &Path) -> PathBuf {
        self.hooks_dir.clone().unwrap_or_else(|| {
            let absolute = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_owned());
            absolute
                .parent()
                .map(|parent| parent.join("pb_hooks"))
                .unwrap_or_else(|| PathBuf::from("pb_hooks"))
        })
    }

    pub fn engine(&self) -> EngineConfig {
        EngineConfig {
            runtimes: self.hooks_runtimes,
            queue: self.hooks_runtimes * QUEUE_PER_RUNTIME,
            limits: CallLimits {
                cpu: Duration::from_millis(self.hooks_cpu_ms),
                wall: Duration::from_millis(self.hooks_wall_ms),
                memory_bytes: self.hooks_memory_mb << 20,
            },
        }
    }
}
