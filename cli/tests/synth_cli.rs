//! `tpupipe synth`: the command writes exactly the library's models and reports bad arguments.

use tpupipe_compiler::synth::{synth_conv, synth_fc, ConvSpec, FcSpec, WeightGranularity};

fn fc(hidden: usize, layers: usize) -> FcSpec {
    FcSpec::new(hidden, layers)
}

#[test]
fn the_cli_writes_the_model_and_reports_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.tflite");
    let bin = tpupipe_testkit::tpupipe!();
    let run = |args: &[&str]| bin.command(args).output().unwrap();
    let o = run(&[
        "synth",
        "fc",
        "--hidden",
        "12",
        "--layers",
        "3",
        "--residual",
        "--per-tensor",
        "--seed",
        "4",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut spec = fc(12, 3);
    spec.residual = true;
    spec.weights = WeightGranularity::PerTensor;
    spec.seed = 4;
    assert_eq!(std::fs::read(&out).unwrap(), synth_fc(&spec).unwrap());

    let out2 = dir.path().join("c.tflite");
    let o = run(&[
        "synth",
        "conv",
        "--filters",
        "3",
        "--layers",
        "2",
        "--input",
        "5",
        "--float-io",
        "--out",
        out2.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut spec = ConvSpec::new(3, 2, 5);
    spec.float_io = true;
    assert_eq!(std::fs::read(&out2).unwrap(), synth_conv(&spec).unwrap());

    let o = run(&[
        "synth",
        "conv",
        "--filters",
        "0",
        "--out",
        out2.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--filters must be at least 1"));
    let o = run(&[
        "synth",
        "fc",
        "--hidden",
        "4",
        "--out",
        "/nonexistent-dir/x.tflite",
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot write"));
}
