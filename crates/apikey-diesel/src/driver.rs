//! [`DieselStore`] as the [`Driver`] of `apikey-sql`'s flow: pooled connections, transactions
//! through the connection's own transaction manager, statements bound and rows decoded by the
//! dialect, and every diesel and pool error classified.

use apikey_core::Result;
use apikey_sql::{Decode, Driver, Placeholder, Sql};
use diesel_async::{AsyncConnection, TransactionManager};

use crate::codec::Decoded;
use crate::dialect::{Conn, Dialect};
use crate::error::ctx;
use crate::store::DieselStore;

type Tm<D> =
    <<D as crate::dialect::private::Backend>::Connection as AsyncConnection>::TransactionManager;

impl<D: Dialect> Driver for DieselStore<D> {
    type Conn = D::Connection;
    type Reader = Conn<D>;
    type Writer = Conn<D>;

    const PLACEHOLDER: Placeholder = D::PLACEHOLDER;
    const DATABASE: apikey_sql::Database = D::DATABASE;
    const INSERT_IGNORE_DUPLICATE_ID: &'static str = D::INSERT_IGNORE_DUPLICATE_ID;
    const INSERT_IGNORE_DUPLICATE_JOB: &'static str = D::INSERT_IGNORE_DUPLICATE_JOB;

    async fn reader(&self) -> Result<Conn<D>> {
        self.conn().await
    }

    async fn begin(&self) -> Result<Conn<D>> {
        let mut conn = self.conn().await?;
        Tm::<D>::begin_transaction(&mut *conn)
            .await
            .map_err(ctx(D::DB_NAME, "begin transaction"))?;
        Ok(conn)
    }

    async fn commit(&self, mut conn: Conn<D>, what: &'static str) -> Result<()> {
        Tm::<D>::commit_transaction(&mut *conn)
            .await
            .map_err(ctx(D::DB_NAME, what))
    }

    async fn rollback(&self, mut conn: Conn<D>) {
        // A connection whose transaction could not be ended is marked broken by diesel and
        // discarded by the pool, so it never serves another caller mid-transaction (nor does one
        // whose future was dropped half-way).
        let _ = Tm::<D>::rollback_transaction(&mut *conn).await;
    }

    async fn execute(conn: &mut D::Connection, sql: Sql, what: &'static str) -> Result<u64> {
        let n = D::execute(conn, sql).await.map_err(ctx(D::DB_NAME, what))?;
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }

    async fn fetch<T: Decode>(
        conn: &mut D::Connection,
        sql: Sql,
        what: &'static str,
    ) -> Result<Vec<T>> {
        let rows: Vec<Decoded<T>> = D::load(conn, sql).await.map_err(ctx(D::DB_NAME, what))?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }
}
