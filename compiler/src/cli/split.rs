//! `tpupipe split` (placeholder until its issue lands).

use clap::Args;

/// Arguments of `tpupipe split`.
#[derive(Debug, Args)]
pub struct SplitArgs {
    /// The model file.
    pub model: std::path::PathBuf,
}

/// Runs `tpupipe split`.
pub fn run(_args: SplitArgs) -> anyhow::Result<()> {
    anyhow::bail!("'tpupipe split' is not available yet in this build")
}
