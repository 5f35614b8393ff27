//! When this node applied its recent entries: a bounded ring of (index, time) samples taken
//! as openraft reports applies. A member whose applied index is `a` is behind by the time
//! since this node applied entry `a + 1`: the cluster view's lag in milliseconds.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::node_core::NodeCore;

/// Samples kept: at one apply report per entry, the last this many entries.
const SAMPLES_MAX: usize = 8192;

#[derive(Default)]
pub(crate) struct ApplyTimes {
    samples: Mutex<VecDeque<(u64, Instant)>>,
}

impl ApplyTimes {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(u64, Instant)>> {
        self.samples
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Note that entries up to `index` were applied at `at`.
    pub(crate) fn record(&self, index: u64, at: Instant) {
        let mut samples = self.lock();
        if samples.back().is_some_and(|(last, _)| *last >= index) {
            return;
        }
        if samples.len() == SAMPLES_MAX {
            samples.pop_front();
        }
        samples.push_back((index, at));
    }

    /// How long ago this node applied entry `index` (the first sample at or past it); 0 when
    /// it has not applied it yet, `None` when it is older than every sample kept.
    pub(crate) fn millis_since_applied(&self, index: u64, now: Instant) -> Option<u64> {
        let samples = self.lock();
        let position = samples.partition_point(|(applied, _)| *applied < index);
        if position == 0 && samples.front().is_some_and(|(first, _)| *first > index) {
            return None;
        }
        match samples.get(position) {
            Some((_, at)) => Some(
                now.saturating_duration_since(*at)
                    .as_millis()
                    .try_into()
                    .unwrap_or(u64::MAX),
            ),
            None => Some(0),
        }
    }
}

/// Record every apply openraft reports, until Raft stops.
pub(crate) async fn watch(core: Arc<NodeCore>) {
    let mut metrics = core.raft.metrics();
    loop {
        let applied = metrics
            .borrow_and_update()
            .last_applied
            .as_ref()
            .map(|log_id| log_id.index);
        if let Some(index) = applied {
            core.apply_times.record(index, Instant::now());
        }
        if metrics.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::ApplyTimes;

    #[test]
    fn lag_is_the_age_of_the_first_entry_a_member_lacks() {
        let times = ApplyTimes::default();
        let start = Instant::now();
        times.record(5, start);
        times.record(9, start + Duration::from_millis(100));
        times.record(9, start + Duration::from_millis(150));
        times.record(12, start + Duration::from_millis(300));
        let now = start + Duration::from_millis(1000);
        assert_eq!(times.millis_since_applied(5, now), Some(1000));
        // Entry 7 was applied with the report of 9.
        assert_eq!(times.millis_since_applied(7, now), Some(900));
        assert_eq!(times.millis_since_applied(12, now), Some(700));
        // Not applied here yet: nobody is behind it.
        assert_eq!(times.millis_since_applied(13, now), Some(0));
        // Older than every sample.
        assert_eq!(times.millis_since_applied(2, now), None);
    }
}
