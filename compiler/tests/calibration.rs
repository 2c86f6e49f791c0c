//! Checks the Edge TPU cost model against the single-TPU measurements in
//! `../shared/calibration` (beside the repository checkout). Skips with a message where that
//! directory is absent (a fresh clone); CI has it.
//!
//! Per family (FC sweep, conv sweep): median absolute relative error of the predicted
//! single-TPU latency < 15%, and predicted on-chip / off-chip parameter bytes within 5% of what
//! `edgetpu_compiler` reported.
//!
//! Also checks that real CNNs come out plausible against Coral's published single-TPU figures
//! (USB Accelerator, max clock): ResNet-50, Inception V3, ResNet-152 V2, VGG16 and MobileNet v2
//! within 25%, from the compact layer tables in `tests/data/` (no model files needed).

use std::path::PathBuf;
use tpupipe_compiler::cost::synthetic::SyntheticModel;
use tpupipe_compiler::cost::{CostModel, CostSource, Layer, SegmentEstimate};

const MIB: f64 = 1024.0 * 1024.0;

struct Row {
    knob: u64,
    macs: u64,
    on_mib: f64,
    off_mib: f64,
    ms: f64,
}

/// `../shared/calibration` (or `$TPUPIPE_SHARED/calibration`), or `None` with a printed skip on
/// a fresh clone without the shared material.
fn shared_dir() -> Option<PathBuf> {
    tpupipe_testkit::paths::shared("calibration")
}

fn read_csv(dir: &std::path::Path, name: &str) -> Vec<Row> {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let rows: Vec<Row> = text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').map(str::trim).collect();
            assert_eq!(f.len(), 5, "{}: bad line {l:?}", path.display());
            let num = |i: usize| -> f64 {
                f[i].parse()
                    .unwrap_or_else(|e| panic!("{}: {l:?}: {e}", path.display()))
            };
            Row {
                knob: num(0) as u64,
                macs: num(1) as u64,
                on_mib: num(2),
                off_mib: num(3),
                ms: num(4),
            }
        })
        .collect();
    assert!(
        rows.len() > 10,
        "{}: only {} rows",
        path.display(),
        rows.len()
    );
    rows
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Checks one family; returns (median latency error, max byte error).
fn check_family(
    name: &str,
    rows: &[Row],
    build: impl Fn(u64) -> SyntheticModel,
    mac_kind: tpupipe_compiler::cost::LayerKind,
) -> (f64, f64) {
    let model = CostModel::default();
    let mut lat_err = Vec::new();
    let mut byte_err: f64 = 0.0;
    println!("{name}: knob  MACs  on(MiB) meas/pred  off(MiB) meas/pred  ms meas/pred  err");
    for r in rows {
        let m = build(r.knob);
        let macs: u64 = m
            .layers
            .iter()
            .filter(|l| l.kind == mac_kind)
            .map(|l| l.macs)
            .sum();
        assert_eq!(
            macs, r.macs,
            "{name} {}: the synthetic model's MACs differ from the CSV",
            r.knob
        );
        let (bytes_in, bytes_out) = m.io_bytes(0..m.len());
        let est = model.segment(&m.layers, bytes_in, bytes_out);
        let (on, off) = (
            est.on_chip_bytes as f64 / MIB,
            est.off_chip_bytes as f64 / MIB,
        );
        let e = (est.total_ms - r.ms).abs() / r.ms;
        lat_err.push(e);
        let on_err = (on - r.on_mib).abs() / r.on_mib;
        let off_err = if r.off_mib > 0.0 {
            (off - r.off_mib).abs() / r.off_mib
        } else if off > 0.0 {
            1.0
        } else {
            0.0
        };
        byte_err = byte_err.max(on_err).max(off_err);
        println!(
            "{name}: {:5} {:12} {:6.2}/{:6.2} {:6.2}/{:6.2} {:8.2}/{:8.2} {:5.1}%",
            r.knob,
            r.macs,
            r.on_mib,
            on,
            r.off_mib,
            off,
            r.ms,
            est.total_ms,
            100.0 * e
        );
        assert!(
            on_err <= 0.05 && off_err <= 0.05,
            "{name} {}: on/off-chip bytes predicted {on:.3}/{off:.3} MiB, compiler reported {:.3}/{:.3}",
            r.knob,
            r.on_mib,
            r.off_mib
        );
    }
    let max = lat_err.iter().copied().fold(0.0, f64::max);
    let med = median(lat_err);
    println!(
        "{name}: median |latency error| {:.1}%, max {:.1}%, max on/off-chip byte error {:.1}%",
        100.0 * med,
        100.0 * max,
        100.0 * byte_err
    );
    (med, byte_err)
}

#[test]
fn cost_model_matches_the_single_tpu_sweeps() {
    let Some(dir) = shared_dir() else { return };
    use tpupipe_compiler::cost::LayerKind;
    let fc = read_csv(&dir, "fc_L4_1tpu.csv");
    let conv = read_csv(&dir, "conv_L5_1tpu.csv");
    let (fc_med, _) = check_family(
        "fc",
        &fc,
        SyntheticModel::fc_family,
        LayerKind::FullyConnected,
    );
    let (conv_med, _) = check_family("conv", &conv, SyntheticModel::conv_family, LayerKind::Conv);
    assert!(
        fc_med < 0.15,
        "FC median latency error {:.1}% >= 15%",
        100.0 * fc_med
    );
    assert!(
        conv_med < 0.15,
        "conv median latency error {:.1}% >= 15%",
        100.0 * conv_med
    );
}

/// Reads a layer table from `tests/data/` (format in its header) and predicts the whole model on
/// one USB 3 TPU at the max clock.
fn predict_table(name: &str) -> SegmentEstimate {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut layers = Vec::new();
    let mut io = None;
    let mut total = None;
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let mut f = line.split_whitespace();
        let tag = f.next().unwrap_or_default();
        let n: Vec<u64> = f
            .map(|x| {
                x.parse()
                    .unwrap_or_else(|e| panic!("{name}: {line:?}: {e}"))
            })
            .collect();
        match (tag, n.as_slice()) {
            ("io", &[i, o]) => io = Some((i, o)),
            ("total", &[count, params]) => total = Some((count, params)),
            ("conv", &[pos, k, i, o, p]) => layers.push(Layer::conv2d(pos, k, i, o, p)),
            ("dw", &[pos, k, c, p]) => layers.push(Layer::depthwise(pos, k, c, p)),
            ("fc", &[i, o, b, p]) => layers.push(Layer::fully_connected(i, o, b, p)),
            ("elem", &[e, p]) => layers.push(Layer::elementwise(e, p)),
            ("other", &[p]) => layers.push(Layer::other(p)),
            _ => panic!("{name}: bad line {line:?}"),
        }
    }
    let (count, params) = total.unwrap_or_else(|| panic!("{name}: no total line"));
    let sum: u64 = layers.iter().map(|l| l.param_bytes.bytes()).sum();
    assert_eq!(
        (layers.len() as u64, sum),
        (count, params),
        "{name}: truncated?"
    );
    let (bytes_in, bytes_out) = io.unwrap_or_else(|| panic!("{name}: no io line"));
    CostModel::default().segment(&layers, bytes_in, bytes_out)
}

#[test]
fn real_cnns_are_plausible_against_corals_benchmarks() {
    // Coral's published latencies (desktop CPU + USB Accelerator), ms. The Keras models differ
    // a little from Coral's (ResNet-50 V1 from TF slim, ...), hence the 25% tolerance.
    let cases = [
        ("resnet50_layers.txt", "ResNet-50", 49.0),
        ("inception_v3_layers.txt", "Inception V3", 42.8),
        ("resnet152v2_layers.txt", "ResNet-152 V2", 128.0),
        ("vgg16_layers.txt", "VGG16", 296.0),
        ("mobilenet_v2_layers.txt", "MobileNet v2", 2.6),
    ];
    let mut failures = Vec::new();
    for (file, name, coral_ms) in cases {
        let e = predict_table(file);
        let err = (e.total_ms - coral_ms) / coral_ms;
        println!(
            "{name}: predicted {:.2} ms (compute {:.2}, streaming {:.2}, {:.2} MiB off chip), \
             Coral {coral_ms} ms, {:+.1}%",
            e.total_ms,
            e.compute_ms,
            e.stream_ms,
            e.off_chip_bytes as f64 / MIB,
            100.0 * err
        );
        if err.abs() > 0.25 {
            failures.push(format!("{name}: {:.2} ms vs {coral_ms} ms", e.total_ms));
        }
    }
    assert!(failures.is_empty(), "off by more than 25%: {failures:?}");
}
