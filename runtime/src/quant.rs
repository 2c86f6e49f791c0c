//! Affine quantization parameters of a tensor: `real = scale * (q - zero_point)`.

/// Quantization parameters, per tensor (one scale) or per axis (one scale per slice along
/// [`Quantization::axis`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Quantization {
    /// Scales; one entry for per-tensor quantization.
    pub scale: Vec<f32>,
    /// Zero points, as many as scales.
    pub zero_point: Vec<i64>,
    /// The quantized dimension for per-axis quantization (0 for per-tensor).
    pub axis: i32,
}

impl Quantization {
    /// True when there is more than one scale (per-axis quantization).
    pub fn is_per_axis(&self) -> bool {
        self.scale.len() > 1
    }

    /// The single scale and zero point of a per-tensor quantized tensor.
    pub fn per_tensor(&self) -> Option<(f32, i64)> {
        match (self.scale.as_slice(), self.zero_point.as_slice()) {
            ([s], [z]) => Some((*s, *z)),
            ([s], []) => Some((*s, 0)),
            _ => None,
        }
    }
}
