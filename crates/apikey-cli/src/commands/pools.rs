//! `apikey pools create|list|show|remove` (pool presets in the catalog), `apikey credits
//! show|set|top-up` (balances in the services' Redis), and the credits of `create --credits`.

use apikey_core::catalog::{CatalogKind, Preset, StoredPreset};
use apikey_core::limit::{CreditAdjust, CreditBalance, CreditPlan, PoolLimits};
use apikey_core::pool::{PoolName, PoolTarget};
use apikey_core::{Change, CreatedKey, ErrorKind, KeyId, TenantId, TenantScope};
use serde::Serialize;

use crate::cli_pools::{CreditArgs, CreditsCommand, PoolArgs, PoolsCommand};
use crate::commands::{Ctx, printed};
use crate::error::{CliError, Exit};
use crate::output::{Table, time};

fn tenant(ctx: &Ctx) -> Option<&TenantId> {
    match &ctx.tenant {
        TenantScope::Tenant(t) => Some(t),
        TenantScope::All => None,
    }
}

/// The plan `--credits N [--refill SPEC]` asks for.
pub(crate) fn plan(a: &CreditArgs) -> Option<CreditPlan> {
    a.credits.map(|initial| CreditPlan {
        initial,
        refill: a.refill.clone(),
    })
}

fn describe(l: &PoolLimits) -> Vec<(&'static str, String)> {
    let mut rows = Vec::new();
    if let Some(r) = &l.rate {
        rows.push((
            "rate",
            format!("{}/{}ms (burst {})", r.requests, r.per_ms, r.burst),
        ));
    }
    if let Some(q) = &l.quota {
        rows.push(("quota", format!("{}/{}", q.limit, q.period)));
    }
    if let Some(c) = &l.credits {
        rows.push(("credits", c.to_string()));
    }
    rows
}

#[derive(Serialize)]
struct PoolJson<'a> {
    #[serde(flatten)]
    stored: &'a StoredPreset,
    #[serde(skip_serializing_if = "Option::is_none")]
    credits: Option<CreditBalance>,
}

pub(crate) async fn pools(ctx: &Ctx, c: PoolsCommand) -> Result<Exit, CliError> {
    let m = ctx.keys.manager();
    let t = tenant(ctx);
    match c {
        PoolsCommand::Create(a) => {
            let stored = create(ctx, a).await?;
            if ctx.json {
                printed(ctx.out.json(&stored))?;
            } else {
                let limits = stored.preset.pool.clone().unwrap_or_default();
                let mut rows = vec![
                    ("pool", stored.preset.name.clone()),
                    ("version", stored.version.to_string()),
                ];
                rows.extend(describe(&limits));
                printed(ctx.out.text(&Table::fields(rows).render()))?;
            }
        }
        PoolsCommand::List => {
            let all = m.presets(t, CatalogKind::Pool).await?;
            if ctx.json {
                printed(ctx.out.json(&all))?;
            } else if all.is_empty() {
                printed(ctx.out.line("no pools"))?;
            } else {
                let mut table = Table::with_header(&["pool", "rate", "quota", "credits"]);
                for p in &all {
                    let l = p.preset.pool.clone().unwrap_or_default();
                    let cell = |name: &str| {
                        describe(&l)
                            .into_iter()
                            .find(|(n, _)| *n == name)
                            .map_or_else(|| "-".to_owned(), |(_, v)| v)
                    };
                    table.push(vec![
                        p.preset.name.clone(),
                        cell("rate"),
                        cell("quota"),
                        cell("credits"),
                    ]);
                }
                printed(ctx.out.text(&table.render()))?;
            }
        }
        PoolsCommand::Show { name } => {
            let stored = m
                .preset(t, CatalogKind::Pool, &name.to_string())
                .await
                .map_err(|e| not_found(e, &name))?;
            let holds_credits = stored
                .preset
                .pool
                .as_ref()
                .is_some_and(|l| l.credits.is_some())
                && name.member.is_none()
                && name.target != PoolTarget::EachOwner;
            let credits = if holds_credits && ctx.shared_limiter {
                Some(balance(ctx, &name.to_string(), None).await?)
            } else {
                None
            };
            if ctx.json {
                printed(ctx.out.json(&PoolJson {
                    stored: &stored,
                    credits,
                }))?;
            } else {
                let mut rows = vec![
                    ("pool", stored.preset.name.clone()),
                    ("version", stored.version.to_string()),
                    ("updated", time(stored.updated_at)),
                ];
                rows.extend(describe(&stored.preset.pool.clone().unwrap_or_default()));
                if let Some(b) = credits {
                    rows.extend(balance_rows(&b));
                }
                printed(ctx.out.text(&Table::fields(rows).render()))?;
            }
        }
        PoolsCommand::Remove { name } => {
            let who = Change::new().with_actor(ctx.actor.clone());
            m.remove_preset(t, CatalogKind::Pool, &name.to_string(), who)
                .await
                .map_err(|e| not_found(e, &name))?;
            if ctx.json {
                printed(
                    ctx.out
                        .json(&serde_json::json!({ "removed": name.to_string() })),
                )?;
            } else {
                printed(ctx.out.line(&format!("removed pool {name}")))?;
            }
        }
    }
    Ok(Exit::Ok)
}

fn not_found(e: apikey_core::Error, name: &PoolName) -> CliError {
    if e.kind() == ErrorKind::NotFound {
        CliError::new(Exit::NotFound, format!("no pool {name}")).hint("run `apikey pools list`")
    } else {
        e.into()
    }
}

async fn create(ctx: &Ctx, a: PoolArgs) -> Result<StoredPreset, CliError> {
    let m = ctx.keys.manager();
    let t = tenant(ctx);
    let name = a.name.to_string();
    let rate = a
        .rate
        .map(|r| crate::commands::update::rate(r, a.burst))
        .transpose()?;
    let limits = PoolLimits {
        rate,
        quota: a.quota,
        credits: plan(&a.credits),
    };
    let mut preset = Preset::pool(name.clone(), limits);
    preset.description = a.description;
    let version = if a.replace {
        match m.preset(t, CatalogKind::Pool, &name).await {
            Ok(s) => s.version,
            Err(e) if e.kind() == ErrorKind::NotFound => 0,
            Err(e) => return Err(e.into()),
        }
    } else {
        0
    };
    let who = Change::new().with_actor(ctx.actor.clone());
    m.save_preset(t, preset, version, who)
        .await
        .map_err(|e| match e.kind() {
            ErrorKind::Conflict if !a.replace => {
                CliError::new(Exit::Conflict, format!("pool {name} exists"))
                    .hint("add --replace to change it")
            }
            _ => e.into(),
        })
}

/// Gives a key made by `create` its credits; if that fails, the key is revoked rather than left
/// working without them.
pub(crate) async fn attach(
    ctx: &Ctx,
    created: &CreatedKey,
    a: &CreditArgs,
) -> Result<(), CliError> {
    let Some(plan) = plan(a) else {
        return Ok(());
    };
    let m = ctx.keys.manager();
    let who = || Change::new().with_actor(ctx.actor.clone());
    let id = created.record.id;
    if let Err(e) = m.set_key_credits(&ctx.tenant, id, Some(plan), who()).await {
        let undo = m
            .revoke(
                &ctx.tenant,
                id,
                who().because("its credits could not be set"),
            )
            .await;
        let e = CliError::from(e);
        return Err(CliError {
            message: format!(
                "{}; the key {id} was {}",
                e.message,
                if undo.is_ok() {
                    "revoked"
                } else {
                    "NOT revoked: revoke it by hand"
                }
            ),
            ..e
        });
    }
    Ok(())
}

fn balance_rows(b: &CreditBalance) -> Vec<(&'static str, String)> {
    vec![
        ("balance", b.balance.to_string()),
        (
            "next refill",
            b.next_refill
                .map_or_else(|| "never (one-time)".to_owned(), time),
        ),
    ]
}

/// A target is a pool name (`owner:…`, `group:…`, `tenant`) or else a key.
async fn balance(
    ctx: &Ctx,
    target: &str,
    adjust: Option<CreditAdjust>,
) -> Result<CreditBalance, CliError> {
    if !ctx.shared_limiter {
        return Err(CliError::usage(
            "credit balances live in the Redis the services share: give --redis-url (or REDIS_URL)",
        ));
    }
    let m = ctx.keys.manager();
    let who = Change::new().with_actor(ctx.actor.clone());
    let pool = target
        .parse::<PoolName>()
        .ok()
        .filter(|n| n.member.is_none() && !matches!(n.target, PoolTarget::Key(_)));
    let result = match pool {
        Some(_) => match adjust {
            None => m.pool_credits(tenant(ctx), target).await,
            Some(a) => m.adjust_pool_credits(tenant(ctx), target, a, who).await,
        },
        None => {
            let arg = target.strip_prefix("key:").unwrap_or(target);
            let id: KeyId = ctx.key_id(arg).await?;
            match adjust {
                None => m.key_credits(&ctx.tenant, id).await,
                Some(a) => m.adjust_key_credits(&ctx.tenant, id, a, who).await,
            }
        }
    };
    result.map_err(|e| {
        if e.kind() == ErrorKind::NotFound {
            CliError::new(Exit::NotFound, e.message().to_owned())
                .hint("give it credits with `apikey pools create … --credits N` (a pool) or `apikey create … --credits N`")
        } else {
            e.into()
        }
    })
}

pub(crate) async fn credits(ctx: &Ctx, c: CreditsCommand) -> Result<Exit, CliError> {
    let (target, adjust) = match c {
        CreditsCommand::Show { target } => (target, None),
        CreditsCommand::Set { target, amount } => (target, Some(CreditAdjust::Set(amount))),
        CreditsCommand::TopUp { target, amount } => (target, Some(CreditAdjust::TopUp(amount))),
    };
    let b = balance(ctx, &target, adjust).await?;
    if ctx.json {
        printed(ctx.out.json(&serde_json::json!({
            "target": target,
            "balance": b.balance,
            "next_refill": b.next_refill,
        })))?;
    } else {
        let mut rows = vec![("credits of", target)];
        rows.extend(balance_rows(&b));
        printed(ctx.out.text(&Table::fields(rows).render()))?;
    }
    Ok(Exit::Ok)
}
