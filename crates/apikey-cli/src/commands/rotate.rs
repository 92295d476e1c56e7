//! `apikey rotate ID --grace 24h`: a new key with the same scopes, limits, rules and owner; the old
//! key keeps working until the grace period (stored on it) ends. The new token is printed once.

use crate::cli::RotateArgs;
use crate::commands::Ctx;
use crate::commands::create::print_created;
use crate::error::{CliError, Exit};
use crate::output::ShownKey;
use apikey_core::Change;

pub(crate) async fn run(ctx: &Ctx, a: RotateArgs) -> Result<Exit, CliError> {
    let id = ctx.key_id(&a.id).await?;
    let grace = chrono::Duration::from_std(a.grace)
        .map_err(|_| CliError::usage("--grace: too long; at most 365d"))?;
    let m = ctx.keys.manager();
    let created = m
        .rotate(
            &ctx.tenant,
            id,
            grace,
            Change::new().with_actor(ctx.actor.clone()),
        )
        .await
        .map_err(|e| CliError::for_key(e, &a.id))?;
    let old = m
        .get(&ctx.tenant, id)
        .await
        .map_err(|e| CliError::for_key(e, &a.id))?;
    let old = ShownKey::new(&old, ctx.now());
    print_created(ctx, &created, Some(&old))?;
    // The new token is out; now say that services may still treat the old key as unrotated.
    match created.not_propagated {
        Some(e) => Err(CliError::from(e)),
        None => Ok(Exit::Ok),
    }
}
