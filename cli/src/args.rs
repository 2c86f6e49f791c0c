//! Flags shared by several commands, and the command line's names for the compiler's enums
//! (the domain types carry no clap derives; each argument enum maps onto one).

use clap::{Args, ValueEnum};
use std::path::PathBuf;
use tpupipe_compiler::placement::{HostClass, HostCostSetting};
use tpupipe_compiler::{Builder, Clock, HostLink, Interface, Strategy};

/// `--strategy`: how to choose the cuts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StrategyArg {
    /// The Edge TPU compiler's equal-parameter split.
    Params,
    /// The exact optimum of the slowest stage under the cost model.
    Balanced,
    /// Like `balanced`, with candidate costs taken from a profile where it has them.
    Profiled,
}

impl From<StrategyArg> for Strategy {
    fn from(s: StrategyArg) -> Strategy {
        match s {
            StrategyArg::Params => Strategy::Params,
            StrategyArg::Balanced => Strategy::Balanced,
            StrategyArg::Profiled => Strategy::Profiled,
        }
    }
}

/// `--interface`: how the host reaches the TPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InterfaceArg {
    /// USB 3.0 Accelerator (the calibration's reference).
    Usb3,
    /// PCIe Gen2 x1 (M.2 / mini-PCIe modules).
    Pcie,
    /// USB 2.0 (Dev Board Mini, USB 2 hosts).
    Usb2,
}

impl From<InterfaceArg> for Interface {
    fn from(i: InterfaceArg) -> Interface {
        match i {
            InterfaceArg::Usb3 => Interface::Usb3,
            InterfaceArg::Pcie => Interface::Pcie,
            InterfaceArg::Usb2 => Interface::Usb2,
        }
    }
}

/// `--clock`: the TPU clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClockArg {
    /// The "max" build: 500 MHz (the calibration's reference).
    Max,
    /// The "std" build: 250 MHz, compute takes twice as long.
    Std,
}

impl From<ClockArg> for Clock {
    fn from(c: ClockArg) -> Clock {
        match c {
            ClockArg::Max => Clock::Max,
            ClockArg::Std => Clock::Std,
        }
    }
}

/// `--host-link`: whether the TPUs share one host wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HostLinkArg {
    /// All TPUs' transfers cross one wire: per inference, the wire must carry every segment's
    /// inputs, outputs and streamed weights, whatever runs in parallel. USB accelerators
    /// behind one hub or one host controller.
    Shared,
    /// Each TPU has its own wire (PCIe lanes, USB ports on separate controllers).
    Dedicated,
}

impl From<HostLinkArg> for HostLink {
    fn from(h: HostLinkArg) -> HostLink {
        match h {
            HostLinkArg::Shared => HostLink::Shared,
            HostLinkArg::Dedicated => HostLink::Dedicated,
        }
    }
}

/// `--host-cost`: how the host CPU cost of operators left on the CPU is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HostCostArg {
    /// Run them with tpupipe's interpreter on this host at plan time (cached); rates where the
    /// interpreter refuses an operator.
    Measure,
    /// The documented rates of an x86-64 desktop core.
    X86Desktop,
    /// The documented rates of a Raspberry Pi 4 core (Cortex-A72, 1.5 GHz).
    Rpi4,
    /// The documented rates of a Coral Dev Board core (Cortex-A53, 1.5 GHz).
    CoralDevBoard,
}

impl From<HostCostArg> for HostCostSetting {
    fn from(h: HostCostArg) -> HostCostSetting {
        match h {
            HostCostArg::Measure => HostCostSetting::Measure,
            HostCostArg::X86Desktop => HostCostSetting::Rates(HostClass::X86Desktop),
            HostCostArg::Rpi4 => HostCostSetting::Rates(HostClass::RaspberryPi4),
            HostCostArg::CoralDevBoard => HostCostSetting::Rates(HostClass::CoralDevBoard),
        }
    }
}

/// The cost-model flags of `plan`, `split` and `simulate`: an optional profile of measured
/// costs, and the link and clock the cost model assumes. Commands that word a flag's help
/// differently override it with `mut_arg`.
#[derive(Debug, Args)]
pub struct CostArgs {
    /// A profile of measured segment costs (see docs/profile-format.md).
    #[arg(long)]
    pub profile: Option<PathBuf>,
    /// How the host reaches the TPUs.
    #[arg(long, value_enum, default_value_t = InterfaceArg::Usb3)]
    pub interface: InterfaceArg,
    /// The TPU clock (libedgetpu max or std build).
    #[arg(long, value_enum, default_value_t = ClockArg::Max)]
    pub clock: ClockArg,
    /// Whether the TPUs share one host wire (`shared`: USB accelerators behind one hub or
    /// controller) or each has its own (`dedicated`).
    #[arg(long, value_enum, default_value_t = HostLinkArg::Dedicated)]
    pub host_link: HostLinkArg,
    /// How the host CPU cost of operators the Edge TPU cannot run is found: measured with
    /// tpupipe's interpreter on this host (cached), or a host class's documented rates (the
    /// environment variable makes plans reproducible across machines, e.g. in CI).
    #[arg(long, value_enum, default_value_t = HostCostArg::Measure, env = "TPUPIPE_HOST_COST")]
    pub host_cost: HostCostArg,
}

/// How `balanced` and `profiled` may use the TPUs, for `plan`, `split` and `simulate`.
#[derive(Debug, Clone, Copy, Args)]
pub struct SearchArgs {
    /// Use fewer TPUs when more stages would be slower (balanced and profiled).
    #[arg(long)]
    pub allow_fewer: bool,
    /// Let several TPUs run copies of one segment, taking inferences in turn, where that beats
    /// more cuts (balanced and profiled; raises throughput, not latency).
    #[arg(long)]
    pub replicate: bool,
    /// Host cores the plan's CPU stages share (default: this host's available parallelism);
    /// more CPU stages than cores slow each other down.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub host_cores: Option<u64>,
}

impl CostArgs {
    /// Applies the flags to a builder.
    pub fn apply(&self, builder: Builder) -> Builder {
        let builder = builder
            .interface(self.interface.into())
            .clock(self.clock.into())
            .host_link(self.host_link.into())
            .host_cost(self.host_cost.into());
        match &self.profile {
            Some(p) => builder.profile(p),
            None => builder,
        }
    }
}

impl SearchArgs {
    /// Applies the flags to a builder.
    pub fn apply(&self, builder: Builder) -> Builder {
        let builder = builder
            .allow_fewer(self.allow_fewer)
            .replicate(self.replicate);
        match self.host_cores {
            Some(n) => builder.host_cores(n as usize),
            None => builder,
        }
    }
}
