//! Reading what the compiler prints: its stdout (summary blocks, sizes in `B` / `KiB` / `MiB`,
//! v2.0's "available" line, several blocks for co-compiled or segmented models), the operation
//! log `<stem>_edgetpu.log`; and the typed [`CompileReport`] with its warnings.

use super::discovery::CompilerVersion;
use super::error::{CpuOp, DriverError};
use super::invoke::SegmentJob;
use crate::placement::OpStatus as Status;
use std::fmt;
use thiserror::Error;
use tpupipe_runtime::ByteCount;

/// Why an operator is or is not on the Edge TPU (the status column of the operation table).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OpStatus {
    /// "Mapped to Edge TPU".
    Mapped,
    /// "More than one subgraph is not supported".
    MoreThanOneSubgraph,
    /// "Operation is otherwise supported, but not mapped due to some unspecified limitation".
    UnspecifiedLimitation,
    /// "Operation is working on an unsupported data type".
    UnsupportedDataType,
    /// "Operation not supported".
    NotSupported,
    /// "Operation version not supported".
    VersionNotSupported,
    /// "Tensor has unsupported rank (up to 3 innermost dimensions mapped)".
    UnsupportedRank,
    /// Any other text.
    Other(String),
}

impl OpStatus {
    /// Reads a status string.
    pub fn from_text(s: &str) -> OpStatus {
        let s = s.trim();
        Status::ALL
            .iter()
            .find(|p| p.text() == s)
            .map(|&p| OpStatus::from(p))
            .unwrap_or_else(|| OpStatus::Other(s.to_string()))
    }

    /// The placement status this names; `None` for a text the compiler is not known to print.
    pub fn placement(&self) -> Option<Status> {
        Some(match self {
            OpStatus::Mapped => Status::Mapped,
            OpStatus::MoreThanOneSubgraph => Status::MoreThanOneSubgraph,
            OpStatus::UnspecifiedLimitation => Status::UnspecifiedLimitation,
            OpStatus::UnsupportedDataType => Status::UnsupportedDataType,
            OpStatus::NotSupported => Status::NotSupported,
            OpStatus::VersionNotSupported => Status::VersionNotSupported,
            OpStatus::UnsupportedRank => Status::UnsupportedRank,
            OpStatus::Other(_) => return None,
        })
    }

    /// The compiler's text (the placement model's words, [`Status::text`]).
    pub fn text(&self) -> &str {
        match (self, self.placement()) {
            (OpStatus::Other(s), _) => s,
            (_, Some(p)) => p.text(),
            (_, None) => "",
        }
    }

    /// True for [`OpStatus::Mapped`].
    pub fn is_mapped(&self) -> bool {
        *self == OpStatus::Mapped
    }
}

impl From<Status> for OpStatus {
    fn from(p: Status) -> OpStatus {
        match p {
            Status::Mapped => OpStatus::Mapped,
            Status::MoreThanOneSubgraph => OpStatus::MoreThanOneSubgraph,
            Status::UnspecifiedLimitation => OpStatus::UnspecifiedLimitation,
            Status::UnsupportedDataType => OpStatus::UnsupportedDataType,
            Status::NotSupported => OpStatus::NotSupported,
            Status::VersionNotSupported => OpStatus::VersionNotSupported,
            Status::UnsupportedRank => OpStatus::UnsupportedRank,
        }
    }
}

impl fmt::Display for OpStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

/// One row of the operation table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationRow {
    /// `CONV_2D`, `CUSTOM`, ...
    pub operator: String,
    /// How many operators of this kind have this status.
    pub count: u32,
    /// The status.
    pub status: OpStatus,
}

/// A line the parsers could not use.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ReportError {
    /// A required line is absent.
    #[error("no '{0}' line")]
    Missing(&'static str),
    /// A line's value does not parse.
    #[error("line {line:?}: {what}")]
    BadLine {
        /// The line.
        line: String,
        /// What is wrong.
        what: &'static str,
    },
}

/// Parses a size as the compiler prints it (`0.00B`, `604.50KiB`, `4.41MiB`; also accepts a
/// space before the unit). The value is rounded to whole bytes.
pub fn parse_size(s: &str) -> Option<ByteCount> {
    let s = s.trim();
    let (number, unit) = if let Some(n) = s.strip_suffix("MiB") {
        (n, 1024.0 * 1024.0)
    } else if let Some(n) = s.strip_suffix("KiB") {
        (n, 1024.0)
    } else if let Some(n) = s.strip_suffix('B') {
        (n, 1.0)
    } else {
        return None;
    };
    let v: f64 = number.trim().parse().ok()?;
    (v.is_finite() && v >= 0.0).then(|| ByteCount((v * unit).round() as u64))
}

/// Formats a size as the compiler does (two decimals, `B` / `KiB` / `MiB`).
pub fn format_size(b: ByteCount) -> String {
    let v = b.bytes() as f64;
    if b.bytes() < 1024 {
        format!("{v:.2}B")
    } else if b.bytes() < 1024 * 1024 {
        format!("{:.2}KiB", v / 1024.0)
    } else {
        format!("{:.2}MiB", v / (1024.0 * 1024.0))
    }
}

/// The summary block of one model in stdout.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StdoutBlock {
    /// `Input model:`.
    pub input_model: String,
    /// `Input size:`.
    pub input_size: Option<ByteCount>,
    /// `Output model:`.
    pub output_model: Option<String>,
    /// `Output size:`.
    pub output_size: Option<ByteCount>,
    /// v2.0's `On-chip memory available for caching model parameters:`.
    pub available: Option<ByteCount>,
    /// `On-chip memory used for caching model parameters:`.
    pub on_chip: Option<ByteCount>,
    /// `On-chip memory remaining for caching model parameters:` (not in v2.0).
    pub remaining: Option<ByteCount>,
    /// `Off-chip memory used for streaming uncached model parameters:`.
    pub off_chip: Option<ByteCount>,
    /// `Number of Edge TPU subgraphs:`.
    pub subgraphs: Option<u32>,
    /// `Total number of operations:`.
    pub total_ops: Option<u32>,
    /// `Operation log:`.
    pub operation_log: Option<String>,
    /// `Number of operations that will run on Edge TPU:` (only when some stay on the CPU).
    pub tpu_ops: Option<u32>,
    /// `Number of operations that will run on CPU:`.
    pub cpu_ops: Option<u32>,
    /// The table printed with `-s`.
    pub operations: Vec<OperationRow>,
}

/// Everything read from one run's stdout.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedStdout {
    /// From the first line.
    pub version: Option<CompilerVersion>,
    /// From the last `Model(s) compiled successfully in N ms.` line.
    pub compile_ms: Option<u64>,
    /// One per compiled model, in order.
    pub blocks: Vec<StdoutBlock>,
    /// True when a `Compilation succeeded!` line was printed (16.0 on).
    pub succeeded: bool,
}

/// Parses one table row: operator, count, status (split on whitespace, so rows whose padding
/// was damaged still read).
fn parse_row(line: &str) -> Option<OperationRow> {
    let line = line.trim();
    let (operator, rest) = line.split_once(char::is_whitespace)?;
    let rest = rest.trim_start();
    let (count, status) = rest.split_once(char::is_whitespace)?;
    let count = count.parse().ok()?;
    let status = status.trim();
    (!status.is_empty()).then(|| OperationRow {
        operator: operator.to_string(),
        count,
        status: OpStatus::from_text(status),
    })
}

fn is_table_header(line: &str) -> bool {
    let t: Vec<&str> = line.split_whitespace().collect();
    t == ["Operator", "Count", "Status"]
}

/// Reads the rows after a table header: blank lines right after the header are skipped; the
/// table ends at the first line that is not a row.
fn read_table<'a>(
    lines: &mut std::iter::Peekable<impl Iterator<Item = &'a str>>,
) -> Vec<OperationRow> {
    let mut rows = Vec::new();
    while lines.peek().is_some_and(|l| l.trim().is_empty()) {
        lines.next();
    }
    while let Some(row) = lines.peek().and_then(|l| parse_row(l)) {
        rows.push(row);
        lines.next();
    }
    rows
}

fn number(line: &str, value: &str) -> Result<u32, ReportError> {
    value.trim().parse().map_err(|_| ReportError::BadLine {
        line: line.to_string(),
        what: "not a number",
    })
}

fn size(line: &str, value: &str) -> Result<ByteCount, ReportError> {
    parse_size(value).ok_or_else(|| ReportError::BadLine {
        line: line.to_string(),
        what: "not a size in B, KiB or MiB",
    })
}

/// Parses a run's stdout.
pub fn parse_stdout(text: &str) -> Result<ParsedStdout, ReportError> {
    let mut parsed = ParsedStdout::default();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let l = line.trim_end();
        if let Some(v) = l.strip_prefix("Edge TPU Compiler version ") {
            parsed.version = parsed.version.or(CompilerVersion::parse(v));
            continue;
        }
        if l.starts_with("Compilation succeeded") {
            parsed.succeeded = true;
            continue;
        }
        for prefix in [
            "Model compiled successfully in ",
            "Models compiled successfully in ",
        ] {
            if let Some(rest) = l.strip_prefix(prefix) {
                let ms = rest.trim_end_matches('.').trim_end_matches("ms").trim();
                parsed.compile_ms = Some(u64::from(number(l, ms)?));
            }
        }
        if let Some(v) = l.strip_prefix("Input model: ") {
            parsed.blocks.push(StdoutBlock {
                input_model: v.to_string(),
                ..StdoutBlock::default()
            });
            continue;
        }
        let Some(block) = parsed.blocks.last_mut() else {
            continue;
        };
        if is_table_header(l) {
            block.operations = read_table(&mut lines);
            continue;
        }
        let Some((key, value)) = l.split_once(": ") else {
            continue;
        };
        match key {
            "Input size" => block.input_size = Some(size(l, value)?),
            "Output model" => block.output_model = Some(value.to_string()),
            "Output size" => block.output_size = Some(size(l, value)?),
            "On-chip memory available for caching model parameters" => {
                block.available = Some(size(l, value)?)
            }
            "On-chip memory used for caching model parameters" => {
                block.on_chip = Some(size(l, value)?)
            }
            "On-chip memory remaining for caching model parameters" => {
                block.remaining = Some(size(l, value)?)
            }
            "Off-chip memory used for streaming uncached model parameters" => {
                block.off_chip = Some(size(l, value)?)
            }
            "Number of Edge TPU subgraphs" => block.subgraphs = Some(number(l, value)?),
            "Total number of operations" => block.total_ops = Some(number(l, value)?),
            "Operation log" => block.operation_log = Some(value.to_string()),
            "Number of operations that will run on Edge TPU" => {
                block.tpu_ops = Some(number(l, value)?)
            }
            "Number of operations that will run on CPU" => block.cpu_ops = Some(number(l, value)?),
            _ => {}
        }
    }
    Ok(parsed)
}

/// The operation log file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperationLog {
    /// From `Edge TPU Compiler version`.
    pub version: Option<CompilerVersion>,
    /// `Input:`.
    pub input: Option<String>,
    /// `Output:`.
    pub output: Option<String>,
    /// The table.
    pub rows: Vec<OperationRow>,
}

/// Parses `<stem>_edgetpu.log`.
pub fn parse_log(text: &str) -> Result<OperationLog, ReportError> {
    let mut log = OperationLog::default();
    let mut lines = text.lines().peekable();
    let mut header = false;
    while let Some(line) = lines.next() {
        let l = line.trim_end();
        if let Some(v) = l.strip_prefix("Edge TPU Compiler version ") {
            log.version = CompilerVersion::parse(v);
        } else if let Some(v) = l.strip_prefix("Input: ") {
            log.input = Some(v.to_string());
        } else if let Some(v) = l.strip_prefix("Output: ") {
            log.output = Some(v.to_string());
        } else if is_table_header(l) {
            header = true;
            log.rows.extend(read_table(&mut lines));
        }
    }
    if !header {
        return Err(ReportError::Missing("Operator Count Status"));
    }
    Ok(log)
}

/// The typed report of one compiled segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileReport {
    /// The compiler's version, from its first line.
    pub compiler_version: Option<CompilerVersion>,
    /// The compile time the compiler printed.
    pub compile_ms: Option<u64>,
    /// Parameter bytes cached on chip.
    pub on_chip: ByteCount,
    /// Cache left (absent in v2.0 output).
    pub remaining: Option<ByteCount>,
    /// The whole cache (only v2.0 prints it).
    pub available: Option<ByteCount>,
    /// Parameter bytes streamed from the host on every inference.
    pub off_chip: ByteCount,
    /// Number of Edge TPU custom ops.
    pub edgetpu_subgraphs: u32,
    /// Operators in the segment.
    pub total_ops: u32,
    /// Operators on the Edge TPU.
    pub ops_on_tpu: u32,
    /// Operators on the CPU.
    pub ops_on_cpu: u32,
    /// Per operator and status (from the log, else from the `-s` table).
    pub operations: Vec<OperationRow>,
    /// Things the user should know (streaming, several subgraphs, CPU operators, compiler
    /// limitations).
    pub warnings: Vec<String>,
}

/// Builds the report of a successful run from its stdout and operation log.
pub fn build_report(
    job: &SegmentJob,
    stdout: &str,
    log: &str,
) -> Result<CompileReport, DriverError> {
    let bad = |detail: String| DriverError::Report {
        segment: job.label(),
        detail,
    };
    let parsed = parse_stdout(stdout).map_err(|e| bad(e.to_string()))?;
    let output_name = format!("{}_edgetpu.tflite", job.stem);
    let block = parsed
        .blocks
        .iter()
        .rev()
        .find(|b| {
            b.output_model
                .as_deref()
                .is_some_and(|o| o.ends_with(&output_name))
        })
        .or(parsed.blocks.last())
        .ok_or_else(|| bad("stdout has no 'Input model:' summary".into()))?;
    let need = |v: Option<ByteCount>, what: &str| {
        v.ok_or_else(|| bad(format!("the summary has no '{what}' line")))
    };
    let on_chip = need(block.on_chip, "On-chip memory used")?;
    let off_chip = need(block.off_chip, "Off-chip memory used")?;
    let total_ops = block
        .total_ops
        .ok_or_else(|| bad("the summary has no 'Total number of operations' line".into()))?;
    let edgetpu_subgraphs = block
        .subgraphs
        .ok_or_else(|| bad("the summary has no 'Number of Edge TPU subgraphs' line".into()))?;
    let operations = if log.trim().is_empty() {
        block.operations.clone()
    } else {
        parse_log(log)
            .map_err(|e| bad(format!("operation log: {e}")))?
            .rows
    };
    let counted_tpu: u32 = operations
        .iter()
        .filter(|r| r.status.is_mapped())
        .map(|r| r.count)
        .sum();
    let ops_on_tpu = block.tpu_ops.unwrap_or(if operations.is_empty() {
        total_ops
    } else {
        counted_tpu
    });
    let ops_on_cpu = block
        .cpu_ops
        .unwrap_or(total_ops.saturating_sub(ops_on_tpu));
    Ok(CompileReport {
        compiler_version: parsed.version,
        compile_ms: parsed.compile_ms,
        on_chip,
        remaining: block.remaining,
        available: block.available,
        off_chip,
        edgetpu_subgraphs,
        total_ops,
        ops_on_tpu,
        ops_on_cpu,
        operations,
        warnings: Vec::new(),
    })
}

fn mib(b: ByteCount) -> String {
    format!("{:.2} MiB", b.mib())
}

impl CompileReport {
    /// Adds the warnings for segment `job` (streaming, several subgraphs, CPU operators, with
    /// the CPU operators found in the compiled model).
    pub fn add_warnings(&mut self, job: &SegmentJob, cpu_ops: &[CpuOp]) {
        let who = format!("segment {}", job.index);
        if self.off_chip.bytes() > 0 {
            self.warnings.push(format!(
                "{who} streams {} from the host on every inference ({} cached on chip); its parameters do not fit the Edge TPU's cache: cut the model into more segments",
                mib(self.off_chip),
                mib(self.on_chip)
            ));
        }
        if self.edgetpu_subgraphs > 1 {
            self.warnings.push(format!(
                "{who} has {} Edge TPU subgraphs; data goes back and forth between the CPU and the Edge TPU inside it",
                self.edgetpu_subgraphs
            ));
        }
        if self.ops_on_cpu > 0 {
            let mut what: Vec<String> = self
                .operations
                .iter()
                .filter(|r| !r.status.is_mapped())
                .map(|r| format!("{} x{} ({})", r.operator, r.count, r.status))
                .collect();
            if what.is_empty() {
                what = cpu_ops.iter().map(|o| o.to_string()).collect();
            }
            self.warnings.push(format!(
                "{who} leaves {} operation(s) on the CPU, which is slower: {}",
                self.ops_on_cpu,
                what.join(", ")
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Verbatim pastes from ../shared/docs/edgetpu-compiler-facts.md.
    const V16_ALL_MAPPED: &str = "Edge TPU Compiler version 16.0.384591198
Started a compilation timeout timer of 180 seconds.

Model compiled successfully in 542 ms.

Input model: quantized_model.tflite
Input size: 4.04MiB
Output model: quantized_model_edgetpu.tflite
Output size: 4.13MiB
On-chip memory used for caching model parameters: 604.50KiB
On-chip memory remaining for caching model parameters: 511.50KiB
Off-chip memory used for streaming uncached model parameters: 3.45MiB
Number of Edge TPU subgraphs: 1
Total number of operations: 50
Operation log: quantized_model_edgetpu.log
See the operation log file for individual operation details.
Compilation child process completed within timeout period.
Compilation succeeded!
";

    const V15_SOME_CPU: &str = "Edge TPU Compiler version 15.0.340273435

Model compiled successfully in 1379 ms.

Input model: model.tflite
Input size: 4.41MiB
Output model: model_edgetpu.tflite
Output size: 5.49MiB
On-chip memory used for caching model parameters: 1.92MiB
On-chip memory remaining for caching model parameters: 1.75KiB
Off-chip memory used for streaming uncached model parameters: 3.23MiB
Number of Edge TPU subgraphs: 1
Total number of operations: 136
Operation log: model_edgetpu.log

Model successfully compiled but not all operations are supported by the Edge TPU. A percentage of the model will instead run on the CPU, which is slower. If possible, consider updating your model to use only operations supported by the Edge TPU. For details, visit g.co/coral/model-reqs.
Number of operations that will run on Edge TPU: 135
Number of operations that will run on CPU: 1

Operator                       Count      Status

RESHAPE                        15         Mapped to Edge TPU
CONCATENATION                  3          Mapped to Edge TPU
MAX_POOL_2D                    3          Mapped to Edge TPU
ADD                            10         Mapped to Edge TPU
";

    const V20_MEMORY: &str = "Edge TPU Compiler version 2.0.291256449

Model compiled successfully in 12264 ms.

Input model: model2.tflite
Input size: 8.11MiB
Output model: model2_edgetpu.tflite
Output size: 9.47MiB
On-chip memory available for caching model parameters: 7.69MiB
On-chip memory used for caching model parameters: 729.50KiB
Off-chip memory used for streaming uncached model parameters: 0.00B
Number of Edge TPU subgraphs: 1
Total number of operations: 93
Operation log: model2_edgetpu.log
";

    const V16_COCOMPILED: &str = "Edge TPU Compiler version 16.0.384591198
Started a compilation timeout timer of 180 seconds.
Models compiled successfully in 3498 ms.
Input model: cnn_first_edge.tflite
Input size: 8.00MiB
Output model: cnn_first_edgetpu.tflite
Output size: 9.31MiB
On-chip memory used for caching model parameters: 1.75MiB
On-chip memory remaining for caching model parameters: 3.75KiB
Off-chip memory used for streaming uncached model parameters: 6.97MiB
Number of Edge TPU subgraphs: 1
Total number of operations: 313
Operation log: cnn_first_edgetpu.log
See the operation log file for individual operation details.
Input model: rnn_second.tflite
Input size: 2.97MiB
Output model: rnn_second_edgetpu.tflite
Output size: 4.79MiB
On-chip memory used for caching model parameters: 5.29MiB
On-chip memory remaining for caching model parameters: 3.75KiB
Off-chip memory used for streaming uncached model parameters: 158.06KiB
Number of Edge TPU subgraphs: 1
Total number of operations: 78
Operation log: rnn_second_edgetpu.log
See the operation log file for individual operation details.
";

    const REAL_LOG: &str = "Edge TPU Compiler version 16.0.384591198
Input: test/model/dummy.tflite
Output: test/model/compiled/dummy_edgetpu.tflite

Operator                       Count      Status

QUANTIZE                       2          Mapped to Edge TPU
DEPTHWISE_CONV_2D              1          Mapped to Edge TPU
";

    #[test]
    fn sizes_parse_in_all_units() {
        assert_eq!(parse_size("0.00B"), Some(ByteCount(0)));
        assert_eq!(parse_size("1.75KiB"), Some(ByteCount(1792)));
        assert_eq!(parse_size("604.50KiB"), Some(ByteCount(619_008)));
        assert_eq!(parse_size("4.41MiB"), Some(ByteCount(4_624_220)));
        assert_eq!(parse_size("3.10 MiB"), Some(ByteCount(3_250_586)));
        assert_eq!(parse_size("12 GB"), None);
        assert_eq!(parse_size("-1.00B"), None);
        for b in [0, 1023, 1792, 619_008, 4_624_220] {
            assert_eq!(
                format_size(parse_size(&format_size(ByteCount(b))).unwrap()),
                format_size(ByteCount(b))
            );
        }
    }

    #[test]
    fn parses_a_v16_summary() {
        let p = parse_stdout(V16_ALL_MAPPED).unwrap();
        assert_eq!(p.version, CompilerVersion::parse("16.0.384591198"));
        assert_eq!(p.compile_ms, Some(542));
        assert!(p.succeeded);
        assert_eq!(p.blocks.len(), 1);
        let b = &p.blocks[0];
        assert_eq!(b.input_model, "quantized_model.tflite");
        assert_eq!(
            b.output_model.as_deref(),
            Some("quantized_model_edgetpu.tflite")
        );
        assert_eq!(b.on_chip, Some(ByteCount(619_008)));
        assert_eq!(b.remaining, Some(ByteCount(523_776)));
        assert_eq!(b.off_chip, parse_size("3.45MiB"));
        assert_eq!((b.subgraphs, b.total_ops), (Some(1), Some(50)));
        assert_eq!((b.tpu_ops, b.cpu_ops), (None, None));
        assert!(b.operations.is_empty());
    }

    #[test]
    fn parses_cpu_counts_and_the_table() {
        let p = parse_stdout(V15_SOME_CPU).unwrap();
        assert!(!p.succeeded);
        let b = &p.blocks[0];
        assert_eq!((b.tpu_ops, b.cpu_ops), (Some(135), Some(1)));
        assert_eq!(b.operations.len(), 4);
        assert_eq!(b.operations[0].operator, "RESHAPE");
        assert_eq!(b.operations[0].count, 15);
        assert_eq!(b.operations[3].status, OpStatus::Mapped);
        assert_eq!(b.remaining, Some(ByteCount(1792)));
    }

    #[test]
    fn reads_the_v20_available_line() {
        let b = &parse_stdout(V20_MEMORY).unwrap().blocks[0];
        assert_eq!(b.available, parse_size("7.69MiB"));
        assert_eq!(b.on_chip, parse_size("729.50KiB"));
        assert_eq!(b.remaining, None);
        assert_eq!(b.off_chip, Some(ByteCount(0)));
    }

    #[test]
    fn reads_several_blocks() {
        let p = parse_stdout(V16_COCOMPILED).unwrap();
        assert_eq!(p.compile_ms, Some(3498));
        assert_eq!(p.blocks.len(), 2);
        assert_eq!(p.blocks[1].input_model, "rnn_second.tflite");
        assert_eq!(p.blocks[1].off_chip, parse_size("158.06KiB"));
        assert_eq!(p.blocks[0].total_ops, Some(313));
    }

    #[test]
    fn parses_the_real_log() {
        let log = parse_log(REAL_LOG).unwrap();
        assert_eq!(log.input.as_deref(), Some("test/model/dummy.tflite"));
        assert_eq!(
            log.rows,
            vec![
                OperationRow {
                    operator: "QUANTIZE".into(),
                    count: 2,
                    status: OpStatus::Mapped
                },
                OperationRow {
                    operator: "DEPTHWISE_CONV_2D".into(),
                    count: 1,
                    status: OpStatus::Mapped
                },
            ]
        );
        assert!(parse_log("Edge TPU Compiler version 16.0.384591198\n").is_err());
    }

    #[test]
    fn statuses_round_trip() {
        for p in Status::ALL {
            let status = OpStatus::from(p);
            assert_eq!(OpStatus::from_text(p.text()), status);
            assert_eq!(status.text(), p.text());
            assert_eq!(status.placement(), Some(p));
        }
        assert_eq!(OpStatus::from_text("Mapped to Edge TPU"), OpStatus::Mapped);
        assert_eq!(
            OpStatus::from_text("Something new"),
            OpStatus::Other("Something new".into())
        );
    }
}
