//! `apikey instances`: the running service instances registered in Redis by their revocation
//! listeners (what `--confirm` waits for).

use serde::Serialize;

use crate::cli::Cli;
use crate::commands::printed;
use crate::error::{CliError, Exit};
use crate::output::{Out, Table, time};

#[derive(Serialize)]
struct Shown<'a> {
    id: &'a str,
    name: Option<&'a str>,
    started: chrono::DateTime<chrono::Utc>,
    last_seen: chrono::DateTime<chrono::Utc>,
}

pub(crate) async fn run(cli: &Cli) -> Result<Exit, CliError> {
    let Some(url) = &cli.redis_url else {
        return Err(CliError::usage(
            "`instances` needs --redis-url (or REDIS_URL): the Redis the running services share",
        ));
    };
    let registry = super::fanout::instances(url, &cli.redis_prefix).await?;
    let live = registry
        .list()
        .await
        .map_err(|e| CliError::unavailable(format!("could not read the instance registry: {e}")))?;
    let out = Out;
    if cli.json {
        let shown: Vec<Shown<'_>> = live
            .iter()
            .map(|i| Shown {
                id: &i.id,
                name: i.name.as_deref(),
                started: i.started,
                last_seen: i.last_seen,
            })
            .collect();
        printed(out.json(&shown))?;
        return Ok(Exit::Ok);
    }
    if live.is_empty() {
        printed(out.line(
            "no running instances are registered (is a revocation listener running, with the same --redis-prefix?)",
        ))?;
        return Ok(Exit::Ok);
    }
    let mut table = Table::with_header(&["ID", "NAME", "STARTED", "LAST SEEN"]);
    for i in &live {
        table.push(vec![
            i.id.clone(),
            i.name.clone().unwrap_or_default(),
            time(i.started),
            time(i.last_seen),
        ]);
    }
    printed(out.text(&table.render()))?;
    Ok(Exit::Ok)
}
