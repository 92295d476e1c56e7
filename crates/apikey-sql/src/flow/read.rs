//! The key reads, each one statement on a pooled connection outside any transaction.

use apikey_core::{
    Cursor, KeyFilter, KeyId, KeyRecord, LookupId, Page, Result, TenantId, TenantScope,
};

use crate::codec::{Reader, Row};
use crate::driver::Decode;

use crate::driver::Driver;
use crate::keys as stmt;
use crate::sql::Sql;

async fn records<S: Driver>(store: &S, sql: Sql, what: &'static str) -> Result<Vec<KeyRecord>> {
    let mut conn = store.reader().await?;
    S::fetch(&mut conn, sql, what).await
}

async fn one<S: Driver>(store: &S, sql: Sql, what: &'static str) -> Result<Option<KeyRecord>> {
    Ok(records(store, sql, what).await?.into_iter().next())
}

/// Key `id`, if visible in `tenant`.
pub async fn get<S: Driver>(
    store: &S,
    tenant: &TenantScope,
    id: KeyId,
) -> Result<Option<KeyRecord>> {
    one(store, stmt::get(S::PLACEHOLDER, tenant, id), "get key").await
}

/// The key with lookup id `lookup`: one point query on the unique index.
pub async fn by_lookup_id<S: Driver>(store: &S, lookup: &LookupId) -> Result<Option<KeyRecord>> {
    let sql = stmt::by_lookup_id(S::PLACEHOLDER, lookup);
    one(store, sql, "find key by lookup id").await
}

/// The keys with legacy lookup `prefix`, oldest first.
pub async fn by_legacy_lookup<S: Driver>(store: &S, prefix: &str) -> Result<Vec<KeyRecord>> {
    let Some(sql) = stmt::by_legacy_lookup(S::PLACEHOLDER, prefix) else {
        return Ok(Vec::new());
    };
    records(store, sql, "find keys by legacy lookup").await
}

/// One page of the keys in `tenant` matching `filter`.
pub async fn page<S: Driver>(
    store: &S,
    tenant: &TenantScope,
    filter: &KeyFilter,
) -> Result<Page<KeyRecord>> {
    let size = filter.page_size();
    let Some(sql) = crate::query::build(S::PLACEHOLDER, tenant, filter) else {
        return Ok(Page {
            items: Vec::new(),
            next: None,
        });
    };
    let mut items = records(store, sql, "query keys").await?;
    // The query fetched one row past the page: its presence proves a next page.
    let next = if items.len() > size {
        items.truncate(size);
        items.last().map(Cursor::after)
    } else {
        None
    };
    Ok(Page { items, next })
}

/// How many keys of exactly `tenant` match `filter` (pagination aside): one `SELECT COUNT(*)`.
pub async fn count<S: Driver>(
    store: &S,
    tenant: Option<&TenantId>,
    filter: &KeyFilter,
) -> Result<u64> {
    let Some(sql) = crate::query::count(S::PLACEHOLDER, tenant, filter) else {
        return Ok(0);
    };
    let mut conn = store.reader().await?;
    let rows: Vec<Count> = S::fetch(&mut conn, sql, "count keys").await?;
    Ok(rows.first().map_or(0, |c| c.0))
}

/// A row of [`crate::query::count`].
pub(super) struct Count(pub(super) u64);

impl Decode for Count {
    fn decode<R: Row + ?Sized>(row: &R) -> std::result::Result<Self, R::Error> {
        Reader::new(row).unsigned("n").map(Self)
    }
}
