//! Routing: which segment produces each tensor crossing a segment boundary, and which read it.
//!
//! A tensor a segment needs from further up is taken from the segment that produced it (or from
//! the model inputs); nothing is recomputed. The routes list every model input, then every
//! segment output in segment order, and are checked to be complete: every segment input has
//! exactly one source that runs before it.

use super::SegmentError;
use crate::graph::{Graph, SegmentIo};
use crate::planner::Cuts;
use std::collections::HashMap;
use tpupipe_runtime::{ByteCount, TensorId};

/// One tensor passed between segments (or from the model inputs / to the model outputs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The tensor.
    pub tensor: TensorId,
    /// Its size.
    pub bytes: ByteCount,
    /// The segment producing it, `None` for a model input.
    pub producer: Option<usize>,
    /// The segments reading it as an input, ascending.
    pub consumers: Vec<usize>,
    /// True when it is a model output.
    pub model_output: bool,
}

/// Computes the routes of a split of `graph` at `cuts`, where `ios[i]` is
/// `graph.segment_io(cuts.segment(i))`.
pub fn routes(graph: &Graph, cuts: &Cuts, ios: &[SegmentIo]) -> Result<Vec<Route>, SegmentError> {
    let mut routes: Vec<Route> = Vec::new();
    let mut index_of: HashMap<TensorId, usize> = HashMap::new();
    let mut add = |routes: &mut Vec<Route>, t: TensorId, producer: Option<usize>| {
        index_of.entry(t).or_insert_with(|| {
            routes.push(Route {
                tensor: t,
                bytes: graph.tensor_bytes(t),
                producer,
                consumers: Vec::new(),
                model_output: graph.model_outputs().contains(&t),
            });
            routes.len() - 1
        });
    };
    for &t in graph.model_inputs() {
        add(&mut routes, t, None);
    }
    for (i, io) in ios.iter().enumerate() {
        for &t in &io.outputs {
            add(&mut routes, t, Some(i));
        }
    }
    for (i, io) in ios.iter().enumerate() {
        for &t in &io.inputs {
            let unrouted = || SegmentError::Unrouted {
                segment: i,
                tensor: graph.tensor_name(t).to_string(),
            };
            let k = *index_of.get(&t).ok_or_else(unrouted)?;
            let route = &mut routes[k];
            // The producer must run before the reader; the graph's order guarantees it, and a
            // wrong `ios` must not slip through.
            let producer_ok = match route.producer {
                None => true,
                Some(p) => p < i && graph.producer(t).map(|pos| cuts.segment_of(pos)) == Some(p),
            };
            if !producer_ok {
                return Err(unrouted());
            }
            route.consumers.push(i);
        }
    }
    Ok(routes)
}
