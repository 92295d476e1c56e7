//! Peer rows on axum: the same two routes with `/guarded` behind a guard an axum user could pick
//! instead of ours, so `cargo xtask bench-http` shows what our guard costs beside theirs.
//!
//! - `bearer`: tower-http's `ValidateRequestHeaderLayer::bearer` with one static token, the
//!   cheapest guard there is (one header compared with one string; no key store, no scopes, no
//!   limits, no revocation).
//! - `governor`: `tower_governor` keyed by the `x-api-key` header with its rate-limit headers on,
//!   an in-process rate limit that verifies nothing, with a quota no run reaches.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::http::Request;
use axum::routing::get;
use tower_governor::GovernorError;
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::KeyExtractor;
use tower_http::validate_request::ValidateRequestHeaderLayer;

use crate::{Args, BoxError, Guard, backend, stop_signal};

async fn ok() -> &'static str {
    "ok\n"
}

/// Keys `tower_governor` by the API-key header, as a user limiting per key would.
#[derive(Debug, Clone, Copy)]
struct ApiKeyHeader;

impl KeyExtractor for ApiKeyHeader {
    type Key = String;

    fn extract<T>(&self, req: &Request<T>) -> Result<String, GovernorError> {
        req.headers()
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or(GovernorError::UnableToExtractKey)
    }
}

/// Serves the peer `guard` until [`stop_signal`], then cleans up.
pub(crate) async fn serve(args: &Args, guard: Guard) -> Result<(), BoxError> {
    let setup = backend::setup(args).await?;
    let token = setup
        .first_token
        .as_ref()
        .ok_or("no key was created")?
        .expose();
    let guarded = Router::new().route("/guarded", get(ok));
    let guarded = match guard {
        // tower-http deprecates it as "too basic to be useful in real applications": that is
        // the point of this row, the floor any guard pays.
        #[allow(deprecated)]
        Guard::Bearer => guarded.route_layer(ValidateRequestHeaderLayer::bearer(token)),
        Guard::Governor => {
            // One cell per microsecond with a burst of 2³¹: never limited in a run, always decided.
            let config = GovernorConfigBuilder::default()
                .per_nanosecond(1_000)
                .burst_size(1 << 31)
                .key_extractor(ApiKeyHeader)
                .use_headers()
                .finish()
                .ok_or("tower_governor refused the configuration")?;
            guarded.route_layer(GovernorLayer::new(config))
        }
        Guard::Apikey => return Err("the apikey guard is served by axum_app".into()),
    };
    let app = guarded.route("/open", get(ok));
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stop_signal(Duration::from_secs(args.max_secs)))
    .await?;
    setup.finish().await
}
