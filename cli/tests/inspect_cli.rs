//! `tpupipe inspect` end to end: text and JSON output on hand-built and fixture models.

use serde_json::Value;
use std::path::{Path, PathBuf};
use tpupipe_runtime::schema::BuiltinOperator;
use tpupipe_testkit::*;

fn fixture(name: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/models")
        .join(format!("{name}.tflite"));
    p.exists().then_some(p)
}

/// Runs `tpupipe inspect PATH [--json]`, expecting success; returns stdout.
fn inspect(path: &Path, json: bool) -> String {
    let mut cmd = tpupipe_testkit::tpupipe!().command::<&str>(&[]);
    cmd.arg("inspect").arg(path);
    if json {
        cmd.arg("--json");
    }
    let out = cmd.output().expect("run tpupipe");
    assert!(
        out.status.success(),
        "inspect {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn write_temp(bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.tflite");
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&inspect(path, true)).expect("valid JSON")
}

#[test]
fn json_has_the_documented_fields() {
    let (_dir, path) = write_temp(&residual());
    let doc = json(&path);
    let input = &doc["inputs"][0];
    assert_eq!(input["name"], "x");
    assert_eq!(input["shape"], serde_json::json!([1, 8, 8, 4]));
    assert_eq!(input["dtype"], "int8");
    assert_eq!(input["bytes"], 256);
    assert_eq!(input["quantization"]["kind"], "per_tensor");
    assert_eq!(input["quantization"]["zero_point"], -3);
    assert!((input["quantization"]["scale"].as_f64().unwrap() - 0.05).abs() < 1e-6);
    assert_eq!(doc["outputs"][0]["name"], "d");
    assert_eq!(doc["subgraphs"], 1);
    assert_eq!(doc["edgetpu_compiled"], false);

    let ops = doc["ops"].as_array().unwrap();
    assert_eq!(ops.len(), 4);
    let kinds: Vec<&str> = ops.iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D", "ADD"]);
    for (p, op) in ops.iter().enumerate() {
        assert_eq!(op["position"], p);
        assert_eq!(op["index"], p);
        assert_eq!(op["version"], 1);
        assert_eq!(op["output_bytes"], 512);
    }
    let macs: Vec<u64> = ops.iter().map(|o| o["macs"].as_u64().unwrap()).collect();
    assert_eq!(macs, [512 * 36, 512 * 9, 512 * 8, 512]);
    assert_eq!(ops[0]["param_bytes"], 288 + 32);
    // Cut bytes: nothing before op 0, then a; a + b; a + c (the skip tensor a is included).
    let cuts: Vec<Value> = ops.iter().map(|o| o["cut_bytes"].clone()).collect();
    assert_eq!(cuts, [Value::Null, 512.into(), 1024.into(), 1024.into()]);

    let totals = &doc["totals"];
    assert_eq!(totals["ops"], 4);
    assert_eq!(totals["macs"], macs.iter().sum::<u64>());
    assert_eq!(totals["param_bytes"], 320 + 104 + 96);
    assert_eq!(totals["largest_activation"]["bytes"], 512);
    assert_eq!(totals["largest_activation"]["name"], "a");
}

#[test]
fn text_shows_inputs_ops_and_totals() {
    let (_dir, path) = write_temp(&chain(2));
    let text = inspect(&path, false);
    assert!(
        text.contains("inputs:") && text.contains("outputs:"),
        "{text}"
    );
    assert!(text.contains("scale 0.05, zero point -3"), "{text}");
    assert!(text.contains("FULLY_CONNECTED"), "{text}");
    assert!(text.contains("RELU"), "{text}");
    assert!(text.contains("operators:          4"), "{text}");
    // 2 x (256 + 16) MACs, 2 x 320 B of parameters.
    assert!(text.contains("MACs:               544 (544)"), "{text}");
    assert!(
        text.contains("parameters:         640B (640 bytes)"),
        "{text}"
    );
    assert!(text.contains("largest activation: 16B"), "{text}");
    assert!(text.contains("subgraphs: 1"), "{text}");
}

#[test]
fn per_axis_quantized_output_is_summarised() {
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 2, 2, 3]);
    let y = b.int8("y", &[1, 2, 2, 3]);
    b.op(BuiltinOperator::RELU, &[x], &[y]);
    b.subgraph().tensors.as_mut().unwrap()[y as usize].quantization =
        Some(Box::new(quant(vec![0.1, 0.2, 0.3], vec![0, 0, 0], 3)));
    b.inputs(&[x]).outputs(&[y]);
    let (_dir, path) = write_temp(&b.finish());
    let text = inspect(&path, false);
    assert!(text.contains("per-axis (3 scales, axis 3)"), "{text}");
    let doc = json(&path);
    assert_eq!(
        doc["outputs"][0]["quantization"],
        serde_json::json!({"kind": "per_axis", "scales": 3, "axis": 3})
    );
}

#[test]
fn edgetpu_compiled_and_multi_subgraph_models() {
    let mut b = ModelBuilder::new();
    let x = b.tensor(
        "x",
        &[1, 224, 224, 3],
        tpupipe_runtime::schema::TensorType::UINT8,
    );
    let y = b.tensor("y", &[1, 1001], tpupipe_runtime::schema::TensorType::UINT8);
    b.custom_op("edgetpu-custom-op", &[x], &[y]);
    b.inputs(&[x]).outputs(&[y]);
    let extra = b.subgraph().clone();
    b.model.subgraphs.as_mut().unwrap().push(extra);
    let (_dir, path) = write_temp(&b.finish());
    let text = inspect(&path, false);
    assert!(text.contains("CUSTOM(edgetpu-custom-op)"), "{text}");
    assert!(text.contains("compiled for the Edge TPU: yes"), "{text}");
    assert!(
        text.contains("subgraphs: 2 (showing the main subgraph"),
        "{text}"
    );
    assert!(text.contains("not quantized"), "{text}");
    let doc = json(&path);
    assert_eq!(doc["edgetpu_compiled"], true);
    assert_eq!(doc["subgraphs"], 2);
    assert_eq!(doc["totals"]["macs"], 0);
    assert_eq!(doc["totals"]["largest_activation"]["bytes"], 224 * 224 * 3);
}

#[test]
fn fixture_totals_match_the_architectures() {
    // fc_tanh: 64 -> 4 x Dense(128, tanh) -> Dense(10).
    if let Some(path) = fixture("fc_tanh") {
        let doc = json(&path);
        let weights = 64 * 128 + 3 * 128 * 128 + 128 * 10;
        let tanh = 4 * 128;
        assert_eq!(doc["totals"]["ops"], 9);
        assert_eq!(doc["totals"]["macs"], weights + tanh);
        assert_eq!(doc["totals"]["param_bytes"], weights + 4 * (4 * 128 + 10));
    }
    // MobileNetV2 (224x224, alpha 1.0): about 300M MACs and 3.5M int8 parameters.
    if let Some(path) = fixture("mobilenet_v2") {
        let doc = json(&path);
        let macs = doc["totals"]["macs"].as_u64().unwrap();
        assert!((290_000_000..315_000_000).contains(&macs), "MACs {macs}");
        let params = doc["totals"]["param_bytes"].as_u64().unwrap();
        assert!((3_300_000..3_800_000).contains(&params), "params {params}");
        assert_eq!(doc["totals"]["ops"], 64);
        assert_eq!(
            doc["inputs"][0]["shape"],
            serde_json::json!([1, 224, 224, 3])
        );
        // The largest activation is a 112x112x96 expansion (1.15 MiB).
        assert_eq!(doc["totals"]["largest_activation"]["bytes"], 112 * 112 * 96);
    }
}

/// Every `.tflite` under `tests/models/` (recursively), sorted.
fn all_fixtures() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|x| x == "tflite") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/models"),
        &mut out,
    );
    out.sort();
    out
}

#[test]
fn every_fixture_inspects() {
    for path in all_fixtures() {
        let doc = json(&path);
        let ops = doc["ops"].as_array().unwrap();
        assert_eq!(doc["totals"]["ops"], ops.len(), "{}", path.display());
        assert!(!ops.is_empty(), "{}", path.display());
        let macs: u64 = ops.iter().map(|o| o["macs"].as_u64().unwrap()).sum();
        assert_eq!(doc["totals"]["macs"], macs, "{}", path.display());
        let text = inspect(&path, false);
        assert!(text.contains("totals:"), "{}", path.display());
    }
}

/// `tpupipe inspect big.tflite | head -1`: the reader closes the pipe early; the tool must end
/// quietly (killed by SIGPIPE, as `cat` would be), never panic.
#[test]
fn a_closed_output_pipe_ends_quietly() {
    use std::process::Stdio;
    let Some(model) = fixture("mobilenet_v2") else {
        panic!("tests/models/mobilenet_v2.tflite is missing");
    };
    let mut child = tpupipe_testkit::tpupipe!()
        .command::<&str>(&[])
        .arg("inspect")
        .arg(&model)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tpupipe");
    // Close the read end before the tool writes its (long) listing.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert!(
            out.status.success() || out.status.signal() == Some(SIGPIPE),
            "{:?}: {err}",
            out.status
        );
    }
}

/// The signal number of SIGPIPE on Linux and the BSDs.
#[cfg(unix)]
const SIGPIPE: i32 = 13;

#[test]
fn placement_column_summary_and_json_for_a_float_io_keras_model() {
    let Some(path) = fixture("placement/mobilenet_v3_small_float_io") else {
        panic!("the placement fixture is committed");
    };
    let text = inspect(&path, false);
    assert!(text.contains(" placement\n"), "{text}");
    assert!(text.contains("CPU: limitation: quantizes a float input"));
    assert!(text.contains("CPU: not supported"));
    assert!(text.contains("each op alone: 89 of 110 ops on the Edge TPU; CPU: 21"));
    assert!(text.contains("    HARD_SWISH x19: Operation not supported"));
    assert!(
        text.contains("whole-model compile (one Edge TPU subgraph at positions 1..2): 1 of 110")
    );
    assert!(text.contains("    CONV_2D x42: More than one subgraph is not supported"));
    assert!(text.contains("crosses a link as its 8-bit twin 'tfl.quantize' (27.00KiB)"));

    let j = json(&path);
    let ops = j["ops"].as_array().unwrap();
    assert_eq!(ops[0]["placement"]["status"], "unspecified_limitation");
    assert_eq!(ops[0]["placement"]["on_tpu"], false);
    assert_eq!(ops[1]["placement"]["status"], "mapped");
    assert_eq!(ops[2]["placement"]["status"], "not_supported");
    assert_eq!(
        ops[3]["placement"]["whole_model_status"],
        "more_than_one_subgraph"
    );
    assert_eq!(j["placement"]["tpu_ops"], 89);
    assert_eq!(
        j["placement"]["whole_model_tpu_range"],
        serde_json::json!([1, 2])
    );
    assert_eq!(j["placement"]["float_edges"][0]["quantized_bytes"], 27648);
}
