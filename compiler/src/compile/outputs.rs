//! The files of a compiled build: names, writing the compiled segments into a directory,
//! annotating the plan, reading the reports back from a cached build, and the build's
//! warnings.

use crate::edgetpu::report::build_report;
use crate::edgetpu::verify::verify_output;
use crate::edgetpu::{CompileReport, CompiledSegment, DriverError, SegmentJob};
use std::path::Path;
use tpupipe_runtime::plan::{Device, Plan, Segment};
use tpupipe_runtime::ByteCount;

/// The plan's Edge TPU segments, in order: the ones `edgetpu_compiler` compiles (CPU stages
/// stay as their `.tflite`, run by the interpreter).
pub fn tpu_segments(plan: &Plan) -> impl Iterator<Item = &Segment> {
    plan.segments
        .iter()
        .filter(|s| s.device() == Device::EdgeTpu)
}

/// `net_segment_0_of_2` for `net_segment_0_of_2.tflite`.
pub fn segment_stem(file: &str) -> &str {
    file.strip_suffix(".tflite").unwrap_or(file)
}

/// The compiled segment's file name.
pub fn edgetpu_name(segment_file: &str) -> String {
    format!("{}_edgetpu.tflite", segment_stem(segment_file))
}

/// The operation log's file name.
pub fn log_name(segment_file: &str) -> String {
    format!("{}_edgetpu.log", segment_stem(segment_file))
}

/// The file holding the compiler's stdout.
pub fn stdout_name(segment_file: &str) -> String {
    format!("{}_edgetpu.stdout.txt", segment_stem(segment_file))
}

/// The plan file's name.
pub fn plan_name(stem: &str) -> String {
    format!("{stem}_plan.json")
}

/// The file recording compile-profiled planning.
pub fn planning_name(stem: &str) -> String {
    format!("{stem}_planning.json")
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), crate::Error> {
    std::fs::write(path, bytes).map_err(|source| crate::Error::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// `text` with the per-compile temporary directories under `work_root` left out of every path
/// (`/abs/work/tpupipe-edgetpu-x1Y2z3/out/m_edgetpu.tflite` becomes `out/m_edgetpu.tflite`),
/// so that cached logs hold no absolute paths and do not change from build to build.
pub fn strip_work_dirs(text: &str, work_root: &Path) -> String {
    let root = format!("{}/", work_root.display());
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&root) {
        out.push_str(&rest[..at]);
        let after = &rest[at + root.len()..];
        // Skip the compile's own directory name and its slash.
        rest = match after.find('/') {
            Some(slash) if !after[..slash].contains(char::is_whitespace) => &after[slash + 1..],
            _ => after,
        };
    }
    out.push_str(rest);
    out
}

/// Writes each compiled segment, its log and stdout (paths under `work_root` stripped) into
/// `dir`, records the files and the compiler's bytes in `plan` and rewrites the plan file.
/// `compiled` holds one entry per Edge TPU segment ([`tpu_segments`]).
pub fn write_compiled(
    dir: &Path,
    plan: &mut Plan,
    plan_file: &str,
    compiled: &[CompiledSegment],
    work_root: &Path,
) -> Result<(), crate::Error> {
    let tpu = plan
        .segments
        .iter_mut()
        .filter(|s| s.device() == Device::EdgeTpu);
    for (seg, c) in tpu.zip(compiled) {
        let name = edgetpu_name(&seg.file);
        write(&dir.join(&name), &c.edgetpu_model)?;
        let log = strip_work_dirs(&c.log, work_root);
        write(&dir.join(log_name(&seg.file)), log.as_bytes())?;
        let stdout = strip_work_dirs(&c.stdout, work_root);
        write(&dir.join(stdout_name(&seg.file)), stdout.as_bytes())?;
        seg.edgetpu_file = Some(name);
        seg.on_chip_bytes = Some(c.report.on_chip.bytes());
        seg.off_chip_bytes = Some(c.report.off_chip.bytes());
    }
    write(&dir.join(plan_file), plan.to_json().as_bytes())
}

/// Re-reads the reports of a build in `dir` from the stdout and log files, checking each
/// compiled segment against its segment as a fresh compile does (one per Edge TPU segment).
pub fn read_reports(dir: &Path, plan: &Plan) -> Result<Vec<CompileReport>, DriverError> {
    tpu_segments(plan)
        .map(|seg| {
            let stem = segment_stem(&seg.file).to_string();
            let io = |what: &str, source| DriverError::Io {
                segment: format!("segment {} ({stem})", seg.index),
                what: what.to_string(),
                source,
            };
            let job = SegmentJob {
                index: seg.index,
                stem: stem.clone(),
                model: std::fs::read(dir.join(&seg.file)).map_err(|e| io("read the segment", e))?,
            };
            let edgetpu = std::fs::read(dir.join(edgetpu_name(&seg.file)))
                .map_err(|e| io("read the compiled segment", e))?;
            let text = |name: String| {
                std::fs::read_to_string(dir.join(&name))
                    .map_err(|e| io("read the compiler's output", e))
            };
            let stdout = text(stdout_name(&seg.file))?;
            let log = text(log_name(&seg.file))?;
            let mut report = build_report(&job, &stdout, &log)?;
            let cpu = verify_output(&job, &edgetpu, &report)?;
            report.add_warnings(&job, &cpu);
            Ok(report)
        })
        .collect()
}

/// The build's warnings: the reports' (less their streaming lines) and, for each segment that
/// streams, how many TPUs would keep the model on chip. `reports` holds one entry per Edge TPU
/// segment ([`tpu_segments`]).
pub fn build_warnings(plan: &Plan, reports: &[CompileReport]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let total: u64 = reports
        .iter()
        .map(|r| r.on_chip.bytes() + r.off_chip.bytes())
        .sum();
    // The parameter cache of one TPU, as the compiler reports it.
    let capacity = reports
        .iter()
        .filter_map(|r| {
            r.available.or(r
                .remaining
                .map(|rem| ByteCount(rem.bytes() + r.on_chip.bytes())))
        })
        .map(|b| b.bytes())
        .max()
        .filter(|&c| c > 0);
    let tpus = plan.tpus_used.unwrap_or(plan.tpus);
    for (seg, r) in tpu_segments(plan).zip(reports) {
        let i = seg.index;
        let prefix = format!("segment {i} streams ");
        out.extend(
            r.warnings
                .iter()
                .filter(|w| !w.starts_with(&prefix))
                .cloned(),
        );
        if r.off_chip.bytes() == 0 {
            continue;
        }
        let what = format!(
            "segment {i} streams {:.2} MiB from the host",
            r.off_chip.mib()
        );
        out.push(match capacity.map(|c| total.div_ceil(c) as usize) {
            Some(need) if need > tpus => format!("{what}; {need} TPUs would keep it on chip"),
            Some(_) => format!(
                "{what}; the {tpus} TPUs can hold the model's parameters together: plan with the compiler's figures (compile_profiled, `tpupipe compile --profile-compiles`) so that none streams"
            ),
            None => format!("{what}; more TPUs would keep it on chip"),
        });
    }
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_dirs_are_stripped() {
        let root = Path::new("/c/.tpupipe/tmp-work-1");
        let text = "Input: /c/.tpupipe/tmp-work-1/tpupipe-edgetpu-aB3/m.tflite\nOutput: /c/.tpupipe/tmp-work-1/tpupipe-edgetpu-aB3/out/m_edgetpu.tflite\nOther /c/x\n";
        assert_eq!(
            strip_work_dirs(text, root),
            "Input: m.tflite\nOutput: out/m_edgetpu.tflite\nOther /c/x\n"
        );
    }
}
