//! Uses the struct a build script generated (`build.rs`, `Builder::generate`): the same code the
//! `tpupipe_model!` macro expands to, included from `OUT_DIR`.
//!
//! ```sh
//! cargo run -p tpupipe-example-build-script
//! ```

include!(concat!(env!("OUT_DIR"), "/conv_residual.rs"));

fn main() -> Result<(), tpupipe::Error> {
    let net = ConvResidual::open_cpu()?;
    type Input = ConvResidualServingDefaultInput1;
    let input = Input::quantize(&vec![0.5; Input::ELEMENTS]);
    let output = net.infer(&input)?;
    println!(
        "{} -> {:?} (first values {:?})",
        ConvResidual::INPUT_NAMES[0],
        ConvResidual::OUTPUT_NAMES,
        &output.dequantize()[..4.min(output.0.len())]
    );
    for p in net.placements() {
        println!("stage {} runs on {}", p.stage, p.device);
    }
    Ok(())
}
