//! `Builder::compile` against the stand-in `edgetpu_compiler`: the files and the plan, the
//! artifact cache (a second build runs no compiler, offline builds, damaged entries, concurrent
//! builds, platform-free manifests), compile-profiled planning on the FC family, and every
//! failure mode of the stand-in surfacing with the segment named.

mod common;

use std::path::{Path, PathBuf};
use tpupipe_compiler::cache::{Cache, ScannedEntry};
use tpupipe_compiler::edgetpu::DriverError;
use tpupipe_compiler::{Builder, CompileError, Strategy};
use tpupipe_runtime::plan::Plan;
use tpupipe_runtime::ModelView;

fn fixture(name: &str) -> PathBuf {
    common::workspace().join("tests/models").join(name)
}

/// A wrapper script around the stand-in that exports `env` and, when `counter` is given,
/// appends a line to it for every compile (not for `--version`).
fn wrapper(dir: &Path, env: &[(&str, &str)], counter: Option<&Path>) -> PathBuf {
    let path = dir.join("edgetpu_compiler");
    let mut script = String::from("#!/bin/sh\n");
    if let Some(c) = counter {
        script.push_str(&format!(
            "if [ \"$1\" != --version ]; then echo \"$1\" >> '{}'; fi\n",
            c.display()
        ));
    }
    for (k, v) in env {
        script.push_str(&format!("export {k}='{v}'\n"));
    }
    script.push_str(&format!("exec '{}' \"$@\"\n", common::standin().display()));
    std::fs::write(&path, script).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path
}

fn count(counter: &Path) -> usize {
    std::fs::read_to_string(counter)
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

/// A scratch area: a cache, an output directory, a counting compiler.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn cache(&self) -> PathBuf {
        self.dir.path().join("cache")
    }
    fn out(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn counter(&self) -> PathBuf {
        self.dir.path().join("compiles.txt")
    }
    /// The counting wrapper, written once: rewriting a script while another thread execs it
    /// fails that exec with "Text file busy".
    fn compiler(&self) -> PathBuf {
        let bin = self.dir.path().join("bin");
        let path = bin.join("edgetpu_compiler");
        if path.exists() {
            return path;
        }
        std::fs::create_dir_all(&bin).unwrap();
        wrapper(&bin, &[], Some(&self.counter()))
    }
    fn builder(&self, model: &Path, tpus: usize, out: &str) -> Builder {
        Builder::new(model)
            .tpus(tpus)
            .out_dir(self.out(out))
            .cache_dir(self.cache())
            .edgetpu_compiler(self.compiler())
    }
}

fn entry_dirs(cache: &Path) -> Vec<PathBuf> {
    Cache::new(cache)
        .scan()
        .unwrap()
        .into_iter()
        .map(|s| match s {
            ScannedEntry::Valid(e) => e.dir,
            ScannedEntry::Broken { dir, error } => panic!("{}: {error}", dir.display()),
        })
        .collect()
}

#[test]
fn compile_writes_every_file_and_a_plan_naming_both() {
    for (model, tpus) in [
        ("conv_residual.tflite", 3),
        ("mobilenet_v2.tflite", 4),
        ("fc_float_io.tflite", 1),
    ] {
        let s = Scratch::new();
        let o = s.builder(&fixture(model), tpus, "out").compile().unwrap();
        assert!(!o.from_cache);
        assert_eq!(o.compiles, tpus, "{model}");
        assert_eq!(count(&s.counter()), tpus);
        let plan = Plan::from_json(&std::fs::read_to_string(&o.plan_path).unwrap()).unwrap();
        assert_eq!(plan, o.plan);
        assert_eq!(plan.segments.len(), tpus);
        let stem = model.trim_end_matches(".tflite");
        for (i, seg) in plan.segments.iter().enumerate() {
            assert_eq!(seg.file, format!("{stem}_segment_{i}_of_{tpus}.tflite"));
            let compiled = seg
                .edgetpu_file
                .as_deref()
                .expect("the plan names the compiled file");
            assert_eq!(
                compiled,
                format!("{stem}_segment_{i}_of_{tpus}_edgetpu.tflite")
            );
            let dir = o.plan_path.parent().unwrap();
            assert!(dir.join(&seg.file).is_file());
            let bytes = std::fs::read(dir.join(compiled)).unwrap();
            assert!(ModelView::parse(&bytes).unwrap().is_edgetpu_compiled());
            assert!(o.log_paths[i].is_file());
            assert_eq!(o.edgetpu_paths[i], dir.join(compiled));
            assert_eq!(seg.on_chip_bytes, Some(o.reports[i].on_chip.bytes()));
            assert_eq!(seg.off_chip_bytes, Some(o.reports[i].off_chip.bytes()));
        }
        assert_eq!(entry_dirs(&s.cache()).len(), 1);
        if model == "fc_float_io.tflite" {
            assert!(
                o.warnings.iter().any(|w| w.contains("on the CPU")),
                "{:?}",
                o.warnings
            );
        }
    }
}

#[test]
fn a_second_build_runs_no_compiler() {
    let s = Scratch::new();
    let model = fixture("conv_residual.tflite");
    let first = s.builder(&model, 2, "a").compile().unwrap();
    assert_eq!(count(&s.counter()), 2);
    let second = s.builder(&model, 2, "b").compile().unwrap();
    assert_eq!(count(&s.counter()), 2, "the second build compiled nothing");
    assert!(second.from_cache && second.compiles == 0);
    assert_eq!(second.plan, first.plan);
    assert_eq!(second.reports, first.reports);
    for (a, b) in first.edgetpu_paths.iter().zip(&second.edgetpu_paths) {
        assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    }
    // Other options are another entry.
    s.builder(&model, 3, "c").compile().unwrap();
    assert_eq!(count(&s.counter()), 5);
    s.builder(&model, 2, "d")
        .min_runtime_version(13)
        .compile()
        .unwrap();
    assert_eq!(count(&s.counter()), 7);
    assert_eq!(entry_dirs(&s.cache()).len(), 3);
}

#[test]
fn offline_builds_come_from_the_cache() {
    let s = Scratch::new();
    let model = fixture("conv_small.tflite");
    // Cold: an error saying what to do.
    let e = s
        .builder(&model, 1, "cold")
        .offline(true)
        .compile()
        .unwrap_err();
    assert!(matches!(e, CompileError::Cold { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("tpupipe compile")
            && msg.contains("edgetpu_compiler")
            && msg.contains("commit"),
        "{msg}"
    );
    let warm = s.builder(&model, 1, "warm").compile().unwrap();
    // Warm: no compiler is even looked at.
    let o = Builder::new(&model)
        .tpus(1)
        .out_dir(s.out("offline"))
        .cache_dir(s.cache())
        .edgetpu_compiler("/nonexistent/edgetpu_compiler")
        .offline(true)
        .compile()
        .unwrap();
    assert!(o.from_cache);
    assert_eq!(o.plan, warm.plan);
    assert!(o.edgetpu_paths[0].is_file());
    assert_eq!(count(&s.counter()), 1);
    // The macro's questions: in the cache? which files?
    let entry = s.builder(&model, 1, "x").cached().unwrap().expect("cached");
    assert!(entry.files().iter().all(|f| f.is_file()));
    assert!(entry
        .files()
        .iter()
        .any(|f| f.ends_with("conv_small_segment_0_of_1_edgetpu.tflite")));
    assert!(s.builder(&model, 2, "x").cached().unwrap().is_none());
}

#[test]
fn a_flipped_byte_in_any_cached_file_is_caught() {
    let s = Scratch::new();
    let model = fixture("conv_residual.tflite");
    s.builder(&model, 2, "a").compile().unwrap();
    let entry = entry_dirs(&s.cache()).remove(0);
    let mut names: Vec<String> = std::fs::read_dir(&entry)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 10, "{names:?}");
    let mut compiles = count(&s.counter());
    for name in &names {
        let path = entry.join(name);
        let mut bad = std::fs::read(&path).unwrap();
        let at = bad.len() / 2;
        bad[at] ^= 0x01;
        std::fs::write(&path, &bad).unwrap();
        // Refused offline.
        let e = s
            .builder(&model, 2, "b")
            .offline(true)
            .compile()
            .unwrap_err();
        assert!(
            matches!(e, CompileError::OfflineDamaged { .. }),
            "{name}: {e:?}"
        );
        assert!(e.to_string().contains("corrupt"), "{name}: {e}");
        assert!(s.builder(&model, 2, "b").cached().is_err(), "{name}");
        // Rebuilt online, with a warning.
        let o = s.builder(&model, 2, "c").compile().unwrap();
        assert!(!o.from_cache, "{name}");
        assert!(
            o.warnings.iter().any(|w| w.contains("damaged")),
            "{name}: {:?}",
            o.warnings
        );
        compiles += 2;
        assert_eq!(count(&s.counter()), compiles, "{name}");
        // The compiler's output is not byte-for-byte reproducible (nor is the real one's), so
        // the rebuilt entry is checked by verification, not against the old bytes.
        assert!(std::fs::read(&path).unwrap() != bad, "{name} is rebuilt");
        assert!(
            s.builder(&model, 2, "b").cached().unwrap().is_some(),
            "{name}"
        );
    }
    // An extra file is caught too.
    std::fs::write(entry.join("extra.txt"), b"x").unwrap();
    assert!(s.builder(&model, 2, "b").cached().is_err());
}

#[test]
fn concurrent_builds_end_with_one_consistent_entry() {
    let s = Scratch::new();
    let model = fixture("mobilenet_v2.tflite");
    let outcomes: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let b = s.builder(&model, 3, &format!("out{i}"));
                scope.spawn(move || b.compile().unwrap())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        count(&s.counter()),
        3,
        "one build compiled, the others waited and reused it"
    );
    assert_eq!(outcomes.iter().filter(|o| !o.from_cache).count(), 1);
    for o in &outcomes[1..] {
        assert_eq!(o.plan, outcomes[0].plan);
    }
    assert_eq!(entry_dirs(&s.cache()).len(), 1);
    // No temporary directories are left.
    let left: Vec<_> = std::fs::read_dir(s.cache())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("tmp-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Run as a child process by `concurrent_processes_end_with_one_consistent_entry`: one build
/// into the cache and output directory the parent names (does nothing otherwise).
#[test]
fn child_process_build() {
    let (Ok(cache), Ok(out), Ok(compiler)) = (
        std::env::var("TPUPIPE_TEST_CHILD_CACHE"),
        std::env::var("TPUPIPE_TEST_CHILD_OUT"),
        std::env::var("TPUPIPE_TEST_CHILD_COMPILER"),
    ) else {
        return;
    };
    Builder::new(fixture("conv_residual.tflite"))
        .tpus(2)
        .out_dir(out)
        .cache_dir(cache)
        .edgetpu_compiler(compiler)
        .compile()
        .unwrap();
}

#[test]
fn concurrent_processes_end_with_one_consistent_entry() {
    let s = Scratch::new();
    let compiler = s.compiler();
    let children: Vec<_> = (0..3)
        .map(|i| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "child_process_build", "--test-threads=1"])
                .env("TPUPIPE_TEST_CHILD_CACHE", s.cache())
                .env("TPUPIPE_TEST_CHILD_OUT", s.out(&format!("p{i}")))
                .env("TPUPIPE_TEST_CHILD_COMPILER", &compiler)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    assert_eq!(
        count(&s.counter()),
        2,
        "one process compiled the two segments"
    );
    assert_eq!(entry_dirs(&s.cache()).len(), 1);
    let plans: Vec<String> = (0..3)
        .map(|i| {
            std::fs::read_to_string(s.out(&format!("p{i}")).join("conv_residual_plan.json"))
                .unwrap()
        })
        .collect();
    assert!(plans.iter().all(|p| *p == plans[0]));
}

#[test]
fn the_manifest_is_platform_free() {
    let s = Scratch::new();
    s.builder(&fixture("conv_residual.tflite"), 2, "a")
        .compile()
        .unwrap();
    let entry = entry_dirs(&s.cache()).remove(0);
    let text = std::fs::read_to_string(entry.join("manifest.json")).unwrap();
    let root = s.dir.path().to_string_lossy().into_owned();
    assert!(!text.contains(&root), "no absolute paths: {text}");
    assert!(!text.contains('\\'));
    let m: serde_json::Value = serde_json::from_str(&text).unwrap();
    for f in m["files"].as_array().unwrap() {
        let p = f["path"].as_str().unwrap();
        assert!(!p.starts_with('/') && !p.contains(".."), "{p}");
        assert_eq!(f["sha256"].as_str().unwrap().len(), 64);
    }
    for v in ["mtime", "modified", "created"] {
        assert!(!text.contains(v), "{v} in {text}");
    }
    // A copy of the cache elsewhere (another checkout, another machine) is used as is.
    let moved = s.out("moved-cache");
    std::fs::rename(s.cache(), &moved).unwrap();
    let o = Builder::new(fixture("conv_residual.tflite"))
        .tpus(2)
        .out_dir(s.out("b"))
        .cache_dir(&moved)
        .offline(true)
        .compile()
        .unwrap();
    assert!(o.from_cache);
}

/// The error of a 3-segment conv_residual compile where only segment 1 fails with `mode`.
fn failure_of_segment_1(mode: &str) -> CompileError {
    let s = Scratch::new();
    let bin = s.out("bin-fail");
    std::fs::create_dir_all(&bin).unwrap();
    let compiler = wrapper(
        &bin,
        &[
            ("TPUPIPE_STANDIN_FAIL", mode),
            ("TPUPIPE_STANDIN_FAIL_ONLY", "segment_1_of_3"),
        ],
        None,
    );
    let e = Builder::new(fixture("conv_residual.tflite"))
        .tpus(3)
        .strategy(Strategy::Params)
        .out_dir(s.out("out"))
        .cache_dir(s.cache())
        .edgetpu_compiler(compiler)
        .compile()
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with("segment 1 (conv_residual_segment_1_of_3)"),
        "{mode}: the error names the segment: {msg}"
    );
    assert!(
        entry_dirs(&s.cache()).is_empty(),
        "{mode}: nothing is cached"
    );
    e
}

fn driver_error(e: CompileError) -> DriverError {
    match e {
        CompileError::Segments { mut errors } => {
            assert_eq!(errors.len(), 1, "{errors:?}");
            errors.remove(0)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_failure_mode_surfaces_with_the_segment_named() {
    use DriverError as D;
    type Check = fn(&D) -> bool;
    let cases: [(&str, Check); 10] = [
        ("crash", |e| matches!(e, D::Crashed { .. })),
        ("signal", |e| matches!(e, D::Crashed { .. })),
        ("exception", |e| matches!(e, D::Crashed { .. })),
        ("timeout", |e| matches!(e, D::Timeout { .. })),
        ("internal", |e| {
            matches!(e, D::InternalError { attempts: 2, .. })
        }),
        ("missing-output", |e| matches!(e, D::OutputMissing { .. })),
        ("silent", |e| matches!(e, D::OutputMissing { .. })),
        ("corrupt-output", |e| matches!(e, D::BadOutput { .. })),
        ("large-activations", |e| {
            matches!(e, D::LargeActivations { .. })
        }),
        ("no-reason", |e| matches!(e, D::CompileFailed { .. })),
    ];
    for (mode, is) in cases {
        let e = driver_error(failure_of_segment_1(mode));
        assert!(is(&e), "{mode}: {e:?}");
    }
}

#[test]
fn internal_error_once_is_retried_and_cached() {
    let s = Scratch::new();
    let state = s.out("state");
    std::fs::create_dir_all(&state).unwrap();
    let bin = s.out("bin-once");
    std::fs::create_dir_all(&bin).unwrap();
    let compiler = wrapper(
        &bin,
        &[
            ("TPUPIPE_STANDIN_FAIL", "internal-once"),
            ("TPUPIPE_STANDIN_STATE_DIR", state.to_str().unwrap()),
        ],
        Some(&s.counter()),
    );
    let o = Builder::new(fixture("conv_residual.tflite"))
        .tpus(2)
        .out_dir(s.out("out"))
        .cache_dir(s.cache())
        .edgetpu_compiler(compiler)
        .compile()
        .unwrap();
    assert_eq!(o.compiles, 2);
    assert_eq!(
        count(&s.counter()),
        4,
        "each segment failed once, then passed"
    );
}

#[test]
fn a_missing_compiler_without_a_cache_says_so() {
    let s = Scratch::new();
    let e = Builder::new(fixture("conv_small.tflite"))
        .tpus(1)
        .out_dir(s.out("out"))
        .cache_dir(s.cache())
        .edgetpu_compiler("/nonexistent/edgetpu_compiler")
        .compile()
        .unwrap_err();
    assert!(
        matches!(e, CompileError::Driver(DriverError::Version { .. })),
        "{e:?}"
    );
    // Too new a runtime for the compiler: refused before anything runs.
    let e = s
        .builder(&fixture("conv_small.tflite"), 1, "out")
        .min_runtime_version(99)
        .compile()
        .unwrap_err();
    assert!(
        matches!(e, CompileError::Driver(DriverError::RuntimeTooNew { .. })),
        "{e:?}"
    );
    assert_eq!(count(&s.counter()), 0);
}

/// Whether the stand-in's parameter cache (`capacity` bytes per TPU) can hold the model's
/// operators' parameters on `tpus` TPUs in contiguous runs, with `margin` for the bytes the
/// compiler stores beyond the raw weights (greedy packing in order is optimal for this).
fn fits_together(op_params: &[u64], capacity: u64, tpus: usize, margin: f64) -> bool {
    let cap = (capacity as f64 / margin) as u64;
    let mut used = 1;
    let mut acc = 0u64;
    for &p in op_params {
        if p > cap {
            return false;
        }
        if acc + p > cap {
            used += 1;
            acc = 0;
        }
        acc += p;
    }
    used <= tpus
}

#[test]
fn compile_profiled_planning_keeps_the_fc_family_on_chip() {
    use tpupipe_compiler::synth::{synth_fc, FcSpec};
    // (hidden width, hidden layers, TPUs): 1700 x 6 on 3 TPUs has five 2.8 MiB layers, which
    // the equal-parameter split cuts 1 | 1 | 3 (the last segment streams) though 2 | 2 | 1
    // fits; 1024 x 4 on 2 fits either way.
    for (hidden, layers, tpus) in [(1700usize, 6usize, 3usize), (1024, 4, 2)] {
        let s = Scratch::new();
        let name = format!("fc_{hidden}x{layers}.tflite");
        let bytes = synth_fc(&FcSpec::new(hidden, layers)).unwrap();
        let build = |strategy: Strategy, profiled: bool, out: &str| {
            Builder::from_bytes(&name, bytes.clone())
                .tpus(tpus)
                .strategy(strategy)
                .compile_profiled(profiled)
                .out_dir(s.out(out))
                .cache_dir(s.cache())
                .edgetpu_compiler(s.compiler())
                .compile()
                .unwrap()
        };
        let params = build(Strategy::Params, false, "params");
        let streaming = |o: &tpupipe_compiler::CompileOutcome| -> Vec<usize> {
            o.reports
                .iter()
                .enumerate()
                .filter(|(_, r)| r.off_chip.bytes() > 0)
                .map(|(i, _)| i)
                .collect()
        };
        let before = count(&s.counter());
        let profiled = build(Strategy::Params, true, "profiled");
        let compiles = count(&s.counter()) - before;
        let planning = profiled.planning.clone().expect("a planning record");
        assert_eq!(profiled.compiles, compiles);
        assert_eq!(planning.candidate_compiles, compiles);
        assert!(planning.stable, "{planning:?}");
        let capacity =
            params.reports[0].on_chip.bytes() + params.reports[0].remaining.unwrap().bytes();
        let model = Builder::from_bytes(&name, bytes.clone()).load().unwrap();
        let op_params: Vec<u64> = model
            .graph()
            .ops()
            .iter()
            .map(|o| o.param_bytes.bytes())
            .collect();
        let fits = fits_together(&op_params, capacity, tpus, 1.05);
        println!(
            "FC {hidden}x{layers} on {tpus} TPUs: params cuts {:?} streaming {:?}; compile-profiled cuts {:?} streaming {:?} after {compiles} compiles in {} rounds (fits together: {fits})",
            params.plan.cuts,
            streaming(&params),
            profiled.plan.cuts,
            streaming(&profiled),
            planning.rounds.len(),
        );
        if fits {
            assert!(streaming(&profiled).is_empty(), "{:?}", profiled.reports);
        }
        if hidden == 1700 {
            assert!(fits);
            assert_eq!(streaming(&params), [2], "the params split streams here");
            assert_eq!(profiled.plan.strategy, Strategy::Profiled);
            assert_eq!(
                planning.change().map(|(a, _)| a.to_vec()),
                Some(params.plan.cuts.clone())
            );
            assert!(profiled
                .plan_path
                .with_file_name(format!("fc_{hidden}x{layers}_profile.json"))
                .is_file());
            assert!(
                params
                    .warnings
                    .iter()
                    .any(|w| w.starts_with("segment 2 streams ")
                        && w.contains("can hold the model's parameters together")),
                "{:?}",
                params.warnings
            );
        }
        // The plan's segments carry the compiler's bytes, and a second build is a cache hit
        // with the same record.
        for (seg, r) in profiled.plan.segments.iter().zip(&profiled.reports) {
            assert_eq!(seg.off_chip_bytes, Some(r.off_chip.bytes()));
        }
        let again = build(Strategy::Params, true, "again");
        assert!(again.from_cache);
        assert_eq!(again.planning, Some(planning));
    }
}

#[test]
fn replicated_and_manual_plans_compile_every_segment() {
    let s = Scratch::new();
    // conv_small fits one TPU: with replication on 3 TPUs it may run as copies of fewer
    // segments; every segment of the plan is compiled once.
    let o = s
        .builder(&fixture("conv_small.tflite"), 3, "repl")
        .replicate(true)
        .compile()
        .unwrap();
    assert_eq!(o.compiles, o.plan.segments.len());
    assert_eq!(o.reports.len(), o.plan.segments.len());
    assert!(o.edgetpu_paths.iter().all(|p| p.is_file()));
    let used: usize = o.plan.segments.iter().map(|s| s.replica_count()).sum();
    assert_eq!(used, 3, "{:?}", o.plan);
    // Explicit cuts.
    let o = Builder::new(fixture("conv_residual.tflite"))
        .cuts(vec![2])
        .out_dir(s.out("manual"))
        .cache_dir(s.cache())
        .edgetpu_compiler(s.compiler())
        .compile()
        .unwrap();
    assert_eq!(o.plan.cuts, [2]);
    assert_eq!(o.plan.strategy, Strategy::Manual);
    assert_eq!(o.edgetpu_paths.len(), 2);
}

#[test]
fn a_given_segment_nothing_of_which_maps_becomes_a_cpu_stage() {
    // fc_float_io's last op is the DEQUANTIZE to float: as its own segment nothing maps, so the
    // plan runs it on the CPU instead of sending it to the compiler (which would refuse it).
    let s = Scratch::new();
    let model = fixture("fc_float_io.tflite");
    let ops = Builder::new(&model).load().unwrap().op_count();
    let o = Builder::new(&model)
        .cuts(vec![ops - 1])
        .out_dir(s.out("out"))
        .cache_dir(s.cache())
        .edgetpu_compiler(s.compiler())
        .compile()
        .unwrap();
    use tpupipe_runtime::plan::Device;
    assert_eq!(o.plan.segments[1].device, Some(Device::Cpu));
    assert_eq!(o.plan.segments[1].edgetpu_file, None);
    assert_eq!((o.compiles, count(&s.counter())), (1, 1));
    assert_eq!(o.plan.tpus_used, Some(1));
}

#[test]
fn compile_leaves_cpu_stages_uncompiled() {
    let s = Scratch::new();
    let model = fixture("cpu_stages/mid_gather.tflite");
    let o = s.builder(&model, 2, "out").compile().unwrap();
    let devices: Vec<_> = o.plan.segments.iter().map(|g| g.device()).collect();
    use tpupipe_runtime::plan::Device;
    assert_eq!(devices, vec![Device::EdgeTpu, Device::Cpu, Device::EdgeTpu]);
    // Only the Edge TPU segments go through the compiler.
    assert_eq!(o.compiles, 2);
    assert_eq!(count(&s.counter()), 2);
    assert_eq!((o.reports.len(), o.edgetpu_paths.len()), (2, 2));
    let dir = o.plan_path.parent().unwrap();
    for seg in &o.plan.segments {
        assert!(dir.join(&seg.file).is_file());
        assert_eq!(seg.edgetpu_file.is_some(), seg.device() == Device::EdgeTpu);
    }
    assert!(o.edgetpu_paths.iter().all(|p| p.is_file()));
    // The cached build reads back the same reports.
    let again = s.builder(&model, 2, "out2").compile().unwrap();
    assert!(again.from_cache);
    assert_eq!(again.reports, o.reports);
    assert_eq!(again.plan, o.plan);
}

/// A candidate the compiler crashes on does not fail compile-profiled planning: the range is
/// excluded (marked `failed` in the profile), the planner plans around it, and the report names
/// the range and the compiler's error. Only when every plan needs such a range does the build
/// fail, saying so.
#[test]
fn a_crashing_candidate_is_excluded_and_another_plan_is_built() {
    let s = Scratch::new();
    let model = fixture("mobilenet_v2.tflite");
    let first = Builder::new(&model).tpus(2).plan().unwrap();
    let longest = first
        .segments
        .iter()
        .map(|g| g.op_range[1] - g.op_range[0])
        .max()
        .unwrap();
    // Every candidate with at least as many operators as the plan's longest segment crashes.
    let bin = s.dir.path().join("crash-long");
    std::fs::create_dir_all(&bin).unwrap();
    let min_ops = longest.to_string();
    let compiler = wrapper(
        &bin,
        &[
            ("TPUPIPE_STANDIN_FAIL", "crash"),
            ("TPUPIPE_STANDIN_FAIL_MIN_OPS", &min_ops),
        ],
        None,
    );
    let outcome = Builder::new(&model)
        .tpus(2)
        .compile_profiled(true)
        .out_dir(s.out("crash"))
        .cache_dir(s.cache())
        .edgetpu_compiler(&compiler)
        .compile()
        .unwrap_or_else(|e| panic!("{e}"));
    let planning = outcome.planning.clone().unwrap();
    assert!(!planning.excluded.is_empty());
    let long = first
        .segments
        .iter()
        .find(|g| g.op_range[1] - g.op_range[0] == longest)
        .unwrap()
        .op_range;
    let x = planning
        .excluded
        .iter()
        .find(|x| x.op_range == long)
        .unwrap_or_else(|| panic!("{:?}", planning.excluded));
    assert!(
        x.reason.to_lowercase().contains("segmentation fault") || x.reason.contains("139"),
        "{}",
        x.reason
    );
    for g in &outcome.plan.segments {
        assert!(g.op_range[1] - g.op_range[0] < longest, "{:?}", g.op_range);
        assert!(g.edgetpu_file.is_some());
    }
    assert_ne!(outcome.plan.cuts, first.cuts);
    assert!(
        outcome
            .warnings
            .iter()
            .any(|w| w.contains("excluded")
                && w.contains(&format!("ops [{}, {})", long[0], long[1]))),
        "{:?}",
        outcome.warnings
    );
    let profile =
        tpupipe_runtime::plan::Profile::read(&s.out("crash").join("mobilenet_v2_profile.json"))
            .unwrap();
    assert!(profile
        .segments
        .iter()
        .any(|e| e.op_range == long && e.failed.is_some()));

    // fc_tanh has 9 operators: every 2-segment plan has a segment of 5 or more.
    let bin = s.dir.path().join("crash-5");
    std::fs::create_dir_all(&bin).unwrap();
    let compiler = wrapper(
        &bin,
        &[
            ("TPUPIPE_STANDIN_FAIL", "crash"),
            ("TPUPIPE_STANDIN_FAIL_MIN_OPS", "5"),
        ],
        None,
    );
    let e = Builder::new(fixture("fc_tanh.tflite"))
        .tpus(2)
        .compile_profiled(true)
        .out_dir(s.out("none"))
        .cache_dir(s.cache())
        .edgetpu_compiler(&compiler)
        .compile()
        .unwrap_err();
    match &e {
        CompileError::NoPlanWithoutFailedRanges { excluded } => {
            assert!(excluded.iter().all(|x| x.op_range[1] - x.op_range[0] >= 5));
            // Each of the 8 plans was tried: its long segment is excluded.
            assert_eq!(excluded.len(), 8, "{excluded:?}");
        }
        other => panic!("{other}"),
    }
    assert!(
        e.to_string()
            .starts_with("every plan needs a segment that failed: ops ["),
        "{e}"
    );
}

/// The committed cache entry `compiler/tests/fixtures/cache-x86_64/` (read on aarch64 under qemu
/// by `compiler/tests/cache_portable.rs`) is what this code builds for `zero_bias.tflite` on one
/// TPU with the stand-in compiler: same key. `TPUPIPE_BLESS=1` rewrites it.
#[test]
fn the_portable_cache_fixture_is_current() {
    let s = Scratch::new();
    let o = Builder::new(fixture("zero_bias.tflite"))
        .tpus(1)
        .out_dir(s.out("z"))
        .cache_dir(s.cache())
        .edgetpu_compiler(common::standin())
        .compile()
        .unwrap();
    let fixture_root = common::workspace().join("compiler/tests/fixtures/cache-x86_64");
    let key = o
        .cache_entry
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    if std::env::var("TPUPIPE_BLESS").is_ok_and(|v| v == "1") {
        let _ = std::fs::remove_dir_all(&fixture_root);
        let to = fixture_root.join(&key);
        std::fs::create_dir_all(&to).unwrap();
        for e in std::fs::read_dir(&o.cache_entry).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
        eprintln!("wrote {}", to.display());
    }
    assert!(
        fixture_root.join(&key).join("manifest.json").is_file(),
        "the committed fixture is not for this build's key {key}; rerun with TPUPIPE_BLESS=1"
    );
}
