//! Splitting a model: model + cuts -> segment files + plan.
//!
//! [`Split`] holds everything about one split that does not need the segment bytes (ranges,
//! segment I/O, routing) and writes the segments one at a time, so that at most one segment is in
//! memory besides the memory-mapped model. [`split_to_dir`] is what `tpupipe split` runs.

use crate::cost::from_graph::GraphCost;
use crate::cost::{Clock, CostModel, HostLink, Interface};
use crate::graph::{Graph, GraphError, SegmentIo};
use crate::model_file::{LoadError, ModelFile};
use crate::plan_json::{PlanJson, RouteJson, SegmentJson, Strategy, PLAN_FORMAT};
use crate::planner::annotate::annotate_plan;
use crate::planner::context::{PlanContext, PlanningError, SearchOptions};
use crate::planner::layout::Layout;
use crate::planner::model_cost::ModelCost;
use crate::planner::profile::{Profile, ProfileError};
use crate::planner::strategy::Strategy as PlanStrategy;
use crate::planner::{params, Cuts, PlanError};
use crate::segment::{self, Route, SegmentBytes, SegmentError};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use thiserror::Error;
use tpupipe_runtime::{ModelError, ModelView};

/// Why a split failed.
#[derive(Debug, Error)]
pub enum SplitError {
    /// The model file could not be read or is not a valid model.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The model cannot be split (compiled, several subgraphs, dynamic shapes).
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The graph could not be analysed.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// The segment count or the cuts are not usable.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A segment could not be written.
    #[error(transparent)]
    Segment(#[from] SegmentError),
    /// The planner could not choose or cost the cuts.
    #[error(transparent)]
    Planning(#[from] PlanningError),
    /// The profile is unusable.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// The output directory could not be created.
    #[error("cannot create output directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// An output file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// A split of a model at given cuts, ready to write its segments.
pub struct Split<'a> {
    model: ModelView<'a>,
    graph: &'a Graph,
    cuts: Cuts,
    ios: Vec<SegmentIo>,
    routes: Vec<Route>,
    model_file: String,
}

impl<'a> Split<'a> {
    /// Prepares the split of `model` (whose graph is `graph`) at `cuts`. `model_file` is the
    /// model's file name, recorded in each segment's description.
    pub fn new(
        model: ModelView<'a>,
        graph: &'a Graph,
        cuts: Cuts,
        model_file: &str,
    ) -> Result<Split<'a>, SplitError> {
        model.ensure_splittable()?;
        segment::check_external_buffers(&model)?;
        // Re-validated against this graph, in case the cuts were made for another model.
        let cuts = Cuts::new(cuts.positions().to_vec(), graph.len())?;
        let ios: Vec<SegmentIo> = cuts.segments().map(|r| graph.segment_io(r)).collect();
        let routes = segment::routes(graph, &cuts, &ios)?;
        Ok(Split {
            model,
            graph,
            cuts,
            ios,
            routes,
            model_file: model_file.to_string(),
        })
    }

    /// The cuts.
    pub fn cuts(&self) -> &Cuts {
        &self.cuts
    }

    /// Number of segments.
    pub fn segment_count(&self) -> usize {
        self.cuts.segment_count()
    }

    /// The inputs and outputs of segment `i`.
    pub fn io(&self, i: usize) -> &SegmentIo {
        &self.ios[i]
    }

    /// The routes of the tensors crossing segment boundaries.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Writes segment `i` into memory.
    pub fn write_segment(&self, i: usize) -> Result<SegmentBytes, SegmentError> {
        let spec = segment::spec(self.graph, &self.cuts, i, &self.ios[i], &self.model_file);
        segment::write_segment(&self.model, &spec, |t| self.graph.tensor_name(t))
    }

    /// The plan of this split. `file_bytes[i]` is the size of segment `i` (0 if unknown).
    pub fn plan(
        &self,
        strategy: Strategy,
        model_sha256: &str,
        stem: &str,
        file_bytes: &[u64],
    ) -> PlanJson {
        let g = self.graph;
        let names = |list: &[tpupipe_runtime::TensorId]| -> Vec<String> {
            list.iter().map(|&t| g.tensor_name(t).to_string()).collect()
        };
        let n = self.segment_count();
        let sg = self.model.main_subgraph();
        let segments = (0..n)
            .map(|i| {
                let r = self.cuts.segment(i);
                let io = &self.ios[i];
                SegmentJson {
                    index: i,
                    file: segment::file_name(stem, i, n),
                    op_range: [r.start, r.end],
                    first_op: g.order()[r.start].0,
                    last_op: g.order()[r.end - 1].0,
                    op_count: r.len(),
                    inputs: names(&io.inputs),
                    outputs: names(&io.outputs),
                    param_bytes: g.param_bytes(r.clone()).bytes(),
                    macs: g.macs(r.clone()),
                    input_bytes: io.inputs.iter().map(|&t| g.tensor_bytes(t).bytes()).sum(),
                    output_bytes: io.outputs.iter().map(|&t| g.tensor_bytes(t).bytes()).sum(),
                    file_bytes: file_bytes.get(i).copied().unwrap_or(0),
                    on_chip_bytes: None,
                    off_chip_bytes: None,
                    latency_ms: None,
                    replicas: None,
                }
            })
            .collect();
        let routing = self
            .routes
            .iter()
            .map(|r| RouteJson {
                tensor: g.tensor_name(r.tensor).to_string(),
                bytes: r.bytes.bytes(),
                shape: g.tensor_shape(r.tensor).to_vec(),
                dtype: sg.tensor(r.tensor).dtype().name().to_string(),
                producer: r.producer,
                consumers: r.consumers.clone(),
                model_output: r.model_output,
            })
            .collect();
        PlanJson {
            format: PLAN_FORMAT,
            model: self.model_file.clone(),
            model_sha256: model_sha256.to_string(),
            tpus: n,
            tpus_used: None,
            strategy,
            cuts: self.cuts.positions().to_vec(),
            interface: None,
            clock: None,
            host_link: None,
            shared_wire_ms: None,
            bottleneck_ms: None,
            latency_ms: None,
            throughput_per_s: None,
            single_tpu_ms: None,
            params_bottleneck_ms: None,
            speedup_vs_one_tpu: None,
            speedup_vs_params: None,
            op_count: g.len(),
            model_inputs: names(g.model_inputs()),
            model_outputs: names(g.model_outputs()),
            segments,
            routing,
        }
    }
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The cuts a request asks for: the given ones (strategy `manual`), else the equal-parameter
/// split into `tpus` segments (strategy `params`). When both are given they must agree.
pub fn choose_cuts(
    graph: &Graph,
    tpus: Option<usize>,
    cuts: Option<Vec<usize>>,
) -> Result<(Cuts, Strategy), PlanError> {
    match (tpus, cuts) {
        (Some(n), Some(c)) => {
            Cuts::check_segment_count(n, graph.len())?;
            if c.len() + 1 != n {
                return Err(PlanError::WrongCutCount {
                    segments: n,
                    cuts: c.len(),
                });
            }
            Ok((Cuts::new(c, graph.len())?, Strategy::Manual))
        }
        (None, Some(c)) => Ok((Cuts::new(c, graph.len())?, Strategy::Manual)),
        (Some(n), None) => {
            let c = params::params_cuts(graph, n)?;
            Ok((Cuts::new(c, graph.len())?, Strategy::Params))
        }
        (None, None) => Err(PlanError::NoSegments),
    }
}

/// What `tpupipe split` was asked to do.
#[derive(Debug, Clone)]
pub struct SplitRequest {
    /// Number of segments; may be omitted when `cuts` is given.
    pub tpus: Option<usize>,
    /// Explicit cut positions.
    pub cuts: Option<Vec<usize>>,
    /// The output directory (created if missing).
    pub out_dir: PathBuf,
}

/// How [`split_to_dir_with`] chooses cuts when none are given, and how it costs the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanOptions {
    /// The strategy for `tpus` segments (ignored when cuts are given).
    pub strategy: PlanStrategy,
    /// A profile of measured segment costs (required by `profiled`).
    pub profile: Option<PathBuf>,
    /// The link the cost figures assume.
    pub interface: Interface,
    /// The TPU clock the cost figures assume.
    pub clock: Clock,
    /// The host wiring the cost figures assume.
    pub host_link: HostLink,
    /// How `balanced` and `profiled` may use the TPUs (fewer, replicated segments).
    pub search: SearchOptions,
}

impl Default for PlanOptions {
    /// The `params` split costed for USB 3 at the max clock (what [`split_to_dir`] does).
    fn default() -> Self {
        PlanOptions {
            strategy: PlanStrategy::Params,
            profile: None,
            interface: Interface::Usb3,
            clock: Clock::Max,
            host_link: HostLink::Dedicated,
            search: SearchOptions::EXACT,
        }
    }
}

/// What [`split_to_dir`] wrote.
#[derive(Debug, Clone)]
pub struct SplitOutcome {
    /// The plan (also written to `plan_path`).
    pub plan: PlanJson,
    /// The segment files, in order.
    pub segment_paths: Vec<PathBuf>,
    /// The plan file.
    pub plan_path: PathBuf,
}

/// Splits `model` as `request` says: writes `<stem>_segment_<i>_of_<N>.tflite` for each segment
/// and `<stem>_plan.json` into the output directory. Without cuts, uses the equal-parameter
/// split; the plan carries the cost model's figures ([`PlanOptions::default`]).
pub fn split_to_dir(model: &ModelFile, request: &SplitRequest) -> Result<SplitOutcome, SplitError> {
    split_to_dir_with(model, request, &PlanOptions::default())
}

/// [`split_to_dir`] with a choice of strategy, profile, link and clock.
pub fn split_to_dir_with(
    model: &ModelFile,
    request: &SplitRequest,
    options: &PlanOptions,
) -> Result<SplitOutcome, SplitError> {
    let view = model.view()?;
    view.ensure_splittable()?;
    segment::check_external_buffers(&view)?;
    let graph = Graph::build(&view)?;
    let file_name = model
        .path()
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model.tflite".to_string());
    let profile = match &options.profile {
        Some(path) => Some(Profile::read(path)?.validate(
            path,
            &file_name,
            &sha256_hex(model.bytes()),
            graph.len(),
        )?),
        None => None,
    };
    let source = GraphCost::new(&graph);
    let host_link = options.host_link;
    let cost = ModelCost::new(
        &source,
        CostModel::new(options.interface, options.clock).with_host_link(host_link),
    );
    let ctx = PlanContext::new(cost, Some(&graph), profile);
    let (layout, strategy, requested) = match (request.cuts.is_some(), options.strategy) {
        (false, PlanStrategy::Balanced | PlanStrategy::Profiled) => {
            let n = request.tpus.ok_or(PlanError::NoSegments)?;
            let layout = ctx.layout(options.strategy, n, options.search)?;
            let strategy = match options.strategy {
                PlanStrategy::Profiled => Strategy::Profiled,
                _ => Strategy::Balanced,
            };
            (layout, strategy, n)
        }
        _ => {
            let (cuts, strategy) = choose_cuts(&graph, request.tpus, request.cuts.clone())?;
            let n = cuts.segment_count();
            (Layout::pipeline(cuts.positions().to_vec()), strategy, n)
        }
    };
    let cuts = Cuts::new(layout.cuts.clone(), graph.len())?;
    let summary = ctx.summarize_layout(options.strategy, &layout, requested)?;
    let split = Split::new(view, &graph, cuts, &file_name)?;

    let dir = &request.out_dir;
    std::fs::create_dir_all(dir).map_err(|source| SplitError::CreateDir {
        path: dir.clone(),
        source,
    })?;
    let stem = model.stem();
    let n = split.segment_count();
    let mut segment_paths = Vec::with_capacity(n);
    let mut sizes = Vec::with_capacity(n);
    // Hash the model on a second thread while the segments are written (the hash costs about as
    // much as writing the segments).
    let sha = std::thread::scope(|scope| -> Result<String, SplitError> {
        let hasher = scope.spawn(|| sha256_hex(model.bytes()));
        for i in 0..n {
            let bytes = split.write_segment(i)?;
            let path = dir.join(segment::file_name(&stem, i, n));
            write_file(&path, bytes.as_bytes())?;
            sizes.push(bytes.len() as u64);
            segment_paths.push(path);
        }
        Ok(hasher
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    })?;
    let mut plan = split.plan(strategy, &sha, &stem, &sizes);
    annotate_plan(
        &mut plan,
        &summary,
        options.interface,
        options.clock,
        host_link,
    );
    let plan_path = dir.join(format!("{stem}_plan.json"));
    write_file(&plan_path, plan.to_json().as_bytes())?;
    Ok(SplitOutcome {
        plan,
        segment_paths,
        plan_path,
    })
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), SplitError> {
    std::fs::write(path, bytes).map_err(|source| SplitError::Write {
        path: path.to_path_buf(),
        source,
    })
}
