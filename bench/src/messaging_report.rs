//! `MessagingReport`: the markdown of a messaging run (command, machine, versions, what
//! each figure is, and the accept, fan-out and many-messages tables), written between its
//! own markers in `bench/RESULTS.md`.

use std::fmt::Write as _;
use std::time::Duration;

use crate::measurement::format_ms;
use crate::messaging_bench::{MessagingPlan, PhaseCost, SystemResult};

pub const BEGIN_MARKER: &str = "<!-- edgebase-bench messaging: begin (generated) -->";
pub const END_MARKER: &str = "<!-- edgebase-bench messaging: end -->";

pub struct MessagingReport {
    pub date: String,
    pub command: String,
    pub machine: Vec<(String, String)>,
    pub versions: Vec<(String, String)>,
    pub plan: MessagingPlan,
    pub results: Vec<SystemResult>,
}

fn secs(duration: Duration) -> String {
    format!("{:.2} s", duration.as_secs_f64())
}

fn maybe_secs(duration: Option<Duration>) -> String {
    duration.map(secs).unwrap_or_else(|| "–".to_owned())
}

fn per_sec(count: u64, duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds > 0.0 {
        format!("{:.0}", count as f64 / seconds)
    } else {
        "–".to_owned()
    }
}

/// The sink's requests, with the duplicates among them and the connections it accepted,
/// then the nodes' and the bench's CPU.
fn cost_cells(cost: &PhaseCost) -> String {
    format!(
        "{} | {} | {} | {:.2} / {:.2}",
        cost.sink.requests,
        cost.sink.duplicates(),
        cost.sink.connections,
        cost.node_cores(),
        cost.bench_cores()
    )
}

impl MessagingReport {
    pub fn markdown(&self) -> String {
        let plan = &self.plan;
        let mut out = String::new();
        let _ = writeln!(out, "{BEGIN_MARKER}");
        let _ = writeln!(out, "## Messaging ({})\n", self.date);
        let _ = writeln!(
            out,
            "Command (from the repository root):\n\n```sh\n{}\n```\n",
            self.command
        );
        let _ = writeln!(
            out,
            "Each system in turn on this machine; the bench, its push service and the nodes \
             share the same cores. One user with {} Web Push subscriptions (fresh P-256 keys \
             and auth secrets) whose endpoints are a push service inside the bench (axum, \
             HTTP/1.1 on loopback) that answers `201` to every push{}, counts the requests, \
             the duplicates among them (the same endpoint and `Topic`, which EdgeBase sets to \
             the delivery's collapse id) and the TCP connections it accepted (new ones: a \
             connection kept alive from an earlier phase is not counted). Messages are \
             sent to the leader as the superuser; retries: 3 attempts, 200 ms backoff. The \
             phases run in the order of the tables; each starts with nothing due in the \
             outbox. CPU is the user and system time of every node together, and of the \
             bench's process (senders, polls, push service), over the phase's wall time, in \
             cores (this machine has {}).\n",
            plan.push_targets,
            if plan.sink_delay.is_zero() {
                " at once".to_owned()
            } else {
                format!(" after {} ms", plan.sink_delay.as_millis())
            },
            self.machine
                .iter()
                .find(|(name, _)| name.starts_with("cores"))
                .map(|(_, value)| value.as_str())
                .unwrap_or("unknown")
        );
        crate::report::machine_tables(&mut out, &self.machine, &self.versions);

        let _ = writeln!(
            out,
            "\n### One message to {} targets\n\n`POST /api/messages` naming every target in \
             `to.targets`, {} times in a row. *accept* is the POST's latency; *first* and \
             *last push* are when the push service answered its first and last push, and \
             *settled* when a `GET /api/messages/{{id}}` (one every 50 ms) first showed the \
             message settled, all counted from the accept's answer. Deliveries/s is the \
             deliveries sent over *settled*; pushes/s is the same over the time from the \
             first push to the last.\n",
            plan.push_targets, plan.fan_out_runs
        );
        let _ = writeln!(
            out,
            "| system | run | accept | first push | last push | settled | deliveries/s | pushes/s | status | sent / failed | sink requests | duplicates | sink connections | CPU, nodes / bench (cores) |\n|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|"
        );
        for result in &self.results {
            for (run, fan_out) in result.fan_outs.iter().enumerate() {
                let pushing = match (fan_out.first_push, fan_out.last_push) {
                    (Some(first), Some(last)) => per_sec(fan_out.cost.sink.requests, last - first),
                    _ => "–".to_owned(),
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} | {} |",
                    result.target.label(),
                    run + 1,
                    format_ms(fan_out.accept.as_micros() as u64),
                    maybe_secs(fan_out.first_push),
                    maybe_secs(fan_out.last_push),
                    secs(fan_out.settled),
                    per_sec(fan_out.counts.sent, fan_out.settled),
                    pushing,
                    fan_out.status,
                    fan_out.counts.sent,
                    fan_out.counts.failed,
                    cost_cells(&fan_out.cost),
                );
            }
        }

        let _ = writeln!(
            out,
            "\n### {} messages of one target each\n\n{} senders post them as fast as the \
             accept answers (each to the next target in turn). *accepting* is from the first \
             accept's answer to the last one's; *last push* is when the push service answered \
             its last push and *settled* when a count of the outbox's unsettled messages (one \
             every 50 ms, through the records API: `dueAt > 0`) first came to 0, both from the \
             first accept's answer. Messages delivered/s is the messages over *settled*.\n",
            plan.messages, plan.shape.connections
        );
        let _ = writeln!(
            out,
            "| system | messages | accepting | last push | settled | messages delivered/s | messages sent | deliveries sent / failed | sink requests | duplicates | sink connections | CPU, nodes / bench (cores) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for result in &self.results {
            let many = &result.many;
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} / {} | {} |",
                result.target.label(),
                many.messages,
                secs(many.accepting),
                maybe_secs(many.last_push),
                secs(many.settled),
                per_sec(many.messages as u64, many.settled),
                many.sent_messages,
                many.counts.sent,
                many.counts.failed,
                cost_cells(&many.cost),
            );
        }

        let _ = writeln!(
            out,
            "\n### Accepting one-target messages\n\n{} connections, each posting one message \
             at a time (each to the next target in turn), {} s warm-up, {} s measured. The \
             leader delivers while they are accepted: *pushes/s meanwhile* is what the push \
             service answered in the measured window, and *unsettled at the end* the messages \
             still to deliver when the load stopped (the node is stopped with them).\n",
            plan.shape.connections,
            plan.shape.warmup.as_secs(),
            plan.shape.duration.as_secs()
        );
        let _ = writeln!(
            out,
            "| system | accepted/s | p50 | p90 | p99 | errors | pushes/s meanwhile | unsettled at the end | CPU, nodes / bench (cores) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for result in &self.results {
            let accept = &result.accept;
            let measured = &accept.measurement;
            let _ = writeln!(
                out,
                "| {} | {:.0} | {} | {} | {} | {} | {} | {} | {:.2} / {:.2} |",
                result.target.label(),
                measured.throughput_per_sec(),
                format_ms(measured.p50_us),
                format_ms(measured.p90_us),
                format_ms(measured.p99_us),
                measured.errors,
                per_sec(accept.pushes_in_window, plan.shape.duration),
                accept.unsettled_after,
                accept.cost.node_cores(),
                accept.cost.bench_cores(),
            );
        }
        let errors: Vec<_> = self
            .results
            .iter()
            .filter_map(|result| {
                Some((
                    result.target.label(),
                    result.accept.measurement.first_error.as_ref()?,
                ))
            })
            .collect();
        for (system, error) in errors {
            let error: String = error.chars().take(300).collect();
            let _ = writeln!(
                out,
                "\nFirst failed accept ({system}): `{}`",
                error.replace('`', "'")
            );
        }
        let _ = writeln!(out, "\n{END_MARKER}");
        out
    }
}
