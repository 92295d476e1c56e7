//! What `--confirm` prints: who applied the change, who left, who did not answer (exit 9).

use apikey_core::{Confirmation, Instance};
use serde::Serialize;

use crate::commands::{Ctx, printed};
use crate::error::{CliError, Exit};
use crate::output::{Table, time};

/// A command's usual JSON with the confirmation beside its fields.
#[derive(Serialize)]
pub(crate) struct WithConfirmation<'a, T: Serialize> {
    #[serde(flatten)]
    pub(crate) value: &'a T,
    pub(crate) confirmation: &'a Confirmation,
}

fn names(instances: &[Instance]) -> String {
    if instances.is_empty() {
        return "none".to_owned();
    }
    instances
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Prints the confirmation as text (JSON callers print it with their value); exit 9 when an
/// instance did not answer.
pub(crate) fn report(ctx: &Ctx, c: &Confirmation) -> Result<Exit, CliError> {
    if !ctx.json {
        let mut rows = vec![
            ("confirmed by", c.acknowledged.len().to_string()),
            ("waited", format!("{} ms", c.elapsed.as_millis())),
        ];
        if !c.departed.is_empty() {
            rows.push(("departed", names(&c.departed)));
        }
        if !c.missing.is_empty() {
            rows.push(("not answered", names(&c.missing)));
        }
        printed(ctx.out.text(&Table::fields(rows).render()))?;
    }
    if c.is_complete() {
        return Ok(Exit::Ok);
    }
    let last_seen = c
        .missing
        .iter()
        .map(|i| format!("{i} last seen {}", time(i.last_seen)))
        .collect::<Vec<_>>()
        .join("; ");
    Err(CliError::new(
        Exit::NotConfirmed,
        format!(
            "the change is committed, but {} running instance(s) did not confirm it within the timeout: {last_seen}",
            c.missing.len()
        ),
    )
    .hint("do not repeat the change; they may accept the old state until they catch up. Run `apikey instances`, check those processes, or wait longer with a larger --timeout"))
}
