//! Running the driver on a batch of segments, in parallel (at most one per core), telling a
//! progress callback when each segment starts and ends.

use super::CompileEvent;
use crate::edgetpu::invoke::JobEvent;
use crate::edgetpu::{CompileOptions, CompiledSegment, Compiler, DriverError, SegmentJob};

/// A progress callback (called from the compile threads).
pub type Progress<'a> = &'a (dyn Fn(&CompileEvent) + Sync);

/// Compiles `jobs` (results in job order; one failure does not stop the others), telling
/// `progress` when each segment starts and ends.
pub fn run_jobs(
    compiler: &Compiler,
    jobs: &[SegmentJob],
    options: &CompileOptions,
    progress: Progress<'_>,
) -> Vec<Result<CompiledSegment, DriverError>> {
    compiler.compile_segments_observed(jobs, options, &|job, event| {
        progress(&match event {
            JobEvent::Started => CompileEvent::SegmentStarted {
                index: job.index,
                stem: job.stem.clone(),
            },
            JobEvent::Finished(r) => CompileEvent::SegmentFinished {
                index: job.index,
                stem: job.stem.clone(),
                error: r.as_ref().err().map(|e| e.to_string()),
            },
        })
    })
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
