//! Checking a compiled segment: it is a TFLite model, it has as many `edgetpu-custom-op`
//! nodes as the summary says (at least one), and its inputs and outputs are the segment's
//! (names, element types, shapes, in order), so it drops into the pipeline in the segment's
//! place.

use super::error::{CpuOp, DriverError};
use super::invoke::SegmentJob;
use super::report::CompileReport;
use tpupipe_runtime::model::EDGETPU_CUSTOM_CODE;
use tpupipe_runtime::{ModelView, OpKind, SubgraphView, TensorId};

/// One subgraph input or output as the pipeline sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Port {
    name: String,
    dtype: String,
    shape: Vec<i32>,
}

impl std::fmt::Display for Port {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "'{}' {} {:?}", self.name, self.dtype, self.shape)
    }
}

fn ports(sg: &SubgraphView<'_>, ids: Vec<TensorId>) -> Vec<Port> {
    ids.into_iter()
        .map(|t| {
            let v = sg.tensor(t);
            Port {
                name: v.name().to_string(),
                dtype: format!("{:?}", v.dtype()),
                shape: v.shape(),
            }
        })
        .collect()
}

fn show(ports: &[Port]) -> String {
    let v: Vec<String> = ports.iter().map(Port::to_string).collect();
    format!("[{}]", v.join(", "))
}

/// The operator name the operation log uses (`CUSTOM` for custom operators).
fn log_name(kind: &OpKind<'_>) -> String {
    match kind {
        OpKind::Builtin(_) => kind.name(),
        OpKind::Custom(_) => "CUSTOM".to_string(),
    }
}

/// Checks `output` (the compiled model of `job`) against the segment and the report; returns
/// the operators left on the CPU.
pub fn verify_output(
    job: &SegmentJob,
    output: &[u8],
    report: &CompileReport,
) -> Result<Vec<CpuOp>, DriverError> {
    let bad = |detail: String| DriverError::BadOutput {
        segment: job.label(),
        detail,
    };
    let segment = ModelView::parse(&job.model).map_err(|e| DriverError::InvalidModel {
        segment: job.label(),
        detail: format!("the segment is not a valid TFLite model: {e}"),
    })?;
    let compiled =
        ModelView::parse(output).map_err(|e| bad(format!("it is not a TFLite model: {e}")))?;
    let sg = compiled.main_subgraph();
    let is_edgetpu = |k: &OpKind<'_>| matches!(k, OpKind::Custom(c) if *c == EDGETPU_CUSTOM_CODE);
    let custom_ops = sg.operators().filter(|op| is_edgetpu(&op.kind())).count();
    if custom_ops == 0 {
        return Err(DriverError::NothingMapped {
            segment: job.label(),
        });
    }
    if custom_ops != report.edgetpu_subgraphs as usize {
        return Err(bad(format!(
            "the compiler reported {} Edge TPU subgraph(s) but the model has {custom_ops} {EDGETPU_CUSTOM_CODE} node(s)",
            report.edgetpu_subgraphs
        )));
    }
    let seg_sg = segment.main_subgraph();
    for (what, ours, theirs) in [
        (
            "inputs",
            ports(&sg, sg.inputs()),
            ports(&seg_sg, seg_sg.inputs()),
        ),
        (
            "outputs",
            ports(&sg, sg.outputs()),
            ports(&seg_sg, seg_sg.outputs()),
        ),
    ] {
        if ours != theirs {
            return Err(bad(format!(
                "its {what} are {} but the segment's are {}",
                show(&ours),
                show(&theirs)
            )));
        }
    }
    Ok(sg
        .operators()
        .filter(|op| !is_edgetpu(&op.kind()))
        .map(|op| {
            let name = log_name(&op.kind());
            let status = report
                .operations
                .iter()
                .find(|r| r.operator == name && !r.status.is_mapped())
                .map(|r| r.status.clone());
            CpuOp {
                operator: op.kind().name(),
                outputs: op
                    .outputs()
                    .into_iter()
                    .map(|t| sg.tensor(t).name().to_string())
                    .collect(),
                status,
            }
        })
        .collect())
}
