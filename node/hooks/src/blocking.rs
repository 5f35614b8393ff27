//! Waiting on the node's async runtime from a worker thread. A native that waits (for a
//! write, an HTTP exchange) blocks its worker thread until the future is done; the future
//! may itself run hooks on this thread (a nested call, see `engine.rs`) whose natives wait
//! again. Tokio's `Handle::block_on` and the `futures` executor both refuse to nest, so the
//! future is polled here, with the runtime entered (timers and sockets stay the runtime's,
//! driven by its own threads), parking the thread between wake-ups. Each wait has its own
//! wake flag: a wake-up meant for an outer wait that an inner one's park swallowed is still
//! seen by the outer wait when it polls again.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;

use crate::limits::Watchdog;

struct Woken {
    thread: Thread,
    flag: AtomicBool,
}

impl Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.flag.store(true, Ordering::Release);
        self.thread.unpark();
    }
}

/// Drive `work` to completion on this thread, inside `runtime`'s context.
pub fn wait<T>(runtime: &tokio::runtime::Handle, work: impl Future<Output = T>) -> T {
    let _entered = runtime.enter();
    let mut work = std::pin::pin!(work);
    let woken = Arc::new(Woken {
        thread: std::thread::current(),
        flag: AtomicBool::new(false),
    });
    let waker = Waker::from(Arc::clone(&woken));
    let mut context = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(value) = work.as_mut().poll(&mut context) {
            return value;
        }
        while !woken.flag.swap(false, Ordering::AcqRel) {
            std::thread::park();
        }
    }
}

/// [`wait`] within the running call's time left: `None` when it ran out (the call is then
/// marked stopped by its wall clock).
pub fn wait_within<T>(
    runtime: &tokio::runtime::Handle,
    watchdog: &Watchdog,
    work: impl Future<Output = T>,
) -> Option<T> {
    let remaining = watchdog.remaining();
    let done = wait(runtime, async {
        tokio::time::timeout(remaining, work).await
    });
    if done.is_err() {
        watchdog.wall_exhausted();
    }
    done.ok()
}
