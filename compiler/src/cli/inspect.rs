//! `tpupipe inspect` (placeholder until its issue lands).

use clap::Args;

/// Arguments of `tpupipe inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The model file.
    pub model: std::path::PathBuf,
}

/// Runs `tpupipe inspect`.
pub fn run(_args: InspectArgs) -> anyhow::Result<()> {
    anyhow::bail!("'tpupipe inspect' is not available yet in this build")
}
