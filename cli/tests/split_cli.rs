//! `tpupipe split` end to end: files and plan written, summary printed, and one clear error line
//! (exit status 1) for each kind of bad request.

use std::path::{Path, PathBuf};
use std::process::Command;
use tpupipe_compiler::{Plan, Strategy};
use tpupipe_runtime::schema::BuiltinOperator;
use tpupipe_runtime::ModelView;
use tpupipe_testkit::*;

fn tpupipe() -> Command {
    tpupipe_testkit::tpupipe!().command::<&str>(&[])
}

fn write_model(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Runs `tpupipe split` and returns (exit code, stdout, stderr).
fn split(args: &[&str]) -> (i32, String, String) {
    let out = tpupipe().arg("split").args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts a failure with exactly one `error:` line mentioning every word of `needles`.
fn assert_one_line_error(result: (i32, String, String), needles: &[&str]) {
    let (code, _, err) = result;
    assert_eq!(code, 1, "exit status; stderr: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    for n in needles {
        assert!(lines[0].contains(n), "'{n}' missing from: {err}");
    }
}

#[test]
fn writes_segments_plan_and_summary() {
    let dir = tempfile::tempdir().unwrap();
    let model = write_model(dir.path(), "chain.tflite", &chain(3));
    let out = dir.path().join("out/nested");
    let (code, stdout, stderr) = split(&[
        model.to_str().unwrap(),
        "--tpus",
        "3",
        "--strategy",
        "params",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    for i in 0..3 {
        let f = out.join(format!("chain_segment_{i}_of_3.tflite"));
        let bytes = std::fs::read(&f).unwrap();
        ModelView::parse(&bytes).unwrap();
        assert!(
            stdout.contains(&format!("chain_segment_{i}_of_3.tflite")),
            "{stdout}"
        );
    }
    let plan =
        Plan::from_json(&std::fs::read_to_string(out.join("chain_plan.json")).unwrap()).unwrap();
    assert_eq!(plan.model, "chain.tflite");
    assert_eq!(plan.tpus, 3);
    assert_eq!(plan.strategy, Strategy::Params);
    assert_eq!(plan.cuts, vec![2, 4]);
    assert_eq!(plan.model_sha256.len(), 64);
    assert_eq!(plan.model_inputs, vec!["x"]);
    assert_eq!(plan.model_outputs, vec!["relu2"]);
    for s in &plan.segments {
        let len = std::fs::metadata(out.join(&s.file)).unwrap().len();
        assert_eq!(s.file_bytes, len);
    }
    assert!(stdout.contains("strategy params"), "{stdout}");

    // Manual cuts, --tpus implied; a second run gives identical files.
    let out2 = dir.path().join("manual");
    let (code, _, stderr) = split(&[
        model.to_str().unwrap(),
        "--cuts",
        "1,5",
        "--out",
        out2.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let plan =
        Plan::from_json(&std::fs::read_to_string(out2.join("chain_plan.json")).unwrap()).unwrap();
    assert_eq!(
        (plan.strategy, plan.cuts.clone()),
        (Strategy::Manual, vec![1, 5])
    );
    let out3 = dir.path().join("manual_again");
    let (code, _, _) = split(&[
        model.to_str().unwrap(),
        "--cuts",
        "1,5",
        "--tpus",
        "3",
        "--out",
        out3.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    for i in 0..3 {
        let f = format!("chain_segment_{i}_of_3.tflite");
        assert_eq!(
            std::fs::read(out2.join(&f)).unwrap(),
            std::fs::read(out3.join(&f)).unwrap()
        );
    }
    assert_eq!(
        std::fs::read(out2.join("chain_plan.json")).unwrap(),
        std::fs::read(out3.join("chain_plan.json")).unwrap()
    );
}

#[test]
fn bad_segment_counts_and_cut_lists_give_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let model = write_model(dir.path(), "chain.tflite", &chain(2)); // 4 ops
    let m = model.to_str().unwrap();
    let out = dir.path().join("out");
    let o = out.to_str().unwrap();
    assert_one_line_error(split(&[m, "--tpus", "0", "--out", o]), &["at least 1"]);
    assert_one_line_error(
        split(&[m, "--tpus", "5", "--out", o]),
        &["5 segments", "4 operators"],
    );
    assert_one_line_error(split(&[m, "--out", o]), &["--tpus"]);
    assert_one_line_error(split(&[m, "--cuts", "1,x", "--out", o]), &["'x'"]);
    assert_one_line_error(split(&[m, "--cuts", "", "--out", o]), &["empty"]);
    assert_one_line_error(
        split(&[m, "--cuts", "0", "--out", o]),
        &["cut 0", "out of range"],
    );
    assert_one_line_error(split(&[m, "--cuts", "4", "--out", o]), &["cut 4", "1..=3"]);
    assert_one_line_error(split(&[m, "--cuts", "2,2", "--out", o]), &["twice"]);
    assert_one_line_error(split(&[m, "--cuts", "3,1", "--out", o]), &["increasing"]);
    assert_one_line_error(
        split(&[m, "--cuts", "1,2", "--tpus", "2", "--out", o]),
        &["2 segments need 1 cuts"],
    );
    assert!(!out.exists(), "nothing is written for a bad request");
}

#[test]
fn unsplittable_models_give_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().join("out");
    let o = o.to_str().unwrap();

    // Already compiled for the Edge TPU.
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 4]);
    let y = b.int8("y", &[1, 4]);
    b.custom_op("edgetpu-custom-op", &[x], &[y]);
    b.inputs(&[x]).outputs(&[y]);
    let m = write_model(dir.path(), "compiled.tflite", &b.finish());
    assert_one_line_error(
        split(&[m.to_str().unwrap(), "--tpus", "1", "--out", o]),
        &["already compiled"],
    );

    // Two subgraphs.
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 4]);
    let y = b.int8("y", &[1, 4]);
    b.op(BuiltinOperator::RELU, &[x], &[y]);
    b.inputs(&[x]).outputs(&[y]);
    let extra = b.model.subgraphs.as_ref().unwrap()[0].clone();
    b.model.subgraphs.as_mut().unwrap().push(extra);
    let m = write_model(dir.path(), "two.tflite", &b.finish());
    assert_one_line_error(
        split(&[m.to_str().unwrap(), "--tpus", "1", "--out", o]),
        &["2 subgraphs"],
    );

    // A dynamic dimension without a usable declared size.
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[0, 4]);
    let y = b.int8("y", &[0, 4]);
    b.op(BuiltinOperator::RELU, &[x], &[y]);
    b.inputs(&[x]).outputs(&[y]);
    b.subgraph().tensors.as_mut().unwrap()[x as usize].shape_signature = Some(vec![-1, 4]);
    let m = write_model(dir.path(), "dynamic.tflite", &b.finish());
    assert_one_line_error(
        split(&[m.to_str().unwrap(), "--tpus", "1", "--out", o]),
        &["dynamic shape", "'x'"],
    );

    // A dynamic batch with a declared size of 1 (Keras without a fixed batch size) is pinned.
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 4]);
    let y = b.int8("y", &[1, 4]);
    let z = b.int8("z", &[1, 4]);
    b.op(BuiltinOperator::RELU, &[x], &[y]);
    b.op(BuiltinOperator::RELU, &[y], &[z]);
    b.inputs(&[x]).outputs(&[z]);
    for t in [x, y, z] {
        b.subgraph().tensors.as_mut().unwrap()[t as usize].shape_signature = Some(vec![-1, 4]);
    }
    let m = write_model(dir.path(), "dynbatch.tflite", &b.finish());
    let pinned = dir.path().join("pinned");
    let (code, _, err) = split(&[
        m.to_str().unwrap(),
        "--tpus",
        "2",
        "--out",
        pinned.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    for i in 0..2 {
        let bytes =
            std::fs::read(pinned.join(format!("dynbatch_segment_{i}_of_2.tflite"))).unwrap();
        let view = ModelView::parse(&bytes).unwrap();
        assert!(
            !view.has_dynamic_dims(),
            "segment {i} kept a dynamic dimension"
        );
    }

    // Not a model at all, and a missing file.
    let m = write_model(dir.path(), "junk.tflite", b"not a flatbuffer at all");
    assert_one_line_error(
        split(&[m.to_str().unwrap(), "--tpus", "1", "--out", o]),
        &["junk.tflite"],
    );
    assert_one_line_error(
        split(&[
            dir.path().join("missing.tflite").to_str().unwrap(),
            "--tpus",
            "1",
            "--out",
            o,
        ]),
        &["missing.tflite"],
    );
}

#[test]
fn unwritable_output_directory_gives_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let model = write_model(dir.path(), "chain.tflite", &chain(2));
    let blocker = dir.path().join("a_file");
    std::fs::write(&blocker, b"x").unwrap();
    let out = blocker.join("sub");
    assert_one_line_error(
        split(&[
            model.to_str().unwrap(),
            "--tpus",
            "2",
            "--out",
            out.to_str().unwrap(),
        ]),
        &["cannot create output directory", "a_file"],
    );
}
