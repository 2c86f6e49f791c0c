//! `tpupipe run`: runs a model (or one segment) on the CPU with tpupipe's interpreter, reading
//! inputs from an `.npz` and writing outputs to an `.npz`, both keyed by exact tensor names.

use crate::pipeline_args::{open_plan, BackendArgs};
use anyhow::{bail, Context};
use clap::Args;
use std::path::PathBuf;
use std::time::Instant;
use tpupipe_compiler::ModelFile;
use tpupipe_runtime::interp::{Interpreter, Options};
use tpupipe_runtime::npz::read_npz;
use tpupipe_runtime::npz::{self, Array};
use tpupipe_runtime::pipeline::Input;
use tpupipe_runtime::TensorId;

/// Arguments of `tpupipe run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The model or segment file (`.tflite`); or give --plan.
    #[arg(required_unless_present = "plan", conflicts_with = "plan")]
    pub model: Option<PathBuf>,
    /// Run a split model through the pipeline, from the plan `tpupipe split` (or `compile`)
    /// wrote (`DIR/<stem>_plan.json`); its segments are read from the same directory.
    #[arg(long)]
    pub plan: Option<PathBuf>,
    /// The pipeline's backends (with --plan).
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Input arrays (`.npz`), one per model input, keyed by the input tensor's exact name.
    #[arg(long)]
    pub inputs: PathBuf,
    /// Where to write the outputs (`.npz`), keyed by the output tensor names.
    #[arg(long)]
    pub outputs: PathBuf,
    /// Also write every intermediate tensor, keyed by tensor name (debugging; disables arena
    /// reuse).
    #[arg(long)]
    pub all_tensors: bool,
    /// Run the model this many times and print the mean time per inference.
    #[arg(long, default_value_t = 1)]
    pub repeat: u32,
    /// Print the time of every operator (summed over the repeats) to stderr.
    #[arg(long)]
    pub profile: bool,
}

/// Runs `tpupipe run`.
pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let model = match (&args.model, &args.plan) {
        (_, Some(plan)) => return run_plan(&args, plan),
        (Some(model), None) => model.clone(),
        (None, None) => bail!("give a model file, or a plan with --plan"),
    };
    let file = ModelFile::open(&model)?;
    let view = file.view()?;
    let options = Options {
        preserve_all_tensors: args.all_tensors,
    };
    let mut interp = Interpreter::with_options(&view, options)
        .with_context(|| format!("{}: cannot load into the CPU interpreter", model.display()))?;
    let arrays = npz::read_npz(&args.inputs)?;

    let expected: Vec<String> = interp.inputs().map(|d| d.name.clone()).collect();
    let given: Vec<&str> = arrays.iter().map(|(n, _)| n.as_str()).collect();
    let missing: Vec<&String> = expected
        .iter()
        .filter(|n| !given.contains(&n.as_str()))
        .collect();
    let extra: Vec<&&str> = given
        .iter()
        .filter(|n| !expected.iter().any(|e| e == **n))
        .collect();
    if !missing.is_empty() || !extra.is_empty() {
        let mut msg = format!(
            "{}: input names do not match the model's",
            args.inputs.display()
        );
        if !missing.is_empty() {
            msg += &format!("; missing: {missing:?}");
        }
        if !extra.is_empty() {
            msg += &format!("; not model inputs: {extra:?}");
        }
        msg += &format!("; the model's inputs are {expected:?}");
        bail!(msg);
    }
    for (name, a) in &arrays {
        let d = interp.input_by_name(name)?;
        if d.dtype != a.dtype || d.shape != a.shape {
            bail!(
                "input '{name}': the npz holds {} of shape {:?}, the model expects {} of shape {:?}",
                a.dtype,
                a.shape,
                d.dtype,
                d.shape
            );
        }
        interp.set_input_by_name(name, &a.data)?;
    }

    let repeat = args.repeat.max(1);
    let start = Instant::now();
    let mut per_op: Vec<(String, String, f64)> = Vec::new();
    for _ in 0..repeat {
        if args.profile {
            let times = interp.invoke_profiled()?;
            if per_op.is_empty() {
                per_op = times
                    .iter()
                    .map(|(i, k, _)| (i.to_string(), k.clone(), 0.0))
                    .collect();
            }
            for (slot, (_, _, d)) in per_op.iter_mut().zip(&times) {
                slot.2 += d.as_secs_f64();
            }
        } else {
            interp.invoke()?;
        }
    }
    let elapsed = start.elapsed();
    if repeat > 1 {
        eprintln!(
            "{} inferences, {:.3} ms each",
            repeat,
            elapsed.as_secs_f64() * 1e3 / repeat as f64
        );
    }

    if args.profile {
        let mut by_kind: Vec<(String, f64)> = Vec::new();
        for (index, kind, t) in &per_op {
            eprintln!("{index:>6} {kind:<24} {:>9.3} ms", t * 1e3 / repeat as f64);
            match by_kind.iter_mut().find(|(k, _)| k == kind) {
                Some(e) => e.1 += t,
                None => by_kind.push((kind.clone(), *t)),
            }
        }
        by_kind.sort_by(|a, b| b.1.total_cmp(&a.1));
        for (kind, t) in by_kind {
            eprintln!("total {kind:<24} {:>9.3} ms", t * 1e3 / repeat as f64);
        }
    }
    let mut out = Vec::with_capacity(interp.output_count());
    for i in 0..interp.output_count() {
        let d = interp.output(i)?.clone();
        // A tensor listed twice among the outputs is written once (npz keys are unique).
        if out.iter().any(|(n, _)| *n == d.name) {
            continue;
        }
        let bytes = interp.output_bytes(i)?.to_vec();
        let a = Array::new(d.dtype, d.shape.clone(), bytes)
            .map_err(|e| anyhow::anyhow!("output '{}': {e}", d.name))?;
        out.push((d.name, a));
    }
    if args.all_tensors {
        let sg = view.main_subgraph();
        for t in sg.tensors() {
            if out.iter().any(|(n, _)| n == t.name()) {
                continue;
            }
            if let Some(bytes) = interp.tensor_bytes(TensorId(t.id().0)) {
                if let Ok(a) = Array::new(t.dtype(), t.dims(), bytes.to_vec()) {
                    out.push((t.name().to_string(), a));
                }
            }
        }
    }
    npz::write_npz(&args.outputs, &out)?;
    Ok(())
}

/// `tpupipe run --plan`: the whole model through the pipeline.
fn run_plan(args: &RunArgs, plan_path: &std::path::Path) -> anyhow::Result<()> {
    if args.all_tensors || args.profile {
        bail!("--all-tensors and --profile apply to one model, not to --plan");
    }
    let (plan, built) = open_plan(plan_path, &args.backend)?;
    for p in &built.placements {
        match &p.fallback_reason {
            Some(why) => eprintln!("stage {}: {} (CPU fallback: {why})", p.stage, p.detail),
            None => eprintln!("stage {}: {}", p.stage, p.detail),
        }
    }
    let arrays = read_npz(&args.inputs)?;
    let given: Vec<&str> = arrays.iter().map(|(n, _)| n.as_str()).collect();
    let missing: Vec<&String> = plan
        .model_inputs
        .iter()
        .filter(|n| !given.contains(&n.as_str()))
        .collect();
    let extra: Vec<&&str> = given
        .iter()
        .filter(|n| !plan.model_inputs.iter().any(|e| e == **n))
        .collect();
    if !missing.is_empty() || !extra.is_empty() {
        bail!(
            "{}: input names do not match the model's; missing: {missing:?}; not model inputs: {extra:?}; the model's inputs are {:?}",
            args.inputs.display(),
            plan.model_inputs
        );
    }
    let inputs: Vec<Input<'_>> = arrays
        .iter()
        .map(|(name, a)| Input::named(name, &a.data).with_dtype(a.dtype))
        .collect();
    let pipeline = &built.pipeline;
    let repeat = args.repeat.max(1);
    let start = Instant::now();
    let mut last = None;
    for _ in 0..repeat {
        last = Some(pipeline.infer(&inputs)?);
    }
    let elapsed = start.elapsed();
    if repeat > 1 {
        eprintln!(
            "{} inferences, {:.3} ms each",
            repeat,
            elapsed.as_secs_f64() * 1e3 / repeat as f64
        );
    }
    let outputs = last.expect("at least one inference ran");
    let mut out = Vec::with_capacity(outputs.len());
    for (i, (name, bytes)) in outputs.iter().enumerate() {
        if out.iter().any(|(n, _): &(String, Array)| n == name) {
            continue;
        }
        let spec = outputs.spec(i).expect("an output has a spec");
        let a = Array::new(spec.dtype, spec.shape.clone(), bytes.to_vec())
            .map_err(|e| anyhow::anyhow!("output '{name}': {e}"))?;
        out.push((name.to_string(), a));
    }
    npz::write_npz(&args.outputs, &out)?;
    Ok(())
}
