//! The exact text the compiler prints: sizes, the per-model summary block, the operation table
//! and the `<stem>_edgetpu.log` file (facts §2, §3).

use crate::mapping::Status;
use crate::version::Version;

/// The paragraph printed when some operations stay on the CPU (facts §2.3, verbatim).
pub const NOT_ALL_MAPPED: &str = "Model successfully compiled but not all operations are supported by the Edge TPU. A percentage of the model will instead run on the CPU, which is slower. If possible, consider updating your model to use only operations supported by the Edge TPU. For details, visit g.co/coral/model-reqs.";

/// The line ending a summary without `-s`.
pub const SEE_LOG: &str = "See the operation log file for individual operation details.";

/// A size as the compiler prints it: two decimals and `B`, `KiB` or `MiB`, no space.
pub fn size(bytes: u64) -> String {
    let b = bytes as f64;
    if bytes < 1024 {
        format!("{b:.2}B")
    } else if bytes < 1024 * 1024 {
        format!("{:.2}KiB", b / 1024.0)
    } else {
        format!("{:.2}MiB", b / (1024.0 * 1024.0))
    }
}

/// One row of the operation table: operator, count, status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// `CONV_2D`, or `CUSTOM` for custom operators.
    pub operator: String,
    /// How many operators of this kind got this status.
    pub count: usize,
    /// The status.
    pub status: Status,
}

/// One line in printf `"%-30s %-10s %s"` layout.
fn table_line(a: &str, b: &str, c: &str) -> String {
    format!("{a:<30} {b:<10} {c}")
}

/// The table header, a blank line and one line per row (each line ends with LF).
pub fn table(rows: &[Row]) -> String {
    let mut out = table_line("Operator", "Count", "Status");
    out.push_str("\n\n");
    for r in rows {
        out.push_str(&table_line(
            &r.operator,
            &r.count.to_string(),
            r.status.text(),
        ));
        out.push('\n');
    }
    out
}

/// The operation log file.
pub fn log_file(version: &Version, input: &str, output: &str, rows: &[Row]) -> String {
    format!(
        "Edge TPU Compiler version {version}\nInput: {input}\nOutput: {output}\n\n{}",
        table(rows)
    )
}

/// The figures of one compiled model's summary block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The input path as given (or the segment file name).
    pub input: String,
    /// Input file size.
    pub input_bytes: u64,
    /// Output path (out_dir joined with the file name, or the bare name).
    pub output: String,
    /// Output file size.
    pub output_bytes: u64,
    /// Parameter bytes cached on chip.
    pub on_chip: u64,
    /// Cache bytes left.
    pub remaining: u64,
    /// The whole cache (v2.0's "available" line).
    pub available: u64,
    /// Parameter bytes streamed from the host.
    pub off_chip: u64,
    /// Number of Edge TPU custom ops.
    pub subgraphs: usize,
    /// Operators in the input model.
    pub total_ops: usize,
    /// Operators on the Edge TPU.
    pub tpu_ops: usize,
    /// Log path (like `output`).
    pub log: String,
    /// The table rows.
    pub rows: Vec<Row>,
}

/// The summary block of one model, ending with the "See the operation log" line or the table.
pub fn summary(version: &Version, s: &Summary, show_operations: bool) -> String {
    let mut out = String::new();
    let mut line = |l: String| {
        out.push_str(&l);
        out.push('\n');
    };
    line(format!("Input model: {}", s.input));
    line(format!("Input size: {}", size(s.input_bytes)));
    line(format!("Output model: {}", s.output));
    line(format!("Output size: {}", size(s.output_bytes)));
    if version.prints_available() {
        line(format!(
            "On-chip memory available for caching model parameters: {}",
            size(s.available)
        ));
    }
    line(format!(
        "On-chip memory used for caching model parameters: {}",
        size(s.on_chip)
    ));
    if !version.prints_available() {
        line(format!(
            "On-chip memory remaining for caching model parameters: {}",
            size(s.remaining)
        ));
    }
    line(format!(
        "Off-chip memory used for streaming uncached model parameters: {}",
        size(s.off_chip)
    ));
    line(format!("Number of Edge TPU subgraphs: {}", s.subgraphs));
    line(format!("Total number of operations: {}", s.total_ops));
    line(format!("Operation log: {}", s.log));
    let cpu_ops = s.total_ops - s.tpu_ops;
    if cpu_ops > 0 {
        line(String::new());
        line(NOT_ALL_MAPPED.to_string());
        line(format!(
            "Number of operations that will run on Edge TPU: {}",
            s.tpu_ops
        ));
        line(format!(
            "Number of operations that will run on CPU: {cpu_ops}"
        ));
    }
    if show_operations {
        line(String::new());
        out.push_str(&table(&s.rows));
    } else {
        line(SEE_LOG.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_use_the_compilers_units() {
        assert_eq!(size(0), "0.00B");
        assert_eq!(size(1792), "1.75KiB");
        assert_eq!(size(619_008), "604.50KiB");
        assert_eq!(size(4_624_220), "4.41MiB");
    }

    #[test]
    fn log_matches_the_real_bytes() {
        let v = Version::parse("16.0.384591198").unwrap();
        let rows = [
            Row {
                operator: "QUANTIZE".into(),
                count: 2,
                status: Status::Mapped,
            },
            Row {
                operator: "DEPTHWISE_CONV_2D".into(),
                count: 1,
                status: Status::Mapped,
            },
        ];
        let real = "Edge TPU Compiler version 16.0.384591198\nInput: test/model/dummy.tflite\nOutput: test/model/compiled/dummy_edgetpu.tflite\n\nOperator                       Count      Status\n\nQUANTIZE                       2          Mapped to Edge TPU\nDEPTHWISE_CONV_2D              1          Mapped to Edge TPU\n";
        assert_eq!(
            log_file(
                &v,
                "test/model/dummy.tflite",
                "test/model/compiled/dummy_edgetpu.tflite",
                &rows
            ),
            real
        );
    }
}
