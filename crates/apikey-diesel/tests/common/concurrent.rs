//! `migrate()` from several instances at once, as a rolling deploy runs it: every one succeeds,
//! including the steps after the SQL migrations (the unique alias index), which run outside the
//! migration lock.

use apikey_diesel::{Dialect, DieselStore, Pool};

/// Four instances migrate one fresh database at once, each on its own connection.
pub async fn instances_migrate_at_once<D: Dialect>(pool: Pool<D>) {
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let store = DieselStore::<D>::new(pool.clone());
            tokio::spawn(async move { store.migrate().await })
        })
        .collect();
    for run in runs {
        run.await
            .expect("join")
            .expect("every instance's migrate() succeeds");
    }
    assert!(
        DieselStore::<D>::new(pool)
            .duplicate_aliases()
            .await
            .expect("report")
            .is_empty()
    );
}
