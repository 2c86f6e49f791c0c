//! Which operators map to the Edge TPU, and how the mapped ones are grouped into custom ops
//! (facts §5 "Graph rewrite", §6).
//!
//! Per operator ([`Judge::judge`]), in this order:
//!
//! 1. custom operators: "Operation is working on an unsupported data type" (what real logs
//!    show for `TFLite_Detection_PostProcess`);
//! 2. an op version above what the compiler maps ([`MAPPER_MAX_VERSION`]): "Operation version
//!    not supported";
//! 3. `QUANTIZE` from float: "otherwise supported, but not mapped due to some unspecified
//!    limitation"; `DEQUANTIZE`: "unsupported data type";
//! 4. any activation (non-constant input or output) that is not int8/uint8: "unsupported data
//!    type";
//! 5. an operator outside [`SUPPORTED`] or needing a newer runtime than `--min_runtime_version`:
//!    "Operation not supported";
//! 6. an activation with more than 3 dimensions larger than 1 (only the 3 innermost may be):
//!    "Tensor has unsupported rank";
//! 7. an activation of unresolved dynamic size, a computed weight or bias, or a broken
//!    limitation of the 2019 operator table ([`crate::limits`]: fused activations on pooling
//!    and concatenation, constant concatenation inputs, fully-connected weight format and
//!    output rank, MEAN and PAD only along y/x, SOFTMAX 1D up to 16,000 elements, SQUEEZE of
//!    leading 1s only, STRIDED_SLICE strides and masks): "unspecified limitation".
//!
//! Grouping ([`partition`]), in execution order: without `-a` there is one Edge TPU subgraph,
//! from the first mappable operator up to the first operator that cannot be mapped; every later
//! operator runs on the CPU, the mappable ones with "More than one subgraph is not supported",
//! except a trailing run of QUANTIZE ops, which get "unspecified limitation" (facts §5: trailing
//! QUANTIZE ops are the exception). With `-a`, every maximal run of mappable operators becomes
//! its own custom op. `--intermediate_tensors` cuts a run after the last producer of the named
//! tensors (so they become custom-op outputs); without `-a` the ops after the cut stay on the
//! CPU.

use crate::text::Row;
use std::ops::Range;
use tpupipe_compiler::graph::Graph;
use tpupipe_runtime::schema::BuiltinOperator;
use tpupipe_runtime::{ElementType, ModelView, OpKind};

/// Why an operator is or is not on the Edge TPU: the exact status strings of real logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Runs on the Edge TPU.
    Mapped,
    /// Mappable, but after the first operator that is not (without `-a`).
    MoreThanOneSubgraph,
    /// Supported in principle; not mapped here.
    UnspecifiedLimitation,
    /// Float or other non-8-bit data.
    UnsupportedDataType,
    /// Not an Edge TPU operator (for this runtime version).
    NotSupported,
    /// An op version newer than the compiler knows.
    VersionNotSupported,
    /// A tensor with more than three non-1 dimensions.
    UnsupportedRank,
}

impl Status {
    /// The status string as the compiler prints it.
    pub fn text(self) -> &'static str {
        match self {
            Status::Mapped => "Mapped to Edge TPU",
            Status::MoreThanOneSubgraph => "More than one subgraph is not supported",
            Status::UnspecifiedLimitation => {
                "Operation is otherwise supported, but not mapped due to some unspecified limitation"
            }
            Status::UnsupportedDataType => "Operation is working on an unsupported data type",
            Status::NotSupported => "Operation not supported",
            Status::VersionNotSupported => "Operation version not supported",
            Status::UnsupportedRank => {
                "Tensor has unsupported rank (up to 3 innermost dimensions mapped)"
            }
        }
    }
}

/// Edge TPU operators and the Edge TPU runtime version that first maps them (facts §6: the
/// 2019 table is runtime 12, the 2.0.291256449 additions 13, the v16 additions 14).
pub const SUPPORTED: &[(BuiltinOperator, u32)] = &[
    (BuiltinOperator::ADD, 12),
    (BuiltinOperator::AVERAGE_POOL_2D, 12),
    (BuiltinOperator::CONCATENATION, 12),
    (BuiltinOperator::CONV_2D, 12),
    (BuiltinOperator::DEPTHWISE_CONV_2D, 12),
    (BuiltinOperator::FULLY_CONNECTED, 12),
    (BuiltinOperator::L2_NORMALIZATION, 12),
    (BuiltinOperator::LOGISTIC, 12),
    (BuiltinOperator::MAXIMUM, 12),
    (BuiltinOperator::MAX_POOL_2D, 12),
    (BuiltinOperator::MEAN, 12),
    (BuiltinOperator::MINIMUM, 12),
    (BuiltinOperator::MUL, 12),
    (BuiltinOperator::PAD, 12),
    (BuiltinOperator::RELU, 12),
    (BuiltinOperator::RELU6, 12),
    (BuiltinOperator::RELU_N1_TO_1, 12),
    (BuiltinOperator::RESHAPE, 12),
    (BuiltinOperator::RESIZE_BILINEAR, 12),
    (BuiltinOperator::RESIZE_NEAREST_NEIGHBOR, 12),
    (BuiltinOperator::SLICE, 12),
    (BuiltinOperator::SOFTMAX, 12),
    (BuiltinOperator::SPACE_TO_DEPTH, 12),
    (BuiltinOperator::SPLIT, 12),
    (BuiltinOperator::SQUEEZE, 12),
    (BuiltinOperator::STRIDED_SLICE, 12),
    (BuiltinOperator::SUB, 12),
    (BuiltinOperator::TANH, 12),
    (BuiltinOperator::EXPAND_DIMS, 13),
    (BuiltinOperator::PACK, 13),
    (BuiltinOperator::QUANTIZE, 13),
    (BuiltinOperator::SUM, 13),
    (BuiltinOperator::TRANSPOSE_CONV, 13),
    (BuiltinOperator::UNIDIRECTIONAL_SEQUENCE_LSTM, 14),
    (BuiltinOperator::REDUCE_MAX, 14),
    (BuiltinOperator::REDUCE_MIN, 14),
    (BuiltinOperator::RSQRT, 14),
    (BuiltinOperator::SQUARED_DIFFERENCE, 14),
    (BuiltinOperator::TRANSPOSE, 14),
    (BuiltinOperator::PRELU, 14),
    (BuiltinOperator::LEAKY_RELU, 14),
];

/// Highest op versions the compiler's bundled TFLite registers; a newer one fails the parse
/// ("Didn't find op for builtin opcode 'QUANTIZE' version '3'", facts §4 #879). Operators not
/// listed register any version.
pub const RESOLVER_MAX_VERSION: &[(BuiltinOperator, i32)] = &[
    (BuiltinOperator::QUANTIZE, 2),
    (BuiltinOperator::FULLY_CONNECTED, 9),
    (BuiltinOperator::DEPTHWISE_CONV_2D, 6),
    (BuiltinOperator::CONV_2D, 5),
];

/// Highest op versions the compiler maps; a newer one stays on the CPU with "Operation version
/// not supported" (facts §3: FULLY_CONNECTED v9 with keep_num_dims, RESIZE_NEAREST_NEIGHBOR).
pub const MAPPER_MAX_VERSION: &[(BuiltinOperator, i32)] = &[
    (BuiltinOperator::FULLY_CONNECTED, 8),
    (BuiltinOperator::RESIZE_NEAREST_NEIGHBOR, 3),
];

/// The largest SOFTMAX the Edge TPU maps (elements).
pub const SOFTMAX_MAX_ELEMENTS: u64 = 16_000;

/// The operator name as logs print it: the builtin name, or `CUSTOM`.
pub fn log_name(kind: &OpKind<'_>) -> String {
    match kind {
        OpKind::Builtin(_) => kind.name(),
        OpKind::Custom(_) => "CUSTOM".to_string(),
    }
}

/// A builtin whose version the compiler's TFLite does not register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnregisteredOp {
    /// The builtin name.
    pub name: String,
    /// The version in the model.
    pub version: i32,
}

fn max_of(table: &[(BuiltinOperator, i32)], op: BuiltinOperator) -> Option<i32> {
    table.iter().find(|(b, _)| *b == op).map(|&(_, v)| v)
}

/// The first operator code the compiler's TFLite could not resolve, if any.
pub fn unregistered_op(model: &ModelView<'_>) -> Option<UnregisteredOp> {
    (0..model.opcode_count()).find_map(|i| {
        let (kind, version) = model.opcode(i);
        let b = kind.builtin()?;
        let max = max_of(RESOLVER_MAX_VERSION, b)?;
        (version > max).then(|| UnregisteredOp {
            name: kind.name(),
            version,
        })
    })
}

/// True when some activation of the model is 8-bit quantized; otherwise the compiler refuses it
/// with "Model not quantized".
pub fn is_quantized(model: &ModelView<'_>) -> bool {
    model.main_subgraph().tensors().any(|t| {
        !t.is_constant()
            && matches!(t.dtype(), ElementType::I8 | ElementType::U8)
            && t.quantization().is_some()
    })
}

/// Judges single operators of one model.
pub struct Judge<'a, 'g> {
    model: ModelView<'a>,
    graph: &'g Graph,
    min_runtime: u32,
}

impl<'a, 'g> Judge<'a, 'g> {
    /// A judge for `model` (whose graph is `graph`) compiled for `min_runtime`.
    pub fn new(model: ModelView<'a>, graph: &'g Graph, min_runtime: u32) -> Self {
        Judge {
            model,
            graph,
            min_runtime,
        }
    }

    /// `None` when the operator at execution position `pos` can be mapped, else why not.
    pub fn judge(&self, pos: usize) -> Option<Status> {
        let sg = self.model.main_subgraph();
        let op = sg.operator(self.graph.order()[pos]);
        let kind = op.kind();
        let Some(builtin) = kind.builtin() else {
            return Some(Status::UnsupportedDataType);
        };
        if max_of(MAPPER_MAX_VERSION, builtin).is_some_and(|max| op.version() > max) {
            return Some(Status::VersionNotSupported);
        }
        let activations: Vec<_> = op
            .present_inputs()
            .into_iter()
            .chain(op.outputs())
            .map(|t| sg.tensor(t))
            .filter(|t| !t.is_constant())
            .collect();
        let dtype_of_first_input = op.present_inputs().first().map(|&t| sg.tensor(t).dtype());
        if builtin == BuiltinOperator::QUANTIZE && dtype_of_first_input == Some(ElementType::F32) {
            return Some(Status::UnspecifiedLimitation);
        }
        if builtin == BuiltinOperator::DEQUANTIZE {
            return Some(Status::UnsupportedDataType);
        }
        if activations
            .iter()
            .any(|t| !matches!(t.dtype(), ElementType::I8 | ElementType::U8))
        {
            return Some(Status::UnsupportedDataType);
        }
        match SUPPORTED.iter().find(|(b, _)| *b == builtin) {
            Some(&(_, runtime)) if runtime <= self.min_runtime => {}
            _ => return Some(Status::NotSupported),
        }
        let bad_rank =
            |dims: &[usize]| dims.len() > 3 && dims[..dims.len() - 3].iter().any(|&d| d > 1);
        if activations.iter().any(|t| bad_rank(&t.dims())) {
            return Some(Status::UnsupportedRank);
        }
        if activations.iter().any(|t| t.has_unresolved_dynamic_dims())
            || crate::limits::computed_parameters(&sg, &op, builtin)
            || crate::limits::broken(&sg, &op, builtin)
        {
            return Some(Status::UnspecifiedLimitation);
        }
        None
    }

    /// Judges every position.
    pub fn judge_all(&self) -> Vec<Option<Status>> {
        (0..self.graph.len()).map(|p| self.judge(p)).collect()
    }
}

/// Where each operator runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// The status of each execution position.
    pub statuses: Vec<Status>,
    /// The Edge TPU custom ops, as ranges of execution positions, in order.
    pub regions: Vec<Range<usize>>,
}

impl Partition {
    /// Number of operators on the Edge TPU.
    pub fn tpu_ops(&self) -> usize {
        self.regions.iter().map(|r| r.len()).sum()
    }
}

/// Groups judged operators into custom ops (see the module docs). `judged[p]` is `None` for a
/// mappable operator; `is_quantize[p]` marks QUANTIZE ops; `boundaries` are execution
/// positions where a custom op must end (from `--intermediate_tensors`); `multiple` is `-a`.
pub fn partition(
    judged: &[Option<Status>],
    is_quantize: &[bool],
    boundaries: &[usize],
    multiple: bool,
) -> Partition {
    let n = judged.len();
    let mut regions: Vec<Range<usize>> = Vec::new();
    let mut p = 0;
    while p < n {
        if judged[p].is_some() {
            p += 1;
            continue;
        }
        let start = p;
        while p < n && judged[p].is_none() && (p == start || !boundaries.contains(&p)) {
            p += 1;
        }
        regions.push(start..p);
        if !multiple {
            break;
        }
    }
    // The trailing run of QUANTIZE ops (the exception to the one-subgraph rule).
    let mut trailing_quantize = n;
    while trailing_quantize > 0 && is_quantize[trailing_quantize - 1] {
        trailing_quantize -= 1;
    }
    let first_region_end = regions.first().map_or(n, |r| r.end);
    let statuses = (0..n)
        .map(|p| {
            if regions.iter().any(|r| r.contains(&p)) {
                Status::Mapped
            } else if let Some(s) = judged[p] {
                s
            } else if p >= trailing_quantize && p >= first_region_end {
                Status::UnspecifiedLimitation
            } else {
                Status::MoreThanOneSubgraph
            }
        })
        .collect();
    Partition { statuses, regions }
}

/// The operation table: one row per (operator, status) pair, in order of first appearance in
/// execution order (the real compiler prints hash-map order, which the stand-in does not copy).
pub fn rows(model: &ModelView<'_>, graph: &Graph, statuses: &[Status]) -> Vec<Row> {
    let sg = model.main_subgraph();
    let mut rows: Vec<Row> = Vec::new();
    for (p, &status) in statuses.iter().enumerate() {
        let operator = log_name(&sg.operator(graph.order()[p]).kind());
        match rows
            .iter_mut()
            .find(|r| r.operator == operator && r.status == status)
        {
            Some(r) => r.count += 1,
            None => rows.push(Row {
                operator,
                count: 1,
                status,
            }),
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: Option<Status> = None;
    const CPU: Option<Status> = Some(Status::NotSupported);

    #[test]
    fn one_subgraph_from_the_first_mappable_op_to_the_first_unmappable_one() {
        let judged = [CPU, OK, OK, CPU, OK, OK];
        let q = [false, false, false, false, false, true];
        let p = partition(&judged, &q, &[], false);
        assert_eq!(p.regions, vec![1..3]);
        assert_eq!(
            p.statuses,
            vec![
                Status::NotSupported,
                Status::Mapped,
                Status::Mapped,
                Status::NotSupported,
                Status::MoreThanOneSubgraph,
                Status::UnspecifiedLimitation,
            ]
        );
        let multi = partition(&judged, &q, &[], true);
        assert_eq!(multi.regions, vec![1..3, 4..6]);
        assert_eq!(multi.tpu_ops(), 4);
    }

    #[test]
    fn intermediate_tensors_end_the_subgraph() {
        let judged = [OK, OK, OK, OK];
        let q = [false; 4];
        assert_eq!(partition(&judged, &q, &[2], false).regions, vec![0..2]);
        assert_eq!(partition(&judged, &q, &[2], true).regions, vec![0..2, 2..4]);
        let none = partition(&[CPU, CPU], &[false; 2], &[], false);
        assert!(none.regions.is_empty());
    }
}
