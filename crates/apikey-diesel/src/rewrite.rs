//! Runs the data migrations of `apikey_sql::rewrite` that SQL migrations queued: one page of
//! keys at a time, each changed row a compare-and-set `UPDATE` of its own.

use apikey_core::Result;
use apikey_sql::Reader;
use apikey_sql::rewrite::{self, CANONICAL_RULES, Rewrite};
use chrono::Utc;
use diesel::deserialize::{self, QueryableByName};
use diesel::row::NamedRow;

use crate::codec::DieselRow;
use crate::dialect::Dialect;
use crate::error::ctx;
use crate::store::DieselStore;

/// The `pending` count of a queued data migration.
struct Pending(u64);

impl<D: Dialect> QueryableByName<D> for Pending {
    fn build<'a>(row: &impl NamedRow<'a, D>) -> deserialize::Result<Self> {
        Reader::new(&DieselRow::<D, _>::new(row))
            .unsigned("pending")
            .map(Self)
    }
}

/// One row of a rewrite page.
struct RewriteRow(Rewrite);

impl<D: Dialect> QueryableByName<D> for RewriteRow {
    fn build<'a>(row: &impl NamedRow<'a, D>) -> deserialize::Result<Self> {
        rewrite::row(D::PLACEHOLDER, &DieselRow::<D, _>::new(row)).map(Self)
    }
}

/// Rewrites every key's rules in canonical form, once: when `canonical_rules` is queued and not
/// yet done.
pub(crate) async fn run<D: Dialect>(store: &DieselStore<D>) -> Result<()> {
    let mut conn = store.conn().await?;
    let pending: Vec<Pending> =
        D::load(&mut conn, rewrite::pending(D::PLACEHOLDER, CANONICAL_RULES))
            .await
            .map_err(ctx(D::DB_NAME, "read apikey_data_migrations"))?;
    if pending.first().is_none_or(|p| p.0 == 0) {
        return Ok(());
    }
    let mut after = None;
    loop {
        let page: Vec<RewriteRow> = D::load(&mut conn, rewrite::page(D::PLACEHOLDER, after))
            .await
            .map_err(ctx(D::DB_NAME, "read keys to rewrite"))?;
        let full = page.len() == rewrite::PAGE_SIZE;
        for RewriteRow(r) in page {
            after = Some(r.id);
            if let Some(sql) = r.update {
                D::execute(&mut conn, sql)
                    .await
                    .map_err(ctx(D::DB_NAME, "rewrite key rules"))?;
            }
        }
        if !full {
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
