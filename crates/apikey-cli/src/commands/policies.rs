//! `apikey policies create|list|remove`: rotation policies of a key, a group or the tenant, which
//! the `keys.rotation` job applies (`apikey jobs run`).

use apikey_core::catalog::{PolicyTarget, RotationMode, RotationPolicy};
use apikey_core::{Change, TenantId, TenantScope};
use serde_json::json;

use crate::cli_programme::{PoliciesCommand, PolicyMode};
use crate::commands::{Ctx, printed};
use crate::error::{CliError, Exit};
use crate::output::Table;

fn tenant(ctx: &Ctx) -> Option<&TenantId> {
    match &ctx.tenant {
        TenantScope::Tenant(t) => Some(t),
        _ => None,
    }
}

/// `key:ID` (resolving an alias or lookup id), `group:NAME` or `tenant`.
async fn target(ctx: &Ctx, s: &str) -> Result<PolicyTarget, CliError> {
    if let Some(key) = s.strip_prefix("key:") {
        return Ok(PolicyTarget::Key(ctx.key_id(key).await?));
    }
    s.parse::<PolicyTarget>()
        .map_err(|e| CliError::usage(format!("{s:?}: {}", e.message())))
}

pub(crate) async fn run(ctx: &Ctx, c: PoliciesCommand) -> Result<Exit, CliError> {
    let m = ctx.keys.manager();
    let who = Change::new().with_actor(ctx.actor.clone());
    match c {
        PoliciesCommand::Create {
            target: t,
            every_days,
            grace_days,
            mode,
        } => {
            let target = target(ctx, &t).await?;
            let mode = match mode {
                PolicyMode::Notify => RotationMode::Notify,
                PolicyMode::Rotate => RotationMode::Rotate,
            };
            let policy = RotationPolicy {
                every_days,
                grace_days,
                mode,
            };
            let stored = m.set_policy(tenant(ctx), &target, policy, who).await?;
            if ctx.json {
                printed(ctx.out.json(&stored))?;
            } else {
                printed(ctx.out.line(&format!(
                    "policy for {target}: {mode:?} every {every_days} days (grace {grace_days} days), version {}",
                    stored.version
                )))?;
            }
        }
        PoliciesCommand::List => {
            let mut all = m.policies(tenant(ctx)).await?;
            all.sort_by_key(|(t, _)| t.to_string());
            if ctx.json {
                let rows: Vec<_> = all
                    .iter()
                    .map(|(t, p)| json!({ "target": t.to_string(), "policy": p }))
                    .collect();
                printed(ctx.out.json(&rows))?;
            } else {
                let mut table = Table::with_header(&["TARGET", "MODE", "EVERY", "GRACE"]);
                for (t, p) in &all {
                    table.push(vec![
                        t.to_string(),
                        format!("{:?}", p.mode).to_lowercase(),
                        format!("{} days", p.every_days),
                        format!("{} days", p.grace_days),
                    ]);
                }
                printed(ctx.out.text(&table.render()))?;
            }
        }
        PoliciesCommand::Remove { target: t } => {
            let target = target(ctx, &t).await?;
            m.remove_policy(tenant(ctx), &target, who)
                .await
                .map_err(|e| match e.kind() {
                    apikey_core::ErrorKind::NotFound => {
                        CliError::new(Exit::NotFound, format!("no policy for {target}"))
                    }
                    _ => e.into(),
                })?;
            if ctx.json {
                printed(ctx.out.json(&json!({ "removed": target.to_string() })))?;
            } else {
                printed(ctx.out.line(&format!("removed the policy for {target}")))?;
            }
        }
    }
    Ok(Exit::Ok)
}
