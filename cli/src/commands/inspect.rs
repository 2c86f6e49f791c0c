//! `tpupipe inspect MODEL [--json]`: a model's inputs, outputs and operators with their costs.
//!
//! The report is built once as an [`InspectReport`] (serializable, with stable field names) and
//! then printed either as a human-readable table or as JSON (`--json`). Only the main subgraph is
//! analysed; the report says how many subgraphs the file has. Models compiled by
//! edgetpu_compiler are accepted (their `edgetpu-custom-op` counts 0 MACs).
//!
//! Every operator carries its predicted placement (tpupipe's placement model,
//! docs/placement.md): on the Edge TPU, or on the CPU with the compiler's status and what broke.
//! A summary gives the per-operator count and what the compiler itself would do with the whole
//! model (one Edge TPU subgraph: every operator after the first unmappable one on the CPU).

use anyhow::Context as _;
use clap::Args;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::PathBuf;
use tpupipe_compiler::graph::{Graph, OpInfo};
use tpupipe_compiler::placement::{link, OpPlacement, OpStatus, Placement, WholeModel};
use tpupipe_compiler::ModelFile;
use tpupipe_runtime::{ByteCount, ModelView, TensorId};

/// Arguments of `tpupipe inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The model file (`.tflite`).
    pub model: PathBuf,
    /// Print a JSON document instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// Quantization of a model input or output.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum QuantReport {
    /// One scale and zero point for the whole tensor.
    PerTensor {
        /// The scale.
        scale: f32,
        /// The zero point.
        zero_point: i64,
    },
    /// One scale per slice along `axis`.
    PerAxis {
        /// Number of scales.
        scales: usize,
        /// The quantized dimension.
        axis: i32,
    },
}

/// A model input or output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TensorReport {
    /// Tensor id in the main subgraph.
    pub id: u32,
    /// Unique tensor name.
    pub name: String,
    /// Static shape.
    pub shape: Vec<usize>,
    /// Element type (`int8`, `float32`, ...).
    pub dtype: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Quantization, `null` when the tensor has none.
    pub quantization: Option<QuantReport>,
}

/// One operator row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpReport {
    /// Position in the execution order.
    pub position: usize,
    /// Operator index in the file.
    pub index: u32,
    /// `CONV_2D`, or `CUSTOM(name)`.
    pub kind: String,
    /// Operator code version.
    pub version: i32,
    /// Bytes of constant inputs.
    pub param_bytes: u64,
    /// Multiply-accumulates.
    pub macs: u64,
    /// Bytes of the outputs.
    pub output_bytes: u64,
    /// Bytes of the activations alive across the cut just before this operator (what a segment
    /// starting here would receive); `null` for position 0.
    pub cut_bytes: Option<u64>,
    /// Output tensor names.
    pub outputs: Vec<String>,
    /// The predicted placement of the operator judged alone.
    pub placement: OpPlacementReport,
}

/// Where one operator runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpPlacementReport {
    /// True when the Edge TPU can run it.
    pub on_tpu: bool,
    /// The compiler's status for it judged alone (`mapped`, `not_supported`, ...).
    pub status: OpStatus,
    /// The status as the compiler's log prints it.
    pub status_text: String,
    /// What broke, when the status alone does not say it.
    pub detail: Option<String>,
    /// Its status when the whole model is compiled at once (one Edge TPU subgraph).
    pub whole_model_status: OpStatus,
}

/// Operators of one kind with one status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusCount {
    /// `CONV_2D`, `CUSTOM(name)`, ...
    pub kind: String,
    /// The status.
    pub status: OpStatus,
    /// How many.
    pub count: usize,
}

/// The placement summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlacementSummary {
    /// Operators the Edge TPU can run, each judged alone.
    pub tpu_ops: usize,
    /// Operators in the main subgraph.
    pub total_ops: usize,
    /// The operators on the CPU, judged alone, by kind and status (first appearance order).
    pub cpu: Vec<StatusCount>,
    /// Compiling the whole model at once: the positions of the one Edge TPU subgraph.
    pub whole_model_tpu_range: [usize; 2],
    /// Compiling the whole model at once: its operators on the CPU by kind and status.
    pub whole_model_cpu: Vec<StatusCount>,
    /// Float model edges whose link carries an 8-bit twin instead (float input quantized at
    /// once, float output dequantized last).
    pub float_edges: Vec<FloatEdgeReport>,
}

/// A float model input or output and the 8-bit tensor an Edge TPU segment exchanges instead.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FloatEdgeReport {
    /// The float tensor.
    pub float: String,
    /// Its size.
    pub float_bytes: u64,
    /// The 8-bit twin.
    pub quantized: String,
    /// Its size (what the link carries).
    pub quantized_bytes: u64,
}

/// The largest activation tensor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActivationReport {
    /// Unique tensor name.
    pub name: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// Whole-model figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Totals {
    /// Number of operators in the main subgraph.
    pub ops: usize,
    /// Bytes of distinct constant tensors read by operators.
    pub param_bytes: u64,
    /// Total multiply-accumulates.
    pub macs: u64,
    /// The largest activation (model input or operator output).
    pub largest_activation: Option<ActivationReport>,
}

/// Everything `tpupipe inspect` shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InspectReport {
    /// The file inspected.
    pub model: String,
    /// File size in bytes.
    pub file_bytes: u64,
    /// Schema version recorded in the file.
    pub schema_version: u32,
    /// The model description, if any.
    pub description: Option<String>,
    /// Number of subgraphs (only the main one, index 0, is analysed).
    pub subgraphs: usize,
    /// Name of the main subgraph.
    pub main_subgraph: String,
    /// True when the model contains ops compiled by edgetpu_compiler.
    pub edgetpu_compiled: bool,
    /// For a compiled model: the operators left on the CPU and each custom op's package.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edgetpu: Option<tpupipe_compiler::compiled_model::CompiledModelInfo>,
    /// Model inputs.
    pub inputs: Vec<TensorReport>,
    /// Model outputs.
    pub outputs: Vec<TensorReport>,
    /// Operators in execution order.
    pub ops: Vec<OpReport>,
    /// Totals.
    pub totals: Totals,
    /// Predicted placement.
    pub placement: PlacementSummary,
}

fn tensor_report(view: &ModelView<'_>, graph: &Graph, id: TensorId) -> TensorReport {
    let t = view.main_subgraph().tensor(id);
    let quantization = t.quantization().map(|q| match q.per_tensor() {
        Some((scale, zero_point)) => QuantReport::PerTensor { scale, zero_point },
        None => QuantReport::PerAxis {
            scales: q.scale.len(),
            axis: q.axis,
        },
    });
    TensorReport {
        id: id.0,
        name: graph.tensor_name(id).to_string(),
        shape: graph.tensor_shape(id).to_vec(),
        dtype: t.dtype().name().to_string(),
        bytes: graph.tensor_bytes(id).bytes(),
        quantization,
    }
}

fn op_report(
    graph: &Graph,
    position: usize,
    op: &OpInfo,
    placed: &OpPlacement,
    whole: OpStatus,
) -> OpReport {
    OpReport {
        position,
        index: op.op.0,
        kind: op.kind.clone(),
        version: op.version,
        param_bytes: op.param_bytes.bytes(),
        macs: op.macs,
        output_bytes: op.output_bytes.bytes(),
        cut_bytes: (position > 0).then(|| graph.live_bytes(position).bytes()),
        outputs: op
            .outputs
            .iter()
            .map(|&t| graph.tensor_name(t).to_string())
            .collect(),
        placement: OpPlacementReport {
            on_tpu: placed.on_tpu(),
            status: placed.status,
            status_text: placed.status.text().to_string(),
            detail: placed.detail.clone(),
            whole_model_status: whole,
        },
    }
}

/// Counts by (kind, status) in first-appearance order.
fn status_counts(items: impl Iterator<Item = (String, OpStatus)>) -> Vec<StatusCount> {
    let mut out: Vec<StatusCount> = Vec::new();
    for (kind, status) in items {
        match out
            .iter_mut()
            .find(|c| c.kind == kind && c.status == status)
        {
            Some(c) => c.count += 1,
            None => out.push(StatusCount {
                kind,
                status,
                count: 1,
            }),
        }
    }
    out
}

fn placement_summary(
    view: &ModelView<'_>,
    graph: &Graph,
    placement: &Placement,
    whole: &WholeModel,
) -> PlacementSummary {
    let kind = |p: usize| graph.op(p).kind.clone();
    PlacementSummary {
        tpu_ops: placement.tpu_count(),
        total_ops: graph.len(),
        cpu: status_counts(
            placement
                .cpu_positions()
                .into_iter()
                .map(|p| (kind(p), placement.get(p).status)),
        ),
        whole_model_tpu_range: [whole.tpu_range.start, whole.tpu_range.end],
        whole_model_cpu: status_counts(
            whole
                .cpu_positions()
                .into_iter()
                .map(|p| (kind(p), whole.statuses[p])),
        ),
        float_edges: link::edge_twins(view, graph)
            .into_iter()
            .map(|e| FloatEdgeReport {
                float: graph.tensor_name(e.float).to_string(),
                float_bytes: graph.tensor_bytes(e.float).bytes(),
                quantized: graph.tensor_name(e.quantized).to_string(),
                quantized_bytes: graph.tensor_bytes(e.quantized).bytes(),
            })
            .collect(),
    }
}

impl InspectReport {
    /// Builds the report for a verified model; `label` names it (usually the path).
    pub fn build(
        label: &str,
        view: &ModelView<'_>,
    ) -> Result<Self, tpupipe_compiler::graph::GraphError> {
        let graph = Graph::build(view)?;
        let sg = view.main_subgraph();
        let placement = Placement::predict(view, &graph);
        let whole = WholeModel::of(&placement, &graph);
        let ops: Vec<OpReport> = graph
            .ops()
            .iter()
            .enumerate()
            .map(|(p, op)| op_report(&graph, p, op, placement.get(p), whole.statuses[p]))
            .collect();
        let placement_summary = placement_summary(view, &graph, &placement, &whole);
        let activations = graph
            .model_inputs()
            .iter()
            .chain(graph.ops().iter().flat_map(|op| op.outputs.iter()))
            .copied();
        // The first of the largest, in input-then-execution order.
        let largest = activations.fold(None::<TensorId>, |best, t| match best {
            Some(b) if graph.tensor_bytes(b) >= graph.tensor_bytes(t) => Some(b),
            _ => Some(t),
        });
        let totals = Totals {
            ops: graph.len(),
            param_bytes: graph.unique_param_bytes(0..graph.len()).bytes(),
            macs: graph.macs(0..graph.len()),
            largest_activation: largest.map(|t| ActivationReport {
                name: graph.tensor_name(t).to_string(),
                bytes: graph.tensor_bytes(t).bytes(),
            }),
        };
        Ok(InspectReport {
            model: label.to_string(),
            file_bytes: view.bytes().len() as u64,
            schema_version: view.schema_version(),
            description: view.description().map(str::to_string),
            subgraphs: view.subgraph_count(),
            main_subgraph: sg.name().to_string(),
            edgetpu_compiled: view.is_edgetpu_compiled(),
            edgetpu: tpupipe_compiler::compiled_model::CompiledModelInfo::read(view),
            inputs: graph
                .model_inputs()
                .iter()
                .map(|&t| tensor_report(view, &graph, t))
                .collect(),
            outputs: graph
                .model_outputs()
                .iter()
                .map(|&t| tensor_report(view, &graph, t))
                .collect(),
            ops,
            totals,
            placement: placement_summary,
        })
    }

    /// The human-readable rendering.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = self.write_text(&mut s);
        s
    }

    fn write_text(&self, s: &mut String) -> std::fmt::Result {
        writeln!(
            s,
            "model: {} ({}, schema v{})",
            self.model,
            ByteCount(self.file_bytes),
            self.schema_version
        )?;
        if let Some(d) = self.description.as_deref().filter(|d| !d.is_empty()) {
            writeln!(s, "description: {}", printable(d))?;
        }
        let main = if self.main_subgraph.is_empty() {
            String::new()
        } else {
            format!(" '{}'", printable(&self.main_subgraph))
        };
        if self.subgraphs == 1 {
            writeln!(s, "subgraphs: 1 (main{main})")?;
        } else {
            writeln!(
                s,
                "subgraphs: {} (showing the main subgraph{main}, index 0)",
                self.subgraphs
            )?;
        }
        if self.edgetpu_compiled {
            writeln!(
                s,
                "compiled for the Edge TPU: yes (edgetpu-custom-op ops count 0 MACs here)"
            )?;
        }
        if let Some(info) = &self.edgetpu {
            write_edgetpu(s, info)?;
        }
        for (title, list) in [("inputs", &self.inputs), ("outputs", &self.outputs)] {
            writeln!(s, "\n{title}:")?;
            let rows: Vec<[String; 5]> = list
                .iter()
                .map(|t| {
                    [
                        printable(&t.name),
                        format!("{:?}", t.shape),
                        t.dtype.clone(),
                        ByteCount(t.bytes).to_string(),
                        match &t.quantization {
                            None => "not quantized".to_string(),
                            Some(QuantReport::PerTensor { scale, zero_point }) => {
                                format!("scale {scale}, zero point {zero_point}")
                            }
                            Some(QuantReport::PerAxis { scales, axis }) => {
                                format!("per-axis ({scales} scales, axis {axis})")
                            }
                        },
                    ]
                })
                .collect();
            table(
                s,
                &["name", "shape", "dtype", "size", "quantization"],
                &rows,
                &[],
            )?;
        }
        writeln!(
            s,
            "\noperators (execution order; 'cut before': activation bytes crossing a cut just \
             before the operator):"
        )?;
        let rows: Vec<[String; 10]> = self
            .ops
            .iter()
            .map(|o| {
                [
                    o.position.to_string(),
                    o.index.to_string(),
                    printable(&o.kind),
                    o.version.to_string(),
                    ByteCount(o.param_bytes).to_string(),
                    crate::format::human_count(o.macs),
                    ByteCount(o.output_bytes).to_string(),
                    o.cut_bytes
                        .map_or_else(|| "-".to_string(), |b| ByteCount(b).to_string()),
                    shorten(&printable(&o.outputs.join(", ")), 48),
                    placement_cell(&o.placement),
                ]
            })
            .collect();
        table(
            s,
            &[
                "pos",
                "op",
                "kind",
                "ver",
                "params",
                "MACs",
                "output",
                "cut before",
                "output tensors",
                "placement",
            ],
            &rows,
            &[0, 1, 3, 4, 5, 6, 7],
        )?;
        writeln!(s, "\ntotals:")?;
        writeln!(s, "  operators:          {}", self.totals.ops)?;
        writeln!(
            s,
            "  parameters:         {} ({} bytes)",
            ByteCount(self.totals.param_bytes),
            self.totals.param_bytes
        )?;
        writeln!(
            s,
            "  MACs:               {} ({})",
            crate::format::human_count(self.totals.macs),
            self.totals.macs
        )?;
        match &self.totals.largest_activation {
            Some(a) => writeln!(
                s,
                "  largest activation: {} ('{}')",
                ByteCount(a.bytes),
                printable(&a.name)
            )?,
            None => writeln!(s, "  largest activation: none")?,
        }
        write_placement(s, &self.placement)
    }
}

/// The placement column: `Edge TPU`, or `CPU: <status in short>: <detail>`.
fn placement_cell(p: &OpPlacementReport) -> String {
    if p.on_tpu {
        return "Edge TPU".to_string();
    }
    let cell = match &p.detail {
        Some(d) => format!("CPU: {}: {d}", p.status.short()),
        None => format!("CPU: {}", p.status.short()),
    };
    shorten(&printable(&cell), 72)
}

/// One indented line per (kind, status).
fn write_counts(s: &mut String, counts: &[StatusCount]) -> std::fmt::Result {
    for c in counts {
        writeln!(
            s,
            "    {} x{}: {}",
            printable(&c.kind),
            c.count,
            c.status.text()
        )?;
    }
    Ok(())
}

/// The placement summary section.
fn write_placement(s: &mut String, p: &PlacementSummary) -> std::fmt::Result {
    writeln!(
        s,
        "\nplacement (predicted by tpupipe's placement model, see docs/placement.md):"
    )?;
    let cpu = |counts: &[StatusCount]| counts.iter().map(|c| c.count).sum::<usize>();
    writeln!(
        s,
        "  each op alone: {} of {} ops on the Edge TPU; CPU: {}",
        p.tpu_ops,
        p.total_ops,
        cpu(&p.cpu)
    )?;
    write_counts(s, &p.cpu)?;
    let [start, end] = p.whole_model_tpu_range;
    let range = if start == end {
        "no Edge TPU subgraph".to_string()
    } else {
        format!("one Edge TPU subgraph at positions {start}..{end}")
    };
    writeln!(
        s,
        "  whole-model compile ({range}): {} of {} ops on the Edge TPU; CPU: {}",
        end - start,
        p.total_ops,
        cpu(&p.whole_model_cpu)
    )?;
    write_counts(s, &p.whole_model_cpu)?;
    for e in &p.float_edges {
        writeln!(
            s,
            "  float edge '{}' ({}) crosses a link as its 8-bit twin '{}' ({})",
            printable(&e.float),
            ByteCount(e.float_bytes),
            printable(&e.quantized),
            ByteCount(e.quantized_bytes)
        )?;
    }
    Ok(())
}

/// The Edge TPU section of a compiled model: its custom ops' packages and the CPU operators.
fn write_edgetpu(
    s: &mut String,
    info: &tpupipe_compiler::compiled_model::CompiledModelInfo,
) -> std::fmt::Result {
    for e in &info.edgetpu_ops {
        match &e.package {
            Ok(p) => writeln!(
                s,
                "  edgetpu-custom-op (op {}): package {}{}, min runtime version {}, compiler '{}'",
                e.op,
                ByteCount(p.bytes),
                if p.dwn1 { "" } else { " (no DWN1 identifier)" },
                p.min_runtime_version,
                printable(&p.compiler_version)
            )?,
            Err(err) => writeln!(s, "  edgetpu-custom-op (op {}): {err}", e.op)?,
        }
    }
    if info.cpu_ops.is_empty() {
        writeln!(s, "  operators on the CPU: none")
    } else {
        let ops: Vec<String> = info
            .cpu_ops
            .iter()
            .map(|o| {
                format!(
                    "{} (op {}, writes '{}')",
                    o.kind,
                    o.op,
                    o.outputs.join("', '")
                )
            })
            .collect();
        writeln!(s, "  operators on the CPU: {}", printable(&ops.join("; ")))
    }
}

/// Escapes control characters so a hostile name cannot break the layout.
fn printable(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let escaped = c.is_control().then(|| c.escape_default());
            let plain = (!c.is_control()).then_some(c);
            escaped.into_iter().flatten().chain(plain)
        })
        .collect()
}

/// `s` cut to at most `max` characters, ending in `...` when cut.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let head: String = s.chars().take(max.saturating_sub(3)).collect();
        format!("{head}...")
    }
}

/// Writes an aligned table indented by two spaces; columns in `right` are right-aligned.
fn table<const N: usize>(
    s: &mut String,
    header: &[&str; N],
    rows: &[[String; N]],
    right: &[usize],
) -> std::fmt::Result {
    let mut width = header.map(|h| h.chars().count());
    for r in rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |s: &mut String, cells: &[String]| -> std::fmt::Result {
        let mut out = String::from(" ");
        for (k, c) in cells.iter().enumerate() {
            let w = width[k];
            if right.contains(&k) {
                write!(out, " {c:>w$}")?;
            } else {
                write!(out, " {c:<w$}")?;
            }
        }
        writeln!(s, "{}", out.trim_end())
    };
    line(s, &header.map(str::to_string))?;
    for r in rows {
        line(s, r)?;
    }
    Ok(())
}

/// Loads and analyses the model.
fn load(args: &InspectArgs) -> anyhow::Result<InspectReport> {
    let file = ModelFile::open(&args.model)?;
    let view = file.view()?;
    let label = args.model.display().to_string();
    InspectReport::build(&label, &view).with_context(|| label.clone())
}

/// Runs `tpupipe inspect`.
pub fn run(args: InspectArgs) -> anyhow::Result<()> {
    let report = load(&args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    Ok(())
}
