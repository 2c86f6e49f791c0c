//! A small test-only builder for TFLite models, on top of the generated object API, plus a few
//! canned graphs (a chain, a residual diamond, a cycle, a tensor produced twice, a file whose
//! operator order is not topological).

#![allow(clippy::field_reassign_with_default)]

use tpupipe_runtime::schema::{
    finish_model_buffer, BufferT, BuiltinOperator, BuiltinOptionsT, Conv2DOptionsT,
    DepthwiseConv2DOptionsT, ModelT, OperatorCodeT, OperatorT, Pool2DOptionsT,
    QuantizationParametersT, SubGraphT, TensorT, TensorType,
};

/// Builds a single-subgraph model tensor by tensor and op by op. Tensor and op handles are the
/// indices the file will use.
pub struct ModelBuilder {
    /// The model being built; tests may edit it directly (e.g. to corrupt an index).
    pub model: ModelT,
}

impl Default for ModelBuilder {
    fn default() -> Self {
        Self::new()
    }
}

fn elem_size(t: TensorType) -> usize {
    match t {
        TensorType::INT8 | TensorType::UINT8 | TensorType::BOOL => 1,
        TensorType::INT16 | TensorType::FLOAT16 => 2,
        TensorType::INT64 | TensorType::FLOAT64 => 8,
        _ => 4,
    }
}

impl ModelBuilder {
    /// An empty model with the buffer-0 sentinel and one empty subgraph.
    pub fn new() -> Self {
        let mut sg = SubGraphT::default();
        sg.tensors = Some(Vec::new());
        sg.inputs = Some(Vec::new());
        sg.outputs = Some(Vec::new());
        sg.operators = Some(Vec::new());
        sg.name = Some("main".to_string());
        let mut model = ModelT::default();
        model.version = 3;
        model.operator_codes = Some(Vec::new());
        model.subgraphs = Some(vec![sg]);
        model.description = Some("tpupipe test model".to_string());
        model.buffers = Some(vec![BufferT::default()]);
        ModelBuilder { model }
    }

    /// The main subgraph.
    pub fn subgraph(&mut self) -> &mut SubGraphT {
        &mut self.model.subgraphs.as_mut().unwrap()[0]
    }

    fn push_tensor(&mut self, t: TensorT) -> i32 {
        let tensors = self.subgraph().tensors.as_mut().unwrap();
        tensors.push(t);
        (tensors.len() - 1) as i32
    }

    /// An activation tensor of any type, without quantization.
    pub fn tensor(&mut self, name: &str, shape: &[i32], dtype: TensorType) -> i32 {
        let mut t = TensorT::default();
        t.shape = Some(shape.to_vec());
        t.type_ = dtype;
        t.name = Some(name.to_string());
        self.push_tensor(t)
    }

    /// An int8 activation with per-tensor quantization (scale 0.05, zero point -3).
    pub fn int8(&mut self, name: &str, shape: &[i32]) -> i32 {
        let t = self.tensor(name, shape, TensorType::INT8);
        self.subgraph().tensors.as_mut().unwrap()[t as usize].quantization =
            Some(Box::new(quant(vec![0.05], vec![-3], 0)));
        t
    }

    /// A constant tensor with the given bytes (must match the shape and type).
    pub fn constant(&mut self, name: &str, shape: &[i32], dtype: TensorType, data: Vec<u8>) -> i32 {
        let buffers = self.model.buffers.as_mut().unwrap();
        let mut buf = BufferT::default();
        buf.data = Some(data);
        buffers.push(buf);
        let buffer = (buffers.len() - 1) as u32;
        let t = self.tensor(name, shape, dtype);
        self.subgraph().tensors.as_mut().unwrap()[t as usize].buffer = buffer;
        t
    }

    /// A constant filled with a repeating byte pattern of the right size for shape and type.
    pub fn constant_filled(&mut self, name: &str, shape: &[i32], dtype: TensorType) -> i32 {
        let n: usize = shape.iter().map(|&d| d as usize).product::<usize>() * elem_size(dtype);
        let data = (0..n).map(|i| (i % 7) as u8).collect();
        self.constant(name, shape, dtype, data)
    }

    /// A constant int8 weight tensor with per-axis quantization along `axis`.
    pub fn weights(&mut self, name: &str, shape: &[i32], axis: i32) -> i32 {
        let t = self.constant_filled(name, shape, TensorType::INT8);
        let n = shape[axis as usize] as usize;
        let tensors = self.subgraph().tensors.as_mut().unwrap();
        tensors[t as usize].quantization = Some(Box::new(quant(vec![0.01; n], vec![0; n], axis)));
        t
    }

    /// A constant int32 bias of length `n`.
    pub fn bias(&mut self, name: &str, n: i32) -> i32 {
        self.constant_filled(name, &[n], TensorType::INT32)
    }

    fn opcode(&mut self, code: BuiltinOperator, custom: Option<&str>, version: i32) -> u32 {
        let codes = self.model.operator_codes.as_mut().unwrap();
        let found = codes.iter().position(|c| {
            c.builtin_code == code && c.custom_code.as_deref() == custom && c.version == version
        });
        match found {
            Some(i) => i as u32,
            None => {
                let mut c = OperatorCodeT::default();
                c.deprecated_builtin_code = code.0.min(127) as i8;
                c.custom_code = custom.map(str::to_string);
                c.version = version;
                c.builtin_code = code;
                codes.push(c);
                (codes.len() - 1) as u32
            }
        }
    }

    /// Appends an operator with options; returns its index.
    pub fn op_with(
        &mut self,
        code: BuiltinOperator,
        options: BuiltinOptionsT,
        inputs: &[i32],
        outputs: &[i32],
    ) -> usize {
        let opcode_index = self.opcode(code, None, 1);
        let mut op = OperatorT::default();
        op.opcode_index = opcode_index;
        op.inputs = Some(inputs.to_vec());
        op.outputs = Some(outputs.to_vec());
        op.builtin_options = options;
        self.push_op(op)
    }

    /// Appends an operator without options; returns its index.
    pub fn op(&mut self, code: BuiltinOperator, inputs: &[i32], outputs: &[i32]) -> usize {
        self.op_with(code, BuiltinOptionsT::NONE, inputs, outputs)
    }

    /// Appends a custom operator; returns its index.
    pub fn custom_op(&mut self, name: &str, inputs: &[i32], outputs: &[i32]) -> usize {
        let opcode_index = self.opcode(BuiltinOperator::CUSTOM, Some(name), 1);
        let mut op = OperatorT::default();
        op.opcode_index = opcode_index;
        op.inputs = Some(inputs.to_vec());
        op.outputs = Some(outputs.to_vec());
        self.push_op(op)
    }

    fn push_op(&mut self, op: OperatorT) -> usize {
        let ops = self.subgraph().operators.as_mut().unwrap();
        ops.push(op);
        ops.len() - 1
    }

    /// A `CONV_2D` (stride 1, SAME padding) with options.
    pub fn conv(&mut self, input: i32, filter: i32, bias: i32, output: i32) -> usize {
        self.op_with(
            BuiltinOperator::CONV_2D,
            BuiltinOptionsT::Conv2DOptions(Box::new({
                let mut o = Conv2DOptionsT::default();
                o.stride_w = 1;
                o.stride_h = 1;
                o.dilation_w_factor = 1;
                o.dilation_h_factor = 1;
                o
            })),
            &[input, filter, bias],
            &[output],
        )
    }

    /// A `DEPTHWISE_CONV_2D` (stride 1, multiplier 1).
    pub fn depthwise(&mut self, input: i32, filter: i32, bias: i32, output: i32) -> usize {
        self.op_with(
            BuiltinOperator::DEPTHWISE_CONV_2D,
            BuiltinOptionsT::DepthwiseConv2DOptions(Box::new({
                let mut o = DepthwiseConv2DOptionsT::default();
                o.stride_w = 1;
                o.stride_h = 1;
                o.depth_multiplier = 1;
                o.dilation_w_factor = 1;
                o.dilation_h_factor = 1;
                o
            })),
            &[input, filter, bias],
            &[output],
        )
    }

    /// A `FULLY_CONNECTED`.
    pub fn fully_connected(&mut self, input: i32, weights: i32, bias: i32, output: i32) -> usize {
        self.op_with(
            BuiltinOperator::FULLY_CONNECTED,
            BuiltinOptionsT::FullyConnectedOptions(Box::default()),
            &[input, weights, bias],
            &[output],
        )
    }

    /// A pooling operator with a `kh` x `kw` window and stride equal to the window.
    pub fn pool(
        &mut self,
        code: BuiltinOperator,
        input: i32,
        output: i32,
        kh: i32,
        kw: i32,
    ) -> usize {
        self.op_with(
            code,
            BuiltinOptionsT::Pool2DOptions(Box::new({
                let mut o = Pool2DOptionsT::default();
                o.stride_w = kw;
                o.stride_h = kh;
                o.filter_width = kw;
                o.filter_height = kh;
                o
            })),
            &[input],
            &[output],
        )
    }

    /// Sets the model inputs.
    pub fn inputs(&mut self, ids: &[i32]) -> &mut Self {
        self.subgraph().inputs = Some(ids.to_vec());
        self
    }

    /// Sets the model outputs.
    pub fn outputs(&mut self, ids: &[i32]) -> &mut Self {
        self.subgraph().outputs = Some(ids.to_vec());
        self
    }

    /// Serializes the model with the `TFL3` identifier.
    pub fn finish(&self) -> Vec<u8> {
        serialize(&self.model)
    }
}

/// Quantization parameters (scales, zero points, quantized dimension).
pub fn quant(scale: Vec<f32>, zero_point: Vec<i64>, axis: i32) -> QuantizationParametersT {
    let mut q = QuantizationParametersT::default();
    q.scale = Some(scale);
    q.zero_point = Some(zero_point);
    q.quantized_dimension = axis;
    q
}

/// Serializes an object-API model with the `TFL3` identifier.
pub fn serialize(model: &ModelT) -> Vec<u8> {
    let mut fbb = flatbuffers::FlatBufferBuilder::new();
    let root = model.pack(&mut fbb);
    finish_model_buffer(&mut fbb, root);
    fbb.finished_data().to_vec()
}

/// A chain of `n` int8 ReLU-separated fully connected layers of width 16 on a `[1, 16]` input:
/// `x -> FC -> RELU -> FC -> RELU ...`, `2n` operators. Tensors: input `x`, then per layer
/// weights, bias, `fc<i>`, `relu<i>`.
pub fn chain(n: usize) -> Vec<u8> {
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 16]);
    let mut cur = x;
    for i in 0..n {
        let w = b.weights(&format!("w{i}"), &[16, 16], 0);
        let bias = b.bias(&format!("b{i}"), 16);
        let fc = b.int8(&format!("fc{i}"), &[1, 16]);
        b.fully_connected(cur, w, bias, fc);
        let relu = b.int8(&format!("relu{i}"), &[1, 16]);
        b.op(BuiltinOperator::RELU, &[fc], &[relu]);
        cur = relu;
    }
    b.inputs(&[x]).outputs(&[cur]);
    b.finish()
}

/// Tensor ids of [`residual`].
pub mod residual_ids {
    /// Model input `[1, 8, 8, 4]`.
    pub const X: u32 = 0;
    /// Output of op0 (CONV_2D 3x3, 4 -> 8 channels), the skip tensor `[1, 8, 8, 8]`.
    pub const A: u32 = 3;
    /// Output of op1 (DEPTHWISE_CONV_2D 3x3).
    pub const B: u32 = 6;
    /// Output of op2 (CONV_2D 1x1, 8 -> 8).
    pub const C: u32 = 9;
    /// Output of op3 (ADD a + c), the model output.
    pub const D: u32 = 10;
}

/// A residual diamond: `a = conv3x3(x)`, `b = dwconv3x3(a)`, `c = conv1x1(b)`, `d = a + c`.
/// The skip tensor `a` is alive across cuts 1, 2 and 3.
pub fn residual() -> Vec<u8> {
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 8, 8, 4]);
    let w0 = b.weights("w0", &[8, 3, 3, 4], 0);
    let b0 = b.bias("b0", 8);
    let a = b.int8("a", &[1, 8, 8, 8]);
    b.conv(x, w0, b0, a);
    let w1 = b.weights("w1", &[1, 3, 3, 8], 3);
    let b1 = b.bias("b1", 8);
    let bb = b.int8("b", &[1, 8, 8, 8]);
    b.depthwise(a, w1, b1, bb);
    let w2 = b.weights("w2", &[8, 1, 1, 8], 0);
    let b2 = b.bias("b2", 8);
    let c = b.int8("c", &[1, 8, 8, 8]);
    b.conv(bb, w2, b2, c);
    let d = b.int8("d", &[1, 8, 8, 8]);
    b.op(BuiltinOperator::ADD, &[a, c], &[d]);
    b.inputs(&[x]).outputs(&[d]);
    assert_eq!(
        [x, a, bb, c, d],
        [
            residual_ids::X as i32,
            residual_ids::A as i32,
            residual_ids::B as i32,
            residual_ids::C as i32,
            residual_ids::D as i32
        ]
    );
    b.finish()
}

/// Three ADD ops feeding each other in a cycle: op0 reads op2's output, op1 reads op0's,
/// op2 reads op1's.
pub fn cycle() -> Vec<u8> {
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 4]);
    let t0 = b.int8("t0", &[1, 4]);
    let t1 = b.int8("t1", &[1, 4]);
    let t2 = b.int8("t2", &[1, 4]);
    b.op(BuiltinOperator::ADD, &[x, t2], &[t0]);
    b.op(BuiltinOperator::ADD, &[t0, x], &[t1]);
    b.op(BuiltinOperator::ADD, &[t1, x], &[t2]);
    b.inputs(&[x]).outputs(&[t2]);
    b.finish()
}

/// Two RELU ops writing the same tensor `y`.
pub fn produced_twice() -> Vec<u8> {
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 4]);
    let y = b.int8("y", &[1, 4]);
    b.op(BuiltinOperator::RELU, &[x], &[y]);
    b.op(BuiltinOperator::RELU6, &[x], &[y]);
    b.inputs(&[x]).outputs(&[y]);
    b.finish()
}

/// A valid graph whose file order is not topological: op0 `z = y + x` (reads op2's output),
/// op1 `w = relu6(x)` (independent), op2 `y = relu(x)`; outputs `[z, w]`.
pub fn non_topological() -> Vec<u8> {
    let mut b = ModelBuilder::new();
    let x = b.int8("x", &[1, 4]);
    let y = b.int8("y", &[1, 4]);
    let z = b.int8("z", &[1, 4]);
    let w = b.int8("w", &[1, 4]);
    b.op(BuiltinOperator::ADD, &[y, x], &[z]);
    b.op(BuiltinOperator::RELU6, &[x], &[w]);
    b.op(BuiltinOperator::RELU, &[x], &[y]);
    b.inputs(&[x]).outputs(&[z, w]);
    b.finish()
}
