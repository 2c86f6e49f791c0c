//! `tpupipe synth` (placeholder until its issue lands).

use clap::Args;

/// Arguments of `tpupipe synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// The model file.
    pub model: std::path::PathBuf,
}

/// Runs `tpupipe synth`.
pub fn run(_args: SynthArgs) -> anyhow::Result<()> {
    anyhow::bail!("'tpupipe synth' is not available yet in this build")
}
