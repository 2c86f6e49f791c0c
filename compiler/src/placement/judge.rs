//! Judging one operator against the Edge TPU compiler's operator table ([`super::table`]) and
//! the documented limitations ([`super::constraints`]) (`../shared/docs/edgetpu-compiler-facts.md`
//! §3, §5, §6).
//!
//! The rules, in this order (the first that applies decides the status):
//!
//! 1. a custom operator: `edgetpu-custom-op` (a model already compiled) is on the Edge TPU;
//!    any other is "Operation is working on an unsupported data type" (facts §3: what
//!    real logs show for `CUSTOM` `TFLite_Detection_PostProcess`);
//! 2. an op version above what the compiler maps ([`MAX_MAPPED_VERSION`]): "Operation version
//!    not supported" (facts §3: FULLY_CONNECTED v9 with keep_num_dims, a newer
//!    RESIZE_NEAREST_NEIGHBOR);
//! 3. QUANTIZE from float: "otherwise supported, but not mapped due to some unspecified
//!    limitation"; DEQUANTIZE: "unsupported data type" (facts §5, "Graph rewrite": these stay on
//!    the CPU before and after the custom op; the statuses are from f0cal#20). A QUANTIZE between
//!    8-bit types (uint8<->int8 at the model edges, int8->int8 requantize) is mapped (facts §5:
//!    absorbed into the custom op and counted "Mapped to Edge TPU");
//! 4. an activation (a non-constant input or output) that is not int8 or uint8: "unsupported
//!    data type" (facts §6 requirements: 8-bit tensors; §3: float ops, RESHAPE on float);
//! 5. an operator outside the table, or needing a newer runtime than the target: "Operation not
//!    supported" (facts §3: TRANSPOSE before runtime 14, LEAKY_RELU, FLOOR_MOD);
//! 6. an activation with more than 3 dimensions larger than 1: "Tensor has unsupported rank (up
//!    to 3 innermost dimensions mapped)" (facts §6, #30: batch must be 1);
//! 7. an activation of unresolved dynamic size, a computed (non-constant) weight or bias, or a
//!    broken documented limitation ([`super::constraints::broken`]): "unspecified limitation"
//!    (facts §6 requirements; the status for these is *inferred*: it is the one logs show for
//!    supported operators left on the CPU).

use super::{constraints, table, OpPlacement, OpStatus};
use crate::graph::Graph;
use tpupipe_runtime::model::EDGETPU_CUSTOM_CODE;
use tpupipe_runtime::schema::BuiltinOperator;
use tpupipe_runtime::{ElementType, ModelView, OpKind};

pub use constraints::SOFTMAX_MAX_ELEMENTS;

/// Highest op versions the compiler maps; newer ones stay on the CPU (facts §3, "Operation
/// version not supported": FULLY_CONNECTED v9 is the keep_num_dims version; the RESIZE bound is
/// the stand-in's reading of tiny_yolo_edgetpu.log, *inferred*).
pub const MAX_MAPPED_VERSION: &[(BuiltinOperator, i32)] = &[
    (BuiltinOperator::FULLY_CONNECTED, 8),
    (BuiltinOperator::RESIZE_NEAREST_NEIGHBOR, 3),
];

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
    runtime: u32,
}

impl<'a, 'g> Judge<'a, 'g> {
    /// A judge for `model`, whose graph is `graph`, for the default target (compiler 16,
    /// runtime [`table::DEFAULT_RUNTIME`]).
    pub fn new(model: ModelView<'a>, graph: &'g Graph) -> Self {
        Judge::for_runtime(model, graph, table::DEFAULT_RUNTIME)
    }

    /// A judge for a compile with `--min_runtime_version runtime`: operators the table adds in
    /// a later runtime are "Operation not supported".
    pub fn for_runtime(model: ModelView<'a>, graph: &'g Graph, runtime: u32) -> Self {
        Judge {
            model,
            graph,
            runtime,
        }
    }

    /// The placement of the operator at execution position `pos`, judged alone.
    pub fn judge(&self, pos: usize) -> OpPlacement {
        let sg = self.model.main_subgraph();
        let op = sg.operator(self.graph.order()[pos]);
        let kind = op.kind();
        let Some(builtin) = kind.builtin() else {
            if matches!(kind, OpKind::Custom(c) if c == EDGETPU_CUSTOM_CODE) {
                return placed(OpStatus::Mapped, "already compiled for the Edge TPU");
            }
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
        match table::rule_of(builtin) {
            None => {
                return OpPlacement {
                    status: OpStatus::NotSupported,
                    detail: None,
                }
            }
            Some(r) if r.since_runtime > self.runtime => {
                return placed(
                    OpStatus::NotSupported,
                    format!(
                        "needs Edge TPU runtime {} (compiling for {})",
                        r.since_runtime, self.runtime
                    ),
                )
            }
            Some(_) => {}
        }
        let bad_rank =
            |dims: &[usize]| dims.len() > 3 && dims[..dims.len() - 3].iter().any(|&d| d > 1);
        if let Some(t) = activations.iter().find(|t| bad_rank(&t.dims())) {
            return placed(
                OpStatus::UnsupportedRank,
                format!("tensor {} has shape {:?}", t.name(), t.dims()),
            );
        }
        if let Some(t) = activations.iter().find(|t| t.has_unresolved_dynamic_dims()) {
            return placed(
                OpStatus::UnspecifiedLimitation,
                format!(
                    "tensor {} has a dynamic size {:?}",
                    t.name(),
                    t.shape_signature().unwrap_or_default()
                ),
            );
        }
        if let Some(detail) = constraints::computed_parameter(&sg, &op, builtin)
            .or_else(|| constraints::broken(&sg, &op, builtin))
        {
            return placed(OpStatus::UnspecifiedLimitation, detail);
        }
        OpPlacement::MAPPED
    }
}
