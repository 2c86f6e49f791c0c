//! How the host reaches a TPU (USB 3, PCIe, USB 2) and how fast the TPU is clocked.

use super::calibration as cal;
use serde::{Deserialize, Serialize};

/// The host link of one Edge TPU.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Interface {
    /// USB 3.0 Accelerator (the calibration's reference).
    #[default]
    Usb3,
    /// PCIe Gen2 x1 (M.2 / mini-PCIe modules).
    Pcie,
    /// USB 2.0 (Dev Board Mini, USB 2 hosts).
    Usb2,
}

/// The TPU clock chosen by the libedgetpu build.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Clock {
    /// The "max" build: 500 MHz (the calibration's reference).
    #[default]
    Max,
    /// The "std" build: 250 MHz, compute takes twice as long.
    Std,
}

/// Whether several TPUs share one host link (wire bandwidth) or each has its own. The default
/// is `Dedicated`: the thesis's four USB 3 TPUs moved more activation bytes per second in a
/// pipeline than one wire at the calibrated rate could carry (see docs/cost-model.md).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum HostLink {
    /// All TPUs' transfers cross one wire: per inference, the wire must carry every segment's
    /// inputs, outputs and streamed weights, whatever runs in parallel. USB accelerators
    /// behind one hub or one host controller.
    Shared,
    /// Each TPU has its own wire (PCIe lanes, USB ports on separate controllers).
    #[default]
    Dedicated,
}

impl HostLink {
    /// The lower-case name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            HostLink::Shared => "shared",
            HostLink::Dedicated => "dedicated",
        }
    }
}

/// Transfer and invoke figures of one link.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Link {
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

impl Interface {
    /// The link figures (see [`calibration`](super::calibration) for their sources).
    pub fn link(self) -> Link {
        let (wire, overhead) = match self {
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

    /// The lower-case name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Interface::Usb3 => "usb3",
            Interface::Pcie => "pcie",
            Interface::Usb2 => "usb2",
        }
    }
}

impl Clock {
    /// Factor applied to compute time relative to the calibrated (max) clock.
    pub fn compute_scale(self) -> f64 {
        match self {
            Clock::Max => 1.0,
            Clock::Std => 2.0,
        }
    }

    /// The lower-case name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Clock::Max => "max",
            Clock::Std => "std",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usb2_is_slower_and_pcie_faster_than_usb3() {
        let (u3, u2, pc) = (
            Interface::Usb3.link(),
            Interface::Usb2.link(),
            Interface::Pcie.link(),
        );
        assert!(u2.host_to_device_ms_per_mib > 4.0 * u3.host_to_device_ms_per_mib);
        assert!(pc.host_to_device_ms_per_mib < u3.host_to_device_ms_per_mib);
        assert!(u3.device_to_host_ms_per_mib > u3.host_to_device_ms_per_mib);
        assert_eq!(Clock::Std.compute_scale(), 2.0 * Clock::Max.compute_scale());
    }
}
