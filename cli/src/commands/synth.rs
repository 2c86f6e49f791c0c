//! `tpupipe synth`: writes synthetic full-int8 models of the FC and conv families with seeded
//! random weights (see `tpupipe_compiler::synth`).

use anyhow::Context;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use tpupipe_compiler::synth::{synth_conv, synth_fc, ConvSpec, FcSpec, WeightGranularity};

/// Arguments of `tpupipe synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Which family.
    #[command(subcommand)]
    pub family: SynthFamily,
}

/// The model families.
#[derive(Debug, Subcommand)]
pub enum SynthFamily {
    /// FC family: 1x64 int8 input -> L x (FULLY_CONNECTED(N), TANH) -> FULLY_CONNECTED(10).
    Fc(FcArgs),
    /// Conv family: 1xSxSx3 int8 input -> L x CONV_2D(F, 3x3, SAME, stride 1, fused ReLU).
    Conv(ConvArgs),
}

/// Options shared by both families.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Output file (default: a name built from the parameters, in the current directory).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Seed of the random weights.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Add a skip connection (ADD) every second layer, from the third layer on.
    #[arg(long)]
    pub residual: bool,
    /// Float32 input and output: QUANTIZE at the start and DEQUANTIZE at the end.
    #[arg(long)]
    pub float_io: bool,
}

/// Arguments of `tpupipe synth fc`.
#[derive(Debug, Args)]
pub struct FcArgs {
    /// Width N of the hidden layers.
    #[arg(long)]
    pub hidden: usize,
    /// Number L of hidden Dense(N, tanh) layers.
    #[arg(long, default_value_t = 4)]
    pub layers: usize,
    /// Quantize the weights with one scale per tensor instead of one per output channel.
    #[arg(long)]
    pub per_tensor: bool,
    /// Shared options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Arguments of `tpupipe synth conv`.
#[derive(Debug, Args)]
pub struct ConvArgs {
    /// Filters F of every convolution.
    #[arg(long)]
    pub filters: usize,
    /// Number L of convolutions.
    #[arg(long, default_value_t = 5)]
    pub layers: usize,
    /// Side of the square input image.
    #[arg(long, default_value_t = 64)]
    pub input: usize,
    /// Shared options.
    #[command(flatten)]
    pub common: CommonArgs,
}

fn suffix(c: &CommonArgs) -> String {
    let mut s = String::new();
    if c.residual {
        s.push_str("_res");
    }
    if c.float_io {
        s.push_str("_fio");
    }
    s.push_str(&format!("_s{}", c.seed));
    s
}

/// Runs `tpupipe synth`.
pub fn run(args: SynthArgs) -> anyhow::Result<()> {
    let (bytes, default_name, weight_bytes, bias_bytes, macs, ops) = match &args.family {
        SynthFamily::Fc(a) => {
            let spec = FcSpec {
                hidden: a.hidden,
                layers: a.layers,
                residual: a.common.residual,
                float_io: a.common.float_io,
                weights: if a.per_tensor {
                    WeightGranularity::PerTensor
                } else {
                    WeightGranularity::PerChannel
                },
                seed: a.common.seed,
            };
            let bytes = synth_fc(&spec)?;
            let name = format!(
                "fc_n{}_l{}{}{}.tflite",
                a.hidden,
                a.layers,
                if a.per_tensor { "_pt" } else { "" },
                suffix(&a.common)
            );
            let ops = spec.op_sequence().len();
            (
                bytes,
                name,
                spec.weight_bytes(),
                spec.bias_bytes(),
                spec.macs(),
                ops,
            )
        }
        SynthFamily::Conv(a) => {
            let spec = ConvSpec {
                filters: a.filters,
                layers: a.layers,
                input: a.input,
                residual: a.common.residual,
                float_io: a.common.float_io,
                seed: a.common.seed,
            };
            let bytes = synth_conv(&spec)?;
            let name = format!(
                "conv_f{}_l{}_i{}{}.tflite",
                a.filters,
                a.layers,
                a.input,
                suffix(&a.common)
            );
            let ops = spec.op_sequence().len();
            (
                bytes,
                name,
                spec.weight_bytes(),
                spec.bias_bytes(),
                spec.macs(),
                ops,
            )
        }
    };
    let common = match &args.family {
        SynthFamily::Fc(a) => &a.common,
        SynthFamily::Conv(a) => &a.common,
    };
    let out = common
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(default_name));
    std::fs::write(&out, &bytes).with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "wrote {}: {} bytes, {} operators, {} weight bytes, {} bias bytes, {} MACs",
        out.display(),
        bytes.len(),
        ops,
        weight_bytes,
        bias_bytes,
        macs
    );
    Ok(())
}
