//! The one-line test of the route contract: every route of a service declares its scopes,
//! `public` or `denied`.
//!
//! ```
//! use apikey_core::routes::{Access, Route, RouteTable};
//!
//! let table: RouteTable = [Route::declared("GET", "/health", Access::Public)].into_iter().collect();
//! apikey_testkit::routes::assert_routes_declared(&table);
//! ```
//!
//! With the integrations' builders the table is `routes.table()` (axum and actix-web `Routes`),
//! or `methods.route_table(apikey_tonic::methods_of_descriptors(FILE_DESCRIPTOR_SET)?)` for a
//! tonic server.

use apikey_core::routes::RouteTable;

/// Panics, naming every route without a declaration and printing the whole table, unless each
/// route of `table` declares its scopes, `public` or `denied`. Also panics on an empty table: a
/// service with no routes is far likelier a test wired to the wrong builder than a real one.
///
/// # Panics
///
/// As above: that is the test failing.
#[track_caller]
pub fn assert_routes_declared(table: &RouteTable) {
    assert!(
        !table.is_empty(),
        "the route table is empty: build it from the same Routes or scope map the service uses"
    );
    if let Err(e) = table.check() {
        panic!("{e}\n\nevery route:\n{table}");
    }
}
