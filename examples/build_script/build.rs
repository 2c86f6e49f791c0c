//! Plans and splits the conv_residual fixture for 3 TPUs and writes its typed pipeline struct to
//! `OUT_DIR/conv_residual.rs` (CPU segments, embedded with `include_bytes!`).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let generated = tpupipe_compiler::Builder::new("../../tests/models/conv_residual.tflite")
        .tpus(3)
        .generate()?;
    // Cargo shows build-script output only with -vv; the path is there for the curious.
    println!("generated {}", generated.path.display());
    Ok(())
}
