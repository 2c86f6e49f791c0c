//! A pipeline of segments, one TPU each: every stage works on a different inference at once,
//! so throughput is set by the slowest stage; one inference passes through all stages in turn.

use super::calibration::HOST_STAGE_OVERHEAD_MS;
use serde::Serialize;

/// Predicted pipeline figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PipelineEstimate {
    /// Each stage's predicted time on its TPU (transfers included), ms.
    pub stage_ms: Vec<f64>,
    /// Host overhead added per stage (thread hand-off), ms; zero for a single TPU.
    pub host_overhead_ms: f64,
    /// The slowest stage plus the host overhead: the time between two results, ms.
    pub bottleneck_ms: f64,
    /// One inference end to end: every stage plus the host overhead of each, ms.
    pub latency_ms: f64,
    /// Inferences per second in steady state (1000 / bottleneck).
    pub throughput_per_s: f64,
}

/// The host overhead per stage for a pipeline of `stages` stages.
pub fn host_overhead_ms(stages: usize) -> f64 {
    if stages > 1 {
        HOST_STAGE_OVERHEAD_MS
    } else {
        0.0
    }
}

/// Combines stage times into pipeline figures.
pub fn pipeline(stage_ms: &[f64]) -> PipelineEstimate {
    let host = host_overhead_ms(stage_ms.len());
    let slowest = stage_ms.iter().copied().fold(0.0, f64::max);
    let bottleneck_ms = slowest + host;
    let latency_ms = stage_ms.iter().map(|s| s + host).sum();
    PipelineEstimate {
        stage_ms: stage_ms.to_vec(),
        host_overhead_ms: host,
        bottleneck_ms,
        latency_ms,
        throughput_per_s: if bottleneck_ms > 0.0 {
            1000.0 / bottleneck_ms
        } else {
            0.0
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slowest_stage_sets_throughput_all_stages_set_latency() {
        let p = pipeline(&[2.0, 5.0, 3.0]);
        assert_eq!(p.bottleneck_ms, 5.0 + HOST_STAGE_OVERHEAD_MS);
        assert!((p.latency_ms - (10.0 + 3.0 * HOST_STAGE_OVERHEAD_MS)).abs() < 1e-12);
        assert!((p.throughput_per_s - 1000.0 / p.bottleneck_ms).abs() < 1e-9);
        let one = pipeline(&[4.0]);
        assert_eq!((one.bottleneck_ms, one.latency_ms), (4.0, 4.0));
    }
}
