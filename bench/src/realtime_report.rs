//! `RealtimeReport`: the markdown of a realtime run (command, machine, versions, idle
//! streams' memory, and the fan-out latency table), written between its own markers in
//! `bench/RESULTS.md`.

use std::fmt::Write as _;

use crate::realtime_bench::{FanOutResult, IdleResult};

pub const BEGIN_MARKER: &str = "<!-- edgebase-bench realtime: begin (generated) -->";
pub const END_MARKER: &str = "<!-- edgebase-bench realtime: end -->";

pub struct RealtimeReport {
    pub date: String,
    pub command: String,
    pub machine: Vec<(String, String)>,
    pub versions: Vec<(String, String)>,
    pub writes_per_sec: u64,
    pub duration_secs: u64,
    pub idle: Vec<IdleResult>,
    pub fan_outs: Vec<FanOutResult>,
}

fn ms(us: u64) -> String {
    format!("{:.1}", us as f64 / 1000.0)
}

impl RealtimeReport {
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{BEGIN_MARKER}");
        let _ = writeln!(out, "## Realtime ({})\n", self.date);
        let _ = writeln!(
            out,
            "Command (from the repository root):\n\n```sh\n{}\n```\n",
            self.command
        );
        let _ = writeln!(
            out,
            "Each system in turn on this machine, the bench's subscribers on the same two \
             cores. Idle streams: the servers' resident memory (all nodes together) before and \
             after opening that many `GET /api/realtime` streams that subscribe to nothing. \
             Fan-out: that many streams spread evenly over the nodes, each subscribed to \
             `rt_bench/*` (list rule open), while one writer creates {} records a second for \
             {} s through node 1; latency is from the write's answer (and from its request) \
             to each event's receipt by a subscriber.\n",
            self.writes_per_sec, self.duration_secs
        );
        crate::report::machine_tables(&mut out, &self.machine, &self.versions);
        let _ = writeln!(
            out,
            "\n### Idle streams\n\n| system | streams | RSS before (MiB) | RSS after (MiB) | KiB per stream |\n|---|---|---|---|---|"
        );
        for idle in &self.idle {
            let per_stream = idle.rss_after_kib.saturating_sub(idle.rss_before_kib) as f64
                / idle.streams.max(1) as f64;
            let _ = writeln!(
                out,
                "| {} | {} | {:.1} | {:.1} | {:.1} |",
                idle.target.label(),
                idle.streams,
                idle.rss_before_kib as f64 / 1024.0,
                idle.rss_after_kib as f64 / 1024.0,
                per_stream
            );
        }
        let _ = writeln!(
            out,
            "\n### Fan-out\n\n| system | subscribers | writes | events delivered | p50 ms | p99 ms | max ms | before the answer | p50 / p99 ms from the request | write p50 ms |\n|---|---|---|---|---|---|---|---|---|---|"
        );
        for run in &self.fan_outs {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} / {} | {} | {} | {} | {} | {} / {} | {} |",
                run.target.label(),
                run.subscribers,
                run.writes,
                run.delivered,
                run.expected,
                ms(run.from_answer.p50_us),
                ms(run.from_answer.p99_us),
                ms(run.from_answer.max_us),
                run.before_answer,
                ms(run.from_request.p50_us),
                ms(run.from_request.p99_us),
                ms(run.write_p50_us),
            );
        }
        let _ = writeln!(out, "\n{END_MARKER}");
        out
    }
}
