//! View of one tensor.

use super::ModelView;
use crate::dtype::ElementType;
use crate::ids::{BufferIndex, ByteCount, TensorId};
use crate::quant::Quantization;
use crate::schema;

/// A tensor of a verified model.
#[derive(Clone, Copy)]
pub struct TensorView<'a> {
    model: ModelView<'a>,
    id: TensorId,
    raw: schema::Tensor<'a>,
}

impl<'a> TensorView<'a> {
    pub(super) fn new(model: ModelView<'a>, id: TensorId, raw: schema::Tensor<'a>) -> Self {
        TensorView { model, id, raw }
    }

    /// The tensor's id in its subgraph.
    pub fn id(&self) -> TensorId {
        self.id
    }

    /// The generated accessor.
    pub fn raw(&self) -> schema::Tensor<'a> {
        self.raw
    }

    /// The tensor's name ("" when the file has none).
    pub fn name(&self) -> &'a str {
        self.raw.name().unwrap_or("")
    }

    /// The declared shape (validated non-negative). A scalar has an empty shape.
    pub fn shape(&self) -> Vec<i32> {
        self.raw
            .shape()
            .map(|v| v.iter().collect())
            .unwrap_or_default()
    }

    /// The declared shape as `usize` dimensions.
    pub fn dims(&self) -> Vec<usize> {
        self.shape()
            .into_iter()
            .map(|d| d.max(0) as usize)
            .collect()
    }

    /// The shape signature (with -1 for dynamic dimensions), when the file has one.
    pub fn shape_signature(&self) -> Option<Vec<i32>> {
        self.raw.shape_signature().map(|v| v.iter().collect())
    }

    /// True when the shape signature marks a dimension dynamic (-1) in a way the declared shape
    /// cannot stand for: only a dynamic leading (batch) dimension declared as 1 is taken to mean
    /// what it says. A converter writes placeholders (such as `[1, 1]` for `[-1, -1]`) for
    /// tensors whose real shape is computed at run time, so any other dynamic dimension makes
    /// the declared shape untrustworthy.
    pub fn has_unresolved_dynamic_dims(&self) -> bool {
        let Some(sig) = self.shape_signature() else {
            return false;
        };
        let shape = self.shape();
        sig.len() != shape.len()
            || sig
                .iter()
                .zip(&shape)
                .enumerate()
                .any(|(i, (&s, &d))| s < 0 && (i > 0 || d != 1))
    }

    /// The element type.
    pub fn dtype(&self) -> ElementType {
        ElementType::from_schema(self.raw.type_())
    }

    /// Number of elements (product of the shape; 1 for a scalar). Validated not to overflow.
    pub fn num_elements(&self) -> u64 {
        self.shape().iter().map(|&d| d.max(0) as u64).product()
    }

    /// Size of the tensor's data in bytes, `None` for types without a fixed element size.
    pub fn byte_size(&self) -> Option<ByteCount> {
        self.dtype()
            .size_bytes()
            .map(|s| ByteCount(self.num_elements() * s as u64))
    }

    /// Quantization parameters, when the tensor has at least one scale.
    pub fn quantization(&self) -> Option<Quantization> {
        let q = self.raw.quantization()?;
        let scale: Vec<f32> = q.scale().map(|v| v.iter().collect()).unwrap_or_default();
        if scale.is_empty() {
            return None;
        }
        let zero_point: Vec<i64> = q
            .zero_point()
            .map(|v| v.iter().collect())
            .unwrap_or_default();
        Some(Quantization {
            scale,
            zero_point,
            axis: q.quantized_dimension(),
        })
    }

    /// The buffer index this tensor refers to (0 = no data).
    pub fn buffer(&self) -> BufferIndex {
        BufferIndex(self.raw.buffer())
    }

    /// The constant data, when the tensor's buffer holds any.
    pub fn data(&self) -> Option<&'a [u8]> {
        self.model.buffer_data(self.buffer())
    }

    /// True when the tensor has constant data in the file.
    pub fn is_constant(&self) -> bool {
        self.data().is_some()
    }

    /// True for variable (stateful) tensors.
    pub fn is_variable(&self) -> bool {
        self.raw.is_variable()
    }
}
