//! The Edge TPU compiler's equal-parameter split (`edgetpu_compiler --num_segments N`).
//!
//! Rule, over the operators in execution order ([`Graph::order`]), with `target = total / N`
//! parameter bytes:
//!
//! 1. Each of the first N-1 segments starts with one operator, whatever its size, so no segment
//!    is ever empty; an operator that alone holds more than `target` gets a segment of its own.
//! 2. The segment then grows one operator at a time while its parameter bytes stay at or below
//!    `target` (operators without parameters are absorbed), and it stops early enough to leave one
//!    operator for each segment still to come.
//! 3. The last segment takes the rest.
//!
//! So when one operator holds most of the parameters, the segments before it are the short runs
//! that fit under the target, it forms its own segment, and the remaining segments are cut from
//! what follows (the last ones one operator each if need be). A model without any parameters is
//! cut into runs of equal operator counts (the first `len % N` runs one longer).
//!
//! Parameter bytes are [`OpInfo::param_bytes`](crate::graph::OpInfo::param_bytes); comparisons
//! are exact integer arithmetic (`bytes * N` against `total`).

use super::{Cuts, PlanError};
use crate::graph::Graph;

/// The equal-parameter cuts for `segments` segments of `graph`.
pub fn params_cuts(graph: &Graph, segments: usize) -> Result<Vec<usize>, PlanError> {
    let params: Vec<u64> = graph
        .ops()
        .iter()
        .map(|op| op.param_bytes.bytes())
        .collect();
    equal_param_cuts(&params, segments)
}

/// The equal-parameter cuts for operators whose parameter bytes are `params` (in execution
/// order), for `segments` segments. See the module documentation for the rule.
pub fn equal_param_cuts(params: &[u64], segments: usize) -> Result<Vec<usize>, PlanError> {
    let len = params.len();
    Cuts::check_segment_count(segments, len)?;
    let total: u128 = params.iter().map(|&p| p as u128).sum();
    if total == 0 {
        return Ok(equal_count_cuts(len, segments));
    }
    let n = segments as u128;
    let mut cuts = Vec::with_capacity(segments - 1);
    let mut start = 0;
    for seg in 0..segments - 1 {
        let max_end = len - (segments - 1 - seg);
        let mut acc = params[start] as u128;
        let mut end = start + 1;
        while end < max_end && (acc + params[end] as u128) * n <= total {
            acc += params[end] as u128;
            end += 1;
        }
        cuts.push(end);
        start = end;
    }
    Ok(cuts)
}

/// Cuts into runs of equal operator counts, the first `len % segments` runs one longer.
fn equal_count_cuts(len: usize, segments: usize) -> Vec<usize> {
    let (base, extra) = (len / segments, len % segments);
    let mut cuts = Vec::with_capacity(segments - 1);
    let mut at = 0;
    for seg in 0..segments - 1 {
        at += base + usize::from(seg < extra);
        cuts.push(at);
    }
    cuts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg_sums(params: &[u64], cuts: &[usize]) -> Vec<u64> {
        let c = Cuts::new(cuts.to_vec(), params.len()).unwrap();
        c.segments().map(|r| params[r].iter().sum()).collect()
    }

    #[test]
    fn equal_layers_split_evenly() {
        let p = [10, 10, 10, 10, 10, 10, 10, 10];
        assert_eq!(equal_param_cuts(&p, 4).unwrap(), vec![2, 4, 6]);
        assert_eq!(equal_param_cuts(&p, 2).unwrap(), vec![4]);
        assert_eq!(equal_param_cuts(&p, 1).unwrap(), Vec::<usize>::new());
    }

    #[test]
    fn cuts_before_passing_the_target() {
        // total 100, N=2, target 50: 30+15 = 45 fits, +20 would pass.
        let p = [30, 15, 20, 35];
        assert_eq!(equal_param_cuts(&p, 2).unwrap(), vec![2]);
        // Zero-parameter ops after the target is reached stay in the segment.
        let p = [50, 0, 0, 50, 0];
        assert_eq!(equal_param_cuts(&p, 2).unwrap(), vec![3]);
    }

    #[test]
    fn one_dominant_op_still_gives_non_empty_segments() {
        let p = [1, 1, 1000, 1, 1, 1];
        for n in 1..=p.len() {
            let cuts = equal_param_cuts(&p, n).unwrap();
            let c = Cuts::new(cuts.clone(), p.len()).unwrap();
            assert_eq!(c.segment_count(), n);
            assert!(c.segments().all(|r| !r.is_empty()));
        }
        // The big op gets its own segment; what follows is cut under the same target, leaving
        // one op for the last segment.
        assert_eq!(equal_param_cuts(&p, 4).unwrap(), vec![2, 3, 5]);
        // Dominant first op.
        assert_eq!(equal_param_cuts(&[1000, 1, 1, 1], 3).unwrap(), vec![1, 3]);
        // Dominant last op: the first segments cannot take it, the last one does.
        assert_eq!(equal_param_cuts(&[1, 1, 1, 1000], 3).unwrap(), vec![2, 3]);
        assert_eq!(seg_sums(&[1, 1, 1, 1000], &[2, 3]), vec![2, 1, 1000]);
    }

    #[test]
    fn no_parameters_split_by_count() {
        assert_eq!(equal_param_cuts(&[0; 7], 3).unwrap(), vec![3, 5]);
    }

    #[test]
    fn bad_segment_counts() {
        assert_eq!(equal_param_cuts(&[1, 2], 0), Err(PlanError::NoSegments));
        assert_eq!(
            equal_param_cuts(&[1, 2], 3),
            Err(PlanError::TooManySegments {
                segments: 3,
                ops: 2
            })
        );
    }

    #[test]
    fn every_segment_count_gives_valid_cuts() {
        let p: Vec<u64> = (0..40u64).map(|i| (i * 7919) % 97).collect();
        let total: u64 = p.iter().sum();
        for n in 1..=p.len() {
            let cuts = equal_param_cuts(&p, n).unwrap();
            let c = Cuts::new(cuts.clone(), p.len()).unwrap();
            assert_eq!(c.segment_count(), n);
            // Every segment but the last stays under the target unless it is a single op or was
            // forced to stop early.
            for (i, s) in seg_sums(&p, &cuts).iter().enumerate().take(n - 1) {
                let r = c.segment(i);
                assert!(r.len() == 1 || s * n as u64 <= total, "n={n} seg {i}");
            }
        }
    }
}
