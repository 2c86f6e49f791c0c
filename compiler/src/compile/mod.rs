//! [`Builder::compile`](crate::Builder::compile): plan, split, compile every segment with
//! `edgetpu_compiler`, and keep the result in the artifact cache ([`crate::cache`]).
//!
//! The walk: the cache key from the model bytes, the options and the compiler's version; under
//! the key's lock, a verified entry is used as is (no compiler runs); otherwise the build
//! happens in a temporary directory of the cache — optionally compile-profiled planning
//! ([`profiled`]), the split, the compiles in parallel ([`run`]), the compiled files and the
//! annotated plan ([`outputs`]) — which is then renamed into place. Either way the entry's
//! files are copied into [`Builder::out_dir`](crate::Builder::out_dir).
//!
//! Offline (`TPUPIPE_OFFLINE=1` or [`Builder::offline`](crate::Builder::offline)) or without a
//! compiler, the build comes from the cache alone: the entry for these inputs built by the
//! newest compiler.
//!
//! - [`settings`]: the options on the builder; [`run`]: parallel compiles with progress;
//!   [`profiled`]: compile-profiled planning; [`outputs`]: file names, writing, reports.

pub mod measure;
pub mod outputs;
pub mod profiled;
pub mod run;
pub mod settings;

pub use profiled::{CandidateKey, ExcludedRange, PlanRound, ProfiledPlanning};
pub use run::Progress;
pub use settings::{CompileSettings, OFFLINE_ENV};

use crate::cache::{Cache, CacheEntry, CacheError, InputsHash, Manifest};
use crate::edgetpu::invoke::option_error;
use crate::edgetpu::{CompileReport, CompiledSegment, Compiler, DriverError, SegmentJob};
use crate::{Builder, Error};
use measure::timer::EdgeTpuTimer;
use profiled::Candidates;
use run::{all_ok, run_jobs};
use std::path::{Path, PathBuf};
use thiserror::Error;
use tpupipe_runtime::edgetpu::BackendConfig;
use tpupipe_runtime::plan::Plan;

/// What happens during a compile, for progress displays.
#[derive(Debug, Clone, PartialEq)]
pub enum CompileEvent {
    /// The build was found in the cache; no compiler runs.
    CacheHit {
        /// The entry's directory.
        entry: PathBuf,
    },
    /// Compile-profiled planning compiles candidates of round `round` (from 0).
    PlanningRound {
        /// The round.
        round: usize,
        /// Segments compiled in it.
        candidates: usize,
    },
    /// The final plan's segments are compiled (those not compiled during planning).
    CompilingSegments {
        /// How many.
        count: usize,
    },
    /// A candidate range failed (to compile, or to run when measured) and is excluded from
    /// the search.
    CandidateExcluded {
        /// Positions `[start, end)`.
        op_range: [usize; 2],
        /// Why.
        reason: String,
    },
    /// Measured planning runs round `round` (from 0) on the Edge TPUs.
    MeasuringRound {
        /// The round.
        round: usize,
        /// Segments measured in it.
        segments: usize,
    },
    /// One candidate segment was measured.
    SegmentMeasured {
        /// Positions `[start, end)`.
        op_range: [usize; 2],
        /// Its median latency, ms.
        latency_ms: f64,
    },
    /// One segment's compile started.
    SegmentStarted {
        /// Its index in its plan.
        index: usize,
        /// Its file stem.
        stem: String,
    },
    /// One segment's compile ended.
    SegmentFinished {
        /// Its index in its plan.
        index: usize,
        /// Its file stem.
        stem: String,
        /// The error, if it failed.
        error: Option<String>,
    },
}

/// Why [`Builder::compile`](crate::Builder::compile) failed.
#[derive(Debug, Error)]
pub enum CompileError {
    /// The model could not be loaded, planned or split.
    #[error(transparent)]
    Build(#[from] Error),
    /// The compiler could not be used (too old for an option, no version).
    #[error(transparent)]
    Driver(DriverError),
    /// No compiler, and no cached build of these inputs.
    #[error("{} holds no build of {model} with these options, and the compiler cannot run", cache.display())]
    NoCompiler {
        /// The model's file name.
        model: String,
        /// The cache directory.
        cache: PathBuf,
        /// The discovery error.
        source: DriverError,
    },
    /// Segments failed to compile (each error names its segment; joined by `; `).
    #[error("{}", errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Segments {
        /// One per failed segment.
        errors: Vec<DriverError>,
    },
    /// Every plan needs a candidate range that failed (see
    /// [`ProfiledPlanning::excluded`]).
    #[error("every plan needs a segment that failed: {}", excluded.iter().map(|x| x.to_string()).collect::<Vec<_>>().join("; "))]
    NoPlanWithoutFailedRanges {
        /// The failed ranges.
        excluded: Vec<ExcludedRange>,
    },
    /// `--measure` without a usable Edge TPU.
    #[error("measured planning (--measure) needs an attached Edge TPU: {source}; build without --measure, or let it skip measuring (--measure-skip-without-device)")]
    NoEdgeTpu {
        /// Why the Edge TPU backend cannot time segments.
        source: tpupipe_runtime::edgetpu::EdgeTpuError,
    },
    /// The cache could not be read or written.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// Offline, and the cache holds no build of these inputs.
    #[error("offline build ({OFFLINE_ENV}=1 or Builder::offline): {} holds no build of {model} with these options; run `tpupipe compile` (or this build) where edgetpu_compiler is installed, then commit {}", cache.display(), cache.display())]
    Cold {
        /// The model's file name.
        model: String,
        /// The cache directory.
        cache: PathBuf,
    },
    /// Offline, and the cached build is damaged.
    #[error("offline build ({OFFLINE_ENV}=1): the cached build cannot be used: {source}; rebuild it with `tpupipe compile` where edgetpu_compiler is installed, then commit the cache")]
    OfflineDamaged {
        /// What verification found.
        source: CacheError,
    },
}

/// What [`Builder::compile`](crate::Builder::compile) produced.
#[derive(Debug, Clone)]
pub struct CompileOutcome {
    /// The plan, naming both files of every segment, with the compiler's bytes.
    pub plan: Plan,
    /// `DIR/<stem>_plan.json`.
    pub plan_path: PathBuf,
    /// The segments' `.tflite` files (every segment, CPU stages included), in order.
    pub segment_paths: Vec<PathBuf>,
    /// The compiled Edge TPU segments, in order (CPU stages are not compiled).
    pub edgetpu_paths: Vec<PathBuf>,
    /// The operation logs of the Edge TPU segments, in order.
    pub log_paths: Vec<PathBuf>,
    /// The compiler's report of each Edge TPU segment.
    pub reports: Vec<CompileReport>,
    /// What the user should know (streaming segments and how many TPUs would avoid it,
    /// operators on the CPU, a damaged cache entry that was rebuilt).
    pub warnings: Vec<String>,
    /// Compiler runs of this call (0 from the cache).
    pub compiles: usize,
    /// True when the build came from the cache.
    pub from_cache: bool,
    /// The cache entry's directory.
    pub cache_entry: PathBuf,
    /// The compiler version that compiled the segments.
    pub compiler_version: String,
    /// How compile-profiled planning went (when asked for).
    pub planning: Option<ProfiledPlanning>,
}

struct Inputs {
    hash: InputsHash,
    options: serde_json::Value,
    model: String,
    model_sha256: String,
    stem: String,
    out_dir: PathBuf,
}

fn inputs(builder: &Builder) -> Result<Inputs, Error> {
    let (out_dir, _, plan_options) = builder.compile_inputs();
    let out_dir = out_dir.ok_or(Error::NoOutputDir)?.to_path_buf();
    let file = builder.open()?;
    let options = serde_json::json!({
        "plan": plan_options,
        "compile": builder.compile_settings().key_json(),
    });
    let model_sha256 = file.sha256();
    let stem = file.stem();
    Ok(Inputs {
        hash: InputsHash::new(&model_sha256, &stem, &options.to_string()),
        options,
        model: file.file_name(),
        model_sha256,
        stem,
        out_dir,
    })
}

/// The build described by `builder`, from the cache or compiled; `progress` hears about it.
pub fn compile(builder: &Builder, progress: Progress<'_>) -> Result<CompileOutcome, CompileError> {
    let settings = builder.compile_settings();
    let inputs = inputs(builder)?;
    let cache = Cache::new(settings.cache_root());
    if settings.is_offline() {
        return match newest(&cache, &inputs) {
            Ok(Some(entry)) => from_entry(&entry, &inputs, progress, Vec::new()),
            Ok(None) => Err(CompileError::Cold {
                model: inputs.model,
                cache: cache.root().to_path_buf(),
            }),
            Err(source) => Err(CompileError::OfflineDamaged { source }),
        };
    }
    let found = match &settings.compiler {
        Some(p) => Compiler::at(p),
        None => Compiler::discover(),
    };
    let compiler = match found {
        Ok(c) => c,
        Err(source @ DriverError::NotFound { .. }) => {
            return match newest(&cache, &inputs)? {
                Some(entry) => from_entry(&entry, &inputs, progress, Vec::new()),
                None => Err(CompileError::NoCompiler {
                    model: inputs.model,
                    cache: cache.root().to_path_buf(),
                    source,
                }),
            }
        }
        Err(e) => return Err(CompileError::Driver(e)),
    };
    let options = settings.driver_options();
    if let Some(e) = option_error(&compiler, &options) {
        return Err(CompileError::Driver(e));
    }
    let version = compiler.version().to_string();
    let key = inputs.hash.key(&version);
    let _lock = cache.lock(&key)?;
    let mut warnings = Vec::new();
    match cache.get(&key) {
        Ok(Some(entry)) => return from_entry(&entry, &inputs, progress, warnings),
        Ok(None) => {}
        Err(e) => warnings.push(format!(
            "the cached build was damaged and has been rebuilt: {e}"
        )),
    }
    let staging = cache.staging()?;
    let built = build(
        builder,
        &compiler,
        &inputs,
        staging.path(),
        cache.root(),
        progress,
    )?;
    let manifest = Manifest {
        format: crate::cache::CACHE_FORMAT_VERSION,
        tpupipe_version: env!("CARGO_PKG_VERSION").to_string(),
        key: key.to_string(),
        inputs: inputs.hash.clone(),
        model: inputs.model.clone(),
        model_sha256: inputs.model_sha256.clone(),
        compiler_version: version.clone(),
        options: inputs.options.clone(),
        plan: outputs::plan_name(&inputs.stem),
        files: Vec::new(),
    };
    let entry = cache.commit(staging, &key, manifest)?;
    copy_out(&entry, &inputs.out_dir)?;
    warnings.extend(built.warnings);
    warnings.extend(outputs::build_warnings(&built.plan, &built.reports));
    Ok(outcome(
        &inputs,
        &entry,
        built.plan,
        built.reports,
        warnings,
        built.compiles,
        false,
        built.planning,
    ))
}

/// The valid entry for `inputs` by the newest compiler; an error when only damaged ones exist.
fn newest(cache: &Cache, inputs: &Inputs) -> Result<Option<CacheEntry>, CacheError> {
    let (mut found, mut broken) = cache.find_inputs(&inputs.hash)?;
    if found.is_empty() && !broken.is_empty() {
        // A damaged entry of other inputs is no reason to fail; one of these inputs is.
        let mine = broken.iter().position(|e| match e {
            CacheError::Corrupt { entry, .. } | CacheError::Format { entry, .. } => {
                manifest_inputs(entry).as_ref() == Some(&inputs.hash)
            }
            _ => false,
        });
        if let Some(i) = mine {
            return Err(broken.swap_remove(i));
        }
    }
    Ok((!found.is_empty()).then(|| found.remove(0)))
}

/// The inputs hash a (possibly damaged) entry's manifest claims, if readable.
fn manifest_inputs(dir: &Path) -> Option<InputsHash> {
    let text = std::fs::read(dir.join(crate::cache::manifest::MANIFEST_FILE)).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&text).ok()?;
    serde_json::from_value(v.get("inputs")?.clone()).ok()
}

struct Built {
    plan: Plan,
    reports: Vec<CompileReport>,
    compiles: usize,
    planning: Option<ProfiledPlanning>,
    warnings: Vec<String>,
}

/// What the user should know about compile-profiled and measured planning.
fn planning_warnings(planning: Option<&ProfiledPlanning>) -> Vec<String> {
    planning
        .map(|p| {
            p.excluded
                .iter()
                .map(|x| format!("candidate segment excluded from the plan: {x}"))
                .collect()
        })
        .unwrap_or_default()
}

/// Builds the entry's files into `dir`.
fn build(
    builder: &Builder,
    compiler: &Compiler,
    inputs: &Inputs,
    dir: &Path,
    work_parent: &Path,
    progress: Progress<'_>,
) -> Result<Built, CompileError> {
    let settings = builder.compile_settings();
    let mut options = settings.driver_options();
    // The compiles' temporary directories, inside the cache (absolute: the compiler runs in
    // its own working directory), whose paths are stripped from the logs kept.
    let work = tempfile::Builder::new()
        .prefix("tmp-work-")
        .tempdir_in(work_parent)
        .map_err(|e| CacheError::io(work_parent, "create a temporary directory in", e))?;
    let work_root = work
        .path()
        .canonicalize()
        .map_err(|e| CacheError::io(work.path(), "resolve", e))?;
    options.temp_root = Some(work_root.clone());
    let mut memo = Candidates::new(
        &inputs.model_sha256,
        &compiler.version().to_string(),
        &settings.key_json().to_string(),
    );
    let mut warnings = Vec::new();
    // The devices are looked for first, so that a missing one fails before any compile.
    let timer = match &settings.measure {
        Some(m) => {
            let config = m.backend.clone().unwrap_or_else(BackendConfig::from_env);
            match EdgeTpuTimer::open(&config, m.timing) {
                Ok(t) => Some(t),
                Err(e) if m.skip_without_device => {
                    warnings.push(format!(
                        "measured planning skipped: no usable Edge TPU ({e}); the plan is compile-profiled only"
                    ));
                    None
                }
                Err(source) => return Err(CompileError::NoEdgeTpu { source }),
            }
        }
        None => None,
    };
    let (final_builder, planning) = if settings.compile_profiled || settings.measure.is_some() {
        let profile = dir.join(format!("{}_profile.json", inputs.stem));
        let (mut b, mut p) = profiled::plan_with_compiles(
            builder, compiler, &options, progress, &profile, &mut memo,
        )?;
        if let (Some(timer), Some(m)) = (&timer, &settings.measure) {
            let measuring = measure::Measuring {
                builder,
                compiler,
                options: &options,
                progress,
                profile_path: &profile,
                timer,
                settings: m,
            };
            let (refined, record) = measuring.refine(b, &mut memo, &mut p.excluded)?;
            b = refined;
            p.measured = Some(record);
        }
        (b, Some(p))
    } else {
        (builder.clone(), None)
    };
    let split = final_builder.clone().out_dir(dir).split()?;
    let mut plan = split.plan;
    let mut jobs = Vec::new();
    for (seg, path) in plan.segments.iter().zip(&split.segment_paths) {
        if seg.device() == tpupipe_runtime::plan::Device::Cpu {
            // A CPU stage stays as its .tflite, run by the interpreter.
            continue;
        }
        let stem = outputs::segment_stem(&seg.file);
        if memo.reusable(seg.op_range, stem).is_none() {
            jobs.push(SegmentJob {
                index: seg.index,
                stem: stem.to_string(),
                model: std::fs::read(path).map_err(|source| Error::Read {
                    path: path.clone(),
                    source,
                })?,
            });
        }
    }
    progress(&CompileEvent::CompilingSegments { count: jobs.len() });
    let fresh = all_ok(run_jobs(compiler, &jobs, &options, progress))
        .map_err(|errors| CompileError::Segments { errors })?;
    let compiles = memo.compiles() + fresh.len();
    warnings.extend(planning_warnings(planning.as_ref()));
    let mut fresh = fresh.into_iter();
    let mut jobs = jobs.iter().peekable();
    let mut compiled: Vec<CompiledSegment> = Vec::with_capacity(plan.segments.len());
    for seg in outputs::tpu_segments(&plan) {
        if jobs.peek().is_some_and(|j| j.index == seg.index) {
            jobs.next();
            compiled.push(fresh.next().expect("one result per job"));
        } else {
            let stem = outputs::segment_stem(&seg.file);
            let c = memo
                .reusable(seg.op_range, stem)
                .expect("segments without a job were compiled during planning");
            compiled.push(c.clone());
        }
    }
    let plan_file = outputs::plan_name(&inputs.stem);
    outputs::write_compiled(dir, &mut plan, &plan_file, &compiled, &work_root)?;
    if let Some(p) = &planning {
        let path = dir.join(outputs::planning_name(&inputs.stem));
        let text = serde_json::to_string_pretty(p).expect("the planning record serializes");
        std::fs::write(&path, text + "\n").map_err(|source| Error::Write { path, source })?;
    }
    Ok(Built {
        plan,
        reports: compiled.into_iter().map(|c| c.report).collect(),
        compiles,
        planning,
        warnings,
    })
}

/// Copies the entry's files into `out_dir`.
fn copy_out(entry: &CacheEntry, out_dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(out_dir).map_err(|source| Error::CreateDir {
        path: out_dir.to_path_buf(),
        source,
    })?;
    for f in &entry.manifest.files {
        let to = out_dir.join(&f.path);
        std::fs::copy(entry.dir.join(&f.path), &to).map_err(|source| Error::Write {
            path: to.clone(),
            source,
        })?;
    }
    Ok(())
}

/// The outcome of a build found in the cache.
fn from_entry(
    entry: &CacheEntry,
    inputs: &Inputs,
    progress: Progress<'_>,
    mut warnings: Vec<String>,
) -> Result<CompileOutcome, CompileError> {
    progress(&CompileEvent::CacheHit {
        entry: entry.dir.clone(),
    });
    let plan_path = entry.plan_path();
    let text =
        std::fs::read_to_string(&plan_path).map_err(|e| CacheError::io(&plan_path, "read", e))?;
    let plan = Plan::from_json(&text).map_err(|e| CacheError::Corrupt {
        entry: entry.dir.clone(),
        file: entry.manifest.plan.clone(),
        problem: format!("is not a plan: {e}"),
    })?;
    let reports = outputs::read_reports(&entry.dir, &plan)
        .map_err(|e| CompileError::Segments { errors: vec![e] })?;
    let planning = std::fs::read(entry.dir.join(outputs::planning_name(&inputs.stem)))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    copy_out(entry, &inputs.out_dir)?;
    warnings.extend(planning_warnings(planning.as_ref()));
    warnings.extend(outputs::build_warnings(&plan, &reports));
    Ok(outcome(
        inputs, entry, plan, reports, warnings, 0, true, planning,
    ))
}

#[allow(clippy::too_many_arguments)]
fn outcome(
    inputs: &Inputs,
    entry: &CacheEntry,
    plan: Plan,
    reports: Vec<CompileReport>,
    warnings: Vec<String>,
    compiles: usize,
    from_cache: bool,
    planning: Option<ProfiledPlanning>,
) -> CompileOutcome {
    let out = |name: String| inputs.out_dir.join(name);
    CompileOutcome {
        plan_path: out(outputs::plan_name(&inputs.stem)),
        segment_paths: plan.segments.iter().map(|s| out(s.file.clone())).collect(),
        edgetpu_paths: outputs::tpu_segments(&plan)
            .map(|s| out(outputs::edgetpu_name(&s.file)))
            .collect(),
        log_paths: outputs::tpu_segments(&plan)
            .map(|s| out(outputs::log_name(&s.file)))
            .collect(),
        plan,
        reports,
        warnings,
        compiles,
        from_cache,
        cache_entry: entry.dir.clone(),
        compiler_version: entry.manifest.compiler_version.clone(),
        planning,
    }
}

impl Builder {
    /// [`Builder::compile`] with a progress callback (called from the compile threads).
    pub fn compile_with_progress(
        &self,
        progress: Progress<'_>,
    ) -> Result<CompileOutcome, CompileError> {
        compile(self, progress)
    }

    /// The cached build of this builder's model and options, without compiling: the entry by
    /// the newest compiler, verified; `Ok(None)` when there is none.
    pub fn cached(&self) -> Result<Option<CacheEntry>, CompileError> {
        let inputs = inputs(self)?;
        let cache = Cache::new(self.compile_settings().cache_root());
        Ok(newest(&cache, &inputs)?)
    }
}
