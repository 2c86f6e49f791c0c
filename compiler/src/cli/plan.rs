//! `tpupipe plan` (placeholder until its issue lands).

use clap::Args;

/// Arguments of `tpupipe plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The model file.
    pub model: std::path::PathBuf,
}

/// Runs `tpupipe plan`.
pub fn run(_args: PlanArgs) -> anyhow::Result<()> {
    anyhow::bail!("'tpupipe plan' is not available yet in this build")
}
