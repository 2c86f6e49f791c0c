//! The Edge TPU compiler's per-operator status, as its operation log prints it
//! (`../shared/docs/edgetpu-compiler-facts.md` §3).

use serde::Serialize;

/// Why an operator is or is not on the Edge TPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OpStatus {
    /// Runs on the Edge TPU.
    Mapped,
    /// Mappable, but after the first operator that is not (the compiler makes one subgraph).
    MoreThanOneSubgraph,
    /// Supported in principle; a constraint is broken (see the placement's detail).
    UnspecifiedLimitation,
    /// Float or other non-8-bit data.
    UnsupportedDataType,
    /// Not an Edge TPU operator.
    NotSupported,
    /// An op version newer than the compiler maps.
    VersionNotSupported,
    /// A tensor with more than three dimensions larger than 1.
    UnsupportedRank,
}

impl OpStatus {
    /// Every status, in the order of [`OpStatus`]'s variants.
    pub const ALL: [OpStatus; 7] = [
        OpStatus::Mapped,
        OpStatus::MoreThanOneSubgraph,
        OpStatus::UnspecifiedLimitation,
        OpStatus::UnsupportedDataType,
        OpStatus::NotSupported,
        OpStatus::VersionNotSupported,
        OpStatus::UnsupportedRank,
    ];

    /// The status string as the compiler prints it.
    pub fn text(self) -> &'static str {
        match self {
            OpStatus::Mapped => "Mapped to Edge TPU",
            OpStatus::MoreThanOneSubgraph => "More than one subgraph is not supported",
            OpStatus::UnspecifiedLimitation => {
                "Operation is otherwise supported, but not mapped due to some unspecified limitation"
            }
            OpStatus::UnsupportedDataType => "Operation is working on an unsupported data type",
            OpStatus::NotSupported => "Operation not supported",
            OpStatus::VersionNotSupported => "Operation version not supported",
            OpStatus::UnsupportedRank => {
                "Tensor has unsupported rank (up to 3 innermost dimensions mapped)"
            }
        }
    }
}

impl OpStatus {
    /// A few words for tables: `Edge TPU`, `not supported`, `unsupported data type`,
    /// `limitation`, `version not supported`, `unsupported rank`, `after the subgraph`.
    pub fn short(self) -> &'static str {
        match self {
            OpStatus::Mapped => "Edge TPU",
            OpStatus::MoreThanOneSubgraph => "after the subgraph",
            OpStatus::UnspecifiedLimitation => "limitation",
            OpStatus::UnsupportedDataType => "unsupported data type",
            OpStatus::NotSupported => "not supported",
            OpStatus::VersionNotSupported => "version not supported",
            OpStatus::UnsupportedRank => "unsupported rank",
        }
    }
}

impl std::fmt::Display for OpStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text())
    }
}
