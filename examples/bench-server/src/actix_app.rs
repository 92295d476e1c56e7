//! The routes on actix-web: `/open` bare, `/guarded` wrapped in `ApiKeyAuth` requiring
//! `projects:read`.

use std::time::Duration;

use actix_web::{App, HttpServer};
use apikey_actix::routes::{Routes, any_key, public};
use apikey_actix::{ApiKeyAuth, Verified};
use apikey_core::Verifier;
use apikey_core::request_log::RequestLog;

use crate::{Args, BoxError, backend, stop_signal};

async fn open() -> &'static str {
    "ok\n"
}

async fn guarded(_key: Verified) -> &'static str {
    "ok\n"
}

/// `/guarded` wrapped in an `ApiKeyAuth` requiring `projects:read` (its own scopes, so there is
/// no per-route check to measure), `/open` public.
fn routes(verifier: Verifier, fields_on_success: bool, log: Option<RequestLog>) -> Routes {
    let mut auth = ApiKeyAuth::new(verifier)
        .require(["projects:read"])
        .rate_limit_fields_on_success(fields_on_success);
    if let Some(log) = log {
        auth = auth.request_log(log);
    }
    Routes::new(auth)
        .get("/guarded", guarded, any_key())
        .get("/open", open, public())
}

/// Serves until [`stop_signal`], then cleans up. Runs inside the actix system of `main`.
pub(crate) async fn serve(args: &Args) -> Result<(), BoxError> {
    let setup = backend::setup(args).await?;
    let routes = routes(
        setup.keys.verifier().clone(),
        !args.no_rate_limit_fields,
        setup.request_log.clone(),
    );
    let server = HttpServer::new(move || {
        let routes = routes.clone();
        App::new().configure(move |cfg| routes.configure(cfg))
    })
    .workers(args.workers)
    .disable_signals()
    .bind(args.addr)?
    .run();
    let handle = server.handle();
    let max = Duration::from_secs(args.max_secs);
    actix_web::rt::spawn(async move {
        stop_signal(max).await;
        handle.stop(true).await;
    });
    server.await?;
    setup.finish().await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use apikey_core::ApiKeys;
    use apikey_memory::MemoryStore;

    #[test]
    fn every_route_declares_its_scopes() {
        let keys = ApiKeys::builder(Arc::new(MemoryStore::new()))
            .random_peppers_keys_die_at_exit()
            .build()
            .unwrap();
        apikey_testkit::assert_routes_declared(
            super::routes(keys.verifier().clone(), true, None).table(),
        );
    }
}
