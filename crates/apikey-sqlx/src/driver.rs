//! [`SqlxStore`] as the [`Driver`] of `apikey-sql`'s flow: pooled connections, write
//! transactions opened with the dialect's `BEGIN`, statements bound and rows decoded by the
//! dialect, and every sqlx error classified.

use apikey_core::Result;
use apikey_sql::{Decode, Driver, Placeholder, Sql};
use sqlx::pool::PoolConnection;

use crate::codec::SqlxRow;
use crate::dialect::Dialect;
use crate::error::ctx;
use crate::store::SqlxStore;

impl<D: Dialect> Driver for SqlxStore<D> {
    type Conn = D::Connection;
    type Reader = PoolConnection<D>;
    type Writer = sqlx::Transaction<'static, D>;

    const PLACEHOLDER: Placeholder = D::PLACEHOLDER;
    const DATABASE: apikey_sql::Database = D::DATABASE;
    const INSERT_IGNORE_DUPLICATE_ID: &'static str = D::INSERT_IGNORE_DUPLICATE_ID;
    const INSERT_IGNORE_DUPLICATE_JOB: &'static str = D::INSERT_IGNORE_DUPLICATE_JOB;

    async fn reader(&self) -> Result<PoolConnection<D>> {
        self.pool
            .acquire()
            .await
            .map_err(ctx(D::DB_NAME, "acquire connection"))
    }

    async fn begin(&self) -> Result<sqlx::Transaction<'static, D>> {
        self.pool
            .begin_with(D::BEGIN_WRITE)
            .await
            .map_err(ctx(D::DB_NAME, "begin transaction"))
    }

    async fn commit(&self, tx: sqlx::Transaction<'static, D>, what: &'static str) -> Result<()> {
        tx.commit().await.map_err(ctx(D::DB_NAME, what))
    }

    async fn rollback(&self, tx: sqlx::Transaction<'static, D>) {
        // Explicitly and at once: a dropped sqlx transaction only queues its `ROLLBACK` for the
        // connection's next use, holding row and metadata locks until then. A failed rollback
        // closes the connection anyway.
        let _ = tx.rollback().await;
    }

    async fn execute(conn: &mut D::Connection, sql: Sql, what: &'static str) -> Result<u64> {
        D::execute(conn, sql).await.map_err(ctx(D::DB_NAME, what))
    }

    async fn fetch<T: Decode>(
        conn: &mut D::Connection,
        sql: Sql,
        what: &'static str,
    ) -> Result<Vec<T>> {
        let rows = D::fetch_all(conn, sql)
            .await
            .map_err(ctx(D::DB_NAME, what))?;
        rows.iter()
            .map(|r| T::decode(&SqlxRow::<D>::new(r)))
            .collect()
    }
}
