//! Measuring the host CPU cost of the operators left on the CPU, with tpupipe's interpreter on
//! this host.
//!
//! Each maximal run of CPU positions ([`Placement::runs`]) is extracted as a standalone model
//! with the segment writer ([`crate::segment::write_segment`]), loaded into
//! [`Interpreter`], fed fixed pseudo-random inputs, run [`MeasureOptions::warmup`] times, then
//! timed [`MeasureOptions::repeats`] times with [`Interpreter::invoke_profiled`]; each
//! operator's figure is the median of its repeats. Results are cached on disk ([`super::cache`])
//! by (model hash, position range, host fingerprint, tpupipe version), so a second plan does
//! not measure again. A run the writer or the interpreter refuses keeps the x86-64 desktop
//! rates, and the returned [`HostCost`] says so in its notes.

use super::cache::{self, CacheKey};
use super::{HostClass, HostCost, HostCostOrigin};
use crate::graph::Graph;
use crate::placement::Placement;
use crate::segment::{write_segment, SegmentSpec};
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;
use tpupipe_runtime::interp::Interpreter;
use tpupipe_runtime::ModelView;

/// How to measure.
#[derive(Debug, Clone)]
pub struct MeasureOptions {
    /// Untimed runs before timing.
    pub warmup: usize,
    /// Timed runs; each operator's figure is their median.
    pub repeats: usize,
    /// Where to cache results (`None`: no cache).
    pub cache_dir: Option<PathBuf>,
    /// The class whose rates stand in where nothing is measured.
    pub fallback: HostClass,
}

impl Default for MeasureOptions {
    fn default() -> Self {
        MeasureOptions {
            warmup: 2,
            repeats: 11,
            cache_dir: None,
            fallback: HostClass::X86Desktop,
        }
    }
}

/// Measured figures of one range, ms per position, or why they could not be measured.
pub fn measure_range(
    model: &ModelView<'_>,
    graph: &Graph,
    range: Range<usize>,
    options: &MeasureOptions,
) -> Result<Vec<f64>, String> {
    let io = graph.segment_io(range.clone());
    let spec = SegmentSpec {
        index: 0,
        ops: graph.order()[range.clone()].to_vec(),
        inputs: io.inputs,
        outputs: io.outputs,
        description: format!("tpupipe host-cost probe {}..{}", range.start, range.end),
    };
    let bytes = write_segment(model, &spec, |t| graph.tensor_name(t))
        .map_err(|e| format!("cannot extract positions {range:?}: {e}"))?
        .into_vec();
    let view = ModelView::parse(&bytes).map_err(|e| format!("extracted segment: {e}"))?;
    let mut interp =
        Interpreter::new(&view).map_err(|e| format!("the interpreter refuses: {e}"))?;
    if interp.op_count() != range.len() {
        return Err(format!(
            "the interpreter plans {} steps for {} operators",
            interp.op_count(),
            range.len()
        ));
    }
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for i in 0..interp.input_count() {
        let n = interp.input(i).map_err(|e| e.to_string())?.byte_size;
        let data: Vec<u8> = (0..n)
            .map(|_| {
                // xorshift64: fixed, cheap, not all zeroes.
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                // Small values keep float inputs in a typical range.
                (seed >> 56) as u8 & 0x3f
            })
            .collect();
        interp.set_input(i, &data).map_err(|e| e.to_string())?;
    }
    for _ in 0..options.warmup {
        interp
            .invoke()
            .map_err(|e| format!("the interpreter fails: {e}"))?;
    }
    let repeats = options.repeats.max(1);
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(repeats); range.len()];
    for _ in 0..repeats {
        let steps = interp
            .invoke_profiled()
            .map_err(|e| format!("the interpreter fails: {e}"))?;
        for (t, (_, _, d)) in times.iter_mut().zip(steps) {
            t.push(d);
        }
    }
    Ok(times
        .into_iter()
        .map(|mut t| {
            t.sort_unstable();
            t[t.len() / 2].as_secs_f64() * 1e3
        })
        .collect())
}

/// The host cost of every position of `graph`: the CPU positions of `placement` measured (or
/// read from the cache), the others from the fallback class's rates. `model_sha256` keys the
/// cache.
pub fn measure(
    model: &ModelView<'_>,
    graph: &Graph,
    placement: &Placement,
    model_sha256: &str,
    cores: usize,
    options: &MeasureOptions,
) -> HostCost {
    let rates = HostCost::from_rates(graph, options.fallback, cores);
    let mut per_op_ms = rates.per_op_ms().to_vec();
    let mut measured = vec![false; graph.len()];
    let mut notes = Vec::new();
    let host = cache::host_fingerprint();
    for (range, tpu) in placement.runs() {
        if tpu {
            continue;
        }
        let key = CacheKey::new(model_sha256, range.clone(), &host, options);
        let cached = options
            .cache_dir
            .as_deref()
            .and_then(|dir| cache::load(dir, &key));
        let figures = match cached {
            Some(f) if f.len() == range.len() => Ok(f),
            _ => measure_range(model, graph, range.clone(), options).inspect(|f| {
                if let Some(dir) = options.cache_dir.as_deref() {
                    if let Err(e) = cache::store(dir, &key, f) {
                        notes.push(format!("host-cost cache not written: {e}"));
                    }
                }
            }),
        };
        match figures {
            Ok(f) => {
                for (i, ms) in range.clone().zip(f) {
                    per_op_ms[i] = ms;
                    measured[i] = true;
                }
            }
            Err(why) => notes.push(format!(
                "positions {}..{} not measured ({why}); using the {} rates",
                range.start, range.end, options.fallback
            )),
        }
    }
    HostCost::with_measured(per_op_ms, measured, cores, HostCostOrigin::Measured, notes)
}
