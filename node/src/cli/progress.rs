//! Progress on long CLI work: an `indicatif` bar on a terminal; elsewhere (a pipe, a log, a
//! test) a plain line at each tenth of the work, so scripts see progress too.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    what: String,
    unit: &'static str,
    total: AtomicU64,
    done: AtomicU64,
    /// The last tenth printed as a line (when there is no bar).
    printed_tenth: AtomicU64,
}

impl Progress {
    /// Progress over `total` bytes (0 when unknown yet) of `what`.
    pub fn bytes(what: &str, total: u64) -> Progress {
        Self::bar(
            what,
            total,
            "bytes",
            "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        )
    }

    /// Progress over `total` files of `what`.
    pub fn files(what: &str, total: u64) -> Progress {
        Self::bar(what, total, "files", "{msg} [{bar:30}] {pos}/{len} files")
    }

    fn bar(what: &str, total: u64, unit: &'static str, template: &str) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_message(what.to_owned());
            bar
        });
        Progress {
            bar,
            what: what.to_owned(),
            unit,
            total: AtomicU64::new(total),
            done: AtomicU64::new(0),
            printed_tenth: AtomicU64::new(0),
        }
    }

    /// A spinner for work of unknown length.
    pub fn spinner(what: &str) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_message(what.to_owned());
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        if bar.is_none() {
            eprintln!("{what} ...");
        }
        Progress {
            bar,
            what: what.to_owned(),
            unit: "",
            total: AtomicU64::new(0),
            done: AtomicU64::new(0),
            printed_tenth: AtomicU64::new(10),
        }
    }

    pub fn set_total(&self, total: u64) {
        self.total.store(total, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.set_length(total);
        }
    }

    pub fn advance(&self, bytes: u64) {
        let done = self.done.fetch_add(bytes, Ordering::Relaxed) + bytes;
        match &self.bar {
            Some(bar) => bar.set_position(done),
            None => {
                let total = self.total.load(Ordering::Relaxed);
                if total == 0 {
                    return;
                }
                let tenth = (done.min(total) * 10) / total;
                let printed = self.printed_tenth.fetch_max(tenth, Ordering::Relaxed);
                if tenth > printed {
                    eprintln!(
                        "{}: {}% ({done} of {total} {})",
                        self.what,
                        tenth * 10,
                        self.unit
                    );
                }
            }
        }
    }

    /// End the display with `message`.
    pub fn finish(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.finish_with_message(message.to_owned()),
            None => eprintln!("{message}"),
        }
    }
}
