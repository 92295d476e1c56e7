//! `apikey verify TOKEN`: runs the real verifier against the database and prints the verdict
//! (exit 0 valid, 1 rejected). Rate limits and quotas are checked against a fresh in-process budget:
//! the verdict says whether the key would be accepted, not how much of its budget is left.

use std::io::BufRead as _;

use apikey_core::{Credential, RequestContext};
use serde_json::json;

use crate::cli::VerifyArgs;
use crate::commands::{Ctx, printed};
use crate::error::{CliError, Exit};
use crate::output::ShownKey;

pub(crate) async fn run(ctx: &Ctx, a: VerifyArgs) -> Result<Exit, CliError> {
    let token = match a.token {
        Some(t) => t,
        None => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| CliError::usage(format!("cannot read the token from stdin: {e}")))?;
            line
        }
    };
    let token = token.trim();
    let mut rc = RequestContext::new().scopes(&a.scopes).client_ip(a.ip);
    if let Some(e) = &a.endpoint {
        rc = rc.endpoint(e);
    }
    let verdict = ctx
        .keys
        .verifier()
        .verify(Credential::new(token), &rc)
        .await;
    match verdict {
        Ok(v) => {
            let view = ShownKey::new(v.record(), ctx.now());
            if ctx.json {
                printed(ctx.out.json(&json!({
                    "valid": true,
                    "in_expiry_grace": v.in_expiry_grace(),
                    "key": view,
                })))?;
            } else {
                printed(
                    ctx.out
                        .line(&format!("valid: key {} ({})", view.id, view.name)),
                )?;
            }
            Ok(Exit::Ok)
        }
        Err(r) => {
            let kind = r.kind();
            if ctx.json {
                printed(ctx.out.json(&json!({
                    "valid": false,
                    "kind": kind.code(),
                    "status": r.status(),
                    "key_id": r.key_id(),
                    "missing_scope": r.missing_scope().map(|s| s.as_str()),
                    "retry_after_secs": r.retry_after_duration().map(|d| d.as_secs_f64()),
                    "limit": r.limit().map(|l| l.kind.as_str()),
                    "pool": r.limiting_pool(),
                })))?;
            } else {
                let mut line = format!("rejected: {} (HTTP {})", kind.code(), r.status());
                if let Some(s) = r.missing_scope() {
                    line.push_str(&format!("; missing scope {s}"));
                }
                if let Some(id) = r.key_id() {
                    line.push_str(&format!("; key {id}"));
                }
                if let Some(pool) = r.limiting_pool() {
                    line.push_str(&format!("; pool {pool}"));
                }
                printed(ctx.out.line(&line))?;
            }
            Ok(Exit::Failure)
        }
    }
}
