//! `tpupipe plan` and `tpupipe simulate` end to end: JSON fields, tables, the SVG chart, and one
//! clear error line for bad input.

use std::path::PathBuf;

fn model(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/models")
        .join(name)
}

fn tpupipe(args: &[&str]) -> (bool, String, String) {
    let out = tpupipe_testkit::tpupipe!()
        .command::<&str>(&[])
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The per-segment figures `plan --json` and the split plan both carry.
const SEGMENT_FIGURES: [&str; 7] = [
    "param_bytes",
    "on_chip_bytes",
    "off_chip_bytes",
    "macs",
    "latency_ms",
    "input_bytes",
    "output_bytes",
];

fn one_error_line(args: &[&str], needle: &str) {
    let (ok, _, err) = tpupipe(args);
    assert!(!ok, "{args:?} should fail");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{args:?}: expected one line, got {err:?}");
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains(needle),
        "{args:?}: {err:?}"
    );
}

#[test]
fn plan_json_has_segments_and_totals() {
    let m = model("mobilenet_v2.tflite");
    let m = m.to_str().unwrap();
    let (ok, out, err) = tpupipe(&["plan", m, "--tpus", "3", "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let segs = v["segments"].as_array().unwrap();
    assert_eq!(segs.len(), 3);
    let mut next = 0;
    for s in segs {
        for key in SEGMENT_FIGURES {
            assert!(s[key].is_number(), "segment lacks {key}: {s}");
        }
        assert_eq!(s["op_range"][0].as_u64().unwrap(), next);
        next = s["op_range"][1].as_u64().unwrap();
    }
    assert_eq!(next, v["op_count"].as_u64().unwrap());
    let bottleneck = v["bottleneck_ms"].as_f64().unwrap();
    let max_stage = segs
        .iter()
        .map(|s| s["latency_ms"].as_f64().unwrap())
        .fold(0.0, f64::max);
    assert!(bottleneck >= max_stage);
    assert!((v["throughput_per_s"].as_f64().unwrap() - 1000.0 / bottleneck).abs() < 1e-6);
    assert!(v["latency_ms"].as_f64().unwrap() >= bottleneck);
    assert!(v["speedup_vs_params"].as_f64().unwrap() >= 1.0 - 1e-9);
    assert_eq!(v["strategy"], "balanced");

    let (ok, table, _) = tpupipe(&[
        "plan",
        m,
        "--tpus",
        "2",
        "--strategy",
        "params",
        "--interface",
        "pcie",
        "--clock",
        "std",
    ]);
    assert!(ok);
    assert!(
        table.contains("strategy params") && table.contains("pcie") && table.contains("bottleneck")
    );
    assert_eq!(
        table
            .lines()
            .filter(|l| matches!(l.split_whitespace().nth(1), Some("edgetpu" | "cpu")))
            .count(),
        2
    );
}

#[test]
fn allow_fewer_can_drop_tpus() {
    let m = model("fc_tanh.tflite");
    let (ok, out, err) = tpupipe(&[
        "plan",
        m.to_str().unwrap(),
        "--tpus",
        "3",
        "--allow-fewer",
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["requested_tpus"], 3);
    // A tiny model: extra stages only add overhead, so one TPU wins.
    assert_eq!(v["tpus"], 1);
}

#[test]
fn simulate_writes_a_chart_and_covers_every_count() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("chart.svg");
    let m = model("conv_residual.tflite");
    let (ok, out, err) = tpupipe(&[
        "simulate",
        m.to_str().unwrap(),
        "--max-tpus",
        "3",
        "--json",
        "--svg",
        svg.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let points = v["points"].as_array().unwrap();
    assert_eq!(points.len(), 3 * 2, "params and balanced for 1..3");
    for p in points {
        assert!(p["throughput_per_s"].as_f64().unwrap() > 0.0);
    }
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg") && text.contains("balanced"));
    assert!(err.contains("chart.svg"));
}

#[test]
fn bad_input_gives_one_clear_line() {
    let m = model("mobilenet_v2.tflite");
    let m = m.to_str().unwrap();
    one_error_line(&["plan", m, "--tpus", "0"], "at least 1");
    one_error_line(&["plan", m, "--tpus", "65"], "only 64 operators");
    one_error_line(&["simulate", m, "--max-tpus", "0"], "at least 1");
    one_error_line(
        &["plan", m, "--tpus", "2", "--strategy", "profiled"],
        "--profile",
    );
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{not json").unwrap();
    one_error_line(
        &["plan", m, "--tpus", "2", "--profile", bad.to_str().unwrap()],
        "not valid profile JSON",
    );
    let other = dir.path().join("other.json");
    std::fs::write(
        &other,
        r#"{"format":"tpupipe-profile","version":1,"model_sha256":"0123","segments":[]}"#,
    )
    .unwrap();
    one_error_line(
        &[
            "plan",
            m,
            "--tpus",
            "2",
            "--strategy",
            "profiled",
            "--profile",
            other.to_str().unwrap(),
        ],
        "another model",
    );
    one_error_line(
        &["plan", "/nonexistent/model.tflite", "--tpus", "2"],
        "cannot read",
    );
}

#[test]
fn profiled_plan_uses_a_matching_profile() {
    let m = model("conv_small.tflite");
    let bytes = std::fs::read(&m).unwrap();
    let sha = tpupipe_compiler::model_file::sha256_hex(&bytes);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("profile.json");
    std::fs::write(
        &p,
        format!(r#"{{"format":"tpupipe-profile","version":1,"model_sha256":"{sha}","segments":[{{"op_range":[0,1],"latency_ms":0.5}}]}}"#),
    )
    .unwrap();
    let (ok, out, err) = tpupipe(&[
        "plan",
        m.to_str().unwrap(),
        "--tpus",
        "2",
        "--strategy",
        "profiled",
        "--profile",
        p.to_str().unwrap(),
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["strategy"], "profiled");
    let measured = v["segments"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["cost_origin"] == "measured");
    let first = &v["segments"][0];
    assert_eq!(
        measured,
        first["op_range"][1] == 1,
        "the measured segment is reported as such: {v}"
    );
}

#[test]
fn split_defaults_to_balanced_and_writes_the_cost_fields() {
    let dir = tempfile::tempdir().unwrap();
    let m = model("mobilenet_v2.tflite");
    let m = m.to_str().unwrap();
    let out = dir.path().join("out");
    let (ok, stdout, err) = tpupipe(&["split", m, "--tpus", "3", "--out", out.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(
        stdout.contains("strategy balanced") && stdout.contains("predicted: bottleneck"),
        "{stdout}"
    );
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("mobilenet_v2_plan.json")).unwrap())
            .unwrap();
    // The split plan is `tpupipe plan --json` plus routing: same cuts and figures.
    let (ok, planned, _) = tpupipe(&["plan", m, "--tpus", "3", "--json"]);
    assert!(ok);
    let planned: serde_json::Value = serde_json::from_str(&planned).unwrap();
    assert_eq!(plan["strategy"], "balanced");
    assert_eq!(plan["cuts"], planned["cuts"]);
    for key in [
        "bottleneck_ms",
        "latency_ms",
        "throughput_per_s",
        "speedup_vs_params",
    ] {
        assert_eq!(plan[key], planned[key], "{key}");
    }
    for (a, b) in plan["segments"]
        .as_array()
        .unwrap()
        .iter()
        .zip(planned["segments"].as_array().unwrap())
    {
        for key in std::iter::once("op_range").chain(SEGMENT_FIGURES) {
            assert_eq!(a[key], b[key], "{key}");
        }
    }
    assert!(plan["routing"].is_array());
    // The other strategies and their errors.
    let (ok, _, _) = tpupipe(&[
        "split",
        m,
        "--tpus",
        "2",
        "--strategy",
        "params",
        "--interface",
        "pcie",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok);
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("mobilenet_v2_plan.json")).unwrap())
            .unwrap();
    assert_eq!(
        (plan["strategy"].as_str(), plan["interface"].as_str()),
        (Some("params"), Some("pcie"))
    );
    one_error_line(
        &[
            "split",
            m,
            "--tpus",
            "2",
            "--strategy",
            "profiled",
            "--out",
            out.to_str().unwrap(),
        ],
        "--profile",
    );
}

/// `tpupipe simulate MODEL --max-tpus K --replicate --json`, expected to succeed.
fn simulate_replicated(model: &str, max_tpus: usize) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("chart.svg");
    let k = max_tpus.to_string();
    let (ok, out, err) = tpupipe(&[
        "simulate",
        model,
        "--max-tpus",
        &k,
        "--replicate",
        "--json",
        "--svg",
        svg.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn replicate_copies_segments_in_plan_simulate_and_split() {
    let m = model("mobilenet_v2.tflite");
    let m = m.to_str().unwrap();
    // MobileNet v2 fits one TPU: copies beat a pipeline, whose stages only add transfers.
    let (ok, out, err) = tpupipe(&["plan", m, "--tpus", "4", "--replicate", "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let replicas: Vec<u64> = v["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["replicas"].as_u64().unwrap())
        .collect();
    assert!(replicas.iter().any(|&r| r > 1), "{replicas:?}");
    assert_eq!(v["tpus"].as_u64().unwrap(), replicas.iter().sum::<u64>());
    assert!(v["tpus"].as_u64().unwrap() <= 4);
    let (ok, plain, _) = tpupipe(&["plan", m, "--tpus", "4", "--json"]);
    assert!(ok);
    let plain: serde_json::Value = serde_json::from_str(&plain).unwrap();
    assert!(
        v["bottleneck_ms"].as_f64().unwrap() < plain["bottleneck_ms"].as_f64().unwrap(),
        "replicated {} vs pipeline {}",
        v["bottleneck_ms"],
        plain["bottleneck_ms"]
    );
    // Latency is never better than the plain one-TPU run: copies do not shorten an inference.
    assert!(v["latency_ms"].as_f64().unwrap() >= v["single_tpu_ms"].as_f64().unwrap());
    let (ok, table, _) = tpupipe(&["plan", m, "--tpus", "4", "--replicate"]);
    assert!(ok && table.contains("TPUs"), "{table}");

    // A shared host wire is reported and bounds the copies.
    let (ok, out, _) = tpupipe(&[
        "plan",
        m,
        "--tpus",
        "8",
        "--replicate",
        "--host-link",
        "shared",
        "--json",
    ]);
    assert!(ok);
    let s: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(s["host_link"], "shared");
    assert!(
        s["bottleneck_ms"].as_f64().unwrap() >= s["shared_wire_ms"].as_f64().unwrap() * 0.999999
    );

    // simulate reports the replicas per point.
    let dir = tempfile::tempdir().unwrap();
    let v = simulate_replicated(m, 3);
    let balanced_3 = v["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["tpus"] == 3 && p["strategy"] == "balanced")
        .unwrap()
        .clone();
    let used: u64 = balanced_3["replicas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_u64().unwrap())
        .sum();
    assert_eq!(used, balanced_3["tpus_used"].as_u64().unwrap());

    // split writes one file per segment and the replicas into the plan.
    let out_dir = dir.path().join("split");
    let (ok, stdout, err) = tpupipe(&[
        "split",
        m,
        "--tpus",
        "4",
        "--replicate",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(
        stdout.contains("take inferences in turn") && stdout.contains("TPUs"),
        "{stdout}"
    );
    let plan: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out_dir.join("mobilenet_v2_plan.json")).unwrap(),
    )
    .unwrap();
    let segments = plan["segments"].as_array().unwrap();
    assert_eq!(plan["tpus"].as_u64().unwrap() as usize, segments.len());
    let total: u64 = segments
        .iter()
        .map(|s| s["replicas"].as_u64().unwrap())
        .sum();
    assert_eq!(plan["tpus_used"].as_u64().unwrap(), total);
    for s in segments {
        assert!(out_dir.join(s["file"].as_str().unwrap()).is_file());
    }
}

#[test]
fn replicate_may_use_more_tpus_than_operators_but_bad_counts_still_fail() {
    let m = model("fc_tanh.tflite");
    let m = m.to_str().unwrap();
    let (ok, _, err) = tpupipe(&["plan", m, "--tpus", "64", "--replicate", "--json"]);
    assert!(ok, "{err}");
    one_error_line(&["plan", m, "--tpus", "0", "--replicate"], "at least 1");
    // simulate too: `params` stops at one segment per operator (9 here), balanced goes on.
    let v = simulate_replicated(m, 10);
    let points = v["points"].as_array().unwrap();
    assert_eq!(points.len(), 9 + 10);
    assert!(points
        .iter()
        .any(|p| p["tpus"] == 10 && p["strategy"] == "balanced"));
    // Without copies it stops before writing any chart.
    one_error_line(&["simulate", m, "--max-tpus", "10"], "only 9 operators");
    one_error_line(&["plan", m, "--tpus", "64"], "operators");
    // clap's own usage error, with the possible values.
    let (ok, _, err) = tpupipe(&["plan", m, "--tpus", "2", "--host-link", "hub"]);
    assert!(!ok && err.contains("invalid value 'hub'") && err.contains("shared, dedicated"));
}

#[test]
fn host_cost_flag_takes_the_three_classes_and_measure() {
    let m = model("fc_float_io.tflite");
    let m = m.to_str().unwrap();
    for v in ["measure", "x86-desktop", "rpi4", "coral-dev-board"] {
        let (ok, _, err) = tpupipe(&["plan", m, "--tpus", "1", "--host-cost", v]);
        assert!(ok, "--host-cost {v}: {err}");
    }
    let (ok, _, err) = tpupipe(&["plan", m, "--tpus", "1", "--host-cost", "pdp11"]);
    assert!(!ok);
    assert!(err.contains("--host-cost"), "{err}");
}
