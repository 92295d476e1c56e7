//! The route contract of the gRPC example: every method of `proto/demo.proto` is declared in the
//! scope map (scopes, public or denied).

use apikey_example_grpc::{FILE_DESCRIPTOR_SET, methods};

#[test]
fn every_method_declares_its_scopes() {
    let all = apikey_tonic::methods_of_descriptors(FILE_DESCRIPTOR_SET).unwrap();
    assert_eq!(all.len(), 4, "{all:?}");
    apikey_testkit::assert_routes_declared(&methods().route_table(all));
}
