//! Lifecycle commands: `revoke`, `suspend`, `unsuspend`, `restore`, `approve`, `reject`. Each
//! prints the key's new state; the change and its audit event (with `--actor` and the reason) are
//! committed together by the store. `revoke` and `suspend` take `--confirm`: the command then
//! waits until every running service instance has applied the change (exit 9 if one did not).

use std::time::Duration;

use apikey_core::{Change, Confirmation, KeyRecord};

use crate::commands::confirm::{WithConfirmation, report};
use crate::commands::{Ctx, printed};
use crate::error::{CliError, Exit};
use crate::output::{ShownKey, Table};

/// A lifecycle transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Revoke,
    Suspend,
    Unsuspend,
    Restore,
    Approve,
    Reject,
}

impl Op {
    fn past(self) -> &'static str {
        match self {
            Self::Revoke => "revoked",
            Self::Suspend => "suspended",
            Self::Unsuspend => "unsuspended",
            Self::Restore => "restored",
            Self::Approve => "approved",
            Self::Reject => "rejected",
        }
    }
}

pub(crate) async fn run(
    ctx: &Ctx,
    op: Op,
    arg: &str,
    reason: Option<String>,
    confirm: Option<Duration>,
) -> Result<Exit, CliError> {
    let id = ctx.key_id(arg).await?;
    let m = ctx.keys.manager();
    let (t, actor) = (&ctx.tenant, ctx.actor.clone());
    let because = Change::new().with_actor(actor.clone()).with_reason(reason);
    let mut confirmation: Option<Confirmation> = None;
    let result: apikey_core::Result<KeyRecord> = match (op, confirm) {
        (Op::Revoke, Some(timeout)) => m.revoke_confirmed(t, id, because, timeout).await.map(|c| {
            confirmation = Some(c.confirmation);
            c.value
        }),
        (Op::Suspend, Some(timeout)) => {
            m.suspend_confirmed(t, id, because, timeout).await.map(|c| {
                confirmation = Some(c.confirmation);
                c.value
            })
        }
        (Op::Revoke, None) => m.revoke(t, id, because).await,
        (Op::Suspend, None) => m.suspend(t, id, because).await,
        (Op::Reject, _) => m.reject(t, id, because).await,
        (Op::Unsuspend, _) => m.unsuspend(t, id, Change::new().with_actor(actor)).await,
        (Op::Restore, _) => m.restore(t, id, Change::new().with_actor(actor)).await,
        (Op::Approve, _) => m.approve(t, id, Change::new().with_actor(actor)).await,
    };
    let record = result.map_err(|e| CliError::for_key(e, arg))?;
    let view = ShownKey::new(&record, ctx.now());
    if ctx.json {
        match &confirmation {
            Some(c) => printed(ctx.out.json(&WithConfirmation {
                value: &view,
                confirmation: c,
            }))?,
            None => printed(ctx.out.json(&view))?,
        }
    } else {
        printed(
            ctx.out
                .line(&format!("{} key {} ({})", op.past(), view.id, view.name)),
        )?;
        let mut rows = vec![("state", view.state_text())];
        if let Some(r) = &view.state_reason {
            rows.push(("reason", r.clone()));
        }
        printed(ctx.out.text(&Table::fields(rows).render()))?;
    }
    match &confirmation {
        Some(c) => report(ctx, c),
        None => Ok(Exit::Ok),
    }
}
