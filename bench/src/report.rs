//! `Report`: the markdown written to `bench/RESULTS.md`: machine, versions, command, date,
//! the side-by-side tables with EdgeBase/peer ratios, the write sweep and every run.
//! Only the part between the two marker lines is replaced, so notes around it survive.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;

use crate::measurement::format_ms;
use crate::result_row::{Placement, ResultRow, Section, System};
use crate::workload::Workload;

pub const BEGIN_MARKER: &str = "<!-- edgebase-bench compare: begin (generated) -->";
pub const END_MARKER: &str = "<!-- edgebase-bench compare: end -->";

/// What the tables are about, besides the rows.
pub struct Report {
    pub date: String,
    pub command: String,
    pub machine: Vec<(String, String)>,
    pub versions: Vec<(String, String)>,
    pub shape_text: String,
    pub rows: Vec<ResultRow>,
}

impl Report {
    fn find(
        &self,
        section: Section,
        system: System,
        workload: Workload,
        placement: Placement,
    ) -> Option<&ResultRow> {
        self.rows.iter().find(|row| {
            row.section == section
                && row.system == system
                && row.workload == workload
                && row.placement == placement
        })
    }

    fn sweep(&self, system: System, connections: usize) -> Option<&ResultRow> {
        self.rows.iter().find(|row| {
            row.section == Section::Sweep
                && row.system == system
                && row.workload == Workload::Create
                && row.connections == connections
        })
    }

    /// The generated markdown, markers included.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{BEGIN_MARKER}");
        let _ = writeln!(out, "## Side by side ({})\n", self.date);
        let _ = writeln!(
            out,
            "Command (from the repository root):\n\n```sh\n{}\n```\n",
            self.command
        );
        let _ = writeln!(out, "{}\n", self.shape_text);
        crate::report::machine_tables(&mut out, &self.machine, &self.versions);
        let _ = writeln!(
            out,
            "\nRatios are EdgeBase / peer: above 1 means EdgeBase has more throughput (or a \
             longer p99 latency, which is worse).\n"
        );
        let single = [
            (Workload::Create, Placement::Single),
            (Workload::Get, Placement::Single),
            (Workload::Mixed, Placement::Single),
        ];
        self.versus(&mut out, System::EdgebaseNode, System::Pocketbase, &single);
        let replicated = [
            (Workload::Create, Placement::Leader),
            (Workload::Create, Placement::Follower),
            (Workload::Get, Placement::Follower),
            (Workload::Mixed, Placement::Follower),
        ];
        self.versus(&mut out, System::EdgebaseCluster, System::Etcd, &replicated);
        self.sweep_table(&mut out);
        self.all_runs(&mut out);
        let _ = writeln!(out, "{END_MARKER}");
        out
    }

    fn versus(&self, out: &mut String, ours: System, peer: System, runs: &[(Workload, Placement)]) {
        let found: Vec<_> = runs
            .iter()
            .filter_map(|(workload, placement)| {
                let a = self.find(Section::Comparison, ours, *workload, *placement)?;
                let b = self.find(Section::Comparison, peer, *workload, *placement)?;
                Some((workload, placement, a, b))
            })
            .collect();
        if found.is_empty() {
            return;
        }
        let (a_name, b_name) = (ours.label(), peer.label());
        let _ = writeln!(out, "### {a_name} vs {b_name}\n");
        let _ = writeln!(
            out,
            "| workload | at | {a_name} req/s | {b_name} req/s | ratio | {a_name} p99 | {b_name} p99 | ratio |"
        );
        let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|");
        for (workload, placement, a, b) in found {
            let (ma, mb) = (&a.measurement, &b.measurement);
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} | {:.0} | {} | {} | {} | {} |",
                versus_label(*workload, peer),
                placement.label(),
                ma.throughput_per_sec(),
                mb.throughput_per_sec(),
                ratio(ma.throughput_per_sec(), mb.throughput_per_sec()),
                format_ms(ma.p99_us),
                format_ms(mb.p99_us),
                ratio(ma.p99_us as f64, mb.p99_us as f64),
            );
        }
        let _ = writeln!(out);
    }

    fn sweep_table(&self, out: &mut String) {
        let mut connections: Vec<usize> = self
            .rows
            .iter()
            .filter(|row| row.section == Section::Sweep)
            .map(|row| row.connections)
            .collect();
        connections.sort_unstable();
        connections.dedup();
        if connections.is_empty() {
            return;
        }
        let systems = [System::EdgebaseNode, System::EdgebaseCluster, System::Etcd];
        let _ = writeln!(out, "### Writes as concurrency grows (group commit)\n");
        let _ = writeln!(
            out,
            "Creates (etcd: puts) at the leader; every write is fsynced before it is \
             acknowledged, so throughput above 1/fsync-time means one fsync covered many writes.\n"
        );
        let mut header = String::from("| connections |");
        let mut rule = String::from("|---:|");
        for system in systems {
            let _ = write!(header, " {} req/s | p99 |", system.label());
            rule.push_str("---:|---:|");
        }
        header.push_str(" EdgeBase 3 nodes / etcd |");
        rule.push_str("---:|");
        let _ = writeln!(out, "{header}\n{rule}");
        for count in connections {
            let mut line = format!("| {count} |");
            for system in systems {
                match self.sweep(system, count) {
                    Some(row) => {
                        let _ = write!(
                            line,
                            " {:.0} | {} |",
                            row.measurement.throughput_per_sec(),
                            format_ms(row.measurement.p99_us)
                        );
                    }
                    None => line.push_str(" – | – |"),
                }
            }
            let cluster_ratio = match (
                self.sweep(System::EdgebaseCluster, count),
                self.sweep(System::Etcd, count),
            ) {
                (Some(a), Some(b)) => ratio(
                    a.measurement.throughput_per_sec(),
                    b.measurement.throughput_per_sec(),
                ),
                _ => "–".to_owned(),
            };
            let _ = writeln!(line, " {cluster_ratio} |");
            out.push_str(&line);
        }
        let _ = writeln!(out);
    }

    fn all_runs(&self, out: &mut String) {
        let _ = writeln!(out, "### Every run\n");
        let _ = writeln!(
            out,
            "| system | workload | at | connections | requests | errors | req/s | p50 | p90 | p99 | p99.9 |"
        );
        let _ = writeln!(out, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for row in &self.rows {
            let m = &row.measurement;
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {:.0} | {} | {} | {} | {} |",
                row.system.label(),
                workload_label(row.workload, row.system),
                row.placement.label(),
                row.connections,
                m.requests,
                m.errors,
                m.throughput_per_sec(),
                format_ms(m.p50_us),
                format_ms(m.p90_us),
                format_ms(m.p99_us),
                format_ms(m.p999_us),
            );
        }
        let errors: Vec<_> = self
            .rows
            .iter()
            .filter_map(|row| Some((row, row.measurement.first_error.as_ref()?)))
            .collect();
        if !errors.is_empty() {
            let _ = writeln!(out, "\nFirst error of each run that had errors:\n");
            for (row, error) in errors {
                let _ = writeln!(
                    out,
                    "- {} {} at {}: `{}`",
                    row.system.label(),
                    row.workload.label(),
                    row.placement.label(),
                    error
                        .chars()
                        .take(300)
                        .collect::<String>()
                        .replace('`', "'")
                );
            }
        }
        let _ = writeln!(out);
    }
}

fn workload_label(workload: Workload, system: System) -> &'static str {
    match (system, workload) {
        (System::Etcd, Workload::Create) => "put",
        (System::Etcd, Workload::Get) => "range (serializable)",
        (System::Etcd, Workload::Mixed) => "mixed 90/10",
        (_, workload) => workload.label(),
    }
}

/// A workload's name in a side-by-side table, with the peer's operation when it differs.
fn versus_label(workload: Workload, peer: System) -> String {
    let ours = workload.label();
    let theirs = workload_label(workload, peer);
    if ours == theirs {
        ours.to_owned()
    } else {
        format!("{ours} / {theirs}")
    }
}

fn ratio(ours: f64, peer: f64) -> String {
    if peer > 0.0 {
        format!("{:.2}", ours / peer)
    } else {
        "–".to_owned()
    }
}

/// Put `generated` (markers included) into the file at `path`, replacing an earlier
/// generated part if there is one, else appending it.
pub fn write_into(path: &Path, generated: &str) -> anyhow::Result<()> {
    write_between(path, BEGIN_MARKER, END_MARKER, generated)
}

/// Write `generated` (which starts with `begin` and ends with `end`) into `path` in place of
/// the text between those markers, or append it when the file has none.
/// The machine and software tables every report starts with.
pub fn machine_tables(
    out: &mut String,
    machine: &[(String, String)],
    versions: &[(String, String)],
) {
    let _ = writeln!(out, "| machine | |\n|---|---|");
    for (name, value) in machine {
        let _ = writeln!(out, "| {name} | {value} |");
    }
    let _ = writeln!(out, "\n| software | version |\n|---|---|");
    for (name, value) in versions {
        let _ = writeln!(out, "| {name} | {value} |");
    }
}

pub fn write_between(
    path: &Path,
    begin_marker: &str,
    end_marker: &str,
    generated: &str,
) -> anyhow::Result<()> {
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            "# Benchmark results\n\n".to_owned()
        }
        Err(error) => return Err(error).with_context(|| format!("read {}", path.display())),
    };
    let updated = match (existing.find(begin_marker), existing.find(end_marker)) {
        (Some(begin), Some(end)) if begin < end => {
            let after = end + end_marker.len();
            let rest = existing[after..]
                .strip_prefix('\n')
                .unwrap_or(&existing[after..]);
            format!("{}{generated}{rest}", &existing[..begin])
        }
        _ => format!("{}\n{generated}", existing.trim_end()),
    };
    std::fs::write(path, updated).with_context(|| format!("write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generated(text: &str) -> String {
        format!("{BEGIN_MARKER}\n{text}\n{END_MARKER}\n")
    }

    #[test]
    fn only_the_generated_part_is_replaced() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("RESULTS.md");
        let cases = [
            // (file before, new generated text, file after)
            (
                None,
                "one",
                format!("# Benchmark results\n{}", generated("one")),
            ),
            (
                Some(format!("# T\n\nintro\n{}notes\n", generated("old"))),
                "new",
                format!("# T\n\nintro\n{}notes\n", generated("new")),
            ),
            (
                Some("# T\n\nno markers yet\n".to_owned()),
                "first",
                format!("# T\n\nno markers yet\n{}", generated("first")),
            ),
        ];
        for (before, text, after) in cases {
            match &before {
                Some(content) => std::fs::write(&path, content).expect("write"),
                None => {
                    let _ = std::fs::remove_file(&path);
                }
            }
            write_into(&path, &generated(text)).expect("write report");
            let written = std::fs::read_to_string(&path).expect("read back");
            assert_eq!(written, after, "from {before:?}");
        }
    }

    #[test]
    fn ratios_are_ours_over_theirs() {
        assert_eq!(ratio(50.0, 100.0), "0.50");
        assert_eq!(ratio(3.0, 0.0), "–");
        assert_eq!(versus_label(Workload::Create, System::Etcd), "create / put");
        assert_eq!(versus_label(Workload::Get, System::Pocketbase), "get by id");
    }
}
