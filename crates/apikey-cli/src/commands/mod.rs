//! Runs a parsed command: opens the database, resolves the pepper, builds [`ApiKeys`] and hands
//! over to the command's module.
//!
//! Schema policy: SQLite databases are migrated by every command (the file belongs to the CLI and
//! the check is cheap); server databases (PostgreSQL, MySQL/MariaDB) are migrated only by `create`,
//! `import` and `migrate`, so read-only and lifecycle commands never run DDL on a shared server.
//! Only `create`, `import` and `migrate` create a missing SQLite file.

mod audit;
mod audit_verify;
mod bulk;
mod bulk_file;
mod catalog;
mod compliance;
mod confirm;
mod create;
mod fanout;
mod history;
mod instances;
mod jobs;
mod lifecycle;
mod list;
mod migrate;
mod nest;
mod organise;
mod policies;
mod pools;
mod portable;
mod report;
mod requests;
mod rotate;
mod score;
mod serve;
mod signing;
mod token_sink;
mod update;
mod usage;
mod verify;
mod webhooks;

use std::sync::Arc;

use apikey_core::{ApiKeys, KeyId, LookupId, SystemClock, TenantScope, VerifierConfig};
use apikey_memory::MemoryLimiter;

use crate::cli::{Cli, Command};
use crate::db::{Database, Kind, Target};
use crate::error::{CliError, Exit};
use crate::output::Out;
use crate::pepper::{self, Need};

/// Everything a command works with.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) keys: ApiKeys,
    pub(crate) db: Database,
    pub(crate) target: Target,
    pub(crate) tenant: TenantScope,
    pub(crate) actor: Option<String>,
    pub(crate) json: bool,
    pub(crate) out: Out,
    /// Whether the limiter is the services' Redis (`--redis-url`), where credit balances live.
    pub(crate) shared_limiter: bool,
    /// The peppers, for a second verifier over the same store (`serve`'s admin guard).
    pub(crate) peppers: apikey_core::Peppers,
    /// The services' `cache_ttl`.
    pub(crate) cache_ttl: std::time::Duration,
    /// The services' Redis and its cache (`--redis-url`), for `serve` to listen for the other
    /// instances' invalidations.
    pub(crate) redis: Option<(apikey_redis::RedisConnection, apikey_redis::RedisCache)>,
    /// The Prometheus recorder `serve` installed, for its `/metrics`.
    pub(crate) metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
}

impl Ctx {
    /// Resolves a key argument: a UUID, a 12-character lookup id (as shown by `list`), or an
    /// alias.
    pub(crate) async fn key_id(&self, arg: &str) -> Result<KeyId, CliError> {
        let arg = arg.trim();
        if let Ok(id) = arg.parse::<KeyId>() {
            return Ok(id);
        }
        if let Ok(lookup) = LookupId::parse(arg) {
            let found = self.db.key_store().find_by_lookup_id(&lookup).await?;
            if let Some(r) = found.filter(|r| self.tenant.admits(r.tenant_id.as_ref())) {
                return Ok(r.id);
            }
            // An alias may look like a lookup id: try it as one before giving up.
        }
        match self.keys.manager().resolve(&self.tenant, arg).await {
            Ok(r) => Ok(r.id),
            Err(e) if e.kind() == apikey_core::ErrorKind::NotFound => Err(CliError::new(
                Exit::NotFound,
                format!("no key with id, lookup id or alias {arg:?}"),
            )
            .hint("run `apikey list` to see ids (add --all to include revoked keys)")),
            Err(e) => Err(e.into()),
        }
    }

    /// The current time.
    pub(crate) fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now()
    }
}

/// What the command needs of the database and the pepper.
fn needs(command: &Command) -> (bool, Need) {
    match command {
        Command::Create(_) => (true, Need::Create),
        Command::Import(_) | Command::Migrate => (true, Need::None),
        Command::Rotate(_) | Command::Verify(_) | Command::Clone(_) => (false, Need::Existing),
        // The first start of a service makes its database, like `create`.
        Command::Serve(a) if a.init => (true, Need::Create),
        Command::Serve(_) => (false, Need::Existing),
        // Presets and bulk creation are where a new database starts, like `create`.
        Command::Templates(crate::cli_programme::TemplatesCommand::Create { .. })
        | Command::Groups(crate::cli_programme::GroupsCommand::Create { .. })
        | Command::Pools(crate::cli_pools::PoolsCommand::Create(_))
        | Command::Bulk(crate::cli_programme::BulkCommand::Create { .. }) => (true, Need::Create),
        _ => (false, Need::None),
    }
}

/// Whether the command makes a new request-signing secret (and so may create the KEK file).
fn issues_signing_secret(command: &Command) -> bool {
    match command {
        Command::Create(a) => a.protect.signing.is_some(),
        Command::Signing(c) => !matches!(c, crate::cli_signing::SigningCommand::Remove { .. }),
        _ => false,
    }
}

/// Whether the command waits for the running instances (`--confirm`).
fn wants_confirmation(command: &Command) -> bool {
    match command {
        Command::Revoke(a) | Command::Suspend(a) => a.confirm.confirm,
        Command::Rotate(a) => a.confirm.confirm,
        _ => false,
    }
}

/// Runs `cli`, returning the exit code of a command that finished (for `verify`, 0 or 1).
pub(crate) async fn run(cli: Cli) -> Result<Exit, CliError> {
    if matches!(cli.command, Command::Instances) {
        // Redis only: no database, no pepper.
        return instances::run(&cli).await;
    }
    if wants_confirmation(&cli.command) && cli.redis_url.is_none() {
        return Err(CliError::usage(
            "--confirm needs --redis-url (or REDIS_URL): the Redis the running services share",
        ));
    }
    let target = Target::parse(&cli.database_url)?;
    let (writes_schema, need) = needs(&cli.command);
    // Configuration first, so a missing pepper never waits on the network.
    let resolved = pepper::resolve(need, &target)?;
    let db = target.connect(writes_schema).await?;
    run_with(cli, target, db, resolved, writes_schema).await
}

async fn run_with(
    cli: Cli,
    target: Target,
    db: Database,
    resolved: apikey_core::hash::PepperPlan,
    writes_schema: bool,
) -> Result<Exit, CliError> {
    if writes_schema || target.kind() == Kind::Sqlite {
        db.migrate().await.map_err(|e| {
            let e = CliError::from(e);
            CliError {
                message: format!("cannot migrate the schema: {}", target.scrub(&e.message)),
                ..e
            }
        })?;
    }
    let store = db.key_store();
    let peppers = pepper::finish(resolved, store.as_ref()).await?;
    let clock = Arc::new(SystemClock);
    // With the services' Redis (one connection): their cache and confirmer, and their limiter,
    // so `verify` charges the shared pools and `credits` reads and adjusts the balances there.
    // Unreachable, stand-ins report it, the in-process limiter decides (a change to a key must
    // still go through), and credit commands say Redis is needed.
    let fanout = match &cli.redis_url {
        Some(url) => Some(fanout::connect(url, &cli.redis_prefix, &peppers).await?),
        None => None,
    };
    if let (Command::Serve(_), Some(why)) = (
        &cli.command,
        fanout.as_ref().and_then(|f| f.unreachable.clone()),
    ) {
        // A one-shot command commits and reports; a service that could neither hear nor tell
        // the other instances about revocations must not start.
        return Err(
            CliError::unavailable(format!("redis is unreachable: {why}")).hint(
                "check that Redis is running and that --redis-url (or REDIS_URL) points at it",
            ),
        );
    }
    let redis = fanout.as_ref().and_then(|f| f.redis.clone());
    let shared = fanout.as_ref().and_then(|f| f.limiter.clone());
    let shared_limiter = shared.is_some();
    let limiter: Arc<dyn apikey_core::RateLimiter> =
        shared.unwrap_or_else(|| Arc::new(MemoryLimiter::new(clock.clone())));
    // Before the verifier is built: its metric handles register with the recorder installed then.
    let metrics = if matches!(cli.command, Command::Serve(_)) {
        Some(crate::metrics::install()?)
    } else {
        None
    };
    let mut builder = ApiKeys::builder(store)
        .tenant_settings(db.tenant_settings())
        .catalog(db.catalog())
        // history, diff and rollback read the key's versions back from the audit log.
        .audit(db.audit_store())
        .limiter(limiter)
        .clock(clock)
        .config(VerifierConfig {
            cache_ttl: cli.cache_ttl,
            // Only a long-running service sees enough traffic to judge.
            threats: match &cli.command {
                Command::Serve(a) => a.threats.policy(),
                _ => apikey_core::threat::ThreatPolicy::default(),
            },
            ..VerifierConfig::default()
        });
    if matches!(cli.command, Command::Serve(_)) {
        let mut sinks: Vec<Arc<dyn apikey_core::EventSink>> = vec![
            Arc::new(apikey_core::TracingSink),
            Arc::new(apikey_core::audit::ThreatLog::new(db.audit_store())),
        ];
        // With Redis, the network detectors' counts add up across instances, and a network
        // one instance blocks is blocked by every instance.
        if let Some((conn, cache)) = &redis {
            let share = Arc::new(apikey_redis::RedisThreatShare::new(conn.clone(), cache));
            sinks.push(share.clone());
            builder = builder.threat_counts(share);
        }
        builder = builder.events(Arc::new(apikey_core::event::FanOut(sinks)));
    }
    if let Some(fanout) = fanout {
        builder = builder
            .shared_cache(fanout.cache)
            .confirmer(fanout.confirmer);
    }
    // Signing secrets are sealed under the KEK: made beside a SQLite file when a command issues
    // one; otherwise used when there is one (a rotation re-seals a key's secret).
    // The service issues signing (and webhook) secrets too, but also runs without a KEK.
    let serve = matches!(cli.command, Command::Serve(_));
    let keks = match crate::kek::load(&target, issues_signing_secret(&cli.command) || serve) {
        Ok(keks) => Some(keks),
        Err(e) if issues_signing_secret(&cli.command) => return Err(e),
        Err(_) => None,
    };
    if let Some(keks) = keks {
        builder = builder.secret_box(apikey_core::SecretBox::new(keks));
    }
    let keys = builder.peppers(peppers.clone()).build()?;
    let actor = cli
        .actor
        .or_else(|| std::env::var("USER").ok())
        .filter(|a| !a.trim().is_empty());
    let ctx = Ctx {
        keys,
        db,
        target,
        tenant: cli.tenant.map_or(TenantScope::All, TenantScope::Tenant),
        actor,
        json: cli.json,
        out: Out,
        shared_limiter,
        peppers,
        cache_ttl: cli.cache_ttl,
        redis,
        metrics,
    };
    // A signal stops the command where it is: an open transaction rolls back, a committed change
    // stays. Either way the usage already counted (by `verify`) is written before exiting.
    let result = if let Command::Serve(a) = cli.command {
        // The service stops on the signal itself, gracefully.
        serve::run(&ctx, a).await
    } else {
        tokio::select! {
        r = dispatch(&ctx, cli.command) => r,
        () = apikey_core::shutdown_signal() => Err(CliError::new(
            Exit::Interrupted,
            "interrupted; a change in progress was either committed whole or not at all",
        )),
        }
    };
    ctx.keys.shutdown(apikey_core::SHUTDOWN_DEADLINE).await;
    ctx.db.close().await;
    result.map_err(|e| CliError {
        message: ctx.target.scrub(&e.message),
        ..e
    })
}

async fn dispatch(ctx: &Ctx, command: Command) -> Result<Exit, CliError> {
    match command {
        Command::Create(a) => create::run(ctx, *a).await,
        Command::List(a) => list::list(ctx, a).await,
        Command::Show(a) => list::show(ctx, &a.id).await,
        Command::Update(a) => update::run(ctx, *a).await,
        Command::History(a) => history::history(ctx, &a.id).await,
        Command::Diff(a) => history::diff(ctx, a).await,
        Command::Rollback(a) => history::rollback(ctx, a).await,
        Command::Revoke(a) => {
            let confirm = a.confirm.wanted();
            lifecycle::run(ctx, lifecycle::Op::Revoke, &a.id, a.reason, confirm).await
        }
        Command::Suspend(a) => {
            let confirm = a.confirm.wanted();
            lifecycle::run(ctx, lifecycle::Op::Suspend, &a.id, a.reason, confirm).await
        }
        Command::Reject(a) => {
            lifecycle::run(ctx, lifecycle::Op::Reject, &a.id, a.reason, None).await
        }
        Command::Unsuspend(a) => {
            lifecycle::run(ctx, lifecycle::Op::Unsuspend, &a.id, None, None).await
        }
        Command::Restore(a) => lifecycle::run(ctx, lifecycle::Op::Restore, &a.id, None, None).await,
        Command::Approve(a) => lifecycle::run(ctx, lifecycle::Op::Approve, &a.id, None, None).await,
        Command::Rotate(a) => rotate::run(ctx, a).await,
        Command::Export(a) => portable::export(ctx, a).await,
        Command::Import(a) => portable::import(ctx, a).await,
        Command::Verify(a) => verify::run(ctx, a).await,
        Command::Migrate => migrate::run(ctx).await,
        Command::Jobs(a) => jobs::run(ctx, a).await,
        Command::Templates(c) => catalog::templates(ctx, c).await,
        Command::Groups(c) => catalog::groups(ctx, c).await,
        Command::Alias(c) => organise::alias(ctx, c).await,
        Command::Clone(a) => organise::clone(ctx, a).await,
        Command::Transfer(a) => organise::transfer(ctx, a).await,
        Command::Bulk(c) => bulk::run(ctx, c).await,
        Command::Policies(c) => policies::run(ctx, c).await,
        Command::Webhooks(c) => webhooks::run(ctx, c).await,
        Command::Instances => Err(CliError::usage("`instances` runs without a database")),
        Command::Requests(a) => requests::run(ctx, a).await,
        Command::Score(a) => score::run(ctx, a).await,
        Command::Usage(a) => usage::run(ctx, a).await,
        Command::Report(a) => report::run(ctx, a).await,
        Command::Compliance(c) => compliance::run(ctx, c).await,
        Command::Audit(c) => audit::run(ctx, c).await,
        Command::Signing(c) => signing::run(ctx, c).await,
        Command::Pools(c) => pools::pools(ctx, c).await,
        Command::Credits(c) => pools::credits(ctx, c).await,
        Command::Serve(a) => serve::run(ctx, a).await,
    }
}

/// Maps a write to stdout: a closed pipe ends the command quietly.
pub(crate) fn printed(r: std::io::Result<()>) -> Result<(), CliError> {
    match r {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e.into()),
    }
}
