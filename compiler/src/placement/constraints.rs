//! The documented limitations of single operators ([`super::table::TABLE`]'s limitation
//! column), checked on one operator of a model. A broken limitation leaves the operator on the
//! CPU with "Operation is otherwise supported, but not mapped due to some unspecified
//! limitation" (facts §3: the status real logs show for supported operators, such as
//! CONCATENATION and LOGISTIC, that stay on the CPU).
//!
//! Where the table's words need interpreting, the interpretation is written at the check and
//! marked *inferred*. Limitations the table states that no static check can decide (RESIZE_*
//! "may not be mapped ... to avoid loss in precision") are not predicted.

use tpupipe_runtime::schema::{self, BuiltinOperator as B};
use tpupipe_runtime::{ElementType, OperatorView, SubgraphView, TensorView};

/// The largest SOFTMAX the Edge TPU maps, in elements (facts §6, 2019 table).
pub const SOFTMAX_MAX_ELEMENTS: u64 = 16_000;

/// The dimensions of `dims` larger than 1.
fn non_unit(dims: &[usize]) -> usize {
    dims.iter().filter(|&&d| d > 1).count()
}

/// A constant int32/int64 tensor's values.
fn const_ints(t: &TensorView<'_>) -> Option<Vec<i64>> {
    let data = t.data()?;
    match t.dtype() {
        ElementType::I32 => Some(
            data.chunks_exact(4)
                .map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
        ),
        ElementType::I64 => Some(
            data.chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect(),
        ),
        _ => None,
    }
}

/// Normalizes `axis` (possibly negative) for a tensor of `rank` dimensions.
fn axis(a: i64, rank: usize) -> Option<usize> {
    let r = rank as i64;
    let a = if a < 0 { a + r } else { a };
    (0..r).contains(&a).then_some(a as usize)
}

/// The y and x axes of a tensor of `rank` dimensions: the two just inside the innermost
/// (channel, z) one, as the Edge TPU lays tensors out as `[y][x][z]` (facts §6: "only the 3
/// innermost may be larger than 1"). *Inferred* for ranks below 3: the outer axes there.
fn yx_axes(rank: usize) -> [Option<usize>; 2] {
    [rank.checked_sub(3), rank.checked_sub(2)]
}

/// Checks `op` (a `builtin` of the table) against its documented limitation; `Some(detail)`
/// when one is broken.
pub fn broken(sg: &SubgraphView<'_>, op: &OperatorView<'_>, builtin: B) -> Option<String> {
    let inputs: Vec<Option<TensorView<'_>>> = op
        .inputs()
        .into_iter()
        .map(|t| t.map(|t| sg.tensor(t)))
        .collect();
    let input = |i: usize| inputs.get(i).copied().flatten();
    let output = op.outputs().first().map(|&t| sg.tensor(t));
    let raw = op.raw();
    match builtin {
        // 2019 table: "No fused activation function".
        B::AVERAGE_POOL_2D | B::MAX_POOL_2D => raw
            .builtin_options_as_pool_2_doptions()
            .filter(|o| o.fused_activation_function() != schema::ActivationFunctionType::NONE)
            .map(|o| {
                format!(
                    "pooling with a fused {:?} activation (not mapped)",
                    o.fused_activation_function()
                )
            }),
        // 2019 table: "No fused activation function. If any input is a compile-time constant
        // tensor, there must be only 2 inputs, and this constant tensor must be all zeroes".
        B::CONCATENATION => {
            if let Some(o) = raw
                .builtin_options_as_concatenation_options()
                .filter(|o| o.fused_activation_function() != schema::ActivationFunctionType::NONE)
            {
                return Some(format!(
                    "concatenation with a fused {:?} activation (not mapped)",
                    o.fused_activation_function()
                ));
            }
            let constants: Vec<_> = inputs
                .iter()
                .flatten()
                .filter(|t| t.is_constant())
                .collect();
            if constants.is_empty() {
                None
            } else if inputs.len() != 2 {
                Some(format!(
                    "{} inputs with a constant one (only 2 are mapped then)",
                    inputs.len()
                ))
            } else {
                constants
                    .iter()
                    .find(|t| !is_all_zero(t))
                    .map(|t| format!("constant input {} is not all zeroes", t.name()))
            }
        }
        // 2019 table: "Only default format supported for fully-connected weights. Output
        // tensor is one-dimensional". *Inferred*: one-dimensional means at most one dimension
        // larger than 1 (a `[1, 10]` output is a vector with a leading 1).
        B::FULLY_CONNECTED => {
            if let Some(o) = raw
                .builtin_options_as_fully_connected_options()
                .filter(|o| {
                    o.weights_format() != schema::FullyConnectedOptionsWeightsFormat::DEFAULT
                })
            {
                return Some(format!("weights format {:?}", o.weights_format()));
            }
            output
                .filter(|t| non_unit(&t.dims()) > 1)
                .map(|t| format!("output shape {:?} is not one-dimensional", t.dims()))
        }
        // 2019 table: "Supports reduction along x- and/or y-dimensions only". *Inferred*:
        // reducing a dimension of size 1 changes nothing and is allowed.
        B::MEAN => {
            let (data, axes) = (input(0)?, input(1)?);
            let dims = data.dims();
            let Some(axes) = const_ints(&axes) else {
                return Some("reduction axes are not constant".into());
            };
            let yx = yx_axes(dims.len());
            axes.iter()
                .find(|&&a| {
                    axis(a, dims.len())
                        .map_or(true, |a| !yx.contains(&Some(a)) && dims.get(a) != Some(&1))
                })
                .map(|a| format!("reduces axis {a} of shape {dims:?} (only y and x are mapped)"))
        }
        // 2019 table: "Supports padding along x- and/or y-dimensions only".
        B::PAD => {
            let (data, pads) = (input(0)?, input(1)?);
            let dims = data.dims();
            let Some(pads) = const_ints(&pads) else {
                return Some("paddings are not constant".into());
            };
            let yx = yx_axes(dims.len());
            pads.chunks(2)
                .enumerate()
                .find(|(d, p)| !yx.contains(&Some(*d)) && p.iter().any(|&v| v != 0))
                .map(|(d, _)| format!("pads axis {d} of shape {dims:?} (only y and x are mapped)"))
        }
        // 2019 table: "Supports only 1D input tensor with a max of 16,000 elements".
        // *Inferred*: 1D means at most one dimension larger than 1.
        B::SOFTMAX => {
            let t = input(0)?;
            if t.num_elements() > SOFTMAX_MAX_ELEMENTS {
                Some(format!(
                    "softmax over {} elements (the Edge TPU maps up to {SOFTMAX_MAX_ELEMENTS})",
                    t.num_elements()
                ))
            } else if non_unit(&t.dims()) > 1 {
                Some(format!(
                    "softmax input shape {:?} is not one-dimensional",
                    t.dims()
                ))
            } else {
                None
            }
        }
        // 2019 table: "Supported only when input tensor dimensions that have leading 1s (that
        // is, no relayout needed)": 1,1,10 and 1,5,10 are fine, 5,1,10 is not. So every
        // squeezed axis must lie in the leading run of 1s.
        B::SQUEEZE => {
            let dims = input(0)?.dims();
            let leading = dims.iter().take_while(|&&d| d == 1).count();
            let squeezed: Vec<usize> = match raw
                .builtin_options_as_squeeze_options()
                .and_then(|o| o.squeeze_dims())
                .filter(|v| !v.is_empty())
            {
                Some(v) => v
                    .iter()
                    .filter_map(|a| axis(i64::from(a), dims.len()))
                    .collect(),
                None => (0..dims.len()).filter(|&d| dims[d] == 1).collect(),
            };
            squeezed
                .iter()
                .find(|&&a| a >= leading)
                .map(|a| format!("squeezes axis {a} of shape {dims:?}, which needs a relayout"))
        }
        // 2019 table: "Supported only when all strides are equal to 1 ..., and with
        // ellipsis-axis-mask == 0, and new-axis-mask == 0".
        B::STRIDED_SLICE => {
            if let Some(o) = raw.builtin_options_as_strided_slice_options() {
                if o.ellipsis_mask() != 0 {
                    return Some(format!("ellipsis mask {}", o.ellipsis_mask()));
                }
                if o.new_axis_mask() != 0 {
                    return Some(format!("new-axis mask {}", o.new_axis_mask()));
                }
            }
            let strides = input(3)?;
            match const_ints(&strides) {
                None => Some("strides are not constant".into()),
                Some(s) if s.iter().any(|&v| v != 1) => {
                    Some(format!("strides {s:?} (only 1 is mapped)"))
                }
                Some(_) => None,
            }
        }
        _ => None,
    }
}

fn is_all_zero(t: &TensorView<'_>) -> bool {
    let Some(data) = t.data() else {
        return false;
    };
    match t.quantization().and_then(|q| q.per_tensor()) {
        // A quantized zero is the zero point.
        Some((_, zp)) if matches!(t.dtype(), ElementType::I8) => {
            data.iter().all(|&b| i64::from(b as i8) == zp)
        }
        Some((_, zp)) if matches!(t.dtype(), ElementType::U8) => {
            data.iter().all(|&b| i64::from(b) == zp)
        }
        _ => data.iter().all(|&b| b == 0),
    }
}

/// Model parameters (weights and biases of convolutions and fully-connected layers) that are
/// not constant (facts §6, requirements: "Model parameters such as bias tensors are constant at
/// compile time"). *Inferred* status: "unspecified limitation".
pub fn computed_parameter(
    sg: &SubgraphView<'_>,
    op: &OperatorView<'_>,
    builtin: B,
) -> Option<String> {
    let params: &[usize] = match builtin {
        B::CONV_2D | B::DEPTHWISE_CONV_2D | B::FULLY_CONNECTED => &[1, 2],
        B::TRANSPOSE_CONV => &[1, 3],
        _ => return None,
    };
    let inputs = op.inputs();
    params
        .iter()
        .filter_map(|&i| inputs.get(i).copied().flatten())
        .map(|t| sg.tensor(t))
        .find(|t| !t.is_constant())
        .map(|t| format!("parameter tensor {} is computed, not constant", t.name()))
}
