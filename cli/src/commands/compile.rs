//! `tpupipe compile MODEL --tpus N --out DIR`: plan, split and compile every segment with
//! `edgetpu_compiler`, through the artifact cache (`.tpupipe/` in the current directory, or
//! `--cache-dir`, or `TPUPIPE_CACHE_DIR`).
//!
//! Progress: one bar per segment on a terminal (indicatif), plain lines on stderr otherwise.
//! `--json` prints the plan, the compiler's reports and the warnings as one JSON document.

use crate::args::{CostArgs, SearchArgs, StrategyArg};
use anyhow::{bail, Context as _};
use clap::Args;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;
use tpupipe_compiler::cache::{CACHE_DIR_ENV, CACHE_DIR_NAME};
use tpupipe_compiler::compile::measure::timer::Timing;
use tpupipe_compiler::compile::measure::MeasureSettings;
use tpupipe_compiler::compile::CompileEvent;
use tpupipe_compiler::edgetpu::CompileReport;
use tpupipe_compiler::{Builder, CompileOutcome};
use tpupipe_runtime::ByteCount;

/// Arguments of `tpupipe compile`.
#[derive(Debug, Args)]
pub struct CompileArgs {
    /// The model file (a full-integer quantized .tflite, not yet compiled for the Edge TPU).
    pub model: PathBuf,
    /// Number of segments, one per Edge TPU.
    #[arg(long, short = 'n')]
    pub tpus: usize,
    /// Output directory (created if missing).
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// How to choose the cuts (with --profile-compiles: the first plan, which is then refined).
    #[arg(long, value_enum, default_value_t = StrategyArg::Balanced)]
    pub strategy: StrategyArg,
    /// Re-plan with the compiler's exact on-chip/off-chip bytes until the plan is stable, so
    /// that no segment streams parameters when the TPUs can hold them.
    #[arg(long)]
    pub profile_compiles: bool,
    /// After --profile-compiles, run the candidate segments around the plan on the attached
    /// Edge TPUs, feed their measured latencies to the planner and re-plan until stable
    /// (implies --profile-compiles). Fails without an Edge TPU.
    #[arg(long)]
    pub measure: bool,
    /// With --measure and no usable Edge TPU: warn and build without measuring.
    #[arg(long, requires = "measure")]
    pub measure_skip_without_device: bool,
    /// Timed runs per measured segment (their median is its latency).
    #[arg(long, default_value_t = 9, requires = "measure")]
    pub measure_repeats: usize,
    /// Most segment measurements of --measure.
    #[arg(long, default_value_t = 64, requires = "measure")]
    pub max_measurements: usize,
    /// Most candidate compiles of --profile-compiles.
    #[arg(long, default_value_t = tpupipe_compiler::compile::settings::DEFAULT_MAX_CANDIDATE_COMPILES)]
    pub max_compiles: usize,
    /// The artifact cache (default: TPUPIPE_CACHE_DIR, else ./.tpupipe).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Do not run the compiler: build from the cache alone (also TPUPIPE_OFFLINE=1).
    #[arg(long)]
    pub offline: bool,
    /// edgetpu_compiler's --min_runtime_version.
    #[arg(long)]
    pub min_runtime_version: Option<u32>,
    /// Let the compiler search for the largest mappable part (--search_delegate with this
    /// --delegate_search_step; compiler 16.0 on).
    #[arg(long)]
    pub search_delegate: Option<u32>,
    /// edgetpu_compiler's --timeout_sec per segment.
    #[arg(long)]
    pub compiler_timeout: Option<u32>,
    /// The cost-model flags.
    #[command(flatten)]
    pub cost: CostArgs,
    /// How the plan may use the TPUs.
    #[command(flatten)]
    pub search: SearchArgs,
    /// Print the plan, reports and warnings as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The cache directory of the command line: `--cache-dir`, else `TPUPIPE_CACHE_DIR`, else
/// `.tpupipe` in the current directory.
pub fn cache_dir(flag: Option<&PathBuf>) -> PathBuf {
    flag.cloned()
        .or_else(|| {
            std::env::var_os(CACHE_DIR_ENV)
                .filter(|d| !d.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from(CACHE_DIR_NAME))
}

/// Shows compile progress: bars on a terminal, lines otherwise.
struct Display {
    bars: Option<MultiProgress>,
    live: Mutex<HashMap<String, ProgressBar>>,
}

impl Display {
    fn new() -> Display {
        let bars = std::io::stderr().is_terminal().then(MultiProgress::new);
        Display {
            bars,
            live: Mutex::new(HashMap::new()),
        }
    }

    fn line(&self, text: String) {
        match &self.bars {
            Some(m) => {
                let _ = m.println(text);
            }
            None => eprintln!("{text}"),
        }
    }

    fn event(&self, e: &CompileEvent) {
        match e {
            CompileEvent::CacheHit { entry } => self.line(format!(
                "cached build {} (no compiler run)",
                entry.display()
            )),
            CompileEvent::PlanningRound { round, candidates } => self.line(format!(
                "planning round {}: compiling {candidates} candidate segment(s)",
                round + 1
            )),
            CompileEvent::CompilingSegments { count } if *count > 0 => {
                self.line(format!("compiling {count} segment(s)"))
            }
            CompileEvent::CompilingSegments { .. } => {}
            CompileEvent::CandidateExcluded { op_range, reason } => self.line(format!(
                "candidate segment ops [{}, {}) excluded: {reason}",
                op_range[0], op_range[1]
            )),
            CompileEvent::MeasuringRound { round, segments } => self.line(format!(
                "measuring round {}: running {segments} candidate segment(s) on the Edge TPUs",
                round + 1
            )),
            CompileEvent::SegmentMeasured {
                op_range,
                latency_ms,
            } => self.line(format!(
                "measured ops [{}, {}): {latency_ms:.3} ms",
                op_range[0], op_range[1]
            )),
            CompileEvent::SegmentStarted { index, stem } => match &self.bars {
                Some(m) => {
                    let bar = m.add(ProgressBar::new_spinner());
                    bar.set_style(
                        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    bar.set_message(format!("segment {index} ({stem})"));
                    bar.enable_steady_tick(Duration::from_millis(120));
                    self.live
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(stem.clone(), bar);
                }
                None => eprintln!("compiling segment {index} ({stem})"),
            },
            CompileEvent::SegmentFinished { index, stem, error } => {
                let verdict = if error.is_some() { "failed" } else { "done" };
                let bar = self
                    .live
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(stem);
                match bar {
                    Some(b) => {
                        b.finish_with_message(format!("segment {index} ({stem}): {verdict}"))
                    }
                    None => eprintln!("segment {index} ({stem}): {verdict}"),
                }
            }
        }
    }
}

/// A report as JSON.
pub fn report_json(r: &CompileReport) -> serde_json::Value {
    serde_json::json!({
        "compiler_version": r.compiler_version.map(|v| v.to_string()),
        "compile_ms": r.compile_ms,
        "on_chip_bytes": r.on_chip.bytes(),
        "off_chip_bytes": r.off_chip.bytes(),
        "remaining_bytes": r.remaining.map(|b| b.bytes()),
        "available_bytes": r.available.map(|b| b.bytes()),
        "edgetpu_subgraphs": r.edgetpu_subgraphs,
        "total_ops": r.total_ops,
        "ops_on_tpu": r.ops_on_tpu,
        "ops_on_cpu": r.ops_on_cpu,
        "operations": r.operations.iter().map(|o| serde_json::json!({
            "operator": o.operator, "count": o.count, "status": o.status.text(),
        })).collect::<Vec<_>>(),
        "warnings": r.warnings,
    })
}

/// The whole outcome as JSON.
pub fn outcome_json(o: &CompileOutcome) -> serde_json::Value {
    serde_json::json!({
        "plan_path": o.plan_path,
        "plan": o.plan,
        "reports": o.reports.iter().map(report_json).collect::<Vec<_>>(),
        "warnings": o.warnings,
        "compiles": o.compiles,
        "from_cache": o.from_cache,
        "cache_entry": o.cache_entry,
        "compiler_version": o.compiler_version,
        "planning": o.planning,
    })
}

/// The text printed after a compile.
pub fn summary(o: &CompileOutcome) -> String {
    let mut out = crate::commands::split::summary(&o.plan);
    out.push_str(&format!(
        "{:>3}  {:>10}  {:>10}  {:>7}  compiled file\n",
        "seg", "on chip", "streamed", "CPU ops"
    ));
    let tpu_segments = o
        .plan
        .segments
        .iter()
        .filter(|s| s.device() == tpupipe_runtime::plan::Device::EdgeTpu);
    for (s, r) in tpu_segments.zip(&o.reports) {
        out.push_str(&format!(
            "{:>3}  {:>10}  {:>10}  {:>7}  {}\n",
            s.index,
            ByteCount(r.on_chip.bytes()).to_string(),
            ByteCount(r.off_chip.bytes()).to_string(),
            r.ops_on_cpu,
            s.edgetpu_file.as_deref().unwrap_or("-")
        ));
    }
    if let Some(p) = &o.planning {
        out.push_str(&format!(
            "compile-profiled planning: {} candidate compile(s), {} round(s){}{}\n",
            p.candidate_compiles,
            p.rounds.len(),
            match p.change() {
                Some((a, b)) => format!(", cuts {a:?} -> {b:?}"),
                None => ", plan unchanged".to_string(),
            },
            if p.stable {
                ""
            } else {
                " (stopped at the compile limit)"
            }
        ));
        if let Some(m) = &p.measured {
            out.push_str(&m.summary());
            out.push('\n');
        }
    }
    out.push_str(&if o.from_cache {
        format!(
            "from the cache: {} (edgetpu_compiler {})\n",
            o.cache_entry.display(),
            o.compiler_version
        )
    } else {
        format!(
            "{} compile(s) with edgetpu_compiler {}; cached in {}\n",
            o.compiles,
            o.compiler_version,
            o.cache_entry.display()
        )
    });
    out
}

/// Runs `tpupipe compile`.
pub fn run(args: CompileArgs) -> anyhow::Result<()> {
    if args.tpus == 0 {
        bail!("--tpus must be at least 1");
    }
    let mut builder = Builder::new(&args.model)
        .tpus(args.tpus)
        .strategy(args.strategy.into())
        .out_dir(&args.out)
        .compile_profiled(args.profile_compiles)
        .max_candidate_compiles(args.max_compiles)
        .cache_dir(cache_dir(args.cache_dir.as_ref()))
        .offline(args.offline);
    if args.measure {
        builder = builder.measure(Some(MeasureSettings {
            timing: Timing {
                repeats: args.measure_repeats.max(1),
                ..Timing::default()
            },
            max_measurements: args.max_measurements,
            skip_without_device: args.measure_skip_without_device,
            ..MeasureSettings::default()
        }));
    }
    if let Some(v) = args.min_runtime_version {
        builder = builder.min_runtime_version(v);
    }
    if let Some(k) = args.search_delegate {
        builder = builder.search_delegate(k);
    }
    if let Some(t) = args.compiler_timeout {
        builder = builder.compiler_timeout_sec(t);
    }
    let builder = args.search.apply(args.cost.apply(builder));
    let display = Display::new();
    let outcome = builder
        .compile_with_progress(&|e| display.event(e))
        .with_context(|| format!("cannot compile {}", args.model.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&outcome_json(&outcome))?);
    } else {
        print!("{}", summary(&outcome));
        for w in &outcome.warnings {
            println!("warning: {w}");
        }
        println!("plan: {}", outcome.plan_path.display());
    }
    Ok(())
}
