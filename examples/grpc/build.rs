//! Compiles `proto/demo.proto` with `protox` (a pure-Rust protobuf compiler: no `protoc` needed)
//! and generates the tonic client and server with `tonic-prost-build`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/demo.proto");
    let descriptors = protox::compile(["proto/demo.proto"], ["proto"])?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    Ok(())
}
