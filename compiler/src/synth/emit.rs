//! Turns a calibrated [`FloatNet`] into a full-int8 TFLite model.
//!
//! Every value of the float network becomes an int8 tensor with the quantization chosen in
//! [`super::quant`]; every layer becomes the op the TFLite converter writes for it (Dense ->
//! `FULLY_CONNECTED`, Conv -> `CONV_2D` with fused ReLU, Tanh -> `TANH`, Add -> `ADD`). With float
//! I/O a `QUANTIZE` op feeds the network and a `DEQUANTIZE` op ends it. Tensor names follow the
//! converter's style for a Keras `Sequential` model.

use super::builder::{BuildError, ModelBuilder};
use super::net::{FloatLayer, FloatNet, KERNEL};
use super::quant::{
    per_tensor, quantize_bias, quantize_weights, RangeObserver, WeightGranularity,
    TANH_OUTPUT_SCALE,
};
use tpupipe_runtime::schema::{
    ActivationFunctionType, AddOptionsT, BuiltinOperator, BuiltinOptionsT, Conv2DOptionsT, Padding,
};
use tpupipe_runtime::{ElementType, TensorId};

/// Operator versions as TFLite's op version table assigns them to int8 models
/// (tensorflow/lite/tools/versioning/op_version.cc).
pub mod versions {
    /// `CONV_2D` with int8 input, weights and output.
    pub const CONV_2D: i32 = 3;
    /// `FULLY_CONNECTED` with int8 input, weights and output, a bias, `keep_num_dims` false.
    pub const FULLY_CONNECTED: i32 = 4;
    /// `TANH` with int8 input.
    pub const TANH: i32 = 2;
    /// `ADD` with int8 inputs.
    pub const ADD: i32 = 2;
    /// `QUANTIZE` float32 -> int8, per tensor.
    pub const QUANTIZE: i32 = 1;
    /// `DEQUANTIZE` int8 (per tensor) -> float32.
    pub const DEQUANTIZE: i32 = 2;
}

/// `ADD` options: no fused activation (`pot_scale_int16` only matters for int16).
fn add_options() -> AddOptionsT {
    let mut add = AddOptionsT::default();
    add.fused_activation_function = ActivationFunctionType::NONE;
    add.pot_scale_int16 = false;
    add
}

/// Name of the model's input tensor (as the converter names a Keras model's input).
pub(crate) const INPUT_NAME: &str = "serving_default_input:0";
/// Name of the model's output tensor.
pub(crate) const OUTPUT_NAME: &str = "StatefulPartitionedCall:0";

/// How to emit the model.
#[derive(Clone, Debug)]
pub(crate) struct EmitOptions {
    /// The model input's shape (`[1, 64]`, `[1, H, W, 3]`).
    pub input_shape: Vec<usize>,
    /// Float32 input and output with QUANTIZE / DEQUANTIZE at the ends.
    pub float_io: bool,
    /// Quantization granularity of FULLY_CONNECTED weights (CONV_2D is always per channel).
    pub fc_weights: WeightGranularity,
    /// The model's description string.
    pub description: String,
}

/// Emits the quantized model of `net`. `names[k]` is the Keras-style name of layer `k`
/// (`sequential/dense_1`); `ranges` are the calibrated ranges of every value.
///
/// Panics if `ranges` or `names` do not have one entry per value / layer of `net` (a caller bug:
/// both come from the same family builder).
pub(crate) fn emit(
    net: &FloatNet,
    ranges: &[RangeObserver],
    names: &[String],
    opts: &EmitOptions,
) -> Result<Vec<u8>, BuildError> {
    assert_eq!(ranges.len(), net.value_count(), "one range per value");
    assert_eq!(names.len(), net.layers.len(), "one name per layer");
    let mut b = ModelBuilder::new(opts.description.clone());
    let last = net.layers.len();
    let final_name = |k: usize, own: String| {
        if k == last && !opts.float_io {
            OUTPUT_NAME.to_string()
        } else {
            own
        }
    };

    // Value 0: the int8 input, behind a QUANTIZE op with float I/O.
    let (in_scale, in_zp) = ranges[0].int8_params();
    let mut tensors: Vec<TensorId> = Vec::with_capacity(net.value_count());
    let mut quants: Vec<(f32, i64)> = Vec::with_capacity(net.value_count());
    let mut shapes: Vec<Vec<usize>> = Vec::with_capacity(net.value_count());
    if opts.float_io {
        let f = b.add_activation(INPUT_NAME, &opts.input_shape, ElementType::F32, None)?;
        let q = b.add_activation(
            "tfl.quantize",
            &opts.input_shape,
            ElementType::I8,
            Some(per_tensor(in_scale, in_zp)),
        )?;
        b.add_op(
            BuiltinOperator::QUANTIZE,
            versions::QUANTIZE,
            &[Some(f)],
            &[q],
            // Like the converter, no option table for QUANTIZE / DEQUANTIZE.
            BuiltinOptionsT::NONE,
        )?;
        b.add_input(f, "input");
        tensors.push(q);
    } else {
        let q = b.add_activation(
            INPUT_NAME,
            &opts.input_shape,
            ElementType::I8,
            Some(per_tensor(in_scale, in_zp)),
        )?;
        b.add_input(q, "input");
        tensors.push(q);
    }
    quants.push((in_scale, in_zp));
    shapes.push(opts.input_shape.clone());

    for (k, (layer, name)) in net.layers.iter().zip(names).enumerate() {
        let value = k + 1;
        let (op, version, out_name, shape, quant, inputs, options) = match layer {
            FloatLayer::Dense {
                input,
                weights,
                bias,
            } => {
                let n_out = bias.len();
                let n_in = weights.len() / n_out;
                let qw = quantize_weights(weights, n_out, opts.fc_weights);
                let (qb, bq) = quantize_bias(bias, quants[*input].0, &qw);
                let w = b.add_constant_i8(
                    &format!("{name}/MatMul"),
                    &[n_out, n_in],
                    &qw.values,
                    Some(qw.quantization()),
                )?;
                let bt = b.add_constant_i32(
                    &format!("{name}/BiasAdd/ReadVariableOp"),
                    &[n_out],
                    &qb,
                    Some(bq),
                )?;
                // Defaults: no fused activation, default weight format, keep_num_dims false.
                let options = BuiltinOptionsT::FullyConnectedOptions(Box::default());
                (
                    BuiltinOperator::FULLY_CONNECTED,
                    versions::FULLY_CONNECTED,
                    format!("{name}/MatMul;{name}/BiasAdd"),
                    vec![1, n_out],
                    ranges[value].int8_params(),
                    vec![Some(tensors[*input]), Some(w), Some(bt)],
                    options,
                )
            }
            FloatLayer::Conv3x3 {
                input,
                weights,
                bias,
                relu,
            } => {
                let filters = bias.len();
                let c_in = weights.len() / (filters * KERNEL * KERNEL);
                let qw = quantize_weights(weights, filters, WeightGranularity::PerChannel);
                let (qb, bq) = quantize_bias(bias, quants[*input].0, &qw);
                let w = b.add_constant_i8(
                    &format!("{name}/Conv2D"),
                    &[filters, KERNEL, KERNEL, c_in],
                    &qw.values,
                    Some(qw.quantization()),
                )?;
                let bt = b.add_constant_i32(
                    &format!("{name}/BiasAdd/ReadVariableOp"),
                    &[filters],
                    &qb,
                    Some(bq),
                )?;
                let mut shape = shapes[*input].clone();
                if let Some(c) = shape.last_mut() {
                    *c = filters;
                }
                let (act, out_name) = if *relu {
                    (
                        ActivationFunctionType::RELU,
                        format!("{name}/Relu;{name}/BiasAdd;{name}/Conv2D"),
                    )
                } else {
                    (
                        ActivationFunctionType::NONE,
                        format!("{name}/BiasAdd;{name}/Conv2D"),
                    )
                };
                let mut conv = Conv2DOptionsT::default();
                conv.padding = Padding::SAME;
                conv.stride_w = 1;
                conv.stride_h = 1;
                conv.fused_activation_function = act;
                conv.dilation_w_factor = 1;
                conv.dilation_h_factor = 1;
                let options = BuiltinOptionsT::Conv2DOptions(Box::new(conv));
                (
                    BuiltinOperator::CONV_2D,
                    versions::CONV_2D,
                    out_name,
                    shape,
                    ranges[value].int8_params(),
                    vec![Some(tensors[*input]), Some(w), Some(bt)],
                    options,
                )
            }
            FloatLayer::Tanh { input } => (
                BuiltinOperator::TANH,
                versions::TANH,
                format!("{name}/Tanh"),
                shapes[*input].clone(),
                (TANH_OUTPUT_SCALE, 0),
                vec![Some(tensors[*input])],
                BuiltinOptionsT::NONE,
            ),
            FloatLayer::Add { a, b: second } => (
                BuiltinOperator::ADD,
                versions::ADD,
                format!("{name}/add"),
                shapes[*a].clone(),
                ranges[value].int8_params(),
                vec![Some(tensors[*a]), Some(tensors[*second])],
                BuiltinOptionsT::AddOptions(Box::new(add_options())),
            ),
        };
        let out = b.add_activation(
            &final_name(value, out_name),
            &shape,
            ElementType::I8,
            Some(per_tensor(quant.0, quant.1)),
        )?;
        b.add_op(op, version, &inputs, &[out], options)?;
        tensors.push(out);
        quants.push(quant);
        shapes.push(shape);
    }

    let last_tensor = tensors[last];
    if opts.float_io {
        let f = b.add_activation(OUTPUT_NAME, &shapes[last], ElementType::F32, None)?;
        b.add_op(
            BuiltinOperator::DEQUANTIZE,
            versions::DEQUANTIZE,
            &[Some(last_tensor)],
            &[f],
            BuiltinOptionsT::NONE,
        )?;
        b.add_output(f, "output_0");
    } else {
        b.add_output(last_tensor, "output_0");
    }
    b.finish()
}
