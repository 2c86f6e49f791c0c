//! Running the driver on a batch of segments, in parallel (at most one per core), telling a
//! progress callback when each segment starts and ends.

use super::CompileEvent;
use crate::edgetpu::invoke::{compile_one, option_error, version_warnings};
use crate::edgetpu::{CompileOptions, CompiledSegment, Compiler, DriverError, SegmentJob};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// A progress callback (called from the compile threads).
pub type Progress<'a> = &'a (dyn Fn(&CompileEvent) + Sync);

/// Compiles `jobs` (results in job order; one failure does not stop the others).
pub fn run_jobs(
    compiler: &Compiler,
    jobs: &[SegmentJob],
    options: &CompileOptions,
    progress: Progress<'_>,
) -> Vec<Result<CompiledSegment, DriverError>> {
    if option_error(compiler, options).is_some() {
        return jobs
            .iter()
            .map(|_| Err(option_error(compiler, options).expect("checked just above")))
            .collect();
    }
    let warnings = version_warnings(compiler, options);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = options
        .parallel
        .unwrap_or(cores)
        .max(1)
        .min(jobs.len().max(1));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<CompiledSegment, DriverError>>>> =
        Mutex::new((0..jobs.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(i) else { break };
                progress(&CompileEvent::SegmentStarted {
                    index: job.index,
                    stem: job.stem.clone(),
                });
                let r = compile_one(compiler, job, options, &warnings);
                progress(&CompileEvent::SegmentFinished {
                    index: job.index,
                    stem: job.stem.clone(),
                    error: r.as_ref().err().map(|e| e.to_string()),
                });
                results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .zip(jobs)
        .map(|(r, job)| {
            r.unwrap_or_else(|| {
                Err(DriverError::CompileFailed {
                    segment: job.label(),
                    status: -1,
                    reason: "the compile thread ended without a result".into(),
                })
            })
        })
        .collect()
}

/// The compiled segments, or every failure.
pub fn all_ok(
    results: Vec<Result<CompiledSegment, DriverError>>,
) -> Result<Vec<CompiledSegment>, Vec<DriverError>> {
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(c) => ok.push(c),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(ok)
    } else {
        Err(errors)
    }
}
