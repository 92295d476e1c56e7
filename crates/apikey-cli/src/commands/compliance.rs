//! `apikey compliance export --owner O [--out FILE]`: what is held about an owner
//! (`apikey_core::compliance::export_owner`), as JSON.

use crate::cli_compliance::{ComplianceCommand, ComplianceExportArgs};
use crate::commands::portable::write_private;
use crate::commands::{Ctx, printed};
use crate::error::{CliError, Exit};

pub(crate) async fn run(ctx: &Ctx, c: ComplianceCommand) -> Result<Exit, CliError> {
    match c {
        ComplianceCommand::Export(a) => export(ctx, a).await,
    }
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
    .map_err(|e| {
        if e.kind() == apikey_core::ErrorKind::InvalidInput {
            CliError::usage(e.message().to_owned())
        } else {
            CliError::from(e)
        }
    })?;
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
