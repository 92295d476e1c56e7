//! The methods a gRPC server serves, read from its services' encoded `FileDescriptorSet`, so the
//! route table lists every method the server has rather than only those the scope map names.
//!
//! tonic's generated servers do not list their methods at run time; the descriptor set does, and
//! builds already make one for reflection (`tonic_prost_build::configure()
//! .file_descriptor_set_path(…)`, or `protox::compile` encoded to `OUT_DIR`). `prost-types` is
//! the crate tonic's own types already decode it with, so reading it adds no dependency.

use apikey_core::{Error, Result};
use prost::Message;
use prost_types::FileDescriptorSet;

/// Every method (`/package.Service/Method`) of every service in an encoded `FileDescriptorSet`,
/// in file, service and method order.
///
/// # Errors
///
/// If `encoded` is not a `FileDescriptorSet`.
pub fn methods_of_descriptors(encoded: &[u8]) -> Result<Vec<String>> {
    let set = FileDescriptorSet::decode(encoded)
        .map_err(|e| Error::invalid("file descriptor set", format_args!("{e}")))?;
    let mut out = Vec::new();
    for file in &set.file {
        let package = file.package();
        for service in &file.service {
            let qualified = if package.is_empty() {
                service.name().to_owned()
            } else {
                format!("{package}.{}", service.name())
            };
            for method in &service.method {
                out.push(format!("/{qualified}/{}", method.name()));
            }
        }
    }
    Ok(out)
}
