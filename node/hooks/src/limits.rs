//! The bounds on one hook call: CPU time and wall-clock time, checked by QuickJS's interrupt
//! handler while JavaScript runs, and memory, enforced by the runtime's allocator. PocketBase
//! has none of these; here an endless loop or a memory bomb stops its own call with a clear
//! error and the node goes on serving.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Limits for every call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallLimits {
    /// JavaScript CPU time one call may use.
    pub cpu: Duration,
    /// Wall-clock time one call may take (natives included: sleeps, reads, HTTP).
    pub wall: Duration,
    /// Heap bytes the runtime may hold during a call.
    pub memory_bytes: usize,
}

impl Default for CallLimits {
    fn default() -> Self {
        CallLimits {
            cpu: Duration::from_secs(5),
            wall: Duration::from_secs(30),
            memory_bytes: 64 << 20,
        }
    }
}

/// Which limit stopped a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitHit {
    Cpu(Duration),
    Wall(Duration),
    Memory(usize),
}

impl std::fmt::Display for LimitHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LimitHit::Cpu(limit) => {
                write!(f, "it used more than {} ms of CPU time", limit.as_millis())
            }
            LimitHit::Wall(limit) => write!(f, "it ran longer than {} ms", limit.as_millis()),
            LimitHit::Memory(bytes) => {
                write!(f, "it needed more than {} MiB of memory", bytes >> 20)
            }
        }
    }
}

/// The running call's deadlines, shared by the worker and its runtime's interrupt handler
/// (both on the worker's thread).
#[derive(Debug, Clone, Default)]
pub struct Watchdog {
    inner: Rc<WatchdogState>,
}

#[derive(Debug, Default)]
struct WatchdogState {
    /// (wall deadline, CPU deadline in thread CPU nanoseconds, the limits) while a call runs.
    armed: Cell<Option<(Instant, u64, CallLimits)>>,
    hit: Cell<Option<LimitHit>>,
}

impl Watchdog {
    /// Start timing a call.
    pub fn arm(&self, limits: CallLimits) {
        let cpu_deadline = thread_cpu_nanos().saturating_add(limits.cpu.as_nanos() as u64);
        self.inner
            .armed
            .set(Some((Instant::now() + limits.wall, cpu_deadline, limits)));
        self.inner.hit.set(None);
    }

    /// Stop timing; which limit stopped the call, if one did.
    pub fn disarm(&self) -> Option<LimitHit> {
        self.inner.armed.set(None);
        self.inner.hit.take()
    }

    /// Whether the running call must stop now (the interrupt handler's question).
    pub fn should_interrupt(&self) -> bool {
        let Some((wall_deadline, cpu_deadline, limits)) = self.inner.armed.get() else {
            return false;
        };
        if self.inner.hit.get().is_some() {
            return true;
        }
        let hit = if Instant::now() >= wall_deadline {
            Some(LimitHit::Wall(limits.wall))
        } else if thread_cpu_nanos() >= cpu_deadline {
            Some(LimitHit::Cpu(limits.cpu))
        } else {
            None
        };
        self.inner.hit.set(hit);
        hit.is_some()
    }

    /// Note that the call used up its wall-clock time (in a native that waited).
    pub fn wall_exhausted(&self) {
        if let Some((_, _, limits)) = self.inner.armed.get() {
            self.inner.hit.set(Some(LimitHit::Wall(limits.wall)));
        }
    }

    /// Note that the call ran out of memory (seen from the exception it got).
    pub fn memory_exhausted(&self) {
        if let Some((_, _, limits)) = self.inner.armed.get() {
            self.inner
                .hit
                .set(Some(LimitHit::Memory(limits.memory_bytes)));
        }
    }

    /// Wall-clock time left for the running call (zero when none runs).
    pub fn remaining(&self) -> Duration {
        self.inner
            .armed
            .get()
            .map(|(deadline, _, _)| deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_default()
    }
}

/// CPU time this thread has used, in nanoseconds.
fn thread_cpu_nanos() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec to write; CLOCK_THREAD_CPUTIME_ID is always present
    // on Linux.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    if status != 0 {
        return 0;
    }
    (now.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(now.tv_nsec as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spinning_call_hits_its_cpu_limit_and_a_sleeping_one_its_wall_limit() {
        let watchdog = Watchdog::default();
        assert!(!watchdog.should_interrupt(), "nothing armed");
        watchdog.arm(CallLimits {
            cpu: Duration::from_millis(20),
            wall: Duration::from_secs(60),
            memory_bytes: 1 << 20,
        });
        let mut spins = 0u64;
        while !watchdog.should_interrupt() {
            spins = spins.wrapping_add(1);
        }
        assert_eq!(
            watchdog.disarm(),
            Some(LimitHit::Cpu(Duration::from_millis(20)))
        );
        watchdog.arm(CallLimits {
            cpu: Duration::from_secs(60),
            wall: Duration::from_millis(20),
            memory_bytes: 1 << 20,
        });
        std::thread::sleep(Duration::from_millis(25));
        assert!(watchdog.should_interrupt());
        assert_eq!(
            watchdog.disarm(),
            Some(LimitHit::Wall(Duration::from_millis(20)))
        );
        assert_eq!(watchdog.disarm(), None);
        assert!(spins > 0);
    }
}
