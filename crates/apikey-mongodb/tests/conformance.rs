//! Every `apikey-testkit` store and audit case on a MongoDB-wire server. Needs
//! `APIKEY_TEST_MONGODB_URL` (skipped without it, except in CI); each case runs on a database of
//! its own, one case at a time.

mod common;

apikey_testkit::key_store_suite!(
    {
        let Some(url) = common::url() else { return };
        common::store(url)
    },
    legacy
);
apikey_testkit::audit_store_suite!({
    let Some(url) = common::url() else { return };
    common::store(url)
});
