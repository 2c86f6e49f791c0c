//! The tensor an Edge TPU segment's link really carries at a float model edge.
//!
//! A model with float input and output quantizes its input first (a float QUANTIZE) and
//! dequantizes its output last (a DEQUANTIZE). The compiler leaves both on the CPU (facts §5,
//! "Graph rewrite"), so the Edge TPU segment after the QUANTIZE receives the **int8 tensor**
//! (one byte per element), not its float twin (four bytes per element), and the segment before
//! the DEQUANTIZE sends the int8 tensor. Link costs (USB / PCIe transfers) must count the int8
//! bytes: [`link_tensor`] maps a float edge tensor to the 8-bit tensor the link carries.

use crate::graph::Graph;
use tpupipe_runtime::{ByteCount, ElementType, ModelView, TensorId};

/// A float model edge and its 8-bit twin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeTwin {
    /// The float model input or output.
    pub float: TensorId,
    /// The 8-bit tensor the Edge TPU side reads or writes instead.
    pub quantized: TensorId,
    /// The position of the QUANTIZE (input edge) or DEQUANTIZE (output edge) between them.
    pub position: usize,
}

fn is_8bit(t: ElementType) -> bool {
    matches!(t, ElementType::I8 | ElementType::U8)
}

/// The 8-bit twin of `t` when `t` is a float model input read only by one QUANTIZE to 8 bits,
/// or a float model output written by a DEQUANTIZE from 8 bits; `None` otherwise.
pub fn edge_twin(model: &ModelView<'_>, graph: &Graph, t: TensorId) -> Option<EdgeTwin> {
    let sg = model.main_subgraph();
    if sg.tensor(t).dtype() != ElementType::F32 {
        return None;
    }
    let kind_at = |p: usize| graph.op(p).kind.as_str();
    if graph.model_inputs().contains(&t) {
        if let [p] = graph.consumers(t) {
            let op = graph.op(*p);
            if kind_at(*p) == "QUANTIZE" {
                if let [q] = op.outputs[..] {
                    if is_8bit(sg.tensor(q).dtype()) {
                        return Some(EdgeTwin {
                            float: t,
                            quantized: q,
                            position: *p,
                        });
                    }
                }
            }
        }
    }
    if graph.model_outputs().contains(&t) {
        let p = graph.producer(t)?;
        let op = graph.op(p);
        if kind_at(p) == "DEQUANTIZE" {
            if let Some(Some(q)) = op.inputs.first() {
                if is_8bit(sg.tensor(*q).dtype()) {
                    return Some(EdgeTwin {
                        float: t,
                        quantized: *q,
                        position: p,
                    });
                }
            }
        }
    }
    None
}

/// The tensor a link carries for `t`: its 8-bit twin at a float model edge
/// ([`edge_twin`]), else `t` itself.
pub fn link_tensor(model: &ModelView<'_>, graph: &Graph, t: TensorId) -> TensorId {
    edge_twin(model, graph, t).map_or(t, |e| e.quantized)
}

/// The bytes a link carries for `t` ([`link_tensor`]'s size).
pub fn link_bytes(model: &ModelView<'_>, graph: &Graph, t: TensorId) -> ByteCount {
    graph.tensor_bytes(link_tensor(model, graph, t))
}

/// Every float model edge with an 8-bit twin, inputs first.
pub fn edge_twins(model: &ModelView<'_>, graph: &Graph) -> Vec<EdgeTwin> {
    graph
        .model_inputs()
        .iter()
        .chain(graph.model_outputs())
        .filter_map(|&t| edge_twin(model, graph, t))
        .collect()
}
