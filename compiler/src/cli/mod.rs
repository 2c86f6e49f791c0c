//! The `tpupipe` command-line interface. One file per subcommand; each defines its clap `Args`
//! struct and a `run` function. Errors surface as one line, `error: ...`, and exit status 1.

use clap::{Parser, Subcommand};

pub mod inspect;
pub mod plan;
pub mod run;
pub mod simulate;
pub mod split;
pub mod synth;

/// tpupipe: split TFLite models across several Coral Edge TPUs.
#[derive(Debug, Parser)]
#[command(name = "tpupipe", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show a model's inputs, outputs and operators with their costs.
    Inspect(inspect::InspectArgs),
    /// Plan where to cut a model into segments for N Edge TPUs.
    Plan(plan::PlanArgs),
    /// Predict throughput and latency for 1..K TPUs under every strategy.
    Simulate(simulate::SimulateArgs),
    /// Split a model into N standalone segment models.
    Split(split::SplitArgs),
    /// Write synthetic full-int8 models (the paper's FC and conv families).
    Synth(synth::SynthArgs),
    /// Run a model or segment on the CPU with tpupipe's interpreter.
    Run(run::RunArgs),
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Inspect(a) => inspect::run(a),
        Command::Plan(a) => plan::run(a),
        Command::Simulate(a) => simulate::run(a),
        Command::Split(a) => split::run(a),
        Command::Synth(a) => synth::run(a),
        Command::Run(a) => run::run(a),
    }
}
