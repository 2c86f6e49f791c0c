//! The plan: how a model is cut into segments and how the segments run, as the compiler writes
//! it (`<stem>_plan.json`, or embedded by generated code) and the runtime reads it.
//!
//! - [`Plan`]: the whole plan: the model it is for, the cuts, the predicted figures, the
//!   [`Segment`]s in pipeline order and the [`Route`] of every tensor crossing a boundary.
//! - [`Strategy`]: how the cuts were chosen; [`hardware`]: the link, clock, host wiring and
//!   device the figures assume.
//! - [`profile`]: measured or compiler-reported costs of candidate segments, which the planner
//!   reads and the runtime's benchmark writes.
//!
//! With the `serde` feature the types read and write JSON (`Plan::to_json`,
//! `Plan::from_json`). Field names are stable. Positions index the graph's execution order; a
//! segment covers `op_range` = `[start, end)`. Tensors are named by the graph's unique names,
//! which are also their names inside the segment files.
//!
//! Extending: add new fields as `Option`s skipped when absent, so plans written without them
//! stay readable and unchanged. [`PLAN_FORMAT`] changes only when an existing field changes
//! meaning.

pub mod hardware;
pub mod profile;

pub use hardware::{Clock, Device, HostLink, Interface, UnknownName};
pub use profile::{Profile, ProfileEntry, ProfileError, ProfileIndex};

/// Version of the plan format written in [`Plan::format`].
pub const PLAN_FORMAT: u32 = 1;

hardware::named_enum! {
    /// How the cuts were chosen (default `balanced`).
    #[derive(Default)]
    Strategy, "strategy" {
        /// The Edge TPU compiler's equal-parameter split (`--num_segments`).
        Params = "params",
        /// Cuts given by the user.
        Manual = "manual",
        /// The exact optimum of the slowest stage under the cost model.
        #[default]
        Balanced = "balanced",
        /// Like `balanced`, with candidate costs taken from a profile where it has them.
        Profiled = "profiled",
    }
}

impl Strategy {
    /// The strategies that choose cuts themselves (all but [`Strategy::Manual`]).
    pub const SEARCHED: [Strategy; 3] = [Strategy::Params, Strategy::Balanced, Strategy::Profiled];
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Plan {
    /// Plan format version ([`PLAN_FORMAT`]).
    pub format: u32,
    /// The model's file name (no directory).
    pub model: String,
    /// SHA-256 of the model file, lowercase hex.
    pub model_sha256: String,
    /// Number of segments (one TPU each, unless `tpus_used` says otherwise). Plans from
    /// before CPU stages existed put every segment on a TPU; see [`Segment::device`].
    pub tpus: usize,
    /// Edge TPUs used in total when some segment is replicated (see [`Segment::replicas`]) or
    /// runs on the CPU (CPU stages not counted); absent when every segment has one TPU.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub tpus_used: Option<usize>,
    /// How the cuts were chosen.
    pub strategy: Strategy,
    /// The cut positions (`tpus - 1` of them, strictly increasing).
    pub cuts: Vec<usize>,
    /// The link the cost figures assume.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub interface: Option<Interface>,
    /// The TPU clock the cost figures assume.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub clock: Option<Clock>,
    /// The host wiring the cost figures assume.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub host_link: Option<HostLink>,
    /// With a shared host wire, the time it is busy per inference, ms (a floor under the
    /// bottleneck).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub shared_wire_ms: Option<f64>,
    /// Predicted slowest stage plus host overhead, ms.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub bottleneck_ms: Option<f64>,
    /// Predicted end-to-end latency, ms.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub latency_ms: Option<f64>,
    /// Predicted inferences per second.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub throughput_per_s: Option<f64>,
    /// Predicted time of the whole model on one TPU, ms.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub single_tpu_ms: Option<f64>,
    /// Predicted bottleneck of the `params` split with as many TPUs, ms.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub params_bottleneck_ms: Option<f64>,
    /// One TPU's predicted time over this plan's bottleneck.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub speedup_vs_one_tpu: Option<f64>,
    /// The `params` split's predicted bottleneck over this plan's.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub speedup_vs_params: Option<f64>,
    /// Predicted time of the Edge TPU compiler's own placement of the whole model on one TPU
    /// (its one Edge TPU subgraph, everything else on the CPU), ms.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub compiler_ms: Option<f64>,
    /// The compiler's own placement's predicted time over this plan's bottleneck.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub speedup_vs_compiler: Option<f64>,
    /// Number of operators in the model.
    pub op_count: usize,
    /// The model's input tensor names, in model order.
    pub model_inputs: Vec<String>,
    /// The model's output tensor names, in model order.
    pub model_outputs: Vec<String>,
    /// The segments, in pipeline order.
    pub segments: Vec<Segment>,
    /// Every tensor entering or leaving a segment: model inputs first, then segment outputs in
    /// segment order.
    pub routing: Vec<Route>,
}

/// One segment: a contiguous range of the model's operators, run as one pipeline stage.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Segment {
    /// Index in the pipeline, from 0.
    pub index: usize,
    /// The segment's file name (the uncompiled `.tflite`), in the same directory as the plan.
    pub file: String,
    /// The file compiled by `edgetpu_compiler` (`..._edgetpu.tflite`), in the same directory;
    /// absent when the segment has not been compiled.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub edgetpu_file: Option<String>,
    /// Where the stage runs; absent means the Edge TPU ([`Segment::device`]).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub device: Option<Device>,
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
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub on_chip_bytes: Option<u64>,
    /// Predicted (or profiled) parameter bytes streamed per inference.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub off_chip_bytes: Option<u64>,
    /// Predicted (or measured) time of the segment on one TPU, ms.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub latency_ms: Option<f64>,
    /// TPUs that run copies of this segment, taking inferences in turn (absent: 1). Written
    /// only when the plan replicates some segment.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub replicas: Option<usize>,
}

impl Segment {
    /// Where the stage runs (the Edge TPU unless the plan says otherwise).
    pub fn device(&self) -> Device {
        self.device.unwrap_or_default()
    }

    /// TPUs (or CPU workers) running copies of this segment: 1 unless replicated.
    pub fn replica_count(&self) -> usize {
        self.replicas.unwrap_or(1)
    }
}

/// One tensor crossing a segment boundary.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Route {
    /// The tensor's name.
    pub tensor: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its element type (`int8`, `float32`, ...; see [`crate::ElementType::name`]).
    pub dtype: String,
    /// The segment producing it; `null` for a model input.
    pub producer: Option<usize>,
    /// The segments reading it, ascending.
    pub consumers: Vec<usize>,
    /// True when it is a model output.
    pub model_output: bool,
}

#[cfg(feature = "serde")]
impl Plan {
    /// The plan as pretty-printed JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a plan serializes");
        s.push('\n');
        s
    }

    /// Parses a plan.
    pub fn from_json(text: &str) -> Result<Plan, serde_json::Error> {
        serde_json::from_str(text)
    }
}
