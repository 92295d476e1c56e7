//! Lifecycle commands: `revoke`, `suspend`, `unsuspend`, `restore`, `approve`, `reject`. Each
//! prints the key's new state; the change and its audit event (with `--actor` and the reason) are
//! committed together by the store.

use apikey_core::Change;
use apikey_core::KeyRecord;

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
) -> Result<Exit, CliError> {
    let id = ctx.key_id(arg).await?;
    let m = ctx.keys.manager();
    let (t, actor) = (&ctx.tenant, ctx.actor.clone());
    let result: apikey_core::Result<KeyRecord> = match op {
        Op::Revoke => {
            m.revoke(t, id, Change::new().with_actor(actor).with_reason(reason))
                .await
        }
        Op::Suspend => {
            m.suspend(t, id, Change::new().with_actor(actor).with_reason(reason))
                .await
        }
        Op::Reject => {
            m.reject(t, id, Change::new().with_actor(actor).with_reason(reason))
                .await
        }
        Op::Unsuspend => m.unsuspend(t, id, Change::new().with_actor(actor)).await,
        Op::Restore => m.restore(t, id, Change::new().with_actor(actor)).await,
        Op::Approve => m.approve(t, id, Change::new().with_actor(actor)).await,
    };
    let record = result.map_err(|e| CliError::for_key(e, arg))?;
    let view = ShownKey::new(&record, ctx.now());
    if ctx.json {
        printed(ctx.out.json(&view))?;
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
    Ok(Exit::Ok)
}
