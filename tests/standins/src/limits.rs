//! The per-operator limitations of the 2019 coral.ai operator table (facts §6), as the
//! stand-in checks them. Written apart from tpupipe's placement model on purpose: the
//! agreement test compares the two.
//!
//! Readings of the table's words (the same readings docs/placement.md states):
//! - a tensor is laid out `[y][x][z]` over its three innermost dimensions, so "x and y" are
//!   the second and third dimension from the end;
//! - "one-dimensional" and "1D" mean at most one dimension larger than 1;
//! - reducing or padding a dimension of size 1 (reduce) or by zero (pad) is harmless.

use tpupipe_runtime::schema::{
    ActivationFunctionType, BuiltinOperator, FullyConnectedOptionsWeightsFormat,
};
use tpupipe_runtime::{ElementType, OperatorView, SubgraphView, TensorView};

fn ints(t: TensorView<'_>) -> Option<Vec<i64>> {
    let bytes = t.data()?;
    let width = match t.dtype() {
        ElementType::I32 => 4,
        ElementType::I64 => 8,
        _ => return None,
    };
    Some(
        bytes
            .chunks_exact(width)
            .map(|c| {
                let mut b = [0u8; 8];
                b[..width].copy_from_slice(c);
                if width == 4 {
                    i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                } else {
                    i64::from_le_bytes(b)
                }
            })
            .collect(),
    )
}

fn big_dims(t: TensorView<'_>) -> usize {
    t.dims().into_iter().filter(|d| *d != 1 && *d != 0).count()
}

/// True when dimension `d` of a rank-`rank` tensor is its y or x dimension.
fn is_y_or_x(d: usize, rank: usize) -> bool {
    d + 2 == rank || d + 3 == rank
}

fn fused(f: ActivationFunctionType) -> bool {
    f != ActivationFunctionType::NONE
}

/// True when the operator breaks its documented limitation.
pub fn broken(sg: &SubgraphView<'_>, op: &OperatorView<'_>, builtin: BuiltinOperator) -> bool {
    let slot = |i: usize| op.inputs().get(i).copied().flatten().map(|t| sg.tensor(t));
    let raw = op.raw();
    match builtin {
        BuiltinOperator::MAX_POOL_2D | BuiltinOperator::AVERAGE_POOL_2D => raw
            .builtin_options_as_pool_2_doptions()
            .is_some_and(|o| fused(o.fused_activation_function())),
        BuiltinOperator::CONCATENATION => {
            if raw
                .builtin_options_as_concatenation_options()
                .is_some_and(|o| fused(o.fused_activation_function()))
            {
                return true;
            }
            let all: Vec<TensorView<'_>> = op
                .inputs()
                .into_iter()
                .flatten()
                .map(|t| sg.tensor(t))
                .collect();
            let consts: Vec<&TensorView<'_>> = all.iter().filter(|t| t.is_constant()).collect();
            !consts.is_empty() && (all.len() != 2 || consts.iter().any(|t| !zero_valued(t)))
        }
        BuiltinOperator::FULLY_CONNECTED => {
            raw.builtin_options_as_fully_connected_options()
                .is_some_and(|o| o.weights_format() != FullyConnectedOptionsWeightsFormat::DEFAULT)
                || op
                    .outputs()
                    .first()
                    .is_some_and(|&t| big_dims(sg.tensor(t)) > 1)
        }
        BuiltinOperator::MEAN => match (slot(0), slot(1).and_then(ints)) {
            (Some(x), Some(axes)) => {
                let dims = x.dims();
                let rank = dims.len() as i64;
                axes.into_iter().any(|a| {
                    let a = if a < 0 { a + rank } else { a };
                    a < 0
                        || a >= rank
                        || !(is_y_or_x(a as usize, dims.len()) || dims[a as usize] == 1)
                })
            }
            _ => true,
        },
        BuiltinOperator::PAD => match (slot(0), slot(1).and_then(ints)) {
            (Some(x), Some(pads)) => {
                let rank = x.dims().len();
                (0..rank).any(|d| {
                    !is_y_or_x(d, rank) && pads.get(2 * d..2 * d + 2).is_some_and(|p| p != [0, 0])
                })
            }
            _ => true,
        },
        BuiltinOperator::SOFTMAX => {
            slot(0).is_some_and(|x| x.num_elements() > 16_000 || big_dims(x) > 1)
        }
        BuiltinOperator::SQUEEZE => {
            let Some(x) = slot(0) else { return false };
            let dims = x.dims();
            let first_big = dims.iter().position(|&d| d != 1).unwrap_or(dims.len());
            let listed: Vec<i64> = raw
                .builtin_options_as_squeeze_options()
                .and_then(|o| o.squeeze_dims())
                .map(|v| v.iter().map(i64::from).collect())
                .unwrap_or_default();
            let rank = dims.len() as i64;
            if listed.is_empty() {
                dims[first_big..].contains(&1)
            } else {
                listed
                    .into_iter()
                    .map(|a| if a < 0 { a + rank } else { a })
                    .any(|a| a as usize >= first_big)
            }
        }
        BuiltinOperator::STRIDED_SLICE => {
            let masks = raw
                .builtin_options_as_strided_slice_options()
                .is_some_and(|o| o.ellipsis_mask() != 0 || o.new_axis_mask() != 0);
            masks
                || slot(3)
                    .and_then(ints)
                    .map_or(true, |s| s.iter().any(|&v| v != 1))
        }
        _ => false,
    }
}

fn zero_valued(t: &TensorView<'_>) -> bool {
    let zp = t
        .quantization()
        .and_then(|q| q.zero_point.first().copied())
        .unwrap_or(0);
    t.data().is_some_and(|d| match t.dtype() {
        ElementType::I8 => d.iter().all(|&b| i64::from(b as i8) == zp),
        ElementType::U8 => d.iter().all(|&b| i64::from(b) == zp),
        _ => d.iter().all(|&b| b == 0),
    })
}

/// True when a weight or bias of a convolution or fully-connected layer is computed rather
/// than constant (facts §6 requirements: parameters are constant at compile time).
pub fn computed_parameters(
    sg: &SubgraphView<'_>,
    op: &OperatorView<'_>,
    builtin: BuiltinOperator,
) -> bool {
    let slots: &[usize] = match builtin {
        BuiltinOperator::TRANSPOSE_CONV => &[1, 3],
        BuiltinOperator::CONV_2D
        | BuiltinOperator::DEPTHWISE_CONV_2D
        | BuiltinOperator::FULLY_CONNECTED => &[1, 2],
        _ => return false,
    };
    let inputs = op.inputs();
    slots.iter().any(|&i| {
        inputs
            .get(i)
            .copied()
            .flatten()
            .is_some_and(|t| !sg.tensor(t).is_constant())
    })
}
