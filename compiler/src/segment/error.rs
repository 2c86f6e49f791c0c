//! Errors of segment extraction.

use thiserror::Error;
use tpupipe_runtime::{BufferIndex, OpIndex};

/// Why a segment could not be written. Each variant names the offending element.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SegmentError {
    /// A constant's data lives outside the flatbuffer (the `offset`/`size` fields TFLite uses for
    /// models above 2 GiB); tpupipe reads only in-flatbuffer data.
    #[error("buffer {buffer} of tensor '{tensor}' stores its data outside the flatbuffer (offset/size fields of models above 2 GiB); tpupipe cannot split such models")]
    ExternalBuffer {
        /// The buffer.
        buffer: BufferIndex,
        /// A tensor using it.
        tensor: String,
    },
    /// An operator uses parts of the format newer than tpupipe's schema (large custom options,
    /// `builtin_options_2`, an unknown options table), which copying would silently lose.
    #[error("{op} ({kind}) uses {what}, which tpupipe's TFLite schema does not know; it cannot be copied into a segment without losing it")]
    UnknownOperatorFields {
        /// The operator.
        op: OpIndex,
        /// Its kind.
        kind: String,
        /// What it uses.
        what: String,
    },
    /// A tensor uses parts of the format newer than tpupipe's schema (an unknown quantization
    /// details or sparse index vector type), which copying would silently lose.
    #[error("tensor '{tensor}' uses {what}, which tpupipe's TFLite schema does not know; it cannot be copied into a segment without losing it")]
    UnknownTensorFields {
        /// The tensor.
        tensor: String,
        /// What it uses.
        what: String,
    },
    /// The segment would not fit in a flatbuffer (2 GiB).
    #[error("segment {segment} would need about {bytes} bytes, more than a TFLite flatbuffer can hold (2 GiB)")]
    TooLarge {
        /// Segment index.
        segment: usize,
        /// Estimated size.
        bytes: u64,
    },
    /// The segment's inputs and the rest of the plan do not connect (a tensor a segment reads is
    /// produced by no earlier segment and is not a model input).
    #[error("segment {segment} reads tensor '{tensor}', which no earlier segment produces and which is not a model input")]
    Unrouted {
        /// The reading segment.
        segment: usize,
        /// The tensor.
        tensor: String,
    },
}
