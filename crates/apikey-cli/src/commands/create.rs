//! `apikey create`: builds a [`NewKey`] from the flags, creates it, and prints its token once
//! (stdout) with a warning that it will not be shown again (stderr). `rotate` prints its new key
//! the same way.

use apikey_core::Change;
use apikey_core::{CreatedKey, IpRules, NewKey, Rate};
use serde::Serialize;

use crate::cli::CreateArgs;
use crate::commands::{Ctx, printed};
use crate::error::{CliError, Exit};
use crate::output::{ShownKey, Table, list, time};

/// The warning printed on stderr with every new token.
pub(crate) const SHOWN_ONCE: &str = "Store this token now: it is shown only once.";

pub(crate) async fn run(ctx: &Ctx, a: CreateArgs) -> Result<Exit, CliError> {
    let now = ctx.now();
    let mut new = NewKey::new(a.name);
    new.scopes = a.scopes.into_iter().collect();
    new.description = a.description;
    new.owner = a.owner;
    new.group = a.group;
    new.environment = a.environment;
    new.tags = a.tags.into_iter().map(|t| t.trim().to_owned()).collect();
    if let apikey_core::TenantScope::Tenant(t) = &ctx.tenant {
        new.tenant = Some(t.clone());
    }
    new.expires_at = match (a.expires_in, a.expires_at) {
        (Some(d), _) => {
            let d = chrono::Duration::from_std(d)
                .map_err(|_| CliError::usage("--expires-in: too long"))?;
            Some(
                now.checked_add_signed(d)
                    .ok_or_else(|| CliError::usage("--expires-in: too long"))?,
            )
        }
        (None, t) => t,
    };
    new.ip_rules = IpRules::parse(&a.ip_allow, &a.ip_deny)?;
    if let Some(r) = a.rate {
        let burst = a.burst.unwrap_or(r.requests);
        new.rate_limit = Some(Rate::with_burst(r.requests, r.per, burst)?);
    }
    new.quota = a.quota;
    if let Some(m) = a.metadata {
        new.metadata = m;
    }
    new.require_approval = a.require_approval;
    new.template = a.template;
    new.signing = a.protect.signing;
    new.canary = a.protect.canary;
    let created = ctx
        .keys
        .manager()
        .create_as(new, Change::new().with_actor(ctx.actor.clone()))
        .await
        .map_err(preset_error)?;
    // Before the token is shown: a key meant to have credits never works without them.
    crate::commands::pools::attach(ctx, &created, &a.credits).await?;
    print_created(ctx, &created, None, None)?;
    Ok(Exit::Ok)
}

/// An unknown template or group, with the command that lists them.
pub(crate) fn preset_error(e: apikey_core::Error) -> CliError {
    match apikey_core::catalog::UnknownPreset::of(&e) {
        Some(unknown) => CliError::new(Exit::NotFound, e.message().to_owned())
            .hint(format!("run `apikey {}s list`", unknown.kind)),
        None => e.into(),
    }
}

#[derive(Serialize)]
struct CreatedJson<'a> {
    key: &'a ShownKey,
    token: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    signing_secret: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signing_key_base64: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    replaces: Option<&'a ShownKey>,
    #[serde(skip_serializing_if = "Option::is_none")]
    confirmation: Option<&'a apikey_core::Confirmation>,
}

/// Prints a new key and its token; `replaces` is the old key of a rotation.
pub(crate) fn print_created(
    ctx: &Ctx,
    created: &CreatedKey,
    replaces: Option<&ShownKey>,
    confirmation: Option<&apikey_core::Confirmation>,
) -> Result<(), CliError> {
    let view = ShownKey::new(&created.record, ctx.now());
    let token = created.token.expose();
    let signing = created
        .signing_secret
        .as_ref()
        .map(crate::commands::signing::secret_fields);
    if ctx.json {
        printed(ctx.out.json(&CreatedJson {
            key: &view,
            token,
            signing_secret: signing.as_ref().map(|(s, _)| s.as_str()),
            signing_key_base64: signing.as_ref().map(|(_, b)| b.as_str()),
            replaces,
            confirmation,
        }))?;
    } else {
        let mut rows = vec![
            ("id", view.id.to_string()),
            ("lookup id", view.lookup_id.to_string()),
            ("name", view.name.clone()),
            ("scopes", list(&view.scope_names())),
            ("state", view.state_text()),
            ("expires", view.expires_at.map_or("never".into(), time)),
        ];
        if let Some(t) = &view.tenant_id {
            rows.push(("tenant", t.to_string()));
        }
        if let Some(old) = replaces {
            rows.push(("replaces", old.id.to_string()));
            if let Some(g) = old.grace_until {
                rows.push(("old key works until", time(g)));
            }
        }
        printed(ctx.out.text(&Table::fields(rows).render()))?;
        printed(ctx.out.line(""))?;
        printed(ctx.out.line(token))?;
        if let Some((secret, _)) = &signing {
            printed(ctx.out.line(secret))?;
        }
    }
    eprintln!("{SHOWN_ONCE}");
    if signing.is_some() {
        eprintln!("{}", crate::commands::signing::SECRET_SHOWN_ONCE);
    }
    if view.key.state == apikey_core::KeyState::Pending {
        eprintln!(
            "The key is pending: it works once approved with `apikey approve {}`.",
            view.id
        );
    }
    Ok(())
}
