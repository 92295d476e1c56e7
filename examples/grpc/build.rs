//! Compiles `proto/demo.proto` with `protox` (a pure-Rust protobuf compiler: no `protoc` needed),
//! generates the tonic client and server with `tonic-prost-build`, and writes the encoded file
//! descriptor set to `OUT_DIR/demo_descriptor.bin`, from which the route table lists every method
//! the server has (`apikey_tonic::methods_of_descriptors`).

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/demo.proto");
    let descriptors = protox::compile(["proto/demo.proto"], ["proto"])?;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("demo_descriptor.bin"), descriptors.encode_to_vec())?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    Ok(())
}
