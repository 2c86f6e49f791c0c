//! The cost model's figures for each way the host reaches a TPU (USB 3, PCIe, USB 2) and each
//! TPU clock. The names themselves are the plan's ([`tpupipe_runtime::plan::hardware`]).

use super::calibration as cal;
pub use tpupipe_runtime::plan::{Clock, HostLink, Interface};

/// Transfer and invoke figures of one link.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Link {
    /// Host-to-device, ms per MiB (inputs and streamed parameters).
    pub host_to_device_ms_per_mib: f64,
    /// Device-to-host, ms per MiB (outputs), including the host-side re-layout.
    pub device_to_host_ms_per_mib: f64,
    /// Fixed cost of one invoke, ms.
    pub invoke_overhead_ms: f64,
    /// Time the wire itself is busy per MiB in either direction, ms (the host-side output
    /// re-layout excluded): what a [`HostLink::Shared`] wire must carry.
    pub wire_ms_per_mib: f64,
}

impl Link {
    /// The figures of `interface` (see [`calibration`](super::calibration) for their sources).
    pub fn of(interface: Interface) -> Link {
        let (wire, overhead) = match interface {
            Interface::Usb3 => (cal::USB3_MS_PER_MIB, cal::INVOKE_OVERHEAD_MS),
            Interface::Pcie => (cal::PCIE_MS_PER_MIB, cal::PCIE_INVOKE_OVERHEAD_MS),
            Interface::Usb2 => (
                cal::USB3_MS_PER_MIB * cal::USB2_SLOWDOWN,
                cal::INVOKE_OVERHEAD_MS,
            ),
        };
        Link {
            host_to_device_ms_per_mib: wire,
            device_to_host_ms_per_mib: wire + cal::OUTPUT_RELAYOUT_MS_PER_MIB,
            invoke_overhead_ms: overhead,
            wire_ms_per_mib: wire,
        }
    }
}

/// Factor applied to compute time at `clock` relative to the calibrated (max) clock.
pub(crate) fn compute_scale(clock: Clock) -> f64 {
    match clock {
        Clock::Max => 1.0,
        Clock::Std => 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usb2_is_slower_and_pcie_faster_than_usb3() {
        let (u3, u2, pc) = (
            Link::of(Interface::Usb3),
            Link::of(Interface::Usb2),
            Link::of(Interface::Pcie),
        );
        assert!(u2.host_to_device_ms_per_mib > 4.0 * u3.host_to_device_ms_per_mib);
        assert!(pc.host_to_device_ms_per_mib < u3.host_to_device_ms_per_mib);
        assert!(u3.device_to_host_ms_per_mib > u3.host_to_device_ms_per_mib);
        assert_eq!(compute_scale(Clock::Std), 2.0 * compute_scale(Clock::Max));
    }
}
