//! Topological ordering of operators and cycle reporting.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The outcome of ordering: an execution order, or one cycle that prevents it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ordering {
    /// Operator indices in execution order.
    Order(Vec<usize>),
    /// Operators on a dependency cycle, each feeding the next and the last feeding the first.
    Cycle(Vec<usize>),
}

/// Orders `preds.len()` operators, where `preds[b]` lists the operators whose outputs `b` reads
/// (duplicates allowed; a self-dependency is a cycle of one).
///
/// Kahn's algorithm, always taking the smallest ready operator index: the result is the file order
/// whenever the file order is already topological, and deterministic otherwise.
pub fn order(preds: &[Vec<usize>]) -> Ordering {
    let n = preds.len();
    let mut succs: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut indegree = vec![0usize; n];
    for (b, ps) in preds.iter().enumerate() {
        let mut ps = ps.clone();
        ps.sort_unstable();
        ps.dedup();
        indegree[b] = ps.len();
        for a in ps {
            succs[a].push(b);
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> =
        (0..n).filter(|&i| indegree[i] == 0).map(Reverse).collect();
    let mut out = Vec::with_capacity(n);
    while let Some(Reverse(a)) = ready.pop() {
        out.push(a);
        for &b in &succs[a] {
            indegree[b] -= 1;
            if indegree[b] == 0 {
                ready.push(Reverse(b));
            }
        }
    }
    if out.len() == n {
        return Ordering::Order(out);
    }
    Ordering::Cycle(find_cycle(preds, &indegree))
}

/// Finds one cycle among the operators Kahn's algorithm could not schedule (those with a
/// non-zero remaining in-degree). Each of them has at least one unscheduled predecessor, so
/// walking predecessors from any of them must revisit an operator.
fn find_cycle(preds: &[Vec<usize>], indegree: &[usize]) -> Vec<usize> {
    let stuck = |i: usize| indegree[i] > 0;
    let Some(start) = (0..preds.len()).find(|&i| stuck(i)) else {
        return Vec::new();
    };
    let mut seen_at = vec![usize::MAX; preds.len()];
    let mut walk = Vec::new();
    let mut cur = start;
    while seen_at[cur] == usize::MAX {
        seen_at[cur] = walk.len();
        walk.push(cur);
        // The smallest unscheduled predecessor, for a deterministic report.
        match preds[cur].iter().copied().filter(|&p| stuck(p)).min() {
            Some(p) => cur = p,
            None => return walk, // unreachable for a consistent in-degree table
        }
    }
    let mut cycle = walk.split_off(seen_at[cur]);
    // The walk followed predecessors; reverse it so each operator feeds the next.
    cycle.reverse();
    // Start the report at the smallest operator index.
    if let Some(min_pos) = (0..cycle.len()).min_by_key(|&k| cycle[k]) {
        cycle.rotate_left(min_pos);
    }
    cycle
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topological_file_order_is_kept() {
        let preds = vec![vec![], vec![0], vec![0], vec![1, 2]];
        assert_eq!(order(&preds), Ordering::Order(vec![0, 1, 2, 3]));
    }

    #[test]
    fn non_topological_order_is_fixed_smallest_first() {
        // op0 reads op2, op1 is independent, op2 is a source.
        let preds = vec![vec![2], vec![], vec![]];
        assert_eq!(order(&preds), Ordering::Order(vec![1, 2, 0]));
    }

    #[test]
    fn cycle_is_reported_in_feeding_order() {
        // 0 -> 1 -> 2 -> 1, and 3 reads 2.
        let preds = vec![vec![], vec![0, 2], vec![1], vec![2]];
        assert_eq!(order(&preds), Ordering::Cycle(vec![1, 2]));
        // 0 -> 2 -> 1 -> 0
        let preds = vec![vec![1], vec![2], vec![0]];
        assert_eq!(order(&preds), Ordering::Cycle(vec![0, 2, 1]));
    }

    #[test]
    fn self_loop_is_a_cycle() {
        let preds = vec![vec![], vec![1, 0]];
        assert_eq!(order(&preds), Ordering::Cycle(vec![1]));
    }
}
