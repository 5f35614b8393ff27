//! A record write with request or model hooks around it is made in one attempt per pass of
//! its hooks: when a condition its plan relied on went stale before it applied, nothing was
//! written, and the whole chain runs again on the fresher state before the write is planned
//! again (at most `write_attempts_max` passes). What the hooks decided is in the command, and
//! it is never carried onto records they did not see. A write with no such hooks re-plans
//! by itself, as every write does.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use edgebase_service::app::App;
use futures::future::BoxFuture;

use crate::error::ApiError;

/// Run `pass` (the hooks around one attempt of the write; it sets the flag it is given when
/// that attempt met a stale condition) until an attempt settles. `hooked: false`: one pass,
/// with no flag (the write re-plans by itself).
pub async fn until_settled<'a>(
    app: &App,
    hooked: bool,
    mut pass: impl FnMut(Option<Arc<AtomicBool>>) -> BoxFuture<'a, Result<Response, ApiError>>,
) -> Result<Response, ApiError> {
    if !hooked {
        return pass(None).await;
    }
    let passes = app.limits().write_attempts_max.max(1);
    let mut number = 1;
    loop {
        let stale = Arc::new(AtomicBool::new(false));
        let answer = pass(Some(Arc::clone(&stale))).await;
        if !stale.load(Ordering::SeqCst) {
            return answer;
        }
        if number >= passes {
            // Whatever the last pass answered (a conflict, or the refusal of a version the
            // request never named), the write did not happen for want of passes.
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "The record changed concurrently too many times; retry.",
            ));
        }
        tracing::debug!(
            pass = number,
            "a hooked write met a stale condition; its hooks run again"
        );
        number += 1;
    }
}
