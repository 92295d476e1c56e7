//! `apikey serve [--listen ADDR] [--init] [--github-keys FILE|URL]`: the key service
//! (`apikey-server`) over this database. It prints the address it listens on, stops gracefully on
//! SIGINT/SIGTERM, and then (in `run_with`) flushes usage.
//!
//! With `--redis-url`, instances share Redis: its cache, its limiter, and its invalidation
//! channel, which both of this instance's verifiers (the service's guard and the keys it serves)
//! listen on, so a revocation on one instance is refused by every other within a second.

use std::net::SocketAddr;
use std::sync::Arc;

use apikey_core::{
    ADMIN_TENANT, ApiKeys, KeyFilter, KeyState, TenantId, TenantScope, VerifierConfig,
};
use apikey_memory::MemoryLimiter;
use apikey_redis::RevocationListener;

use crate::cli_serve::ServeArgs;
use crate::commands::{Ctx, printed};
use crate::error::{CliError, Exit};

pub(crate) async fn run(ctx: &Ctx, a: ServeArgs) -> Result<Exit, CliError> {
    // Checked first, so a bad file changes nothing (no root key) and never half-starts a service.
    let github = a
        .github_keys
        .as_deref()
        .map(apikey_server::GithubKeys::from_arg)
        .transpose()
        .map_err(|e| CliError::usage(format!("--github-keys: {e}")))?;
    let proxies = apikey_core::ClientIpResolver::with_trusted_proxies(&a.trusted_proxies)
        .map_err(|e| CliError::usage(format!("--trusted-proxy: {}", e.message())))?;
    let mut admin = ApiKeys::builder(ctx.db.key_store())
        .peppers(ctx.peppers.clone())
        .limiter(Arc::new(MemoryLimiter::new(Arc::new(
            apikey_core::SystemClock,
        ))))
        .config(VerifierConfig {
            admin_keys: true,
            cache_ttl: ctx.cache_ttl,
            ..VerifierConfig::default()
        });
    if let Some((_, cache)) = &ctx.redis {
        admin = admin.shared_cache(Arc::new(cache.clone()));
    }
    let admin = admin.build()?;
    let mut service = apikey_server::Service::new(admin.clone(), ctx.keys.clone())?
        .audit_log(ctx.db.audit_store())
        .request_log(ctx.db.request_log())
        .analytics(ctx.db.analytics())
        // Browsers keep a Secure cookie over plain HTTP on loopback only.
        .dashboard_secure_cookies(!a.listen.ip().is_loopback())
        .trusted_proxies(proxies)
        .cors_origins(&a.cors_origins)
        .map_err(|e| CliError::usage(format!("--cors-origin: {}", e.message())))?;
    if let Some(handle) = &ctx.metrics {
        service = service.metrics(handle.clone());
        // Keeps the recorder's histograms bounded between scrapes.
        let handle = handle.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
            loop {
                tick.tick().await;
                handle.run_upkeep();
            }
        });
    }
    if let Some(g) = github {
        service = service.github_keys(g);
    }
    let admin_tenant = TenantId::new(ADMIN_TENANT).expect("the reserved tenant is valid");
    if a.init {
        let existing = ctx
            .keys
            .manager()
            .query(
                &TenantScope::Tenant(admin_tenant),
                &KeyFilter {
                    states: vec![KeyState::Active, KeyState::Suspended, KeyState::Pending],
                    limit: 1,
                    ..KeyFilter::default()
                },
            )
            .await?;
        if !existing.items.is_empty() {
            return Err(CliError::usage(
                "an admin key exists already: --init makes the first one only",
            ));
        }
        let root = apikey_server::create_root_key(&ctx.keys).await?;
        if ctx.json {
            printed(
                ctx.out
                    .json(&serde_json::json!({ "token": root.token.expose() })),
            )?;
        } else {
            printed(
                ctx.out
                    .line(&format!("root admin key: {}", root.token.expose())),
            )?;
        }
        eprintln!("{}", crate::commands::create::SHOWN_ONCE);
    }
    // After --init's checks: a refused start makes no key-encryption key either.
    let hooks = webhooks(ctx);
    if let Some(h) = &hooks {
        service = service.webhooks(h.clone());
    }
    let listeners = match &ctx.redis {
        Some((conn, cache)) => vec![
            RevocationListener::builder(conn, cache, ctx.keys.verifier().clone())
                .name(format!("apikey serve {}", std::process::id()))
                .spawn()?,
            RevocationListener::builder(conn, cache, admin.verifier().clone())
                .name(format!("apikey serve {} (admin)", std::process::id()))
                .spawn()?,
        ],
        None => Vec::new(),
    };
    let app = service.into_router()?;
    // The delivery job (and the purge of old deliveries) and the audit checkpoints under leases
    // in this database, so several instances run each once; stopped, leases released, after the
    // server.
    let (stop_jobs, jobs_stopped) = tokio::sync::oneshot::channel::<()>();
    let jobs = match hooks {
        Some(h) => {
            let clock: Arc<dyn apikey_core::Clock> = Arc::new(apikey_core::SystemClock);
            let scheduler =
                apikey_core::jobs::Scheduler::builder(ctx.db.lease_store(), clock.clone())
                    .job(apikey_webhooks::Dispatcher::new(
                        h,
                        apikey_webhooks::DispatchConfig::default(),
                    )?)
                    .job(apikey_webhooks::DeliveryRetention::new(
                        ctx.db.webhook_store(),
                        clock.clone(),
                        apikey_webhooks::DEFAULT_DELIVERY_RETENTION,
                    )?)
                    // The KEK that seals webhook secrets also seals the checkpoints' MAC keys.
                    .job(apikey_core::audit::chain::AuditCheckpointJob::new(
                        ctx.db.audit_store(),
                        clock,
                        apikey_core::secret_box::SecretBox::new(crate::kek::load(
                            &ctx.target,
                            true,
                        )?),
                    ))
                    .build()?;
            Some(tokio::spawn(async move {
                scheduler
                    .run_until(async {
                        let _ = jobs_stopped.await;
                    })
                    .await
            }))
        }
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .map_err(|e| CliError::usage(format!("cannot listen on {}: {e}", a.listen)))?;
    let addr = listener.local_addr()?;
    if ctx.json {
        printed(
            ctx.out
                .json(&serde_json::json!({ "listening": format!("http://{addr}") })),
        )?;
    } else {
        printed(ctx.out.line(&format!("listening on http://{addr}")))?;
    }
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(apikey_core::shutdown_signal())
    .await?;
    let _ = stop_jobs.send(());
    if let Some(j) = jobs {
        match j.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "the webhook delivery job failed"),
            Err(e) => tracing::error!(error = %e, "the webhook delivery job panicked"),
        }
    }
    for l in listeners {
        l.shutdown().await;
    }
    admin.shutdown(apikey_core::SHUTDOWN_DEADLINE).await;
    Ok(Exit::Ok)
}

/// Webhooks, when their secrets can be sealed: with the SQLite default a key-encryption key is
/// made beside the database (as `apikey webhooks create` does); elsewhere `APIKEY_KEK` must be
/// set, and without it the service runs without webhooks and says so.
fn webhooks(ctx: &Ctx) -> Option<apikey_webhooks::Webhooks> {
    match crate::kek::load(&ctx.target, true) {
        Ok(keks) => Some(apikey_webhooks::Webhooks::new(
            ctx.db.webhook_store(),
            ctx.db.audit_store(),
            Arc::new(apikey_core::secret_box::SecretBox::new(keks)),
            Arc::new(apikey_core::SystemClock),
        )),
        Err(e) => {
            eprintln!("webhooks are off: {e}");
            None
        }
    }
}
