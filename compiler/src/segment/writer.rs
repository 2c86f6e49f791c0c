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
use flatbuffers::{FlatBufferBuilder, ForwardsUOffset, Push, PushAlignment, Vector, WIPOffset};
use std::collections::HashMap;
use tpupipe_runtime::schema;
use tpupipe_runtime::{BufferIndex, ModelView, OpIndex, OperatorView, SubgraphView, TensorId};

/// The metadata entry copied into every segment when the source has it.
pub(crate) const MIN_RUNTIME_VERSION: &str = "min_runtime_version";

/// The signature key of the segment's single signature.
pub(crate) const SIGNATURE_KEY: &str = "serving_default";

/// Alignment of constant data in the output, in bytes.
pub(crate) const DATA_ALIGNMENT: usize = 16;

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
fn aligned_bytes<'b>(fbb: &mut FlatBufferBuilder<'b>, data: &[u8]) -> WIPOffset<Vector<'b, u8>> {
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
///
/// The checks run in this order, so the first problem found is the one reported: every operator
/// (in the spec's order), then every tensor of the segment (in source table order: its fields,
/// then whether its data lives outside the flatbuffer), then the estimated size.
pub fn write_segment<'n>(
    model: &ModelView<'_>,
    spec: &SegmentSpec,
    name_of: impl Fn(TensorId) -> &'n str,
) -> Result<SegmentBytes, SegmentError> {
    let sg = model.main_subgraph();
    let ops: Vec<_> = spec.ops.iter().map(|&i| sg.operator(i)).collect();

    // Reject operators with parts the object API would drop (tensors are checked as their
    // buffers are collected).
    for op in &ops {
        check_operator(op)?;
    }
    let tensors = TensorTable::select(&ops, spec, sg.tensor_count());
    let buffers = SegmentBuffers::collect(model, &tensors, &name_of)?;
    let codes = OperatorCodes::select(&ops, model.opcode_count());
    let estimate = size_estimate(sg, &ops, &tensors, &buffers, spec, &name_of);
    if estimate >= MAX_FLATBUFFER {
        return Err(SegmentError::TooLarge {
            segment: spec.index,
            bytes: estimate,
        });
    }

    // The builder works from the end of the file backwards: constant data first, so that it
    // ends up at the end of the file.
    let mut fbb = FlatBufferBuilder::with_capacity(estimate as usize);
    let (buffer_vec, runtime_version_buffer) = write_buffers(&mut fbb, &buffers);
    let tensor_vec = write_tensors(&mut fbb, sg, &tensors, &buffers, &name_of);
    let op_vec = write_operators(&mut fbb, &ops, &codes, &tensors);
    let subgraphs = write_subgraph(&mut fbb, sg, spec, &tensors, tensor_vec, op_vec);
    let operator_codes = write_operator_codes(&mut fbb, model, &codes);
    let signature_defs = write_signature(&mut fbb, spec, &tensors, &name_of);
    let metadata = runtime_version_buffer.map(|buffer| write_metadata(&mut fbb, buffer));
    let description = fbb.create_string(&spec.description);

    let root = schema::Model::create(
        &mut fbb,
        &schema::ModelArgs {
            version: model.schema_version(),
            operator_codes: Some(operator_codes),
            subgraphs: Some(subgraphs),
            description: Some(description),
            buffers: Some(buffer_vec),
            metadata_buffer: None,
            metadata,
            signature_defs: Some(signature_defs),
        },
    );
    fbb.finish(root, Some(schema::MODEL_IDENTIFIER));
    let (buf, start) = fbb.collapse();
    Ok(SegmentBytes { buf, start })
}

// The phases of `write_segment`, in the order it runs them.

/// A vector of tables under construction.
type TableVector<'b, T> = WIPOffset<Vector<'b, ForwardsUOffset<T>>>;

/// The tensors of a segment: the source tensors its operators read, write or keep as
/// intermediates, and its inputs and outputs, in source table order, numbered from 0.
struct TensorTable {
    /// The source tensor of each segment tensor id.
    tensors: Vec<TensorId>,
    /// The segment tensor id of each source tensor, [`TensorTable::ABSENT`] for unused ones.
    remap: Vec<u32>,
}

impl TensorTable {
    /// The `remap` entry of a source tensor the segment does not use.
    const ABSENT: u32 = u32::MAX;

    /// Selects the tensors of the segment of `ops` with the I/O of `spec`, out of the
    /// `tensor_count` tensors of the source subgraph.
    fn select(ops: &[OperatorView<'_>], spec: &SegmentSpec, tensor_count: usize) -> TensorTable {
        let mut remap = vec![Self::ABSENT; tensor_count];
        {
            let mut mark = |t: TensorId| remap[t.index()] = 0;
            for op in ops {
                op.present_inputs().into_iter().for_each(&mut mark);
                op.outputs().into_iter().for_each(&mut mark);
                op.intermediates().into_iter().for_each(&mut mark);
            }
            spec.inputs.iter().copied().for_each(&mut mark);
            spec.outputs.iter().copied().for_each(&mut mark);
        }
        let mut tensors: Vec<TensorId> = Vec::new();
        for (i, slot) in remap.iter_mut().enumerate() {
            if *slot != Self::ABSENT {
                *slot = tensors.len() as u32;
                tensors.push(TensorId(i as u32));
            }
        }
        TensorTable { tensors, remap }
    }

    /// The segment's id of source tensor `t`, as the schema stores tensor indices.
    fn new_id(&self, t: TensorId) -> i32 {
        self.remap[t.index()] as i32
    }

    /// `list` of source tensor indices renumbered to the segment's (absent optional tensors,
    /// -1, stay as they are).
    fn renumber(&self, list: Option<Vec<i32>>) -> Option<Vec<i32>> {
        list.map(|v| {
            v.into_iter()
                .map(|i| {
                    if i < 0 {
                        i
                    } else {
                        self.new_id(TensorId(i as u32))
                    }
                })
                .collect()
        })
    }
}

/// The constant data of a segment: buffer 0 is the empty sentinel, then each source buffer with
/// data that a tensor of the segment uses, once, in order of first use.
struct SegmentBuffers<'a> {
    /// The data of buffers `1..`, borrowed from the source.
    data: Vec<&'a [u8]>,
    /// The segment buffer index of each segment tensor (0 for tensors without data).
    tensor_buffer: Vec<u32>,
    /// The source's `min_runtime_version` metadata bytes, written after the data buffers.
    runtime_version: Option<&'a [u8]>,
}

impl<'a> SegmentBuffers<'a> {
    /// Checks each tensor of `table` (in table order: its fields, then where its data lives) and
    /// collects the buffers they use.
    fn collect<'n>(
        model: &ModelView<'a>,
        table: &TensorTable,
        name_of: &impl Fn(TensorId) -> &'n str,
    ) -> Result<SegmentBuffers<'a>, SegmentError> {
        let sg = model.main_subgraph();
        let mut buffer_map: HashMap<u32, u32> = HashMap::new();
        let mut data: Vec<&[u8]> = Vec::new();
        let mut tensor_buffer: Vec<u32> = Vec::with_capacity(table.tensors.len());
        for &t in &table.tensors {
            let view = sg.tensor(t);
            check_tensor(&view.raw(), name_of(t))?;
            let b = view.buffer();
            let index = match constant_data(model, b, name_of(t))? {
                None => 0,
                Some(bytes) => *buffer_map.entry(b.0).or_insert_with(|| {
                    data.push(bytes);
                    data.len() as u32
                }),
            };
            tensor_buffer.push(index);
        }
        Ok(SegmentBuffers {
            data,
            tensor_buffer,
            runtime_version: min_runtime_version(model),
        })
    }
}

/// The operator codes a segment uses, compacted in order of first use.
struct OperatorCodes {
    /// The segment's code index of each source code, `None` for unused ones.
    code_map: Vec<Option<u32>>,
    /// The source code index of each segment code.
    codes: Vec<usize>,
}

impl OperatorCodes {
    /// Selects the codes `ops` use, out of the source's `opcode_count`.
    fn select(ops: &[OperatorView<'_>], opcode_count: usize) -> OperatorCodes {
        let mut code_map: Vec<Option<u32>> = vec![None; opcode_count];
        let mut codes: Vec<usize> = Vec::new();
        for op in ops {
            let c = op.opcode_index();
            if code_map[c].is_none() {
                code_map[c] = Some(codes.len() as u32);
                codes.push(c);
            }
        }
        OperatorCodes { code_map, codes }
    }
}

/// The builder's capacity for the segment, in bytes: generous for tables, exact for data. At or
/// above [`MAX_FLATBUFFER`] the segment is refused.
fn size_estimate<'n>(
    sg: SubgraphView<'_>,
    ops: &[OperatorView<'_>],
    table: &TensorTable,
    buffers: &SegmentBuffers<'_>,
    spec: &SegmentSpec,
    name_of: &impl Fn(TensorId) -> &'n str,
) -> u64 {
    let data_bytes: u64 = buffers
        .data
        .iter()
        .map(|d| d.len() as u64 + DATA_ALIGNMENT as u64 + 8)
        .sum::<u64>()
        + buffers.runtime_version.map_or(0, |d| d.len() as u64 + 32);
    let tensor_bytes: u64 = table
        .tensors
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
    4096 + data_bytes + tensor_bytes + op_bytes + 2 * spec.description.len() as u64
}

/// Writes the constant data (aligned) and the buffer tables: the sentinel, one per data buffer,
/// then the `min_runtime_version` buffer if any, whose index is returned with the vector.
fn write_buffers<'b>(
    fbb: &mut FlatBufferBuilder<'b>,
    buffers: &SegmentBuffers<'_>,
) -> (TableVector<'b, schema::Buffer<'b>>, Option<u32>) {
    let data_vectors: Vec<_> = buffers.data.iter().map(|d| aligned_bytes(fbb, d)).collect();
    let runtime_version_data = buffers.runtime_version.map(|d| aligned_bytes(fbb, d));
    let mut buffer_tables = Vec::with_capacity(data_vectors.len() + 2);
    buffer_tables.push(schema::Buffer::create(
        fbb,
        &schema::BufferArgs { data: None },
    ));
    for v in data_vectors.into_iter().chain(runtime_version_data) {
        buffer_tables.push(schema::Buffer::create(
            fbb,
            &schema::BufferArgs { data: Some(v) },
        ));
    }
    let runtime_version_buffer = buffers
        .runtime_version
        .map(|_| (buffer_tables.len() - 1) as u32);
    (fbb.create_vector(&buffer_tables), runtime_version_buffer)
}

/// Writes the tensor tables: each source tensor copied through the object API, renamed,
/// pointed at its segment buffer, with dynamic dimensions pinned.
fn write_tensors<'b, 'n>(
    fbb: &mut FlatBufferBuilder<'b>,
    sg: SubgraphView<'_>,
    table: &TensorTable,
    buffers: &SegmentBuffers<'_>,
    name_of: &impl Fn(TensorId) -> &'n str,
) -> TableVector<'b, schema::Tensor<'b>> {
    let mut tensor_tables = Vec::with_capacity(table.tensors.len());
    for (k, &t) in table.tensors.iter().enumerate() {
        let mut tt = sg.tensor(t).raw().unpack();
        tt.buffer = buffers.tensor_buffer[k];
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
        tensor_tables.push(tt.pack(fbb));
    }
    fbb.create_vector(&tensor_tables)
}

/// Writes the operator tables: each operator copied through the object API, with its code and
/// tensors renumbered.
fn write_operators<'b>(
    fbb: &mut FlatBufferBuilder<'b>,
    ops: &[OperatorView<'_>],
    codes: &OperatorCodes,
    table: &TensorTable,
) -> TableVector<'b, schema::Operator<'b>> {
    let mut op_tables = Vec::with_capacity(ops.len());
    for op in ops {
        let mut ot = op.raw().unpack();
        ot.opcode_index = codes.code_map[op.opcode_index()].expect("every used code is mapped");
        ot.inputs = table.renumber(ot.inputs.take());
        ot.outputs = table.renumber(ot.outputs.take());
        ot.intermediates = table.renumber(ot.intermediates.take());
        op_tables.push(ot.pack(fbb));
    }
    fbb.create_vector(&op_tables)
}

/// Writes the segment's single subgraph (its inputs, outputs and the source subgraph's name)
/// and the vector holding it.
fn write_subgraph<'b>(
    fbb: &mut FlatBufferBuilder<'b>,
    sg: SubgraphView<'_>,
    spec: &SegmentSpec,
    table: &TensorTable,
    tensor_vec: TableVector<'b, schema::Tensor<'b>>,
    op_vec: TableVector<'b, schema::Operator<'b>>,
) -> TableVector<'b, schema::SubGraph<'b>> {
    let io = |list: &[TensorId]| list.iter().map(|&t| table.new_id(t)).collect::<Vec<i32>>();
    let inputs = fbb.create_vector(&io(&spec.inputs));
    let outputs = fbb.create_vector(&io(&spec.outputs));
    let sg_name = sg.raw().name().map(|n| fbb.create_string(n));
    let subgraph = schema::SubGraph::create(
        fbb,
        &schema::SubGraphArgs {
            tensors: Some(tensor_vec),
            inputs: Some(inputs),
            outputs: Some(outputs),
            operators: Some(op_vec),
            name: sg_name,
        },
    );
    fbb.create_vector(&[subgraph])
}

/// Writes the operator codes the segment uses, copied from the source in segment order.
fn write_operator_codes<'b>(
    fbb: &mut FlatBufferBuilder<'b>,
    model: &ModelView<'_>,
    codes: &OperatorCodes,
) -> TableVector<'b, schema::OperatorCode<'b>> {
    let code_tables: Vec<_> = codes
        .codes
        .iter()
        .map(|&c| {
            let code = model
                .raw()
                .operator_codes()
                .expect("validated: operator codes present")
                .get(c);
            code.unpack().pack(fbb)
        })
        .collect();
    fbb.create_vector(&code_tables)
}

/// Writes the tensor maps of a signature: each tensor of `list` by its name and segment id.
fn tensor_maps<'b, 'n>(
    fbb: &mut FlatBufferBuilder<'b>,
    list: &[TensorId],
    table: &TensorTable,
    name_of: &impl Fn(TensorId) -> &'n str,
) -> TableVector<'b, schema::TensorMap<'b>> {
    let maps: Vec<_> = list
        .iter()
        .map(|&t| {
            let name = fbb.create_string(name_of(t));
            schema::TensorMap::create(
                fbb,
                &schema::TensorMapArgs {
                    name: Some(name),
                    tensor_index: table.new_id(t) as u32,
                },
            )
        })
        .collect();
    fbb.create_vector(&maps)
}

/// Writes the segment's single [`SIGNATURE_KEY`] signature over its inputs and outputs.
fn write_signature<'b, 'n>(
    fbb: &mut FlatBufferBuilder<'b>,
    spec: &SegmentSpec,
    table: &TensorTable,
    name_of: &impl Fn(TensorId) -> &'n str,
) -> TableVector<'b, schema::SignatureDef<'b>> {
    let sig_inputs = tensor_maps(fbb, &spec.inputs, table, name_of);
    let sig_outputs = tensor_maps(fbb, &spec.outputs, table, name_of);
    let key = fbb.create_string(SIGNATURE_KEY);
    let signature = schema::SignatureDef::create(
        fbb,
        &schema::SignatureDefArgs {
            inputs: Some(sig_inputs),
            outputs: Some(sig_outputs),
            signature_key: Some(key),
            subgraph_index: 0,
        },
    );
    fbb.create_vector(&[signature])
}

/// Writes the metadata list: one [`MIN_RUNTIME_VERSION`] entry pointing at `buffer`.
fn write_metadata<'b>(
    fbb: &mut FlatBufferBuilder<'b>,
    buffer: u32,
) -> TableVector<'b, schema::Metadata<'b>> {
    let name = fbb.create_string(MIN_RUNTIME_VERSION);
    let entry = schema::Metadata::create(
        fbb,
        &schema::MetadataArgs {
            name: Some(name),
            buffer,
        },
    );
    fbb.create_vector(&[entry])
}
