//! A small TFLite model builder over the generated object API.
//!
//! [`ModelBuilder`] collects tensors, constant buffers and operators of a single-subgraph model
//! and checks each addition (unique names, constant sizes matching shapes, quantization arrays
//! matching the quantized dimension, operator tensor references in range). [`ModelBuilder::finish`]
//! then lays the model out with [`serialize_model`], which packs every object with its generated
//! `pack` except buffer data, which it places on [`BUFFER_ALIGN`]-byte boundaries as the TFLite
//! converter does.
//!
//! ```
//! use tpupipe_compiler::synth::builder::ModelBuilder;
//! use tpupipe_compiler::synth::quant::per_tensor;
//! use tpupipe_runtime::schema::{BuiltinOperator, BuiltinOptionsT};
//! use tpupipe_runtime::{ElementType, ModelView};
//!
//! let mut b = ModelBuilder::new("one tanh");
//! let x = b.add_activation("x", &[1, 4], ElementType::I8, Some(per_tensor(0.05, 3))).unwrap();
//! let y = b.add_activation("y", &[1, 4], ElementType::I8, Some(per_tensor(1.0 / 128.0, 0))).unwrap();
//! b.add_op(
//!     BuiltinOperator::TANH,
//!     2,
//!     &[Some(x)],
//!     &[y],
//!     BuiltinOptionsT::NONE,
//! )
//! .unwrap();
//! b.add_input(x, "x");
//! b.add_output(y, "y");
//! let bytes = b.finish().unwrap();
//! let model = ModelView::parse(&bytes).unwrap();
//! assert_eq!(model.main_subgraph().operator_count(), 1);
//! ```

use std::collections::HashSet;
use tpupipe_runtime::schema::{
    self, BufferT, BuiltinOperator, BuiltinOptionsT, ModelT, OperatorCodeT, OperatorT,
    QuantizationParametersT, SignatureDefT, SubGraphT, TensorMapT, TensorT,
};
use tpupipe_runtime::{ElementType, OpIndex, Quantization, TensorId};

/// Alignment of constant data in files written by [`serialize_model`] (the TFLite converter's).
pub const BUFFER_ALIGN: usize = 16;

/// The TFLite schema version written into every model.
pub(crate) const TFLITE_SCHEMA_VERSION: u32 = 3;

/// Largest model [`serialize_model`] accepts: flatbuffers address at most 2 GiB, and the tables
/// around the constant data need some room.
pub const MAX_MODEL_BYTES: u64 = (1 << 31) - (1 << 24);

/// The signature key the TFLite converter gives a Keras model's default signature.
pub(crate) const SIGNATURE_KEY: &str = "serving_default";

/// Why a model could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Two tensors were given the same name.
    #[error("tensor name '{0}' is used twice; every tensor needs a unique name")]
    DuplicateName(String),
    /// A shape dimension does not fit TFLite's 32-bit dimensions, or the tensor is too large.
    #[error("tensor '{name}' has shape {shape:?}: {detail}")]
    BadShape {
        /// The tensor's name.
        name: String,
        /// The requested shape.
        shape: Vec<usize>,
        /// What is wrong with it.
        detail: String,
    },
    /// A constant's data does not match its shape and type.
    #[error("constant '{name}' of shape {shape:?} and type {dtype} needs {expected} bytes of data, got {actual}")]
    DataSize {
        /// The tensor's name.
        name: String,
        /// Its shape.
        shape: Vec<usize>,
        /// Its element type.
        dtype: ElementType,
        /// Bytes the shape and type need.
        expected: u64,
        /// Bytes given.
        actual: usize,
    },
    /// Quantization parameters are inconsistent with the tensor.
    #[error("tensor '{name}' has invalid quantization: {detail}")]
    BadQuantization {
        /// The tensor's name.
        name: String,
        /// What is wrong.
        detail: String,
    },
    /// An operator or the model's inputs/outputs refer to a tensor that does not exist.
    #[error("{what} refers to tensor {tensor}, but the model has only {len} tensors")]
    UnknownTensor {
        /// Which reference.
        what: String,
        /// The tensor id.
        tensor: TensorId,
        /// Number of tensors.
        len: usize,
    },
    /// An operator version below 1.
    #[error("operator {op} version {version} is invalid (versions start at 1)")]
    BadVersion {
        /// The operator.
        op: String,
        /// The version given.
        version: i32,
    },
    /// The model has no inputs or no outputs.
    #[error("the model has no {0}; call add_input/add_output")]
    MissingIo(&'static str),
    /// The model would exceed what a flatbuffer can address.
    #[error("the model would be about {0} bytes, above the {MAX_MODEL_BYTES}-byte limit of a TFLite flatbuffer")]
    TooLarge(u64),
}

/// Builds a single-subgraph TFLite model. Tensors and operators are kept in insertion order;
/// operators must be added in execution order.
#[derive(Debug, Default)]
pub struct ModelBuilder {
    description: String,
    tensors: Vec<TensorT>,
    names: HashSet<String>,
    buffers: Vec<BufferT>,
    opcodes: Vec<OperatorCodeT>,
    operators: Vec<OperatorT>,
    inputs: Vec<(TensorId, String)>,
    outputs: Vec<(TensorId, String)>,
    constant_bytes: u64,
}

fn quant_to_schema(q: &Quantization) -> QuantizationParametersT {
    // The generated object types are non-exhaustive: start from the default and set fields.
    let mut p = QuantizationParametersT::default();
    p.scale = Some(q.scale.clone());
    p.zero_point = Some(q.zero_point.clone());
    p.quantized_dimension = q.axis;
    p
}

fn zero_point_range(dtype: ElementType) -> Option<(i64, i64)> {
    match dtype {
        ElementType::I8 => Some((-128, 127)),
        ElementType::U8 => Some((0, 255)),
        ElementType::I16 => Some((-32768, 32767)),
        _ => None,
    }
}

impl ModelBuilder {
    /// An empty model with this description (stored in the file's `description` field).
    pub fn new(description: impl Into<String>) -> Self {
        ModelBuilder {
            description: description.into(),
            // Buffer 0 is the empty sentinel every activation refers to.
            buffers: vec![BufferT::default()],
            ..Default::default()
        }
    }

    /// Number of tensors added so far.
    pub fn tensor_count(&self) -> usize {
        self.tensors.len()
    }

    /// Number of operators added so far.
    pub fn operator_count(&self) -> usize {
        self.operators.len()
    }

    /// Total bytes of constant data added so far.
    pub fn constant_bytes(&self) -> u64 {
        self.constant_bytes
    }

    fn check_tensor(
        &self,
        name: &str,
        shape: &[usize],
        dtype: ElementType,
        quant: Option<&Quantization>,
    ) -> Result<Vec<i32>, BuildError> {
        if self.names.contains(name) {
            return Err(BuildError::DuplicateName(name.to_string()));
        }
        let bad_shape = |detail: String| BuildError::BadShape {
            name: name.to_string(),
            shape: shape.to_vec(),
            detail,
        };
        let dims = shape
            .iter()
            .map(|&d| i32::try_from(d).map_err(|_| bad_shape(format!("dimension {d} exceeds i32"))))
            .collect::<Result<Vec<i32>, _>>()?;
        let elem = dtype.size_bytes().unwrap_or(1) as u64;
        let max = tpupipe_runtime::model::MAX_TENSOR_BYTES;
        match shape
            .iter()
            .try_fold(elem, |acc, &d| acc.checked_mul(d as u64))
        {
            Some(bytes) if bytes <= max => {}
            _ => {
                return Err(bad_shape(format!(
                    "larger than the {max} bytes a TFLite tensor can hold"
                )))
            }
        }
        if let Some(q) = quant {
            let bad = |detail: String| BuildError::BadQuantization {
                name: name.to_string(),
                detail,
            };
            if q.scale.is_empty() {
                return Err(bad("no scales".into()));
            }
            if q.zero_point.len() != q.scale.len() {
                return Err(bad(format!(
                    "{} scales but {} zero points",
                    q.scale.len(),
                    q.zero_point.len()
                )));
            }
            if let Some(s) = q.scale.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
                return Err(bad(format!("scale {s} is not a positive finite number")));
            }
            if let Some((lo, hi)) = zero_point_range(dtype) {
                if let Some(z) = q.zero_point.iter().find(|z| !(lo..=hi).contains(*z)) {
                    return Err(bad(format!(
                        "zero point {z} is outside [{lo}, {hi}] of {dtype}"
                    )));
                }
            }
            if q.scale.len() > 1 {
                let axis = usize::try_from(q.axis)
                    .ok()
                    .filter(|&a| a < shape.len())
                    .ok_or_else(|| bad(format!("axis {} for rank {}", q.axis, shape.len())))?;
                if shape[axis] != q.scale.len() {
                    return Err(bad(format!(
                        "{} per-axis scales for dimension {axis} of size {}",
                        q.scale.len(),
                        shape[axis]
                    )));
                }
            }
        }
        Ok(dims)
    }

    fn push_tensor(
        &mut self,
        name: &str,
        dims: Vec<i32>,
        dtype: ElementType,
        buffer: u32,
        quant: Option<&Quantization>,
    ) -> TensorId {
        let id = TensorId(self.tensors.len() as u32);
        self.names.insert(name.to_string());
        let mut t = TensorT::default();
        t.shape = Some(dims);
        t.type_ = dtype.to_schema();
        t.buffer = buffer;
        t.name = Some(name.to_string());
        t.quantization = quant.map(|q| Box::new(quant_to_schema(q)));
        self.tensors.push(t);
        id
    }

    /// Adds a tensor without data (an activation, model input or output).
    pub fn add_activation(
        &mut self,
        name: &str,
        shape: &[usize],
        dtype: ElementType,
        quant: Option<Quantization>,
    ) -> Result<TensorId, BuildError> {
        let dims = self.check_tensor(name, shape, dtype, quant.as_ref())?;
        Ok(self.push_tensor(name, dims, dtype, 0, quant.as_ref()))
    }

    /// Adds a constant tensor with its little-endian data in a buffer of its own.
    pub fn add_constant(
        &mut self,
        name: &str,
        shape: &[usize],
        dtype: ElementType,
        data: Vec<u8>,
        quant: Option<Quantization>,
    ) -> Result<TensorId, BuildError> {
        let dims = self.check_tensor(name, shape, dtype, quant.as_ref())?;
        let elem = dtype.size_bytes().ok_or_else(|| BuildError::BadShape {
            name: name.to_string(),
            shape: shape.to_vec(),
            detail: format!("type {dtype} has no fixed element size"),
        })?;
        let expected = shape.iter().product::<usize>() as u64 * elem as u64;
        if data.len() as u64 != expected {
            return Err(BuildError::DataSize {
                name: name.to_string(),
                shape: shape.to_vec(),
                dtype,
                expected,
                actual: data.len(),
            });
        }
        self.constant_bytes += data.len() as u64;
        let buffer = self.buffers.len() as u32;
        let mut buf = BufferT::default();
        buf.data = Some(data);
        self.buffers.push(buf);
        Ok(self.push_tensor(name, dims, dtype, buffer, quant.as_ref()))
    }

    /// Adds an int8 constant (weights).
    pub fn add_constant_i8(
        &mut self,
        name: &str,
        shape: &[usize],
        values: &[i8],
        quant: Option<Quantization>,
    ) -> Result<TensorId, BuildError> {
        let data = values.iter().map(|&v| v as u8).collect();
        self.add_constant(name, shape, ElementType::I8, data, quant)
    }

    /// Adds an int32 constant (biases).
    pub fn add_constant_i32(
        &mut self,
        name: &str,
        shape: &[usize],
        values: &[i32],
        quant: Option<Quantization>,
    ) -> Result<TensorId, BuildError> {
        let data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.add_constant(name, shape, ElementType::I32, data, quant)
    }

    fn check_ref(&self, what: impl FnOnce() -> String, id: TensorId) -> Result<(), BuildError> {
        if id.index() < self.tensors.len() {
            Ok(())
        } else {
            Err(BuildError::UnknownTensor {
                what: what(),
                tensor: id,
                len: self.tensors.len(),
            })
        }
    }

    /// The operator-code index for `(op, version)`, adding the code on first use.
    fn opcode_index(&mut self, op: BuiltinOperator, version: i32) -> u32 {
        if let Some(i) = self
            .opcodes
            .iter()
            .position(|c| c.builtin_code == op && c.version == version)
        {
            return i as u32;
        }
        let mut code = OperatorCodeT::default();
        // Readers older than schema 3a only look at the 8-bit field; codes above 127 use the
        // placeholder there, as the converter writes.
        code.deprecated_builtin_code =
            op.0.min(BuiltinOperator::PLACEHOLDER_FOR_GREATER_OP_CODES.0) as i8;
        code.version = version;
        code.builtin_code = op;
        self.opcodes.push(code);
        (self.opcodes.len() - 1) as u32
    }

    /// Appends a builtin operator. `inputs[k]` is `None` for an absent optional input (written as
    /// -1). `options` must be the option table of `op` (or `BuiltinOptionsT::NONE`).
    pub fn add_op(
        &mut self,
        op: BuiltinOperator,
        version: i32,
        inputs: &[Option<TensorId>],
        outputs: &[TensorId],
        options: BuiltinOptionsT,
    ) -> Result<OpIndex, BuildError> {
        let index = OpIndex(self.operators.len() as u32);
        let op_name = || op.variant_name().unwrap_or("builtin").to_string();
        if version < 1 {
            return Err(BuildError::BadVersion {
                op: op_name(),
                version,
            });
        }
        for (k, t) in inputs.iter().enumerate() {
            if let Some(t) = t {
                self.check_ref(|| format!("{} ({index}) input {k}", op_name()), *t)?;
            }
        }
        for (k, t) in outputs.iter().enumerate() {
            self.check_ref(|| format!("{} ({index}) output {k}", op_name()), *t)?;
        }
        let opcode_index = self.opcode_index(op, version);
        let mut operator = OperatorT::default();
        operator.opcode_index = opcode_index;
        operator.inputs = Some(
            inputs
                .iter()
                .map(|t| t.map_or(-1, |t| t.0 as i32))
                .collect(),
        );
        operator.outputs = Some(outputs.iter().map(|t| t.0 as i32).collect());
        operator.builtin_options = options;
        self.operators.push(operator);
        Ok(index)
    }

    /// Declares a model input; `signature_name` is its name in the default signature.
    pub fn add_input(&mut self, tensor: TensorId, signature_name: &str) {
        self.inputs.push((tensor, signature_name.to_string()));
    }

    /// Declares a model output; `signature_name` is its name in the default signature.
    pub fn add_output(&mut self, tensor: TensorId, signature_name: &str) {
        self.outputs.push((tensor, signature_name.to_string()));
    }

    /// The model as an object-API tree (one subgraph named "main", a `serving_default`
    /// signature over the declared inputs and outputs).
    pub fn to_model_t(&self) -> Result<ModelT, BuildError> {
        if self.inputs.is_empty() {
            return Err(BuildError::MissingIo("inputs"));
        }
        if self.outputs.is_empty() {
            return Err(BuildError::MissingIo("outputs"));
        }
        for (k, (t, _)) in self.inputs.iter().enumerate() {
            self.check_ref(|| format!("model input {k}"), *t)?;
        }
        for (k, (t, _)) in self.outputs.iter().enumerate() {
            self.check_ref(|| format!("model output {k}"), *t)?;
        }
        let maps = |list: &[(TensorId, String)]| {
            list.iter()
                .map(|(t, n)| {
                    let mut m = TensorMapT::default();
                    m.name = Some(n.clone());
                    m.tensor_index = t.0;
                    m
                })
                .collect::<Vec<_>>()
        };
        let mut subgraph = SubGraphT::default();
        subgraph.tensors = Some(self.tensors.clone());
        subgraph.inputs = Some(self.inputs.iter().map(|(t, _)| t.0 as i32).collect());
        subgraph.outputs = Some(self.outputs.iter().map(|(t, _)| t.0 as i32).collect());
        subgraph.operators = Some(self.operators.clone());
        subgraph.name = Some("main".to_string());
        let mut signature = SignatureDefT::default();
        signature.inputs = Some(maps(&self.inputs));
        signature.outputs = Some(maps(&self.outputs));
        signature.signature_key = Some(SIGNATURE_KEY.to_string());
        signature.subgraph_index = 0;
        let mut model = ModelT::default();
        model.version = TFLITE_SCHEMA_VERSION;
        model.operator_codes = Some(self.opcodes.clone());
        model.subgraphs = Some(vec![subgraph]);
        model.description = Some(self.description.clone());
        model.buffers = Some(self.buffers.clone());
        model.signature_defs = Some(vec![signature]);
        Ok(model)
    }

    /// Serializes the model (see [`serialize_model`]).
    pub fn finish(&self) -> Result<Vec<u8>, BuildError> {
        serialize_model(&self.to_model_t()?)
    }
}

/// Writes `model` as a `.tflite` flatbuffer (file identifier `TFL3`). Every table is packed with
/// its generated object-API `pack`, except that the data of each non-empty buffer starts on a
/// [`BUFFER_ALIGN`]-byte boundary of the file, as in the converter's output, so that readers may
/// map constants directly as typed arrays.
pub fn serialize_model(model: &ModelT) -> Result<Vec<u8>, BuildError> {
    let buffers: &[BufferT] = model.buffers.as_deref().unwrap_or(&[]);
    let data_bytes: u64 = buffers
        .iter()
        .map(|b| {
            b.data
                .as_ref()
                .map_or(0, |d| d.len() as u64 + BUFFER_ALIGN as u64)
        })
        .sum();
    // Tables, names and quantization arrays are small next to the data; count them generously.
    let tensor_count: u64 = model
        .subgraphs
        .iter()
        .flatten()
        .map(|s| s.tensors.as_ref().map_or(0, |t| t.len() as u64))
        .sum();
    let estimate = data_bytes + tensor_count * 512 + (1 << 20);
    if estimate > MAX_MODEL_BYTES {
        return Err(BuildError::TooLarge(estimate));
    }

    let mut fbb = flatbuffers::FlatBufferBuilder::with_capacity(estimate as usize);
    // Flatbuffers are built back to front and offsets measured from the end. The finished buffer's
    // length is made a multiple of BUFFER_ALIGN (below), so data whose distance from the end is a
    // multiple of BUFFER_ALIGN starts on an aligned address of the file.
    let buffer_offsets: Vec<_> = buffers
        .iter()
        .map(|b| {
            let data = b.data.as_ref().filter(|d| !d.is_empty()).map(|d| {
                let used = fbb.unfinished_data().len();
                let pad = (BUFFER_ALIGN - (used + d.len()) % BUFFER_ALIGN) % BUFFER_ALIGN;
                for _ in 0..pad {
                    fbb.push(0u8);
                }
                fbb.create_vector(d)
            });
            schema::Buffer::create(&mut fbb, &schema::BufferArgs { data })
        })
        .collect();
    let buffers_vec = fbb.create_vector(&buffer_offsets);

    let operator_codes = model.operator_codes.as_ref().map(|x| {
        let w: Vec<_> = x.iter().map(|t| t.pack(&mut fbb)).collect();
        fbb.create_vector(&w)
    });
    let subgraphs = model.subgraphs.as_ref().map(|x| {
        let w: Vec<_> = x.iter().map(|t| t.pack(&mut fbb)).collect();
        fbb.create_vector(&w)
    });
    let description = model.description.as_ref().map(|x| fbb.create_string(x));
    let metadata_buffer = model.metadata_buffer.as_ref().map(|x| fbb.create_vector(x));
    let metadata = model.metadata.as_ref().map(|x| {
        let w: Vec<_> = x.iter().map(|t| t.pack(&mut fbb)).collect();
        fbb.create_vector(&w)
    });
    let signature_defs = model.signature_defs.as_ref().map(|x| {
        let w: Vec<_> = x.iter().map(|t| t.pack(&mut fbb)).collect();
        fbb.create_vector(&w)
    });
    let root = schema::Model::create(
        &mut fbb,
        &schema::ModelArgs {
            version: model.version,
            operator_codes,
            subgraphs,
            description,
            buffers: Some(buffers_vec),
            metadata_buffer,
            metadata,
            signature_defs,
        },
    );
    // `finish` adds the root offset and the file identifier (8 bytes) after padding to the
    // builder's largest alignment (at most 8 here); pad first so that the total is a multiple of
    // BUFFER_ALIGN, which makes `finish`'s own padding zero.
    let used = fbb.unfinished_data().len();
    let pad = (BUFFER_ALIGN - (used + 8) % BUFFER_ALIGN) % BUFFER_ALIGN;
    for _ in 0..pad {
        fbb.push(0u8);
    }
    fbb.finish(root, Some("TFL3"));
    Ok(fbb.finished_data().to_vec())
}
