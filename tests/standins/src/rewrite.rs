//! The compiled model: the source with each Edge TPU region replaced by one
//! `edgetpu-custom-op` node (facts §5).
//!
//! - The custom op sits where the region's first operator was; CPU operators keep their order,
//!   options, tensors and constant buffers.
//! - Its inputs are the region's activations produced outside it (by first use), its outputs the
//!   activations it produces that later operators read or that are model outputs, in the order
//!   the region produces them; these are the original tensors with their names, types, shapes
//!   and quantization.
//! - Tensors only the region used, and the buffers of its constants, are dropped. Buffer 0 stays
//!   the empty sentinel; a fully mapped model has only that one buffer.
//! - Operator codes are rebuilt from those used (CPU operators keep their versions; the custom op
//!   is `CUSTOM` / `edgetpu-custom-op`, version 1, `deprecated_builtin_code` 32).
//! - The description becomes `Exported from Subgraph.`; signatures and metadata are dropped; the
//!   subgraph name is kept.

use std::collections::HashMap;
use std::ops::Range;
use tpupipe_compiler::graph::Graph;
use tpupipe_runtime::schema::{self, BuiltinOperator};
use tpupipe_runtime::{ModelView, TensorId};

/// The custom code of the Edge TPU custom op.
pub const CUSTOM_CODE: &str = tpupipe_runtime::model::EDGETPU_CUSTOM_CODE;

/// The description of every compiled model (v15 and v16).
pub const DESCRIPTION: &str = "Exported from Subgraph.";

/// One Edge TPU region and the custom op replacing it.
#[derive(Debug, Clone)]
pub struct CustomOp {
    /// Execution positions it replaces.
    pub positions: Range<usize>,
    /// Its inputs, in order.
    pub inputs: Vec<TensorId>,
    /// Its outputs, in order.
    pub outputs: Vec<TensorId>,
    /// Its FlexBuffer custom options.
    pub options: Vec<u8>,
}

/// The inputs and outputs of the custom op replacing the positions `range` of `graph`:
/// inputs by first use, outputs in production order (producer position, output slot).
pub fn region_io(graph: &Graph, range: Range<usize>) -> (Vec<TensorId>, Vec<TensorId>) {
    let io = graph.segment_io(range);
    let mut outputs = io.outputs;
    let key = |t: &TensorId| {
        let p = graph.producer(*t).unwrap_or(usize::MAX);
        let slot = graph
            .ops()
            .get(p)
            .and_then(|op| op.outputs.iter().position(|o| o == t))
            .unwrap_or(0);
        (p, slot)
    };
    outputs.sort_by_key(key);
    (io.inputs, outputs)
}

/// Writes the compiled model. `customs` must be in execution order and not overlap.
pub fn write_compiled(model: &ModelView<'_>, graph: &Graph, customs: &[CustomOp]) -> Vec<u8> {
    let source: schema::ModelT = model.raw().unpack();
    let sg_source = source
        .subgraphs
        .as_ref()
        .and_then(|s| s.first())
        .cloned()
        .unwrap_or_default();
    let source_tensors = sg_source.tensors.clone().unwrap_or_default();
    let source_ops = sg_source.operators.clone().unwrap_or_default();
    let source_codes = source.operator_codes.clone().unwrap_or_default();
    let source_buffers = source.buffers.clone().unwrap_or_default();

    // The new operator sequence: CPU ops (by file index) and custom ops (by index in `customs`).
    enum Item {
        Cpu(usize),
        Custom(usize),
    }
    let mut items = Vec::new();
    let mut p = 0;
    while p < graph.len() {
        if let Some(c) = customs.iter().position(|c| c.positions.start == p) {
            items.push(Item::Custom(c));
            p = customs[c].positions.end.max(p + 1);
        } else {
            items.push(Item::Cpu(graph.order()[p].index()));
            p += 1;
        }
    }

    // Tensors kept: those of CPU ops, custom-op I/O and model I/O, in source table order.
    let mut keep = vec![false; source_tensors.len()];
    let mut mark = |i: i32| {
        if i >= 0 && (i as usize) < keep.len() {
            keep[i as usize] = true;
        }
    };
    for item in &items {
        match *item {
            Item::Cpu(op) => {
                let o = &source_ops[op];
                for list in [&o.inputs, &o.outputs, &o.intermediates] {
                    list.iter().flatten().for_each(|&i| mark(i));
                }
            }
            Item::Custom(c) => {
                let c = &customs[c];
                c.inputs
                    .iter()
                    .chain(&c.outputs)
                    .for_each(|t| mark(t.0 as i32));
            }
        }
    }
    for list in [&sg_source.inputs, &sg_source.outputs] {
        list.iter().flatten().for_each(|&i| mark(i));
    }
    let mut remap = vec![-1i32; source_tensors.len()];
    let mut tensors = Vec::new();
    let mut buffers = vec![schema::BufferT::default()];
    let mut buffer_map: HashMap<u32, u32> = HashMap::new();
    for (i, t) in source_tensors.iter().enumerate() {
        if !keep[i] {
            continue;
        }
        remap[i] = tensors.len() as i32;
        let mut t = t.clone();
        t.name = Some(graph.tensor_name(TensorId(i as u32)).to_string());
        let has_data = source_buffers
            .get(t.buffer as usize)
            .and_then(|b| b.data.as_ref())
            .is_some_and(|d| !d.is_empty());
        t.buffer = if has_data {
            *buffer_map.entry(t.buffer).or_insert_with(|| {
                buffers.push(source_buffers[t.buffer as usize].clone());
                (buffers.len() - 1) as u32
            })
        } else {
            0
        };
        tensors.push(t);
    }
    let renumber = |list: &Option<Vec<i32>>| -> Option<Vec<i32>> {
        list.as_ref().map(|v| {
            v.iter()
                .map(|&i| if i < 0 { i } else { remap[i as usize] })
                .collect()
        })
    };

    // Operator codes in order of first use.
    let mut codes: Vec<schema::OperatorCodeT> = Vec::new();
    let mut code_of_source: HashMap<u32, u32> = HashMap::new();
    let mut custom_code: Option<u32> = None;
    let mut operators = Vec::new();
    for item in &items {
        match *item {
            Item::Cpu(op) => {
                let mut o = source_ops[op].clone();
                let index = *code_of_source.entry(o.opcode_index).or_insert_with(|| {
                    codes.push(source_codes[o.opcode_index as usize].clone());
                    (codes.len() - 1) as u32
                });
                o.opcode_index = index;
                o.inputs = renumber(&o.inputs);
                o.outputs = renumber(&o.outputs);
                o.intermediates = renumber(&o.intermediates);
                operators.push(o);
            }
            Item::Custom(c) => {
                let c = &customs[c];
                let index = *custom_code.get_or_insert_with(|| {
                    let mut code = schema::OperatorCodeT::default();
                    code.deprecated_builtin_code = BuiltinOperator::CUSTOM.0 as i8;
                    code.custom_code = Some(CUSTOM_CODE.to_string());
                    code.version = 1;
                    code.builtin_code = BuiltinOperator::CUSTOM;
                    codes.push(code);
                    (codes.len() - 1) as u32
                });
                let ids = |l: &[TensorId]| Some(l.iter().map(|t| remap[t.index()]).collect());
                let mut op = schema::OperatorT::default();
                op.opcode_index = index;
                op.inputs = ids(&c.inputs);
                op.outputs = ids(&c.outputs);
                op.custom_options = Some(c.options.clone());
                op.custom_options_format = schema::CustomOptionsFormat::FLEXBUFFERS;
                operators.push(op);
            }
        }
    }

    let mut subgraph = schema::SubGraphT::default();
    subgraph.tensors = Some(tensors);
    subgraph.inputs = renumber(&sg_source.inputs);
    subgraph.outputs = renumber(&sg_source.outputs);
    subgraph.operators = Some(operators);
    subgraph.name = sg_source.name.clone();
    // Signatures, metadata and the metadata buffer list stay empty (dropped).
    let mut compiled = schema::ModelT::default();
    compiled.version = 3;
    compiled.operator_codes = Some(codes);
    compiled.subgraphs = Some(vec![subgraph]);
    compiled.description = Some(DESCRIPTION.to_string());
    compiled.buffers = Some(buffers);
    let mut fbb = flatbuffers::FlatBufferBuilder::new();
    let root = compiled.pack(&mut fbb);
    fbb.finish(root, Some(schema::MODEL_IDENTIFIER));
    fbb.finished_data().to_vec()
}
