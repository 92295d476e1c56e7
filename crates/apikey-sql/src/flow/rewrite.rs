//! Runs the data migrations of [`crate::rewrite`] that SQL migrations queued: one page of keys
//! at a time, each changed row a compare-and-set `UPDATE` of its own (no transaction: a row
//! changed concurrently is skipped, and an interrupted run resumes from the start next time).

use apikey_core::Result;
use chrono::Utc;

use crate::codec::{Reader, Row};
use crate::driver::{Decode, Driver};
use crate::rewrite::{self as stmt, CANONICAL_RULES, Rewrite};

/// Rewrites every key's rules in canonical form, once: when `canonical_rules` is queued and not
/// yet done.
pub async fn run<S: Driver>(store: &S) -> Result<()> {
    let p = S::PLACEHOLDER;
    let mut conn = store.reader().await?;
    let pending: Vec<Pending> = S::fetch(
        &mut conn,
        stmt::pending(p, CANONICAL_RULES),
        "read apikey_data_migrations",
    )
    .await?;
    if pending.first().is_none_or(|n| n.0 == 0) {
        return Ok(());
    }
    let mut after = None;
    loop {
        let page: Vec<Rewrite> =
            S::fetch(&mut conn, stmt::page(p, after), "read keys to rewrite").await?;
        let full = page.len() == stmt::PAGE_SIZE;
        for row in page {
            after = Some(row.id);
            if let Some(sql) = row.update(p) {
                S::execute(&mut conn, sql, "rewrite key rules").await?;
            }
        }
        if !full {
            break;
        }
    }
    S::execute(
        &mut conn,
        stmt::done(p, CANONICAL_RULES, Utc::now()),
        "record data migration",
    )
    .await?;
    Ok(())
}

/// The `pending` count of a queued data migration.
struct Pending(u64);

impl Decode for Pending {
    fn decode<R: Row + ?Sized>(row: &R) -> std::result::Result<Self, R::Error> {
        Reader::new(row).unsigned("pending").map(Self)
    }
}
