//! # tpupipe-cli
//!
//! The `tpupipe` command line over the compiler's [`Builder`](tpupipe_compiler::Builder) and
//! the runtime. Everything that is about terminals lives here and only here: argument parsing
//! (clap), error chains printed on one line (anyhow), tables. One file per subcommand in
//! [`commands`]; the flags shared by several commands in [`args`]; number formatting in
//! [`format`](mod@format).

#![warn(missing_docs)]

pub mod args;
pub mod commands;
pub mod format;
pub mod pipeline_args;

use clap::{Parser, Subcommand};
use commands::{bench, cache, compile, devices, inspect, plan, run, simulate, split, synth};

/// tpupipe: split TFLite models across several Coral Edge TPUs.
#[derive(Debug, Parser)]
#[command(
    name = "tpupipe",
    version,
    about = "tpupipe: plan, split and run TFLite models across several Coral Edge TPUs",
    long_about = None
)]
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
    /// Plan, split and compile every segment with edgetpu_compiler, through the artifact cache.
    Compile(compile::CompileArgs),
    /// List, verify or prune the artifact cache of compiled builds.
    Cache(cache::CacheArgs),
    /// Write synthetic full-int8 models (the paper's FC and conv families).
    Synth(synth::SynthArgs),
    /// Run a model or segment on the CPU, or a split model (--plan) through the pipeline.
    Run(run::RunArgs),
    /// Measure a plan's pipeline (throughput, latency, per-stage figures) or a model.
    Bench(bench::BenchArgs),
    /// List the Edge TPU libraries and devices, and why a backend is unavailable.
    Devices(devices::DevicesArgs),
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Inspect(a) => inspect::run(a),
        Command::Plan(a) => plan::run(a),
        Command::Simulate(a) => simulate::run(a),
        Command::Split(a) => split::run(a),
        Command::Compile(a) => compile::run(a),
        Command::Cache(a) => cache::run(a),
        Command::Synth(a) => synth::run(a),
        Command::Run(a) => run::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Devices(a) => devices::run(a),
    }
}
