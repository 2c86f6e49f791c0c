//! The Edge TPU delegate options tpupipe sets, with libedgetpu's exact keys and values
//! (case-sensitive): `Performance` = `Low` | `Medium` | `High` | `Max`, and
//! `Usb.MaxBulkInQueueLength` = `0`..=`256` (0 disables queued bulk-in; libedgetpu sets 8 when
//! the caller does not). Unset options keep libedgetpu's defaults.

use super::device::DeviceKind;
use super::error::EdgeTpuError;
use std::fmt;
use std::str::FromStr;

/// The `Performance` option: the TPU's clock. The throttled `libedgetpu1-std` build lowers `Max`
/// to `High` on USB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Performance {
    /// `Low`.
    Low,
    /// `Medium`.
    Medium,
    /// `High`.
    High,
    /// `Max` (libedgetpu's default).
    Max,
}

impl Performance {
    /// The option value.
    pub fn as_str(self) -> &'static str {
        match self {
            Performance::Low => "Low",
            Performance::Medium => "Medium",
            Performance::High => "High",
            Performance::Max => "Max",
        }
    }
}

impl fmt::Display for Performance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Performance {
    type Err = EdgeTpuError;

    /// Accepts the option values in any case (`max`, `Max`).
    fn from_str(s: &str) -> Result<Self, EdgeTpuError> {
        match s.to_ascii_lowercase().as_str() {
            "low" => Ok(Performance::Low),
            "medium" => Ok(Performance::Medium),
            "high" => Ok(Performance::High),
            "max" => Ok(Performance::Max),
            _ => Err(EdgeTpuError::InvalidOption {
                key: PERFORMANCE_KEY,
                value: s.to_string(),
                reason: "expected Low, Medium, High or Max",
            }),
        }
    }
}

/// The `Usb.MaxBulkInQueueLength` option, checked to be in libedgetpu's accepted range 0..=256.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BulkInQueueLength(u16);

impl BulkInQueueLength {
    /// The largest value libedgetpu accepts.
    pub const MAX: u16 = 256;

    /// Checks the range.
    pub fn new(n: u32) -> Result<Self, EdgeTpuError> {
        if n > u32::from(Self::MAX) {
            return Err(EdgeTpuError::InvalidOption {
                key: BULK_IN_QUEUE_KEY,
                value: n.to_string(),
                reason: "expected 0..=256",
            });
        }
        Ok(BulkInQueueLength(n as u16))
    }

    /// The length.
    pub fn get(self) -> u16 {
        self.0
    }
}

/// libedgetpu's key for [`Performance`].
pub const PERFORMANCE_KEY: &str = "Performance";
/// libedgetpu's key for [`BulkInQueueLength`].
pub const BULK_IN_QUEUE_KEY: &str = "Usb.MaxBulkInQueueLength";

/// Options for one stage's delegate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DelegateOptions {
    /// `Performance`; `None` keeps libedgetpu's default.
    pub performance: Option<Performance>,
    /// `Usb.MaxBulkInQueueLength` (USB devices only); `None` keeps libedgetpu's default.
    pub usb_max_bulk_in_queue_length: Option<BulkInQueueLength>,
}

impl DelegateOptions {
    /// The key/value pairs for a device of `kind` (USB options are left out for PCIe).
    pub fn pairs(&self, kind: DeviceKind) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        if let Some(p) = self.performance {
            v.push((PERFORMANCE_KEY, p.as_str().to_string()));
        }
        if let (DeviceKind::Usb, Some(q)) = (kind, self.usb_max_bulk_in_queue_length) {
            v.push((BULK_IN_QUEUE_KEY, q.get().to_string()));
        }
        v
    }
}
