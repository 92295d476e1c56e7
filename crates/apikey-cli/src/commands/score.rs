//! `apikey score [ID] [--below N]`: the security score of one key (each factor, its points and
//! advice) or of every live key, lowest first, with a summary (`apikey_core::score`).

use apikey_core::score::{KeyScore, ScoreConfig, score, summarize};
use apikey_core::store::MAX_PAGE_SIZE;
use apikey_core::{KeyFilter, KeyRecord, KeyState};
use serde::Serialize;

use crate::cli_score::ScoreArgs;
use crate::commands::{Ctx, printed};
use crate::error::{CliError, Exit};
use crate::output::Table;

/// A key's score as printed with `--json`.
#[derive(Serialize)]
struct Scored<'a> {
    id: String,
    name: &'a str,
    owner: Option<&'a str>,
    #[serde(flatten)]
    score: KeyScore,
}

pub(crate) async fn run(ctx: &Ctx, a: ScoreArgs) -> Result<Exit, CliError> {
    let config = ScoreConfig::default();
    let now = ctx.now();
    if let Some(arg) = &a.id {
        let id = ctx.key_id(arg).await?;
        let record = ctx
            .keys
            .manager()
            .get(&ctx.tenant, id)
            .await
            .map_err(|e| CliError::for_key(e, arg))?;
        let s = score(&record, now, &config);
        if ctx.json {
            printed(ctx.out.json(&scored(&record, s)))?;
            return Ok(Exit::Ok);
        }
        let mut table = Table::with_header(&["FACTOR", "POINTS", "ADVICE"]);
        for f in &s.factors {
            table.push(vec![
                f.name.to_owned(),
                format!("{}/{}", f.points, f.weight),
                f.recommendation.clone().unwrap_or_else(|| "-".into()),
            ]);
        }
        printed(
            ctx.out
                .line(&format!("{} ({}): {}/100", record.name, record.id, s.score)),
        )?;
        printed(ctx.out.text(&table.render()))?;
        return Ok(Exit::Ok);
    }

    let mut filter = KeyFilter {
        states: vec![KeyState::Pending, KeyState::Active, KeyState::Suspended],
        limit: MAX_PAGE_SIZE,
        ..KeyFilter::default()
    };
    let mut all = Vec::new();
    loop {
        let page = ctx.keys.manager().query(&ctx.tenant, &filter).await?;
        for r in page.items {
            let s = score(&r, now, &config);
            all.push((r, s));
        }
        match page.next {
            Some(cursor) => filter.after = Some(cursor),
            None => break,
        }
    }
    let summary = summarize(all.iter().map(|(_, s)| s));
    all.retain(|(_, s)| a.below.is_none_or(|b| s.score < b));
    all.sort_by_key(|(r, s)| (s.score, r.name.clone()));
    if ctx.json {
        let keys: Vec<Scored<'_>> = all.iter().map(|(r, s)| scored(r, s.clone())).collect();
        printed(
            ctx.out
                .json(&serde_json::json!({ "summary": summary, "keys": keys })),
        )?;
        return Ok(Exit::Ok);
    }
    let mut table = Table::with_header(&["SCORE", "ID", "NAME", "OWNER", "SHORT ON"]);
    for (r, s) in &all {
        let short: Vec<&str> = s
            .factors
            .iter()
            .filter(|f| f.points < f.weight)
            .map(|f| f.name)
            .collect();
        table.push(vec![
            s.score.to_string(),
            r.id.to_string(),
            r.name.clone(),
            r.owner.clone().unwrap_or_else(|| "-".into()),
            if short.is_empty() {
                "-".into()
            } else {
                short.join(",")
            },
        ]);
    }
    if !all.is_empty() {
        printed(ctx.out.text(&table.render()))?;
    }
    let lowest = summary
        .lowest
        .map_or_else(|| "-".to_owned(), |l| l.to_string());
    printed(ctx.out.line(&format!(
        "{} keys, average {:.1}, lowest {lowest}, {} under 50",
        summary.keys, summary.average, summary.below_50
    )))?;
    Ok(Exit::Ok)
}

fn scored(r: &KeyRecord, score: KeyScore) -> Scored<'_> {
    Scored {
        id: r.id.to_string(),
        name: &r.name,
        owner: r.owner.as_deref(),
        score,
    }
}
