//! `apikey audit verify` and `apikey audit checkpoint`: the tamper-evident chain checked and
//! anchored from the command line. Both read the whole log, whatever `--tenant` says: positions,
//! chains and checkpoints span every tenant.

use std::sync::Arc;

use apikey_core::SystemClock;
use apikey_core::audit::chain::{self, AuditCheckpointJob, ChainReport};
use apikey_core::secret_box::SecretBox;

use crate::commands::{Ctx, printed};
use crate::error::{CliError, Exit};
use crate::output::{Table, time};

/// Most findings listed in the text output (`--json` has them all).
const SHOWN: usize = 20;

pub(crate) async fn verify(ctx: &Ctx) -> Result<Exit, CliError> {
    // Without the KEK the chains and the checkpoints' succession are still checked; the report
    // says the MACs were not.
    let sbox = crate::kek::load(&ctx.target, false)
        .ok()
        .map(SecretBox::new);
    let report = chain::verify(ctx.db.audit_store().as_ref(), sbox.as_ref()).await?;
    if ctx.json {
        printed(ctx.out.json(&report))?;
    } else {
        printed(ctx.out.text(&summary(&report)))?;
    }
    Ok(if report.is_intact() {
        Exit::Ok
    } else {
        Exit::Failure
    })
}

fn summary(r: &ChainReport) -> String {
    let mut out = format!(
        "{} events ({} chained, {} unchained, {} erased), {} key chains\n",
        r.events, r.chained, r.unchained, r.erased, r.keys
    );
    match &r.last_checkpoint {
        Some(c) => out.push_str(&format!(
            "{} checkpoints, {}; the last (#{}) made {} covers the log through position {}\n",
            r.checkpoints,
            if r.checkpoints_verified {
                "MACs checked"
            } else {
                "MACs NOT checked (no KEK: set APIKEY_KEK)"
            },
            c.seq,
            time(c.made_at),
            c.through
        )),
        None => out.push_str(
            "no checkpoints yet: chains are checked for consistency only (run `apikey audit checkpoint`)\n",
        ),
    }
    out.push_str(&format!(
        "{} covered by checkpoints, {} after the last one, {} purged by retention{}\n",
        r.covered,
        r.unanchored,
        r.purged,
        r.purged_before
            .map(|t| format!(" (before {})", time(t)))
            .unwrap_or_default()
    ));
    let Some(first) = r.first() else {
        out.push_str("intact: nothing altered, removed or inserted\n");
        return out;
    };
    out.push_str(&format!(
        "TAMPERED: {} finding(s); the first: {} at position {}: {}\n",
        r.findings.len(),
        first.problem,
        first
            .position
            .map_or_else(|| "?".to_owned(), |p| p.to_string()),
        first.detail
    ));
    let mut table =
        Table::with_header(&["POSITION", "PROBLEM", "EVENT", "KEY", "VERSION", "DETAIL"]);
    for f in r.findings.iter().take(SHOWN) {
        table.push(vec![
            f.position.map_or_else(|| "-".into(), |p| p.to_string()),
            f.problem.to_string(),
            f.event_id.map_or_else(|| "-".into(), |e| e.to_string()),
            f.key_id.map_or_else(|| "-".into(), |k| k.to_string()),
            f.version.map_or_else(|| "-".into(), |v| v.to_string()),
            f.detail.clone(),
        ]);
    }
    out.push_str(&table.render());
    if r.findings.len() > SHOWN {
        out.push_str(&format!(
            "… and {} more (--json lists them all)\n",
            r.findings.len() - SHOWN
        ));
    }
    out
}

pub(crate) async fn checkpoint(ctx: &Ctx) -> Result<Exit, CliError> {
    let keks = crate::kek::load(&ctx.target, true)?;
    let job = AuditCheckpointJob::new(
        ctx.db.audit_store(),
        Arc::new(SystemClock),
        SecretBox::new(keks),
    );
    let made = job.checkpoint_now().await?;
    if ctx.json {
        printed(
            ctx.out
                .json(&serde_json::json!({ "checkpoints_made": made })),
        )?;
    } else {
        printed(ctx.out.line(&format!("{made} checkpoint(s) made")))?;
    }
    Ok(Exit::Ok)
}
