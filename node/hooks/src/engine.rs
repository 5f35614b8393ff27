//! A fixed pool of worker threads, each owning one JavaScript runtime, fed through one
//! bounded queue: a call waits for a free runtime, and when every runtime is busy and the
//! queue is full the call is refused at once ([`HooksError::Busy`]) instead of piling up.
//!
//! A call made from inside a call (a hook's `$app.save` runs the model hooks; a request
//! hook's `e.next()` runs the write, which runs them too) never waits for the pool: the
//! outer call's native blocks its worker thread on the write, so the inner call runs right
//! there, on a runtime of its own for that depth, within the outer call's time. Waiting for
//! another worker instead could deadlock a pool whose every worker waits the same way.

use std::cell::RefCell;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::oneshot;

use crate::error::HooksError;
use crate::limits::CallLimits;
use crate::worker::Worker;

type Job = Box<dyn FnOnce(&mut Worker) + Send>;

/// Sizes of the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineConfig {
    /// Runtimes (threads) calls run on at once.
    pub runtimes: usize,
    /// Calls that may wait for a runtime.
    pub queue: usize,
    pub limits: CallLimits,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            runtimes: 4,
            queue: 256,
            limits: CallLimits::default(),
        }
    }
}

/// Deepest nesting of calls inside calls (a hook saving a record whose hook saves another...).
pub const NESTING_MAX: usize = 4;

/// The pool; cheap to clone. The threads stop once every clone is dropped.
#[derive(Clone)]
pub struct Engine {
    jobs: SyncSender<Job>,
    limits: CallLimits,
}

thread_local! {
    /// On a worker thread: the wall-clock deadline of each call running on it, outermost
    /// first (empty between calls, and on every other thread).
    static DEADLINES: RefCell<Vec<Instant>> = const { RefCell::new(Vec::new()) };
    /// On a worker thread: the runtimes of nested calls, one per depth, made when first
    /// needed.
    static NESTED: RefCell<Vec<Option<Worker>>> = const { RefCell::new(Vec::new()) };
}

impl Engine {
    pub fn start(config: EngineConfig) -> Result<Engine, HooksError> {
        let (jobs, queue) = sync_channel::<Job>(config.queue.max(1));
        let queue = Arc::new(Mutex::new(queue));
        for number in 0..config.runtimes.max(1) {
            let queue = Arc::clone(&queue);
            let limits = config.limits;
            std::thread::Builder::new()
                .name(format!("hooks-{number}"))
                .spawn(move || run_worker(&queue, limits))
                .map_err(|error| HooksError::Runtime(error.to_string()))?;
        }
        Ok(Engine {
            jobs,
            limits: config.limits,
        })
    }

    /// Run `job` on a free runtime; its result once it ran.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Worker) -> T + Send + 'static,
    ) -> Result<T, HooksError> {
        if let Some(depth) = nesting_depth() {
            return self.run_nested(depth, job);
        }
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move |worker| {
            let _ = done.send(job(worker));
        });
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(HooksError::Busy),
            Err(TrySendError::Disconnected(_)) => return Err(HooksError::Stopped),
        }
        result.await.map_err(|_| HooksError::Stopped)
    }

    /// Run `job` on this worker thread, inside the call at `depth`, bounded by its time.
    fn run_nested<T>(
        &self,
        depth: usize,
        job: impl FnOnce(&mut Worker) -> T,
    ) -> Result<T, HooksError> {
        if depth > NESTING_MAX {
            return Err(HooksError::TooDeep(NESTING_MAX));
        }
        let outer_deadline = DEADLINES.with(|deadlines| deadlines.borrow().last().copied());
        let mut limits = self.limits;
        if let Some(deadline) = outer_deadline {
            limits.wall = limits
                .wall
                .min(deadline.saturating_duration_since(Instant::now()));
        }
        let kept = NESTED.with(|nested| {
            nested
                .borrow_mut()
                .get_mut(depth - 1)
                .and_then(Option::take)
        });
        let mut worker = match kept {
            Some(worker) => worker,
            None => Worker::new(limits)?,
        };
        worker.set_limits(limits);
        let result = with_deadline(limits, || job(&mut worker));
        NESTED.with(|nested| {
            let mut nested = nested.borrow_mut();
            if nested.len() < depth {
                nested.resize_with(depth, || None);
            }
            nested[depth - 1] = Some(worker);
        });
        Ok(result)
    }
}

/// How deep a call inside the running call on this thread would be (`None`: this is not a
/// worker thread inside a call; only worker threads ever hold deadlines).
fn nesting_depth() -> Option<usize> {
    let depth = DEADLINES.with(|deadlines| deadlines.borrow().len());
    (depth > 0).then_some(depth)
}

/// Run `body` as a call with `limits`' wall clock, known to the calls nested in it.
fn with_deadline<T>(limits: CallLimits, body: impl FnOnce() -> T) -> T {
    DEADLINES.with(|deadlines| deadlines.borrow_mut().push(Instant::now() + limits.wall));
    let result = body();
    DEADLINES.with(|deadlines| deadlines.borrow_mut().pop());
    result
}

fn run_worker(queue: &Mutex<Receiver<Job>>, limits: CallLimits) {
    let mut worker = match Worker::new(limits) {
        Ok(worker) => worker,
        Err(error) => {
            tracing::error!(%error, "start a hooks runtime");
            return;
        }
    };
    loop {
        let job = {
            let queue = queue
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            queue.recv()
        };
        let Ok(job) = job else {
            return;
        };
        with_deadline(limits, || job(&mut worker));
    }
}
