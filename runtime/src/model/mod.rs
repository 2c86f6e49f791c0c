//! A verified, zero-copy view of a TFLite flatbuffer.
//!
//! [`ModelView::parse`] runs the flatbuffers verifier and then checks every cross-reference
//! (tensor, buffer and operator-code indices, quantization arrays, constant data sizes, declared
//! shapes), so that code holding a `ModelView` can index without further checks and never panics
//! on a hostile file.

mod error;
mod operator;
mod subgraph;
mod tensor;
mod validate;

pub use error::ModelError;
pub use operator::{OpKind, OperatorView};
pub use subgraph::SubgraphView;
pub use tensor::TensorView;

use crate::ids::{BufferIndex, SubgraphIndex};
use crate::schema;

/// The custom op code edgetpu_compiler writes for the ops it mapped to the Edge TPU.
pub const EDGETPU_CUSTOM_CODE: &str = "edgetpu-custom-op";

/// Largest byte size tpupipe accepts for a single tensor (TFLite flatbuffers are limited to 2 GiB).
pub const MAX_TENSOR_BYTES: u64 = 1 << 31;

/// Joins the lines of a multi-line message (the flatbuffers verifier appends an indented trace)
/// into one, so that errors print on a single line.
fn one_line(msg: &str) -> String {
    msg.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A verified TFLite model borrowed from a byte slice (for files, memory-map them).
#[derive(Clone, Copy)]
pub struct ModelView<'a> {
    bytes: &'a [u8],
    model: schema::Model<'a>,
}

impl std::fmt::Debug for ModelView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelView")
            .field("bytes", &self.bytes.len())
            .field("subgraphs", &self.subgraph_count())
            .finish()
    }
}

impl<'a> ModelView<'a> {
    /// Verifies `bytes` as a TFLite model and checks its internal references.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ModelError> {
        if bytes.len() < 8 {
            return Err(ModelError::NotTflite(format!(
                "file is {} bytes, too short for a flatbuffer",
                bytes.len()
            )));
        }
        if &bytes[4..8] != b"TFL3" {
            return Err(ModelError::NotTflite(
                "missing the 'TFL3' file identifier at byte 4".to_string(),
            ));
        }
        let opts = flatbuffers::VerifierOptions {
            max_depth: 128,
            max_tables: 100_000_000,
            max_apparent_size: 1 << 31,
            ignore_missing_null_terminator: false,
        };
        let model = schema::root_as_model_with_opts(&opts, bytes)
            .map_err(|e| ModelError::Verifier(one_line(&e.to_string())))?;
        let view = ModelView { bytes, model };
        validate::check_model(&view)?;
        Ok(view)
    }

    /// The raw bytes of the file.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The generated flatbuffer accessor, for fields this view does not wrap (op options).
    pub fn raw(&self) -> schema::Model<'a> {
        self.model
    }

    /// The schema version recorded in the file.
    pub fn schema_version(&self) -> u32 {
        self.model.version()
    }

    /// The model description string, if any.
    pub fn description(&self) -> Option<&'a str> {
        self.model.description()
    }

    /// Number of subgraphs.
    pub fn subgraph_count(&self) -> usize {
        self.model.subgraphs().map_or(0, |s| s.len())
    }

    /// A subgraph by index. Panics if out of range; use [`ModelView::subgraph_count`].
    pub fn subgraph(&self, index: SubgraphIndex) -> SubgraphView<'a> {
        let sg = self
            .model
            .subgraphs()
            .expect("validated: model has subgraphs")
            .get(index.index());
        SubgraphView::new(*self, index, sg)
    }

    /// The main subgraph (index 0), the one TFLite runs.
    pub fn main_subgraph(&self) -> SubgraphView<'a> {
        self.subgraph(SubgraphIndex(0))
    }

    /// Number of entries in the buffer table (including the empty sentinel 0).
    pub fn buffer_count(&self) -> usize {
        self.model.buffers().map_or(0, |b| b.len())
    }

    /// The bytes of a buffer; `None` when the buffer is empty (no constant data).
    pub fn buffer_data(&self, index: BufferIndex) -> Option<&'a [u8]> {
        let buffers = self.model.buffers()?;
        if index.index() >= buffers.len() {
            return None;
        }
        let data = buffers.get(index.index()).data()?;
        if data.is_empty() {
            None
        } else {
            Some(data.bytes())
        }
    }

    /// Number of operator codes.
    pub fn opcode_count(&self) -> usize {
        self.model.operator_codes().map_or(0, |c| c.len())
    }

    /// The kind and version of operator code `index` (validated to be in range for every op).
    pub fn opcode(&self, index: usize) -> (OpKind<'a>, i32) {
        let code = self
            .model
            .operator_codes()
            .expect("validated: operator codes present")
            .get(index);
        (OpKind::from_code(&code), code.version())
    }

    /// True when some tensor has a dynamic dimension (-1) in its shape signature.
    pub fn has_dynamic_dims(&self) -> bool {
        (0..self.subgraph_count()).any(|i| {
            self.subgraph(SubgraphIndex(i as u32)).tensors().any(|t| {
                t.shape_signature()
                    .is_some_and(|s| s.iter().any(|&d| d < 0))
            })
        })
    }

    /// True when the model contains ops compiled by edgetpu_compiler.
    pub fn is_edgetpu_compiled(&self) -> bool {
        (0..self.opcode_count())
            .any(|i| matches!(self.opcode(i).0, OpKind::Custom(c) if c == EDGETPU_CUSTOM_CODE))
    }
}
