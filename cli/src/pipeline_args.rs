//! The flags that build a pipeline from a plan (`run --plan`, `bench`), and opening a plan with
//! them.

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use std::path::Path;
use tpupipe_runtime::pipeline::{
    read_segments, BackendChoice, FailurePolicy, PipelineOptions, PlanPipeline, PlanPipelineOptions,
};
use tpupipe_runtime::plan::Plan;

/// `--backend`: which backend runs the stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// Every stage on tpupipe's CPU interpreter.
    Cpu,
    /// Every Edge TPU stage of the plan on an Edge TPU; fails if one cannot be used.
    Edgetpu,
    /// Edge TPUs where available, the CPU interpreter for the rest (says which).
    Auto,
}

/// How the pipeline is built.
#[derive(Debug, Clone, Args)]
pub struct BackendArgs {
    /// Which backend runs the stages.
    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    pub backend: BackendArg,
    /// Items each queue between two stages holds before its producer waits.
    #[arg(long, default_value_t = 2)]
    pub queue_depth: usize,
    /// Close the pipeline at the first stage failure instead of failing only that item.
    #[arg(long)]
    pub fail_fast: bool,
    /// Which Edge TPU runs which stage, one per Edge TPU stage replica in stage order:
    /// `usb:0,usb:1`, `pci:0`, `:0`, or device paths (default: automatic, skipping devices
    /// another process holds).
    #[arg(long)]
    pub devices: Option<String>,
}

impl BackendArgs {
    /// The runtime's options.
    pub fn options(&self) -> anyhow::Result<PlanPipelineOptions> {
        #[cfg(feature = "edgetpu")]
        let devices = match &self.devices {
            Some(list) => tpupipe_runtime::edgetpu::Assignment::parse_list(list)
                .with_context(|| format!("--devices {list}"))?,
            None => tpupipe_runtime::edgetpu::Assignment::Automatic,
        };
        #[cfg(not(feature = "edgetpu"))]
        if self.devices.is_some() {
            anyhow::bail!("--devices: this tpupipe was built without the Edge TPU backend");
        }
        Ok(PlanPipelineOptions {
            backend: match self.backend {
                BackendArg::Cpu => BackendChoice::Cpu,
                BackendArg::Edgetpu => BackendChoice::EdgeTpu,
                BackendArg::Auto => BackendChoice::Auto,
            },
            cpu_fallback: self.backend == BackendArg::Auto,
            pipeline: PipelineOptions::default()
                .with_queue_depth(self.queue_depth)
                .with_failure_policy(if self.fail_fast {
                    FailurePolicy::ClosePipeline
                } else {
                    FailurePolicy::FailItem
                }),
            #[cfg(feature = "edgetpu")]
            devices,
            ..Default::default()
        })
    }
}

/// Reads a plan file and builds its pipeline from the segments beside it.
pub fn open_plan(path: &Path, args: &BackendArgs) -> anyhow::Result<(Plan, PlanPipeline)> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read plan {}", path.display()))?;
    let Ok(text) = std::str::from_utf8(&bytes) else {
        anyhow::bail!("{} is not a tpupipe plan (not JSON text)", path.display());
    };
    let plan = Plan::from_json(text)
        .with_context(|| format!("{} is not a tpupipe plan", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let models = read_segments(&plan, dir)?;
    let built = PlanPipeline::new(&plan, models, &args.options()?)
        .with_context(|| format!("cannot run the plan {}", path.display()))?;
    Ok((plan, built))
}
