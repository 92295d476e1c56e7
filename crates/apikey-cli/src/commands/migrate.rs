//! `apikey migrate`: the schema was created or upgraded before the command ran (see the schema
//! policy in `commands`); this reports it.

use crate::commands::{Ctx, printed};
use crate::error::{CliError, Exit};

pub(crate) async fn run(ctx: &Ctx) -> Result<Exit, CliError> {
    if ctx.json {
        printed(ctx.out.json(&serde_json::json!({
            "migrated": true,
            "database": ctx.target.redacted,
        })))?;
    } else {
        printed(ctx.out.line(&format!(
            "The schema of {} is up to date.",
            ctx.target.redacted
        )))?;
    }
    Ok(Exit::Ok)
}
