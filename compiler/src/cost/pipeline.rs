//! A pipeline of segments: every stage works on a different inference at once, so throughput is
//! set by the slowest stage; one inference passes through all stages in turn.
//!
//! A stage may be *replicated*: `r` TPUs hold the same segment and take inferences in turn, so
//! the stage delivers one result every `stage / r` ms on average, while each inference still
//! spends the whole stage time in it. Replication raises throughput, never lowers latency.

use super::calibration::HOST_STAGE_OVERHEAD_MS;
use serde::Serialize;

/// Predicted pipeline figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PipelineEstimate {
    /// Each stage's predicted time on its TPU (transfers included), ms.
    pub stage_ms: Vec<f64>,
    /// TPUs running each stage (1 unless the plan replicates stages).
    pub replicas: Vec<usize>,
    /// Host overhead added per stage (thread hand-off), ms; zero for a single TPU.
    pub host_overhead_ms: f64,
    /// With a shared host wire: the time it is busy per inference (every segment's transfers
    /// and streamed parameters), ms, a floor under the bottleneck. `None` with dedicated wires.
    pub shared_wire_ms: Option<f64>,
    /// True when the shared wire, not a stage, sets the bottleneck.
    pub wire_bound: bool,
    /// The slowest stage (plus the host overhead, divided by its replicas): the time between
    /// two results, ms.
    pub bottleneck_ms: f64,
    /// One inference end to end: every stage plus the host overhead of each, ms.
    pub latency_ms: f64,
    /// Inferences per second in steady state (1000 / bottleneck).
    pub throughput_per_s: f64,
}

/// The host overhead per stage for a plan running on `tpus` TPUs in total: zero for a single
/// TPU (no hand-off between threads), [`HOST_STAGE_OVERHEAD_MS`] otherwise.
pub(crate) fn host_overhead_ms(tpus: usize) -> f64 {
    if tpus > 1 {
        HOST_STAGE_OVERHEAD_MS
    } else {
        0.0
    }
}

/// The time between two results of one stage: `(stage + host) / replicas`.
pub(crate) fn stage_interval_ms(stage_ms: f64, host_ms: f64, replicas: usize) -> f64 {
    (stage_ms + host_ms) / replicas.max(1) as f64
}

/// Combines stage times into pipeline figures, one TPU per stage, dedicated wires.
pub fn pipeline(stage_ms: &[f64]) -> PipelineEstimate {
    replicated_pipeline(stage_ms, &vec![1; stage_ms.len()], None)
}

/// Combines stage times into pipeline figures, `replicas[i]` TPUs for stage `i` (values below
/// 1 count as 1). `shared_wire_ms`: with one host wire for all TPUs, the time it is busy per
/// inference, which the bottleneck cannot go below.
pub fn replicated_pipeline(
    stage_ms: &[f64],
    replicas: &[usize],
    shared_wire_ms: Option<f64>,
) -> PipelineEstimate {
    debug_assert_eq!(stage_ms.len(), replicas.len());
    let replicas: Vec<usize> = replicas.iter().map(|&r| r.max(1)).collect();
    let host = host_overhead_ms(replicas.iter().sum());
    let slowest = stage_ms
        .iter()
        .zip(&replicas)
        .map(|(&s, &r)| stage_interval_ms(s, host, r))
        .fold(0.0, f64::max);
    let wire = shared_wire_ms.unwrap_or(0.0);
    let bottleneck_ms = slowest.max(wire);
    let latency_ms = stage_ms.iter().map(|s| s + host).sum();
    PipelineEstimate {
        stage_ms: stage_ms.to_vec(),
        replicas,
        host_overhead_ms: host,
        shared_wire_ms,
        wire_bound: wire > slowest,
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

    #[test]
    fn replicas_divide_a_stage_interval_but_not_latency() {
        let h = HOST_STAGE_OVERHEAD_MS;
        // Two TPUs on the 5 ms stage: it now delivers every (5 + h) / 2 ms; the 3 ms stage
        // becomes the bottleneck.
        let p = replicated_pipeline(&[5.0, 3.0], &[2, 1], None);
        assert_eq!(p.bottleneck_ms, 3.0 + h);
        assert!((p.latency_ms - (8.0 + 2.0 * h)).abs() < 1e-12);
        // One segment on four TPUs pays the host overhead (four threads) but runs 4x as often.
        let q = replicated_pipeline(&[4.0], &[4], None);
        assert_eq!(q.bottleneck_ms, (4.0 + h) / 4.0);
        assert_eq!(q.latency_ms, 4.0 + h);
        assert_eq!(q.replicas, vec![4]);
        // A shared wire busy 2 ms per inference caps the copies at one result per 2 ms.
        let w = replicated_pipeline(&[4.0], &[4], Some(2.0));
        assert_eq!(w.bottleneck_ms, 2.0);
        assert!(w.wire_bound);
        assert!(!replicated_pipeline(&[4.0], &[1], Some(2.0)).wire_bound);
    }
}
