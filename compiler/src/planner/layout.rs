//! A plan's layout: where to cut, and how many TPUs run each segment.
//!
//! A plain pipeline gives every segment one TPU. With replication
//! ([`replicated`](super::replicated)), a segment may run on several TPUs that take inferences
//! in turn: when one segment is slower than any cut can fix (a model that fits one TPU, or a
//! layer too slow to share), copies of it raise throughput where more cuts would only add
//! transfers.

use super::strategy::segment_ranges;
use serde::Serialize;
use std::ops::Range;
pub use tpupipe_runtime::plan::Device;

/// Cut positions plus the device and the TPUs given to each segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Layout {
    /// Strictly increasing cut positions (see [`Cuts`](super::Cuts)).
    pub cuts: Vec<usize>,
    /// TPUs running each segment, each at least 1; `cuts.len() + 1` entries (1 for a CPU
    /// stage, which runs on one host worker).
    pub replicas: Vec<usize>,
    /// Where each segment runs; `cuts.len() + 1` entries.
    pub devices: Vec<Device>,
}

impl Layout {
    /// One TPU per segment.
    pub fn pipeline(cuts: Vec<usize>) -> Layout {
        let replicas = vec![1; cuts.len() + 1];
        let devices = vec![Device::EdgeTpu; cuts.len() + 1];
        Layout {
            cuts,
            replicas,
            devices,
        }
    }

    /// Every segment on the Edge TPU, `replicas[i]` TPUs for segment `i`.
    pub fn replicated(cuts: Vec<usize>, replicas: Vec<usize>) -> Layout {
        let devices = vec![Device::EdgeTpu; replicas.len()];
        Layout {
            cuts,
            replicas,
            devices,
        }
    }

    /// One TPU per Edge TPU segment, `devices[i]` for segment `i`.
    pub fn with_devices(cuts: Vec<usize>, devices: Vec<Device>) -> Layout {
        let replicas = vec![1; devices.len()];
        Layout {
            cuts,
            replicas,
            devices,
        }
    }

    /// The device of segment `i` (the Edge TPU when the layout does not say).
    pub fn device(&self, i: usize) -> Device {
        self.devices.get(i).copied().unwrap_or(Device::EdgeTpu)
    }

    /// Number of CPU stages.
    pub fn cpu_stages(&self) -> usize {
        (0..self.segment_count())
            .filter(|&i| self.device(i) == Device::Cpu)
            .count()
    }

    /// Pipeline workers: the TPUs used plus one per CPU stage.
    pub fn workers(&self) -> usize {
        self.tpus() + self.cpu_stages()
    }

    /// Number of segments.
    pub fn segment_count(&self) -> usize {
        self.cuts.len() + 1
    }

    /// Edge TPUs used in total (CPU stages not counted).
    pub fn tpus(&self) -> usize {
        self.replicas
            .iter()
            .enumerate()
            .filter(|&(i, _)| self.device(i) == Device::EdgeTpu)
            .map(|(_, r)| r)
            .sum()
    }

    /// True when some segment runs on more than one TPU.
    pub fn is_replicated(&self) -> bool {
        self.replicas.iter().any(|&r| r > 1)
    }

    /// The segments' position ranges for a model of `len` positions.
    pub fn ranges(&self, len: usize) -> Vec<Range<usize>> {
        segment_ranges(&self.cuts, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pipeline_layout_gives_one_tpu_per_segment() {
        let l = Layout::pipeline(vec![2, 5]);
        assert_eq!(l.replicas, vec![1, 1, 1]);
        assert_eq!(
            (l.segment_count(), l.tpus(), l.is_replicated()),
            (3, 3, false)
        );
        assert_eq!(l.ranges(7), vec![0..2, 2..5, 5..7]);
        let r = Layout::replicated(vec![3], vec![1, 3]);
        assert_eq!((r.tpus(), r.is_replicated()), (4, true));
        let c = Layout::with_devices(
            vec![2, 4],
            vec![Device::EdgeTpu, Device::Cpu, Device::EdgeTpu],
        );
        assert_eq!((c.tpus(), c.cpu_stages(), c.workers()), (2, 1, 3));
    }
}
