//! Timing compiled segments on attached Edge TPUs through the runtime's Edge TPU backend: each
//! segment is opened alone on one device (the runtime warms it up once, which loads its
//! parameters), run `warm_up` more times, then `repeats` times; its latency is the median.
//! Segments are spread over every free device, one thread per device.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;
use tpupipe_runtime::edgetpu::{
    BackendConfig, EdgeTpuBackend, EdgeTpuDevice, EdgeTpuError, StageOptions,
};

/// How each segment is timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Timing {
    /// Untimed runs after the runtime's own warm-up run.
    pub warm_up: usize,
    /// Timed runs; the latency is their median.
    pub repeats: usize,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            warm_up: 2,
            repeats: 9,
        }
    }
}

/// What times compiled segments. `time_all` returns one result per segment, in order: the
/// median latency in ms, or why that segment could not run.
pub trait SegmentTimer {
    /// Times every compiled segment (`*_edgetpu.tflite` bytes).
    fn time_all(&self, segments: &[Vec<u8>]) -> Vec<Result<f64, String>>;
    /// The devices used, for reports.
    fn devices(&self) -> Vec<String>;
}

/// The median of `v` (not empty).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// [`SegmentTimer`] over the attached Edge TPUs.
pub struct EdgeTpuTimer {
    backend: EdgeTpuBackend,
    devices: Vec<EdgeTpuDevice>,
    timing: Timing,
}

impl EdgeTpuTimer {
    /// Opens the backend and finds the devices; [`EdgeTpuError::NoDevice`] without any.
    pub fn open(config: &BackendConfig, timing: Timing) -> Result<EdgeTpuTimer, EdgeTpuError> {
        let backend = EdgeTpuBackend::open(config)?;
        let found = backend.devices()?;
        if found.is_empty() {
            return Err(EdgeTpuError::NoDevice);
        }
        // Only the devices no other process holds now.
        let devices: Vec<EdgeTpuDevice> = found
            .iter()
            .filter(|d| backend.lock(d).is_ok())
            .cloned()
            .collect();
        if devices.is_empty() {
            return Err(EdgeTpuError::FewerDevicesThanStages {
                stages: 1,
                found: found.len(),
                usable: 0,
                busy: found.iter().map(|d| d.path.clone()).collect(),
            });
        }
        Ok(EdgeTpuTimer {
            backend,
            devices,
            timing,
        })
    }

    fn time_one(&self, device: &EdgeTpuDevice, segment: &[u8]) -> Result<f64, EdgeTpuError> {
        let lock = self.backend.lock(device)?;
        let options = StageOptions {
            // A candidate that keeps operators on the CPU still runs (slower), and is
            // measured as it would run.
            allow_cpu_ops: true,
            ..StageOptions::default()
        };
        let mut stage = self
            .backend
            .open_stage(0, segment.to_vec(), lock, &options)?;
        let ins: Vec<Vec<u8>> = stage
            .inputs()
            .iter()
            .map(|t| vec![0u8; t.bytes.0 as usize])
            .collect();
        let mut outs: Vec<Vec<u8>> = stage
            .outputs()
            .iter()
            .map(|t| vec![0u8; t.bytes.0 as usize])
            .collect();
        let in_refs: Vec<&[u8]> = ins.iter().map(Vec::as_slice).collect();
        let mut run = |outs: &mut Vec<Vec<u8>>| {
            let mut out_refs: Vec<&mut [u8]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
            stage.run(&in_refs, &mut out_refs)
        };
        for _ in 0..self.timing.warm_up {
            run(&mut outs)?;
        }
        let mut times = Vec::with_capacity(self.timing.repeats.max(1));
        for _ in 0..self.timing.repeats.max(1) {
            let t = Instant::now();
            run(&mut outs)?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        Ok(median(&mut times))
    }
}

impl SegmentTimer for EdgeTpuTimer {
    fn time_all(&self, segments: &[Vec<u8>]) -> Vec<Result<f64, String>> {
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Option<Result<f64, String>>>> =
            Mutex::new(vec![None; segments.len()]);
        std::thread::scope(|s| {
            for device in self.devices.iter().take(segments.len()) {
                let (next, results) = (&next, &results);
                s.spawn(move || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= segments.len() {
                        break;
                    }
                    let r = self
                        .time_one(device, &segments[i])
                        .map_err(|e| format!("on {device}: {e}"));
                    results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
                });
            }
        });
        results
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err("no free Edge TPU was left to run it".into())))
            .collect()
    }

    fn devices(&self) -> Vec<String> {
        self.devices.iter().map(|d| d.to_string()).collect()
    }
}
