//! `apikey update ID`: builds a [`KeyUpdate`] from the flags — a flag not given leaves its field
//! alone, a `--clear-…` flag empties it — and prints the key as `show` does. The change and its
//! audit event (with `--actor` and `--reason`) are committed together.

use apikey_core::limit::EndpointLimit;
use apikey_core::{Change, IpRules, KeyUpdate, Rate, ScopeSet};

use crate::cli::{RateSpec, UpdateArgs};
use crate::commands::{Ctx, list};
use crate::error::{CliError, Exit};

pub(crate) async fn run(ctx: &Ctx, a: UpdateArgs) -> Result<Exit, CliError> {
    let update = build(ctx, &a)?;
    if update.is_empty() {
        return Err(CliError::usage("update: nothing to change").hint(
            "give at least one flag, e.g. --scopes or --clear-expiry (see `apikey update --help`)",
        ));
    }
    let id = ctx.key_id(&a.id).await?;
    let record = ctx
        .keys
        .manager()
        .update(
            &ctx.tenant,
            id,
            update,
            Change::new()
                .with_actor(ctx.actor.clone())
                .with_reason(a.reason.clone()),
        )
        .await
        .map_err(|e| CliError::for_key(e, &a.id))?;
    list::print_key(ctx, &record)?;
    Ok(Exit::Ok)
}

/// A value, or `Some(None)` to clear it, or `None` to leave it.
fn set_or_clear<T>(value: Option<T>, clear: bool) -> Option<Option<T>> {
    if clear { Some(None) } else { value.map(Some) }
}

/// A list, or an empty one to clear it, or `None` to leave it.
fn list_or_clear<T>(value: Option<Vec<T>>, clear: bool) -> Option<Vec<T>> {
    if clear { Some(Vec::new()) } else { value }
}

/// `--rate N/PERIOD [--burst B]` as a rate (the burst defaults to N); shared by every command
/// that takes them.
pub(crate) fn rate(spec: RateSpec, burst: Option<u32>) -> Result<Rate, CliError> {
    Ok(Rate::with_burst(
        spec.requests,
        spec.per,
        burst.unwrap_or(spec.requests),
    )?)
}

pub(crate) fn build(ctx: &Ctx, a: &UpdateArgs) -> Result<KeyUpdate, CliError> {
    let trimmed = |v: &Option<Vec<String>>| {
        v.as_ref()
            .map(|v| v.iter().map(|t| t.trim().to_owned()).collect::<Vec<_>>())
    };
    let expires_at = if a.clear_expiry {
        Some(None)
    } else if let Some(d) = a.expires_in {
        let too_long = || CliError::usage("--expires-in: too long");
        let d = chrono::Duration::from_std(d).map_err(|_| too_long())?;
        Some(Some(ctx.now().checked_add_signed(d).ok_or_else(too_long)?))
    } else {
        a.expires_at.map(Some)
    };
    let ip_rules = if a.clear_ip_rules {
        Some(IpRules::default())
    } else if a.ip_allow.is_some() || a.ip_deny.is_some() {
        let none = Vec::new();
        Some(IpRules::parse(
            a.ip_allow.as_ref().unwrap_or(&none),
            a.ip_deny.as_ref().unwrap_or(&none),
        )?)
    } else {
        None
    };
    let rate_limit = if a.clear_rate {
        Some(None)
    } else {
        a.rate.map(|r| rate(r, a.burst)).transpose()?.map(Some)
    };
    let endpoint_limits = match &a.endpoint_limits {
        _ if a.clear_endpoint_limits => Some(Vec::new()),
        Some(limits) => Some(
            limits
                .iter()
                .map(|(e, r)| Ok(EndpointLimit::new(e.as_str(), rate(*r, None)?)))
                .collect::<Result<Vec<_>, CliError>>()?,
        ),
        None => None,
    };
    Ok(KeyUpdate {
        name: a.name.clone(),
        description: set_or_clear(a.description.clone(), a.clear_description),
        owner: set_or_clear(a.owner.clone(), a.clear_owner),
        group: set_or_clear(a.group.clone(), a.clear_group),
        environment: set_or_clear(a.environment.clone(), a.clear_environment),
        tags: list_or_clear(trimmed(&a.tags), a.clear_tags),
        aliases: list_or_clear(trimmed(&a.aliases), a.clear_aliases),
        scopes: list_or_clear(a.scopes.clone(), a.clear_scopes).map(ScopeSet::from),
        expires_at,
        ip_rules,
        rate_limit,
        endpoint_limits,
        quota: set_or_clear(a.quota, a.clear_quota),
        metadata: a.metadata.clone(),
    })
}
