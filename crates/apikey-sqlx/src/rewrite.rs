//! Runs the data migrations of `apikey_sql::rewrite` that SQL migrations queued: one page of
//! keys at a time, each changed row a compare-and-set `UPDATE` of its own.

use apikey_core::Result;
use apikey_sql::rewrite::{self, CANONICAL_RULES};
use apikey_sql::{Reader, Sql};
use chrono::Utc;
use sqlx::Pool;

use crate::codec::SqlxRow;
use crate::dialect::Dialect;
use crate::error::ctx;

/// Rewrites every key's rules in canonical form, once: when `canonical_rules` is queued and not
/// yet done.
pub(crate) async fn run<D: Dialect>(pool: &Pool<D>) -> Result<()> {
    let mut conn = pool
        .acquire()
        .await
        .map_err(ctx(D::DB_NAME, "acquire connection"))?;
    let rows = D::fetch_all(&mut conn, rewrite::pending(D::PLACEHOLDER, CANONICAL_RULES))
        .await
        .map_err(ctx(D::DB_NAME, "read apikey_data_migrations"))?;
    let pending = match rows.first() {
        Some(row) => Reader::new(&SqlxRow::<D>::new(row)).unsigned("pending")?,
        None => 0,
    };
    if pending == 0 {
        return Ok(());
    }
    let mut after = None;
    loop {
        let page = D::fetch_all(&mut conn, rewrite::page(D::PLACEHOLDER, after))
            .await
            .map_err(ctx(D::DB_NAME, "read keys to rewrite"))?;
        let mut updates: Vec<Sql> = Vec::new();
        for row in &page {
            let r = rewrite::row(D::PLACEHOLDER, &SqlxRow::<D>::new(row))?;
            after = Some(r.id);
            updates.extend(r.update);
        }
        for sql in updates {
            D::execute(&mut conn, sql)
                .await
                .map_err(ctx(D::DB_NAME, "rewrite key rules"))?;
        }
        if page.len() < rewrite::PAGE_SIZE {
            break;
        }
    }
    D::execute(
        &mut conn,
        rewrite::done(D::PLACEHOLDER, CANONICAL_RULES, Utc::now()),
    )
    .await
    .map_err(ctx(D::DB_NAME, "record data migration"))?;
    Ok(())
}
