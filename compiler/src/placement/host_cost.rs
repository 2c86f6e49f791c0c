//! What the operators left on the host CPU cost: a time per position, from a documented
//! per-operator-kind rate for a named host class.

use crate::graph::Graph;
use std::ops::Range;

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
    /// Nanoseconds per multiply-accumulate (or element, for elementwise work) on one core.
    pub fn ns_per_mac(self) -> f64 {
        match self {
            HostClass::X86Desktop => 0.05,
            HostClass::RaspberryPi4 => 0.4,
            HostClass::CoralDevBoard => 0.8,
        }
    }

    /// Nanoseconds per byte moved (inputs read plus outputs written) on one core.
    pub fn ns_per_byte(self) -> f64 {
        match self {
            HostClass::X86Desktop => 0.2,
            HostClass::RaspberryPi4 => 1.5,
            HostClass::CoralDevBoard => 3.0,
        }
    }

    /// Fixed cost of running one operator, microseconds.
    pub fn op_overhead_us(self) -> f64 {
        match self {
            HostClass::X86Desktop => 1.0,
            HostClass::RaspberryPi4 => 5.0,
            HostClass::CoralDevBoard => 10.0,
        }
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
    /// Host cores the CPU stages share.
    pub cores: usize,
    /// Where the figures came from.
    pub origin: HostCostOrigin,
}

impl HostCost {
    /// Figures from the rates of `class` for every operator of `graph`.
    pub fn from_rates(graph: &Graph, class: HostClass, cores: usize) -> HostCost {
        let per_op_ms = graph
            .ops()
            .iter()
            .map(|op| {
                let bytes = (op.input_bytes.0 + op.output_bytes.0) as f64;
                (class.op_overhead_us() * 1e3
                    + op.macs as f64 * class.ns_per_mac()
                    + bytes * class.ns_per_byte())
                    / 1e6
            })
            .collect();
        HostCost {
            per_op_ms,
            cores: cores.max(1),
            origin: HostCostOrigin::Rates(class),
        }
    }

    /// Figures given per position.
    pub fn from_per_op_ms(per_op_ms: Vec<f64>, cores: usize, origin: HostCostOrigin) -> HostCost {
        HostCost {
            per_op_ms,
            cores: cores.max(1),
            origin,
        }
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
