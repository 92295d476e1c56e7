//! `apikey list` (every page, revoked keys hidden unless asked for) and `apikey show`.

use apikey_core::store::MAX_PAGE_SIZE;
use apikey_core::{EffectiveState, KeyFilter, KeyState};

use crate::cli::{ListArgs, StateArg};
use crate::commands::{Ctx, printed};
use crate::error::{CliError, Exit};
use crate::output::{ShownKey, Table, list as cell_list, time};

fn effective(s: StateArg) -> EffectiveState {
    match s {
        StateArg::Pending => EffectiveState::Pending,
        StateArg::Active => EffectiveState::Active,
        StateArg::Suspended => EffectiveState::Suspended,
        StateArg::Expired => EffectiveState::Expired,
        StateArg::Revoked => EffectiveState::Revoked,
    }
}

/// The stored state an effective state is kept as ("expired" keys are stored active).
pub(crate) fn stored(s: StateArg) -> KeyState {
    match s {
        StateArg::Pending => KeyState::Pending,
        StateArg::Active | StateArg::Expired => KeyState::Active,
        StateArg::Suspended => KeyState::Suspended,
        StateArg::Revoked => KeyState::Revoked,
    }
}

pub(crate) async fn list(ctx: &Ctx, a: ListArgs) -> Result<Exit, CliError> {
    let now = ctx.now();
    let wanted: Vec<EffectiveState> = if a.states.is_empty() {
        let mut all = vec![
            EffectiveState::Pending,
            EffectiveState::Active,
            EffectiveState::Suspended,
            EffectiveState::Expired,
        ];
        if a.all {
            all.push(EffectiveState::Revoked);
        }
        all
    } else {
        a.states.iter().copied().map(effective).collect()
    };
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
    let mut filter = KeyFilter {
        owner: a.owner,
        group: a.group,
        environment: a.environment,
        tags: a.tags.into_iter().map(|t| t.trim().to_owned()).collect(),
        states,
        limit: MAX_PAGE_SIZE,
        ..KeyFilter::default()
    };
    let mut views = Vec::new();
    loop {
        let page = ctx.keys.manager().query(&ctx.tenant, &filter).await?;
        views.extend(
            page.items
                .iter()
                .map(|r| ShownKey::new(r, now))
                .filter(|v| wanted.contains(&v.state)),
        );
        match page.next {
            Some(cursor) => filter.after = Some(cursor),
            None => break,
        }
    }
    if ctx.json {
        printed(ctx.out.json(&views))?;
        return Ok(Exit::Ok);
    }
    if views.is_empty() {
        if a.all || !a.states.is_empty() {
            eprintln!("No keys found.");
        } else {
            eprintln!("No keys found (revoked keys are hidden; add --all to include them).");
        }
        return Ok(Exit::Ok);
    }
    let mut table = Table::with_header(&[
        "ID",
        "LOOKUP ID",
        "NAME",
        "STATE",
        "SCOPES",
        "OWNER",
        "TAGS",
        "EXPIRES",
        "LAST USED",
    ]);
    for v in &views {
        table.push(vec![
            v.id.to_string(),
            v.lookup_id.to_string(),
            v.name.clone(),
            v.state.to_string(),
            cell_list(&v.scope_names()),
            v.owner.clone().unwrap_or_else(|| "-".into()),
            cell_list(&v.tags),
            v.expires_at.map_or("never".into(), time),
            v.last_used_at.map_or("never".into(), time),
        ]);
    }
    printed(ctx.out.text(&table.render()))?;
    Ok(Exit::Ok)
}

pub(crate) async fn show(ctx: &Ctx, arg: &str) -> Result<Exit, CliError> {
    let id = ctx.key_id(arg).await?;
    let record = ctx
        .keys
        .manager()
        .get(&ctx.tenant, id)
        .await
        .map_err(|e| CliError::for_key(e, arg))?;
    print_key(ctx, &record)?;
    Ok(Exit::Ok)
}

/// Prints every field of a key (`show`, and the commands that change settings).
pub(crate) fn print_key(ctx: &Ctx, record: &apikey_core::KeyRecord) -> Result<(), CliError> {
    let view = ShownKey::new(record, ctx.now());
    if ctx.json {
        printed(ctx.out.json(&view))
    } else {
        printed(ctx.out.text(&Table::fields(view.rows()).render()))
    }
}
