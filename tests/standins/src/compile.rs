//! Compiling one model: checks, mapping, cache estimate and the rewritten model.
//!
//! The on-chip / off-chip split uses tpupipe's cost model ([`tpupipe_compiler::cost`]): the
//! parameter bytes the Edge TPU compiler stores for each mapped layer (padded layout), cached
//! whole in execution order while they fit in the calibrated cache budget
//! ([`tpupipe_compiler::cost::cache`]). Co-compiled models share one budget, in input order.

use crate::mapping::{self, Judge, Partition, Status, UnregisteredOp};
use crate::options;
use crate::package::{self, LayerInfo, PackageSpec};
use crate::rewrite::{self, CustomOp};
use crate::text::Row;
use crate::version::Version;
use tpupipe_compiler::cost::cache::Filler;
use tpupipe_compiler::cost::from_graph::GraphCost;
use tpupipe_compiler::cost::CostModel;
use tpupipe_compiler::graph::Graph;
use tpupipe_compiler::segment::{self, SegmentSpec};
use tpupipe_runtime::{ByteCount, ModelView, TensorId};

/// An activation larger than this (bytes) in a mapped operator fails the compile with "large
/// activation tensors" (the stand-in's rule: the real limit is not documented).
pub const LARGE_ACTIVATION_BYTES: u64 = 16 << 20;

/// Settings shared by every model of one invocation.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The played version.
    pub version: Version,
    /// The runtime version the output must run on.
    pub min_runtime: u32,
    /// `-a`.
    pub multiple_subgraphs: bool,
    /// `-i`, tensor names.
    pub intermediate_tensors: Vec<String>,
    /// Shared by every package of this invocation.
    pub token: u64,
    /// From [`faults::MAX_MAPPED_OPS_ENV`](crate::faults::MAX_MAPPED_OPS_ENV): a compile that
    /// would map more operators fails with "large activation tensors" (a deterministic
    /// trigger for the `-d` search in tests).
    pub max_mapped_ops: Option<usize>,
}

/// A compiled model and its figures.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The `.tflite` bytes.
    pub model: Vec<u8>,
    /// Parameter bytes cached on chip.
    pub on_chip: ByteCount,
    /// Parameter bytes streamed.
    pub off_chip: ByteCount,
    /// The cache budget this model could use.
    pub budget: ByteCount,
    /// Number of custom ops.
    pub subgraphs: usize,
    /// Operators in the source.
    pub total_ops: usize,
    /// Operators on the Edge TPU.
    pub tpu_ops: usize,
    /// The operation table.
    pub rows: Vec<Row>,
}

/// Why a model did not compile. [`Failure::in_child`] tells whether it happened before the
/// compile child started (invalid input) or inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The file is not a TFLite model.
    NotTflite(String),
    /// An op version the bundled TFLite does not register.
    Unregistered(UnregisteredOp),
    /// No 8-bit quantized activations.
    NotQuantized,
    /// A dynamic dimension.
    DynamicShapes,
    /// An activation above [`LARGE_ACTIVATION_BYTES`] in the mapped part.
    LargeActivations,
    /// An `-i` name that is no tensor of the model.
    UnknownIntermediate(String),
    /// The stand-in could not build the output (reported as an internal error).
    Internal(String),
}

impl Failure {
    /// True for failures inside the compile child (after the v16 timer line).
    pub fn in_child(&self) -> bool {
        matches!(
            self,
            Failure::DynamicShapes | Failure::LargeActivations | Failure::UnknownIntermediate(_)
        )
    }

    /// The stderr lines.
    pub fn stderr_lines(&self) -> Vec<String> {
        match self {
            Failure::Unregistered(op) => vec![
                format!("ERROR: Didn't find op for builtin opcode '{}' version '{}'. An older version of this builtin might be supported. Are you using an old TFLite binary with a newer model?", op.name, op.version),
                String::new(),
                "ERROR: Registration failed.".to_string(),
                String::new(),
            ],
            Failure::DynamicShapes => vec!["ERROR: Attempting to use a delegate that only supports static-sized tensors with a graph that has dynamic-sized tensors.".to_string()],
            Failure::LargeActivations => {
                vec!["ERROR: Restored original execution plan after delegate application failure.".to_string()]
            }
            Failure::NotTflite(reason) | Failure::Internal(reason) => vec![format!("ERROR: {reason}")],
            _ => Vec::new(),
        }
    }

    /// The stdout lines, for the input path as given.
    pub fn stdout_lines(&self, input: &str) -> Vec<String> {
        match self {
            Failure::NotTflite(_) | Failure::Unregistered(_) => {
                vec![format!("Invalid model: {input}"), "Model could not be parsed".to_string()]
            }
            Failure::NotQuantized => {
                vec![format!("Invalid model: {input}"), "Model not quantized".to_string()]
            }
            Failure::DynamicShapes => vec!["Compilation failed: Model failed in Tflite interpreter. Please ensure model can be loaded/run in Tflite interpreter.".to_string()],
            Failure::LargeActivations => vec!["Compilation failed: Compilation failed due to large activation tensors in model.".to_string()],
            Failure::UnknownIntermediate(name) => {
                vec![format!("Compilation failed: Intermediate tensor '{name}' not found in model.")]
            }
            Failure::Internal(_) => vec![String::new(), "Internal compiler error. Aborting! ".to_string()],
        }
    }
}

/// Parses and checks a model as the compiler does before compiling it.
pub fn load(bytes: &[u8]) -> Result<(ModelView<'_>, Graph), Failure> {
    let model = ModelView::parse(bytes).map_err(|e| Failure::NotTflite(e.to_string()))?;
    if let Some(op) = mapping::unregistered_op(&model) {
        return Err(Failure::Unregistered(op));
    }
    if !mapping::is_quantized(&model) {
        return Err(Failure::NotQuantized);
    }
    let graph = Graph::build(&model).map_err(|e| Failure::NotTflite(e.to_string()))?;
    Ok((model, graph))
}

/// The layer description of a tensor, for the package.
fn layer_info(model: &ModelView<'_>, graph: &Graph, t: TensorId) -> LayerInfo {
    let view = model.main_subgraph().tensor(t);
    LayerInfo {
        name: graph.tensor_name(t).to_string(),
        shape: view.dims(),
        dtype: view.dtype(),
        quantization: view.quantization(),
    }
}

/// Compiles `bytes` with at most `budget_left` cache bytes left by earlier co-compiled models.
/// `cut` (from the `-d` search) ends the Edge TPU part at that execution position.
pub fn compile(
    bytes: &[u8],
    settings: &Settings,
    budget_left: ByteCount,
    cut: Option<usize>,
) -> Result<Compiled, Failure> {
    let (model, graph) = load(bytes)?;
    if model
        .main_subgraph()
        .tensors()
        .any(|t| t.has_unresolved_dynamic_dims())
    {
        return Err(Failure::DynamicShapes);
    }
    let judged = Judge::new(model, &graph, settings.min_runtime).judge_all();
    let sg = model.main_subgraph();
    let is_quantize: Vec<bool> = graph
        .order()
        .iter()
        .map(|&op| sg.operator(op).kind().name() == "QUANTIZE")
        .collect();
    let mut boundaries = Vec::new();
    for name in &settings.intermediate_tensors {
        let t = graph
            .tensor_by_name(name)
            .ok_or_else(|| Failure::UnknownIntermediate(name.clone()))?;
        if let Some(p) = graph.producer(t) {
            boundaries.push(p + 1);
        }
    }
    boundaries.extend(cut);
    let partition: Partition = mapping::partition(
        &judged,
        &is_quantize,
        &boundaries,
        settings.multiple_subgraphs,
    );

    // Large activations in the mapped part.
    if settings
        .max_mapped_ops
        .is_some_and(|max| partition.tpu_ops() > max)
    {
        return Err(Failure::LargeActivations);
    }
    for region in &partition.regions {
        for p in region.clone() {
            let op = sg.operator(graph.order()[p]);
            let large = op
                .present_inputs()
                .into_iter()
                .chain(op.outputs())
                .map(|t| sg.tensor(t))
                .any(|t| {
                    !t.is_constant()
                        && t.byte_size()
                            .is_some_and(|b| b.bytes() > LARGE_ACTIVATION_BYTES)
                });
            if large {
                return Err(Failure::LargeActivations);
            }
        }
    }

    // Cache estimate.
    let cost = GraphCost::new(&graph);
    let layers = tpupipe_compiler::cost::CostSource::layers(&cost);
    let bytes_in = partition.regions.first().map_or(0, |r| {
        tpupipe_compiler::cost::CostSource::io_bytes(&cost, r.clone()).0
    });
    let budget = ByteCount(
        CostModel::default()
            .budget_for(bytes_in)
            .bytes()
            .min(budget_left.bytes()),
    );
    let mut filler = Filler::default();
    for region in &partition.regions {
        for p in region.clone() {
            filler.push(layers[p].stored_bytes, budget);
        }
    }

    // One custom op per region.
    let mut customs = Vec::new();
    for (k, region) in partition.regions.iter().enumerate() {
        let (inputs, outputs) = rewrite::region_io(&graph, region.clone());
        let spec = SegmentSpec {
            index: k,
            ops: graph.order()[region.clone()].to_vec(),
            inputs: inputs.clone(),
            outputs: outputs.clone(),
            description: format!("tpupipe stand-in Edge TPU subgraph {k}"),
        };
        let segment_model = segment::write_segment(&model, &spec, |t| graph.tensor_name(t))
            .map_err(|e| Failure::Internal(e.to_string()))?;
        let package = package::package(&PackageSpec {
            min_runtime_version: settings.min_runtime,
            compiler_version: settings.version.package_compiler_version(),
            parameter_caching_token: settings.token,
            inputs: inputs
                .iter()
                .map(|&t| layer_info(&model, &graph, t))
                .collect(),
            outputs: outputs
                .iter()
                .map(|&t| layer_info(&model, &graph, t))
                .collect(),
        });
        customs.push(CustomOp {
            positions: region.clone(),
            inputs,
            outputs,
            options: options::custom_options(&package, segment_model.as_bytes()),
        });
    }
    let compiled = rewrite::write_compiled(&model, &graph, &customs);
    let rows = mapping::rows(&model, &graph, &partition.statuses);
    debug_assert!(partition.statuses.len() == graph.len());
    Ok(Compiled {
        model: compiled,
        on_chip: ByteCount(filler.on_chip),
        off_chip: ByteCount(filler.off_chip),
        budget,
        subgraphs: customs.len(),
        total_ops: graph.len(),
        tpu_ops: partition
            .statuses
            .iter()
            .filter(|s| **s == Status::Mapped)
            .count(),
        rows,
    })
}
