//! Turning a failed compiler run into the [`DriverError`] that says why, from its exit status
//! and the messages of facts §4 (crashes, internal errors, not quantized, op versions, dynamic
//! shapes, large activations, the compiler's timeout, invalid models).

use super::error::{DriverError, TimeoutBy};
use super::invoke::{ChildRun, CompileOptions, SegmentJob};

/// The error for a run that exited unsuccessfully, from its status and messages.
pub fn classify_failure(job: &SegmentJob, run: &ChildRun, options: &CompileOptions) -> DriverError {
    let segment = job.label();
    let text = format!("{}\n{}", run.stdout, run.stderr);
    let code = run.status.and_then(|s| s.code());
    if run.signal().is_some() {
        return DriverError::Crashed {
            segment,
            cause: format!("killed by {}", run.describe_status()),
        };
    }
    if text.contains("Segmentation fault") || code == Some(139) {
        return DriverError::Crashed {
            segment,
            cause: "segmentation fault".into(),
        };
    }
    if let Some(line) = text.lines().find(|l| l.contains("libc++abi: terminating")) {
        return DriverError::Crashed {
            segment,
            cause: line.trim().trim_start_matches("libc++abi: ").to_string(),
        };
    }
    if let Some(line) = text
        .lines()
        .find(|l| l.contains("Error opening file for writing"))
    {
        return DriverError::CompileFailed {
            segment,
            status: code.unwrap_or(-1),
            reason: line.trim().to_string(),
        };
    }
    if text.contains("Internal compiler error") {
        return DriverError::InternalError {
            segment,
            attempts: 1,
        };
    }
    if text.contains("Model not quantized") {
        return DriverError::NotQuantized { segment };
    }
    if let Some((op, version)) = op_version(&text) {
        return DriverError::OpVersionTooNew {
            segment,
            op,
            version,
        };
    }
    if text.contains("dynamic-sized tensors") {
        return DriverError::DynamicShapes { segment };
    }
    if text.contains("large activation tensors") {
        return DriverError::LargeActivations { segment };
    }
    if text.contains("Compilation timeout") {
        return DriverError::Timeout {
            segment,
            seconds: u64::from(options.compiler_timeout_sec),
            by: TimeoutBy::Compiler,
        };
    }
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    if let Some(i) = lines.iter().position(|l| l.starts_with("Invalid model:")) {
        let detail = lines
            .get(i + 1)
            .filter(|l| !l.is_empty())
            .map_or_else(|| lines[i].to_string(), |l| l.to_string());
        return DriverError::InvalidModel { segment, detail };
    }
    let reason = lines
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("Compilation failed: "))
        .map(str::to_string)
        .or_else(|| {
            run.stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(|l| l.trim().to_string())
        })
        .unwrap_or_else(|| "no reason given".to_string());
    DriverError::CompileFailed {
        segment,
        status: code.unwrap_or(-1),
        reason,
    }
}

/// `Didn't find op for builtin opcode 'QUANTIZE' version '3'` -> ("QUANTIZE", 3).
fn op_version(text: &str) -> Option<(String, u32)> {
    let rest = &text[text.find("Didn't find op for builtin opcode '")? + 35..];
    let (op, rest) = rest.split_once('\'')?;
    let rest = &rest[rest.find("version '")? + 9..];
    let (version, _) = rest.split_once('\'')?;
    Some((op.to_string(), version.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_op_version_message() {
        let msg = "ERROR: Didn't find op for builtin opcode 'QUANTIZE' version '3'. An older version of this builtin might be supported. Are you using an old TFLite binary with a newer model?";
        assert_eq!(op_version(msg), Some(("QUANTIZE".to_string(), 3)));
        assert_eq!(op_version("Model not quantized"), None);
    }
}
