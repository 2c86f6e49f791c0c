//! The cost model's view of a real model: one [`Layer`] per operator of a
//! [`Graph`], with shapes read from the graph.

use super::layer::Layer;
use super::CostSource;
use crate::graph::{Graph, OpInfo};
use std::ops::Range;

/// A graph with its operators classified for the cost model.
pub struct GraphCost<'g> {
    graph: &'g Graph,
    layers: Vec<Layer>,
}

impl<'g> GraphCost<'g> {
    /// Classifies every operator of `graph`.
    pub fn new(graph: &'g Graph) -> Self {
        let layers = graph.ops().iter().map(|op| layer_of(graph, op)).collect();
        GraphCost { graph, layers }
    }

    /// The graph.
    pub fn graph(&self) -> &'g Graph {
        self.graph
    }
}

fn product(dims: &[usize]) -> u64 {
    dims.iter().fold(1u64, |a, &d| a.saturating_mul(d as u64))
}

/// The constant weight tensor's shape at input slot `slot`, if it is constant.
fn weight_shape<'a>(graph: &'a Graph, op: &OpInfo, slot: usize) -> Option<&'a [usize]> {
    let t = op.inputs.get(slot).copied().flatten()?;
    graph.is_constant(t).then(|| graph.tensor_shape(t))
}

fn out_elements(graph: &Graph, op: &OpInfo) -> u64 {
    op.outputs
        .first()
        .map_or(0, |&t| product(graph.tensor_shape(t)))
}

/// Classifies one operator. Shapes the rules do not recognise fall back to counting the
/// operator as elementwise work over its MACs with its file parameter bytes.
pub(crate) fn layer_of(graph: &Graph, op: &OpInfo) -> Layer {
    let params = op.param_bytes.bytes();
    let fallback = || {
        if op.macs > 0 {
            Layer::elementwise(op.macs, params)
        } else {
            Layer::other(params)
        }
    };
    match op.kind.as_str() {
        "FULLY_CONNECTED" => match weight_shape(graph, op, 1) {
            Some(&[out, inp]) if out > 0 && inp > 0 => {
                let batch = out_elements(graph, op) / out as u64;
                Layer::fully_connected(inp as u64, out as u64, batch.max(1), params)
            }
            _ => fallback(),
        },
        "CONV_2D" => match weight_shape(graph, op, 1) {
            Some(&[cout, kh, kw, cin]) if cout > 0 => {
                let positions = out_elements(graph, op) / cout as u64;
                Layer::conv2d(positions, (kh * kw) as u64, cin as u64, cout as u64, params)
            }
            _ => fallback(),
        },
        "DEPTHWISE_CONV_2D" => match weight_shape(graph, op, 1) {
            Some(&[_, kh, kw, c]) if c > 0 => {
                let positions = out_elements(graph, op) / c as u64;
                Layer::depthwise(positions, (kh * kw) as u64, c as u64, params)
            }
            _ => fallback(),
        },
        "TRANSPOSE_CONV" => match weight_shape(graph, op, 1) {
            Some(&[cout, kh, kw, cin]) if cout > 0 && kh * kw * cin > 0 => {
                // MACs are input positions x kernel x out; spread them over output positions.
                let per_pos = (kh * kw * cin * cout) as u64;
                let positions = op.macs / per_pos.max(1);
                Layer::conv2d(positions, (kh * kw) as u64, cin as u64, cout as u64, params)
            }
            _ => fallback(),
        },
        _ => fallback(),
    }
}

impl CostSource for GraphCost<'_> {
    fn layers(&self) -> &[Layer] {
        &self.layers
    }

    fn io_bytes(&self, range: Range<usize>) -> (u64, u64) {
        let io = self.graph.segment_io(range);
        let sum = |ts: &[tpupipe_runtime::TensorId]| -> u64 {
            ts.iter().map(|&t| self.graph.tensor_bytes(t).bytes()).sum()
        };
        (sum(&io.inputs), sum(&io.outputs))
    }

    fn cut_bytes(&self, cut: usize) -> u64 {
        self.graph.live_bytes(cut).bytes()
    }

    /// Incremental: growing the range by one operator adds the new external tensors it reads
    /// to the inputs, adds its outputs that are read later (or are model outputs), and drops
    /// the outputs whose last reader it is.
    fn io_row(&self, start: usize) -> Vec<(u64, u64)> {
        let g = self.graph;
        let len = g.len();
        let mut seen_in = std::collections::HashSet::new();
        let mut seen_out = std::collections::HashSet::new();
        let (mut bytes_in, mut bytes_out) = (0u64, 0u64);
        // expire[p]: bytes of outputs whose last reader is position p (not model outputs).
        let mut expire = vec![0u64; len + 1];
        let mut row = Vec::with_capacity(len - start);
        for p in start..len {
            let op = g.op(p);
            for t in op.inputs.iter().flatten().copied() {
                if g.is_constant(t) || g.is_variable(t) {
                    continue;
                }
                let inside = g.producer(t).is_some_and(|q| q >= start && q < p);
                if !inside && g.producer(t) != Some(p) && seen_in.insert(t) {
                    bytes_in += g.tensor_bytes(t).bytes();
                }
            }
            for &t in &op.outputs {
                if !seen_out.insert(t) {
                    continue;
                }
                let bytes = g.tensor_bytes(t).bytes();
                if g.model_outputs().contains(&t) {
                    bytes_out += bytes;
                } else if let Some(&last) = g.consumers(t).last() {
                    if last > p {
                        bytes_out += bytes;
                        expire[last] += bytes;
                    }
                }
            }
            // The range is now start..p+1: outputs last read at p are no longer read later.
            bytes_out -= expire[p];
            row.push((bytes_in, bytes_out));
        }
        row
    }
}
