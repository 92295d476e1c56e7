//! `apikey history ID`, `apikey diff ID V1 V2` and `apikey rollback ID VERSION`: a key's versions
//! as the audit log records them, the fields two of them differ in, and putting an earlier
//! version's settings back as a new version.

use apikey_core::{Change, ErrorKind};

use crate::cli::{DiffArgs, RollbackArgs};
use crate::commands::{Ctx, list, printed};
use crate::error::{CliError, Exit};
use crate::output::{Table, time};

/// The error of a call about versions of key `arg`: a missing version keeps the library's
/// message, which names the version (exit 3 like a missing key), and points at `history`.
fn for_version(e: apikey_core::Error, arg: &str) -> CliError {
    if e.kind() == ErrorKind::NotFound && e.message().starts_with("version ") {
        CliError::new(Exit::NotFound, e.message().to_owned())
            .hint(format!("run `apikey history {arg}` to see its versions"))
    } else {
        CliError::for_key(e, arg)
    }
}

pub(crate) async fn history(ctx: &Ctx, arg: &str) -> Result<Exit, CliError> {
    let id = ctx.key_id(arg).await?;
    let versions = ctx
        .keys
        .manager()
        .history(&ctx.tenant, id)
        .await
        .map_err(|e| CliError::for_key(e, arg))?;
    if ctx.json {
        printed(ctx.out.json(&versions))?;
        return Ok(Exit::Ok);
    }
    let mut table = Table::with_header(&["VERSION", "TYPE", "WHEN", "ACTOR", "REASON"]);
    for v in &versions {
        table.push(vec![
            v.version.to_string(),
            v.event_type.as_str().to_owned(),
            time(v.at),
            v.actor.clone().unwrap_or_else(|| "-".into()),
            v.reason.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    printed(ctx.out.text(&table.render()))?;
    Ok(Exit::Ok)
}

pub(crate) async fn diff(ctx: &Ctx, a: DiffArgs) -> Result<Exit, CliError> {
    let id = ctx.key_id(&a.id).await?;
    let changes = ctx
        .keys
        .manager()
        .diff(&ctx.tenant, id, a.v1, a.v2)
        .await
        .map_err(|e| for_version(e, &a.id))?;
    if ctx.json {
        printed(ctx.out.json(&changes))?;
        return Ok(Exit::Ok);
    }
    if changes.is_empty() {
        printed(ctx.out.line(&format!(
            "versions {} and {} have the same settings",
            a.v1, a.v2
        )))?;
        return Ok(Exit::Ok);
    }
    let mut table = Table::with_header(&["FIELD", "FROM", "TO"]);
    for c in &changes {
        table.push(vec![c.field.clone(), c.from.to_string(), c.to.to_string()]);
    }
    printed(ctx.out.text(&table.render()))?;
    Ok(Exit::Ok)
}

pub(crate) async fn rollback(ctx: &Ctx, a: RollbackArgs) -> Result<Exit, CliError> {
    let id = ctx.key_id(&a.id).await?;
    let record = ctx
        .keys
        .manager()
        .rollback(
            &ctx.tenant,
            id,
            a.version,
            Change::new()
                .with_actor(ctx.actor.clone())
                .with_reason(a.reason),
        )
        .await
        .map_err(|e| for_version(e, &a.id))?;
    if !ctx.json {
        printed(ctx.out.line(&format!(
            "rolled back key {} to the settings of version {} (now version {})",
            record.id, a.version, record.version
        )))?;
    }
    list::print_key(ctx, &record)?;
    Ok(Exit::Ok)
}
