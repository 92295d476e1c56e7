//! `apikey migrate`: the schema was created or upgraded before the command ran (see the schema
//! policy in `commands`); this reports it, and lists aliases several keys of one tenant share
//! (left from before aliases were unique per tenant), which keep the unique alias index from
//! being created until they are resolved with `apikey alias remove`.

use serde_json::json;

use crate::commands::{Ctx, printed};
use crate::error::{CliError, Exit};

pub(crate) async fn run(ctx: &Ctx) -> Result<Exit, CliError> {
    let dups = ctx.db.duplicate_aliases().await?;
    if ctx.json {
        let dups: Vec<_> = dups
            .iter()
            .map(|d| json!({ "tenant": d.tenant, "alias": d.alias, "keys": d.keys }))
            .collect();
        printed(ctx.out.json(&json!({
            "migrated": true,
            "database": ctx.target.redacted,
            "duplicate_aliases": dups,
        })))?;
    } else {
        printed(ctx.out.line(&format!(
            "The schema of {} is up to date.",
            ctx.target.redacted
        )))?;
        if !dups.is_empty() {
            eprintln!(
                "{} aliases are shared by several keys of one tenant; aliases are unique per tenant now:",
                dups.len()
            );
            for d in &dups {
                let tenant = d
                    .tenant
                    .as_ref()
                    .map_or("(no tenant)".to_owned(), ToString::to_string);
                let keys: Vec<String> = d.keys.iter().map(ToString::to_string).collect();
                eprintln!("  {tenant} {:?}: {}", d.alias, keys.join(", "));
            }
            eprintln!(
                "Keep one holder each (`apikey alias remove ID ALIAS`), then run `apikey migrate` again."
            );
        }
    }
    Ok(Exit::Ok)
}
