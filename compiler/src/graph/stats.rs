//! Per-operator cost figures: multiply-accumulate counts.
//!
//! The rules (shapes are the static shapes declared in the file):
//!
//! | operator | MACs |
//! |---|---|
//! | `CONV_2D` (filter `[out_ch, kh, kw, in_ch/groups]`) | output elements × kh × kw × in_ch/groups |
//! | `DEPTHWISE_CONV_2D` (filter `[1, kh, kw, out_ch]`) | output elements × kh × kw |
//! | `FULLY_CONNECTED` (weights `[out, in]`) | output elements (per batch × batch) × in |
//! | `TRANSPOSE_CONV` (weights `[out_ch, kh, kw, in_ch]`) | input elements × kh × kw × out_ch |
//! | `CONV_3D` (filter `[kd, kh, kw, in_ch, out_ch]`) | output elements × kd × kh × kw × in_ch |
//! | `BATCH_MATMUL` | output elements × the contracted dimension |
//! | pooling (`AVERAGE_POOL_2D`, `MAX_POOL_2D`, `L2_POOL_2D`) | output elements × kernel area |
//! | reductions (`MEAN`, `SUM`, `REDUCE_MAX`, `REDUCE_MIN`, `REDUCE_PROD`) | input elements |
//! | elementwise arithmetic, activations, (de)quantization, softmax | output elements |
//! | everything else (reshapes, concatenation, padding, custom ops, ...) | 0 |
//!
//! All arithmetic saturates at `u64::MAX` instead of overflowing; a filter whose rank does not
//! match the operator counts 0.

use tpupipe_runtime::schema::BuiltinOperator as B;
use tpupipe_runtime::{OpKind, OperatorView, TensorId};

/// Product of the dimensions (1 for a scalar), saturating.
pub(crate) fn elements(shape: &[usize]) -> u64 {
    shape
        .iter()
        .fold(1u64, |acc, &d| acc.saturating_mul(d as u64))
}

fn product(dims: &[usize]) -> u64 {
    elements(dims)
}

/// True for the operators counted as one MAC per output element.
pub(crate) fn is_elementwise(op: B) -> bool {
    matches!(
        op,
        B::ADD
            | B::SUB
            | B::MUL
            | B::DIV
            | B::SQUARED_DIFFERENCE
            | B::MAXIMUM
            | B::MINIMUM
            | B::POW
            | B::FLOOR_DIV
            | B::FLOOR_MOD
            | B::ADD_N
            | B::RELU
            | B::RELU6
            | B::RELU_N1_TO_1
            | B::RELU_0_TO_1
            | B::LOGISTIC
            | B::TANH
            | B::HARD_SWISH
            | B::LEAKY_RELU
            | B::PRELU
            | B::ELU
            | B::GELU
            | B::EXP
            | B::LOG
            | B::SQRT
            | B::RSQRT
            | B::ABS
            | B::NEG
            | B::SQUARE
            | B::SIN
            | B::COS
            | B::FLOOR
            | B::CEIL
            | B::ROUND
            | B::SIGN
            | B::QUANTIZE
            | B::DEQUANTIZE
            | B::SOFTMAX
            | B::LOG_SOFTMAX
            | B::L2_NORMALIZATION
            | B::LOCAL_RESPONSE_NORMALIZATION
    )
}

/// The multiply-accumulate count of one operator. `shape` gives the static shape of any tensor
/// of the operator's subgraph.
pub fn op_macs<'s>(op: &OperatorView<'_>, shape: impl Fn(TensorId) -> &'s [usize]) -> u64 {
    let OpKind::Builtin(kind) = op.kind() else {
        return 0;
    };
    let inputs = op.inputs();
    let outputs = op.outputs();
    let input = |k: usize| -> Option<&'s [usize]> { inputs.get(k).copied().flatten().map(&shape) };
    let out_elems = outputs.first().map_or(0, |&t| elements(shape(t)));
    let rank4 = |k: usize| input(k).filter(|s| s.len() == 4);

    match kind {
        B::CONV_2D => rank4(1).map_or(0, |f| out_elems.saturating_mul(product(&f[1..4]))),
        B::DEPTHWISE_CONV_2D => rank4(1).map_or(0, |f| out_elems.saturating_mul(product(&f[1..3]))),
        B::FULLY_CONNECTED => input(1)
            .and_then(|w| w.last().copied())
            .map_or(0, |in_features| {
                out_elems.saturating_mul(in_features as u64)
            }),
        B::TRANSPOSE_CONV => match (rank4(1), input(2)) {
            (Some(w), Some(x)) => elements(x).saturating_mul(product(&w[..3])),
            _ => 0,
        },
        B::CONV_3D => input(1)
            .filter(|f| f.len() == 5)
            .map_or(0, |f| out_elems.saturating_mul(product(&f[..4]))),
        B::BATCH_MATMUL => {
            let adj_x = op
                .raw()
                .builtin_options_as_batch_mat_mul_options()
                .is_some_and(|o| o.adj_x());
            input(0).filter(|x| x.len() >= 2).map_or(0, |x| {
                let k = if adj_x {
                    x[x.len() - 2]
                } else {
                    x[x.len() - 1]
                };
                out_elems.saturating_mul(k as u64)
            })
        }
        B::AVERAGE_POOL_2D | B::MAX_POOL_2D | B::L2_POOL_2D => op
            .raw()
            .builtin_options_as_pool_2_doptions()
            .map_or(0, |o| {
                let fh = o.filter_height().max(0) as u64;
                let fw = o.filter_width().max(0) as u64;
                out_elems.saturating_mul(fh).saturating_mul(fw)
            }),
        B::MEAN | B::SUM | B::REDUCE_MAX | B::REDUCE_MIN | B::REDUCE_PROD => {
            input(0).map_or(0, elements)
        }
        k if is_elementwise(k) => out_elems,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_of_scalar_is_one_and_saturates() {
        assert_eq!(elements(&[]), 1);
        assert_eq!(elements(&[2, 3, 4]), 24);
        assert_eq!(elements(&[usize::MAX, usize::MAX, 4]), u64::MAX);
    }

    #[test]
    fn classification() {
        assert!(is_elementwise(B::ADD));
        assert!(is_elementwise(B::HARD_SWISH));
        assert!(!is_elementwise(B::RESHAPE));
        assert!(!is_elementwise(B::CONV_2D));
    }
}
