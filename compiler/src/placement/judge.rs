//! Judging one operator against the Edge TPU compiler's operator table and constraints
//! (`../shared/docs/edgetpu-compiler-facts.md` §5-6).
//!
//! In this order: custom operators; op versions the compiler does not map; float QUANTIZE /
//! DEQUANTIZE (CPU) against uint8<->int8 QUANTIZE (mapped); non-8-bit activations; operators
//! outside the table; activations of unsupported rank; the documented constraints.

use super::{OpPlacement, OpStatus};
use crate::graph::Graph;
use tpupipe_runtime::schema::{self, BuiltinOperator};
use tpupipe_runtime::{ElementType, ModelView};

/// The operators the Edge TPU maps (facts §6).
pub const SUPPORTED: &[BuiltinOperator] = &[
    BuiltinOperator::ADD,
    BuiltinOperator::AVERAGE_POOL_2D,
    BuiltinOperator::CONCATENATION,
    BuiltinOperator::CONV_2D,
    BuiltinOperator::DEPTHWISE_CONV_2D,
    BuiltinOperator::EXPAND_DIMS,
    BuiltinOperator::FULLY_CONNECTED,
    BuiltinOperator::L2_NORMALIZATION,
    BuiltinOperator::LEAKY_RELU,
    BuiltinOperator::LOGISTIC,
    BuiltinOperator::MAXIMUM,
    BuiltinOperator::MAX_POOL_2D,
    BuiltinOperator::MEAN,
    BuiltinOperator::MINIMUM,
    BuiltinOperator::MUL,
    BuiltinOperator::PACK,
    BuiltinOperator::PAD,
    BuiltinOperator::PRELU,
    BuiltinOperator::QUANTIZE,
    BuiltinOperator::REDUCE_MAX,
    BuiltinOperator::REDUCE_MIN,
    BuiltinOperator::RELU,
    BuiltinOperator::RELU6,
    BuiltinOperator::RELU_N1_TO_1,
    BuiltinOperator::RESHAPE,
    BuiltinOperator::RESIZE_BILINEAR,
    BuiltinOperator::RESIZE_NEAREST_NEIGHBOR,
    BuiltinOperator::RSQRT,
    BuiltinOperator::SLICE,
    BuiltinOperator::SOFTMAX,
    BuiltinOperator::SPACE_TO_DEPTH,
    BuiltinOperator::SPLIT,
    BuiltinOperator::SQUARED_DIFFERENCE,
    BuiltinOperator::SQUEEZE,
    BuiltinOperator::STRIDED_SLICE,
    BuiltinOperator::SUB,
    BuiltinOperator::SUM,
    BuiltinOperator::TANH,
    BuiltinOperator::TRANSPOSE,
    BuiltinOperator::TRANSPOSE_CONV,
    BuiltinOperator::UNIDIRECTIONAL_SEQUENCE_LSTM,
];

/// Highest op versions the compiler maps; newer ones stay on the CPU (facts §3).
pub const MAX_MAPPED_VERSION: &[(BuiltinOperator, i32)] = &[
    (BuiltinOperator::FULLY_CONNECTED, 8),
    (BuiltinOperator::RESIZE_NEAREST_NEIGHBOR, 3),
];

/// The largest SOFTMAX the Edge TPU maps, in elements.
pub const SOFTMAX_MAX_ELEMENTS: u64 = 16_000;

fn placed(status: OpStatus, detail: impl Into<String>) -> OpPlacement {
    OpPlacement {
        status,
        detail: Some(detail.into()),
    }
}

/// Judges the operators of one model.
pub struct Judge<'a, 'g> {
    model: ModelView<'a>,
    graph: &'g Graph,
}

impl<'a, 'g> Judge<'a, 'g> {
    /// A judge for `model`, whose graph is `graph`.
    pub fn new(model: ModelView<'a>, graph: &'g Graph) -> Self {
        Judge { model, graph }
    }

    /// The placement of the operator at execution position `pos`, judged alone.
    pub fn judge(&self, pos: usize) -> OpPlacement {
        let sg = self.model.main_subgraph();
        let op = sg.operator(self.graph.order()[pos]);
        let kind = op.kind();
        let Some(builtin) = kind.builtin() else {
            return placed(
                OpStatus::UnsupportedDataType,
                format!("custom operator {}", kind.name()),
            );
        };
        if let Some(&(_, max)) = MAX_MAPPED_VERSION.iter().find(|(b, _)| *b == builtin) {
            if op.version() > max {
                return placed(
                    OpStatus::VersionNotSupported,
                    format!("version {} (the compiler maps up to {max})", op.version()),
                );
            }
        }
        let first_input = op.present_inputs().first().map(|&t| sg.tensor(t).dtype());
        if builtin == BuiltinOperator::QUANTIZE && first_input == Some(ElementType::F32) {
            return placed(OpStatus::UnspecifiedLimitation, "quantizes a float input");
        }
        if builtin == BuiltinOperator::DEQUANTIZE {
            return placed(OpStatus::UnsupportedDataType, "dequantizes to float");
        }
        let activations: Vec<_> = op
            .present_inputs()
            .into_iter()
            .chain(op.outputs())
            .map(|t| sg.tensor(t))
            .filter(|t| !t.is_constant())
            .collect();
        if let Some(t) = activations
            .iter()
            .find(|t| !matches!(t.dtype(), ElementType::I8 | ElementType::U8))
        {
            return placed(
                OpStatus::UnsupportedDataType,
                format!("{} tensor {}", t.dtype().name(), t.name()),
            );
        }
        if !SUPPORTED.contains(&builtin) {
            return OpPlacement {
                status: OpStatus::NotSupported,
                detail: None,
            };
        }
        let bad_rank =
            |dims: &[usize]| dims.len() > 3 && dims[..dims.len() - 3].iter().any(|&d| d > 1);
        if let Some(t) = activations.iter().find(|t| bad_rank(&t.dims())) {
            return placed(
                OpStatus::UnsupportedRank,
                format!("tensor {} has shape {:?}", t.name(), t.dims()),
            );
        }
        if matches!(
            builtin,
            BuiltinOperator::AVERAGE_POOL_2D | BuiltinOperator::MAX_POOL_2D
        ) && op
            .raw()
            .builtin_options_as_pool_2_doptions()
            .is_some_and(|o| o.fused_activation_function() != schema::ActivationFunctionType::NONE)
        {
            return placed(
                OpStatus::UnspecifiedLimitation,
                "pooling with a fused activation",
            );
        }
        if builtin == BuiltinOperator::SOFTMAX {
            if let Some(t) = activations.first() {
                if t.num_elements() > SOFTMAX_MAX_ELEMENTS {
                    return placed(
                        OpStatus::UnspecifiedLimitation,
                        format!(
                            "softmax over {} elements (the Edge TPU maps up to {SOFTMAX_MAX_ELEMENTS})",
                            t.num_elements()
                        ),
                    );
                }
            }
        }
        OpPlacement::MAPPED
    }
}
