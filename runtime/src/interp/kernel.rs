//! The contract between the interpreter and its kernels.
//!
//! Loading a model calls, for every operator, a `prepare` function registered in
//! [`super::registry`]. It receives a [`PrepareCtx`] (the operator with its options, and the
//! shape, type, quantization and constant data of each input and output), checks everything it
//! needs (returning [`LoadError::Unsupported`] or [`LoadError::Invalid`] otherwise), precomputes
//! what it can (fixed-point multipliers, lookup tables, repacked weights, scratch buffers), and
//! returns a boxed [`Kernel`] that owns all of it.
//!
//! Running calls [`Kernel::eval`] with the bytes of every input (`None` for an absent optional
//! input) and of every output. Every slice starts on a 64-byte boundary, so the `as_*` helpers
//! below can view it as a typed slice; the output slices never overlap the inputs. All shapes are
//! static and known at prepare time, so a kernel never resizes anything.

use super::error::{EvalError, LoadError};
use crate::dtype::ElementType;
use crate::ids::{OpIndex, TensorId};
use crate::model::{OperatorView, TensorView};
use crate::quant::Quantization;

/// Alignment of every tensor's bytes handed to [`Kernel::eval`].
pub const TENSOR_ALIGN: usize = 64;

/// A prepared operator, ready to run.
pub trait Kernel: Send {
    /// Computes the outputs from the inputs. `inputs[k]` is `None` for an absent optional input.
    fn eval(
        &mut self,
        inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError>;
}

/// The signature of a kernel's prepare function.
pub type PrepareFn = fn(&PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError>;

/// What a kernel knows about one of its tensors at prepare time.
#[derive(Clone, Debug)]
pub struct TensorInfo<'a> {
    /// The tensor's id in the subgraph.
    pub id: TensorId,
    /// The tensor's name.
    pub name: &'a str,
    /// The static shape.
    pub shape: Vec<usize>,
    /// The element type.
    pub dtype: ElementType,
    /// Quantization parameters, when present.
    pub quant: Option<Quantization>,
    /// Constant data, when the tensor is a constant.
    pub data: Option<&'a [u8]>,
}

impl<'a> TensorInfo<'a> {
    /// Builds the info from a model tensor.
    pub fn from_view(t: &TensorView<'a>) -> Self {
        TensorInfo {
            id: t.id(),
            name: t.name(),
            shape: t.dims(),
            dtype: t.dtype(),
            quant: t.quantization(),
            data: t.data(),
        }
    }

    /// Number of elements.
    pub fn num_elements(&self) -> usize {
        self.shape.iter().product()
    }

    /// The per-tensor scale and zero point, if per-tensor quantized.
    pub fn scale_zp(&self) -> Option<(f32, i32)> {
        self.quant
            .as_ref()
            .and_then(|q| q.per_tensor())
            .map(|(s, z)| (s, z as i32))
    }
}

/// Everything a prepare function may look at.
pub struct PrepareCtx<'a> {
    /// The operator (for options: `op.raw().builtin_options_as_*()`).
    pub op: OperatorView<'a>,
    /// The operator's name (`CONV_2D`).
    pub kind: String,
    /// The operator code version.
    pub version: i32,
    /// Inputs in order, `None` for absent optional inputs.
    pub inputs: Vec<Option<TensorInfo<'a>>>,
    /// Outputs in order.
    pub outputs: Vec<TensorInfo<'a>>,
}

impl<'a> PrepareCtx<'a> {
    /// The operator's index.
    pub fn index(&self) -> OpIndex {
        self.op.index()
    }

    /// A [`LoadError::Unsupported`] for this op.
    pub fn unsupported(&self, reason: impl Into<String>) -> LoadError {
        LoadError::Unsupported {
            op: self.index(),
            kind: self.kind.clone(),
            reason: reason.into(),
        }
    }

    /// A [`LoadError::Invalid`] for this op.
    pub fn invalid(&self, reason: impl Into<String>) -> LoadError {
        LoadError::Invalid {
            op: self.index(),
            kind: self.kind.clone(),
            reason: reason.into(),
        }
    }

    /// Input `k`, which must be present.
    pub fn input(&self, k: usize) -> Result<&TensorInfo<'a>, LoadError> {
        match self.inputs.get(k) {
            Some(Some(t)) => Ok(t),
            Some(None) => Err(self.invalid(format!("required input {k} is absent"))),
            None => Err(self.invalid(format!(
                "expected at least {} inputs, found {}",
                k + 1,
                self.inputs.len()
            ))),
        }
    }

    /// Input `k` if present (optional inputs such as a bias).
    pub fn optional_input(&self, k: usize) -> Option<&TensorInfo<'a>> {
        self.inputs.get(k).and_then(|t| t.as_ref())
    }

    /// Output `k`.
    pub fn output(&self, k: usize) -> Result<&TensorInfo<'a>, LoadError> {
        self.outputs.get(k).ok_or_else(|| {
            self.invalid(format!(
                "expected at least {} outputs, found {}",
                k + 1,
                self.outputs.len()
            ))
        })
    }

    /// Checks the operator version is at most `max`.
    pub fn check_version(&self, max: i32) -> Result<(), LoadError> {
        if self.version > max || self.version < 1 {
            Err(self.unsupported(format!(
                "operator version {} is not supported (up to {max})",
                self.version
            )))
        } else {
            Ok(())
        }
    }
}

fn cast<T: Copy>(bytes: &[u8]) -> Result<&[T], EvalError> {
    // SAFETY: T is one of the plain numeric types below, valid for every bit pattern.
    let (pre, mid, post) = unsafe { bytes.align_to::<T>() };
    if !pre.is_empty() || !post.is_empty() {
        return Err(EvalError(format!(
            "tensor data of {} bytes is not aligned or sized for {}-byte elements",
            bytes.len(),
            std::mem::size_of::<T>()
        )));
    }
    Ok(mid)
}

fn cast_mut<T: Copy>(bytes: &mut [u8]) -> Result<&mut [T], EvalError> {
    let len = bytes.len();
    // SAFETY: as in `cast`.
    let (pre, mid, post) = unsafe { bytes.align_to_mut::<T>() };
    if !pre.is_empty() || !post.is_empty() {
        return Err(EvalError(format!(
            "tensor data of {len} bytes is not aligned or sized for {}-byte elements",
            std::mem::size_of::<T>()
        )));
    }
    Ok(mid)
}

/// Views bytes as `i8`.
pub fn as_i8(bytes: &[u8]) -> &[i8] {
    // SAFETY: i8 and u8 have the same size and alignment.
    unsafe { std::slice::from_raw_parts(bytes.as_ptr() as *const i8, bytes.len()) }
}

/// Views bytes as mutable `i8`.
pub fn as_i8_mut(bytes: &mut [u8]) -> &mut [i8] {
    // SAFETY: i8 and u8 have the same size and alignment.
    unsafe { std::slice::from_raw_parts_mut(bytes.as_mut_ptr() as *mut i8, bytes.len()) }
}

/// Views aligned bytes as `i16`.
pub fn as_i16(bytes: &[u8]) -> Result<&[i16], EvalError> {
    cast(bytes)
}
/// Views aligned bytes as mutable `i16`.
pub fn as_i16_mut(bytes: &mut [u8]) -> Result<&mut [i16], EvalError> {
    cast_mut(bytes)
}
/// Input `k` of an operator at evaluation, or `what` as the error (an absent optional input
/// or a short input list).
pub fn eval_input<'b>(
    inputs: &[Option<&'b [u8]>],
    k: usize,
    what: &str,
) -> Result<&'b [u8], EvalError> {
    inputs
        .get(k)
        .copied()
        .flatten()
        .ok_or_else(|| EvalError(what.to_string()))
}

/// Views aligned bytes as `i32`.
pub fn as_i32(bytes: &[u8]) -> Result<&[i32], EvalError> {
    cast(bytes)
}
/// Views aligned bytes as mutable `i32`.
pub fn as_i32_mut(bytes: &mut [u8]) -> Result<&mut [i32], EvalError> {
    cast_mut(bytes)
}
/// Views aligned bytes as `i64`.
pub fn as_i64(bytes: &[u8]) -> Result<&[i64], EvalError> {
    cast(bytes)
}
/// Views aligned bytes as mutable `i64`.
pub fn as_i64_mut(bytes: &mut [u8]) -> Result<&mut [i64], EvalError> {
    cast_mut(bytes)
}
/// Views aligned bytes as `f32`.
pub fn as_f32(bytes: &[u8]) -> Result<&[f32], EvalError> {
    cast(bytes)
}
/// Views aligned bytes as mutable `f32`.
pub fn as_f32_mut(bytes: &mut [u8]) -> Result<&mut [f32], EvalError> {
    cast_mut(bytes)
}

/// Decodes little-endian constant data (which may be unaligned in the file) into a `Vec<i32>`,
/// for use at prepare time.
pub fn le_i32s(bytes: &[u8]) -> Vec<i32> {
    bytes
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Decodes little-endian constant data into a `Vec<i64>`.
pub fn le_i64s(bytes: &[u8]) -> Vec<i64> {
    bytes
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().expect("chunk of 8")))
        .collect()
}

/// Decodes little-endian constant data into a `Vec<f32>`.
pub fn le_f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}
