//! One module per subcommand: its clap `Args` struct and its `run` function.

pub mod bench;
pub mod cache;
pub mod compile;
pub mod devices;
pub mod inspect;
pub mod plan;
pub mod run;
pub mod simulate;
pub mod split;
pub mod synth;
