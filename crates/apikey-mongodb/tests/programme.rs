//! The `apikey-testkit` key-programme suite on a MongoDB-wire server: the catalog (templates,
//! groups, policies), aliases unique per tenant, and checked inserts (all or none, under the
//! key-count limits, serialized per tenant). Needs `APIKEY_TEST_MONGODB_URL` (skipped without it,
//! except in CI); each case runs on a database of its own, one case at a time.

mod common;

apikey_testkit::key_programme_suite!({
    let Some(url) = common::url() else { return };
    common::store(url)
});
