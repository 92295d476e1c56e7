//! The route table: declarations, the check that names undeclared routes, the report.

use apikey_core::Scope;
use apikey_core::routes::{Access, Route, RouteTable};

fn scopes(names: &[&str]) -> Access {
    Access::scopes(names).unwrap()
}

#[test]
fn the_check_names_every_undeclared_route_and_only_those() {
    let table: RouteTable = [
        Route::declared("get", "/projects", scopes(&["projects:read"])),
        Route::undeclared("*", "/legacy"),
        Route::declared("GET", "/health", Access::Public),
        Route::undeclared("POST", "/admin"),
    ]
    .into_iter()
    .collect();
    let err = table.check().unwrap_err();
    assert_eq!(err.routes.len(), 2);
    let msg = err.to_string();
    assert!(
        msg.starts_with("2 routes declare neither scopes nor public: * /legacy, POST /admin"),
        "{msg}"
    );
    let declared: RouteTable = table
        .iter()
        .filter(|r| r.access.is_some())
        .cloned()
        .collect();
    assert!(declared.check().is_ok());
}

#[test]
fn access_finds_the_exact_method_then_a_star_entry() {
    let table: RouteTable = [
        Route::declared("GET", "/p", scopes(&["p:read"])),
        Route::declared("*", "/p", scopes(&["p:any"])),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        table.access("get", "/p").unwrap().required()[0].as_str(),
        "p:read"
    );
    assert_eq!(
        table.access("DELETE", "/p").unwrap().required()[0].as_str(),
        "p:any"
    );
    assert_eq!(table.access("GET", "/q"), None);
    // An undeclared route answers nothing.
    let undeclared: RouteTable = [Route::undeclared("GET", "/u")].into_iter().collect();
    assert_eq!(undeclared.access("GET", "/u"), None);
}

#[test]
fn a_later_entry_for_the_same_route_replaces_the_earlier() {
    let mut table = RouteTable::new();
    table.push(Route::undeclared("GET", "/p"));
    table.push(Route::declared("GET", "/p", Access::Public));
    assert_eq!(table.len(), 1);
    assert!(table.check().is_ok());
}

#[test]
fn the_guard_scopes_come_first_without_repeats() {
    let outer = [Scope::new("tenant:use").unwrap()];
    let a = scopes(&["projects:read", "tenant:use"]).behind(&outer);
    let names: Vec<&str> = a.required().iter().map(Scope::as_str).collect();
    assert_eq!(names, ["tenant:use", "projects:read"]);
    assert_eq!(Access::Public.behind(&outer), Access::Public);
    assert_eq!(scopes(&[]).behind(&[]), scopes(&[]));
}

#[test]
fn the_report_is_aligned_and_says_what_each_route_needs() {
    let mut table = RouteTable::new();
    let mut inner = RouteTable::new();
    inner.push(Route::declared(
        "POST",
        "/projects",
        scopes(&["projects:write", "audit:write"]),
    ));
    table.push(Route::declared("GET", "/health", Access::Public));
    table.push(Route::declared("GET", "/me", scopes(&[])));
    table.push(Route::declared("GRPC", "/a.S/Delete", Access::Denied));
    table.extend_prefixed("/v1/", &inner);
    table.push(Route::undeclared("*", "/legacy"));
    assert_eq!(
        table.to_string(),
        "GET   /health       public\n\
         GET   /me           any valid key\n\
         GRPC  /a.S/Delete   denied\n\
         POST  /v1/projects  projects:write audit:write\n\
         *     /legacy       UNDECLARED\n"
    );
}

#[test]
fn a_bad_scope_is_refused() {
    assert!(Access::scopes(["not a scope"]).is_err());
}
