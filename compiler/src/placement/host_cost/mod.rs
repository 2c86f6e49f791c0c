//! What the operators left on the host CPU cost: a time per position, from a documented
//! per-operator-kind rate for a named host class ([`rates`]), or measured with tpupipe's
//! interpreter on this host ([`measure`], cached on disk by [`cache`]).
//!
//! [`HostCostSetting`] says which: `Measure` (the default) measures the operators the placement
//! puts on the CPU and takes the others (and any the interpreter refuses, saying so in
//! [`HostCost::notes`]) from the x86-64 desktop rates; `Rates(class)` uses a class's rates only.

pub mod cache;
pub mod measure;
pub mod rates;

use crate::graph::Graph;
use std::ops::Range;

/// How a plan gets the host CPU cost of the operators left on the CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HostCostSetting {
    /// Measure the CPU operators with tpupipe's interpreter on this host (cached), falling back
    /// to the x86-64 desktop rates where the interpreter refuses an operator.
    #[default]
    Measure,
    /// The documented rates of a host class, nothing measured.
    Rates(HostClass),
}

/// A class of host the CPU rates describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HostClass {
    /// An x86-64 desktop or laptop (AVX2).
    #[default]
    X86Desktop,
    /// A Raspberry Pi 4 (Cortex-A72 at 1.5 GHz).
    RaspberryPi4,
    /// The Coral Dev Board (Cortex-A53 at 1.5 GHz).
    CoralDevBoard,
}

impl HostClass {
    /// Every class.
    pub const ALL: [HostClass; 3] = [
        HostClass::X86Desktop,
        HostClass::RaspberryPi4,
        HostClass::CoralDevBoard,
    ];

    /// The class's name on the command line (`x86-desktop`, `rpi4`, `coral-dev-board`).
    pub fn name(self) -> &'static str {
        match self {
            HostClass::X86Desktop => "x86-desktop",
            HostClass::RaspberryPi4 => "rpi4",
            HostClass::CoralDevBoard => "coral-dev-board",
        }
    }

    /// Nanoseconds per multiply-accumulate of a dense convolution or fully-connected layer on
    /// one core ([`rates`] has the derivation; other kinds scale it, see
    /// [`rates::mac_factor`]).
    pub fn ns_per_mac(self) -> f64 {
        rates::rates(self).ns_per_mac
    }

    /// Nanoseconds per byte moved (inputs read plus outputs written) on one core.
    pub fn ns_per_byte(self) -> f64 {
        rates::rates(self).ns_per_byte
    }

    /// Fixed cost of running one operator, microseconds.
    pub fn op_overhead_us(self) -> f64 {
        rates::rates(self).op_overhead_us
    }

    /// The time of one operator of `kind` with `macs` multiply-accumulates moving `bytes`, ms.
    pub fn op_ms(self, kind: &str, macs: u64, bytes: u64) -> f64 {
        (self.op_overhead_us() * 1e3
            + macs as f64 * self.ns_per_mac() * rates::mac_factor(kind)
            + bytes as f64 * self.ns_per_byte())
            / 1e6
    }
}

impl std::fmt::Display for HostClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for HostClass {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        HostClass::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| format!("unknown host class '{s}' (x86-desktop, rpi4, coral-dev-board)"))
    }
}

/// Where a [`HostCost`]'s figures came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostCostOrigin {
    /// The rates of a host class.
    Rates(HostClass),
    /// Measured with tpupipe's interpreter on this host.
    Measured,
}

/// The host CPU time of every position of a graph's execution order, on one core.
#[derive(Debug, Clone, PartialEq)]
pub struct HostCost {
    per_op_ms: Vec<f64>,
    /// Per position: true when the figure was measured on this host.
    measured: Vec<bool>,
    /// What the figures' reader should know (fallbacks to rates, cache use).
    notes: Vec<String>,
    /// Host cores the CPU stages share.
    pub cores: usize,
    /// Where the figures came from.
    pub origin: HostCostOrigin,
}

impl HostCost {
    /// Figures from the rates of `class` for every operator of `graph`.
    pub fn from_rates(graph: &Graph, class: HostClass, cores: usize) -> HostCost {
        let per_op_ms: Vec<f64> = graph
            .ops()
            .iter()
            .map(|op| class.op_ms(&op.kind, op.macs, op.input_bytes.0 + op.output_bytes.0))
            .collect();
        HostCost {
            measured: vec![false; per_op_ms.len()],
            notes: Vec::new(),
            per_op_ms,
            cores: cores.max(1),
            origin: HostCostOrigin::Rates(class),
        }
    }

    /// Figures given per position.
    pub fn from_per_op_ms(per_op_ms: Vec<f64>, cores: usize, origin: HostCostOrigin) -> HostCost {
        HostCost {
            measured: vec![origin == HostCostOrigin::Measured; per_op_ms.len()],
            notes: Vec::new(),
            per_op_ms,
            cores: cores.max(1),
            origin,
        }
    }

    /// Figures per position with, per position, whether it was measured, and notes.
    pub fn with_measured(
        per_op_ms: Vec<f64>,
        measured: Vec<bool>,
        cores: usize,
        origin: HostCostOrigin,
        notes: Vec<String>,
    ) -> HostCost {
        assert_eq!(per_op_ms.len(), measured.len(), "one flag per position");
        HostCost {
            per_op_ms,
            measured,
            notes,
            cores: cores.max(1),
            origin,
        }
    }

    /// True when position `pos`'s figure was measured on this host (else it is from rates).
    pub fn is_measured(&self, pos: usize) -> bool {
        self.measured[pos]
    }

    /// What the reader should know about the figures (fallbacks to rates, cache use).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Host time of the positions `range` on one core, ms.
    pub fn range_ms(&self, range: Range<usize>) -> f64 {
        self.per_op_ms[range].iter().sum()
    }

    /// Host time of each position, ms.
    pub fn per_op_ms(&self) -> &[f64] {
        &self.per_op_ms
    }
}
