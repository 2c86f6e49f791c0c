//! The plan file written next to the segments (`<stem>_plan.json`).
//!
//! Field names are stable: readers (the pipeline runtime, `scripts/check_split.py`) rely on them.
//! Positions index the graph's execution order; a segment covers `op_range` = `[start, end)`.
//! Tensors are named by the graph's unique names, which are also their names inside the segment
//! files.
//!
//! Extending: add new figures as `Option` fields with
//! `#[serde(default, skip_serializing_if = "Option::is_none")]`, so plans written without them
//! stay readable and unchanged. [`PLAN_FORMAT`] changes only when an existing field changes
//! meaning.

use serde::{Deserialize, Serialize};

/// Version of the plan format written in [`PlanJson::format`].
pub const PLAN_FORMAT: u32 = 1;

/// How the cuts were chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// The Edge TPU compiler's equal-parameter split ([`crate::planner::params`]).
    Params,
    /// Cuts given by the user.
    Manual,
    /// The optimum of the slowest stage under the cost model ([`crate::planner::balanced`]).
    Balanced,
    /// Like `balanced`, with costs from a profile ([`crate::planner::profiled`]).
    Profiled,
}

impl Strategy {
    /// The name written in the plan (`params`, `manual`).
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Params => "params",
            Strategy::Manual => "manual",
            Strategy::Balanced => "balanced",
            Strategy::Profiled => "profiled",
        }
    }
}

impl std::fmt::Display for Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanJson {
    /// Plan format version ([`PLAN_FORMAT`]).
    pub format: u32,
    /// The model's file name (no directory).
    pub model: String,
    /// SHA-256 of the model file, lowercase hex.
    pub model_sha256: String,
    /// Number of segments (one TPU each, unless `tpus_used` says otherwise).
    pub tpus: usize,
    /// TPUs used in total when some segment is replicated (see [`SegmentJson::replicas`]);
    /// absent when every segment has one TPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpus_used: Option<usize>,
    /// How the cuts were chosen.
    pub strategy: Strategy,
    /// The cut positions (`tpus - 1` of them, strictly increasing).
    pub cuts: Vec<usize>,
    /// The link the cost figures assume (`usb3`, `pcie`, `usb2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// The TPU clock the cost figures assume (`max`, `std`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<String>,
    /// The host wiring the cost figures assume (`shared`, `dedicated`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_link: Option<String>,
    /// With a shared host wire, the time it is busy per inference, ms (a floor under the
    /// bottleneck).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_wire_ms: Option<f64>,
    /// Predicted slowest stage plus host overhead, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bottleneck_ms: Option<f64>,
    /// Predicted end-to-end latency, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// Predicted inferences per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput_per_s: Option<f64>,
    /// Predicted time of the whole model on one TPU, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub single_tpu_ms: Option<f64>,
    /// Predicted bottleneck of the `params` split with as many TPUs, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params_bottleneck_ms: Option<f64>,
    /// One TPU's predicted time over this plan's bottleneck.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speedup_vs_one_tpu: Option<f64>,
    /// The `params` split's predicted bottleneck over this plan's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speedup_vs_params: Option<f64>,
    /// Number of operators in the model.
    pub op_count: usize,
    /// The model's input tensor names, in model order.
    pub model_inputs: Vec<String>,
    /// The model's output tensor names, in model order.
    pub model_outputs: Vec<String>,
    /// The segments, in pipeline order.
    pub segments: Vec<SegmentJson>,
    /// Every tensor entering or leaving a segment: model inputs first, then segment outputs in
    /// segment order.
    pub routing: Vec<RouteJson>,
}

/// One segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentJson {
    /// Index in the pipeline, from 0.
    pub index: usize,
    /// The segment's file name, in the same directory as the plan.
    pub file: String,
    /// Positions `[start, end)` in the execution order.
    pub op_range: [usize; 2],
    /// Operator index (in the model file) at the first position.
    pub first_op: u32,
    /// Operator index (in the model file) at the last position.
    pub last_op: u32,
    /// Number of operators.
    pub op_count: usize,
    /// Input tensor names, in the order of the segment model's subgraph inputs.
    pub inputs: Vec<String>,
    /// Output tensor names, in the order of the segment model's subgraph outputs.
    pub outputs: Vec<String>,
    /// Parameter bytes: sum over the segment's operators of their constant inputs.
    pub param_bytes: u64,
    /// Multiply-accumulates.
    pub macs: u64,
    /// Bytes of the segment's inputs.
    pub input_bytes: u64,
    /// Bytes of the segment's outputs.
    pub output_bytes: u64,
    /// Size of the segment file in bytes.
    pub file_bytes: u64,
    /// Predicted (or profiled) parameter bytes cached on chip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_chip_bytes: Option<u64>,
    /// Predicted (or profiled) parameter bytes streamed per inference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub off_chip_bytes: Option<u64>,
    /// Predicted (or measured) time of the segment on one TPU, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// TPUs that run copies of this segment, taking inferences in turn (absent: 1). Written
    /// only when the plan replicates some segment (`--replicate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<usize>,
}

/// One tensor crossing a segment boundary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteJson {
    /// The tensor's name.
    pub tensor: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its element type (`int8`, `float32`, ...).
    pub dtype: String,
    /// The segment producing it; `null` for a model input.
    pub producer: Option<usize>,
    /// The segments reading it, ascending.
    pub consumers: Vec<usize>,
    /// True when it is a model output.
    pub model_output: bool,
}

impl PlanJson {
    /// The plan as pretty-printed JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("plan serializes");
        s.push('\n');
        s
    }

    /// Parses a plan.
    pub fn from_json(text: &str) -> Result<PlanJson, serde_json::Error> {
        serde_json::from_str(text)
    }
}
