//! `apikey bulk create FILE` and `apikey bulk revoke|suspend|update` (with the filters of
//! `list`), and the selection both `bulk` and `groups revoke|suspend` change. A progress bar goes
//! to stderr on a terminal; none when it is not one, or with `--json`.

use std::io::IsTerminal;
use std::sync::Arc;

use apikey_core::{BulkAction, BulkOptions, Change, KeyFilter, KeyState, TenantScope};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use super::bulk_file;
use super::list::stored;
use crate::cli::ListArgs;
use crate::cli_programme::{BulkCommand, BulkUpdateArgs};
use crate::commands::{Ctx, printed};
use crate::error::{CliError, Exit};
use crate::output::{ShownKey, Table};

/// A row's key and token, or why it failed.
type RowOutcome = Result<(ShownKey, String), String>;

pub(crate) async fn run(ctx: &Ctx, c: BulkCommand) -> Result<Exit, CliError> {
    match c {
        BulkCommand::Create {
            file,
            format,
            atomic,
        } => create(ctx, &file, format, atomic).await,
        BulkCommand::Revoke(a) => {
            let filter = selection(&a.filter);
            change_selected(ctx, &filter, &BulkAction::Revoke, a.dry_run, a.reason).await
        }
        BulkCommand::Suspend(a) => {
            let filter = selection(&a.filter);
            change_selected(ctx, &filter, &BulkAction::Suspend, a.dry_run, a.reason).await
        }
        BulkCommand::Update(a) => update(ctx, *a).await,
    }
}

/// A bar on a terminal; hidden otherwise (and with --json, whose output scripts read).
fn progress(ctx: &Ctx, len: usize, what: &str) -> ProgressBar {
    if ctx.json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    if let Ok(style) = ProgressStyle::with_template("{msg} {wide_bar} {pos}/{len} ({eta})") {
        bar.set_style(style);
    }
    bar.set_message(what.to_owned());
    bar
}

fn options(bar: &ProgressBar, atomic: bool, dry_run: bool) -> BulkOptions {
    let bar = bar.clone();
    BulkOptions {
        atomic,
        dry_run,
        progress: Some(Arc::new(move |n| bar.set_position(n))),
        within: None,
    }
}

/// The keys the `list` filters select; revoked keys only with --all or --state revoked.
fn selection(a: &ListArgs) -> KeyFilter {
    let mut states: Vec<KeyState> = if a.states.is_empty() {
        let mut s = vec![KeyState::Pending, KeyState::Active, KeyState::Suspended];
        if a.all {
            s.push(KeyState::Revoked);
        }
        s
    } else {
        a.states.iter().copied().map(stored).collect()
    };
    states.sort();
    states.dedup();
    KeyFilter {
        owner: a.owner.clone(),
        group: a.group.clone(),
        environment: a.environment.clone(),
        tags: a.tags.iter().map(|t| t.trim().to_owned()).collect(),
        states,
        ..KeyFilter::default()
    }
}

async fn create(
    ctx: &Ctx,
    file: &std::path::Path,
    format: Option<crate::cli_programme::FileFormat>,
    atomic: bool,
) -> Result<Exit, CliError> {
    let tenant = match &ctx.tenant {
        TenantScope::Tenant(t) => Some(t.clone()),
        _ => None,
    };
    let rows = bulk_file::read(file, format, tenant.as_ref())?;
    let bad: Vec<(usize, String)> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().err().map(|e| (i, e.clone())))
        .collect();
    if atomic && let Some((i, e)) = bad.first() {
        return Err(CliError::usage(format!(
            "row {}: {e}; nothing was written",
            i + 1
        )));
    }
    let (index, keys): (Vec<usize>, Vec<_>) = rows
        .into_iter()
        .enumerate()
        .filter_map(|(i, r)| r.ok().map(|k| (i, k)))
        .unzip();
    // Kept to name the row of an alias collision, which the store reports without a row.
    let aliases: Vec<(usize, Vec<String>)> = index
        .iter()
        .zip(&keys)
        .map(|(i, k)| (*i, k.aliases.clone()))
        .collect();
    let bar = progress(ctx, keys.len(), "creating");
    let out = ctx
        .keys
        .manager()
        .bulk_create(
            keys,
            &options(&bar, atomic, false),
            Change::new().with_actor(ctx.actor.clone()),
        )
        .await
        .map_err(|e| {
            bar.finish_and_clear();
            atomic_failure(e, &aliases)
        })?;
    bar.finish_and_clear();
    let mut results: Vec<(usize, RowOutcome)> = bad.into_iter().map(|(i, e)| (i, Err(e))).collect();
    for (i, row) in index.into_iter().zip(out.rows) {
        results.push((
            i,
            row.map(|c| {
                (
                    ShownKey::new(&c.record, ctx.now()),
                    c.token.expose().to_owned(),
                )
            })
            .map_err(|e| e.error.message().to_owned()),
        ));
    }
    results.sort_by_key(|(i, _)| *i);
    let failed = results.iter().filter(|(_, r)| r.is_err()).count();
    if ctx.json {
        let rows: Vec<Value> = results
            .iter()
            .map(|(i, r)| match r {
                Ok((key, token)) => json!({ "row": i + 1, "key": key, "token": token }),
                Err(e) => json!({ "row": i + 1, "error": e }),
            })
            .collect();
        printed(ctx.out.json(&json!({
            "created": results.len() - failed,
            "failed": failed,
            "rows": rows,
        })))?;
    } else {
        let mut table = Table::with_header(&["ROW", "ID", "NAME", "TOKEN"]);
        for (i, r) in &results {
            match r {
                Ok((key, token)) => table.push(vec![
                    (i + 1).to_string(),
                    key.id.to_string(),
                    key.name.clone(),
                    token.clone(),
                ]),
                Err(e) => eprintln!("row {}: {e}", i + 1),
            }
        }
        printed(ctx.out.text(&table.render()))?;
        eprintln!(
            "{} created, {failed} failed. {}",
            results.len() - failed,
            super::create::SHOWN_ONCE
        );
    }
    Ok(if failed == 0 { Exit::Ok } else { Exit::Usage })
}

/// An atomic creation that failed: the error with the row it concerns (when the store's message
/// names an alias rather than a row) and the fact that nothing was written.
fn atomic_failure(e: apikey_core::Error, aliases: &[(usize, Vec<String>)]) -> CliError {
    let e = CliError::from(e);
    let row = aliases
        .iter()
        .find(|(_, a)| a.iter().any(|a| e.message.contains(&format!("{a:?}"))))
        .filter(|_| !e.message.starts_with("row "))
        .map(|(i, _)| format!("row {}: ", i + 1))
        .unwrap_or_default();
    let hint = match e.exit {
        Exit::Conflict | Exit::Usage => {
            "fix that row (or drop --atomic to write the good rows and report the bad ones), then run the file again".to_owned()
        }
        _ => e.hint.unwrap_or_default(),
    };
    CliError {
        message: format!("{row}{}; nothing was written", e.message),
        hint: Some(hint).filter(|h| !h.is_empty()),
        ..e
    }
}

async fn update(ctx: &Ctx, a: BulkUpdateArgs) -> Result<Exit, CliError> {
    let update = super::update::build(ctx, &a.fields())?;
    if update.is_empty() {
        return Err(CliError::usage("bulk update: nothing to change").hint(
            "give at least one field flag, e.g. --set-environment or --clear-expiry (see `apikey bulk update --help`)",
        ));
    }
    let filter = selection(&a.change.filter);
    change_selected(
        ctx,
        &filter,
        &BulkAction::Update(Box::new(update)),
        a.change.dry_run,
        a.change.reason,
    )
    .await
}

/// Applies `action` to every key `filter` selects in the command's tenant scope, or with
/// `dry_run` lists them; prints what changed, what was skipped and what failed.
pub(crate) async fn change_selected(
    ctx: &Ctx,
    filter: &KeyFilter,
    action: &BulkAction,
    dry_run: bool,
    reason: Option<String>,
) -> Result<Exit, CliError> {
    let m = ctx.keys.manager();
    let who = Change::new()
        .with_actor(ctx.actor.clone())
        .with_reason(reason);
    // The plan first, for the bar's length (and as the answer of a dry run).
    let plan = m
        .bulk_change(
            &ctx.tenant,
            filter,
            action,
            &BulkOptions {
                dry_run: true,
                ..BulkOptions::default()
            },
            who.clone(),
        )
        .await?;
    let out = if dry_run {
        plan
    } else {
        let bar = progress(ctx, plan.targeted.len(), "changing");
        let out = m
            .bulk_change(
                &ctx.tenant,
                filter,
                action,
                &options(&bar, false, false),
                who,
            )
            .await?;
        bar.finish_and_clear();
        out
    };
    let now = ctx.now();
    let shown: Vec<ShownKey> = if dry_run {
        out.targeted.iter().map(|r| ShownKey::new(r, now)).collect()
    } else {
        out.changed.iter().map(|r| ShownKey::new(r, now)).collect()
    };
    if ctx.json {
        let failed: Vec<Value> = out
            .failed
            .iter()
            .map(|(id, e)| json!({ "id": id, "error": e.message() }))
            .collect();
        printed(ctx.out.json(&json!({
            "dry_run": dry_run,
            (if dry_run { "would_change" } else { "changed" }): shown,
            "skipped": out.skipped,
            "failed": failed,
        })))?;
    } else {
        let mut table = Table::with_header(&["ID", "NAME", "STATE", "OWNER", "GROUP"]);
        for k in &shown {
            table.push(vec![
                k.id.to_string(),
                k.name.clone(),
                k.state_text(),
                k.owner.clone().unwrap_or_else(|| "-".into()),
                k.group.clone().unwrap_or_else(|| "-".into()),
            ]);
        }
        printed(ctx.out.text(&table.render()))?;
        for (id, e) in &out.failed {
            eprintln!("{id}: {}", e.message());
        }
        let verb = if dry_run { "would change" } else { "changed" };
        eprintln!(
            "{} {verb}, {} skipped (the change does not apply to them), {} failed",
            shown.len(),
            out.skipped.len(),
            out.failed.len()
        );
    }
    Ok(if out.failed.is_empty() {
        Exit::Ok
    } else {
        Exit::Failure
    })
}
