//! The hardware a plan is made for: how the host reaches each Edge TPU, how fast the TPU is
//! clocked, whether the TPUs share one wire, and which device runs a stage.
//!
//! These are names only; the cost model's figures for each (`tpupipe_compiler::cost`) live in
//! the compiler, which the final binary does not link.

/// A value that is not one of a hardware enum's names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{found}' (expected one of: {expected})")]
pub struct UnknownName {
    /// What was being parsed (`interface`, `clock`, ...).
    pub what: &'static str,
    /// The text found.
    pub found: String,
    /// The accepted names, comma-separated.
    pub expected: &'static str,
}

/// Declares a field-less enum with one lower-case name per variant, `name()`, `ALL`, `Display`
/// and `FromStr` over those names, and (with the `serde` feature) serde as the name.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        pub enum $name {
            $( $(#[$vmeta])* #[cfg_attr(feature = "serde", serde(rename = $text))] $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The lower-case name used on the command line and in JSON.
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::plan::UnknownName;
            fn from_str(s: &str) -> Result<Self, $crate::plan::UnknownName> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::plan::UnknownName {
                        what: $what,
                        found: s.to_string(),
                        expected: concat!($($text, " "),+).trim_ascii_end(),
                    }),
                }
            }
        }
    };
}
pub(crate) use named_enum;

named_enum! {
    /// The host link of one Edge TPU (default USB 3, the most common accelerator).
    #[derive(Default)]
    Interface, "interface" {
        /// USB 3.0 Accelerator (the cost model's calibration reference).
        #[default]
        Usb3 = "usb3",
        /// PCIe Gen2 x1 (M.2 / mini-PCIe modules).
        Pcie = "pcie",
        /// USB 2.0 (Dev Board Mini, USB 2 hosts).
        Usb2 = "usb2",
    }
}

named_enum! {
    /// The TPU clock chosen by the libedgetpu build (default max).
    #[derive(Default)]
    Clock, "clock" {
        /// The "max" build: 500 MHz (the calibration's reference).
        #[default]
        Max = "max",
        /// The "std" build: 250 MHz, compute takes twice as long.
        Std = "std",
    }
}

named_enum! {
    /// Whether several TPUs share one host link (wire bandwidth) or each has its own. The
    /// default is `Dedicated`: the thesis's four USB 3 TPUs moved more activation bytes per
    /// second in a pipeline than one wire at the calibrated rate could carry
    /// (docs/cost-model.md).
    #[derive(Default)]
    HostLink, "host link" {
        /// All TPUs' transfers cross one wire: per inference, the wire must carry every
        /// segment's inputs, outputs and streamed weights, whatever runs in parallel. USB
        /// accelerators behind one hub or one host controller.
        Shared = "shared",
        /// Each TPU has its own wire (PCIe lanes, USB ports on separate controllers).
        #[default]
        Dedicated = "dedicated",
    }
}

named_enum! {
    /// Where a pipeline stage runs (default the Edge TPU).
    #[derive(Default)]
    Device, "device" {
        /// An Edge TPU, on the segment compiled by `edgetpu_compiler`.
        #[default]
        EdgeTpu = "edgetpu",
        /// The host CPU, on tpupipe's interpreter.
        Cpu = "cpu",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_choices() {
        for &i in Interface::ALL {
            assert_eq!(i.name().parse::<Interface>(), Ok(i));
        }
        for &c in Clock::ALL {
            assert_eq!(c.to_string().parse::<Clock>(), Ok(c));
        }
        let e = "usb4".parse::<Interface>().unwrap_err().to_string();
        assert_eq!(
            e,
            "unknown interface 'usb4' (expected one of: usb3 pcie usb2)"
        );
        assert_eq!("cpu".parse::<Device>(), Ok(Device::Cpu));
    }
}
