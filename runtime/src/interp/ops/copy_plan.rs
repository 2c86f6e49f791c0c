//! Copy plans: an output tensor described, at prepare time, as a sequence of runs of input bytes
//! (or of a fill value), so that running a data-movement kernel is nothing but `copy_from_slice`.
//!
//! A plan is built element by element in output order with [`PlanBuilder`]; consecutive elements
//! that are also consecutive in the same input merge into one run, so slices, pads and
//! concatenations become a handful of long copies while transposes degrade gracefully to
//! element-sized runs.

use crate::interp::error::EvalError;
use crate::interp::kernel::Kernel;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Run {
    /// Copy `len` bytes starting at byte `src` of input `input`.
    Copy {
        input: usize,
        src: usize,
        len: usize,
    },
    /// Write `len` bytes of the repeated fill element.
    Fill { len: usize },
}

/// A precomputed recipe for one output tensor.
#[derive(Clone, Debug)]
pub struct CopyPlan {
    runs: Vec<Run>,
    fill: Vec<u8>,
    out_bytes: usize,
    /// Minimum byte length of each input the plan reads.
    needed: Vec<usize>,
}

/// Builds a [`CopyPlan`] one output element at a time.
#[derive(Debug)]
pub struct PlanBuilder {
    elem: usize,
    runs: Vec<Run>,
    fill: Vec<u8>,
    out_bytes: usize,
    needed: Vec<usize>,
}

impl PlanBuilder {
    /// A builder for elements of `elem_size` bytes reading from `num_inputs` inputs.
    pub fn new(elem_size: usize, num_inputs: usize) -> Self {
        PlanBuilder {
            elem: elem_size,
            runs: Vec::new(),
            fill: vec![0; elem_size],
            out_bytes: 0,
            needed: vec![0; num_inputs],
        }
    }

    /// Sets the bytes of the element written by [`PlanBuilder::fill`] (length = element size).
    pub fn set_fill(&mut self, bytes: &[u8]) {
        debug_assert_eq!(bytes.len(), self.elem);
        self.fill = bytes.to_vec();
    }

    /// Appends `count` consecutive elements of input `input` starting at element `start`.
    pub fn copy(&mut self, input: usize, start: usize, count: usize) {
        if count == 0 {
            return;
        }
        let src = start * self.elem;
        let len = count * self.elem;
        if self.needed.len() <= input {
            self.needed.resize(input + 1, 0);
        }
        self.needed[input] = self.needed[input].max(src + len);
        self.out_bytes += len;
        if let Some(Run::Copy {
            input: last_input,
            src: last_src,
            len: last_len,
        }) = self.runs.last_mut()
        {
            if *last_input == input && *last_src + *last_len == src {
                *last_len += len;
                return;
            }
        }
        self.runs.push(Run::Copy { input, src, len });
    }

    /// Appends `count` fill elements.
    pub fn fill(&mut self, count: usize) {
        if count == 0 {
            return;
        }
        let len = count * self.elem;
        self.out_bytes += len;
        if let Some(Run::Fill { len: last_len }) = self.runs.last_mut() {
            *last_len += len;
            return;
        }
        self.runs.push(Run::Fill { len });
    }

    /// Finishes the plan.
    pub fn finish(self) -> CopyPlan {
        let mut runs = self.runs;
        runs.shrink_to_fit();
        CopyPlan {
            runs,
            fill: self.fill,
            out_bytes: self.out_bytes,
            needed: self.needed,
        }
    }
}

impl CopyPlan {
    /// Bytes the plan writes.
    #[cfg(test)]
    pub fn out_bytes(&self) -> usize {
        self.out_bytes
    }

    /// Number of runs (for tests).
    #[cfg(test)]
    pub fn run_count(&self) -> usize {
        self.runs.len()
    }

    /// Writes the output. Fails (never panics) if an input is absent or shorter than the plan
    /// needs, or the output is not exactly the planned size.
    pub fn execute(&self, inputs: &[Option<&[u8]>], out: &mut [u8]) -> Result<(), EvalError> {
        if out.len() != self.out_bytes {
            return Err(EvalError(format!(
                "output buffer holds {} bytes, the operator writes {}",
                out.len(),
                self.out_bytes
            )));
        }
        for (k, &need) in self.needed.iter().enumerate() {
            if need == 0 {
                continue;
            }
            match inputs.get(k).copied().flatten() {
                Some(bytes) if bytes.len() >= need => {}
                Some(bytes) => {
                    return Err(EvalError(format!(
                        "input {k} holds {} bytes, the operator reads {need}",
                        bytes.len()
                    )))
                }
                None => return Err(EvalError(format!("input {k} is missing"))),
            }
        }
        let mut dst = 0usize;
        for run in &self.runs {
            match *run {
                Run::Copy { input, src, len } => {
                    // Presence and length were checked above.
                    let bytes = inputs[input].unwrap_or_default();
                    out[dst..dst + len].copy_from_slice(&bytes[src..src + len]);
                    dst += len;
                }
                Run::Fill { len } => {
                    let region = &mut out[dst..dst + len];
                    if self.fill.len() == 1 {
                        region.fill(self.fill[0]);
                    } else {
                        for chunk in region.chunks_exact_mut(self.fill.len()) {
                            chunk.copy_from_slice(&self.fill);
                        }
                    }
                    dst += len;
                }
            }
        }
        Ok(())
    }
}

/// A kernel that runs one precomputed plan per output.
#[derive(Debug)]
pub struct PlanKernel {
    plans: Vec<CopyPlan>,
}

impl PlanKernel {
    /// A kernel writing output `k` with `plans[k]`.
    pub fn new(plans: Vec<CopyPlan>) -> Self {
        PlanKernel { plans }
    }

    /// Boxes the kernel.
    pub fn boxed(plans: Vec<CopyPlan>) -> Box<dyn Kernel> {
        Box::new(Self::new(plans))
    }
}

impl Kernel for PlanKernel {
    fn eval(
        &mut self,
        inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError> {
        if outputs.len() != self.plans.len() {
            return Err(EvalError(format!(
                "expected {} outputs, got {}",
                self.plans.len(),
                outputs.len()
            )));
        }
        for (plan, out) in self.plans.iter().zip(outputs.iter_mut()) {
            plan.execute(inputs, out)?;
        }
        Ok(())
    }
}

/// Visits every multi-index of `shape` in row-major order.
pub fn for_each_index(shape: &[usize], mut f: impl FnMut(&[usize])) {
    if shape.contains(&0) {
        return;
    }
    let mut idx = vec![0usize; shape.len()];
    loop {
        f(&idx);
        let mut axis = shape.len();
        loop {
            if axis == 0 {
                return;
            }
            axis -= 1;
            idx[axis] += 1;
            if idx[axis] < shape[axis] {
                break;
            }
            idx[axis] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_contiguous_copies_and_fills() {
        let mut b = PlanBuilder::new(2, 1);
        b.set_fill(&[0xAA, 0xBB]);
        b.fill(1);
        b.copy(0, 1, 1);
        b.copy(0, 2, 2);
        b.fill(1);
        b.fill(1);
        let plan = b.finish();
        assert_eq!(plan.run_count(), 3);
        let input: Vec<u8> = (0u8..8).collect();
        let mut out = vec![0u8; plan.out_bytes()];
        plan.execute(&[Some(&input)], &mut out).unwrap();
        assert_eq!(
            out,
            vec![0xAA, 0xBB, 2, 3, 4, 5, 6, 7, 0xAA, 0xBB, 0xAA, 0xBB]
        );
    }

    #[test]
    fn short_input_is_an_error_not_a_panic() {
        let mut b = PlanBuilder::new(1, 1);
        b.copy(0, 4, 4);
        let plan = b.finish();
        let input = [0u8; 6];
        let mut out = [0u8; 4];
        assert!(plan.execute(&[Some(&input)], &mut out).is_err());
        assert!(plan.execute(&[None], &mut out).is_err());
        let mut wrong = [0u8; 3];
        assert!(plan.execute(&[Some(&[0u8; 8])], &mut wrong).is_err());
    }

    #[test]
    fn row_major_visit_order() {
        let mut seen = Vec::new();
        for_each_index(&[2, 3], |i| seen.push((i[0], i[1])));
        assert_eq!(seen, vec![(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]);
        let mut n = 0;
        for_each_index(&[2, 0, 3], |_| n += 1);
        assert_eq!(n, 0);
        for_each_index(&[], |_| n += 1);
        assert_eq!(n, 1);
    }
}
