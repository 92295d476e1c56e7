//! The routes on actix-web: `/open` bare, `/guarded` wrapped in `ApiKeyAuth` requiring
//! `projects:read`.

use std::time::Duration;

use actix_web::{App, HttpServer, web};
use apikey_actix::{ApiKeyAuth, Verified};

use crate::{Args, BoxError, backend, stop_signal};

async fn open() -> &'static str {
    "ok\n"
}

async fn guarded(_key: Verified) -> &'static str {
    "ok\n"
}

/// Serves until [`stop_signal`], then cleans up. Runs inside the actix system of `main`.
pub(crate) async fn serve(args: &Args) -> Result<(), BoxError> {
    let setup = backend::setup(args).await?;
    let auth = ApiKeyAuth::new(setup.keys.verifier().clone())
        .require(["projects:read"])
        .rate_limit_fields_on_success(!args.no_rate_limit_fields);
    let server = HttpServer::new(move || {
        App::new().route("/open", web::get().to(open)).service(
            web::resource("/guarded")
                .wrap(auth.clone())
                .route(web::get().to(guarded)),
        )
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
