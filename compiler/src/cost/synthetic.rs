//! Models described directly as layers and dataflow, without a model file: the calibration
//! families (FC and conv sweeps of the paper), and small chains and residual graphs for tests
//! and benchmarks.

use super::layer::Layer;
use super::CostSource;
use std::ops::Range;

/// Where an operator reads an activation from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// Model input `i`.
    Input(usize),
    /// The output of the operator at position `p` (which must come earlier).
    Op(usize),
}

/// A model as a list of layers in execution order, each with one output activation.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticModel {
    /// A name for reports.
    pub name: String,
    /// The layers in execution order.
    pub layers: Vec<Layer>,
    /// Bytes of each layer's output activation.
    pub out_bytes: Vec<u64>,
    /// What each layer reads.
    pub reads: Vec<Vec<Source>>,
    /// Bytes of each model input.
    pub input_bytes: Vec<u64>,
    /// Positions whose outputs are model outputs.
    pub outputs: Vec<usize>,
}

impl SyntheticModel {
    /// A chain: layer `p` reads layer `p-1` (the first reads the single model input of
    /// `input_bytes`); the last layer's output is the model output.
    pub fn chain(
        name: impl Into<String>,
        layers: Vec<Layer>,
        input_bytes: u64,
        out_bytes: Vec<u64>,
    ) -> Self {
        assert_eq!(layers.len(), out_bytes.len(), "one output size per layer");
        let reads = (0..layers.len())
            .map(|p| {
                vec![if p == 0 {
                    Source::Input(0)
                } else {
                    Source::Op(p - 1)
                }]
            })
            .collect();
        let last = layers.len().saturating_sub(1);
        SyntheticModel {
            name: name.into(),
            layers,
            out_bytes,
            reads,
            input_bytes: vec![input_bytes],
            outputs: vec![last],
        }
    }

    /// The FC calibration model: float input of 64, QUANTIZE, Dense(64->N)+TANH, 3 x
    /// (Dense(N->N)+TANH), Dense(N->10), DEQUANTIZE (int8 weights, int32 biases).
    pub fn fc_family(n: u64) -> Self {
        let mut layers = vec![Layer::elementwise(64, 0)];
        let mut out = vec![64];
        let mut fc = |i: u64, o: u64, tanh: bool| {
            layers.push(Layer::fully_connected(i, o, 1, i * o + 4 * o));
            out.push(o);
            if tanh {
                layers.push(Layer::elementwise(o, 0));
                out.push(o);
            }
        };
        fc(64, n, true);
        for _ in 0..3 {
            fc(n, n, true);
        }
        fc(n, 10, false);
        layers.push(Layer::elementwise(10, 0));
        out.push(40);
        SyntheticModel::chain(format!("fc_N{n}"), layers, 64 * 4, out)
    }

    /// The conv calibration model: float 64x64x3 input, QUANTIZE, 5 x Conv2D(F, 3x3, same,
    /// relu) with int8 weights and int32 biases, int8 output.
    pub fn conv_family(f: u64) -> Self {
        let hw = 64 * 64;
        let mut layers = vec![Layer::elementwise(hw * 3, 0)];
        let mut out = vec![hw * 3];
        let mut cin = 3;
        for _ in 0..5 {
            layers.push(Layer::conv2d(hw, 9, cin, f, 9 * cin * f + 4 * f));
            out.push(hw * f);
            cin = f;
        }
        SyntheticModel::chain(format!("conv_F{f}"), layers, hw * 3 * 4, out)
    }

    /// Number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// True without layers.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    fn source_bytes(&self, s: Source) -> u64 {
        match s {
            Source::Input(i) => self.input_bytes[i],
            Source::Op(p) => self.out_bytes[p],
        }
    }
}

impl CostSource for SyntheticModel {
    fn layers(&self) -> &[Layer] {
        &self.layers
    }

    fn io_bytes(&self, range: Range<usize>) -> (u64, u64) {
        let mut seen = std::collections::HashSet::new();
        let mut bytes_in = 0;
        for p in range.clone() {
            for &s in &self.reads[p] {
                let inside = matches!(s, Source::Op(q) if range.contains(&q));
                if !inside && seen.insert(s) {
                    bytes_in += self.source_bytes(s);
                }
            }
        }
        let mut bytes_out = 0;
        for p in range.clone() {
            let read_later =
                (range.end..self.len()).any(|q| self.reads[q].contains(&Source::Op(p)));
            if read_later || self.outputs.contains(&p) {
                bytes_out += self.out_bytes[p];
            }
        }
        (bytes_in, bytes_out)
    }

    fn cut_bytes(&self, cut: usize) -> u64 {
        let mut seen = std::collections::HashSet::new();
        let mut total = 0;
        for q in cut..self.len() {
            for &s in &self.reads[q] {
                let before = match s {
                    Source::Input(_) => true,
                    Source::Op(p) => p < cut,
                };
                if before && seen.insert(s) {
                    total += self.source_bytes(s);
                }
            }
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_have_the_calibration_macs() {
        let fc = SyntheticModel::fc_family(100);
        let fc_macs: u64 = fc
            .layers
            .iter()
            .filter(|l| l.kind == super::super::LayerKind::FullyConnected)
            .map(|l| l.macs)
            .sum();
        assert_eq!(fc_macs, 100 * (64 + 10 + 3 * 100));
        let cv = SyntheticModel::conv_family(32);
        let cv_macs: u64 = cv
            .layers
            .iter()
            .filter(|l| l.kind == super::super::LayerKind::Conv)
            .map(|l| l.macs)
            .sum();
        assert_eq!(cv_macs, 64 * 64 * 9 * (3 * 32 + 4 * 32 * 32));
    }

    #[test]
    fn io_of_a_residual_block_counts_the_skip() {
        let l = Layer::other(0);
        let mut m = SyntheticModel::chain("r", vec![l; 4], 10, vec![1, 2, 3, 4]);
        m.reads[3].push(Source::Op(0)); // skip from layer 0 to layer 3
        assert_eq!(m.io_bytes(1..3), (1, 3));
        assert_eq!(m.io_bytes(3..4), (3 + 1, 4));
        assert_eq!(m.io_bytes(0..1), (10, 1));
        assert_eq!(m.cut_bytes(2), 2 + 1);
        assert_eq!(m.cut_bytes(1), 1);
    }
}
