//! Non-maximum suppression, as TFLite's detection kernel runs it (one thread).
//!
//! - [`single_class`] (`NonMaxSuppressionSingleClassHelper`): keeps the scores `>= threshold`,
//!   orders them by a *stable* descending sort (ties keep box order), then walks them, selecting
//!   each still-active box and deactivating every later one whose IoU with it is above the
//!   threshold, until `max_detections` are selected.
//! - [`fast`] (`NonMaxSuppressionMultiClassFastHelper`): per box, the best
//!   `min(max_classes_per_detection, num_classes)` classes by `DecreasingPartialArgSort`
//!   (the first maximum for one class, libstdc++'s unstable `partial_sort` for more), one
//!   single-class NMS over each box's best score, then each selected box repeated for its classes.
//! - [`regular`] (the one-thread path of `NonMaxSuppressionMultiClassRegularHelper`): a
//!   single-class NMS per class, each class's selections merged into the running list with a
//!   stable merge (`std::inplace_merge`: earlier classes win ties), cut to `max_detections`.
//!
//! The kernel writes zeros to every output slot these leave empty (TFLite leaves the empty slots
//! of fast NMS unwritten; see docs/interpreter-exactness.md).

use super::decode::Corners;
use super::stdsort::decreasing_partial_arg_sort;
use std::cmp::Ordering;

/// What both NMS variants need besides the scores.
pub struct NmsParams<'a> {
    /// The decoded boxes, one per anchor.
    pub boxes: &'a [Corners],
    /// `nms_score_threshold`.
    pub score_threshold: f32,
    /// `nms_iou_threshold`.
    pub iou_threshold: f32,
}

/// `std::max<float>(a, b)`: `a < b ? b : a`.
fn cmax(a: f32, b: f32) -> f32 {
    if a < b {
        b
    } else {
        a
    }
}

/// `std::min<float>(a, b)`: `b < a ? b : a`.
fn cmin(a: f32, b: f32) -> f32 {
    if b < a {
        b
    } else {
        a
    }
}

/// `ComputeIntersectionOverUnion`, operation for operation.
pub fn iou(a: &Corners, b: &Corners) -> f32 {
    let area_a = (a[2] - a[0]) * (a[3] - a[1]);
    let area_b = (b[2] - b[0]) * (b[3] - b[1]);
    if area_a <= 0.0 || area_b <= 0.0 {
        return 0.0;
    }
    let ymin = cmax(a[0], b[0]);
    let xmin = cmax(a[1], b[1]);
    let ymax = cmin(a[2], b[2]);
    let xmax = cmin(a[3], b[3]);
    let inter = cmax(ymax - ymin, 0.0) * cmax(xmax - xmin, 0.0);
    inter / (area_a + area_b - inter)
}

/// Single-class NMS over `scores` (one per box); writes the selected box indices, best first,
/// into `selected`.
pub fn single_class(
    p: &NmsParams<'_>,
    scores: &[f32],
    max_detections: usize,
    selected: &mut Vec<usize>,
) {
    selected.clear();
    let keep: Vec<usize> = (0..scores.len())
        .filter(|&i| scores[i] >= p.score_threshold)
        .collect();
    // Kept scores are never NaN (NaN >= t is false), so `>` is a strict weak order here and a
    // stable sort on it is fully determined; `partial_cmp` treats -0 and +0 as equal, as `>` does.
    let mut order: Vec<usize> = (0..keep.len()).collect();
    order.sort_by(|&i, &j| {
        scores[keep[j]]
            .partial_cmp(&scores[keep[i]])
            .unwrap_or(Ordering::Equal)
    });
    let output_size = keep.len().min(max_detections);
    let mut active = vec![true; keep.len()];
    let mut num_active = keep.len();
    for i in 0..keep.len() {
        if num_active == 0 || selected.len() >= output_size {
            break;
        }
        if !active[i] {
            continue;
        }
        let chosen = keep[order[i]];
        selected.push(chosen);
        active[i] = false;
        num_active -= 1;
        for j in i + 1..keep.len() {
            if active[j] && iou(&p.boxes[chosen], &p.boxes[keep[order[j]]]) > p.iou_threshold {
                active[j] = false;
                num_active -= 1;
            }
        }
    }
}

/// How the scores of all boxes are laid out: `scores[box * stride + label_offset + class]`.
pub struct ScoreLayout {
    /// Classes per box in the tensor (`num_classes` plus an optional background column).
    pub stride: usize,
    /// 1 when column 0 is a background class, else 0.
    pub label_offset: usize,
    /// `num_classes`.
    pub num_classes: usize,
}

/// One output row: the box, its class (without the background offset) and its score.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Detection {
    /// The box's index (its anchor).
    pub anchor: usize,
    /// The class index.
    pub class: usize,
    /// The score.
    pub score: f32,
}

/// Fast NMS. Returns the detections, `max_classes_per_detection` slots per selected box (slot
/// `k * max_classes_per_detection + c` for the `c`-th class of the `k`-th box; `None` for the
/// slots of a box with fewer classes), and the number of selected boxes.
pub fn fast(
    p: &NmsParams<'_>,
    scores: &[f32],
    layout: &ScoreLayout,
    max_detections: usize,
    max_classes_per_detection: usize,
) -> (Vec<Option<Detection>>, usize) {
    let num_boxes = p.boxes.len();
    let n = layout.num_classes;
    let per_box = max_classes_per_detection.min(n);
    let mut class_order = vec![0usize; num_boxes * n];
    let mut max_scores = vec![0f32; num_boxes];
    for row in 0..num_boxes {
        let base = row * layout.stride + layout.label_offset;
        let box_scores = &scores[base..base + n];
        let order = &mut class_order[row * n..(row + 1) * n];
        decreasing_partial_arg_sort(box_scores, per_box, order);
        max_scores[row] = box_scores[order[0]];
    }
    let mut selected = Vec::new();
    single_class(p, &max_scores, max_detections, &mut selected);
    let mut out = vec![None; max_detections * max_classes_per_detection];
    for (k, &anchor) in selected.iter().enumerate() {
        let base = anchor * layout.stride + layout.label_offset;
        for c in 0..per_box {
            let class = class_order[anchor * n + c];
            out[k * max_classes_per_detection + c] = Some(Detection {
                anchor,
                class,
                score: scores[base + class],
            });
        }
    }
    (out, selected.len())
}

/// Regular NMS: the detections, best first, at most `max_detections`.
pub fn regular(
    p: &NmsParams<'_>,
    scores: &[f32],
    layout: &ScoreLayout,
    max_detections: usize,
    detections_per_class: usize,
) -> Vec<Detection> {
    let num_boxes = p.boxes.len();
    let mut merged: Vec<Detection> = Vec::with_capacity(2 * max_detections);
    let mut class_scores = vec![0f32; num_boxes];
    let mut selected = Vec::with_capacity(detections_per_class);
    for class in 0..layout.num_classes {
        for (row, s) in class_scores.iter_mut().enumerate() {
            *s = scores[row * layout.stride + layout.label_offset + class];
        }
        single_class(p, &class_scores, detections_per_class, &mut selected);
        if selected.is_empty() {
            continue;
        }
        let fresh = selected.iter().map(|&anchor| Detection {
            anchor,
            class,
            score: class_scores[anchor],
        });
        merged = stable_merge(&merged, fresh);
        merged.truncate(max_detections);
    }
    merged
}

/// `std::inplace_merge` of two runs sorted by descending score: an element of the second run
/// goes first only if its score is strictly greater.
fn stable_merge(first: &[Detection], second: impl Iterator<Item = Detection>) -> Vec<Detection> {
    let mut out = Vec::with_capacity(first.len() + second.size_hint().0);
    let mut a = first.iter().copied().peekable();
    for b in second {
        while let Some(&x) = a.peek() {
            if b.score > x.score {
                break;
            }
            out.push(x);
            a.next();
        }
        out.push(b);
    }
    out.extend(a);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(boxes: &[Corners]) -> NmsParams<'_> {
        NmsParams {
            boxes,
            score_threshold: 0.1,
            iou_threshold: 0.5,
        }
    }

    #[test]
    fn iou_of_identical_disjoint_and_degenerate_boxes() {
        let a = [0.0, 0.0, 1.0, 1.0];
        assert_eq!(iou(&a, &a), 1.0);
        assert_eq!(iou(&a, &[2.0, 2.0, 3.0, 3.0]), 0.0);
        assert_eq!(iou(&a, &[0.5, 0.5, 0.5, 0.9]), 0.0);
        assert_eq!(iou(&a, &[0.0, 0.0, 1.0, 0.5]), 0.5);
    }

    #[test]
    fn single_class_suppresses_overlaps_and_breaks_ties_by_box_order() {
        let boxes = [
            [0.0, 0.0, 1.0, 1.0],
            [0.0, 0.0, 1.0, 0.9], // IoU 0.9 with box 0
            [5.0, 5.0, 6.0, 6.0],
            [5.0, 5.0, 6.0, 6.0], // same as box 2
        ];
        let p = params(&boxes);
        let mut sel = Vec::new();
        single_class(&p, &[0.5, 0.9, 0.7, 0.7], 10, &mut sel);
        assert_eq!(sel, [1, 2]);
        single_class(&p, &[0.5, 0.05, 0.7, 0.7], 1, &mut sel);
        assert_eq!(sel, [2]);
        single_class(&p, &[0.0; 4], 10, &mut sel);
        assert!(sel.is_empty());
    }

    #[test]
    fn regular_merges_classes_stably() {
        let boxes = [[0.0, 0.0, 1.0, 1.0], [2.0, 2.0, 3.0, 3.0]];
        let p = params(&boxes);
        let layout = ScoreLayout {
            stride: 3,
            label_offset: 1,
            num_classes: 2,
        };
        // Box 0: class scores 0.6, 0.8; box 1: 0.8, 0.6 (background column ignored).
        let scores = [0.99, 0.6, 0.8, 0.99, 0.8, 0.6];
        let got = regular(&p, &scores, &layout, 3, 5);
        let key: Vec<(usize, usize)> = got.iter().map(|d| (d.anchor, d.class)).collect();
        // The 0.8 of class 0 (box 1) was merged first, so it stays ahead of class 1's 0.8.
        assert_eq!(key, [(1, 0), (0, 1), (0, 0)]);
    }
}
