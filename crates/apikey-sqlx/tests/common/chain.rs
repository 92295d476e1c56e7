//! The audit chain against someone with write access to the database: a row edited, put back,
//! and deleted with plain SQL, and `verify` naming each.

use apikey_core::audit::chain::Problem;
use apikey_sqlx::sqlx::{Executor, IntoArguments, Pool};
use apikey_sqlx::{Dialect, SqlxStore};
use apikey_testkit::audit_chain::{assert_found, assert_intact, position_of, seed};

use super::exec;

/// See the module docs. `edit_owner` rewrites the `owner` inside one event's `record_after` (the
/// JSON column's own syntax on each database), with `{position}` to fill in.
pub async fn rows_edited_in_the_database_are_caught<D>(pool: Pool<D>, edit_owner: &str)
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
{
    let store = SqlxStore::<D>::new(pool.clone());
    store.migrate().await.expect("migrate");
    let seeded = seed(&store).await;
    assert_intact(&store).await;

    // The update's reason, changed and put back: caught, then intact again.
    let updated = position_of(&store, seeded.key, 2).await;
    let set_reason = |r: &str| {
        format!("UPDATE apikey_audit_events SET reason = '{r}' WHERE position = {updated}")
    };
    exec(&pool, &set_reason("nothing to see")).await;
    assert_found(&store, Problem::Altered, updated).await;
    exec(&pool, &set_reason("tidy")).await;
    assert_intact(&store).await;

    // A personal field inside the creation's snapshot.
    let created = position_of(&store, seeded.key, 1).await;
    exec(
        &pool,
        &edit_owner.replace("{position}", &created.to_string()),
    )
    .await;
    assert_found(&store, Problem::Altered, created).await;

    // The suspension deleted: the first finding is the gap where it was.
    let suspended = position_of(&store, seeded.key, 3).await;
    exec(
        &pool,
        &format!("DELETE FROM apikey_audit_events WHERE position = {suspended}"),
    )
    .await;
    let report = apikey_testkit::audit_chain::assert_found(&store, Problem::Altered, created).await;
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.problem == Problem::Removed && f.position == Some(suspended)),
        "{:#?}",
        report.findings
    );
}
