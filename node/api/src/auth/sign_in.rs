//! What the three sign-in routes (password, OTP, OAuth2) start from, as one extractor: the
//! read barrier, the auth collection named in the path, who is asking (a superuser may sign
//! in as a record and see its hidden fields), the client as the settings' trusted proxy
//! headers resolve it, and the URI (an `mfaId` may come in the query).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::Uri;

use crate::auth::auth_collection;
use crate::consistency::Fresh;
use crate::error::ApiError;
use edgebase_service::app::{App, LoadedCollection};
use edgebase_service::auth_alert::ClientInfo;
use edgebase_service::caller::Caller;

pub struct SignIn {
    pub app: App,
    pub loaded: LoadedCollection,
    pub caller: Caller,
    pub client: ClientInfo,
    pub uri: Uri,
}

impl FromRequestParts<App> for SignIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        Fresh::from_request_parts(parts, app).await?;
        let Path(collection) = Path::<String>::from_request_parts(parts, app)
            .await
            .map_err(|_| ApiError::not_found())?;
        let loaded = auth_collection(app, &collection)?;
        let caller = crate::identity::caller(app, &parts.method, &parts.uri, &parts.headers)?;
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| *peer);
        let client = crate::identity::client_info(app, &parts.headers, peer);
        Ok(SignIn {
            app: app.clone(),
            loaded,
            caller,
            client,
            uri: parts.uri.clone(),
        })
    }
}
