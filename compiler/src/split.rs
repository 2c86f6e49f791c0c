//! Splitting a model: model + cuts -> segment bytes + plan.
//!
//! [`Split`] holds everything about one split that does not need the segment bytes (ranges,
//! segment I/O, routing) and writes the segments one at a time, so that at most one segment is in
//! memory besides the memory-mapped model. [`Builder::split`](crate::Builder::split) writes them
//! to a directory with their plan.

use crate::graph::{Graph, SegmentIo};
use crate::planner::{params, Cuts, PlanError};
use crate::segment::{self, Route, SegmentBytes, SegmentError};
use crate::Error;
use tpupipe_runtime::plan::{self as plan, Plan, Strategy, PLAN_FORMAT};
use tpupipe_runtime::ModelView;

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
    ) -> Result<Split<'a>, Error> {
        segment::ensure_splittable(&model).map_err(Error::NotSplittable)?;
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
    ) -> Plan {
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
                plan::Segment {
                    index: i,
                    file: segment::file_name(stem, i, n),
                    edgetpu_file: None,
                    device: None,
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
            .map(|r| plan::Route {
                tensor: g.tensor_name(r.tensor).to_string(),
                bytes: r.bytes.bytes(),
                shape: g.tensor_shape(r.tensor).to_vec(),
                dtype: sg.tensor(r.tensor).dtype().name().to_string(),
                producer: r.producer,
                consumers: r.consumers.clone(),
                model_output: r.model_output,
            })
            .collect();
        Plan {
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
            compiler_ms: None,
            speedup_vs_compiler: None,
            op_count: g.len(),
            model_inputs: names(g.model_inputs()),
            model_outputs: names(g.model_outputs()),
            segments,
            routing,
        }
    }
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
