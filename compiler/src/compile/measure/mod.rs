//! Measured planning (`tpupipe compile --measure`): after compile-profiled planning, the
//! candidate segments around the current plan are compiled, run on the attached Edge TPUs and
//! timed, their latencies go into the profile (`latency_ms`, read by the `profiled` strategy
//! as measured figures), and the planner re-plans; until the plan is stable or a bound.
//!
//! The first round also measures the segments of the compiler's own split (`params`, where
//! libcoral's partitioner starts). Each round measures the current plan's segments and those
//! of the best-ranked neighbouring
//! plans (one cut moved by 1, 2, 4, ... up to [`MeasureSettings::shift`] positions; see
//! [`candidates`]),
//! skipping segments already measured or excluded. The plan is stable when a round finds
//! nothing new to measure: every segment of the plan and of its best neighbours is measured
//! and the planner still picks it. The predictions of unmeasured segments are corrected where
//! the measurements showed the cost model wrong: each position gets the measured-over-predicted
//! ratio of the shortest measured segment covering it (the median ratio where none does), and
//! an unmeasured segment's prediction is multiplied by its positions' mean (`op_scale` in the
//! profile). So measured and predicted figures compare on one scale, and a model that
//! misjudges one part of the network is corrected there.
//!
//! A candidate that fails to compile or to run is excluded like in compile-profiled planning
//! (marked `failed` in the profile). The record ([`MeasuredPlanning`]) says how many
//! measurements were taken, how the plan changed and how many libcoral's profiling partitioner
//! would take for the same model ([`libcoral`]).

pub mod candidates;
pub mod libcoral;
pub mod timer;

use super::profiled::{check_excluded, mark_failed, Candidates, ExcludedRange};
use super::run::{run_jobs, Progress};
use super::{CompileError, CompileEvent};
use crate::edgetpu::{CompileOptions, Compiler, SegmentJob};
use crate::loaded_model::LoadedModel;
use crate::planner::Cuts;
use crate::segment;
use crate::split::Split;
use crate::Builder;
use candidates::{round_candidates, Candidate};
use libcoral::LibcoralCount;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use timer::{SegmentTimer, Timing};
use tpupipe_runtime::edgetpu::BackendConfig;
use tpupipe_runtime::plan::{Profile, ProfileEntry, Strategy};

/// How measured planning runs (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct MeasureSettings {
    /// Warm-up and repeats per segment.
    pub timing: Timing,
    /// How far one cut moves in a neighbouring plan: by 1, 2, 4, ... up to this (default 8).
    pub shift: usize,
    /// How many neighbouring plans' segments a round measures (default: twice the cut
    /// count).
    pub neighbours: Option<usize>,
    /// Most rounds (default 8).
    pub max_rounds: usize,
    /// Most segment measurements in all (default 64).
    pub max_measurements: usize,
    /// Without an Edge TPU, warn and build without measuring instead of failing.
    pub skip_without_device: bool,
    /// The libraries and lock directory (default: [`BackendConfig::from_env`]).
    pub backend: Option<BackendConfig>,
}

impl Default for MeasureSettings {
    fn default() -> Self {
        MeasureSettings {
            timing: Timing::default(),
            shift: 8,
            neighbours: None,
            max_rounds: 8,
            max_measurements: 64,
            skip_without_device: false,
            backend: None,
        }
    }
}

impl MeasureSettings {
    /// The settings that change the result, for the cache key.
    pub fn key_json(&self) -> serde_json::Value {
        serde_json::json!({
            "warm_up": self.timing.warm_up, "repeats": self.timing.repeats,
            "shift": self.shift, "neighbours": self.neighbours,
            "max_rounds": self.max_rounds, "max_measurements": self.max_measurements,
        })
    }
}

/// One measured segment.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MeasuredRange {
    /// Positions `[start, end)`.
    pub op_range: [usize; 2],
    /// The median latency, ms.
    pub latency_ms: f64,
    /// What the cost model predicted for it (with the compiler's bytes), ms, unscaled.
    pub predicted_ms: f64,
}

/// One round of measured planning.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MeasureRound {
    /// The plan the round started from.
    pub cuts: Vec<usize>,
    /// The segments measured in it.
    pub measured: Vec<MeasuredRange>,
}

/// How measured planning went.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MeasuredPlanning {
    /// The devices measured on.
    pub devices: Vec<String>,
    /// The plan before measuring.
    pub initial_cuts: Vec<usize>,
    /// The plan built.
    pub final_cuts: Vec<usize>,
    /// The rounds, in order.
    pub rounds: Vec<MeasureRound>,
    /// Segment measurements taken (each a warm-up and a median over repeats).
    pub measurements: usize,
    /// Candidate compiles run for measuring (beyond compile-profiled planning's).
    pub compiles: usize,
    /// True when a round found nothing new to measure; false when a bound stopped it.
    pub stable: bool,
    /// The median measured-over-predicted ratio at the end.
    pub median_scale: f64,
    /// The final plan's predicted bottleneck under the final profile, ms.
    pub bottleneck_ms: f64,
    /// libcoral's profiling partitioner replayed on the final costs, for comparison.
    pub libcoral: Option<LibcoralCount>,
}

impl MeasuredPlanning {
    /// A one-line summary: measurements, the plan change and libcoral's count.
    pub fn summary(&self) -> String {
        let change = if self.initial_cuts == self.final_cuts {
            "plan unchanged".to_string()
        } else {
            format!("cuts {:?} -> {:?}", self.initial_cuts, self.final_cuts)
        };
        let lib = match &self.libcoral {
            Some(l) => format!(
                "; libcoral's profiling partitioner would take {} segment measurements ({} benchmark runs, {} compiles){}",
                l.segment_measurements,
                l.benchmark_runs,
                l.compiles,
                l.stopped.as_ref().map(|s| format!(", stopping early: {s}")).unwrap_or_default()
            ),
            None => String::new(),
        };
        format!(
            "measured planning on {} Edge TPU(s): {} measurement(s) in {} round(s), {change}{}{lib}",
            self.devices.len(),
            self.measurements,
            self.rounds.len(),
            if self.stable { "" } else { " (stopped at a bound)" },
        )
    }
}

fn single_range_cuts(op_range: [usize; 2], ops: usize) -> (Vec<usize>, usize) {
    let [s, e] = op_range;
    let mut cuts = Vec::new();
    if s > 0 {
        cuts.push(s);
    }
    if e < ops {
        cuts.push(e);
    }
    (cuts, usize::from(s > 0))
}

/// Writes the segment of `op_range` alone.
fn write_range(model: &LoadedModel, op_range: [usize; 2]) -> Result<Vec<u8>, crate::Error> {
    let (cuts, i) = single_range_cuts(op_range, model.op_count());
    let split = Split::new(
        model.file().view()?,
        model.graph(),
        Cuts::new(cuts, model.op_count())?,
        model.name(),
    )?;
    Ok(split.write_segment(i)?.into_vec())
}

/// The first position whose operator feeds no other operator (libcoral's first output node).
fn first_output_position(model: &LoadedModel) -> usize {
    let g = model.graph();
    (0..g.len())
        .find(|&p| g.op(p).outputs.iter().all(|&t| g.consumers(t).is_empty()))
        .unwrap_or(g.len().saturating_sub(1))
}

/// Everything the loop works with.
pub(crate) struct Measuring<'a> {
    /// The builder as the user configured it.
    pub builder: &'a Builder,
    /// The compiler.
    pub compiler: &'a Compiler,
    /// Its options.
    pub options: &'a CompileOptions,
    /// Progress.
    pub progress: Progress<'a>,
    /// Where the profile is kept.
    pub profile_path: &'a Path,
    /// The timer.
    pub timer: &'a dyn SegmentTimer,
    /// The settings.
    pub settings: &'a MeasureSettings,
}

impl Measuring<'_> {
    /// Refines the plan `start` plans (compile-profiled planning's result) with measurements.
    /// Returns the builder planning the final layout (strategy `profiled` over the profile).
    pub(crate) fn refine(
        &self,
        start: Builder,
        memo: &mut Candidates,
        excluded: &mut Vec<ExcludedRange>,
    ) -> Result<(Builder, MeasuredPlanning), CompileError> {
        let cost = self.builder.cost_model();
        let mut profile = if self.profile_path.is_file() {
            Profile::read(self.profile_path).map_err(crate::Error::from)?
        } else {
            let (_, user_profile, _) = self.builder.compile_inputs();
            match user_profile {
                Some(p) => Profile::read(p).map_err(crate::Error::from)?,
                None => Profile::for_model(self.builder.load()?.sha256()),
            }
        };
        let mut model = start.load()?;
        let ops = model.op_count();
        let stem = model.file().stem();
        let mut current = start;
        let mut measured: HashMap<[usize; 2], (f64, f64)> = HashMap::new();
        let mut rounds = Vec::new();
        let mut compiles = 0;
        let mut initial_cuts = None;
        let budget = self.settings.max_measurements;
        let stable = loop {
            let report = current.plan_loaded(&model)?;
            let ranges: Vec<[usize; 2]> = report.segments.iter().map(|s| s.op_range).collect();
            check_excluded(&ranges, excluded)?;
            let cuts = report.cuts.clone();
            initial_cuts.get_or_insert_with(|| cuts.clone());
            if rounds.len() >= self.settings.max_rounds {
                break false;
            }
            let mut known: HashSet<[usize; 2]> = measured.keys().copied().collect();
            known.extend(excluded.iter().map(|x| x.op_range));
            let neighbours = self.settings.neighbours.unwrap_or(2 * cuts.len());
            let mut todo: Vec<Candidate> = model.with_context(cost, |ctx| {
                round_candidates(&cuts, ops, self.settings.shift, neighbours, &known, &|c| {
                    ctx.evaluate(c)
                        .ok()
                        .map(|e| (e.pipeline.bottleneck_ms, e.pipeline.latency_ms))
                })
            });
            if rounds.is_empty() {
                // The compiler's own split too, where libcoral's partitioner starts: a
                // second, independent starting point for two measurements.
                if let Ok(params) = model.with_context(cost, |ctx| ctx.params_cuts(ranges.len())) {
                    for c in candidates::plan_segments(&params, ops) {
                        if !known.contains(&c.op_range)
                            && !todo.iter().any(|t| t.op_range == c.op_range)
                        {
                            todo.push(c);
                        }
                    }
                }
            }
            if todo.is_empty() {
                break true;
            }
            let left = budget.saturating_sub(measured.len());
            if left == 0 {
                break false;
            }
            todo.truncate(left);
            let n = ranges.len();
            compiles +=
                self.compile_missing(&model, &stem, n, &todo, memo, &mut profile, excluded)?;
            let runnable: Vec<Candidate> = todo
                .iter()
                .copied()
                .filter(|c| memo.get(c.op_range).is_some())
                .collect();
            (self.progress)(&CompileEvent::MeasuringRound {
                round: rounds.len(),
                segments: runnable.len(),
            });
            let bytes: Vec<Vec<u8>> = runnable
                .iter()
                .map(|c| {
                    memo.get(c.op_range)
                        .expect("compiled")
                        .edgetpu_model
                        .clone()
                })
                .collect();
            let times = self.timer.time_all(&bytes);
            let mut round = MeasureRound {
                cuts: cuts.clone(),
                measured: Vec::new(),
            };
            for (c, t) in runnable.iter().zip(times) {
                match t {
                    Ok(ms) => {
                        let compiled = memo.get(c.op_range).expect("compiled");
                        let predicted = model.with_context(cost, |ctx| {
                            ctx.model_cost()
                                .estimate_with_placement(
                                    c.op_range[0]..c.op_range[1],
                                    compiled.report.on_chip.bytes(),
                                    compiled.report.off_chip.bytes(),
                                )
                                .total_ms
                        });
                        (self.progress)(&CompileEvent::SegmentMeasured {
                            op_range: c.op_range,
                            latency_ms: ms,
                        });
                        measured.insert(c.op_range, (ms, predicted));
                        set_latency(&mut profile, c.op_range, ms);
                        round.measured.push(MeasuredRange {
                            op_range: c.op_range,
                            latency_ms: ms,
                            predicted_ms: predicted,
                        });
                    }
                    Err(reason) => self.exclude(c.op_range, reason, &mut profile, excluded),
                }
            }
            rounds.push(round);
            profile.op_scale = op_scale_of(&measured, ops);
            std::fs::write(self.profile_path, profile.to_json()).map_err(|source| {
                crate::Error::Write {
                    path: self.profile_path.to_path_buf(),
                    source,
                }
            })?;
            model = model.with_profile(self.profile_path)?;
            current = self
                .builder
                .clone()
                .strategy(Strategy::Profiled)
                .profile(self.profile_path);
        };
        let report = current.plan_loaded(&model)?;
        let final_cuts = report.cuts.clone();
        let libcoral = (report.segments.len() >= 2).then(|| {
            let initial = model
                .with_context(cost, |ctx| ctx.params_cuts(report.segments.len()))
                .unwrap_or_default();
            let first_output = first_output_position(&model);
            model.with_context(cost, |ctx| {
                let latency = |r: [usize; 2]| {
                    let (cuts, i) = single_range_cuts(r, ops);
                    let ms = ctx.evaluate(&cuts).ok()?.segments[i].latency_ms;
                    ms.is_finite().then(|| (ms * 1e6).round() as i64)
                };
                libcoral::replay(
                    ops,
                    report.segments.len(),
                    first_output,
                    &initial,
                    &latency,
                    libcoral::DEFAULT_DIFF_THRESHOLD_NS,
                    1_000_000,
                )
            })
        });
        Ok((
            current,
            MeasuredPlanning {
                devices: self.timer.devices(),
                initial_cuts: initial_cuts.unwrap_or_default(),
                final_cuts,
                rounds,
                measurements: measured.len(),
                compiles,
                stable,
                median_scale: median_ratio(&measured).unwrap_or(1.0),
                bottleneck_ms: report.bottleneck_ms,
                libcoral,
            },
        ))
    }

    fn exclude(
        &self,
        op_range: [usize; 2],
        reason: String,
        profile: &mut Profile,
        excluded: &mut Vec<ExcludedRange>,
    ) {
        (self.progress)(&CompileEvent::CandidateExcluded {
            op_range,
            reason: reason.clone(),
        });
        mark_failed(profile, op_range, &reason);
        excluded.push(ExcludedRange { op_range, reason });
    }

    /// Compiles the candidates not compiled yet (named after their index in an `n`-segment
    /// plan); failures are excluded. Returns the compiler runs.
    #[allow(clippy::too_many_arguments)]
    fn compile_missing(
        &self,
        model: &LoadedModel,
        stem: &str,
        n: usize,
        todo: &[Candidate],
        memo: &mut Candidates,
        profile: &mut Profile,
        excluded: &mut Vec<ExcludedRange>,
    ) -> Result<usize, CompileError> {
        let missing: Vec<Candidate> = todo
            .iter()
            .copied()
            .filter(|c| memo.get(c.op_range).is_none())
            .collect();
        if missing.is_empty() {
            return Ok(0);
        }
        let mut jobs = Vec::with_capacity(missing.len());
        for c in &missing {
            let file = segment::file_name(stem, c.index, n);
            jobs.push(SegmentJob {
                index: c.index,
                stem: file.trim_end_matches(".tflite").to_string(),
                model: write_range(model, c.op_range)?,
            });
        }
        let results = run_jobs(self.compiler, &jobs, self.options, self.progress);
        for ((c, job), r) in missing.iter().zip(jobs).zip(results) {
            match r {
                Ok(compiled) => {
                    super::profiled::merge(profile, c.op_range, &compiled);
                    memo.insert(c.op_range, job.stem, compiled);
                }
                Err(e) => self.exclude(c.op_range, e.to_string(), profile, excluded),
            }
        }
        Ok(missing.len())
    }
}

fn set_latency(profile: &mut Profile, op_range: [usize; 2], ms: f64) {
    match profile.segments.iter_mut().find(|e| e.op_range == op_range) {
        Some(e) => e.latency_ms = Some(ms),
        None => profile.segments.push(ProfileEntry {
            op_range,
            on_chip_bytes: None,
            off_chip_bytes: None,
            latency_ms: Some(ms),
            failed: None,
        }),
    }
}

/// The median of measured over predicted, if anything was measured.
fn median_ratio(measured: &HashMap<[usize; 2], (f64, f64)>) -> Option<f64> {
    let mut ratios: Vec<f64> = measured
        .values()
        .filter(|(_, p)| *p > 0.0)
        .map(|(m, p)| m / p)
        .filter(|r| r.is_finite() && *r > 0.0)
        .collect();
    (!ratios.is_empty()).then(|| timer::median(&mut ratios))
}

/// Per position: the ratio of the shortest measured segment covering it (the earliest-starting
/// of equals), else the median ratio. `None` before any measurement.
fn op_scale_of(measured: &HashMap<[usize; 2], (f64, f64)>, ops: usize) -> Option<Vec<f64>> {
    let median = median_ratio(measured)?;
    let mut ranges: Vec<([usize; 2], f64)> = measured
        .iter()
        .filter(|(_, (m, p))| *p > 0.0 && (m / p).is_finite() && m / p > 0.0)
        .map(|(r, (m, p))| (*r, m / p))
        .collect();
    ranges.sort_by_key(|([s, e], _)| (e - s, *s));
    Some(
        (0..ops)
            .map(|p| {
                ranges
                    .iter()
                    .find(|([s, e], _)| *s <= p && p < *e)
                    .map_or(median, |(_, r)| *r)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_range_is_cut_out_of_the_model() {
        assert_eq!(single_range_cuts([0, 4], 10), (vec![4], 0));
        assert_eq!(single_range_cuts([4, 10], 10), (vec![4], 1));
        assert_eq!(single_range_cuts([3, 6], 10), (vec![3, 6], 1));
        assert_eq!(single_range_cuts([0, 10], 10), (vec![], 0));
    }

    #[test]
    fn the_scale_is_the_median_ratio() {
        let m: HashMap<[usize; 2], (f64, f64)> = [
            ([0, 1], (2.0, 1.0)),
            ([1, 2], (3.0, 1.0)),
            ([2, 3], (40.0, 1.0)),
        ]
        .into_iter()
        .collect();
        assert_eq!(median_ratio(&m), Some(3.0));
        assert_eq!(median_ratio(&HashMap::new()), None);
        // Position 3 is covered by nothing: the median.
        let m: HashMap<[usize; 2], (f64, f64)> = [([0, 3], (2.0, 1.0)), ([1, 2], (6.0, 1.0))]
            .into_iter()
            .collect();
        assert_eq!(op_scale_of(&m, 4), Some(vec![2.0, 6.0, 2.0, 4.0]));
    }
}
