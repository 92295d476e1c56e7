//! The routes on axum: `/open` bare, `/guarded` behind `ApiKeyLayer` requiring `projects:read`.

use std::net::SocketAddr;
use std::time::Duration;

use apikey_axum::routes::{Routes, any_key, public};
use apikey_axum::{ApiKeyLayer, Verified};
use apikey_core::Verifier;
use apikey_core::request_log::RequestLog;

use crate::{Args, BoxError, backend, stop_signal};

async fn open() -> &'static str {
    "ok\n"
}

async fn guarded(_key: Verified) -> &'static str {
    "ok\n"
}

/// `/guarded` behind a layer requiring `projects:read` (the layer's own scopes, so there is no
/// per-route check to measure), `/open` public.
fn routes(verifier: Verifier, fields_on_success: bool, log: Option<RequestLog>) -> Routes {
    let mut layer = ApiKeyLayer::new(verifier)
        .require(["projects:read"])
        .rate_limit_fields_on_success(fields_on_success);
    if let Some(log) = log {
        layer = layer.request_log(log);
    }
    Routes::new(layer)
        .get("/guarded", guarded, any_key())
        .get("/open", open, public())
}

/// Serves until [`stop_signal`], then cleans up.
pub(crate) async fn serve(args: &Args) -> Result<(), BoxError> {
    let setup = backend::setup(args).await?;
    let app = routes(
        setup.keys.verifier().clone(),
        !args.no_rate_limit_fields,
        setup.request_log.clone(),
    )
    .into_router();
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stop_signal(Duration::from_secs(args.max_secs)))
    .await?;
    setup.finish().await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use apikey_core::ApiKeys;
    use apikey_core::routes::Access;
    use apikey_memory::MemoryStore;

    #[test]
    fn every_route_declares_its_scopes() {
        let keys = ApiKeys::builder(Arc::new(MemoryStore::new()))
            .random_peppers_keys_die_at_exit()
            .build()
            .unwrap();
        let routes = super::routes(keys.verifier().clone(), true, None);
        apikey_testkit::assert_routes_declared(routes.table());
        let guarded = routes.table().access("GET", "/guarded").unwrap();
        assert_eq!(guarded.required()[0].as_str(), "projects:read");
        assert_eq!(routes.table().access("GET", "/open"), Some(&Access::Public));
    }
}
