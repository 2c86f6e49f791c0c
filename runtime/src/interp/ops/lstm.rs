//! UNIDIRECTIONAL_SEQUENCE_LSTM: refused at load time, with the variant named.
//!
//! No kernel reproduces TFLite's LSTM (`kernels/lstm_eval.cc`) bit for bit yet, neither the
//! fully integer "8x8_16" kernel that TF's int8 converter targets (int8 activations and weights,
//! an int16 cell state, five intermediate tensors carrying the gate scales) nor the float or
//! hybrid ones. Running a model with an approximate LSTM would break the interpreter's promise
//! of LiteRT's outputs, so it is refused and the model's LSTM must run elsewhere (the Edge TPU,
//! whose compiler maps the integer op since runtime 14, or TFLite itself).
//!
//! The op keeps its state in variable tensors, which the graph check would otherwise report as
//! tensors nothing produces; it calls [`refusal`] first so that the message names the op.

use crate::dtype::ElementType;
use crate::interp::error::LoadError;
use crate::interp::kernel::{Kernel, PrepareCtx};
use crate::model::{OperatorView, SubgraphView};

/// Input 2 (input-to-forget weights) and input 19 (the cell state) identify the variant.
const FORGET_WEIGHTS: usize = 2;
const CELL_STATE: usize = 19;

/// Which of TFLite's LSTM kernels these tensor types select.
fn variant(
    input: Option<ElementType>,
    weights: Option<ElementType>,
    cell: Option<ElementType>,
    intermediates: usize,
) -> String {
    let name = |t: Option<ElementType>| t.map_or("no".to_string(), |t| t.to_string());
    match (input, weights, cell) {
        (Some(ElementType::I8), _, Some(ElementType::I16)) => format!(
            "fully integer: int8 activations, int16 cell state, {intermediates} intermediate \
             tensors"
        ),
        (Some(ElementType::F32), Some(ElementType::F32), _) => "float32".to_string(),
        (Some(ElementType::F32), Some(w), _) => format!("hybrid: float32 activations, {w} weights"),
        (Some(i), w, c) => format!("{i} input, {} weights, {} cell state", name(w), name(c)),
        (None, _, _) => "without an input tensor".to_string(),
    }
}

fn reason(variant: &str) -> String {
    format!(
        "UNIDIRECTIONAL_SEQUENCE_LSTM ({variant}) is not supported by the CPU interpreter: no \
         kernel here reproduces TFLite's LSTM (lstm_eval.cc) bit for bit yet, so the op is \
         refused rather than approximated; run it on the Edge TPU or in TFLite"
    )
}

/// The refusal of the UNIDIRECTIONAL_SEQUENCE_LSTM operator `op` of `sg`.
pub fn refusal(op: &OperatorView<'_>, sg: &SubgraphView<'_>) -> LoadError {
    let inputs = op.inputs();
    let ty = |k: usize| {
        inputs
            .get(k)
            .copied()
            .flatten()
            .and_then(|id| sg.try_tensor(id))
            .map(|t| t.dtype())
    };
    LoadError::Unsupported {
        op: op.index(),
        kind: op.kind().name(),
        reason: reason(&variant(
            ty(0),
            ty(FORGET_WEIGHTS),
            ty(CELL_STATE),
            op.intermediates().len(),
        )),
    }
}

/// Refuses UNIDIRECTIONAL_SEQUENCE_LSTM, saying which variant the model holds and why.
pub fn prepare_unidirectional_sequence_lstm(
    ctx: &PrepareCtx<'_>,
) -> Result<Box<dyn Kernel>, LoadError> {
    let ty = |k: usize| ctx.optional_input(k).map(|t| t.dtype);
    Err(ctx.unsupported(reason(&variant(
        ty(0),
        ty(FORGET_WEIGHTS),
        ty(CELL_STATE),
        ctx.op.intermediates().len(),
    ))))
}
