//! Numpy-style broadcasting of two operands' shapes to an output shape, and the walk over the
//! output that yields both inputs' element indices.

/// Numpy-style broadcasting of two shapes to a given output shape. Returns the output shape
/// padded to rank [`MAX_RANK`] and the two inputs' strides (0 along broadcast dimensions).
pub const MAX_RANK: usize = 6;

/// Strides of two broadcast inputs over the output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broadcast {
    /// Output dimensions, left-padded with 1 to [`MAX_RANK`].
    pub dims: [usize; MAX_RANK],
    /// Element strides of input 1 per output dimension.
    pub s1: [usize; MAX_RANK],
    /// Element strides of input 2 per output dimension.
    pub s2: [usize; MAX_RANK],
}

fn padded(shape: &[usize]) -> Option<[usize; MAX_RANK]> {
    if shape.len() > MAX_RANK {
        return None;
    }
    let mut d = [1usize; MAX_RANK];
    d[MAX_RANK - shape.len()..].copy_from_slice(shape);
    Some(d)
}

fn strides(d: &[usize; MAX_RANK], out: &[usize; MAX_RANK]) -> [usize; MAX_RANK] {
    let mut s = [0usize; MAX_RANK];
    let mut acc = 1;
    for i in (0..MAX_RANK).rev() {
        s[i] = if d[i] == 1 && out[i] != 1 { 0 } else { acc };
        acc *= d[i];
    }
    s
}

impl Broadcast {
    /// Broadcasts `a` and `b` to `out`, or explains why they do not broadcast.
    pub fn new(a: &[usize], b: &[usize], out: &[usize]) -> Result<Broadcast, String> {
        let too_big = || format!("rank above {MAX_RANK} is not supported");
        let (pa, pb, po) = (
            padded(a).ok_or_else(too_big)?,
            padded(b).ok_or_else(too_big)?,
            padded(out).ok_or_else(too_big)?,
        );
        for i in 0..MAX_RANK {
            let want = if pa[i] == pb[i] {
                pa[i]
            } else if pa[i] == 1 {
                pb[i]
            } else if pb[i] == 1 {
                pa[i]
            } else {
                return Err(format!("shapes {a:?} and {b:?} do not broadcast"));
            };
            if want != po[i] {
                return Err(format!(
                    "shapes {a:?} and {b:?} broadcast to a shape other than the output's {out:?}"
                ));
            }
        }
        Ok(Broadcast {
            dims: po,
            s1: strides(&pa, &po),
            s2: strides(&pb, &po),
        })
    }

    /// Calls `f(out_index, in1_index, in2_index)` for every output element in order.
    #[inline]
    pub fn for_each(&self, mut f: impl FnMut(usize, usize, usize)) {
        let d = &self.dims;
        let mut o = 0;
        for i0 in 0..d[0] {
            for i1 in 0..d[1] {
                for i2 in 0..d[2] {
                    for i3 in 0..d[3] {
                        for i4 in 0..d[4] {
                            let base1 = i0 * self.s1[0]
                                + i1 * self.s1[1]
                                + i2 * self.s1[2]
                                + i3 * self.s1[3]
                                + i4 * self.s1[4];
                            let base2 = i0 * self.s2[0]
                                + i1 * self.s2[1]
                                + i2 * self.s2[2]
                                + i3 * self.s2[3]
                                + i4 * self.s2[4];
                            for i5 in 0..d[5] {
                                f(o, base1 + i5 * self.s1[5], base2 + i5 * self.s2[5]);
                                o += 1;
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_indices() {
        let b = Broadcast::new(&[2, 1, 3], &[4, 1], &[2, 4, 3]).unwrap();
        let mut seen = Vec::new();
        b.for_each(|o, i1, i2| seen.push((o, i1, i2)));
        assert_eq!(seen.len(), 24);
        // Output [1, 2, 0]: input1 index [1, 0, 0] = 3, input2 index [2, 0] = 2.
        assert_eq!(seen[12 + 6], (18, 3, 2));
        assert!(Broadcast::new(&[2, 3], &[3, 3], &[3, 3]).is_err());
    }
}
