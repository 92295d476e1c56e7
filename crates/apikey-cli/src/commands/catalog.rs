//! `apikey templates …` and `apikey groups …`: presets of the tenant given with `--tenant` (or
//! of the keys without a tenant), and revoking or suspending a whole group.

use apikey_core::catalog::{CatalogKind, KeyDefaults, Preset, StoredPreset};
use apikey_core::limit::EndpointLimit;
use apikey_core::{BulkAction, Change, ErrorKind, IpRules, KeyFilter, Rate, TenantId, TenantScope};

use super::bulk::change_selected;
use crate::cli_programme::{DefaultsArgs, GroupChangeArgs, GroupsCommand, TemplatesCommand};
use crate::commands::{Ctx, printed};
use crate::error::{CliError, Exit};
use crate::output::{Table, join, list, rate, time};

/// The tenant presets belong to: `--tenant`, or none.
fn tenant(ctx: &Ctx) -> Option<&TenantId> {
    match &ctx.tenant {
        TenantScope::Tenant(t) => Some(t),
        _ => None,
    }
}

pub(crate) async fn templates(ctx: &Ctx, c: TemplatesCommand) -> Result<Exit, CliError> {
    let kind = CatalogKind::Template;
    match c {
        TemplatesCommand::Create { name, defaults } => save(ctx, kind, name, *defaults).await,
        TemplatesCommand::List => show_list(ctx, kind).await,
        TemplatesCommand::Show { name } => show(ctx, kind, &name, false).await,
        TemplatesCommand::Remove { name } => {
            ctx.keys
                .manager()
                .remove_preset(tenant(ctx), kind, &name, change(ctx, None))
                .await
                .map_err(|e| named(e, kind, &name))?;
            if ctx.json {
                printed(ctx.out.json(&serde_json::json!({ "removed": name })))?;
            } else {
                printed(ctx.out.line(&format!("removed template {name}")))?;
            }
            Ok(Exit::Ok)
        }
    }
}

pub(crate) async fn groups(ctx: &Ctx, c: GroupsCommand) -> Result<Exit, CliError> {
    let kind = CatalogKind::Group;
    match c {
        GroupsCommand::Create { name, defaults } => save(ctx, kind, name, *defaults).await,
        GroupsCommand::List => show_list(ctx, kind).await,
        GroupsCommand::Show { name } => show(ctx, kind, &name, true).await,
        GroupsCommand::Revoke(a) => group_change(ctx, a, BulkAction::Revoke).await,
        GroupsCommand::Suspend(a) => group_change(ctx, a, BulkAction::Suspend).await,
    }
}

fn change(ctx: &Ctx, reason: Option<String>) -> Change {
    Change::new()
        .with_actor(ctx.actor.clone())
        .with_reason(reason)
}

/// An unknown preset as "no such template/group" (exit 3), naming it.
fn named(e: apikey_core::Error, kind: CatalogKind, name: &str) -> CliError {
    if e.kind() == ErrorKind::NotFound {
        CliError::new(Exit::NotFound, format!("no {kind} named {name:?}"))
            .hint(format!("run `apikey {kind}s list`"))
    } else {
        e.into()
    }
}

fn defaults_of(a: DefaultsArgs) -> Result<KeyDefaults, CliError> {
    let rate_limit = a
        .rate
        .map(|r| crate::commands::update::rate(r, a.burst))
        .transpose()?;
    let endpoint_limits = a
        .endpoint_limits
        .iter()
        .map(|(e, r)| {
            Ok(EndpointLimit::new(
                e.as_str(),
                Rate::new(r.requests, r.per)?,
            ))
        })
        .collect::<Result<Vec<_>, CliError>>()?;
    Ok(KeyDefaults {
        scopes: a.scopes.into_iter().collect(),
        rate_limit,
        endpoint_limits,
        quota: a.quota,
        expires_in_days: a.expires_in_days,
        ip_rules: IpRules::parse(&a.ip_allow, &a.ip_deny)?,
        environment: a.environment,
        tags: a.tags.into_iter().map(|t| t.trim().to_owned()).collect(),
        metadata: a.metadata.unwrap_or_default(),
        require_approval: a.require_approval,
    })
}

async fn save(
    ctx: &Ctx,
    kind: CatalogKind,
    name: String,
    a: DefaultsArgs,
) -> Result<Exit, CliError> {
    let m = ctx.keys.manager();
    let replace = a.replace;
    let mut preset = Preset::new(kind, name.clone());
    preset.description.clone_from(&a.description);
    preset.defaults = defaults_of(a)?;
    let version = if replace {
        match m.preset(tenant(ctx), kind, &name).await {
            Ok(p) => p.version,
            Err(e) if e.kind() == ErrorKind::NotFound => 0,
            Err(e) => return Err(e.into()),
        }
    } else {
        0
    };
    let stored = m
        .save_preset(tenant(ctx), preset, version, change(ctx, None))
        .await
        .map_err(|e| {
            if e.kind() == ErrorKind::Conflict && !replace {
                CliError::new(
                    Exit::Conflict,
                    format!("a {kind} named {name:?} exists already"),
                )
                .hint("give --replace to change it")
            } else {
                e.into()
            }
        })?;
    print_preset(ctx, &stored, None)?;
    Ok(Exit::Ok)
}

async fn show_list(ctx: &Ctx, kind: CatalogKind) -> Result<Exit, CliError> {
    let presets = ctx.keys.manager().presets(tenant(ctx), kind).await?;
    if ctx.json {
        printed(ctx.out.json(&presets))?;
        return Ok(Exit::Ok);
    }
    if presets.is_empty() {
        printed(ctx.out.line(&format!("no {kind}s")))?;
        return Ok(Exit::Ok);
    }
    let mut table = Table::with_header(&["NAME", "SCOPES", "EXPIRES IN", "DESCRIPTION", "VERSION"]);
    for p in &presets {
        let d = &p.preset.defaults;
        table.push(vec![
            p.preset.name.clone(),
            list(
                &d.scopes
                    .iter()
                    .map(|s| s.as_str().to_owned())
                    .collect::<Vec<_>>(),
            ),
            d.expires_in_days
                .map_or("-".into(), |n| format!("{n} days")),
            p.preset.description.clone().unwrap_or_else(|| "-".into()),
            p.version.to_string(),
        ]);
    }
    printed(ctx.out.text(&table.render()))?;
    Ok(Exit::Ok)
}

async fn show(ctx: &Ctx, kind: CatalogKind, name: &str, keys: bool) -> Result<Exit, CliError> {
    let m = ctx.keys.manager();
    let stored = m
        .preset(tenant(ctx), kind, name)
        .await
        .map_err(|e| named(e, kind, name))?;
    let members = if keys {
        Some(group_keys(ctx, name).await?)
    } else {
        None
    };
    print_preset(ctx, &stored, members)?;
    Ok(Exit::Ok)
}

/// The ids of the group's keys (every page, revoked ones too), of the presets' tenant only: the same
/// label in another tenant is another group.
async fn group_keys(ctx: &Ctx, name: &str) -> Result<Vec<String>, CliError> {
    let scope = tenant(ctx).map_or(TenantScope::All, |t| TenantScope::Tenant(t.clone()));
    let mut filter = KeyFilter {
        group: Some(name.to_owned()),
        limit: apikey_core::store::MAX_PAGE_SIZE,
        ..KeyFilter::default()
    };
    let mut ids = Vec::new();
    loop {
        let page = ctx.keys.manager().query(&scope, &filter).await?;
        ids.extend(
            page.items
                .iter()
                .filter(|r| r.tenant_id.as_ref() == tenant(ctx))
                .map(|r| r.id.to_string()),
        );
        match page.next {
            Some(cursor) => filter.after = Some(cursor),
            None => return Ok(ids),
        }
    }
}

fn print_preset(ctx: &Ctx, p: &StoredPreset, keys: Option<Vec<String>>) -> Result<(), CliError> {
    if ctx.json {
        let mut v = serde_json::to_value(p).map_err(|e| CliError::usage(e.to_string()))?;
        if let Some(keys) = keys {
            v["keys"] = keys.into();
        }
        printed(ctx.out.json(&v))?;
        return Ok(());
    }
    let d = &p.preset.defaults;
    let mut rows = vec![
        ("kind", p.preset.kind.to_string()),
        ("name", p.preset.name.clone()),
        ("version", p.version.to_string()),
        ("updated", time(p.updated_at)),
    ];
    let mut opt = |label, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            rows.push((label, v));
        }
    };
    opt("tenant", p.tenant.as_ref().map(ToString::to_string));
    opt("description", p.preset.description.clone());
    // Empty rows are left out, so no scopes shows no row (not "-", which reads as a value).
    opt(
        "scopes",
        Some(join(
            &d.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        )),
    );
    opt("rate limit", d.rate_limit.map(|r| rate(&r)));
    for l in &d.endpoint_limits {
        opt(
            "endpoint limit",
            Some(format!("{}: {}", l.endpoint, rate(&l.rate))),
        );
    }
    opt("ip allow", Some(join(d.ip_rules.allow())));
    opt("ip deny", Some(join(d.ip_rules.deny())));
    opt(
        "quota",
        d.quota.map(|q| format!("{}/{}", q.limit, q.period)),
    );
    opt("expires in", d.expires_in_days.map(|n| format!("{n} days")));
    opt("environment", d.environment.clone());
    opt("tags", Some(d.tags.join(", ")));
    if !d.metadata.is_empty() {
        opt(
            "metadata",
            Some(serde_json::Value::Object(d.metadata.as_map().clone()).to_string()),
        );
    }
    opt(
        "approval",
        d.require_approval.then(|| "required".to_owned()),
    );
    if let Some(keys) = &keys {
        rows.push(("keys", keys.len().to_string()));
    }
    printed(ctx.out.text(&Table::fields(rows).render()))?;
    if let Some(keys) = keys.filter(|k| !k.is_empty()) {
        printed(ctx.out.line(""))?;
        for k in keys {
            printed(ctx.out.line(&k))?;
        }
    }
    Ok(())
}

async fn group_change(ctx: &Ctx, a: GroupChangeArgs, action: BulkAction) -> Result<Exit, CliError> {
    // An unknown group is an error, not an empty selection.
    ctx.keys
        .manager()
        .preset(tenant(ctx), CatalogKind::Group, &a.name)
        .await
        .map_err(|e| named(e, CatalogKind::Group, &a.name))?;
    let filter = KeyFilter {
        group: Some(a.name.clone()),
        ..KeyFilter::default()
    };
    if tenant(ctx).is_none() {
        // A group without --tenant is the keys-without-a-tenant's group: the same label in a
        // tenant names another group, which this must not touch.
        let page = ctx
            .keys
            .manager()
            .query(
                &TenantScope::All,
                &KeyFilter {
                    limit: apikey_core::store::MAX_PAGE_SIZE,
                    ..filter.clone()
                },
            )
            .await?;
        if let Some(t) = page.items.iter().find_map(|r| r.tenant_id.as_ref()) {
            return Err(CliError::usage(format!(
                "keys of tenant {t} also carry the group label {:?}; give --tenant to act within one tenant",
                a.name
            )));
        }
    }
    change_selected(ctx, &filter, &action, a.dry_run, a.reason).await
}
