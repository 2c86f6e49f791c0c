//! Split benchmark: ResNet-50 int8 into 4 segments, against copying the same file once.
//!
//! Run with `TPUPIPE_RESNET50=/path/resnet50.tflite cargo bench -p tpupipe-compiler --bench split`.
//! Make the model with
//! `python tests/fixtures/make_fixtures.py --resnet50 /tmp/resnet50.tflite`
//! (needs tests/fixtures/requirements-fixtures.txt). Prints, best of 5 each:
//!
//! - copy: read the file into memory and write it to a new file;
//! - split: everything `tpupipe split --tpus 4` does (map + verify, graph, equal-parameter cuts,
//!   write the 4 segments and the plan, including the model's SHA-256);
//! - their ratio (the target is at most 3x), and the peak resident memory during the splits
//!   (`VmHWM`, reset through `/proc/self/clear_refs` when the kernel allows) relative to the model
//!   size (the target is under 2x).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tpupipe_compiler::graph::Graph;
use tpupipe_compiler::model_file::sha256_hex;
use tpupipe_compiler::model_file::ModelFile;
use tpupipe_compiler::planner::{params::params_cuts, Cuts};
use tpupipe_compiler::split::Split;
use tpupipe_compiler::Builder;
use tpupipe_compiler::Strategy;

const RUNS: usize = 5;
const SEGMENTS: usize = 4;

fn best_of(mut f: impl FnMut()) -> Duration {
    (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .expect("at least one run")
}

/// A `VmHWM`/`VmRSS` figure from /proc/self/status, in bytes.
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| {
        let rest = l.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim()
            .trim_end_matches("kB")
            .trim()
            .parse::<u64>()
            .ok()
            .map(|k| k * 1024)
    })
}

/// Resets the peak-RSS counter (Linux >= 4.0); false when not allowed.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Times the steps of one split separately (best of [`RUNS`] each), for finding where time goes.
fn breakdown(model: &Path, out_dir: &Path) -> Result<Vec<(&'static str, Duration)>, String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let mut steps = Vec::new();
    steps.push((
        "open + verify",
        best_of(|| drop(ModelFile::open(model).expect("open"))),
    ));
    let file = ModelFile::open(model).map_err(|x| e(&x))?;
    let view = file.view().map_err(|x| e(&x))?;
    steps.push((
        "graph",
        best_of(|| drop(Graph::build(&view).expect("graph"))),
    ));
    let graph = Graph::build(&view).map_err(|x| e(&x))?;
    let cuts = Cuts::new(
        params_cuts(&graph, SEGMENTS).map_err(|x| e(&x))?,
        graph.len(),
    )
    .map_err(|x| e(&x))?;
    let split = Split::new(view, &graph, cuts, "model.tflite").map_err(|x| e(&x))?;
    steps.push((
        "build segments in memory",
        best_of(|| {
            for i in 0..SEGMENTS {
                drop(split.write_segment(i).expect("segment"));
            }
        }),
    ));
    let segments: Vec<_> = (0..SEGMENTS)
        .map(|i| split.write_segment(i).expect("segment"))
        .collect();
    std::fs::create_dir_all(out_dir).map_err(|x| e(&x))?;
    steps.push((
        "write segment files",
        best_of(|| {
            for (i, s) in segments.iter().enumerate() {
                std::fs::write(out_dir.join(format!("s{i}.tflite")), s.as_bytes()).expect("write");
            }
        }),
    ));
    steps.push((
        "sha256 of the model",
        best_of(|| drop(sha256_hex(file.bytes()))),
    ));
    steps.push((
        "plan",
        best_of(|| drop(split.plan(Strategy::Params, "", "m", &[]).to_json())),
    ));
    Ok(steps)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn run(model: &Path) -> Result<(), String> {
    let size = std::fs::metadata(model)
        .map_err(|e| format!("{}: {e}", model.display()))?
        .len();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let out_dir: PathBuf = dir.path().join("segments");

    // Warm the page cache so both measurements read from memory.
    std::fs::read(model).map_err(|e| e.to_string())?;

    let rss_before = status_kib("VmRSS").unwrap_or(0);
    let reset = reset_peak_rss();
    let mut failure = None;
    let split_time = best_of(|| {
        let result = Builder::new(model)
            .tpus(SEGMENTS)
            .strategy(Strategy::Params)
            .out_dir(&out_dir)
            .split()
            .map_err(|e| e.to_string());
        if let Err(e) = result {
            failure = Some(e);
        }
    });
    if let Some(e) = failure {
        return Err(format!("split failed: {e}"));
    }
    let peak = status_kib("VmHWM").unwrap_or(0);

    let copy_path = dir.path().join("copy.tflite");
    let copy_time = best_of(|| {
        let bytes = std::fs::read(model).expect("read model");
        std::fs::write(&copy_path, &bytes).expect("write copy");
    });

    let written: u64 = std::fs::read_dir(&out_dir)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    let ratio = split_time.as_secs_f64() / copy_time.as_secs_f64();
    println!("model: {} ({:.2} MiB)", model.display(), mib(size));
    println!(
        "copy  (read + write {:.2} MiB), best of {RUNS}: {:8.2} ms",
        mib(size),
        copy_time.as_secs_f64() * 1e3
    );
    println!(
        "split (into {SEGMENTS}, {:.2} MiB written), best of {RUNS}: {:8.2} ms",
        mib(written),
        split_time.as_secs_f64() * 1e3
    );
    println!("ratio split / copy: {ratio:.2} (target <= 3)");
    if reset {
        println!(
            "peak RSS during the splits: {:.2} MiB = {:.2} x model size (target < 2); RSS before: {:.2} MiB",
            mib(peak),
            peak as f64 / size as f64,
            mib(rss_before)
        );
    } else {
        println!(
            "peak RSS of the process (could not reset it before the splits): {:.2} MiB = {:.2} x model size (target < 2)",
            mib(peak),
            peak as f64 / size as f64
        );
    }
    println!("steps (best of {RUNS} each):");
    for (name, t) in breakdown(model, &dir.path().join("steps"))? {
        println!("  {name:<26} {:8.2} ms", t.as_secs_f64() * 1e3);
    }
    Ok(())
}

fn main() {
    // `cargo bench` passes `--bench`; a model path may also be given as the first other argument.
    let arg = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let model = arg.or_else(|| std::env::var("TPUPIPE_RESNET50").ok());
    let Some(model) = model else {
        println!("split benchmark skipped: set TPUPIPE_RESNET50 to a ResNet-50 int8 .tflite.");
        println!(
            "Make one with: python tests/fixtures/make_fixtures.py --resnet50 /tmp/resnet50.tflite"
        );
        println!("then: TPUPIPE_RESNET50=/tmp/resnet50.tflite cargo bench -p tpupipe-compiler --bench split");
        return;
    };
    if let Err(e) = run(Path::new(&model)) {
        eprintln!("split benchmark: error: {e}");
        std::process::exit(1);
    }
}
