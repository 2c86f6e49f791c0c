//! `TFLite_Detection_PostProcess`, the custom operator that ends SSD-style detection models:
//! decodes box encodings against anchors, runs non-maximum suppression and writes the boxes,
//! classes, scores and number of detections, all float32.
//!
//! It reproduces LiteRT's kernel (`tflite/kernels/detection_postprocess.cc` as built into
//! ai-edge-litert 2.3.0, one thread) bit for bit: the decoding's `f32`/`f64` order of operations
//! ([`decode`]), the two dequantizations of uint8 inputs, both NMS variants with TFLite's tie
//! order ([`nms`], [`stdsort`]) and the zero padding of regular NMS.
//!
//! Inputs: box encodings `[1, boxes, >= 4]`, class predictions `[1, boxes, num_classes (+1 with
//! a background column)]`, anchors `[boxes, 4]`; float32 or uint8 (per-tensor quantized), as
//! TFLite accepts. Outputs: boxes `[1, rows, 4]`, classes `[1, rows]`, scores `[1, rows]` and
//! the count `[1]`, where `rows = max_detections * max_classes_per_detection`. Everything TFLite
//! would reject at run time, or silently misread, is refused at load with the reason.

mod decode;
mod nms;
mod options;
mod stdsort;

use self::decode::{decode_box, CenterSize, Corners, ScoreTables, U8Quant};
use self::nms::{NmsParams, ScoreLayout};
use self::options::{DetectionOptions, NmsMode};
use crate::dtype::ElementType;
use crate::interp::error::{EvalError, LoadError};
use crate::interp::kernel::{as_f32, as_f32_mut, le_f32s, Kernel, PrepareCtx, TensorInfo};
use crate::schema::CustomOptionsFormat;

/// The custom code of the operator.
pub const CUSTOM_CODE: &str = "TFLite_Detection_PostProcess";

/// How an 8-bit or float input is read.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Element {
    F32,
    U8(U8Quant),
}

/// Where the anchors come from.
enum Anchors {
    /// A constant tensor, decoded to floats at load time.
    Constant(Vec<CenterSize>),
    /// A runtime tensor.
    Runtime(Element),
}

struct DetectionPostProcess {
    opts: DetectionOptions,
    num_boxes: usize,
    /// Values per box encoding (4, or more with keypoints).
    encoding_len: usize,
    encodings: Element,
    anchors: Anchors,
    layout: ScoreLayout,
    /// The uint8 score tables, when the class predictions are uint8.
    score_tables: Option<ScoreTables>,
    /// Scratch: decoded boxes and dequantized scores.
    decoded: Vec<Corners>,
    scores: Vec<f32>,
}

fn element(ctx: &PrepareCtx<'_>, t: &TensorInfo<'_>, what: &str) -> Result<Element, LoadError> {
    match t.dtype {
        ElementType::F32 => Ok(Element::F32),
        ElementType::U8 => {
            let (scale, zero_point) = t.scale_zp().ok_or_else(|| {
                ctx.unsupported(format!(
                    "uint8 {what} '{}' must have per-tensor quantization parameters",
                    t.name
                ))
            })?;
            Ok(Element::U8(U8Quant { scale, zero_point }))
        }
        other => Err(ctx.unsupported(format!(
            "{what} of type {other} are not supported (TFLite's kernel takes float32 or uint8)"
        ))),
    }
}

/// Prepares `TFLite_Detection_PostProcess`.
pub fn prepare(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    let raw = ctx.op.raw();
    if raw.custom_options_format() != CustomOptionsFormat::FLEXBUFFERS {
        return Err(ctx.invalid(format!(
            "custom options format {:?} is not FLEXBUFFERS",
            raw.custom_options_format()
        )));
    }
    let bytes = raw.custom_options().map(|v| v.bytes()).unwrap_or(&[]);
    let opts = DetectionOptions::parse(bytes).map_err(|e| ctx.invalid(e))?;

    if ctx.inputs.len() != 3 || ctx.outputs.len() != 4 {
        return Err(ctx.invalid(format!(
            "expected 3 inputs (box encodings, class predictions, anchors) and 4 outputs, found \
             {} and {}",
            ctx.inputs.len(),
            ctx.outputs.len()
        )));
    }
    let enc = ctx.input(0)?;
    let cls = ctx.input(1)?;
    let anc = ctx.input(2)?;
    if enc.shape.len() != 3 || enc.shape[0] != 1 || enc.shape[2] < 4 {
        return Err(ctx.invalid(format!(
            "box encodings '{}' have shape {:?}; expected [1, boxes, 4 or more]",
            enc.name, enc.shape
        )));
    }
    let (num_boxes, encoding_len) = (enc.shape[1], enc.shape[2]);
    if cls.shape.len() != 3 || cls.shape[0] != 1 || cls.shape[1] != num_boxes {
        return Err(ctx.invalid(format!(
            "class predictions '{}' have shape {:?}; expected [1, {num_boxes}, classes]",
            cls.name, cls.shape
        )));
    }
    let stride = cls.shape[2];
    if stride != opts.num_classes && stride != opts.num_classes + 1 {
        return Err(ctx.invalid(format!(
            "class predictions have {stride} columns; num_classes = {} needs {} (or one more \
             for a background class)",
            opts.num_classes, opts.num_classes
        )));
    }
    if anc.shape != [num_boxes, 4] {
        return Err(ctx.invalid(format!(
            "anchors '{}' have shape {:?}; expected [{num_boxes}, 4]",
            anc.name, anc.shape
        )));
    }
    let encodings = element(ctx, enc, "box encodings")?;
    let score_elem = element(ctx, cls, "class predictions")?;
    let anchor_elem = element(ctx, anc, "anchors")?;
    // TFLite reads the anchors as uint8 whenever the encodings are uint8 (and requires float
    // anchors with float encodings): other pairings would be misread, so they are refused.
    if matches!(encodings, Element::F32) != matches!(anchor_elem, Element::F32) {
        return Err(ctx.unsupported(format!(
            "box encodings of type {} need anchors of the same type, not {} (TFLite reads the \
             anchors with the encodings' type)",
            enc.dtype, anc.dtype
        )));
    }
    let rows = opts.output_rows();
    let expected: [(&str, Vec<usize>); 4] = [
        ("detection boxes", vec![1, rows, 4]),
        ("detection classes", vec![1, rows]),
        ("detection scores", vec![1, rows]),
        ("number of detections", vec![1]),
    ];
    for (k, (what, shape)) in expected.iter().enumerate() {
        let out = ctx.output(k)?;
        if out.dtype != ElementType::F32 || out.shape != *shape {
            return Err(ctx.invalid(format!(
                "output {k} ({what}) '{}' is {} {:?}; TFLite writes float32 {shape:?} \
                 (max_detections {} x max_classes_per_detection {})",
                out.name, out.dtype, out.shape, opts.max_detections, opts.max_classes_per_detection
            )));
        }
    }
    let anchors = match anc.data {
        Some(data) => Anchors::Constant(read_anchors(anchor_elem, data, num_boxes)),
        None => Anchors::Runtime(anchor_elem),
    };
    let score_tables = match score_elem {
        Element::U8(q) => Some(ScoreTables::new(q)),
        Element::F32 => None,
    };
    Ok(Box::new(DetectionPostProcess {
        opts,
        num_boxes,
        encoding_len,
        encodings,
        anchors,
        layout: ScoreLayout {
            stride,
            label_offset: stride - opts.num_classes,
            num_classes: opts.num_classes,
        },
        score_tables,
        decoded: vec![[0.0; 4]; num_boxes],
        scores: vec![0.0; num_boxes * stride],
    }))
}

/// Anchors as `(y, x, h, w)` floats; `data` holds `4 * num_boxes` elements (little-endian for
/// float32).
fn read_anchors(elem: Element, data: &[u8], num_boxes: usize) -> Vec<CenterSize> {
    let values: Vec<f32> = match elem {
        Element::F32 => le_f32s(data),
        Element::U8(q) => data.iter().map(|&b| q.dequantize(b)).collect(),
    };
    values
        .chunks_exact(4)
        .take(num_boxes)
        .map(|c| [c[0], c[1], c[2], c[3]])
        .collect()
}

fn input<'b>(inputs: &[Option<&'b [u8]>], k: usize) -> Result<&'b [u8], EvalError> {
    inputs
        .get(k)
        .copied()
        .flatten()
        .ok_or_else(|| EvalError(format!("missing input {k}")))
}

impl DetectionPostProcess {
    fn decode_boxes(&mut self, enc: &[u8], anchors_rt: Option<&[u8]>) -> Result<(), EvalError> {
        let n = self.num_boxes;
        let len = self.encoding_len;
        let runtime_anchors: Option<Vec<CenterSize>> = match (&self.anchors, anchors_rt) {
            (Anchors::Runtime(elem), Some(bytes)) => {
                let values: Vec<f32> = match elem {
                    Element::F32 => as_f32(bytes)?.to_vec(),
                    Element::U8(q) => bytes.iter().map(|&b| q.dequantize(b)).collect(),
                };
                if values.len() < 4 * n {
                    return Err(EvalError(format!(
                        "anchors hold {} values, {} needed",
                        values.len(),
                        4 * n
                    )));
                }
                Some(
                    values
                        .chunks_exact(4)
                        .map(|c| [c[0], c[1], c[2], c[3]])
                        .collect(),
                )
            }
            (Anchors::Runtime(_), None) => return Err(EvalError("missing anchors".into())),
            (Anchors::Constant(_), _) => None,
        };
        let anchors: &[CenterSize] = match (&self.anchors, &runtime_anchors) {
            (Anchors::Constant(a), _) => a,
            (_, Some(a)) => a,
            _ => unreachable!("runtime anchors were read above"),
        };
        let scales = self.opts.scales;
        match self.encodings {
            Element::F32 => {
                let e = as_f32(enc)?;
                if e.len() < n * len {
                    return Err(EvalError("box encodings are too short".into()));
                }
                for (i, out) in self.decoded.iter_mut().enumerate() {
                    let r = &e[i * len..i * len + 4];
                    *out = decode_box([r[0], r[1], r[2], r[3]], anchors[i], &scales);
                }
            }
            Element::U8(q) => {
                if enc.len() < n * len {
                    return Err(EvalError("box encodings are too short".into()));
                }
                for (i, out) in self.decoded.iter_mut().enumerate() {
                    let r = &enc[i * len..i * len + 4];
                    let e = [r[0], r[1], r[2], r[3]].map(|b| q.dequantize(b));
                    *out = decode_box(e, anchors[i], &scales);
                }
            }
        }
        // `ValidateBoxes`: TFLite fails the inference on an inverted box (a negative anchor
        // size). NaN corners pass, as in TFLite.
        if let Some((i, b)) = self
            .decoded
            .iter()
            .enumerate()
            .find(|(_, b)| b[0] > b[2] || b[1] > b[3])
        {
            return Err(EvalError(format!(
                "decoded box {i} is inverted (ymin {}, xmin {}, ymax {}, xmax {}); TFLite \
                 rejects such boxes",
                b[0], b[1], b[2], b[3]
            )));
        }
        Ok(())
    }
}

impl Kernel for DetectionPostProcess {
    fn eval(
        &mut self,
        inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError> {
        let enc = input(inputs, 0)?;
        let cls = input(inputs, 1)?;
        let anchors_rt = inputs.get(2).copied().flatten();
        self.decode_boxes(enc, anchors_rt)?;
        let want = self.num_boxes * self.layout.stride;
        let float_scores;
        let scores: &[f32] = match &self.score_tables {
            Some(t) => {
                if cls.len() < want {
                    return Err(EvalError("class predictions are too short".into()));
                }
                t.dequantize(&cls[..want], &mut self.scores);
                &self.scores
            }
            None => {
                float_scores = as_f32(cls)?;
                if float_scores.len() < want {
                    return Err(EvalError("class predictions are too short".into()));
                }
                &float_scores[..want]
            }
        };
        let params = NmsParams {
            boxes: &self.decoded,
            score_threshold: self.opts.score_threshold,
            iou_threshold: self.opts.iou_threshold,
        };
        let max_det = self.opts.max_detections;
        let (slots, count) = match self.opts.mode {
            NmsMode::Fast {
                max_classes_per_detection,
            } => nms::fast(
                &params,
                scores,
                &self.layout,
                max_det,
                max_classes_per_detection,
            ),
            NmsMode::Regular {
                detections_per_class,
            } => {
                let found =
                    nms::regular(&params, scores, &self.layout, max_det, detections_per_class);
                let n = found.len();
                (found.into_iter().map(Some).collect(), n)
            }
        };
        let [boxes_out, classes_out, scores_out, count_out] = outputs else {
            return Err(EvalError(format!(
                "expected 4 outputs, got {}",
                outputs.len()
            )));
        };
        let boxes_out = as_f32_mut(boxes_out)?;
        let classes_out = as_f32_mut(classes_out)?;
        let scores_out = as_f32_mut(scores_out)?;
        let count_out = as_f32_mut(count_out)?;
        boxes_out.fill(0.0);
        classes_out.fill(0.0);
        scores_out.fill(0.0);
        for (slot, d) in slots.iter().enumerate() {
            if let Some(d) = d {
                boxes_out[4 * slot..4 * slot + 4].copy_from_slice(&self.decoded[d.anchor]);
                classes_out[slot] = d.class as f32;
                scores_out[slot] = d.score;
            }
        }
        count_out[0] = count as f32;
        Ok(())
    }
}
