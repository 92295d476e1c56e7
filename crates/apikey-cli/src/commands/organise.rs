//! `apikey alias add|remove`, `apikey clone` and `apikey transfer`.

use apikey_core::Change;

use super::create::print_created;
use crate::cli_programme::{AliasCommand, CloneArgs, TransferArgs};
use crate::commands::{Ctx, printed};
use crate::error::{CliError, Exit};
use crate::output::{ShownKey, Table};

pub(crate) async fn alias(ctx: &Ctx, c: AliasCommand) -> Result<Exit, CliError> {
    let m = ctx.keys.manager();
    let who = Change::new().with_actor(ctx.actor.clone());
    let (arg, record, what) = match c {
        AliasCommand::Add { id, alias } => {
            let key = ctx.key_id(&id).await?;
            let r = m
                .add_alias(&ctx.tenant, key, &alias, who)
                .await
                .map_err(|e| CliError::for_key(e, &id))?;
            (id, r, format!("added alias {alias:?}"))
        }
        AliasCommand::Remove { id, alias } => {
            let key = ctx.key_id(&id).await?;
            let r = m
                .remove_alias(&ctx.tenant, key, &alias, who)
                .await
                .map_err(|e| match e.kind() {
                    // The key exists (it was just resolved): what is missing is the alias.
                    apikey_core::ErrorKind::NotFound => {
                        CliError::new(Exit::NotFound, format!("key {id} has no alias {alias:?}"))
                    }
                    _ => e.into(),
                })?;
            (id, r, format!("removed alias {alias:?}"))
        }
    };
    let view = ShownKey::new(&record, ctx.now());
    if ctx.json {
        printed(ctx.out.json(&view))?;
    } else {
        printed(ctx.out.line(&format!("{what} on key {arg} ({})", view.id)))?;
        let rows = vec![("aliases", view.aliases.join(", "))];
        printed(ctx.out.text(&Table::fields(rows).render()))?;
    }
    Ok(Exit::Ok)
}

pub(crate) async fn clone(ctx: &Ctx, a: CloneArgs) -> Result<Exit, CliError> {
    let id = ctx.key_id(&a.id).await?;
    let created = ctx
        .keys
        .manager()
        .clone_key(
            &ctx.tenant,
            id,
            a.name,
            Change::new().with_actor(ctx.actor.clone()),
        )
        .await
        .map_err(|e| CliError::for_key(e, &a.id))?;
    print_created(ctx, &created, None, None)?;
    Ok(Exit::Ok)
}

pub(crate) async fn transfer(ctx: &Ctx, a: TransferArgs) -> Result<Exit, CliError> {
    let id = ctx.key_id(&a.id).await?;
    let before = ctx.keys.manager().get(&ctx.tenant, id).await?;
    let record = ctx
        .keys
        .manager()
        .transfer(
            &ctx.tenant,
            id,
            &a.owner,
            Change::new()
                .with_actor(ctx.actor.clone())
                .with_reason(a.reason),
        )
        .await
        .map_err(|e| CliError::for_key(e, &a.id))?;
    let view = ShownKey::new(&record, ctx.now());
    if ctx.json {
        printed(ctx.out.json(&serde_json::json!({
            "key": view,
            "from_owner": before.owner,
            "to_owner": a.owner,
        })))?;
    } else {
        let from = before.owner.unwrap_or_else(|| "(none)".into());
        printed(ctx.out.line(&format!(
            "transferred key {} ({}) from {from} to {}",
            view.id, view.name, a.owner
        )))?;
    }
    Ok(Exit::Ok)
}
