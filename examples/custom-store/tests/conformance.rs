//! `BTreeStore` against `apikey-testkit`: every `KeyStore` case (with the optional legacy lookup)
//! and every `AuditStore` case, each on a fresh store.
//!
//! ```sh
//! cargo test -p custom-store --test conformance
//! ```

use custom_store::BTreeStore;

apikey_testkit::key_store_suite!(async { BTreeStore::new() }, legacy);
apikey_testkit::audit_store_suite!(async { BTreeStore::new() });
