//! Panics: reported once, through `tracing`, and a panicking handler answered with
//! PocketBase's 500 envelope while the node keeps serving.

use std::any::Any;
use std::backtrace::{Backtrace, BacktraceStatus};
use std::sync::Once;

use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// Report panics as `tracing` error events (inside the span of the request that panicked)
/// instead of the default hook's print to stderr, so each panic is logged once, in the log's
/// format. Where no subscriber takes error events (a test thread, `RUST_LOG=off`) the
/// previous hook prints it as before. Installing twice is a no-op.
pub fn log_panics_with_tracing() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !tracing::enabled!(tracing::Level::ERROR) {
                previous(info);
                return;
            }
            let message = payload_text(info.payload());
            let location = info.location().map(ToString::to_string).unwrap_or_default();
            let thread = std::thread::current();
            let thread = thread.name().unwrap_or("unnamed");
            let backtrace = Backtrace::capture();
            if backtrace.status() == BacktraceStatus::Captured {
                tracing::error!(panic = message, %location, thread, %backtrace, "panicked");
            } else {
                tracing::error!(panic = message, %location, thread, "panicked");
            }
        }));
    });
}

fn payload_text(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic payload that is not text")
}

/// `CatchPanicLayer`'s answer. The hook has logged the panic already, so this does not.
pub fn answer(_payload: Box<dyn Any + Send + 'static>) -> Response {
    ApiError::internal().into_response()
}
