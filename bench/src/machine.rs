//! The machine and software a comparison ran on, for the report.

use std::path::Path;

use crate::compare::{ComparePlan, TargetKind};

/// CPU, cores, memory, kernel and the load average now.
pub fn describe() -> Vec<(String, String)> {
    let cores = std::thread::available_parallelism()
        .map(|count| count.get().to_string())
        .unwrap_or_else(|_| "unknown".to_owned());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|line| line.starts_with("MemTotal:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(format!("{:.1} GiB", kib as f64 / (1024.0 * 1024.0)))
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|text| text.trim().to_owned())
        .unwrap_or_else(|_| "unknown".to_owned());
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" / ")
        })
        .unwrap_or_else(|_| "unknown".to_owned());
    vec![
        ("cores (nproc)".to_owned(), cores),
        ("cpu".to_owned(), cpu),
        ("memory".to_owned(), memory),
        ("kernel".to_owned(), kernel),
        (
            "load generator".to_owned(),
            "same machine, same cores as the servers".to_owned(),
        ),
        (
            "load average before the run (1 / 5 / 15 min)".to_owned(),
            load,
        ),
    ]
}

/// Versions of the systems in the plan.
pub async fn versions(plan: &ComparePlan) -> Vec<(String, String)> {
    let mut versions = Vec::new();
    let runs_edgebase = plan
        .targets
        .iter()
        .any(|target| matches!(target, TargetKind::Edgebase | TargetKind::EdgebaseCluster));
    if runs_edgebase {
        versions.push(edgebase_version(&plan.edgebase_bin).await);
    }
    if plan.targets.contains(&TargetKind::Pocketbase) {
        versions.push(pocketbase_version(&plan.pocketbase_bin).await);
    }
    if plan.targets.contains(&TargetKind::Etcd) {
        let version = first_line(&plan.etcd_bin, &["--version"]).await;
        versions.push((
            "etcd".to_owned(),
            format!("{version} (Debian etcd-server), v3 HTTP/JSON gateway"),
        ));
    }
    versions
}

/// The EdgeBase binary's version, the commit checked out and whether it is a release build.
pub async fn edgebase_version(edgebase_bin: &Path) -> (String, String) {
    let version = first_line(edgebase_bin, &["--version"]).await;
    let commit = first_line(Path::new("git"), &["rev-parse", "--short", "HEAD"]).await;
    // Cargo puts release builds under `target/release/`; a copy keeps the word in its path.
    let is_release = edgebase_bin
        .components()
        .any(|part| part.as_os_str().to_string_lossy().contains("release"));
    let profile = if is_release {
        "release build"
    } else {
        "dev build: EdgeBase's own crates unoptimised, dependencies (RocksDB included) at opt-level 2"
    };
    (
        "EdgeBase".to_owned(),
        format!("{version}, commit {commit}, {profile}"),
    )
}

/// The PocketBase binary's version line.
pub async fn pocketbase_version(pocketbase_bin: &Path) -> (String, String) {
    let version = first_line(pocketbase_bin, &["--version"]).await;
    ("PocketBase".to_owned(), version)
}

/// The first line a command prints, or why it could not be run.
async fn first_line(program: &Path, args: &[&str]) -> String {
    match crate::child_process::run_to_completion(program, args).await {
        Ok(output) => output.lines().next().unwrap_or_default().trim().to_owned(),
        Err(error) => format!("unknown ({error:#})"),
    }
}

/// The current time in UTC, to the minute.
pub fn utc_now() -> String {
    chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string()
}
