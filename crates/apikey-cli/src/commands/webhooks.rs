//! `apikey webhooks …`: subscriptions, deliveries and the delivery job (`apikey-webhooks`) on
//! the command's database. Secrets are sealed with the KEK (`APIKEY_KEK`, or the `.kek` file
//! beside a SQLite database) and printed once, never listed.

use std::sync::Arc;

use apikey_core::jobs::Scheduler;
use apikey_core::secret_box::SecretBox;
use apikey_core::webhook::{
    Delivery, DeliveryFilter, DeliveryState, EventFilter, Subscription, SubscriptionId,
};
use apikey_core::{Clock, SystemClock, TenantScope};
use apikey_webhooks::{DispatchConfig, Dispatcher, NewSubscription, Webhooks};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::cli_webhooks::{CreateArgs, WebhooksCommand};
use crate::commands::{Ctx, printed};
use crate::error::{CliError, Exit};
use crate::output::{Table, time};

pub(crate) async fn run(ctx: &Ctx, c: WebhooksCommand) -> Result<Exit, CliError> {
    let create = matches!(c, WebhooksCommand::Create(_));
    let keks = crate::kek::load(&ctx.target, create)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let hooks = Webhooks::new(
        ctx.db.webhook_store(),
        ctx.db.audit_store(),
        Arc::new(SecretBox::new(keks)),
        clock.clone(),
    );
    let scope = &ctx.tenant;
    match c {
        WebhooksCommand::Create(a) => create_one(ctx, &hooks, a).await,
        WebhooksCommand::List => {
            let subs = hooks.list(scope).await?;
            if ctx.json {
                let rows: Vec<Value> = subs.iter().map(sub_json).collect();
                printed(ctx.out.json(&rows))?;
            } else {
                let mut t = Table::with_header(&["ID", "URL", "EVENTS", "ENABLED", "CREATED"]);
                for s in &subs {
                    t.push(vec![
                        s.id.to_string(),
                        s.url.clone(),
                        events_text(&s.events),
                        yes_no(s.enabled),
                        time(s.created_at),
                    ]);
                }
                printed(ctx.out.text(&t.render()))?;
            }
            Ok(Exit::Ok)
        }
        WebhooksCommand::Show { id } => {
            let s = hooks.get(scope, sub_id(&id)?).await.map_err(not_found)?;
            show(ctx, &s)
        }
        WebhooksCommand::Remove { id } => {
            let id = sub_id(&id)?;
            hooks.remove(scope, id).await.map_err(not_found)?;
            printed(ctx.out.line(&format!("removed webhook subscription {id}")))?;
            Ok(Exit::Ok)
        }
        WebhooksCommand::Enable { id } => toggle(ctx, &hooks, &id, true).await,
        WebhooksCommand::Disable { id } => toggle(ctx, &hooks, &id, false).await,
        WebhooksCommand::Rotate { id, grace } => {
            let id = sub_id(&id)?;
            let secret = hooks.rotate(scope, id, grace).await.map_err(not_found)?;
            if ctx.json {
                printed(
                    ctx.out
                        .json(&json!({"id": id, "secret": &*secret.expose()})),
                )?;
            } else {
                printed(ctx.out.line(&format!(
                    "new signing secret for {id} (shown once; the old one signs too for {}):\n{}",
                    humantime::format_duration(grace),
                    &*secret.expose()
                )))?;
            }
            Ok(Exit::Ok)
        }
        WebhooksCommand::Test { id } => {
            let id = sub_id(&id)?;
            let ping = hooks.ping(scope, id).await.map_err(not_found)?;
            let dispatcher = Dispatcher::new(hooks.clone(), DispatchConfig::default())?;
            let d = dispatcher.send_now(ping).await?;
            if ctx.json {
                printed(ctx.out.json(&delivery_json(&d)))?;
            } else {
                printed(ctx.out.line(&outcome_text(&d)))?;
            }
            Ok(if d.state == DeliveryState::Delivered {
                Exit::Ok
            } else {
                Exit::Failure
            })
        }
        WebhooksCommand::Deliveries {
            failed,
            subscription,
            limit,
        } => {
            let filter = DeliveryFilter {
                subscription_id: subscription.as_deref().map(sub_id).transpose()?,
                state: failed.then_some(DeliveryState::Failed),
                limit: Some(limit),
            };
            let ds = hooks.deliveries(scope, &filter).await?;
            if ctx.json {
                let rows: Vec<Value> = ds.iter().map(delivery_json).collect();
                printed(ctx.out.json(&rows))?;
            } else {
                let mut t = Table::with_header(&[
                    "DELIVERY",
                    "SUBSCRIPTION",
                    "EVENT",
                    "STATE",
                    "ATTEMPTS",
                    "LAST",
                    "NEXT",
                ]);
                for d in &ds {
                    t.push(vec![
                        d.id.to_string(),
                        d.subscription_id.to_string(),
                        d.event_type.clone(),
                        d.state.to_string(),
                        d.attempts.to_string(),
                        last_text(d),
                        d.next_attempt_at.map_or_else(|| "-".to_owned(), time),
                    ]);
                }
                printed(ctx.out.text(&t.render()))?;
            }
            Ok(Exit::Ok)
        }
        WebhooksCommand::Redeliver { delivery } => {
            let id = Uuid::parse_str(delivery.trim())
                .map_err(|_| CliError::usage(format!("{delivery:?} is not a delivery id")))?;
            hooks.redeliver(scope, id).await.map_err(not_found)?;
            printed(ctx.out.line(&format!("delivery {id} is due again")))?;
            Ok(Exit::Ok)
        }
        WebhooksCommand::Run { until_idle } => run_job(ctx, hooks, clock, until_idle).await,
    }
}

async fn create_one(ctx: &Ctx, hooks: &Webhooks, a: CreateArgs) -> Result<Exit, CliError> {
    let events = EventFilter::only(&a.events)?;
    let tenant = match &ctx.tenant {
        TenantScope::Tenant(t) => Some(t.clone()),
        _ => None,
    };
    let (sub, secret) = hooks
        .create(NewSubscription {
            tenant,
            url: a.url,
            events,
            allow_http: a.allow_http,
            allow_private_network: a.allow_private_network,
            description: a.description,
        })
        .await?;
    if ctx.json {
        let mut v = sub_json(&sub);
        v["secret"] = Value::String(secret.expose().to_string());
        printed(ctx.out.json(&v))?;
    } else {
        printed(ctx.out.line(&format!(
            "webhook subscription {} → {}\nsigning secret (shown once; verify deliveries with any Standard Webhooks library):\n{}",
            sub.id,
            sub.url,
            &*secret.expose()
        )))?;
    }
    Ok(Exit::Ok)
}

async fn toggle(ctx: &Ctx, hooks: &Webhooks, id: &str, on: bool) -> Result<Exit, CliError> {
    let s = hooks
        .set_enabled(&ctx.tenant, sub_id(id)?, on)
        .await
        .map_err(not_found)?;
    show(ctx, &s)
}

async fn run_job(
    ctx: &Ctx,
    hooks: Webhooks,
    clock: Arc<dyn Clock>,
    until_idle: bool,
) -> Result<Exit, CliError> {
    let dispatcher = Dispatcher::new(hooks, DispatchConfig::default())?;
    if until_idle {
        let r = dispatcher.run_until_idle().await?;
        let waiting = dispatcher.pending().await?;
        if ctx.json {
            printed(ctx.out.json(&json!({
                "events": r.events, "enqueued": r.enqueued, "attempts": r.attempts,
                "delivered": r.delivered, "retrying": r.retrying, "dead": r.dead,
                "waiting": waiting,
            })))?;
        } else {
            printed(ctx.out.line(&format!(
                "read {} events, enqueued {}, delivered {}, failed {} (dead-lettered {}); {waiting} waiting for a retry",
                r.events, r.enqueued, r.delivered, r.retrying + r.dead, r.dead
            )))?;
        }
        return Ok(if waiting == 0 {
            Exit::Ok
        } else {
            Exit::Failure
        });
    }
    let retention = apikey_webhooks::DeliveryRetention::new(
        ctx.db.webhook_store(),
        clock.clone(),
        apikey_webhooks::DEFAULT_DELIVERY_RETENTION,
    )?;
    let scheduler = Scheduler::builder(ctx.db.lease_store(), clock)
        .job(dispatcher)
        .job(retention)
        .build()?;
    eprintln!(
        "delivering webhooks as {} (Ctrl-C to stop)",
        scheduler.holder()
    );
    scheduler.run_until(apikey_core::shutdown_signal()).await?;
    Ok(Exit::Ok)
}

fn show(ctx: &Ctx, s: &Subscription) -> Result<Exit, CliError> {
    if ctx.json {
        printed(ctx.out.json(&sub_json(s)))?;
    } else {
        let t = Table::fields(vec![
            ("id", s.id.to_string()),
            ("url", s.url.clone()),
            ("events", events_text(&s.events)),
            ("enabled", yes_no(s.enabled)),
            ("allow http", yes_no(s.allow_http)),
            ("allow private network", yes_no(s.allow_private_network)),
            (
                "description",
                s.description.clone().unwrap_or_else(|| "-".into()),
            ),
            (
                "previous secret signs until",
                s.previous_until.map_or_else(|| "-".to_owned(), time),
            ),
            ("created", time(s.created_at)),
            ("updated", time(s.updated_at)),
            ("version", s.version.to_string()),
        ]);
        printed(ctx.out.text(&t.render()))?;
    }
    Ok(Exit::Ok)
}

/// A subscription without its sealed secrets.
fn sub_json(s: &Subscription) -> Value {
    serde_json::to_value(apikey_webhooks::SubscriptionView::from(s)).unwrap_or_default()
}

fn delivery_json(d: &Delivery) -> Value {
    serde_json::to_value(apikey_webhooks::DeliveryView::from(d)).unwrap_or_default()
}

fn outcome_text(d: &Delivery) -> String {
    match (d.state, d.last_status, d.last_error.as_deref()) {
        (DeliveryState::Delivered, Some(s), _) => {
            format!("ping delivered: the receiver answered {s}")
        }
        (_, _, Some(e)) => format!("ping not delivered: {e}"),
        _ => "ping not delivered".to_owned(),
    }
}

fn last_text(d: &Delivery) -> String {
    match (d.last_status, d.last_error.as_deref()) {
        (_, Some(e)) => e.to_owned(),
        (Some(s), None) => s.to_string(),
        (None, None) => "-".to_owned(),
    }
}

fn events_text(f: &EventFilter) -> String {
    if f.types().is_empty() {
        "all".to_owned()
    } else {
        f.types().join(",")
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

fn sub_id(s: &str) -> Result<SubscriptionId, CliError> {
    s.trim()
        .parse()
        .map_err(|_| CliError::usage(format!("{s:?} is not a subscription id (a UUID)")))
}

fn not_found(e: apikey_core::Error) -> CliError {
    if e.kind() == apikey_core::ErrorKind::NotFound {
        CliError::new(Exit::NotFound, e.message().to_owned())
            .hint("run `apikey webhooks list` (or `deliveries`) to see ids")
    } else {
        e.into()
    }
}
