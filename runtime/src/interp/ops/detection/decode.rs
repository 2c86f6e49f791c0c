//! Box decoding and input dequantization, in TFLite's order of operations.
//!
//! `DecodeCenterSizeBoxes`: each box encoding `(y, x, h, w)` (the first four values of a row;
//! keypoint encodings may follow) and its anchor `(y, x, h, w)` become corners
//! `(ymin, xmin, ymax, xmax)`:
//!
//! - `ycenter = f32(f64(y) / f64(y_scale) * f64(anchor.h) + f64(anchor.y))`, `xcenter` alike;
//! - `half_h = f32(0.5 * exp(f64(h) / f64(h_scale)) * f64(anchor.h))`, `half_w` alike;
//! - `ymin = ycenter - half_h`, `ymax = ycenter + half_h` (and x) in `f32`.
//!
//! uint8 encodings and anchors are dequantized element by element as
//! `(f32(q) - f32(zero_point)) * scale` in `f32` (TFLite's `Dequantizer`). uint8 class scores go
//! through `optimized_ops::Dequantize` over the whole `[boxes x classes]` array: blocks of 8 as
//! `f32(q) * scale + f32(-zero_point * scale)` (two `f32` roundings: the NEON code, translated
//! to SSE on x86), the tail as `f32(f64(scale) * (q - zero_point))`.

use super::options::BoxScales;

/// A box as centre and size, `(y, x, h, w)`.
pub type CenterSize = [f32; 4];
/// A box as corners, `(ymin, xmin, ymax, xmax)`.
pub type Corners = [f32; 4];

/// Per-tensor quantization of a uint8 input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct U8Quant {
    /// The scale.
    pub scale: f32,
    /// The zero point.
    pub zero_point: i32,
}

impl U8Quant {
    /// `Dequantizer::operator()`: `(f32(q) - f32(zero_point)) * scale`.
    pub fn dequantize(&self, q: u8) -> f32 {
        (q as f32 - self.zero_point as f32) * self.scale
    }
}

/// Decodes one box against its anchor.
pub fn decode_box(enc: CenterSize, anchor: CenterSize, s: &BoxScales) -> Corners {
    let ycenter = (enc[0] as f64 / s.y as f64 * anchor[2] as f64 + anchor[0] as f64) as f32;
    let xcenter = (enc[1] as f64 / s.x as f64 * anchor[3] as f64 + anchor[1] as f64) as f32;
    let half_h = (0.5 * (enc[2] as f64 / s.h as f64).exp() * anchor[2] as f64) as f32;
    let half_w = (0.5 * (enc[3] as f64 / s.w as f64).exp() * anchor[3] as f64) as f32;
    [
        ycenter - half_h,
        xcenter - half_w,
        ycenter + half_h,
        xcenter + half_w,
    ]
}

/// Elements per vectorized block of TFLite's optimized `Dequantize` loop.
const DEQUANTIZE_BLOCK: usize = 8;

/// The two lookup tables of `optimized_ops::Dequantize` for one uint8 quantization.
pub struct ScoreTables {
    block: Box<[f32; 256]>,
    tail: Box<[f32; 256]>,
}

impl ScoreTables {
    /// Tabulates both code paths for `q`.
    pub fn new(q: U8Quant) -> Self {
        let mut block = Box::new([0f32; 256]);
        let mut tail = Box::new([0f32; 256]);
        // `-zero_point * scale` is exact in f64 and rounded once to f32, as is the f32 product.
        let offset = -(q.zero_point as f32) * q.scale;
        for v in 0..256usize {
            block[v] = v as f32 * q.scale + offset;
            tail[v] = (q.scale as f64 * (v as i32 - q.zero_point) as f64) as f32;
        }
        ScoreTables { block, tail }
    }

    /// Dequantizes `input` into `out` (same length) as one flat array.
    pub fn dequantize(&self, input: &[u8], out: &mut [f32]) {
        let split = input.len() / DEQUANTIZE_BLOCK * DEQUANTIZE_BLOCK;
        for (o, &x) in out[..split].iter_mut().zip(&input[..split]) {
            *o = self.block[x as usize];
        }
        for (o, &x) in out[split..].iter_mut().zip(&input[split..]) {
            *o = self.tail[x as usize];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_encoding_gives_the_anchor() {
        let s = BoxScales {
            y: 10.0,
            x: 10.0,
            h: 5.0,
            w: 5.0,
        };
        let b = decode_box([0.0; 4], [0.5, 0.25, 0.2, 0.1], &s);
        let (hh, hw) = (0.2f32 / 2.0, 0.1f32 / 2.0);
        assert_eq!(b, [0.5 - hh, 0.25 - hw, 0.5 + hh, 0.25 + hw]);
    }

    #[test]
    fn score_dequantization_switches_path_after_the_last_full_block() {
        let t = ScoreTables::new(U8Quant {
            scale: 0.1,
            zero_point: 3,
        });
        let input: Vec<u8> = (0..11).collect();
        let mut out = vec![0.0; 11];
        t.dequantize(&input, &mut out);
        for (i, &v) in out.iter().enumerate() {
            let block = i as f32 * 0.1 + (-3.0f32 * 0.1);
            let tail = (0.1f32 as f64 * (i as f64 - 3.0)) as f32;
            assert_eq!(v, if i < 8 { block } else { tail }, "element {i}");
        }
    }
}
