//! Writing one segment of a model as a standalone TFLite flatbuffer.
//!
//! The writer reads the source through the verified [`ModelView`] and builds the segment with a
//! single `FlatBufferBuilder`:
//!
//! - Tensors: those the segment's operators read, write or keep as intermediates, in source table
//!   order, renamed to the names the caller gives (the graph's unique names). Shape, shape
//!   signature, type, quantization (scales, zero points, quantized dimension, details),
//!   (dynamic dimensions of the signature are pinned to their declared sizes),
//!   `is_variable`, sparsity, `has_rank` and variant subtypes are copied through the generated
//!   object API (`TensorT`), which holds only these small tables, never constant data.
//! - Buffers: buffer 0 is the empty sentinel; every source buffer holding data that a tensor of
//!   the segment uses becomes one buffer (written once even when several tensors share it), in
//!   order of first use; tensors without data point to buffer 0. Constant data is copied once,
//!   straight from the source bytes into the builder (one `memcpy` per buffer), and aligned to 16
//!   bytes in the output file, as the TFLite converter does (`force_align: 16` in the schema).
//! - Operators: unpacked to `OperatorT` (options tables, custom options and their format,
//!   mutating-variable flags, intermediates), inputs/outputs renumbered (absent optional inputs
//!   stay -1), and packed again. Operator codes are compacted to those used, in order of first
//!   use, keeping `deprecated_builtin_code`, `builtin_code`, `custom_code` and `version`.
//! - Model: the source schema version, the given description, the source's
//!   `min_runtime_version` metadata (its bytes copied into a buffer of the segment), and one
//!   `serving_default` signature naming the segment's inputs and outputs by their tensor names.
//!   Other metadata and the source's signatures are dropped: they describe the whole model.
//!
//! The output depends only on the source bytes and the [`SegmentSpec`], so it is byte-for-byte
//! deterministic.

use super::SegmentError;
use flatbuffers::{FlatBufferBuilder, Push, PushAlignment, WIPOffset};
use tpupipe_runtime::schema;
use tpupipe_runtime::{BufferIndex, ModelView, OpIndex, OperatorView, TensorId};

/// The metadata entry copied into every segment when the source has it.
pub const MIN_RUNTIME_VERSION: &str = "min_runtime_version";

/// The signature key of the segment's single signature.
pub const SIGNATURE_KEY: &str = "serving_default";

/// Alignment of constant data in the output, in bytes.
pub const DATA_ALIGNMENT: usize = 16;

/// Largest flatbuffer the builder can produce.
const MAX_FLATBUFFER: u64 = flatbuffers::FLATBUFFERS_MAX_BUFFER_SIZE as u64;

// vtable byte offsets of fields newer than the committed schema (`tflite.fbs` field ids + 2, x2).
const BUFFER_VT_OFFSET: flatbuffers::VOffsetT = 6;
const BUFFER_VT_SIZE: flatbuffers::VOffsetT = 8;
const OPERATOR_VT_LARGE_CUSTOM_OPTIONS_OFFSET: flatbuffers::VOffsetT = 22;
const OPERATOR_VT_LARGE_CUSTOM_OPTIONS_SIZE: flatbuffers::VOffsetT = 24;
const OPERATOR_VT_BUILTIN_OPTIONS_2_TYPE: flatbuffers::VOffsetT = 26;
const OPERATOR_VT_BUILTIN_OPTIONS_2: flatbuffers::VOffsetT = 28;

/// What to put in one segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentSpec {
    /// Index of the segment in its plan (for error messages).
    pub index: usize,
    /// The operators, in execution order.
    pub ops: Vec<OpIndex>,
    /// The subgraph inputs, in order.
    pub inputs: Vec<TensorId>,
    /// The subgraph outputs, in order.
    pub outputs: Vec<TensorId>,
    /// The model description string.
    pub description: String,
}

/// A finished segment flatbuffer (the builder's buffer, without copying it out).
pub struct SegmentBytes {
    buf: Vec<u8>,
    start: usize,
}

impl SegmentBytes {
    /// The `.tflite` bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// Size in bytes.
    pub fn len(&self) -> usize {
        self.buf.len() - self.start
    }

    /// True when empty (never the case for a written segment).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes as an owned vector (moves them to the front of the builder's buffer).
    pub fn into_vec(mut self) -> Vec<u8> {
        self.buf.drain(..self.start);
        self.buf
    }
}

impl std::fmt::Debug for SegmentBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SegmentBytes({} bytes)", self.len())
    }
}

/// A zero-sized value whose only effect, when pushed, is to raise the builder's minimum
/// alignment to [`DATA_ALIGNMENT`] (so the finished buffer's size is a multiple of it and offsets
/// aligned from its end are aligned from its start).
struct AlignMarker;

impl Push for AlignMarker {
    type Output = AlignMarker;

    unsafe fn push(&self, _dst: &mut [u8], _written_len: usize) {}

    fn size() -> usize {
        0
    }

    fn alignment() -> PushAlignment {
        PushAlignment::new(DATA_ALIGNMENT)
    }
}

/// Writes `data` as a `[ubyte]` vector whose first byte is [`DATA_ALIGNMENT`]-aligned in the
/// finished file, copying it with one `memcpy`.
///
/// `create_byte_string` copies in bulk and lays out `[len][data][0]`; the trailing zero (meant
/// for strings) is invisible to readers of the vector. Padding pushed before it puts the end of
/// `data` (measured from the end of the buffer, where the builder works) on a multiple of 16.
fn aligned_bytes<'b>(
    fbb: &mut FlatBufferBuilder<'b>,
    data: &[u8],
) -> WIPOffset<flatbuffers::Vector<'b, u8>> {
    fbb.push(AlignMarker);
    let used = fbb.unfinished_data().len();
    let pad = (DATA_ALIGNMENT - (used + data.len() + 1) % DATA_ALIGNMENT) % DATA_ALIGNMENT;
    for _ in 0..pad {
        fbb.push(0u8);
    }
    let s = fbb.create_byte_string(data);
    WIPOffset::new(s.value())
}

/// Looks up a tensor's data, refusing buffers whose data lives outside the flatbuffer.
fn constant_data<'a>(
    model: &ModelView<'a>,
    buffer: BufferIndex,
    tensor_name: &str,
) -> Result<Option<&'a [u8]>, SegmentError> {
    if let Some(buffers) = model.raw().buffers() {
        if buffer.index() < buffers.len() {
            let vt = buffers.get(buffer.index())._tab.vtable();
            if vt.get(BUFFER_VT_OFFSET) != 0 || vt.get(BUFFER_VT_SIZE) != 0 {
                return Err(SegmentError::ExternalBuffer {
                    buffer,
                    tensor: tensor_name.to_string(),
                });
            }
        }
    }
    Ok(model.buffer_data(buffer))
}

/// Refuses models with any buffer whose data lives outside the flatbuffer (the `offset`/`size`
/// fields of models above 2 GiB, unknown to tpupipe's schema): their constants would look like
/// activations.
pub fn check_external_buffers(model: &ModelView<'_>) -> Result<(), SegmentError> {
    let Some(buffers) = model.raw().buffers() else {
        return Ok(());
    };
    let sg = model.main_subgraph();
    for (i, b) in buffers.iter().enumerate() {
        let vt = b._tab.vtable();
        if vt.get(BUFFER_VT_OFFSET) != 0 || vt.get(BUFFER_VT_SIZE) != 0 {
            let tensor = sg
                .tensors()
                .find(|t| t.buffer().index() == i)
                .map(|t| t.name().to_string())
                .unwrap_or_default();
            return Err(SegmentError::ExternalBuffer {
                buffer: BufferIndex(i as u32),
                tensor,
            });
        }
    }
    Ok(())
}

/// Refuses operators using parts of the format the generated object API would drop.
fn check_operator(op: &OperatorView<'_>) -> Result<(), SegmentError> {
    let unknown = |what: String| SegmentError::UnknownOperatorFields {
        op: op.index(),
        kind: op.kind().name(),
        what,
    };
    let vt = op.raw()._tab.vtable();
    if vt.get(OPERATOR_VT_LARGE_CUSTOM_OPTIONS_OFFSET) != 0
        || vt.get(OPERATOR_VT_LARGE_CUSTOM_OPTIONS_SIZE) != 0
    {
        return Err(unknown(
            "large custom options (stored outside the flatbuffer)".into(),
        ));
    }
    if vt.get(OPERATOR_VT_BUILTIN_OPTIONS_2_TYPE) != 0 || vt.get(OPERATOR_VT_BUILTIN_OPTIONS_2) != 0
    {
        return Err(unknown("builtin_options_2".into()));
    }
    let options = op.raw().builtin_options_type();
    if options.0 > schema::BuiltinOptions::ENUM_MAX {
        return Err(unknown(format!("builtin options type {}", options.0)));
    }
    Ok(())
}

/// Refuses tensors using parts of the format the generated object API would drop.
fn check_tensor(t: &schema::Tensor<'_>, name: &str) -> Result<(), SegmentError> {
    let unknown = |what: String| SegmentError::UnknownTensorFields {
        tensor: name.to_string(),
        what,
    };
    if let Some(q) = t.quantization() {
        if q.details_type().0 > schema::QuantizationDetails::ENUM_MAX {
            return Err(unknown(format!(
                "quantization details type {}",
                q.details_type().0
            )));
        }
    }
    if let Some(dims) = t.sparsity().and_then(|s| s.dim_metadata()) {
        for d in dims.iter() {
            for ty in [d.array_segments_type(), d.array_indices_type()] {
                if ty.0 > schema::SparseIndexVector::ENUM_MAX {
                    return Err(unknown(format!("sparse index vector type {}", ty.0)));
                }
            }
        }
    }
    Ok(())
}

/// The source's `min_runtime_version` metadata bytes, if any.
fn min_runtime_version<'a>(model: &ModelView<'a>) -> Option<&'a [u8]> {
    let metadata = model.raw().metadata()?;
    metadata
        .iter()
        .find(|m| m.name() == Some(MIN_RUNTIME_VERSION))
        .and_then(|m| model.buffer_data(BufferIndex(m.buffer())))
}

/// Writes the segment described by `spec` as a standalone model. `name_of` gives the name of each
/// tensor in the segment (it must give distinct names to distinct tensors).
///
/// `spec` must refer to operators and tensors of `model`'s main subgraph (as specs made from its
/// [`Graph`](crate::graph::Graph) do); an index outside them panics.
pub fn write_segment<'n>(
    model: &ModelView<'_>,
    spec: &SegmentSpec,
    name_of: impl Fn(TensorId) -> &'n str,
) -> Result<SegmentBytes, SegmentError> {
    let sg = model.main_subgraph();
    let ops: Vec<_> = spec.ops.iter().map(|&i| sg.operator(i)).collect();

    // Reject operators and tensors with parts the object API would drop.
    for op in &ops {
        check_operator(op)?;
    }

    // Tensors used by the segment, in source table order.
    const ABSENT: u32 = u32::MAX;
    let mut remap = vec![ABSENT; sg.tensor_count()];
    {
        let mut mark = |t: TensorId| remap[t.index()] = 0;
        for op in &ops {
            op.present_inputs().into_iter().for_each(&mut mark);
            op.outputs().into_iter().for_each(&mut mark);
            op.intermediates().into_iter().for_each(&mut mark);
        }
        spec.inputs.iter().copied().for_each(&mut mark);
        spec.outputs.iter().copied().for_each(&mut mark);
    }
    let mut tensors: Vec<TensorId> = Vec::new();
    for (i, slot) in remap.iter_mut().enumerate() {
        if *slot != ABSENT {
            *slot = tensors.len() as u32;
            tensors.push(TensorId(i as u32));
        }
    }
    let new_id = |t: TensorId| remap[t.index()] as i32;

    // Buffers: 0 is the sentinel, then each used source buffer with data, once.
    let mut buffer_map: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
    let mut buffer_data: Vec<&[u8]> = Vec::new();
    let mut tensor_buffer: Vec<u32> = Vec::with_capacity(tensors.len());
    for &t in &tensors {
        let view = sg.tensor(t);
        check_tensor(&view.raw(), name_of(t))?;
        let b = view.buffer();
        let index = match constant_data(model, b, name_of(t))? {
            None => 0,
            Some(data) => *buffer_map.entry(b.0).or_insert_with(|| {
                buffer_data.push(data);
                buffer_data.len() as u32
            }),
        };
        tensor_buffer.push(index);
    }
    let runtime_version = min_runtime_version(model);

    // Operator codes in order of first use.
    let mut code_map: Vec<Option<u32>> = vec![None; model.opcode_count()];
    let mut codes: Vec<usize> = Vec::new();
    for op in &ops {
        let c = op.opcode_index();
        if code_map[c].is_none() {
            code_map[c] = Some(codes.len() as u32);
            codes.push(c);
        }
    }

    // Size estimate: generous for tables, exact for data.
    let data_bytes: u64 = buffer_data
        .iter()
        .map(|d| d.len() as u64 + DATA_ALIGNMENT as u64 + 8)
        .sum::<u64>()
        + runtime_version.map_or(0, |d| d.len() as u64 + 32);
    let tensor_bytes: u64 = tensors
        .iter()
        .map(|&t| {
            let r = sg.tensor(t).raw();
            let scales = r
                .quantization()
                .and_then(|q| q.scale())
                .map_or(0, |s| s.len());
            256 + 2 * name_of(t).len() as u64
                + 8 * r.shape().map_or(0, |s| s.len()) as u64
                + 16 * scales as u64
        })
        .sum();
    let op_bytes: u64 = ops
        .iter()
        .map(|op| {
            let r = op.raw();
            512 + 8
                * (r.inputs().map_or(0, |v| v.len()) + r.outputs().map_or(0, |v| v.len())) as u64
                + r.custom_options().map_or(0, |c| c.len()) as u64
        })
        .sum();
    let estimate = 4096 + data_bytes + tensor_bytes + op_bytes + 2 * spec.description.len() as u64;
    if estimate >= MAX_FLATBUFFER {
        return Err(SegmentError::TooLarge {
            segment: spec.index,
            bytes: estimate,
        });
    }
    let mut fbb = FlatBufferBuilder::with_capacity(estimate as usize);

    // Constant data first: it ends up at the end of the file.
    let data_vectors: Vec<_> = buffer_data
        .iter()
        .map(|d| aligned_bytes(&mut fbb, d))
        .collect();
    let runtime_version_data = runtime_version.map(|d| aligned_bytes(&mut fbb, d));
    let mut buffer_tables = Vec::with_capacity(data_vectors.len() + 2);
    buffer_tables.push(schema::Buffer::create(
        &mut fbb,
        &schema::BufferArgs { data: None },
    ));
    for v in data_vectors.into_iter().chain(runtime_version_data) {
        buffer_tables.push(schema::Buffer::create(
            &mut fbb,
            &schema::BufferArgs { data: Some(v) },
        ));
    }
    let runtime_version_buffer = runtime_version.map(|_| (buffer_tables.len() - 1) as u32);
    let buffers = fbb.create_vector(&buffer_tables);

    // Tensors.
    let mut tensor_tables = Vec::with_capacity(tensors.len());
    for (k, &t) in tensors.iter().enumerate() {
        let mut tt = sg.tensor(t).raw().unpack();
        tt.buffer = tensor_buffer[k];
        tt.name = Some(name_of(t).to_string());
        // Dynamic dimensions are pinned to their declared sizes: a segment is a static model
        // (what edgetpu_compiler needs, and what TFLite allocates anyway).
        if tt
            .shape_signature
            .as_ref()
            .is_some_and(|s| s.iter().any(|&d| d < 0))
        {
            tt.shape_signature = tt.shape.clone();
        }
        tensor_tables.push(tt.pack(&mut fbb));
    }
    let tensor_vec = fbb.create_vector(&tensor_tables);

    // Operators.
    let renumber = |list: Option<Vec<i32>>| -> Option<Vec<i32>> {
        list.map(|v| {
            v.into_iter()
                .map(|i| if i < 0 { i } else { new_id(TensorId(i as u32)) })
                .collect()
        })
    };
    let mut op_tables = Vec::with_capacity(ops.len());
    for op in &ops {
        let mut ot = op.raw().unpack();
        ot.opcode_index = code_map[op.opcode_index()].expect("every used code is mapped");
        ot.inputs = renumber(ot.inputs.take());
        ot.outputs = renumber(ot.outputs.take());
        ot.intermediates = renumber(ot.intermediates.take());
        op_tables.push(ot.pack(&mut fbb));
    }
    let op_vec = fbb.create_vector(&op_tables);

    let io = |list: &[TensorId]| list.iter().map(|&t| new_id(t)).collect::<Vec<i32>>();
    let inputs = fbb.create_vector(&io(&spec.inputs));
    let outputs = fbb.create_vector(&io(&spec.outputs));
    let sg_name = sg.raw().name().map(|n| fbb.create_string(n));
    let subgraph = schema::SubGraph::create(
        &mut fbb,
        &schema::SubGraphArgs {
            tensors: Some(tensor_vec),
            inputs: Some(inputs),
            outputs: Some(outputs),
            operators: Some(op_vec),
            name: sg_name,
        },
    );
    let subgraphs = fbb.create_vector(&[subgraph]);

    // Operator codes.
    let code_tables: Vec<_> = codes
        .iter()
        .map(|&c| {
            let code = model
                .raw()
                .operator_codes()
                .expect("validated: operator codes present")
                .get(c);
            code.unpack().pack(&mut fbb)
        })
        .collect();
    let operator_codes = fbb.create_vector(&code_tables);

    // Signature over the segment's inputs and outputs.
    let mut tensor_maps = |list: &[TensorId]| {
        let maps: Vec<_> = list
            .iter()
            .map(|&t| {
                let name = fbb.create_string(name_of(t));
                schema::TensorMap::create(
                    &mut fbb,
                    &schema::TensorMapArgs {
                        name: Some(name),
                        tensor_index: new_id(t) as u32,
                    },
                )
            })
            .collect();
        fbb.create_vector(&maps)
    };
    let sig_inputs = tensor_maps(&spec.inputs);
    let sig_outputs = tensor_maps(&spec.outputs);
    let key = fbb.create_string(SIGNATURE_KEY);
    let signature = schema::SignatureDef::create(
        &mut fbb,
        &schema::SignatureDefArgs {
            inputs: Some(sig_inputs),
            outputs: Some(sig_outputs),
            signature_key: Some(key),
            subgraph_index: 0,
        },
    );
    let signature_defs = fbb.create_vector(&[signature]);

    let metadata = runtime_version_buffer.map(|buffer| {
        let name = fbb.create_string(MIN_RUNTIME_VERSION);
        let entry = schema::Metadata::create(
            &mut fbb,
            &schema::MetadataArgs {
                name: Some(name),
                buffer,
            },
        );
        fbb.create_vector(&[entry])
    });
    let description = fbb.create_string(&spec.description);

    let root = schema::Model::create(
        &mut fbb,
        &schema::ModelArgs {
            version: model.schema_version(),
            operator_codes: Some(operator_codes),
            subgraphs: Some(subgraphs),
            description: Some(description),
            buffers: Some(buffers),
            metadata_buffer: None,
            metadata,
            signature_defs: Some(signature_defs),
        },
    );
    fbb.finish(root, Some(schema::MODEL_IDENTIFIER));
    let (buf, start) = fbb.collapse();
    Ok(SegmentBytes { buf, start })
}
