//! `tpupipe simulate` (placeholder until its issue lands).

use clap::Args;

/// Arguments of `tpupipe simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The model file.
    pub model: std::path::PathBuf,
}

/// Runs `tpupipe simulate`.
pub fn run(_args: SimulateArgs) -> anyhow::Result<()> {
    anyhow::bail!("'tpupipe simulate' is not available yet in this build")
}
