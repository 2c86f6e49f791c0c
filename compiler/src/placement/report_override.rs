//! A compiler report overrides the prediction for the segment it compiled.
//!
//! The compiler's operation table ([`CompileReport::operations`]) gives, per operator kind, how
//! many operators got each status, not which ones. The rows are matched to the positions of
//! the segment's range like this, kind by kind (the kind as logs name it: the builtin name, or
//! `CUSTOM`):
//!
//! 1. the positions of that kind in the range, in execution order, and the report's statuses
//!    for that kind as a multiset (row counts);
//! 2. a position whose *predicted* status (the one-subgraph prediction of the segment,
//!    [`WholeModel`]) is in the multiset keeps it, in execution order, as long as the count
//!    lasts (so a correct prediction is never shuffled);
//! 3. the remaining positions take the remaining statuses in execution order, "Mapped to Edge
//!    TPU" first (the Edge TPU subgraph comes before the operators the one-subgraph rule sends
//!    to the CPU), then the rows in the order the report lists them.
//!
//! A kind whose row counts do not add up to its positions in the range (or a row naming a kind
//! the range does not have) is reported as a [`RowMismatch`], never hidden; positions no row
//! covers keep their prediction.

use super::{OpPlacement, OpStatus, Placement, WholeModel};
use crate::edgetpu::report::{self, CompileReport};
use crate::graph::Graph;
use std::collections::BTreeMap;
use std::ops::Range;

/// One report row for one kind: its status, a detail, and the count left to assign.
type ReportedRow = (OpStatus, Option<String>, u32);

/// A kind whose report rows do not match the range's operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowMismatch {
    /// The kind, as logs name it.
    pub operator: String,
    /// Operators of this kind the report counts.
    pub reported: u32,
    /// Operators of this kind in the range.
    pub in_range: usize,
}

impl std::fmt::Display for RowMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the compiler's report counts {} {} operator(s), the segment has {}",
            self.reported, self.operator, self.in_range
        )
    }
}

/// What applying a report changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OverrideOutcome {
    /// Positions whose status the report changed from the prediction.
    pub changed: Vec<usize>,
    /// Kinds whose counts did not match.
    pub mismatches: Vec<RowMismatch>,
}

/// The kind of a graph position as the compiler's log names it.
pub fn log_name(kind: &str) -> &str {
    if kind.starts_with("CUSTOM") {
        "CUSTOM"
    } else {
        kind
    }
}

/// The placement's status for a report status; unknown texts become "unspecified limitation"
/// with the text kept in the detail.
fn status_of(s: &report::OpStatus) -> (OpStatus, Option<String>) {
    match s.placement() {
        Some(status) => (status, None),
        None => (
            OpStatus::UnspecifiedLimitation,
            Some(format!("the compiler said '{}'", s.text())),
        ),
    }
}

impl Placement {
    /// Overrides the positions `range` (one segment, compiled alone) with the compiler's
    /// `report` for it (see the module docs for how rows are matched to positions). Positions
    /// outside `range` are untouched.
    pub fn apply_report(
        &mut self,
        graph: &Graph,
        range: Range<usize>,
        report: &CompileReport,
    ) -> OverrideOutcome {
        let kinds: Vec<String> = range.clone().map(|p| graph.op(p).kind.clone()).collect();
        self.apply_report_kinds(&kinds, range, report)
    }

    /// [`Placement::apply_report`] with the kinds of the range's positions given.
    fn apply_report_kinds(
        &mut self,
        sub: &[String],
        range: Range<usize>,
        report: &CompileReport,
    ) -> OverrideOutcome {
        let segment = Placement::from_ops(self.ops()[range.clone()].to_vec());
        let predicted = WholeModel::of_kinds(&segment, sub).statuses;
        let mut by_kind: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, kind) in sub.iter().enumerate() {
            by_kind.entry(log_name(kind)).or_default().push(i);
        }
        let mut outcome = OverrideOutcome::default();
        let mut reported: BTreeMap<&str, Vec<ReportedRow>> = BTreeMap::new();
        for row in &report.operations {
            let (status, detail) = status_of(&row.status);
            reported
                .entry(row.operator.as_str())
                .or_default()
                .push((status, detail, row.count));
        }
        for (kind, mut rows) in reported {
            let positions = by_kind.get(kind).cloned().unwrap_or_default();
            let total: u32 = rows.iter().map(|r| r.2).sum();
            if total as usize != positions.len() {
                outcome.mismatches.push(RowMismatch {
                    operator: kind.to_string(),
                    reported: total,
                    in_range: positions.len(),
                });
            }
            let mut assigned: Vec<Option<(OpStatus, Option<String>)>> = vec![None; positions.len()];
            // Step 2: correct predictions keep their status.
            for (slot, &i) in assigned.iter_mut().zip(&positions) {
                if let Some(r) = rows.iter_mut().find(|r| r.0 == predicted[i] && r.2 > 0) {
                    r.2 -= 1;
                    *slot = Some((r.0, r.1.clone()));
                }
            }
            // Step 3: the rest in execution order, Mapped first.
            rows.sort_by_key(|r| r.0 != OpStatus::Mapped);
            for slot in assigned.iter_mut().filter(|s| s.is_none()) {
                if let Some(r) = rows.iter_mut().find(|r| r.2 > 0) {
                    r.2 -= 1;
                    *slot = Some((r.0, r.1.clone()));
                }
            }
            for (slot, &i) in assigned.into_iter().zip(&positions) {
                let Some((status, detail)) = slot else {
                    continue;
                };
                let pos = range.start + i;
                let before = self.get(pos).clone();
                let detail = detail.or_else(|| {
                    (status == before.status)
                        .then(|| before.detail.clone())
                        .flatten()
                        .or_else(|| {
                            (status != OpStatus::Mapped)
                                .then(|| "from the compiler's report".into())
                        })
                });
                if status != before.status {
                    outcome.changed.push(pos);
                }
                self.set(pos, OpPlacement { status, detail });
            }
        }
        outcome.changed.sort_unstable();
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edgetpu::report::OperationRow;

    fn row(op: &str, count: u32, status: report::OpStatus) -> OperationRow {
        OperationRow {
            operator: op.into(),
            count,
            status,
        }
    }

    fn report(rows: Vec<OperationRow>) -> CompileReport {
        let ops = rows.iter().map(|r| r.count).sum();
        CompileReport {
            compiler_version: None,
            compile_ms: None,
            on_chip: tpupipe_runtime::ByteCount(0),
            remaining: None,
            available: None,
            off_chip: tpupipe_runtime::ByteCount(0),
            edgetpu_subgraphs: 1,
            total_ops: ops,
            ops_on_tpu: 0,
            ops_on_cpu: 0,
            operations: rows,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn rows_are_matched_by_kind_keeping_correct_predictions() {
        let kinds: Vec<String> = ["QUANTIZE", "CONV_2D", "HARD_SWISH", "CONV_2D", "DEQUANTIZE"]
            .map(String::from)
            .to_vec();
        let cpu = |s| OpPlacement {
            status: s,
            detail: None,
        };
        let mut p = Placement::from_ops(vec![
            cpu(OpStatus::UnspecifiedLimitation),
            OpPlacement::MAPPED,
            cpu(OpStatus::NotSupported),
            OpPlacement::MAPPED,
            cpu(OpStatus::UnsupportedDataType),
        ]);
        // The compiler maps nothing of the second CONV_2D, and says HARD_SWISH is mapped.
        let r = report(vec![
            row("CONV_2D", 1, report::OpStatus::Mapped),
            row("CONV_2D", 1, report::OpStatus::MoreThanOneSubgraph),
            row("HARD_SWISH", 1, report::OpStatus::Mapped),
            row("QUANTIZE", 1, report::OpStatus::UnspecifiedLimitation),
            row("DEQUANTIZE", 2, report::OpStatus::UnsupportedDataType),
        ]);
        let out = p.apply_report_kinds(&kinds, 0..5, &r);
        assert_eq!(out.changed, vec![2, 3]);
        assert_eq!(
            out.mismatches,
            vec![RowMismatch {
                operator: "DEQUANTIZE".into(),
                reported: 2,
                in_range: 1
            }]
        );
        assert_eq!(p.get(2).status, OpStatus::Mapped);
        assert_eq!(p.get(3).status, OpStatus::MoreThanOneSubgraph);
        assert_eq!(p.get(1).status, OpStatus::Mapped);
    }
}
