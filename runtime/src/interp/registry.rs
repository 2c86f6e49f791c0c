//! Which kernel prepares which builtin operator.
//!
//! One match arm per operator. Operators not listed are refused at load time.

use super::error::LoadError;
use super::kernel::{Kernel, PrepareCtx};
#[allow(unused_imports)]
use super::ops;
#[allow(unused_imports)]
use crate::schema::BuiltinOperator as B;

/// Prepares the kernel for the operator described by `ctx`.
pub fn prepare(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    if let crate::model::OpKind::Custom(custom_code) = ctx.op.kind() {
        return ops::custom::prepare(ctx, custom_code);
    }
    let code = ctx.op.kind().builtin().ok_or_else(|| {
        ctx.unsupported("custom operators are not supported by the CPU interpreter")
    })?;
    #[allow(clippy::match_single_binding)]
    match code {
        // -- core ops (conv, fully connected, pooling, elementwise arithmetic, quantize, reshape) --
        B::FULLY_CONNECTED => ops::fully_connected::prepare(ctx),
        // -- unquantized float32 / int32 / int64 heads and tails around Edge TPU segments --
        B::ADD
        | B::SUB
        | B::MUL
        | B::DIV
        | B::FLOOR_DIV
        | B::FLOOR_MOD
        | B::MAXIMUM
        | B::MINIMUM
        | B::SQUARED_DIFFERENCE
            if ops::arith::handles(ctx) =>
        {
            ops::arith::prepare(ctx)
        }
        B::LOGISTIC
        | B::TANH
        | B::EXP
        | B::SQRT
        | B::RSQRT
        | B::SQUARE
        | B::NEG
        | B::ABS
        | B::RELU
        | B::RELU6
        | B::RELU_N1_TO_1
        | B::HARD_SWISH
            if ops::float_unary::handles(ctx) =>
        {
            ops::float_unary::prepare(ctx)
        }
        B::DEQUANTIZE if ops::dequantize_wide::handles(ctx) => ops::dequantize_wide::prepare(ctx),
        B::CAST => ops::cast::prepare_cast(ctx),
        B::GATHER_ND => ops::gather_nd::prepare_gather_nd(ctx),
        B::LESS | B::LESS_EQUAL | B::GREATER | B::GREATER_EQUAL | B::EQUAL | B::NOT_EQUAL
            if ops::compare::handles(ctx) =>
        {
            ops::compare::prepare(ctx)
        }
        B::SELECT | B::SELECT_V2 => ops::select::prepare(ctx),
        B::ADD | B::SUB | B::MUL => ops::binary::prepare(ctx),
        B::QUANTIZE => ops::quantize::prepare_quantize(ctx),
        B::DEQUANTIZE => ops::quantize::prepare_dequantize(ctx),
        B::RESHAPE | B::SQUEEZE | B::EXPAND_DIMS => ops::reshape::prepare(ctx),
        B::CONV_2D => ops::conv::prepare(ctx),
        B::DEPTHWISE_CONV_2D => ops::depthwise::prepare(ctx),
        B::AVERAGE_POOL_2D | B::MAX_POOL_2D => ops::pool::prepare(ctx),
        B::MEAN | B::SUM => ops::reduce::prepare(ctx),
        B::CONCATENATION => ops::concat::prepare(ctx),
        B::TRANSPOSE_CONV => ops::transpose_conv::prepare(ctx),
        // -- activations and lookup-table ops --
        B::RELU => ops::activation::prepare_relu(ctx),
        B::RELU6 => ops::activation::prepare_relu6(ctx),
        B::RELU_N1_TO_1 => ops::activation::prepare_relu_n1_to_1(ctx),
        B::LEAKY_RELU => ops::activation::prepare_leaky_relu(ctx),
        B::HARD_SWISH => ops::activation::prepare_hard_swish(ctx),
        B::PRELU => ops::activation::prepare_prelu(ctx),
        B::LOGISTIC => ops::lut::prepare_logistic(ctx),
        B::TANH => ops::lut::prepare_tanh(ctx),
        B::SOFTMAX => ops::softmax::prepare_softmax(ctx),
        B::L2_NORMALIZATION => ops::l2norm::prepare_l2norm(ctx),
        B::MAXIMUM => ops::minmax::prepare_maximum(ctx),
        B::MINIMUM => ops::minmax::prepare_minimum(ctx),
        // -- data movement and shape ops --
        B::PACK => ops::pack::prepare_pack(ctx),
        B::UNPACK => ops::pack::prepare_unpack(ctx),
        B::SPLIT => ops::split::prepare_split(ctx),
        B::SPLIT_V => ops::split::prepare_split_v(ctx),
        B::SLICE => ops::slice::prepare_slice(ctx),
        B::STRIDED_SLICE => ops::slice::prepare_strided_slice(ctx),
        B::PAD | B::PADV2 => ops::pad::prepare_pad(ctx),
        B::MIRROR_PAD => ops::pad::prepare_mirror_pad(ctx),
        B::TRANSPOSE => ops::transpose::prepare_transpose(ctx),
        B::RESIZE_BILINEAR => ops::resize::prepare_resize_bilinear(ctx),
        B::RESIZE_NEAREST_NEIGHBOR => ops::resize::prepare_resize_nearest(ctx),
        B::SPACE_TO_DEPTH => ops::space_depth::prepare_space_to_depth(ctx),
        B::DEPTH_TO_SPACE => ops::space_depth::prepare_depth_to_space(ctx),
        B::GATHER => ops::gather::prepare_gather(ctx),
        B::ARG_MAX => ops::arg_max::prepare_arg_max(ctx),
        B::ARG_MIN => ops::arg_max::prepare_arg_min(ctx),
        B::SHAPE => ops::shape::prepare_shape(ctx),
        // -- refused with the reason (no bit-exact kernel yet) --
        B::UNIDIRECTIONAL_SEQUENCE_LSTM => ops::lstm::prepare_unidirectional_sequence_lstm(ctx),
        _ => Err(ctx.unsupported("this operator is not supported by the CPU interpreter")),
    }
}
