//! Strided views: outputs that read their input along a regular lattice,
//! `out[i0, .., ik] = in[base + i0 * step0 + .. + ik * stepk]` (steps may be negative).
//!
//! SLICE, STRIDED_SLICE and TRANSPOSE are all such views. Unlike a [`super::copy_plan`], a view
//! needs memory proportional to the rank, not to the number of runs, so a transpose that moves
//! single elements costs no per-element bookkeeping. The innermost axis is copied as one block
//! when its step is 1.

use super::checks::single_io;
use crate::interp::error::EvalError;
use crate::interp::kernel::Kernel;

/// A prepared strided view of input 0.
#[derive(Debug, Clone)]
pub struct StridedView {
    elem: usize,
    /// Input element the first output element reads.
    base: i64,
    /// Output shape.
    shape: Vec<usize>,
    /// Input element step per output axis.
    steps: Vec<i64>,
    /// Input bytes the view needs (largest element read + 1, times the element size).
    in_bytes: usize,
    out_bytes: usize,
    /// Odometer over the outer axes, kept to avoid allocating per run.
    counter: Vec<usize>,
}

impl StridedView {
    /// A view reading, for output index `i`, input element `base + Σ i[a] * steps[a]` of an input
    /// holding `in_elems` elements. Fails if any element read would fall outside the input.
    pub fn new(
        elem: usize,
        in_elems: usize,
        base: i64,
        shape: Vec<usize>,
        steps: Vec<i64>,
    ) -> Result<StridedView, String> {
        if shape.len() != steps.len() {
            return Err(format!(
                "{} steps for a rank-{} output",
                steps.len(),
                shape.len()
            ));
        }
        let count: usize = shape.iter().product();
        let (mut lo, mut hi) = (base, base);
        if count > 0 {
            for (&d, &s) in shape.iter().zip(&steps) {
                let reach = (d as i64 - 1) * s;
                if reach < 0 {
                    lo += reach;
                } else {
                    hi += reach;
                }
            }
            if lo < 0 || hi >= in_elems as i64 {
                return Err(format!(
                    "the view reads input elements {lo}..={hi} of {in_elems}"
                ));
            }
        }
        let rank = shape.len();
        Ok(StridedView {
            elem,
            base,
            in_bytes: if count > 0 {
                (hi as usize + 1) * elem
            } else {
                0
            },
            out_bytes: count * elem,
            counter: vec![0; rank.saturating_sub(1)],
            shape,
            steps,
        })
    }

    /// Boxes the view as a kernel.
    pub fn boxed(self) -> Box<dyn Kernel> {
        Box::new(self)
    }

    fn copy(&mut self, input: &[u8], out: &mut [u8]) -> Result<(), EvalError> {
        if out.len() != self.out_bytes {
            return Err(EvalError(format!(
                "output buffer holds {} bytes, the operator writes {}",
                out.len(),
                self.out_bytes
            )));
        }
        if input.len() < self.in_bytes {
            return Err(EvalError(format!(
                "input holds {} bytes, the operator reads {}",
                input.len(),
                self.in_bytes
            )));
        }
        if self.out_bytes == 0 {
            return Ok(());
        }
        let elem = self.elem;
        let rank = self.shape.len();
        if rank == 0 {
            let src = self.base as usize * elem;
            out.copy_from_slice(&input[src..src + elem]);
            return Ok(());
        }
        let last = rank - 1;
        let (n, step) = (self.shape[last], self.steps[last]);
        let row = n * elem;
        self.counter.iter_mut().for_each(|c| *c = 0);
        let mut start = self.base;
        let mut dst = 0usize;
        loop {
            // Bounds were proven at construction, so every index below is in range.
            if step == 1 {
                let s = start as usize * elem;
                out[dst..dst + row].copy_from_slice(&input[s..s + row]);
            } else if elem == 1 {
                let mut s = start;
                for o in &mut out[dst..dst + n] {
                    *o = input[s as usize];
                    s += step;
                }
            } else {
                let mut s = start;
                for chunk in out[dst..dst + row].chunks_exact_mut(elem) {
                    let b = s as usize * elem;
                    chunk.copy_from_slice(&input[b..b + elem]);
                    s += step;
                }
            }
            dst += row;
            // Advance the odometer over the outer axes.
            let mut axis = last;
            loop {
                if axis == 0 {
                    return Ok(());
                }
                axis -= 1;
                self.counter[axis] += 1;
                start += self.steps[axis];
                if self.counter[axis] < self.shape[axis] {
                    break;
                }
                start -= self.steps[axis] * self.shape[axis] as i64;
                self.counter[axis] = 0;
            }
        }
    }
}

impl Kernel for StridedView {
    fn eval(
        &mut self,
        inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError> {
        let (input, out) = single_io(inputs, outputs)?;
        self.copy(input, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(view: &mut StridedView, input: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; view.out_bytes];
        view.copy(input, &mut out).unwrap();
        out
    }

    #[test]
    fn transpose_2x3() {
        // in [2, 3] -> out [3, 2]: out[i, j] = in[j, i] = in[j * 3 + i].
        let mut v = StridedView::new(1, 6, 0, vec![3, 2], vec![1, 3]).unwrap();
        assert_eq!(run(&mut v, &[0, 1, 2, 3, 4, 5]), vec![0, 3, 1, 4, 2, 5]);
    }

    #[test]
    fn reversed_rows_of_two_byte_elements() {
        // in [2, 2] of u16, reverse both axes.
        let mut v = StridedView::new(2, 4, 3, vec![2, 2], vec![-2, -1]).unwrap();
        let input = [0u8, 10, 1, 11, 2, 12, 3, 13];
        assert_eq!(run(&mut v, &input), vec![3, 13, 2, 12, 1, 11, 0, 10]);
        // Running twice gives the same result (the odometer resets).
        assert_eq!(run(&mut v, &input), vec![3, 13, 2, 12, 1, 11, 0, 10]);
    }

    #[test]
    fn out_of_range_views_are_refused() {
        assert!(StridedView::new(1, 6, 4, vec![2], vec![2]).is_err());
        assert!(StridedView::new(1, 6, 1, vec![2], vec![-2]).is_err());
        assert!(StridedView::new(1, 6, 0, vec![3, 0], vec![1, 3]).is_ok());
    }
}
