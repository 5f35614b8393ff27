//! A fixed pool of worker threads, each owning one JavaScript runtime, fed through one
//! bounded queue: a call waits for a free runtime, and when every runtime is busy and the
//! queue is full the call is refused at once ([`HooksError::Busy`]) instead of piling up.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

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

/// The pool; cheap to clone. The threads stop once every clone is dropped.
#[derive(Clone)]
pub struct Engine {
    jobs: SyncSender<Job>,
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
        Ok(Engine { jobs })
    }

    /// Run `job` on a free runtime; its result once it ran.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Worker) -> T + Send + 'static,
    ) -> Result<T, HooksError> {
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
        job(&mut worker);
    }
}
