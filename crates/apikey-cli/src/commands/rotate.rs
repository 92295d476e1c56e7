//! `apikey rotate ID --grace 24h`: a new key with the same scopes, limits, rules and owner; the old
//! key keeps working until the grace period (stored on it) ends. The new token is printed once.
//! `--confirm` (no grace only) waits until every running instance has stopped accepting the old key.

use crate::cli::RotateArgs;
use crate::commands::Ctx;
use crate::commands::confirm::report;
use crate::commands::create::print_created;
use crate::error::{CliError, Exit};
use crate::output::ShownKey;
use apikey_core::Change;

pub(crate) async fn run(ctx: &Ctx, a: RotateArgs) -> Result<Exit, CliError> {
    let confirm = a.confirm.wanted();
    if confirm.is_some() && !a.grace.is_zero() {
        return Err(CliError::usage(
            "--confirm waits until no instance accepts the old key, so it needs --grace 0s",
        ));
    }
    let id = ctx.key_id(&a.id).await?;
    let grace = chrono::Duration::from_std(a.grace)
        .map_err(|_| CliError::usage("--grace: too long; at most 365d"))?;
    let m = ctx.keys.manager();
    let change = Change::new().with_actor(ctx.actor.clone());
    let (created, confirmation) = match confirm {
        Some(timeout) => {
            let done = m
                .rotate_confirmed(&ctx.tenant, id, change, timeout)
                .await
                .map_err(|e| CliError::for_key(e, &a.id))?;
            (done.value, Some(done.confirmation))
        }
        None => (
            m.rotate(&ctx.tenant, id, grace, change)
                .await
                .map_err(|e| CliError::for_key(e, &a.id))?,
            None,
        ),
    };
    let old = m
        .get(&ctx.tenant, id)
        .await
        .map_err(|e| CliError::for_key(e, &a.id))?;
    let old = ShownKey::new(&old, ctx.now());
    print_created(ctx, &created, Some(&old), confirmation.as_ref())?;
    // The new token is out; now say that services may still treat the old key as unrotated.
    if let Some(e) = created.not_propagated {
        return Err(CliError::from(e));
    }
    match &confirmation {
        Some(c) => report(ctx, c),
        None => Ok(Exit::Ok),
    }
}
