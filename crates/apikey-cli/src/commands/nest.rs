//! `apikey import --from-nest URL [--dry-run]`: keys from nest-api-key-auth's database, through
//! `apikey-nest`. The source URL may hold a password: messages name the kind of source only.

use apikey_core::TenantScope;
use apikey_nest::{NestOptions, import_nest};
use serde_json::json;

use crate::commands::{Ctx, printed};
use crate::error::{CliError, Exit};

pub(crate) async fn import(ctx: &Ctx, url: &str, dry_run: bool) -> Result<Exit, CliError> {
    let tenant = match &ctx.tenant {
        TenantScope::Tenant(t) => Some(t.clone()),
        _ => None,
    };
    let options = NestOptions::new()
        .dry_run(dry_run)
        .tenant(tenant)
        .actor(ctx.actor.clone());
    let report = import_nest(ctx.keys.manager(), url, &options)
        .await
        .map_err(|e| CliError::usage(format!("cannot import from nest-api-key-auth: {e}")))?;
    let row = |r: &apikey_nest::ImportedRow| json!({ "source_id": r.source_id, "key": r.key, "name": r.name, "notes": r.notes });
    if ctx.json {
        printed(ctx.out.json(&json!({
            "shape": report.shape.to_string(),
            "dry_run": report.dry_run,
            "imported": report.imported.iter().map(row).collect::<Vec<_>>(),
            "skipped": report.skipped.iter().map(row).collect::<Vec<_>>(),
            "failed": report.failed.iter().map(|f| json!({ "source_id": f.source_id, "reason": f.reason })).collect::<Vec<_>>(),
            "crowded_legacy": report.crowded_legacy,
        })))?;
    } else {
        let verb = if report.dry_run {
            "would import"
        } else {
            "imported"
        };
        printed(ctx.out.line(&format!(
            "{} ({}): {verb} {}, skipped {} already here, {} failed",
            "nest-api-key-auth",
            report.shape,
            report.imported.len(),
            report.skipped.len(),
            report.failed.len()
        )))?;
        for f in &report.failed {
            eprintln!("not imported: {} ({})", f.source_id, f.reason);
        }
    }
    Ok(if report.failed.is_empty() {
        Exit::Ok
    } else {
        Exit::Usage
    })
}
