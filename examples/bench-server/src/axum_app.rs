//! The routes on axum: `/open` bare, `/guarded` behind `ApiKeyLayer` requiring `projects:read`.

use std::net::SocketAddr;
use std::time::Duration;

use apikey_axum::{ApiKeyLayer, Verified};
use axum::Router;
use axum::routing::get;

use crate::{Args, BoxError, backend, stop_signal};

async fn open() -> &'static str {
    "ok\n"
}

async fn guarded(_key: Verified) -> &'static str {
    "ok\n"
}

/// Serves until [`stop_signal`], then cleans up.
pub(crate) async fn serve(args: &Args) -> Result<(), BoxError> {
    let setup = backend::setup(args).await?;
    let app = Router::new()
        .route("/guarded", get(guarded))
        .route_layer(
            ApiKeyLayer::new(setup.keys.verifier().clone())
                .require(["projects:read"])
                .rate_limit_fields_on_success(!args.no_rate_limit_fields),
        )
        .route("/open", get(open));
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stop_signal(Duration::from_secs(args.max_secs)))
    .await?;
    setup.finish().await
}
