//! `apikey compliance export --owner O [--out FILE]`: what is held about an owner
//! (`apikey_core::compliance::export_owner`), as JSON; `apikey compliance erase --owner O
//! [--dry-run]`: the owner erased (`apikey_core::compliance::erase_owner`).

use apikey_core::compliance::{ErasureStores, erase_owner};

use crate::cli_compliance::{ComplianceCommand, ComplianceEraseArgs, ComplianceExportArgs};
use crate::commands::portable::write_private;
use crate::commands::{Ctx, printed};
use crate::error::{CliError, Exit};

pub(crate) async fn run(ctx: &Ctx, c: ComplianceCommand) -> Result<Exit, CliError> {
    match c {
        ComplianceCommand::Export(a) => export(ctx, a).await,
        ComplianceCommand::Erase(a) => erase(ctx, a).await,
    }
}

fn usage_on_bad_input(e: apikey_core::Error) -> CliError {
    if e.kind() == apikey_core::ErrorKind::InvalidInput {
        CliError::usage(e.message().to_owned())
    } else {
        CliError::from(e)
    }
}

async fn erase(ctx: &Ctx, a: ComplianceEraseArgs) -> Result<Exit, CliError> {
    let audit = ctx.db.audit_store();
    let analytics = ctx.db.analytics();
    let requests = ctx.db.request_log();
    let report = erase_owner(
        ctx.keys.manager(),
        ErasureStores {
            audit: audit.as_ref(),
            analytics: Some(analytics.as_ref()),
            requests: Some(requests.as_ref()),
        },
        &ctx.tenant,
        &a.owner,
        apikey_core::Change::new().with_actor(ctx.actor.clone()),
        a.dry_run,
    )
    .await
    .map_err(usage_on_bad_input)?;
    if ctx.json {
        printed(ctx.out.json(&report))?;
        return Ok(Exit::Ok);
    }
    let verb = if report.dry_run {
        "would erase"
    } else {
        "erased"
    };
    let mut text = format!(
        "{verb} {:?}: {} key(s) ({} not yet revoked), {} audit event(s)",
        a.owner,
        report.keys.len(),
        report.revoked,
        report.audit_events
    );
    if !report.dry_run {
        text.push_str(&format!(
            ", {} usage row(s), {} request record(s)",
            report.usage_rows, report.request_records
        ));
    }
    if report.unchained_kept > 0 {
        text.push_str(&format!(
            "; {} event(s) from before the audit chain were left as they are",
            report.unchained_kept
        ));
    }
    printed(ctx.out.line(&text))?;
    Ok(Exit::Ok)
}

async fn export(ctx: &Ctx, a: ComplianceExportArgs) -> Result<Exit, CliError> {
    let audit = ctx.db.audit_store();
    let requests = ctx.db.request_log();
    let doc = apikey_core::compliance::export_owner(
        ctx.keys.manager(),
        audit.as_ref(),
        Some(requests.as_ref()),
        &ctx.tenant,
        &a.owner,
        ctx.now(),
    )
    .await
    .map_err(usage_on_bad_input)?;
    let text = serde_json::to_string_pretty(&doc)
        .map_err(|e| CliError::new(Exit::Failure, format!("cannot serialize the export: {e}")))?;
    match &a.out {
        Some(path) => {
            write_private(path, &text)
                .map_err(|e| CliError::usage(format!("cannot write {}: {e}", path.display())))?;
            eprintln!(
                "Exported {} key(s), {} audit event(s) and {} request record(s) of {:?} to {}.",
                doc.keys.len(),
                doc.audit.len(),
                doc.requests.len(),
                doc.owner,
                path.display()
            );
        }
        None => printed(ctx.out.line(&text))?,
    }
    Ok(Exit::Ok)
}
