//! `superuserIPs`: when the settings list addresses, a superuser's request from any other
//! address is refused (403), as PocketBase's whitelist middleware does.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::client_address::{client_address, in_list, peer};
use crate::error::ApiError;
use edgebase_service::app::App;
use edgebase_service::principal::Principal;

/// Whether a superuser may act from `address`: the settings list none, or list it.
pub fn superuser_allowed_at(app: &App, address: &str) -> bool {
    match app.settings() {
        Ok(settings) => {
            settings.superuser_ips.is_empty() || in_list(&settings.superuser_ips, address)
        }
        Err(_) => true,
    }
}

pub async fn whitelist(State(app): State<App>, request: Request, next: Next) -> Response {
    let Ok(settings) = app.settings() else {
        return next.run(request).await;
    };
    if settings.superuser_ips.is_empty() {
        return next.run(request).await;
    }
    // The rate-limit layer outside this one may have resolved the identity already.
    let is_superuser = match request.extensions().get::<Principal>() {
        Some(principal) => principal.is_superuser(),
        None => crate::identity::principal(&app, request.headers())
            .map(|principal| principal.is_superuser())
            .unwrap_or(false),
    };
    if is_superuser {
        let client = client_address(&settings, request.headers(), peer(&request));
        if !in_list(&settings.superuser_ips, &client) {
            tracing::warn!(
                client,
                "superuser request from an address not in superuserIPs"
            );
            return ApiError::forbidden("You are not allowed to perform this request.")
                .into_response();
        }
    }
    next.run(request).await
}
