//! The route contract on tonic: every method the descriptors list is declared by the scope map,
//! and one that is not fails the one-line test naming it.

use apikey_core::routes::Access;
use apikey_testkit::assert_routes_declared;
use apikey_tonic::{MethodScopes, methods_of_descriptors};
use prost::Message;
use prost_types::{
    FileDescriptorProto, FileDescriptorSet, MethodDescriptorProto, ServiceDescriptorProto,
};

/// `shop.Orders` with Get, Create, Delete and Ping, and `shop.Admin` with Purge.
fn descriptors() -> Vec<u8> {
    let method = |name: &str| MethodDescriptorProto {
        name: Some(name.to_owned()),
        ..Default::default()
    };
    let service = |name: &str, methods: &[&str]| ServiceDescriptorProto {
        name: Some(name.to_owned()),
        method: methods.iter().map(|m| method(m)).collect(),
        ..Default::default()
    };
    FileDescriptorSet {
        file: vec![FileDescriptorProto {
            name: Some("shop.proto".to_owned()),
            package: Some("shop".to_owned()),
            service: vec![
                service("Orders", &["Get", "Create", "Delete", "Ping"]),
                service("Admin", &["Purge"]),
            ],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

fn declared() -> MethodScopes {
    MethodScopes::new()
        .method("/shop.Orders/Get", ["orders:read"])
        .and_then(|m| m.method("/shop.Orders/Create", ["orders:write"]))
        .and_then(|m| m.public("/shop.Orders/Ping"))
        .and_then(|m| m.deny("/shop.Orders/Delete"))
        .and_then(|m| m.method("/shop.Admin/*", ["admin:all"]))
        .unwrap()
}

#[test]
fn the_descriptors_list_every_method() {
    let methods = methods_of_descriptors(&descriptors()).unwrap();
    assert_eq!(
        methods,
        [
            "/shop.Orders/Get",
            "/shop.Orders/Create",
            "/shop.Orders/Delete",
            "/shop.Orders/Ping",
            "/shop.Admin/Purge"
        ]
    );
    assert!(methods_of_descriptors(b"\xff\xff not a descriptor set").is_err());
}

#[test]
fn a_fully_declared_server_passes_with_each_method_as_declared() {
    let methods = methods_of_descriptors(&descriptors()).unwrap();
    let table = declared().route_table(&methods);
    assert_routes_declared(&table);
    assert_eq!(
        table.access("GRPC", "/shop.Orders/Ping"),
        Some(&Access::Public)
    );
    assert_eq!(
        table.access("GRPC", "/shop.Orders/Delete"),
        Some(&Access::Denied)
    );
    assert_eq!(
        table
            .access("GRPC", "/shop.Admin/Purge")
            .map(|a| a.required()[0].to_string()),
        Some("admin:all".to_owned()),
        "a service entry covers its methods"
    );
}

#[test]
fn an_undeclared_method_fails_the_one_line_test_naming_it() {
    let methods = methods_of_descriptors(&descriptors()).unwrap();
    let partial = MethodScopes::new()
        .method("/shop.Orders/Get", ["orders:read"])
        .and_then(|m| m.public("/shop.Orders/Ping"))
        .and_then(|m| m.method("/shop.Admin/*", ["admin:all"]))
        .unwrap();
    let table = partial.route_table(&methods);
    let failure = std::panic::catch_unwind(|| assert_routes_declared(&table)).unwrap_err();
    let message = failure
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        message.contains("GRPC /shop.Orders/Create, GRPC /shop.Orders/Delete"),
        "{message}"
    );
    assert!(!message.contains("Purge,"), "{message}");
    // A default counts as a declaration: every method it covers is declared.
    let with_default = partial.default_scopes(["orders:any"]).unwrap();
    assert_routes_declared(&with_default.route_table(&methods));
}
