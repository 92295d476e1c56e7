//! `apikey signing set|rotate|remove`: a key's request-signing secret. A new secret is printed
//! once — text: the `sig_…` form; `--json`: `signing_secret` (that string) and
//! `signing_key_base64` (the raw HMAC key, standard padded base64, for other RFC 9421 tools).

use apikey_core::Change;
use apikey_core::signing::SigningSecret;
use serde::Serialize;

use crate::cli_signing::SigningCommand;
use crate::commands::{Ctx, printed};
use crate::error::{CliError, Exit};
use crate::output::{ShownKey, Table};

/// The warning printed on stderr with every new signing secret.
pub(crate) const SECRET_SHOWN_ONCE: &str = "Store this signing secret now: it is shown only once.";

#[derive(Serialize)]
struct SigningJson<'a> {
    key: &'a ShownKey,
    #[serde(skip_serializing_if = "Option::is_none")]
    signing_secret: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signing_key_base64: Option<&'a str>,
}

/// The JSON fields of a new secret, shared with `create`.
pub(crate) fn secret_fields(
    secret: &SigningSecret,
) -> (zeroize::Zeroizing<String>, zeroize::Zeroizing<String>) {
    (secret.expose(), secret.to_base64())
}

pub(crate) async fn run(ctx: &Ctx, command: SigningCommand) -> Result<Exit, CliError> {
    let m = ctx.keys.manager();
    let change = Change::new().with_actor(ctx.actor.clone());
    let (arg, record, secret) = match command {
        SigningCommand::Set { id, mode } => {
            let key = ctx.key_id(&id).await?;
            let (record, secret) = m
                .set_signing(&ctx.tenant, key, mode, change)
                .await
                .map_err(|e| CliError::for_key(e, &id))?;
            (id, record, secret)
        }
        SigningCommand::Rotate { id, grace } => {
            let key = ctx.key_id(&id).await?;
            let (record, secret) = m
                .rotate_signing(&ctx.tenant, key, grace, change)
                .await
                .map_err(|e| CliError::for_key(e, &id))?;
            (id, record, Some(secret))
        }
        SigningCommand::Remove { id } => {
            let key = ctx.key_id(&id).await?;
            let record = m
                .remove_signing(&ctx.tenant, key, change)
                .await
                .map_err(|e| CliError::for_key(e, &id))?;
            (id, record, None)
        }
    };
    let view = ShownKey::new(&record, ctx.now());
    let fields = secret.as_ref().map(secret_fields);
    if ctx.json {
        printed(ctx.out.json(&SigningJson {
            key: &view,
            signing_secret: fields.as_ref().map(|(s, _)| s.as_str()),
            signing_key_base64: fields.as_ref().map(|(_, b)| b.as_str()),
        }))?;
    } else {
        let mode = record
            .protection
            .signing_mode()
            .map_or("none".to_owned(), |m| m.to_string());
        let mut rows = vec![("id", view.id.to_string()), ("key", arg), ("signing", mode)];
        if let Some(until) = record
            .protection
            .signing
            .as_ref()
            .and_then(|s| s.previous_until)
        {
            rows.push(("previous secret works until", crate::output::time(until)));
        }
        printed(ctx.out.text(&Table::fields(rows).render()))?;
        if let Some((text, _)) = &fields {
            printed(ctx.out.line(""))?;
            printed(ctx.out.line(text))?;
        }
    }
    if secret.is_some() {
        eprintln!("{SECRET_SHOWN_ONCE}");
    }
    Ok(Exit::Ok)
}
