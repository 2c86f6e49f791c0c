//! Segment extraction: each segment of a cut model as a standalone `.tflite`.
//!
//! A segment's inputs are the activations it reads that earlier segments (or the model inputs)
//! produce; its outputs are the activations it produces that later segments read or that are
//! model outputs, exactly [`Graph::segment_io`]. Tensors are named with the graph's unique names
//! ([`Graph::tensor_name`]), so segments connect by name; [`routing`] records who produces and
//! who reads each of them.
//!
//! - [`writer`]: the flatbuffer writer (one segment from a model and a [`SegmentSpec`]).
//! - [`routing`]: producers and consumers of the tensors crossing segment boundaries.
//! - [`splittable`]: what a model must be to be split.

mod error;
pub mod routing;
pub mod splittable;
pub mod writer;

pub use error::SegmentError;
pub use routing::{routes, Route};
pub use splittable::ensure_splittable;
pub use writer::{check_external_buffers, write_segment, SegmentBytes, SegmentSpec};

use crate::graph::{Graph, SegmentIo};
use crate::planner::Cuts;

/// The description written into segment `index` of `count` of the model file `model_file`.
pub fn description(index: usize, count: usize, model_file: &str) -> String {
    format!("tpupipe segment {index} of {count} of {model_file}")
}

/// The file name of segment `index` of `count` for a model with file stem `stem`, as
/// edgetpu_compiler and libcoral name them: `<stem>_segment_<index>_of_<count>.tflite`.
pub fn file_name(stem: &str, index: usize, count: usize) -> String {
    format!("{stem}_segment_{index}_of_{count}.tflite")
}

/// The spec of segment `index` of a split of `graph` at `cuts`, with its I/O `io`.
pub fn spec(
    graph: &Graph,
    cuts: &Cuts,
    index: usize,
    io: &SegmentIo,
    model_file: &str,
) -> SegmentSpec {
    let range = cuts.segment(index);
    SegmentSpec {
        index,
        ops: graph.order()[range].to_vec(),
        inputs: io.inputs.clone(),
        outputs: io.outputs.clone(),
        description: description(index, cuts.segment_count(), model_file),
    }
}
