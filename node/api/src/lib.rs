//! The public HTTP API: PocketBase's routes plus EdgeBase's cluster endpoints.

pub mod access;
pub mod admin_socket;
pub mod apple_client_secret;
pub mod auth;
pub mod backups;
pub mod batch;
pub mod client_address;
pub mod cluster;
pub mod collections;
pub mod collections_import;
pub mod conditional;
pub mod consistency;
pub mod console;
pub mod cors;
pub mod crons;
pub mod error;
pub mod extract;
pub mod fields_layer;
pub mod files;
pub mod health;
pub mod hooks_admin;
pub mod hooks_auth;
pub mod hooks_model;
pub mod hooks_replan;
pub mod hooks_requests;
pub mod hooks_routes;
pub mod http_server;
pub mod idempotency;
pub mod identity;
pub mod logs;
pub mod messages;
pub mod metrics;
pub mod oauth2_redirect;
pub mod paging;
pub mod panic;
pub mod rate_limit;
pub mod realtime;
pub mod records;
pub mod request_log;
pub mod settings;
pub mod superuser_ips;
pub mod test_email;
pub mod test_s3;
pub mod tls;

use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use edgebase_service::app::App;
use error::ApiError;

/// Every route, each PocketBase one bounded by `request_timeout`, in [`with_middleware`],
/// answering cross-origin requests from `origins` (`*`: any). A request no route takes goes
/// to the hooks' custom routes.
pub fn router(
    app: App,
    hub: edgebase_realtime::Hub,
    hooks: edgebase_hooks::Hooks,
    request_timeout: Duration,
    origins: &[String],
) -> Router {
    let routes = routes(&app, request_timeout)
        .layer(axum::Extension(hub))
        .layer(axum::Extension(hooks));
    cors::for_origins(with_middleware(routes, app), origins).merge(console::routes())
}

fn routes(app: &App, request_timeout: Duration) -> Router<App> {
    // The auth request hooks, around the auth routes (see `hooks_auth`).
    let auth_hooks = || axum::middleware::from_fn_with_state(app.clone(), hooks_auth::around);
    Router::new()
        .route("/api/health", get(health::health))
        .route("/api/health/ready", get(health::ready))
        .route("/api/crons", get(crons::list))
        .route("/api/messages", post(messages::send))
        .route("/api/messages/{id}", get(messages::view))
        .route(
            "/api/messaging/settings",
            get(messages::view_settings).patch(messages::update_settings),
        )
        .route(
            "/api/messaging/vapid-public-key",
            get(messages::vapid_public_key),
        )
        .route("/api/crons/{id}", post(crons::run))
        .route("/metrics", get(metrics::scrape))
        .route(
            "/api/collections",
            get(collections::list).post(collections::create),
        )
        .route(
            "/api/collections/meta/scaffolds",
            get(collections::scaffolds),
        )
        .route(
            "/api/collections/meta/oauth2-providers",
            get(collections::oauth2_providers),
        )
        .route(
            "/api/collections/import",
            axum::routing::put(collections_import::import),
        )
        .route(
            "/api/collections/{collection}/truncate",
            axum::routing::delete(collections::truncate),
        )
        .route(
            "/api/collections/{collection}",
            get(collections::view)
                .patch(collections::update)
                .delete(collections::delete),
        )
        .route(
            "/api/collections/{collection}/records",
            get(records::list).post(records::create),
        )
        .route(
            "/api/collections/{collection}/records/{id}",
            get(records::view)
                .patch(records::update)
                .delete(records::delete),
        )
        .route(
            "/api/collections/{collection}/auth-with-password",
            post(auth::password::auth_with_password).layer(auth_hooks()),
        )
        .route(
            "/api/collections/{collection}/auth-refresh",
            post(auth::refresh::auth_refresh).layer(auth_hooks()),
        )
        .route(
            "/api/collections/{collection}/auth-methods",
            get(auth::methods::auth_methods),
        )
        .route(
            "/api/collections/{collection}/auth-with-oauth2",
            post(auth::oauth2::auth_with_oauth2).layer(auth_hooks()),
        )
        .route(
            "/api/collections/{collection}/impersonate/{id}",
            post(auth::impersonate::impersonate),
        )
        .route(
            "/api/collections/{collection}/request-verification",
            post(auth::verification::request_verification).layer(auth_hooks()),
        )
        .route(
            "/api/collections/{collection}/confirm-verification",
            post(auth::verification::confirm_verification).layer(auth_hooks()),
        )
        .route(
            "/api/collections/{collection}/request-password-reset",
            post(auth::password_reset::request_password_reset).layer(auth_hooks()),
        )
        .route(
            "/api/collections/{collection}/confirm-password-reset",
            post(auth::password_reset::confirm_password_reset).layer(auth_hooks()),
        )
        .route(
            "/api/collections/{collection}/request-email-change",
            post(auth::email_change::request_email_change).layer(auth_hooks()),
        )
        .route(
            "/api/collections/{collection}/confirm-email-change",
            post(auth::email_change::confirm_email_change).layer(auth_hooks()),
        )
        .route(
            "/api/collections/{collection}/request-otp",
            post(auth::otp::request_otp).layer(auth_hooks()),
        )
        .route(
            "/api/collections/{collection}/auth-with-otp",
            post(auth::otp::auth_with_otp).layer(auth_hooks()),
        )
        .route(
            "/api/files/{collection}/{record}/{filename}",
            get(files::download::download),
        )
        .route("/api/files/token", post(files::token::file_token))
        .route(
            "/api/oauth2-redirect",
            get(oauth2_redirect::redirect_get)
                .post(oauth2_redirect::redirect_post)
                .layer(DefaultBodyLimit::max(
                    oauth2_redirect::REDIRECT_BODY_BYTES_MAX,
                )),
        )
        .route("/api/settings/test/email", post(test_email::test_email))
        .route("/api/settings/test/s3", post(test_s3::test_s3))
        .route(
            "/api/settings/apple/generate-client-secret",
            post(apple_client_secret::generate),
        )
        .route("/api/batch", post(batch::batch))
        .route("/api/settings", get(settings::view).patch(settings::update))
        .route_layer(axum::middleware::from_fn_with_state(
            request_timeout,
            http_server::request_timeout,
        ))
        // Cluster operations wait on catch-up and membership changes (minutes at most),
        // bounded by consensus; the request timeout above would cut them off.
        // A resumable upload's request runs as long as its body keeps coming (each chunk of it
        // bounded in time), not within the request timeout.
        .route(
            "/api/tus/{collection}/{record}/{field}",
            post(files::tus::create).options(files::tus::options),
        )
        .route(
            "/api/tus/uploads/{id}",
            axum::routing::head(files::tus::head)
                .patch(files::tus::patch)
                .delete(files::tus::terminate)
                .options(files::tus::options),
        )
        // A realtime stream lasts as long as its client.
        .route(
            "/api/realtime",
            get(realtime::connect).post(realtime::subscribe),
        )
        // A backup or an upload runs as long as its work or its body does.
        .route("/api/backups", get(backups::list).post(backups::create))
        .route("/api/backups/upload", post(backups::upload))
        .route(
            "/api/hooks",
            get(hooks_admin::view)
                .post(hooks_admin::deploy)
                .delete(hooks_admin::withdraw),
        )
        .route("/api/backups/{key}/restore", post(backups::restore))
        .route(
            "/api/backups/{key}",
            get(backups::download).delete(backups::delete),
        )
        .route("/api/logs", get(logs::list).delete(logs::clear))
        .route("/api/logs/stats", get(logs::stats))
        .route("/api/logs/{id}", get(logs::view))
        .route("/api/cluster/status", get(cluster::status))
        .route("/api/cluster/snapshot", post(cluster::snapshot))
        .route("/api/cluster/state-hash", get(cluster::state_hash))
        .route("/api/cluster/learners", post(cluster::add_learner))
        .route("/api/cluster/members/{id}/promote", post(cluster::promote))
        .route("/api/cluster/members/{id}", delete(cluster::remove))
        .route("/api/cluster/leader", post(cluster::transfer_leader))
        .fallback(hooks_routes::serve)
        // PocketBase answers a known path with an unknown method as a missing route.
        .method_not_allowed_fallback(|| async { ApiError::not_found() })
}

/// The middleware every request goes through, around `routes`. Panics are caught outermost,
/// so a panic anywhere in the stack answers PocketBase's 500 (logged once, by the hook in
/// [`panic`]; inside `TraceLayer` its failure would be logged again).
pub fn with_middleware(routes: Router<App>, app: App) -> Router {
    let body_limit = app.limits().body_bytes_max;
    routes
        .layer(axum::middleware::from_fn(fields_layer::pick_fields))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            superuser_ips::whitelist,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            rate_limit::limit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            consistency::index_header,
        ))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            request_log::record,
        ))
        .layer(TraceLayer::new_for_http())
        .layer(axum::middleware::from_fn(metrics::track))
        .with_state(app)
        .layer(CatchPanicLayer::custom(panic::answer))
}
