//! The Edge TPU compiler's operator table: every operator it maps, the Edge TPU runtime
//! version that first maps it, and its documented limitation, with the source of each entry.
//!
//! Sources (`../shared/docs/edgetpu-compiler-facts.md`):
//! - §6, "Old (2019) ops table with limitations" (the coral.ai page as mirrored in 2019): the
//!   runtime-12 operators and every limitation text below;
//! - §6 / CHANGES.md: ExpandDims, Pack, Quantize, Sum, TransposeConv added with compiler
//!   2.0.291256449 (runtime 13) \[verified\];
//! - §6 [unverified, recalled from the current coral.ai table]: the runtime-14 (compiler 16)
//!   additions; UNIDIRECTIONAL_SEQUENCE_LSTM is confirmed by a compiled test model.
//!
//! docs/placement.md prints this table. The checks that enforce the limitations live in
//! [`super::constraints`].

use tpupipe_runtime::schema::BuiltinOperator;

/// Where an entry of the table comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The 2019 coral.ai operator table (facts §6, \[doc\]).
    Table2019,
    /// The compiler's CHANGES.md for 2.0.291256449 (facts §6, \[verified\]).
    Changes2020,
    /// The current coral.ai table as recalled (facts §6, \[unverified\]).
    Recalled2021,
}

impl Source {
    /// A short citation.
    pub fn cite(self) -> &'static str {
        match self {
            Source::Table2019 => "facts §6, 2019 coral.ai table [doc]",
            Source::Changes2020 => "facts §6, CHANGES.md 2.0.291256449 [verified]",
            Source::Recalled2021 => "facts §6, current coral.ai table [unverified]",
        }
    }
}

/// One operator the Edge TPU maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpRule {
    /// The operator.
    pub op: BuiltinOperator,
    /// The lowest Edge TPU runtime version (`--min_runtime_version`) that maps it.
    pub since_runtime: u32,
    /// The documented limitation, as the table words it (empty: none listed).
    pub limitation: &'static str,
    /// Where the entry comes from.
    pub source: Source,
}

const fn rule(
    op: BuiltinOperator,
    since_runtime: u32,
    limitation: &'static str,
    source: Source,
) -> OpRule {
    OpRule {
        op,
        since_runtime,
        limitation,
        source,
    }
}

use BuiltinOperator as B;
use Source::{Changes2020, Recalled2021, Table2019};

/// Every operator the Edge TPU maps, by runtime version then name.
pub const TABLE: &[OpRule] = &[
    rule(B::ADD, 12, "", Table2019),
    rule(
        B::AVERAGE_POOL_2D,
        12,
        "No fused activation function",
        Table2019,
    ),
    rule(
        B::CONCATENATION,
        12,
        "No fused activation function. If any input is a compile-time constant tensor, there \
         must be only 2 inputs, and this constant tensor must be all zeroes",
        Table2019,
    ),
    rule(B::CONV_2D, 12, "", Table2019),
    rule(B::DEPTHWISE_CONV_2D, 12, "", Table2019),
    rule(
        B::FULLY_CONNECTED,
        12,
        "Only default format supported for fully-connected weights. Output tensor is \
         one-dimensional",
        Table2019,
    ),
    rule(B::L2_NORMALIZATION, 12, "", Table2019),
    rule(B::LOGISTIC, 12, "", Table2019),
    rule(B::MAXIMUM, 12, "", Table2019),
    rule(
        B::MAX_POOL_2D,
        12,
        "No fused activation function",
        Table2019,
    ),
    rule(
        B::MEAN,
        12,
        "Supports reduction along x- and/or y-dimensions only",
        Table2019,
    ),
    rule(B::MINIMUM, 12, "", Table2019),
    rule(B::MUL, 12, "", Table2019),
    rule(
        B::PAD,
        12,
        "Supports padding along x- and/or y-dimensions only",
        Table2019,
    ),
    rule(B::RELU, 12, "", Table2019),
    rule(B::RELU6, 12, "", Table2019),
    rule(B::RELU_N1_TO_1, 12, "", Table2019),
    rule(B::RESHAPE, 12, "", Table2019),
    rule(
        B::RESIZE_BILINEAR,
        12,
        "Input/output is a 3-dimensional tensor. Depending on input/output size, this \
         operation may not be mapped to the Edge TPU to avoid loss in precision",
        Table2019,
    ),
    rule(
        B::RESIZE_NEAREST_NEIGHBOR,
        12,
        "Input/output is a 3-dimensional tensor. Depending on input/output size, this \
         operation may not be mapped to the Edge TPU to avoid loss in precision",
        Table2019,
    ),
    rule(B::SLICE, 12, "", Table2019),
    rule(
        B::SOFTMAX,
        12,
        "Supports only 1D input tensor with a max of 16,000 elements",
        Table2019,
    ),
    rule(B::SPACE_TO_DEPTH, 12, "", Table2019),
    rule(B::SPLIT, 12, "", Table2019),
    rule(
        B::SQUEEZE,
        12,
        "Supported only when input tensor dimensions that have leading 1s (that is, no \
         relayout needed)",
        Table2019,
    ),
    rule(
        B::STRIDED_SLICE,
        12,
        "Supported only when all strides are equal to 1, and with ellipsis-axis-mask == 0, \
         and new-axis-mask == 0",
        Table2019,
    ),
    rule(B::SUB, 12, "", Table2019),
    rule(B::TANH, 12, "", Table2019),
    rule(B::EXPAND_DIMS, 13, "", Changes2020),
    rule(B::PACK, 13, "", Changes2020),
    rule(B::QUANTIZE, 13, "", Changes2020),
    rule(B::SUM, 13, "", Changes2020),
    rule(B::TRANSPOSE_CONV, 13, "", Changes2020),
    rule(B::LEAKY_RELU, 14, "", Recalled2021),
    rule(B::PRELU, 14, "", Recalled2021),
    rule(B::REDUCE_MAX, 14, "", Recalled2021),
    rule(B::REDUCE_MIN, 14, "", Recalled2021),
    rule(B::RSQRT, 14, "", Recalled2021),
    rule(B::SQUARED_DIFFERENCE, 14, "", Recalled2021),
    rule(B::TRANSPOSE, 14, "", Recalled2021),
    rule(B::UNIDIRECTIONAL_SEQUENCE_LSTM, 14, "", Recalled2021),
];

/// The runtime version compiler 16.0 targets by default (facts §1, `--min_runtime_version`).
pub const DEFAULT_RUNTIME: u32 = 14;

/// The table entry of `op`, if the Edge TPU maps it at all.
pub fn rule_of(op: BuiltinOperator) -> Option<&'static OpRule> {
    TABLE.iter().find(|r| r.op == op)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_operator_has_one_entry_and_a_known_runtime() {
        for (i, r) in TABLE.iter().enumerate() {
            assert!(
                TABLE[i + 1..].iter().all(|o| o.op != r.op),
                "{:?} twice",
                r.op
            );
            assert!((12..=14).contains(&r.since_runtime));
        }
        assert_eq!(rule_of(B::QUANTIZE).map(|r| r.since_runtime), Some(13));
        assert!(rule_of(B::HARD_SWISH).is_none());
        assert!(rule_of(B::DEQUANTIZE).is_none());
    }
}
