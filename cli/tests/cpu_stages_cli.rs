//! Plans with CPU stages through the command line, on models with an operator the Edge TPU
//! compiler does not map in the middle (tests/models/cpu_stages/): `plan` puts it in a CPU
//! stage between two Edge TPU segments and predicts that faster than the compiler's own
//! placement (one TPU, the rest on the CPU); `split` writes the CPU stage as a segment with
//! `"device": "cpu"` in the plan; `run --plan` reproduces the official runtime's outputs bit for
//! bit.

use std::path::{Path, PathBuf};
use tpupipe_runtime::npz::read_npz;

fn model_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/models/cpu_stages")
}

fn tpupipe(args: &[&str]) -> (bool, String, String) {
    let out = tpupipe_testkit::tpupipe!()
        .command::<&str>(&[])
        .args(args)
        .output()
        .expect("run tpupipe");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// The fixture models and the position of their unmapped operator.
const MODELS: [(&str, usize); 4] = [
    ("mid_gather", 2),
    ("mid_softmax", 2),
    ("mid_argmax", 2),
    ("mid_cast", 4),
];

#[test]
fn plan_puts_the_unmapped_operator_in_a_cpu_stage_between_two_tpu_segments() {
    for (name, pos) in MODELS {
        let m = model_dir().join(format!("{name}.tflite"));
        for tpus in ["2", "3"] {
            let (ok, out, err) = tpupipe(&[
                "plan",
                m.to_str().unwrap(),
                "--tpus",
                tpus,
                "--host-cores",
                "2",
                "--json",
            ]);
            assert!(ok, "{name}: {err}");
            let v: serde_json::Value = serde_json::from_str(&out).unwrap();
            let segs = v["segments"].as_array().unwrap();
            let devices: Vec<&str> = segs.iter().map(|s| s["device"].as_str().unwrap()).collect();
            let holder = segs
                .iter()
                .position(|s| {
                    let r = s["op_range"].as_array().unwrap();
                    r[0].as_u64().unwrap() as usize <= pos && pos < r[1].as_u64().unwrap() as usize
                })
                .unwrap();
            assert_eq!(devices[holder], "cpu", "{name} x{tpus}: {devices:?}");
            assert!(
                devices[..holder].contains(&"edgetpu")
                    && devices[holder + 1..].contains(&"edgetpu")
            );
            assert_eq!(
                devices
                    .iter()
                    .filter(|&&d| d == "edgetpu")
                    .count()
                    .to_string(),
                tpus
            );
            let bottleneck = v["bottleneck_ms"].as_f64().unwrap();
            let own = v["compiler_ms"].as_f64().unwrap();
            assert!(
                bottleneck < own,
                "{name} x{tpus}: {bottleneck} ms vs the compiler's {own} ms"
            );
            assert!((v["speedup_vs_compiler"].as_f64().unwrap() - own / bottleneck).abs() < 1e-9);
            // The params split (the compiler's own cuts, costed as it would place them) is
            // never better.
            assert!(v["speedup_vs_params"].as_f64().unwrap() >= 1.0 - 1e-9);
        }
        // The table says where each stage runs and compares with the compiler's placement.
        let (ok, out, _) = tpupipe(&["plan", m.to_str().unwrap(), "--tpus", "2"]);
        assert!(ok);
        assert!(
            out.contains("     cpu  ") && out.contains(" edgetpu  "),
            "{out}"
        );
        assert!(
            out.contains("faster than the Edge TPU compiler's own placement"),
            "{out}"
        );
    }
}

#[test]
fn split_writes_cpu_stages_and_run_plan_is_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    for (name, _) in MODELS {
        let m = model_dir().join(format!("{name}.tflite"));
        let want = read_npz(model_dir().join(format!("{name}.outputs.npz"))).unwrap();
        let inputs = model_dir().join(format!("{name}.inputs.npz"));
        for tpus in ["1", "2", "3"] {
            let out_dir = dir.path().join(format!("{name}_{tpus}"));
            let (ok, out, err) = tpupipe(&[
                "split",
                m.to_str().unwrap(),
                "--tpus",
                tpus,
                "--out",
                out_dir.to_str().unwrap(),
            ]);
            assert!(ok, "{name} x{tpus}: {err}");
            assert!(out.contains("CPU stage(s)"), "{out}");
            let plan_path = out_dir.join(format!("{name}_plan.json"));
            let plan: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&plan_path).unwrap()).unwrap();
            let segs = plan["segments"].as_array().unwrap();
            assert!(segs
                .iter()
                .all(|s| s["device"] == "edgetpu" || s["device"] == "cpu"));
            assert!(segs.iter().any(|s| s["device"] == "cpu"));
            for s in segs {
                assert!(out_dir.join(s["file"].as_str().unwrap()).exists());
            }
            let got_path = out_dir.join("out.npz");
            let (ok, _, err) = tpupipe(&[
                "run",
                "--plan",
                plan_path.to_str().unwrap(),
                "--inputs",
                inputs.to_str().unwrap(),
                "--outputs",
                got_path.to_str().unwrap(),
            ]);
            assert!(ok, "{name} x{tpus}: {err}");
            assert_eq!(read_npz(&got_path).unwrap(), want, "{name} x{tpus}");
        }
    }
}
