//! The route contract of the actix-redis example: every route declares its scopes or public.

use std::sync::Arc;

use apikey_actix::ApiKeyAuth;
use apikey_core::ApiKeys;
use apikey_memory::MemoryStore;

#[test]
fn every_route_declares_its_scopes() {
    let keys = ApiKeys::builder(Arc::new(MemoryStore::new()))
        .random_peppers_keys_die_at_exit()
        .build()
        .unwrap();
    let routes = actix_redis::routes(ApiKeyAuth::new(keys.verifier().clone()));
    apikey_testkit::assert_routes_declared(routes.table());
}
