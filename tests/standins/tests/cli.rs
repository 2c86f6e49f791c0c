//! The stand-in `edgetpu_compiler` as a command: version and help, flag errors, where files go,
//! the exact stdout line order, segments, co-compilation, intermediate tensors, multiple
//! subgraphs, the delegate search, older versions and input-triggered failures.

mod common;

use common::{run, run_in, stderr, stdout};
use std::path::{Path, PathBuf};
use tpupipe_compiler::graph::Graph;
use tpupipe_runtime::{ModelView, OpKind};
use tpupipe_standins::{options, package};

fn fixture(name: &str) -> PathBuf {
    common::workspace().join("tests/models").join(name)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Replaces the figures of a stdout so lines can be compared with the facts' templates.
fn masked(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| match l.split_once(": ") {
            Some((k, _)) if !k.starts_with("Edge") => format!("{k}: *"),
            _ if l.starts_with("Model compiled successfully in ") => "Model compiled *".into(),
            _ => l.to_string(),
        })
        .collect()
}

#[test]
fn version_is_the_last_token_and_help_lists_the_flags() {
    let o = run(&["--version"], &[]);
    assert!(o.status.success());
    assert_eq!(stdout(&o), "Edge TPU Compiler version 16.0.384591198\n");
    let o = run(&["-v"], &[("TPUPIPE_STANDIN_VERSION", "15.0.340273435")]);
    assert_eq!(stdout(&o).split_whitespace().last(), Some("15.0.340273435"));

    let o = run(&["--help"], &[]);
    assert!(o.status.success());
    let help = stdout(&o);
    assert!(help.contains(
        "-a, --enable_multiple_subgraphs\n       Enable multiple(all) subgraphs (experimental flag).\n"
    ));
    for flag in [
        "--out_dir",
        "--show_operations",
        "--min_runtime_version",
        "--num_segments",
        "--timeout_sec",
        "--search_delegate",
        "--delegate_search_step",
        "--intermediate_tensors",
        "--version",
    ] {
        assert!(help.contains(flag), "{flag} in help");
    }
    // 2.0 has no segments or timeout flags.
    let old = stdout(&run(
        &["-h"],
        &[("TPUPIPE_STANDIN_VERSION", "2.0.291256449")],
    ));
    assert!(!old.contains("--num_segments") && !old.contains("--timeout_sec"));
}

#[test]
fn flag_errors_exit_1_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let model = fixture("conv_small.tflite");
    for args in [
        vec!["--bogus", s(&model)],
        vec!["-o", s(dir.path()), "-k"],
        vec!["-o", s(dir.path()), "-n", "two", s(&model)],
        vec!["-o", s(dir.path())],
    ] {
        let o = run(&args, &[]);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&o).starts_with("ERROR: "),
            "{args:?}: {}",
            stderr(&o)
        );
        assert_eq!(stdout(&o), "Edge TPU Compiler version 16.0.384591198\n");
    }
    let o = run(
        &["--timeout_sec=10", s(&model)],
        &[("TPUPIPE_STANDIN_VERSION", "15.0.340273435")],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--timeout_sec"), "{}", stderr(&o));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn stdout_follows_the_v16_template_and_files_go_to_the_cwd() {
    let dir = tempfile::tempdir().unwrap();
    let model = fixture("conv_small.tflite");
    let o = run_in(dir.path(), &[s(&model)], &[]);
    assert!(o.status.success());
    let expected = [
        "Edge TPU Compiler version 16.0.384591198",
        "Started a compilation timeout timer of 180 seconds.",
        "",
        "Model compiled *",
        "",
        "Input model: *",
        "Input size: *",
        "Output model: *",
        "Output size: *",
        "On-chip memory used for caching model parameters: *",
        "On-chip memory remaining for caching model parameters: *",
        "Off-chip memory used for streaming uncached model parameters: *",
        "Number of Edge TPU subgraphs: *",
        "Total number of operations: *",
        "Operation log: *",
        "See the operation log file for individual operation details.",
        "Compilation child process completed within timeout period.",
        "Compilation succeeded! ",
    ];
    assert_eq!(masked(&stdout(&o)), expected);
    let out = stdout(&o);
    assert!(out.contains(&format!("Input model: {}\n", s(&model))));
    assert!(out.contains("Output model: conv_small_edgetpu.tflite\n"));
    assert!(out.contains("Operation log: conv_small_edgetpu.log\n"));
    assert!(dir.path().join("conv_small_edgetpu.tflite").is_file());
    let log = std::fs::read_to_string(dir.path().join("conv_small_edgetpu.log")).unwrap();
    assert!(log.starts_with(&format!(
        "Edge TPU Compiler version 16.0.384591198\nInput: {}\nOutput: conv_small_edgetpu.tflite\n\nOperator                       Count      Status\n\n",
        s(&model)
    )));
    assert!(log.lines().all(|l| l == l.trim_end()), "no trailing spaces");

    // v15: no timer, no child-process lines; the same block.
    let o = run_in(
        dir.path(),
        &[s(&model)],
        &[("TPUPIPE_STANDIN_VERSION", "15.0.340273435")],
    );
    let lines = masked(&stdout(&o));
    assert_eq!(lines[1..4], ["", "Model compiled *", ""]);
    assert_eq!(
        lines.last().unwrap(),
        "See the operation log file for individual operation details."
    );
    // v2.0: the available line before the used one, no remaining line.
    let o = run_in(
        dir.path(),
        &[s(&model)],
        &[("TPUPIPE_STANDIN_VERSION", "2.0.291256449")],
    );
    let lines = masked(&stdout(&o));
    let avail = lines
        .iter()
        .position(|l| l.starts_with("On-chip memory available"))
        .unwrap();
    assert!(lines[avail + 1].starts_with("On-chip memory used"));
    assert!(!lines.iter().any(|l| l.contains("remaining")));
}

#[test]
fn a_missing_out_dir_fails_after_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let o = run(&["-o", s(&missing), s(&fixture("conv_small.tflite"))], &[]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("Total number of operations: 9"), "{out}");
    assert!(out.contains(&format!("Error opening file for writing: {}", s(&missing))));
    assert!(out
        .trim_end()
        .ends_with("Internal compiler error. Aborting!"));
    assert!(!missing.exists(), "the compiler does not create --out_dir");
}

#[test]
fn num_segments_writes_the_segment_files() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(
        &[
            "--num_segments=2",
            "-o",
            s(dir.path()),
            s(&fixture("conv_residual.tflite")),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stdout(&o));
    for i in 0..2 {
        for suffix in [".tflite", "_edgetpu.tflite", "_edgetpu.log"] {
            let f = dir
                .path()
                .join(format!("conv_residual_segment_{i}_of_2{suffix}"));
            assert!(f.is_file(), "{}", f.display());
        }
    }
    let out = stdout(&o);
    assert!(out.contains("Input model: conv_residual_segment_1_of_2.tflite\n"));
    assert_eq!(
        out.matches("Started a compilation timeout timer").count(),
        2
    );
    assert_eq!(out.matches("Compilation succeeded!").count(), 2);
    assert_eq!(out.matches("Edge TPU Compiler version").count(), 1);
}

#[test]
fn co_compiled_models_share_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(
        &[
            "-o",
            s(dir.path()),
            s(&fixture("fc_tanh.tflite")),
            s(&fixture("conv_small.tflite")),
        ],
        &[],
    );
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(out.contains("Models compiled successfully in "));
    let remaining: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("On-chip memory remaining"))
        .collect();
    assert_eq!(remaining.len(), 2);
    assert_eq!(remaining[0], remaining[1], "one shared remaining value");
}

/// The custom ops of a compiled model with their output names.
fn custom_outputs(bytes: &[u8]) -> Vec<Vec<String>> {
    let m = ModelView::parse(bytes).unwrap();
    let sg = m.main_subgraph();
    sg.operators()
        .filter(|op| matches!(op.kind(), OpKind::Custom("edgetpu-custom-op")))
        .map(|op| {
            op.outputs()
                .into_iter()
                .map(|t| sg.tensor(t).name().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn intermediate_tensors_end_the_edge_tpu_part() {
    let model = fixture("conv_small.tflite");
    let bytes = std::fs::read(&model).unwrap();
    let view = ModelView::parse(&bytes).unwrap();
    let graph = Graph::build(&view).unwrap();
    let cut = graph.tensor_name(graph.op(2).outputs[0]).to_string();
    let dir = tempfile::tempdir().unwrap();
    let o = run(&["-s", "-o", s(dir.path()), "-i", &cut, s(&model)], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("Number of operations that will run on Edge TPU: 3\n"),
        "{out}"
    );
    assert!(out.contains("More than one subgraph is not supported"));
    let compiled = std::fs::read(dir.path().join("conv_small_edgetpu.tflite")).unwrap();
    assert_eq!(custom_outputs(&compiled), vec![vec![cut.clone()]]);

    // With -a the rest becomes a second Edge TPU subgraph.
    let o = run(&["-a", "-o", s(dir.path()), "-i", &cut, s(&model)], &[]);
    assert!(stdout(&o).contains("Number of Edge TPU subgraphs: 2\n"));
    let compiled = std::fs::read(dir.path().join("conv_small_edgetpu.tflite")).unwrap();
    assert_eq!(custom_outputs(&compiled).len(), 2);

    // An unknown name fails in the compile child.
    let o = run(
        &["-o", s(dir.path()), "-i", "no_such_tensor", s(&model)],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("no_such_tensor"));
    assert!(stdout(&o).trim_end().ends_with("Compilation failed!"));
}

#[test]
fn nothing_mapped_prints_zero_memory_and_keeps_the_cpu_ops() {
    // The last segment of fc_float_io holds only the DEQUANTIZE to float.
    let bytes = std::fs::read(fixture("fc_float_io.tflite")).unwrap();
    let model = ModelView::parse(&bytes).unwrap();
    let graph = Graph::build(&model).unwrap();
    let cuts = tpupipe_compiler::planner::Cuts::new(vec![graph.len() - 1], graph.len()).unwrap();
    let split =
        tpupipe_compiler::split::Split::new(model, &graph, cuts, "fc_float_io.tflite").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("last.tflite");
    std::fs::write(&input, split.write_segment(1).unwrap().as_bytes()).unwrap();
    let o = run(&["-o", s(dir.path()), s(&input)], &[]);
    assert!(o.status.success());
    let out = stdout(&o);
    for line in [
        "On-chip memory used for caching model parameters: 0.00B",
        "On-chip memory remaining for caching model parameters: 0.00B",
        "Off-chip memory used for streaming uncached model parameters: 0.00B",
        "Number of Edge TPU subgraphs: 0",
        "Number of operations that will run on Edge TPU: 0",
        "Number of operations that will run on CPU: 1",
    ] {
        assert!(out.lines().any(|l| l == line), "{line:?} in\n{out}");
    }
    let compiled = std::fs::read(dir.path().join("last_edgetpu.tflite")).unwrap();
    let compiled = ModelView::parse(&compiled).unwrap();
    let kinds: Vec<String> = compiled
        .main_subgraph()
        .operators()
        .map(|op| op.kind().name())
        .collect();
    assert_eq!(kinds, ["DEQUANTIZE"]);
}

#[test]
fn an_unmappable_op_ends_the_single_edge_tpu_subgraph() {
    // FULLY_CONNECTED version 9 parses but does not map: fc_tanh's FC, TANH, FC, TANH, ... maps
    // only the first TANH; the later ones come after an unmappable op.
    let bytes = std::fs::read(fixture("fc_tanh.tflite")).unwrap();
    let bumped = common::modify(&bytes, |m| {
        for c in m.operator_codes.iter_mut().flatten() {
            if c.builtin_code == tpupipe_runtime::schema::BuiltinOperator::FULLY_CONNECTED {
                c.version = 9;
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("fc9.tflite");
    std::fs::write(&input, bumped).unwrap();
    let o = run(&["-s", "-o", s(dir.path()), s(&input)], &[]);
    assert!(o.status.success(), "{}", stdout(&o));
    let table: Vec<Vec<String>> = stdout(&o)
        .lines()
        .skip_while(|l| !l.starts_with("Operator "))
        .skip(2)
        .take_while(|l| !l.starts_with("Compilation"))
        .map(|l| {
            vec![
                l[..30].trim_end().to_string(),
                l[31..41].trim_end().to_string(),
                l[42..].to_string(),
            ]
        })
        .collect();
    assert_eq!(
        table,
        [
            ["FULLY_CONNECTED", "5", "Operation version not supported"],
            ["TANH", "1", "Mapped to Edge TPU"],
            ["TANH", "3", "More than one subgraph is not supported"],
        ]
    );
    let compiled = std::fs::read(dir.path().join("fc9_edgetpu.tflite")).unwrap();
    assert_eq!(custom_outputs(&compiled).len(), 1);
}

#[test]
fn min_runtime_version_lands_in_the_package() {
    let dir = tempfile::tempdir().unwrap();
    let model = fixture("conv_small.tflite");
    for (args, want) in [(vec!["-m", "13"], 13), (vec![], 14)] {
        let mut a = args.clone();
        a.extend(["-o", s(dir.path()), s(&model)]);
        assert!(run(&a, &[]).status.success());
        let bytes = std::fs::read(dir.path().join("conv_small_edgetpu.tflite")).unwrap();
        let m = ModelView::parse(&bytes).unwrap();
        let op = m.main_subgraph().operators().next().unwrap();
        let opts = op.raw().custom_options().unwrap().bytes();
        let pkg =
            package::read_package(options::bytes_of(opts, options::PACKAGE_KEY).unwrap()).unwrap();
        assert_eq!(pkg.min_runtime_version, want);
    }
    let o = run(&["-m", "15", s(&model)], &[]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "runtime 15 does not exist for v16"
    );
}

#[test]
fn the_delegate_search_prints_its_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(
        &[
            "-s",
            "-d",
            "-k",
            "4",
            "-o",
            s(dir.path()),
            s(&fixture("conv_small.tflite")),
        ],
        &[],
    );
    assert!(o.status.success());
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[1], "Searching for valid delegate with step 4");
    assert_eq!(lines[2], "Try to compile segment with 9 ops");
    assert_eq!(
        lines[3],
        "Started a compilation timeout timer of 180 seconds."
    );

    // With at most 4 mapped operators allowed, the search steps back 9 -> 6 -> 3 ops.
    let o = run(
        &[
            "-d",
            "-k",
            "3",
            "-o",
            s(dir.path()),
            s(&fixture("conv_small.tflite")),
        ],
        &[("TPUPIPE_STANDIN_MAX_MAPPED_OPS", "4")],
    );
    assert!(o.status.success(), "{}", stdout(&o));
    let out = stdout(&o);
    let tries: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("Try to compile"))
        .collect();
    assert_eq!(
        tries,
        [
            "Try to compile segment with 9 ops",
            "Try to compile segment with 6 ops",
            "Try to compile segment with 3 ops"
        ]
    );
    assert_eq!(out.matches("Intermediate tensors: ").count(), 2);
    assert_eq!(out.matches("Compilation failed! ").count(), 2);
    assert!(
        out.contains("Number of operations that will run on Edge TPU: 3\n"),
        "{out}"
    );
    assert!(out.trim_end().ends_with("Compilation succeeded!"));

    // An injected large-activation failure ends the run: no output, status 1.
    let o = run(
        &["-d", "-o", s(dir.path()), s(&fixture("zero_bias.tflite"))],
        &[("TPUPIPE_STANDIN_FAIL", "large-activations")],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("Compilation failed due to large activation tensors in model."));
    assert!(!dir.path().join("zero_bias_edgetpu.tflite").exists());
}

#[test]
fn inputs_that_are_not_quantized_or_not_models_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.tflite");
    std::fs::write(&junk, b"not a flatbuffer").unwrap();
    let o = run(&["-o", s(dir.path()), s(&junk)], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).ends_with(&format!(
        "Invalid model: {}\nModel could not be parsed\n",
        s(&junk)
    )));
    let o = run(
        &["-o", s(dir.path()), s(&dir.path().join("absent.tflite"))],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("absent.tflite"));
}

#[test]
fn the_crash_looks_like_the_wrapper_scripts() {
    let o = run(
        &[s(&fixture("conv_small.tflite"))],
        &[("TPUPIPE_STANDIN_FAIL", "crash")],
    );
    assert_eq!(o.status.code(), Some(139));
    assert!(stderr(&o).contains("line 3:") && stderr(&o).contains("Segmentation fault"));
    let o = run(
        &[s(&fixture("conv_small.tflite"))],
        &[("TPUPIPE_STANDIN_FAIL", "no-such-mode")],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("internal-once"), "{}", stderr(&o));
}
