//! Which parameters the Edge TPU compiler caches on chip for one segment.
//!
//! The compiler's rule as the calibration data shows it: layers are taken in execution order;
//! a layer whose stored parameters still fit in the remaining budget is cached whole, otherwise
//! it is streamed whole from the host on every inference, and later (smaller) layers may still
//! be cached. This is why on-chip use can *drop* as a model grows: FC N=1980 caches 2 of its 3
//! big layers (7.73 MiB), N=2020 only 1 (4.19 MiB) because the second no longer fits.

#[cfg(test)]
use super::layer::Layer;
use tpupipe_runtime::ByteCount;

/// Where each layer's parameters live.
#[cfg(test)]
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Placement {
    /// Stored bytes kept on chip.
    pub on_chip: ByteCount,
    /// Stored bytes streamed on every inference.
    pub off_chip: ByteCount,
    /// Per layer: `true` when cached (layers without parameters count as cached).
    pub cached: Vec<bool>,
}

/// Places `layers` (one segment, execution order) into a cache of `budget` bytes: the rule
/// itself, the reference [`Filler`] is tested against.
#[cfg(test)]
pub(crate) fn place(layers: &[Layer], budget: ByteCount) -> Placement {
    let mut p = Placement {
        cached: Vec::with_capacity(layers.len()),
        ..Placement::default()
    };
    for layer in layers {
        let b = layer.stored_bytes;
        if p.on_chip.bytes().saturating_add(b.bytes()) <= budget.bytes() {
            p.on_chip += b;
            p.cached.push(true);
        } else {
            p.off_chip += b;
            p.cached.push(false);
        }
    }
    p
}

/// Incremental `place`: adding layers one at a time at the end of a segment gives the same
/// result as placing the whole segment at once (the rule never revisits earlier layers).
#[derive(Debug, Clone, Copy, Default)]
pub struct Filler {
    /// Bytes cached so far.
    pub on_chip: u64,
    /// Bytes streamed so far.
    pub off_chip: u64,
}

impl Filler {
    /// Adds one layer; returns `true` if it is cached.
    pub fn push(&mut self, stored: ByteCount, budget: ByteCount) -> bool {
        if self.on_chip.saturating_add(stored.bytes()) <= budget.bytes() {
            self.on_chip += stored.bytes();
            true
        } else {
            self.off_chip += stored.bytes();
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(sizes: &[u64]) -> Vec<Layer> {
        sizes.iter().map(|&s| Layer::other(s)).collect()
    }

    #[test]
    fn whole_layers_in_order_later_small_ones_still_fit() {
        let p = place(&params(&[3, 4, 4, 1]), ByteCount(8));
        assert_eq!(p.cached, vec![true, true, false, true]);
        assert_eq!((p.on_chip, p.off_chip), (ByteCount(8), ByteCount(4)));
    }

    #[test]
    fn growing_a_layer_can_shrink_on_chip_use() {
        // Like FC N=1980 vs N=2020: two big layers fit, then only one does.
        let small = place(&params(&[1, 37, 37, 1]), ByteCount(78));
        let big = place(&params(&[1, 39, 39, 1]), ByteCount(78));
        assert_eq!(small.on_chip, ByteCount(76));
        assert_eq!(big.on_chip, ByteCount(41));
        assert_eq!(big.off_chip, ByteCount(39));
    }

    #[test]
    fn filler_matches_place() {
        let layers = params(&[5, 2, 9, 1, 3]);
        let p = place(&layers, ByteCount(10));
        let mut f = Filler::default();
        let cached: Vec<bool> = layers
            .iter()
            .map(|l| f.push(l.stored_bytes, ByteCount(10)))
            .collect();
        assert_eq!(cached, p.cached);
        assert_eq!(
            (f.on_chip, f.off_chip),
            (p.on_chip.bytes(), p.off_chip.bytes())
        );
    }
}
