//! `tpupipe run`: runs a model on `.npz` inputs keyed by tensor name and writes `.npz` outputs
//! identical to LiteRT's; bad input files give one clear error line and exit status 1.

use std::path::{Path, PathBuf};
use tpupipe_runtime::npz::{read_npz, write_npz, Array};
use tpupipe_runtime::ElementType;

fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/models")
}

fn tpupipe(args: &[&str]) -> (bool, String) {
    let out = tpupipe_testkit::tpupipe!()
        .command::<&str>(&[])
        .args(args)
        .output()
        .expect("run tpupipe");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn run_reproduces_the_golden_outputs() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["fc_float_io", "conv_uint8_io", "conv_residual"] {
        let model = models().join(format!("{name}.tflite"));
        let inputs = models().join(format!("{name}.inputs.npz"));
        let out = dir.path().join(format!("{name}.out.npz"));
        let (ok, err) = tpupipe(&[
            "run",
            model.to_str().unwrap(),
            "--inputs",
            inputs.to_str().unwrap(),
            "--outputs",
            out.to_str().unwrap(),
        ]);
        assert!(ok, "{name}: {err}");
        let got = read_npz(&out).unwrap();
        let want = read_npz(models().join(format!("{name}.outputs.npz"))).unwrap();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn bad_input_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let model = models().join("fc_per_tensor.tflite");
    let good = read_npz(models().join("fc_per_tensor.inputs.npz")).unwrap();
    let (name, array) = good[0].clone();
    let out = dir.path().join("out.npz");
    let run = |arrays: Vec<(String, Array)>| {
        let path = dir.path().join("in.npz");
        write_npz(&path, &arrays).unwrap();
        tpupipe(&[
            "run",
            model.to_str().unwrap(),
            "--inputs",
            path.to_str().unwrap(),
            "--outputs",
            out.to_str().unwrap(),
        ])
    };

    let (ok, err) = run(vec![("wrong_name".into(), array.clone())]);
    assert!(!ok);
    assert!(err.contains("missing") && err.contains(&name), "{err}");
    assert!(
        err.contains("not model inputs") && err.contains("wrong_name"),
        "{err}"
    );

    let (ok, err) = run(vec![
        (name.clone(), array.clone()),
        ("extra".into(), array.clone()),
    ]);
    assert!(!ok);
    assert!(err.contains("extra"), "{err}");

    let as_u8 = Array::new(ElementType::U8, array.shape.clone(), array.data.clone()).unwrap();
    let (ok, err) = run(vec![(name.clone(), as_u8)]);
    assert!(!ok);
    assert!(err.contains("uint8") && err.contains("int8"), "{err}");

    let short = Array::new(ElementType::I8, vec![1, 32], array.data[..32].to_vec()).unwrap();
    let (ok, err) = run(vec![(name.clone(), short)]);
    assert!(!ok);
    assert!(err.contains("[1, 32]") && err.contains("[1, 64]"), "{err}");

    let (ok, err) = tpupipe(&[
        "run",
        model.to_str().unwrap(),
        "--inputs",
        dir.path().join("absent.npz").to_str().unwrap(),
        "--outputs",
        out.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        err.starts_with("error: ") && err.contains("absent.npz"),
        "{err}"
    );
}

#[test]
fn run_plan_reproduces_the_whole_models_golden_outputs() {
    let tpupipe = tpupipe_testkit::tpupipe!();
    for name in ["conv_residual", "fc_float_io", "mobilenet_v2"] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let model = models().join(format!("{name}.tflite"));
        tpupipe.ok(&["split", model.to_str().unwrap(), "--tpus", "3", "--out", d]);
        let plan = dir.path().join(format!("{name}_plan.json"));
        let out = dir.path().join("out.npz");
        let inputs = models().join(format!("{name}.inputs.npz"));
        let run = tpupipe.run(&[
            "run",
            "--plan",
            plan.to_str().unwrap(),
            "--inputs",
            inputs.to_str().unwrap(),
            "--outputs",
            out.to_str().unwrap(),
        ]);
        assert!(run.ok, "{name}: {}", run.stderr);
        // Without an Edge TPU backend, `auto` says each stage fell back to the CPU.
        assert_eq!(
            run.stderr.matches("CPU fallback").count(),
            3,
            "{}",
            run.stderr
        );
        let golden = read_npz(models().join(format!("{name}.outputs.npz"))).unwrap();
        assert_eq!(read_npz(&out).unwrap(), golden, "{name}");
    }
}

#[test]
fn run_plan_errors_name_the_problem() {
    let tpupipe = tpupipe_testkit::tpupipe!();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let model = models().join("fc_tanh.tflite");
    tpupipe.ok(&["split", model.to_str().unwrap(), "--tpus", "2", "--out", d]);
    let plan = dir.path().join("fc_tanh_plan.json");
    let inputs = models().join("fc_tanh.inputs.npz");
    let out = dir.path().join("o.npz");
    let args = |plan: &str, inputs: &str, backend: &str| {
        vec![
            "run".to_string(),
            "--plan".into(),
            plan.into(),
            "--inputs".into(),
            inputs.into(),
            "--outputs".into(),
            out.to_str().unwrap().into(),
            "--backend".into(),
            backend.into(),
        ]
    };
    let e = tpupipe.fails(&args(
        plan.to_str().unwrap(),
        inputs.to_str().unwrap(),
        "edgetpu",
    ));
    assert!(e.contains("cannot run on an Edge TPU"), "{e}");
    // The same input name with another size: refused before anything is queued.
    let other = models().join("conv_small.inputs.npz");
    let r = tpupipe.run(&args(
        plan.to_str().unwrap(),
        other.to_str().unwrap(),
        "cpu",
    ));
    let e = r.stderr.lines().last().unwrap_or_default();
    assert!(!r.ok && e.starts_with("error: "), "{}", r.stderr);
    assert!(e.contains("takes 64 bytes, but 3072 were given"), "{e}");
    std::fs::remove_file(dir.path().join("fc_tanh_segment_1_of_2.tflite")).unwrap();
    let e = tpupipe.fails(&args(
        plan.to_str().unwrap(),
        inputs.to_str().unwrap(),
        "cpu",
    ));
    assert!(
        e.contains("segment 1: cannot read") && e.contains("No such file"),
        "{e}"
    );
    let e = tpupipe.fails(&args(
        model.to_str().unwrap(),
        inputs.to_str().unwrap(),
        "cpu",
    ));
    assert!(e.contains("is not a tpupipe plan"), "{e}");
}
