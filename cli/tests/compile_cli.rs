//! `tpupipe compile` and `tpupipe cache` end to end. The parts that run a compiler use the
//! stand-in `edgetpu_compiler` next to the `tpupipe` binary (built with the workspace, crate
//! `tpupipe-standins`) and are skipped with a message when it has not been built.

use std::path::{Path, PathBuf};
use tpupipe_testkit::cli::Tpupipe;

fn tpupipe(dir: &Path) -> Tpupipe {
    tpupipe_testkit::tpupipe!().in_dir(dir)
}

fn model(name: &str) -> String {
    tpupipe_testkit::paths::repo_root()
        .join("tests/models")
        .join(name)
        .display()
        .to_string()
}

/// The stand-in compiler, when built into the same target directory.
fn standin() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_BIN_EXE_tpupipe")).with_file_name("edgetpu_compiler");
    if p.is_file() {
        Some(p)
    } else {
        println!(
            "skipped: no stand-in at {} (cargo build -p tpupipe-standins)",
            p.display()
        );
        None
    }
}

#[test]
fn an_offline_compile_with_a_cold_cache_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let line = tpupipe(dir.path()).fails(&[
        "compile",
        &model("conv_small.tflite"),
        "--tpus",
        "1",
        "--out",
        "out",
        "--offline",
    ]);
    assert!(
        line.contains("tpupipe compile") && line.contains("commit .tpupipe"),
        "{line}"
    );
}

#[test]
fn compile_twice_then_inspect_list_verify_and_prune_the_cache() {
    let Some(compiler) = standin() else { return };
    let dir = tempfile::tempdir().unwrap();
    let t = tpupipe(dir.path());
    let args = [
        "compile",
        &model("conv_residual.tflite"),
        "--tpus",
        "2",
        "--out",
        "out",
    ];
    let run = |extra: &[&str]| {
        let all: Vec<&str> = args.iter().copied().chain(extra.iter().copied()).collect();
        let out = t
            .command(&all)
            .env("TPUPIPE_EDGETPU_COMPILER", &compiler)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let first = run(&[]);
    assert!(
        first.contains("2 compile(s) with edgetpu_compiler"),
        "{first}"
    );
    assert!(
        first.contains("conv_residual_segment_1_of_2_edgetpu.tflite"),
        "{first}"
    );
    let plan = dir.path().join("out/conv_residual_plan.json");
    assert!(plan.is_file());
    let second: serde_json::Value = serde_json::from_str(&run(&["--json"])).unwrap();
    assert_eq!(second["from_cache"], true);
    assert_eq!(second["compiles"], 0);
    assert_eq!(second["reports"].as_array().unwrap().len(), 2);
    assert_eq!(
        second["plan"]["segments"][0]["edgetpu_file"],
        "conv_residual_segment_0_of_2_edgetpu.tflite"
    );
    assert!(dir.path().join(".tpupipe/.gitignore").is_file());

    // inspect on a compiled segment.
    let text = t.ok(&["inspect", "out/conv_residual_segment_0_of_2_edgetpu.tflite"]);
    assert!(text.contains("min runtime version 14"), "{text}");
    assert!(text.contains("operators on the CPU: none"), "{text}");

    // ls and verify, then a damaged file.
    let ls = t.ok(&["cache", "ls"]);
    assert_eq!(ls.lines().count(), 1, "{ls}");
    assert!(ls.contains("conv_residual.tflite"), "{ls}");
    assert!(t.ok(&["cache", "verify"]).contains("1 entries"));
    let key = ls.split_whitespace().next().unwrap();
    let entry = std::fs::read_dir(dir.path().join(".tpupipe"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir() && p.file_name().unwrap().to_string_lossy().starts_with(key))
        .unwrap();
    let victim = entry.join("conv_residual_plan.json");
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes[10] ^= 0x20;
    std::fs::write(&victim, bytes).unwrap();
    let r = t.run(&["cache", "verify"]);
    assert!(!r.ok);
    assert!(r.stdout.contains("DAMAGED"), "{}", r.stdout);
    assert!(r.stderr.contains("damaged cache entry"), "{}", r.stderr);
    let pruned = t.ok(&["cache", "prune"]);
    assert!(pruned.contains("1 removed"), "{pruned}");
    assert_eq!(t.ok(&["cache", "ls"]), "");
}

#[test]
fn measure_without_an_edge_tpu_fails_before_compiling_or_warns_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let t = tpupipe(dir.path());
    // A measuring option without --measure is refused.
    let r = t.run(&[
        "compile",
        &model("fc_tanh.tflite"),
        "--tpus",
        "2",
        "--out",
        "out",
        "--measure-repeats",
        "3",
    ]);
    assert!(!r.ok && r.stderr.contains("--measure"), "{}", r.stderr);
    let Some(compiler) = standin() else { return };
    let compiler = compiler.to_string_lossy().into_owned();
    let missing = dir.path().join("no-libedgetpu.so.1");
    let missing = missing.to_string_lossy().into_owned();
    let env = [
        ("TPUPIPE_EDGETPU_LIB", missing.as_str()),
        ("TPUPIPE_EDGETPU_COMPILER", compiler.as_str()),
    ];
    let args = [
        "compile",
        &model("fc_tanh.tflite"),
        "--tpus",
        "2",
        "--out",
        "out",
        "--measure",
    ];
    let r = t.run_with_env(&args, &env);
    assert!(!r.ok);
    assert!(
        r.stderr
            .contains("measured planning (--measure) needs an attached Edge TPU")
            && r.stderr.contains("--measure-skip-without-device"),
        "{}",
        r.stderr
    );
    assert!(!dir.path().join("out/fc_tanh_plan.json").exists());
    let mut all: Vec<&str> = args.to_vec();
    all.push("--measure-skip-without-device");
    let r = t.run_with_env(&all, &env);
    assert!(r.ok, "{}", r.stderr);
    assert!(
        r.stdout.contains("warning: measured planning skipped"),
        "{}",
        r.stdout
    );
    assert!(dir.path().join("out/fc_tanh_plan.json").is_file());
}
