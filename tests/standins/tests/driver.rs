//! The driver (`tpupipe_compiler::edgetpu`) against the stand-in `edgetpu_compiler`: every
//! fixture model compiles and the parsed report matches the compiler's stdout; segments compile
//! in parallel; every failure mode gives its own error naming the segment; the retry makes
//! "internal error once" pass; nothing panics or hangs; the temporary directories are removed.
//! When a real `edgetpu_compiler` is on PATH, the tests that need no injected fault run against
//! it too.

mod common;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tpupipe_compiler::edgetpu::report::{self, format_size};
use tpupipe_compiler::edgetpu::{
    CompileOptions, CompiledSegment, Compiler, DriverError, OpStatus, SegmentJob, TimeoutBy,
    COMPILER_ENV,
};
use tpupipe_compiler::graph::Graph;
use tpupipe_compiler::planner::{params::params_cuts, Cuts};
use tpupipe_compiler::split::Split;
use tpupipe_runtime::schema;
use tpupipe_runtime::ModelView;

fn standin() -> Compiler {
    Compiler::at(common::standin()).expect("the stand-in reports its version")
}

/// The stand-in, plus a real compiler when one is on PATH.
fn compilers() -> Vec<Compiler> {
    let mut v = vec![standin()];
    if let Ok(real) = which::which("edgetpu_compiler") {
        let same = real.canonicalize().ok() == common::standin().canonicalize().ok();
        if !same {
            match Compiler::at(&real) {
                Ok(c) => v.push(c),
                Err(e) => eprintln!("a real edgetpu_compiler is on PATH but unusable: {e}"),
            }
        }
    }
    v
}

fn job(index: usize, stem: &str, model: Vec<u8>) -> SegmentJob {
    SegmentJob {
        index,
        stem: stem.to_string(),
        model,
    }
}

fn fixture(name: &str) -> PathBuf {
    common::workspace().join("tests/models").join(name)
}

fn whole(path: &Path) -> SegmentJob {
    let stem = path.file_stem().unwrap().to_str().unwrap();
    job(0, stem, std::fs::read(path).unwrap())
}

/// The model at `path` split into `n` segments of about equal parameter bytes.
fn split_jobs(path: &Path, n: usize) -> Vec<SegmentJob> {
    let bytes = std::fs::read(path).unwrap();
    let model = ModelView::parse(&bytes).unwrap();
    let graph = Graph::build(&model).unwrap();
    let cuts = Cuts::new(params_cuts(&graph, n).unwrap(), graph.len()).unwrap();
    let name = path.file_name().unwrap().to_str().unwrap();
    let split = Split::new(model, &graph, cuts, name).unwrap();
    let stem = path.file_stem().unwrap().to_str().unwrap();
    (0..n)
        .map(|i| {
            job(
                i,
                &format!("{stem}_segment_{i}_of_{n}"),
                split.write_segment(i).unwrap().into_vec(),
            )
        })
        .collect()
}

fn options(root: &Path, env: &[(&str, &str)]) -> CompileOptions {
    CompileOptions {
        temp_root: Some(root.to_path_buf()),
        env: env
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect(),
        ..CompileOptions::default()
    }
}

fn assert_cleaned_up(root: &Path) {
    let left: Vec<_> = std::fs::read_dir(root).unwrap().collect();
    assert!(left.is_empty(), "temporary directories left: {left:?}");
}

/// Compiles `jobs` with the stand-in and `env`; checks the temporary directories are gone.
fn compile_with(
    jobs: &[SegmentJob],
    env: &[(&str, &str)],
    tweak: impl FnOnce(&mut CompileOptions),
) -> Vec<Result<CompiledSegment, DriverError>> {
    let root = tempfile::tempdir().unwrap();
    let mut o = options(root.path(), env);
    tweak(&mut o);
    let r = standin().compile_segments(jobs, &o);
    assert_cleaned_up(root.path());
    r
}

/// The error for segment 1 of three conv_residual segments when only that one gets `mode`.
fn failure_of_segment_1(mode: &str) -> DriverError {
    let jobs = split_jobs(&fixture("conv_residual.tflite"), 3);
    let mut results = compile_with(
        &jobs,
        &[
            ("TPUPIPE_STANDIN_FAIL", mode),
            ("TPUPIPE_STANDIN_FAIL_ONLY", "segment_1_of_3"),
        ],
        |o| o.wall_timeout = Some(Duration::from_secs(20)),
    );
    assert!(
        results[0].is_ok(),
        "segment 0 is not affected: {:?}",
        results[0]
    );
    assert!(
        results[2].is_ok(),
        "segment 2 is not affected: {:?}",
        results[2]
    );
    let err = results.remove(1).expect_err("segment 1 fails");
    let msg = err.to_string();
    assert!(
        msg.starts_with("segment 1 (conv_residual_segment_1_of_3)"),
        "the error names the segment: {msg}"
    );
    err
}

/// A float32 model: one RELU.
fn float_model() -> Vec<u8> {
    let tensor = |name: &str| {
        let mut t = schema::TensorT::default();
        t.name = Some(name.to_string());
        t.shape = Some(vec![1, 8]);
        t.type_ = schema::TensorType::FLOAT32;
        t
    };
    let mut op = schema::OperatorT::default();
    op.inputs = Some(vec![0]);
    op.outputs = Some(vec![1]);
    let mut sg = schema::SubGraphT::default();
    sg.tensors = Some(vec![tensor("x"), tensor("y")]);
    sg.inputs = Some(vec![0]);
    sg.outputs = Some(vec![1]);
    sg.operators = Some(vec![op]);
    let mut code = schema::OperatorCodeT::default();
    code.deprecated_builtin_code = schema::BuiltinOperator::RELU.0 as i8;
    code.builtin_code = schema::BuiltinOperator::RELU;
    code.version = 1;
    let mut m = schema::ModelT::default();
    m.version = 3;
    m.operator_codes = Some(vec![code]);
    m.subgraphs = Some(vec![sg]);
    m.buffers = Some(vec![schema::BufferT::default()]);
    let mut fbb = flatbuffers::FlatBufferBuilder::new();
    let root = m.pack(&mut fbb);
    fbb.finish(root, Some(schema::MODEL_IDENTIFIER));
    fbb.finished_data().to_vec()
}

/// A wrapper script running the stand-in as another version; like the real bash wrapper, the
/// binary runs as the script's child, not in its place.
fn wrapper(dir: &Path, version: &str) -> PathBuf {
    let path = dir.join("edgetpu_compiler");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\nTPUPIPE_STANDIN_VERSION={version} '{}' \"$@\"\n",
            common::standin().display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path
}

#[test]
fn every_fixture_compiles_and_the_report_matches_stdout() {
    let models = common::fixture_models();
    assert!(models.len() >= 8, "the fixture models are there");
    for compiler in compilers() {
        let jobs: Vec<SegmentJob> = models
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut j = whole(p);
                j.index = i;
                j
            })
            .collect();
        let root = tempfile::tempdir().unwrap();
        let results = compiler.compile_segments(&jobs, &options(root.path(), &[]));
        assert_cleaned_up(root.path());
        for (job, r) in jobs.iter().zip(results) {
            let c = r
                .unwrap_or_else(|e| panic!("{} with {}: {e}", job.stem, compiler.path().display()));
            assert_eq!(c.index, job.index);
            let rep = &c.report;
            let stdout = &c.stdout;
            // Every figure is the one printed.
            let line = |prefix: &str, value: String| {
                let want = format!("{prefix}: {value}");
                assert!(
                    stdout.lines().any(|l| l == want),
                    "{}: no line {want:?} in\n{stdout}",
                    job.stem
                );
            };
            line(
                "On-chip memory used for caching model parameters",
                format_size(rep.on_chip),
            );
            line(
                "Off-chip memory used for streaming uncached model parameters",
                format_size(rep.off_chip),
            );
            if let Some(r) = rep.remaining {
                line(
                    "On-chip memory remaining for caching model parameters",
                    format_size(r),
                );
            }
            line(
                "Number of Edge TPU subgraphs",
                rep.edgetpu_subgraphs.to_string(),
            );
            line("Total number of operations", rep.total_ops.to_string());
            assert_eq!(rep.compiler_version, Some(compiler.version()));
            // The counts agree with the model and the operation log.
            let graph_ops = Graph::build(&ModelView::parse(&job.model).unwrap())
                .unwrap()
                .len();
            assert_eq!(rep.total_ops as usize, graph_ops, "{}", job.stem);
            assert_eq!(rep.ops_on_tpu + rep.ops_on_cpu, rep.total_ops);
            let logged: u32 = rep.operations.iter().map(|r| r.count).sum();
            assert_eq!(
                logged, rep.total_ops,
                "{}: log rows cover every op",
                job.stem
            );
            assert_eq!(report::parse_log(&c.log).unwrap().rows, rep.operations);
            assert!(ModelView::parse(&c.edgetpu_model)
                .unwrap()
                .is_edgetpu_compiled());
            if job.stem == "fc_float_io" {
                // Float QUANTIZE / DEQUANTIZE at the edges stay on the CPU.
                assert_eq!(rep.ops_on_cpu, 2);
                assert!(
                    rep.warnings.iter().any(|w| w.contains("on the CPU")),
                    "{:?}",
                    rep.warnings
                );
                assert!(rep.operations.iter().any(
                    |r| r.operator == "DEQUANTIZE" && r.status == OpStatus::UnsupportedDataType
                ));
            } else {
                assert_eq!(rep.ops_on_cpu, 0, "{}: {:?}", job.stem, rep.operations);
                assert!(rep.warnings.is_empty(), "{}: {:?}", job.stem, rep.warnings);
            }
        }
    }
}

#[test]
fn segments_compile_in_parallel_and_keep_their_order() {
    for compiler in compilers() {
        let jobs = split_jobs(&fixture("mobilenet_v2.tflite"), 4);
        let root = tempfile::tempdir().unwrap();
        let mut o = options(root.path(), &[]);
        o.parallel = Some(2);
        let results = compiler.compile_segments(&jobs, &o);
        assert_cleaned_up(root.path());
        assert_eq!(results.len(), 4);
        for (i, r) in results.into_iter().enumerate() {
            let c = r.unwrap();
            assert_eq!(c.index, i);
            assert_eq!(c.report.edgetpu_subgraphs, 1);
            assert!(c
                .stdout
                .contains(&format!("mobilenet_v2_segment_{i}_of_4_edgetpu.tflite")));
        }
    }
}

#[test]
fn a_segment_that_streams_parameters_warns() {
    // 3 x 2048 x 2048 int8 weights: about 12 MiB, more than the ~8 MiB cache.
    let model =
        tpupipe_compiler::synth::synth_fc(&tpupipe_compiler::synth::FcSpec::new(2048, 3)).unwrap();
    let c = compile_with(&[job(2, "fc2048", model)], &[], |_| {})
        .remove(0)
        .unwrap();
    assert!(c.report.off_chip.bytes() > 0, "{:?}", c.report);
    let streams: Vec<_> = c
        .report
        .warnings
        .iter()
        .filter(|w| w.starts_with("segment 2 streams "))
        .collect();
    assert_eq!(streams.len(), 1, "{:?}", c.report.warnings);
    assert!(streams[0].contains(&format!("{:.2} MiB from the host", c.report.off_chip.mib())));
}

#[test]
fn crash_of_the_wrapper_is_a_crash() {
    let e = failure_of_segment_1("crash");
    assert!(matches!(e, DriverError::Crashed { .. }), "{e:?}");
    assert!(e.to_string().contains("segmentation fault"), "{e}");
}

#[test]
fn a_signal_is_a_crash() {
    let e = failure_of_segment_1("signal");
    assert!(matches!(e, DriverError::Crashed { .. }), "{e:?}");
    assert!(e.to_string().contains("SIGSEGV"), "{e}");
}

#[test]
fn an_uncaught_exception_is_a_crash() {
    let e = failure_of_segment_1("exception");
    assert!(matches!(e, DriverError::Crashed { .. }), "{e:?}");
    assert!(e.to_string().contains("std::out_of_range"), "{e}");
}

#[test]
fn the_compilers_timeout_is_a_timeout() {
    let e = failure_of_segment_1("timeout");
    assert!(
        matches!(
            e,
            DriverError::Timeout {
                by: TimeoutBy::Compiler,
                seconds: 180,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn a_hanging_compiler_is_killed() {
    let jobs = [whole(&fixture("conv_small.tflite"))];
    let r = compile_with(&jobs, &[("TPUPIPE_STANDIN_FAIL", "hang")], |o| {
        o.wall_timeout = Some(Duration::from_secs(2))
    });
    let e = r.into_iter().next().unwrap().unwrap_err();
    assert!(
        matches!(
            e,
            DriverError::Timeout {
                by: TimeoutBy::Driver,
                seconds: 2,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("segment 0 (conv_small)"), "{e}");
}

#[test]
fn a_hanging_compiler_behind_a_wrapper_script_is_killed() {
    // The real compiler is a bash wrapper: the whole process group must die, or the pipes stay
    // open and the driver would wait forever.
    let dir = tempfile::tempdir().unwrap();
    let compiler = Compiler::at(wrapper(dir.path(), "16.0.384591198")).unwrap();
    let root = tempfile::tempdir().unwrap();
    let mut o = options(root.path(), &[("TPUPIPE_STANDIN_FAIL", "hang")]);
    o.wall_timeout = Some(Duration::from_secs(2));
    let e = compiler
        .compile_segments(&[whole(&fixture("conv_small.tflite"))], &o)
        .remove(0)
        .unwrap_err();
    assert!(
        matches!(
            e,
            DriverError::Timeout {
                by: TimeoutBy::Driver,
                ..
            }
        ),
        "{e:?}"
    );
    assert_cleaned_up(root.path());
}

#[test]
fn a_signal_behind_a_wrapper_script_is_a_crash() {
    // The shell reports the child's SIGSEGV as exit status 139, as bash does for the real one.
    let dir = tempfile::tempdir().unwrap();
    let compiler = Compiler::at(wrapper(dir.path(), "16.0.384591198")).unwrap();
    let root = tempfile::tempdir().unwrap();
    let o = options(root.path(), &[("TPUPIPE_STANDIN_FAIL", "signal")]);
    let e = compiler
        .compile_segments(&[whole(&fixture("conv_small.tflite"))], &o)
        .remove(0)
        .unwrap_err();
    assert!(matches!(e, DriverError::Crashed { .. }), "{e:?}");
    assert!(e.to_string().contains("segmentation fault"), "{e}");
    assert_cleaned_up(root.path());
}

#[test]
fn internal_errors_are_retried_once() {
    let e = failure_of_segment_1("internal");
    assert!(
        matches!(e, DriverError::InternalError { attempts: 2, .. }),
        "{e:?}"
    );

    let state = tempfile::tempdir().unwrap();
    let jobs = split_jobs(&fixture("conv_residual.tflite"), 2);
    let state_dir = state.path().to_str().unwrap();
    let r = compile_with(
        &jobs,
        &[
            ("TPUPIPE_STANDIN_FAIL", "internal-once"),
            ("TPUPIPE_STANDIN_STATE_DIR", state_dir),
        ],
        |_| {},
    );
    for x in &r {
        assert!(x.is_ok(), "the retry succeeds: {x:?}");
    }
    // Both segments failed once (one marker each) and then passed.
    assert_eq!(std::fs::read_dir(state.path()).unwrap().count(), 2);

    // Without retries the first failure stands.
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().to_str().unwrap();
    let r = compile_with(
        &jobs[..1],
        &[
            ("TPUPIPE_STANDIN_FAIL", "internal-once"),
            ("TPUPIPE_STANDIN_STATE_DIR", state_dir),
        ],
        |o| o.internal_error_retries = 0,
    );
    assert!(
        matches!(r[0], Err(DriverError::InternalError { attempts: 1, .. })),
        "{:?}",
        r[0]
    );
}

#[test]
fn missing_and_corrupt_outputs_are_caught() {
    let e = failure_of_segment_1("missing-output");
    assert!(matches!(e, DriverError::OutputMissing { .. }), "{e:?}");
    let e = failure_of_segment_1("silent");
    assert!(matches!(e, DriverError::OutputMissing { .. }), "{e:?}");
    let e = failure_of_segment_1("corrupt-output");
    assert!(matches!(e, DriverError::BadOutput { .. }), "{e:?}");
    assert!(e.to_string().contains("not a TFLite model"), "{e}");
}

#[test]
fn large_activations_and_unexplained_failures() {
    let e = failure_of_segment_1("large-activations");
    assert!(matches!(e, DriverError::LargeActivations { .. }), "{e:?}");
    let e = failure_of_segment_1("no-reason");
    assert!(
        matches!(e, DriverError::CompileFailed { status: 1, .. }),
        "{e:?}"
    );
}

#[test]
fn a_float_model_is_not_quantized() {
    let r = compile_with(&[job(3, "float", float_model())], &[], |_| {});
    let e = r.into_iter().next().unwrap().unwrap_err();
    assert!(matches!(e, DriverError::NotQuantized { .. }), "{e:?}");
    assert!(e.to_string().starts_with("segment 3 (float)"), "{e}");
}

#[test]
fn a_too_new_op_version_names_the_op() {
    let bytes = std::fs::read(fixture("conv_uint8_io.tflite")).unwrap();
    let bumped = common::modify(&bytes, |m| {
        for c in m.operator_codes.iter_mut().flatten() {
            if c.builtin_code == schema::BuiltinOperator::QUANTIZE {
                c.version = 3;
            }
        }
    });
    let r = compile_with(&[job(0, "conv_uint8_io", bumped)], &[], |_| {});
    let e = r.into_iter().next().unwrap().unwrap_err();
    match &e {
        DriverError::OpVersionTooNew { op, version, .. } => {
            assert_eq!((op.as_str(), *version), ("QUANTIZE", 3))
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("older TFLite op set"), "{e}");
}

#[test]
fn dynamic_shapes_are_refused() {
    let bytes = std::fs::read(fixture("conv_small.tflite")).unwrap();
    let dynamic = common::modify(&bytes, |m| {
        let sg = &mut m.subgraphs.as_mut().unwrap()[0];
        let input = sg.inputs.as_ref().unwrap()[0] as usize;
        let t = &mut sg.tensors.as_mut().unwrap()[input];
        let mut sig = t.shape.clone().unwrap();
        sig[1] = -1;
        sig[2] = -1;
        t.shape_signature = Some(sig);
    });
    let r = compile_with(&[job(0, "conv_small", dynamic)], &[], |_| {});
    let e = r.into_iter().next().unwrap().unwrap_err();
    assert!(matches!(e, DriverError::DynamicShapes { .. }), "{e:?}");
}

#[test]
fn cpu_operators_are_an_error_when_asked() {
    let jobs = [whole(&fixture("fc_float_io.tflite"))];
    let e = compile_with(&jobs, &[], |o| o.allow_cpu_ops = false)
        .remove(0)
        .unwrap_err();
    match &e {
        DriverError::UnsupportedOps { ops, .. } => {
            let names: Vec<&str> = ops.iter().map(|o| o.operator.as_str()).collect();
            assert_eq!(names, ["QUANTIZE", "DEQUANTIZE"]);
            assert!(ops
                .iter()
                .all(|o| !o.outputs.is_empty() && o.status.is_some()));
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("DEQUANTIZE writing"), "{e}");
}

#[test]
fn a_segment_with_nothing_mapped_is_an_error() {
    // The last segment of fc_float_io holds only the DEQUANTIZE to float.
    let bytes = std::fs::read(fixture("fc_float_io.tflite")).unwrap();
    let model = ModelView::parse(&bytes).unwrap();
    let graph = Graph::build(&model).unwrap();
    let cuts = Cuts::new(vec![graph.len() - 1], graph.len()).unwrap();
    let split = Split::new(model, &graph, cuts, "fc_float_io.tflite").unwrap();
    let last = job(
        1,
        "fc_float_io_segment_1_of_2",
        split.write_segment(1).unwrap().into_vec(),
    );
    let e = compile_with(&[last], &[], |_| {}).remove(0).unwrap_err();
    assert!(matches!(e, DriverError::NothingMapped { .. }), "{e:?}");
}

#[test]
fn an_invalid_file_is_refused_by_the_compiler() {
    let e = compile_with(
        &[job(0, "junk", b"not a model at all".to_vec())],
        &[],
        |_| {},
    )
    .remove(0)
    .unwrap_err();
    assert!(matches!(e, DriverError::InvalidModel { .. }), "{e:?}");
}

#[test]
fn a_stem_that_is_not_a_file_name_is_refused() {
    let model = std::fs::read(fixture("conv_small.tflite")).unwrap();
    for stem in ["", "../escape", "a/b", ".."] {
        let e = compile_with(&[job(0, stem, model.clone())], &[], |_| {})
            .remove(0)
            .unwrap_err();
        assert!(
            matches!(e, DriverError::InvalidJob { .. }),
            "{stem:?}: {e:?}"
        );
    }
}

#[test]
fn old_compilers_get_a_warning_or_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let v15 = Compiler::at(wrapper(dir.path(), "15.0.340273435")).unwrap();
    assert_eq!(v15.version().to_string(), "15.0.340273435");
    let root = tempfile::tempdir().unwrap();
    let jobs = [whole(&fixture("conv_small.tflite"))];
    // No --timeout_sec before 16: not passed (the stand-in would refuse it), and said so.
    let c = v15
        .compile_segments(&jobs, &options(root.path(), &[]))
        .remove(0)
        .unwrap();
    assert!(
        c.report
            .warnings
            .iter()
            .any(|w| w.contains("no --timeout_sec")),
        "{:?}",
        c.report.warnings
    );
    assert!(!c.stdout.contains("timeout timer"));
    // --search_delegate cannot be had before 16.
    let mut o = options(root.path(), &[]);
    o.search_delegate_step = Some(2);
    let e = v15.compile_segments(&jobs, &o).remove(0).unwrap_err();
    assert!(
        matches!(
            e,
            DriverError::Unsupported {
                option: "--search_delegate",
                ..
            }
        ),
        "{e:?}"
    );

    // Runtime 14 needs compiler 16.
    let mut o = options(root.path(), &[]);
    o.min_runtime_version = Some(14);
    let e = v15.compile_segments(&jobs, &o).remove(0).unwrap_err();
    assert!(
        matches!(
            e,
            DriverError::RuntimeTooNew {
                asked: 14,
                max: 13,
                ..
            }
        ),
        "{e:?}"
    );
    o.min_runtime_version = Some(13);
    assert!(v15.compile_segments(&jobs, &o).remove(0).is_ok());

    // v2.0 prints the available cache instead of the remaining one.
    let dir20 = tempfile::tempdir().unwrap();
    let v20 = Compiler::at(wrapper(dir20.path(), "2.0.291256449")).unwrap();
    let c = v20
        .compile_segments(&jobs, &options(root.path(), &[]))
        .remove(0)
        .unwrap();
    assert!(c.report.available.is_some() && c.report.remaining.is_none());
    assert_cleaned_up(root.path());
}

#[test]
fn search_delegate_is_passed_when_asked() {
    let jobs = [whole(&fixture("conv_small.tflite"))];
    let c = compile_with(&jobs, &[], |o| o.search_delegate_step = Some(3))
        .remove(0)
        .unwrap();
    assert!(
        c.stdout
            .contains("Searching for valid delegate with step 3"),
        "{}",
        c.stdout
    );
    let c = compile_with(&jobs, &[], |_| {}).remove(0).unwrap();
    assert!(!c.stdout.contains("Searching for valid delegate"));

    // A search that needs three attempts: the report is the successful attempt's.
    let c = compile_with(&jobs, &[("TPUPIPE_STANDIN_MAX_MAPPED_OPS", "4")], |o| {
        o.search_delegate_step = Some(3)
    })
    .remove(0)
    .unwrap();
    assert_eq!(c.stdout.matches("Compilation failed!").count(), 2);
    assert_eq!((c.report.ops_on_tpu, c.report.ops_on_cpu), (3, 6));
    assert!(c
        .report
        .warnings
        .iter()
        .any(|w| w.contains("6 operation(s) on the CPU")));
    // Without the search the same limit is a large-activation failure.
    let e = compile_with(&jobs, &[("TPUPIPE_STANDIN_MAX_MAPPED_OPS", "4")], |_| {})
        .remove(0)
        .unwrap_err();
    assert!(matches!(e, DriverError::LargeActivations { .. }), "{e:?}");
}

#[test]
fn discovery_explains_a_missing_compiler() {
    // Only this test touches the variable.
    std::env::set_var(COMPILER_ENV, "/nonexistent/edgetpu_compiler");
    let e = Compiler::discover().unwrap_err();
    std::env::remove_var(COMPILER_ENV);
    assert!(matches!(e, DriverError::NotFound { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("TPUPIPE_EDGETPU_COMPILER") && msg.contains("cache"),
        "{msg}"
    );

    let e = Compiler::at("/nonexistent/edgetpu_compiler").unwrap_err();
    assert!(matches!(e, DriverError::Version { .. }), "{e:?}");
}
