//! The placement model (tpupipe_compiler::placement) against the stand-in compiler's own,
//! independent mapping rules, and against the real compiled samples.
//!
//! - Keras MobileNetV3Small and EfficientNetB0 with float I/O (tests/models/placement/) and the
//!   other fixture models: compiled whole (one Edge TPU subgraph), the log's (operator, status)
//!   counts must equal the placement model's whole-model prediction, and compiled with `-a`
//!   (every mappable run its own custom op), the operators the compiled model keeps outside
//!   the custom ops must be exactly the ones the placement model puts on the CPU, with the same
//!   status counts.
//! - The real v16 compiles in ../shared/edgetpu-samples: the operators the real compiled model
//!   keeps outside its custom op must be exactly the predicted whole-model CPU operators.
//!
//! Every disagreement is collected and printed before the test fails; docs/placement.md lists
//! the known ones.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use tpupipe_compiler::graph::Graph;
use tpupipe_compiler::placement::{OpStatus, Placement, WholeModel};
use tpupipe_runtime::model::EDGETPU_CUSTOM_CODE;
use tpupipe_runtime::{ModelView, OpKind};

/// (operator as logs name it, status text) -> count.
type Counts = BTreeMap<(String, String), usize>;

fn log_name(kind: &str) -> String {
    if kind.starts_with("CUSTOM") {
        "CUSTOM".into()
    } else {
        kind.into()
    }
}

/// The `Operator / Count / Status` rows of a log.
fn log_counts(log: &str) -> Counts {
    let mut out = Counts::new();
    for line in log
        .lines()
        .skip_while(|l| !l.starts_with("Operator "))
        .skip(1)
    {
        if line.trim().is_empty() {
            continue;
        }
        let (op, rest) = line.split_at(31.min(line.len()));
        let (count, status) = rest.split_at(11.min(rest.len()));
        let count: usize = count.trim().parse().expect("a count");
        *out.entry((op.trim().to_string(), status.trim().to_string()))
            .or_default() += count;
    }
    out
}

fn counts(graph: &Graph, statuses: impl Iterator<Item = (usize, OpStatus)>) -> Counts {
    let mut out = Counts::new();
    for (p, s) in statuses {
        *out.entry((log_name(&graph.op(p).kind), s.text().to_string()))
            .or_default() += 1;
    }
    out
}

/// Compiles `input` into `dir` with extra flags; returns the compiled bytes and the log.
fn compile(dir: &Path, input: &Path, flags: &[&str]) -> Option<(Vec<u8>, String)> {
    let mut args = flags.to_vec();
    args.extend(["-o", dir.to_str().unwrap(), input.to_str().unwrap()]);
    let out = common::run(&args, &[]);
    if !out.status.success() {
        // Models the compiler refuses whole (not quantized, unparsable) have no placement.
        return None;
    }
    let stem = input.file_stem().unwrap().to_str().unwrap();
    let model = std::fs::read(dir.join(format!("{stem}_edgetpu.tflite"))).ok()?;
    let log = std::fs::read_to_string(dir.join(format!("{stem}_edgetpu.log"))).ok()?;
    Some((model, log))
}

/// The output tensor names of the operators a compiled model keeps outside its custom ops.
fn cpu_outputs(compiled: &[u8]) -> BTreeSet<String> {
    let m = ModelView::parse(compiled).unwrap();
    let sg = m.main_subgraph();
    sg.operators()
        .filter(|op| !matches!(op.kind(), OpKind::Custom(c) if c == EDGETPU_CUSTOM_CODE))
        .flat_map(|op| op.outputs())
        .map(|t| sg.tensor(t).name().to_string())
        .collect()
}

fn predicted_outputs(view: &ModelView<'_>, graph: &Graph, positions: &[usize]) -> BTreeSet<String> {
    let sg = view.main_subgraph();
    positions
        .iter()
        .flat_map(|&p| graph.op(p).outputs.clone())
        .map(|t| sg.tensor(t).name().to_string())
        .collect()
}

/// Compares one model; pushes every disagreement to `out`. `whole` also runs the
/// one-subgraph comparison.
fn compare(path: &Path, whole: bool, out: &mut Vec<String>) -> bool {
    let bytes = std::fs::read(path).unwrap();
    let view = ModelView::parse(&bytes).unwrap();
    let Ok(graph) = Graph::build(&view) else {
        return false;
    };
    let placement = Placement::predict(&view, &graph);
    let name = path.display().to_string();
    let dir = tempfile::tempdir().unwrap();

    let Some((compiled, log)) = compile(dir.path(), path, &["-a"]) else {
        return false;
    };
    let predicted = counts(
        &graph,
        (0..graph.len())
            .filter(|&p| !placement.get(p).on_tpu())
            .map(|p| (p, placement.get(p).status)),
    );
    let reported: Counts = log_counts(&log)
        .into_iter()
        .filter(|((_, s), _)| s != OpStatus::Mapped.text())
        .collect();
    if predicted != reported {
        out.push(format!(
            "{name} (-a): CPU statuses differ\n  placement: {predicted:?}\n  stand-in:  {reported:?}"
        ));
    }
    let kept = cpu_outputs(&compiled);
    let expected = predicted_outputs(&view, &graph, &placement.cpu_positions());
    if kept != expected {
        out.push(format!(
            "{name} (-a): CPU operators differ\n  only predicted: {:?}\n  only compiled:  {:?}",
            expected.difference(&kept).collect::<Vec<_>>(),
            kept.difference(&expected).collect::<Vec<_>>()
        ));
    }

    if whole {
        let dir = tempfile::tempdir().unwrap();
        let Some((compiled, log)) = compile(dir.path(), path, &[]) else {
            out.push(format!("{name}: compiles with -a but not without"));
            return true;
        };
        let wm = WholeModel::of(&placement, &graph);
        let predicted = counts(&graph, wm.statuses.iter().copied().enumerate());
        let reported = log_counts(&log);
        if predicted != reported {
            out.push(format!(
                "{name}: whole-model statuses differ\n  placement: {predicted:?}\n  stand-in:  {reported:?}"
            ));
        }
        let kept = cpu_outputs(&compiled);
        let expected = predicted_outputs(&view, &graph, &wm.cpu_positions());
        if kept != expected {
            out.push(format!(
                "{name}: whole-model CPU operators differ\n  only predicted: {:?}\n  only compiled:  {:?}",
                expected.difference(&kept).collect::<Vec<_>>(),
                kept.difference(&expected).collect::<Vec<_>>()
            ));
        }
    }
    true
}

fn models_in(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "tflite") {
                v.push(p);
            }
        }
    }
    v.sort();
    v
}

fn report(disagreements: &[String]) {
    assert!(
        disagreements.is_empty(),
        "{} disagreement(s):\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

#[test]
fn keras_float_io_applications_agree_with_the_standin() {
    let dir = common::workspace().join("tests/models/placement");
    let mut disagreements = Vec::new();
    for name in ["mobilenet_v3_small_float_io", "efficientnet_b0_float_io"] {
        let path = dir.join(format!("{name}.tflite"));
        assert!(
            compare(&path, true, &mut disagreements),
            "{name} must compile"
        );
    }
    report(&disagreements);

    // The fixtures are what the test claims: float I/O, ops on the CPU.
    let bytes = std::fs::read(dir.join("mobilenet_v3_small_float_io.tflite")).unwrap();
    let view = ModelView::parse(&bytes).unwrap();
    let graph = Graph::build(&view).unwrap();
    let p = Placement::predict(&view, &graph);
    let cpu: Vec<String> = p
        .cpu_positions()
        .into_iter()
        .map(|i| graph.op(i).kind.clone())
        .collect();
    assert_eq!(cpu.first().map(String::as_str), Some("QUANTIZE"));
    assert_eq!(cpu.last().map(String::as_str), Some("DEQUANTIZE"));
    assert!(cpu.iter().any(|k| k == "HARD_SWISH"), "{cpu:?}");
}

#[test]
fn fixture_models_agree_with_the_standin() {
    let root = common::workspace().join("tests/models");
    let mut disagreements = Vec::new();
    let mut compared = 0;
    for path in models_in(&root) {
        if path.starts_with(root.join("placement")) {
            continue;
        }
        // Whole-model compiles for the top-level fixtures; the single-operator models get the
        // per-operator (-a) comparison only, to keep the test short.
        let whole = path.parent() == Some(root.as_path());
        compared += usize::from(compare(&path, whole, &mut disagreements));
    }
    assert!(compared > 100, "only {compared} fixture models compiled");
    report(&disagreements);
}

#[test]
fn real_compiled_samples_keep_exactly_the_predicted_cpu_operators() {
    let Some(shared) = common::shared_dir() else {
        eprintln!("skipped: ../shared/edgetpu-samples is absent");
        return;
    };
    let samples = shared.join("edgetpu-samples");
    for stem in ["dummy", "mobilenet_v2_1.0_224_inat_bird_quant"] {
        let source = std::fs::read(samples.join(format!("{stem}.tflite"))).unwrap();
        let compiled = std::fs::read(samples.join(format!("{stem}_edgetpu.tflite"))).unwrap();
        let view = ModelView::parse(&source).unwrap();
        let graph = Graph::build(&view).unwrap();
        let placement = Placement::predict(&view, &graph);
        let wm = WholeModel::of(&placement, &graph);
        let expected = predicted_outputs(&view, &graph, &wm.cpu_positions());
        assert_eq!(cpu_outputs(&compiled), expected, "{stem}");
        assert_eq!(wm.tpu_ops(), graph.len(), "{stem}: every op is mapped");
        if stem == "dummy" {
            // The real operation log, quoted in the samples README: QUANTIZE x2 (uint8 <->
            // int8 at the edges) and the depthwise conv, all mapped.
            let readme = std::fs::read_to_string(samples.join("README.md")).unwrap();
            let start = readme.find("Edge TPU Compiler version").unwrap();
            let end = start + readme[start..].find("```").unwrap();
            let real = log_counts(&readme[start..end]);
            let predicted = counts(&graph, wm.statuses.iter().copied().enumerate());
            assert_eq!(predicted, real);
            assert_eq!(real.len(), 2);
        }
    }
}
