//! `tpupipe run` (placeholder until its issue lands).

use clap::Args;

/// Arguments of `tpupipe run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The model file.
    pub model: std::path::PathBuf,
}

/// Runs `tpupipe run`.
pub fn run(_args: RunArgs) -> anyhow::Result<()> {
    anyhow::bail!("'tpupipe run' is not available yet in this build")
}
