//! Per-operator-kind CPU rates for the named host classes, and where they come from.
//!
//! An operator costs `overhead + macs x ns_per_mac x mac_factor(kind) + bytes x ns_per_byte`
//! on one core ([`super::HostClass::op_ms`]), with `macs` and `bytes` as tpupipe's graph
//! counts them (an elementwise operator counts one MAC per element).
//!
//! Derivations (docs/placement.md repeats them):
//!
//! - **Coral Dev Board** (quad Cortex-A53 at 1.5 GHz): the Coral benchmark table
//!   (coral.ai/docs/edgetpu/benchmarks, "Embedded CPU") gives TFLite MobileNet v1 (224x224)
//!   164 ms and MobileNet v2 122 ms. MobileNet v1 is about 569 M MACs, nearly all in dense 1x1
//!   convolutions: 164 ms / 569 M = **0.29 ns/MAC**. MobileNet v2 (about 300 M MACs, a larger
//!   share in depthwise and elementwise work) then implies depthwise MACs about 3 times as
//!   dear ([`mac_factor`]: *estimated*, it also absorbs v2's extra bytes). The per-byte and
//!   per-operator figures are *estimated* (memory bandwidth of the LPDDR4 board, scheduler
//!   overhead of an in-order core), not measured.
//! - **x86-64 desktop**: the same table's "Desktop CPU" (a single Xeon Gold 6154 core at
//!   3 GHz) gives MobileNet v1 53 ms: 53 / 569 M = **0.093 ns/MAC**; bytes and overhead
//!   *estimated*. tpupipe measures on the host by default instead ([`super::measure`]).
//! - **Raspberry Pi 4** (quad Cortex-A72 at 1.5 GHz): no figure in the sources; *estimated*
//!   from the Dev Board's by the A72's higher throughput per clock on 8-bit NEON work (taken
//!   as 1.8x): 0.29 / 1.8 = **0.16 ns/MAC**; bytes and overhead scaled alike.
//!
//! All figures are per core and single-threaded.

use super::HostClass;

/// The rates of one host class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    /// Nanoseconds per dense-convolution multiply-accumulate.
    pub ns_per_mac: f64,
    /// Nanoseconds per byte read or written.
    pub ns_per_byte: f64,
    /// Fixed microseconds per operator.
    pub op_overhead_us: f64,
}

/// The rates of `class`.
pub fn rates(class: HostClass) -> Rates {
    match class {
        HostClass::X86Desktop => Rates {
            ns_per_mac: 0.093,
            ns_per_byte: 0.2,
            op_overhead_us: 1.0,
        },
        HostClass::RaspberryPi4 => Rates {
            ns_per_mac: 0.16,
            ns_per_byte: 1.7,
            op_overhead_us: 5.5,
        },
        HostClass::CoralDevBoard => Rates {
            ns_per_mac: 0.29,
            ns_per_byte: 3.0,
            op_overhead_us: 10.0,
        },
    }
}

/// How much dearer one MAC of `kind` is than a dense-convolution MAC (*estimated*, see the
/// module docs): depthwise convolutions 3x, everything else 1x.
pub fn mac_factor(kind: &str) -> f64 {
    match kind {
        "DEPTHWISE_CONV_2D" => 3.0,
        _ => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slower_hosts_cost_more_for_every_term() {
        let [x86, rpi, dev] = HostClass::ALL.map(rates);
        for (a, b) in [(x86, rpi), (rpi, dev)] {
            assert!(a.ns_per_mac < b.ns_per_mac);
            assert!(a.ns_per_byte < b.ns_per_byte);
            assert!(a.op_overhead_us < b.op_overhead_us);
        }
        // The derivation: MobileNet v1 on the Dev Board, 569 M MACs in 164 ms.
        let ms = HostClass::CoralDevBoard.op_ms("CONV_2D", 569_000_000, 0);
        assert!((ms - 165.0).abs() < 1.0, "{ms}");
    }
}
