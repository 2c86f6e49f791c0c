//! Numpy-style broadcasting of two operand shapes, as TFLite's binary elementwise kernels do it.

/// How two operands map onto a broadcast output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broadcast {
    out_shape: Vec<usize>,
    a_strides: Vec<usize>,
    b_strides: Vec<usize>,
}

/// Why two shapes cannot be broadcast together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BroadcastError(pub String);

impl std::fmt::Display for BroadcastError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BroadcastError {}

fn strides_for(shape: &[usize], rank: usize, out: &[usize]) -> Vec<usize> {
    // Element strides of `shape` right-aligned to `rank` dims, 0 where the dim is broadcast.
    let mut strides = vec![0; rank];
    let offset = rank - shape.len();
    let mut stride = 1;
    for i in (0..shape.len()).rev() {
        strides[offset + i] = if shape[i] == 1 && out[offset + i] != 1 {
            0
        } else {
            stride
        };
        stride *= shape[i];
    }
    strides
}

impl Broadcast {
    /// Broadcasts shapes `a` and `b`: dims are right-aligned, and each pair must be equal or
    /// contain a 1.
    pub fn new(a: &[usize], b: &[usize]) -> Result<Self, BroadcastError> {
        let rank = a.len().max(b.len());
        let dim = |s: &[usize], i: usize| -> usize {
            let pad = rank - s.len();
            if i < pad {
                1
            } else {
                s[i - pad]
            }
        };
        let mut out_shape = Vec::with_capacity(rank);
        for i in 0..rank {
            let (da, db) = (dim(a, i), dim(b, i));
            let d = if da == db || db == 1 {
                da
            } else if da == 1 {
                db
            } else {
                return Err(BroadcastError(format!(
                    "shapes {a:?} and {b:?} cannot be broadcast together (dimension {i}: {da} vs {db})"
                )));
            };
            out_shape.push(d);
        }
        let a_strides = strides_for(a, rank, &out_shape);
        let b_strides = strides_for(b, rank, &out_shape);
        Ok(Broadcast {
            out_shape,
            a_strides,
            b_strides,
        })
    }

    /// The broadcast output shape.
    pub fn out_shape(&self) -> &[usize] {
        &self.out_shape
    }

    /// Number of output elements.
    pub fn out_len(&self) -> usize {
        self.out_shape.iter().product()
    }

    /// True when neither operand is broadcast (both have the output's element layout).
    pub fn is_elementwise(&self) -> bool {
        let plain = strides_for(&self.out_shape, self.out_shape.len(), &self.out_shape);
        self.a_strides == plain && self.b_strides == plain
    }

    /// Calls `f(out_index, a_index, b_index)` for every output element in row-major order.
    pub fn for_each(&self, mut f: impl FnMut(usize, usize, usize)) {
        let n = self.out_len();
        if n == 0 {
            return;
        }
        let rank = self.out_shape.len();
        let mut idx = vec![0usize; rank];
        let (mut ia, mut ib) = (0usize, 0usize);
        for o in 0..n {
            f(o, ia, ib);
            // Odometer increment from the innermost dim.
            for d in (0..rank).rev() {
                idx[d] += 1;
                ia += self.a_strides[d];
                ib += self.b_strides[d];
                if idx[d] < self.out_shape[d] {
                    break;
                }
                ia -= self.a_strides[d] * idx[d];
                ib -= self.b_strides[d] * idx[d];
                idx[d] = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(a: &[usize], b: &[usize]) -> Vec<(usize, usize, usize)> {
        let bc = Broadcast::new(a, b).unwrap();
        let mut v = Vec::new();
        bc.for_each(|o, x, y| v.push((o, x, y)));
        v
    }

    #[test]
    fn same_shapes_are_elementwise() {
        let bc = Broadcast::new(&[2, 3], &[2, 3]).unwrap();
        assert!(bc.is_elementwise());
        assert_eq!(
            pairs(&[2, 3], &[2, 3]),
            (0..6).map(|i| (i, i, i)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn broadcasts_like_numpy() {
        let bc = Broadcast::new(&[2, 1, 4], &[1, 3, 1]).unwrap();
        assert_eq!(bc.out_shape(), &[2, 3, 4]);
        assert!(!bc.is_elementwise());
        let v = pairs(&[2, 1, 4], &[1, 3, 1]);
        assert_eq!(v.len(), 24);
        // out[1][2][3] = a[1][0][3], b[0][2][0]
        assert_eq!(v[12 + 8 + 3], (23, 4 + 3, 2));
        // Lower-rank operand, rank-0 operand.
        let v = pairs(&[3, 2], &[2]);
        assert_eq!(
            v.iter().map(|p| p.2).collect::<Vec<_>>(),
            vec![0, 1, 0, 1, 0, 1]
        );
        let v = pairs(&[3], &[]);
        assert_eq!(v, vec![(0, 0, 0), (1, 1, 0), (2, 2, 0)]);
        assert!(Broadcast::new(&[2, 3], &[4, 3]).is_err());
        assert_eq!(Broadcast::new(&[0, 3], &[1, 3]).unwrap().out_len(), 0);
    }
}
