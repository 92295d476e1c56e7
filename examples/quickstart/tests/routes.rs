//! The route contract of the quick start: the one line a service puts in its tests.

use std::sync::Arc;

use apikey_axum::ApiKeyLayer;
use apikey_core::ApiKeys;
use apikey_memory::MemoryStore;

fn layer() -> ApiKeyLayer {
    let keys = ApiKeys::builder(Arc::new(MemoryStore::new()))
        .random_peppers_keys_die_at_exit()
        .build()
        .unwrap();
    ApiKeyLayer::new(keys.verifier().clone())
}

#[test]
fn every_route_declares_its_scopes() {
    apikey_testkit::assert_routes_declared(quickstart::routes(layer()).table());
}
