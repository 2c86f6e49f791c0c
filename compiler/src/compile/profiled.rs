//! Compile-profiled planning: plan, compile the plan's segments, give the planner the
//! compiler's exact on-chip/off-chip bytes (a [`Profile`], read by the `profiled` strategy),
//! re-plan, and repeat until the plan's segments have all been compiled (the plan is stable)
//! or the bound on compiles is reached.
//!
//! Candidate compiles are memoised by [`CandidateKey`] (model hash, op range, compiler version,
//! options), so no range is compiled twice and the final build reuses them.
//!
//! A candidate whose compile fails (the compiler crashes, times out or rejects the range) does
//! not fail the build: the range is recorded as [`ExcludedRange`], marked `failed` in the
//! profile (an infinite cost for the planner) and the planner re-plans around it. Only when
//! every plan needs an excluded range does the build fail
//! ([`CompileError::NoPlanWithoutFailedRanges`]).

use super::run::{run_jobs, Progress};
use super::{CompileError, CompileEvent};
use crate::edgetpu::{CompileOptions, CompiledSegment, Compiler, SegmentJob};
use crate::planner::{Cuts, PlanError};
use crate::segment;
use crate::split::Split;
use crate::Builder;
use std::collections::HashMap;
use std::path::Path;
use tpupipe_runtime::plan::{Profile, ProfileEntry, Strategy};

/// What identifies one candidate compile.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CandidateKey {
    /// The model's SHA-256.
    pub model_sha256: String,
    /// Positions `[start, end)`.
    pub op_range: [usize; 2],
    /// The compiler's version.
    pub compiler_version: String,
    /// The compile options that change the result (canonical JSON).
    pub options: String,
}

/// The memo of candidate compiles.
#[derive(Debug)]
pub struct Candidates {
    model_sha256: String,
    compiler_version: String,
    options: String,
    done: HashMap<CandidateKey, CompiledSegment>,
    stems: HashMap<CandidateKey, String>,
    compiles: usize,
}

impl Candidates {
    /// An empty memo for one model, compiler and option set.
    pub fn new(model_sha256: &str, compiler_version: &str, options: &str) -> Candidates {
        Candidates {
            model_sha256: model_sha256.to_string(),
            compiler_version: compiler_version.to_string(),
            options: options.to_string(),
            done: HashMap::new(),
            stems: HashMap::new(),
            compiles: 0,
        }
    }

    fn key(&self, op_range: [usize; 2]) -> CandidateKey {
        CandidateKey {
            model_sha256: self.model_sha256.clone(),
            op_range,
            compiler_version: self.compiler_version.clone(),
            options: self.options.clone(),
        }
    }

    /// The compile of `op_range`, if done.
    pub fn get(&self, op_range: [usize; 2]) -> Option<&CompiledSegment> {
        self.done.get(&self.key(op_range))
    }

    /// The compile of `op_range` as segment file stem `stem` (the compiler names its output and
    /// log after the stem, so only a compile under the same stem can be reused as is).
    pub fn reusable(&self, op_range: [usize; 2], stem: &str) -> Option<&CompiledSegment> {
        let key = self.key(op_range);
        (self.stems.get(&key).map(String::as_str) == Some(stem))
            .then(|| self.done.get(&key))
            .flatten()
    }

    pub(crate) fn insert(&mut self, op_range: [usize; 2], stem: String, c: CompiledSegment) {
        let key = self.key(op_range);
        self.stems.insert(key.clone(), stem);
        self.done.insert(key, c);
        self.compiles += 1;
    }

    /// Compiler runs so far.
    pub fn compiles(&self) -> usize {
        self.compiles
    }
}

/// One round of compile-profiled planning.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlanRound {
    /// The strategy that chose this round's plan.
    pub strategy: Strategy,
    /// Its cuts.
    pub cuts: Vec<usize>,
    /// Segments of it compiled in this round (the others were compiled before).
    pub compiled: usize,
    /// Its segments that stream parameters from the host, by the compiler's figures (as far
    /// as they were compiled).
    pub streaming_segments: Vec<usize>,
}

/// A candidate range the planner may not use, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExcludedRange {
    /// Positions `[start, end)`.
    pub op_range: [usize; 2],
    /// What went wrong (the compiler's error, or the measurement's).
    pub reason: String,
}

impl std::fmt::Display for ExcludedRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [s, e] = self.op_range;
        write!(f, "ops [{s}, {e}): {}", self.reason)
    }
}

/// Marks `range` unusable in `profile` (keeping any figures it has).
pub(crate) fn mark_failed(profile: &mut Profile, op_range: [usize; 2], reason: &str) {
    match profile.segments.iter_mut().find(|e| e.op_range == op_range) {
        Some(e) => e.failed = Some(reason.to_string()),
        None => profile.segments.push(ProfileEntry {
            op_range,
            on_chip_bytes: None,
            off_chip_bytes: None,
            latency_ms: None,
            failed: Some(reason.to_string()),
        }),
    }
}

/// The error when the plan chosen uses an excluded range (so every plan does).
/// True when planning found no layout at all (as when every one costs infinity).
fn no_layout(e: &crate::Error) -> bool {
    use crate::planner::context::PlanningError;
    matches!(
        e,
        crate::Error::Plan(PlanError::NoTpuLayout { .. })
            | crate::Error::Planning(PlanningError::Plan(PlanError::NoTpuLayout { .. }))
    )
}

pub(crate) fn check_excluded(
    ranges: &[[usize; 2]],
    excluded: &[ExcludedRange],
) -> Result<(), CompileError> {
    if ranges
        .iter()
        .any(|r| excluded.iter().any(|x| x.op_range == *r))
    {
        return Err(CompileError::NoPlanWithoutFailedRanges {
            excluded: excluded.to_vec(),
        });
    }
    Ok(())
}

/// How compile-profiled planning went.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProfiledPlanning {
    /// The plans in order; the last is the one built.
    pub rounds: Vec<PlanRound>,
    /// Candidate compiles run.
    pub candidate_compiles: usize,
    /// The bound on them.
    pub limit: usize,
    /// True when the last plan's segments had all been compiled already (the plan is stable);
    /// false when the bound stopped the search.
    pub stable: bool,
    /// Candidate ranges whose compile failed, excluded from the search.
    #[serde(default)]
    pub excluded: Vec<ExcludedRange>,
    /// How measured planning went (`--measure`), when it ran.
    #[serde(default)]
    pub measured: Option<super::measure::MeasuredPlanning>,
}

impl ProfiledPlanning {
    /// The first plan's cuts and the last one's, when planning changed them.
    pub fn change(&self) -> Option<(&[usize], &[usize])> {
        let first = &self.rounds.first()?.cuts;
        let last = &self.rounds.last()?.cuts;
        (first != last).then_some((first.as_slice(), last.as_slice()))
    }
}

pub(crate) fn merge(profile: &mut Profile, op_range: [usize; 2], c: &CompiledSegment) {
    let on = Some(c.report.on_chip.bytes());
    let off = Some(c.report.off_chip.bytes());
    match profile.segments.iter_mut().find(|e| e.op_range == op_range) {
        Some(e) => {
            e.on_chip_bytes = on;
            e.off_chip_bytes = off;
        }
        None => profile.segments.push(ProfileEntry {
            op_range,
            on_chip_bytes: on,
            off_chip_bytes: off,
            latency_ms: None,
            failed: None,
        }),
    }
}

/// Plans with compiles until stable. Writes the profile to `profile_path` and returns the
/// builder that plans the final layout (strategy `profiled` over that profile) with the record.
pub fn plan_with_compiles(
    builder: &Builder,
    compiler: &Compiler,
    options: &CompileOptions,
    progress: Progress<'_>,
    profile_path: &Path,
    memo: &mut Candidates,
) -> Result<(Builder, ProfiledPlanning), CompileError> {
    let limit = builder.compile_settings().max_candidate_compiles;
    let (_, user_profile, _) = builder.compile_inputs();
    let mut model = builder.load()?;
    let mut profile = match user_profile {
        Some(p) => Profile::read(p).map_err(crate::Error::from)?,
        None => Profile::for_model(model.sha256()),
    };
    let stem = model.file().stem();
    let mut current = builder.clone();
    let mut rounds = Vec::new();
    let mut excluded = Vec::new();
    let stable = loop {
        let report = match current.plan_loaded(&model) {
            // Every layout left uses a range whose compile failed (infinite cost).
            Err(e) if !excluded.is_empty() && no_layout(&e) => {
                return Err(CompileError::NoPlanWithoutFailedRanges {
                    excluded: excluded.clone(),
                })
            }
            r => r?,
        };
        let n = report.segments.len();
        let ranges: Vec<[usize; 2]> = report.segments.iter().map(|s| s.op_range).collect();
        check_excluded(&ranges, &excluded)?;
        let missing: Vec<usize> = (0..n).filter(|&i| memo.get(ranges[i]).is_none()).collect();
        let mut round = PlanRound {
            strategy: report.strategy,
            cuts: report.cuts.clone(),
            compiled: 0,
            streaming_segments: Vec::new(),
        };
        let streaming = |memo: &Candidates| -> Vec<usize> {
            (0..n)
                .filter(|&i| {
                    memo.get(ranges[i])
                        .is_some_and(|c| c.report.off_chip.bytes() > 0)
                })
                .collect()
        };
        if missing.is_empty() {
            round.streaming_segments = streaming(memo);
            rounds.push(round);
            break true;
        }
        // Failed compiles count against the bound too.
        if memo.compiles() + excluded.len() + missing.len() > limit {
            round.streaming_segments = streaming(memo);
            rounds.push(round);
            break false;
        }
        let split = Split::new(
            model.file().view()?,
            model.graph(),
            Cuts::new(report.cuts.clone(), model.op_count()).map_err(crate::Error::from)?,
            model.name(),
        )?;
        let mut jobs = Vec::with_capacity(missing.len());
        for &i in &missing {
            let file = segment::file_name(&stem, i, n);
            jobs.push(SegmentJob {
                index: i,
                stem: file.trim_end_matches(".tflite").to_string(),
                model: split
                    .write_segment(i)
                    .map_err(crate::Error::from)?
                    .into_vec(),
            });
        }
        progress(&CompileEvent::PlanningRound {
            round: rounds.len(),
            candidates: jobs.len(),
        });
        let results = run_jobs(compiler, &jobs, options, progress);
        for (job, r) in jobs.into_iter().zip(results) {
            let range = ranges[job.index];
            match r {
                Ok(c) => {
                    merge(&mut profile, range, &c);
                    memo.insert(range, job.stem, c);
                }
                Err(e) => {
                    let x = ExcludedRange {
                        op_range: range,
                        reason: e.to_string(),
                    };
                    progress(&CompileEvent::CandidateExcluded {
                        op_range: range,
                        reason: x.reason.clone(),
                    });
                    mark_failed(&mut profile, range, &x.reason);
                    excluded.push(x);
                }
            }
        }
        round.compiled = missing.len();
        round.streaming_segments = streaming(memo);
        rounds.push(round);
        std::fs::write(profile_path, profile.to_json()).map_err(|source| crate::Error::Write {
            path: profile_path.to_path_buf(),
            source,
        })?;
        model = model.with_profile(profile_path)?;
        current = builder
            .clone()
            .strategy(Strategy::Profiled)
            .profile(profile_path);
    };
    Ok((
        current,
        ProfiledPlanning {
            rounds,
            candidate_compiles: memo.compiles(),
            limit,
            stable,
            excluded,
            measured: None,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planner::balanced::balanced_cuts;
    use crate::planner::strategy::{cmp_ms, SegmentCostFn};
    use std::cmp::Ordering;
    use std::ops::Range;

    /// One ms per position, except the ranges listed, which failed (infinite).
    struct Costs(Vec<[usize; 2]>);

    impl SegmentCostFn for Costs {
        fn len(&self) -> usize {
            8
        }
        fn stage_ms(&self, r: Range<usize>) -> f64 {
            if self.0.contains(&[r.start, r.end]) {
                f64::INFINITY
            } else {
                r.len() as f64
            }
        }
        fn cut_bytes(&self, _: usize) -> u64 {
            0
        }
    }

    #[test]
    fn infinite_costs_are_never_within_a_finite_bound() {
        assert_eq!(cmp_ms(f64::INFINITY, 5.0), Ordering::Greater);
        assert_eq!(cmp_ms(5.0, f64::INFINITY), Ordering::Less);
        assert_eq!(cmp_ms(f64::INFINITY, f64::INFINITY), Ordering::Equal);
    }

    #[test]
    fn the_planner_plans_around_failed_ranges() {
        assert_eq!(balanced_cuts(&Costs(vec![]), 2, false).unwrap(), vec![4]);
        // [0, 4) failed: the best plan without it.
        let cuts = balanced_cuts(&Costs(vec![[0, 4]]), 2, false).unwrap();
        assert!(cuts == vec![3] || cuts == vec![5], "{cuts:?}");
        // Every plan needs a failed range: the plan found uses one, which the caller reports.
        let all: Vec<[usize; 2]> = (1..8).map(|c| [0, c]).collect();
        // The planner finds no finite layout; the caller reports the failed ranges either way
        // (here through check_excluded, in planning through `no_layout`).
        let cuts = balanced_cuts(&Costs(all.clone()), 2, false).unwrap_or(vec![4]);
        let ranges = [[0, cuts[0]], [cuts[0], 8]];
        let excluded: Vec<ExcludedRange> = all
            .iter()
            .map(|&op_range| ExcludedRange {
                op_range,
                reason: "crashed".into(),
            })
            .collect();
        let e = check_excluded(&ranges, &excluded).unwrap_err().to_string();
        assert!(
            e.starts_with("every plan needs a segment that failed: ops [0, 1): crashed"),
            "{e}"
        );
        assert!(check_excluded(&[[0, 4], [4, 8]], &excluded[..2]).is_ok());
    }

    #[test]
    fn failed_ranges_are_marked_in_the_profile() {
        let mut p = Profile::for_model("ab");
        mark_failed(&mut p, [0, 3], "crashed");
        assert_eq!(p.segments[0].failed.as_deref(), Some("crashed"));
        let index = p.validate(Path::new("p"), "m", "ab", 5).unwrap();
        assert!(index.get(0, 3).unwrap().failed.is_some());
    }
}
