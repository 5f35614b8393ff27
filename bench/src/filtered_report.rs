//! `FilteredReport`: the markdown of a filtered-list run (command, machine, versions, load
//! times, the sample totals and the latency table), written between its own markers in
//! `bench/RESULTS.md` so the comparison's section and the hand-written notes survive.

use std::fmt::Write as _;

use crate::filtered_list::{FilteredListResults, Server};
use crate::list_query::ListQuery;
use crate::measurement::{format_ms, Measurement};

pub const BEGIN_MARKER: &str = "<!-- edgebase-bench filtered-list: begin (generated) -->";
pub const END_MARKER: &str = "<!-- edgebase-bench filtered-list: end -->";

pub struct FilteredReport {
    pub date: String,
    pub command: String,
    pub machine: Vec<(String, String)>,
    pub versions: Vec<(String, String)>,
    pub records: usize,
    pub seed: u64,
    pub connections: Vec<usize>,
    pub warmup_secs: u64,
    pub duration_secs: u64,
    pub restart_after_load: bool,
    pub results: FilteredListResults,
}

impl FilteredReport {
    /// The generated markdown, markers included.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{BEGIN_MARKER}");
        let _ = writeln!(
            out,
            "## Filtered lists over {} records ({})\n",
            self.records, self.date
        );
        let _ = writeln!(
            out,
            "Command (from the repository root):\n\n```sh\n{}\n```\n",
            self.command
        );
        let _ = writeln!(
            out,
            "Collection `items`: `cat` text (`c0`..`c999`), `n` number (0..1,000,000), `title` \
             text (three random lowercase words), with `CREATE INDEX idx_items_cat ON items \
             (cat)` and `CREATE INDEX idx_items_n ON items (n)`. {} records from seed {}, \
             loaded through `POST /api/batch` (1000 creates per batch, one batch at a time). \
             Every list is `GET /api/collections/items/records?filter=...&perPage=30` (the \
             sorted ones add `&sort=-n`; the last has no filter) without a token (list rule \
             empty), its random part drawn per request. Each run: {} s \
             warm-up, {} s measured, one request at a time per connection, HTTP/1.1 \
             keep-alive, load generator on the same machine. EdgeBase ran first, then \
             PocketBase, never both at once.\n",
            self.records, self.seed, self.warmup_secs, self.duration_secs
        );
        if self.restart_after_load {
            let _ = writeln!(
                out,
                "EdgeBase was restarted (`kill -9`, then started on its data dir) between the \
                 load and the lists: it opened by writing its memtable to sorted files, so its \
                 lists read those, through RocksDB's default block cache.\n"
            );
        }
        crate::report::machine_tables(&mut out, &self.machine, &self.versions);
        self.load_table(&mut out);
        self.totals_table(&mut out);
        self.latency_table(&mut out);
        let _ = writeln!(out, "{END_MARKER}");
        out
    }

    fn load_table(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "\n| load of {} records | seconds | records/s |\n|---|---:|---:|",
            self.records
        );
        for result in &self.results.servers {
            let secs = result.load.as_secs_f64();
            let _ = writeln!(
                out,
                "| {} | {:.1} | {:.0} |",
                result.server.label(),
                secs,
                self.records as f64 / secs.max(f64::EPSILON)
            );
        }
    }

    fn totals_table(&self, out: &mut String) {
        let _ = write!(out, "\n| sample filter | dataset |");
        for result in &self.results.servers {
            let _ = write!(out, " {} |", result.server.label());
        }
        let _ = write!(out, "\n|---|---:|");
        for _ in &self.results.servers {
            let _ = write!(out, "---:|");
        }
        let _ = writeln!(out);
        for (index, sample) in self.results.samples.iter().enumerate() {
            let _ = write!(out, "| `{}` | {} |", sample.filter, sample.expected);
            for result in &self.results.servers {
                let total = result
                    .totals
                    .get(index)
                    .map_or_else(|| "-".to_owned(), i64::to_string);
                let _ = write!(out, " {total} |");
            }
            let _ = writeln!(out);
        }
        let verdict = if self.results.totals_agree() {
            "Every server answered the dataset's own `totalItems` for every sample filter."
        } else {
            "**The totals disagree**: at least one server's `totalItems` differs from the \
             dataset's count above."
        };
        let _ = writeln!(out, "\n{verdict}\n");
    }

    fn latency_table(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "| query | conns | EdgeBase req/s | EdgeBase p50 | EdgeBase p99 | PocketBase req/s \
             | PocketBase p50 | PocketBase p99 | req/s EdgeBase / PocketBase |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for query in ListQuery::ALL {
            for &connections in &self.connections {
                let edgebase = self.results.run_of(Server::Edgebase, query, connections);
                let pocketbase = self.results.run_of(Server::Pocketbase, query, connections);
                let ratio = match (edgebase, pocketbase) {
                    (Some(edgebase), Some(pocketbase))
                        if pocketbase.measurement.throughput_per_sec() > 0.0 =>
                    {
                        format!(
                            "{:.2}",
                            edgebase.measurement.throughput_per_sec()
                                / pocketbase.measurement.throughput_per_sec()
                        )
                    }
                    _ => "-".to_owned(),
                };
                let _ = writeln!(
                    out,
                    "| {} | {connections} | {} | {} | {ratio} |",
                    query.label(),
                    cells(edgebase.map(|run| &run.measurement)),
                    cells(pocketbase.map(|run| &run.measurement)),
                );
            }
        }
        let errors: Vec<String> = self
            .results
            .servers
            .iter()
            .flat_map(|result| {
                result.runs.iter().filter_map(move |run| {
                    run.measurement.first_error.as_ref().map(|error| {
                        format!(
                            "- {} {} c={}: {} errors, first: {error}",
                            result.server.label(),
                            run.query.label(),
                            run.connections,
                            run.measurement.errors
                        )
                    })
                })
            })
            .collect();
        if !errors.is_empty() {
            let _ = writeln!(out, "\nErrors:\n\n{}", errors.join("\n"));
        }
    }
}

/// `req/s | p50 | p99` of one run, or dashes.
fn cells(measurement: Option<&Measurement>) -> String {
    match measurement {
        Some(measurement) => format!(
            "{:.0} | {} | {}",
            measurement.throughput_per_sec(),
            format_ms(measurement.p50_us),
            format_ms(measurement.p99_us)
        ),
        None => "- | - | -".to_owned(),
    }
}
