//! [`Builder`]: the one entry point from a model file to its plan and segments.
//!
//! It is used three ways, all through the same calls:
//!
//! - **The `tpupipe` command line** maps its flags onto a `Builder` and prints what a terminal
//!   returns (`tpupipe plan` calls [`Builder::plan`], `tpupipe split` calls [`Builder::split`]).
//! - **A Cargo build script** (`build.rs`) runs a `Builder` on a model of the crate and writes
//!   what it produces into `OUT_DIR`.
//! - **The `tpupipe_model!` macro** runs a `Builder` at expansion time over the model named in
//!   its arguments.
//!
//! ```no_run
//! use tpupipe_compiler::{Builder, Strategy};
//!
//! # fn main() -> Result<(), tpupipe_compiler::Error> {
//! // Where would four Edge TPUs cut this model, and how fast would it run?
//! let report = Builder::new("models/net.tflite")
//!     .tpus(4)
//!     .strategy(Strategy::Balanced)
//!     .plan()?;
//! println!("{:.1} inferences/s", report.throughput_per_s);
//!
//! // Write the four segments and their plan.
//! let split = Builder::new("models/net.tflite").tpus(4).out_dir("out").split()?;
//! println!("plan written to {}", split.plan_path.display());
//! # Ok(())
//! # }
//! ```
//!
//! The walk goes one way: open the file ([`ModelFile`]), build its graph and read the profile
//! ([`LoadedModel`]), cost it ([`CostModel`]), choose a layout ([`PlanContext`]), and for
//! [`Builder::split`] cut it ([`Split`]) and write the files.

use crate::cost::{Clock, CostModel, HostLink, Interface};
use crate::loaded_model::LoadedModel;
use crate::model_file::ModelFile;
use crate::planner::annotate::annotate_plan;
use crate::planner::context::{PlanContext, PlanSummary, SearchOptions};
use crate::planner::layout::Layout;
use crate::planner::report::PlanReport;
use crate::planner::{Cuts, PlanError};
use crate::segment;
use crate::split::{choose_cuts, Split};
use crate::Error;
use std::path::{Path, PathBuf};
use tpupipe_runtime::plan::{Plan, Strategy};

/// Where the model comes from.
#[derive(Debug, Clone)]
enum ModelSource {
    /// A file, memory-mapped.
    Path(PathBuf),
    /// Bytes already in memory, with the file name plans record.
    Bytes { name: PathBuf, bytes: Vec<u8> },
}

/// What to do with a model: how many TPUs, how to choose the cuts, what hardware to cost for,
/// and where to write. Defaults: the `balanced` strategy, USB 3 at the max clock, a dedicated
/// wire per TPU, one segment per TPU.
#[derive(Debug, Clone)]
pub struct Builder {
    model: ModelSource,
    tpus: Option<usize>,
    cuts: Option<Vec<usize>>,
    strategy: Strategy,
    profile: Option<PathBuf>,
    interface: Interface,
    clock: Clock,
    host_link: HostLink,
    search: SearchOptions,
    host_cores: Option<usize>,
    out_dir: Option<PathBuf>,
    pub(crate) compile: crate::compile::CompileSettings,
    pub(crate) host_cost: crate::placement::HostCostSetting,
}

/// What [`Builder::split`] wrote.
#[derive(Debug, Clone)]
pub struct SplitOutcome {
    /// The plan (also written to `plan_path`).
    pub plan: Plan,
    /// The segment files, in order.
    pub segment_paths: Vec<PathBuf>,
    /// The plan file.
    pub plan_path: PathBuf,
}

impl Builder {
    /// A builder for the model file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Builder {
        Builder::with_source(ModelSource::Path(path.into()))
    }

    /// A builder for a model already in memory; `file_name` (e.g. `net.tflite`) names it in
    /// plans and names the output files.
    pub fn from_bytes(file_name: impl Into<PathBuf>, bytes: Vec<u8>) -> Builder {
        Builder::with_source(ModelSource::Bytes {
            name: file_name.into(),
            bytes,
        })
    }

    fn with_source(model: ModelSource) -> Builder {
        Builder {
            model,
            tpus: None,
            cuts: None,
            strategy: Strategy::Balanced,
            profile: None,
            interface: Interface::default(),
            clock: Clock::default(),
            host_link: HostLink::default(),
            search: SearchOptions::EXACT,
            host_cores: None,
            out_dir: None,
            compile: crate::compile::CompileSettings::default(),
            host_cost: crate::placement::HostCostSetting::default(),
        }
    }

    /// Number of Edge TPUs (segments, unless [`Builder::allow_fewer`] or
    /// [`Builder::replicate`] let the planner use them otherwise).
    pub fn tpus(mut self, tpus: usize) -> Builder {
        self.tpus = Some(tpus);
        self
    }

    /// Explicit cut positions (strategy `manual`); cut `c` splits before operator position `c`
    /// of the execution order. With [`Builder::tpus`] too, the two must agree.
    pub fn cuts(mut self, cuts: Vec<usize>) -> Builder {
        self.cuts = Some(cuts);
        self
    }

    /// How to choose the cuts when none are given (default `balanced`).
    pub fn strategy(mut self, strategy: Strategy) -> Builder {
        self.strategy = strategy;
        self
    }

    /// A profile of measured or compiler-reported segment costs (`docs/profile-format.md`);
    /// needed by `profiled`, used by every strategy where it has figures.
    pub fn profile(mut self, path: impl Into<PathBuf>) -> Builder {
        self.profile = Some(path.into());
        self
    }

    /// How the host reaches the TPUs (default USB 3).
    pub fn interface(mut self, interface: Interface) -> Builder {
        self.interface = interface;
        self
    }

    /// The TPU clock (default max).
    pub fn clock(mut self, clock: Clock) -> Builder {
        self.clock = clock;
        self
    }

    /// Whether the TPUs share one host wire (default dedicated).
    pub fn host_link(mut self, host_link: HostLink) -> Builder {
        self.host_link = host_link;
        self
    }

    /// Lets `balanced` and `profiled` use fewer TPUs when more stages would be slower.
    pub fn allow_fewer(mut self, allow: bool) -> Builder {
        self.search.allow_fewer = allow;
        self
    }

    /// Lets `balanced` and `profiled` run copies of a segment on several TPUs, taking
    /// inferences in turn, where that beats more cuts.
    pub fn replicate(mut self, replicate: bool) -> Builder {
        self.search.replicate = replicate;
        self
    }

    /// Where [`Builder::split`] writes (created if missing).
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Builder {
        self.out_dir = Some(dir.into());
        self
    }

    /// The cost model the options describe.
    pub fn cost_model(&self) -> CostModel {
        CostModel::new(self.interface, self.clock).with_host_link(self.host_link)
    }

    /// How the search may use the TPUs.
    pub fn search_options(&self) -> SearchOptions {
        self.search
    }

    /// Opens the model (memory-mapped and verified) without analysing it.
    pub fn open(&self) -> Result<ModelFile, Error> {
        match &self.model {
            ModelSource::Path(p) => ModelFile::open(p),
            ModelSource::Bytes { name, bytes } => ModelFile::from_bytes(name, bytes.clone()),
        }
    }

    /// Opens the model, builds its graph and reads the profile.
    pub fn load(&self) -> Result<LoadedModel, Error> {
        self.with_profile(LoadedModel::new(self.open()?)?)
    }

    /// Host cores the plan's CPU stages share (default: the host's available parallelism). A
    /// plan with more CPU stages than cores charges each `stages / cores` times its host time.
    pub fn host_cores(mut self, cores: usize) -> Builder {
        self.host_cores = Some(cores.max(1));
        self
    }

    fn with_profile(&self, model: LoadedModel) -> Result<LoadedModel, Error> {
        let model = match self.host_cores {
            Some(n) => model.with_host_cores(n),
            None => model,
        };
        let placement = self.placement_of(&model)?;
        let host = self.host_cost_of(&model, &placement, model.host_cores())?;
        let model = model.with_placement(placement, host);
        match &self.profile {
            Some(path) => model.with_profile(path),
            None => Ok(model),
        }
    }

    /// Plans the model: the segments the strategy chooses for [`Builder::tpus`] TPUs (or the
    /// given cuts), with their predicted figures.
    pub fn plan(&self) -> Result<PlanReport, Error> {
        let model = self.load()?;
        self.plan_loaded(&model)
    }

    /// [`Builder::plan`] for a model already loaded (e.g. to plan it several ways).
    pub fn plan_loaded(&self, model: &LoadedModel) -> Result<PlanReport, Error> {
        let (summary, _) = self.summarize(model)?;
        let mut report = PlanReport::new(
            model.name(),
            model.sha256(),
            model.op_count(),
            self.interface,
            self.clock,
            self.host_link,
            &summary,
        );
        if let Some(host) = model.host_cost() {
            report.host_cost_notes = host.notes().to_vec();
        }
        Ok(report)
    }

    /// Splits the model: writes `<stem>_segment_<i>_of_<N>.tflite` for each segment and
    /// `<stem>_plan.json` into [`Builder::out_dir`].
    pub fn split(&self) -> Result<SplitOutcome, Error> {
        let dir = self.out_dir.as_deref().ok_or(Error::NoOutputDir)?;
        let file = self.open()?;
        {
            // What splitting needs, checked before the graph is built.
            let view = file.view()?;
            segment::ensure_splittable(&view).map_err(Error::NotSplittable)?;
            segment::check_external_buffers(&view)?;
        }
        let model = self.with_profile(LoadedModel::new(file)?)?;
        let view = model.file().view()?;
        let (summary, layout) = self.summarize(&model)?;
        let cuts = Cuts::new(layout.cuts.clone(), model.op_count())?;
        let split = Split::new(view, model.graph(), cuts, model.name())?;
        std::fs::create_dir_all(dir).map_err(|source| Error::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let stem = model.file().stem();
        let n = split.segment_count();
        let mut segment_paths = Vec::with_capacity(n);
        let mut sizes = Vec::with_capacity(n);
        // Hash the model on a second thread while the segments are written (the hash costs
        // about as much as writing them).
        std::thread::scope(|scope| -> Result<(), Error> {
            scope.spawn(|| model.sha256().len());
            for i in 0..n {
                let bytes = split.write_segment(i)?;
                let path = dir.join(segment::file_name(&stem, i, n));
                write_file(&path, bytes.as_bytes())?;
                sizes.push(bytes.len() as u64);
                segment_paths.push(path);
            }
            Ok(())
        })?;
        let mut plan = split.plan(summary.strategy, model.sha256(), &stem, &sizes);
        annotate_plan(
            &mut plan,
            &summary,
            self.interface,
            self.clock,
            self.host_link,
        );
        let plan_path = dir.join(format!("{stem}_plan.json"));
        write_file(&plan_path, plan.to_json().as_bytes())?;
        Ok(SplitOutcome {
            plan,
            segment_paths,
            plan_path,
        })
    }

    /// Plans, splits and compiles every segment with `edgetpu_compiler` into
    /// [`Builder::out_dir`], through the artifact cache ([`crate::compile`]).
    pub fn compile(&self) -> Result<crate::compile::CompileOutcome, crate::compile::CompileError> {
        crate::compile::compile(self, &|_| {})
    }

    /// The output directory, the user's profile, and the planning options as they enter the
    /// artifact cache's key (no paths: a profile enters by its contents' hash).
    pub(crate) fn compile_inputs(&self) -> (Option<&Path>, Option<&Path>, serde_json::Value) {
        let profile = self.profile.as_ref().map(|p| match std::fs::read(p) {
            Ok(b) => crate::model_file::sha256_hex(&b),
            Err(_) => "unreadable".to_string(),
        });
        let mut json = serde_json::json!({
            "tpus": self.tpus, "cuts": self.cuts, "strategy": self.strategy.name(),
            "profile_sha256": profile, "interface": self.interface.name(),
            "clock": self.clock.name(), "host_link": self.host_link.name(),
            "allow_fewer": self.search.allow_fewer, "replicate": self.search.replicate,
        });
        // Only when given, so that the keys of builds without it stay as they were.
        if let Some(cores) = self.host_cores {
            json["host_cores"] = cores.into();
        }
        (self.out_dir.as_deref(), self.profile.as_deref(), json)
    }

    /// Build scripts: writes the typed pipeline struct for the model into `OUT_DIR/<stem>.rs`
    /// (CPU segments; see [`crate::codegen::generate::build_script_options`]) and prints the
    /// `cargo:` lines; include it with `include!(concat!(env!("OUT_DIR"), "/<stem>.rs"))`.
    pub fn generate(&self) -> Result<crate::codegen::Generated, crate::codegen::CodegenError> {
        let options = crate::codegen::generate::build_script_options();
        crate::codegen::generate::generate_with(self, &options)
    }

    /// The model file, when the model comes from one.
    pub(crate) fn model_path(&self) -> Option<&Path> {
        match &self.model {
            ModelSource::Path(p) => Some(p),
            ModelSource::Bytes { .. } => None,
        }
    }

    /// The profile file, if any.
    pub(crate) fn profile_path(&self) -> Option<&Path> {
        self.profile.as_deref()
    }

    /// The layout the options choose and its summary.
    fn summarize(&self, model: &LoadedModel) -> Result<(PlanSummary, Layout), Error> {
        model.with_context(self.cost_model(), |ctx| {
            let (layout, strategy, requested) = self.layout(model, ctx)?;
            let summary = ctx.summarize_layout(strategy, &layout, requested)?;
            Ok((summary, layout))
        })
    }

    /// Given cuts (strategy `manual`), or the strategy's layout for the TPUs asked.
    fn layout(
        &self,
        model: &LoadedModel,
        ctx: &PlanContext<'_>,
    ) -> Result<(Layout, Strategy, usize), Error> {
        match &self.cuts {
            Some(cuts) => {
                let (cuts, strategy) = choose_cuts(model.graph(), self.tpus, Some(cuts.clone()))?;
                let n = cuts.segment_count();
                let mut layout = Layout::pipeline(cuts.positions().to_vec());
                // A given segment the compiler would not map whole runs on the CPU.
                if let Some(p) = ctx.placement() {
                    for (i, r) in cuts.segments().enumerate() {
                        if p.sides().tpu_core(r).is_none() {
                            layout.devices[i] = tpupipe_runtime::plan::Device::Cpu;
                        }
                    }
                }
                let n = if layout.tpus() == 0 { n } else { layout.tpus() };
                Ok((layout, strategy, n))
            }
            None => {
                let n = self.tpus.ok_or(PlanError::NoSegments)?;
                Ok((ctx.layout(self.strategy, n, self.search)?, self.strategy, n))
            }
        }
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    std::fs::write(path, bytes).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}
