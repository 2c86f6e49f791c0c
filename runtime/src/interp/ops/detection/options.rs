//! The operator's options, read from its FlexBuffer custom options as TFLite's `Init` reads
//! them, then checked once at load time (TFLite checks several of them on every `Invoke`).

use crate::interp::ops::flexbuffer::{FlexMap, FlexValue};

/// TFLite's default for `detections_per_class` (`kNumDetectionsPerClass`).
const DEFAULT_DETECTIONS_PER_CLASS: i32 = 100;

/// The decoding scales of a center-size box encoding (`y_scale`, `x_scale`, `h_scale`,
/// `w_scale`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BoxScales {
    /// Divides the encoded center y.
    pub y: f32,
    /// Divides the encoded center x.
    pub x: f32,
    /// Divides the encoded log-height.
    pub h: f32,
    /// Divides the encoded log-width.
    pub w: f32,
}

/// Which non-maximum suppression the operator runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NmsMode {
    /// `use_regular_nms = false`: one class-agnostic NMS over each box's best class score,
    /// reporting up to `max_classes_per_detection` classes per surviving box.
    Fast {
        /// `max_classes_per_detection`, at least 1.
        max_classes_per_detection: usize,
    },
    /// `use_regular_nms = true`: NMS per class, then the best `max_detections` over all classes.
    Regular {
        /// `min(detections_per_class, max_detections)`, at least 1.
        detections_per_class: usize,
    },
}

/// The checked options of one `TFLite_Detection_PostProcess` operator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DetectionOptions {
    /// `max_detections`, at least 1.
    pub max_detections: usize,
    /// `max_classes_per_detection` as written (it sizes the outputs in both modes).
    pub max_classes_per_detection: usize,
    /// The NMS variant.
    pub mode: NmsMode,
    /// `nms_score_threshold`: scores below it are dropped (`score >= threshold` is kept).
    pub score_threshold: f32,
    /// `nms_iou_threshold`, in `(0, 1]`: a box overlapping a better one by more is suppressed.
    pub iou_threshold: f32,
    /// `num_classes`, at least 1 (not counting a background class).
    pub num_classes: usize,
    /// The box decoding scales.
    pub scales: BoxScales,
}

impl DetectionOptions {
    /// Reads and checks the options; the error says which option is wrong and why.
    pub fn parse(custom_options: &[u8]) -> Result<Self, String> {
        let map = FlexMap::parse(custom_options).map_err(|e| e.to_string())?;
        let int = |key: &str, default: Option<i32>| -> Result<i32, String> {
            match map.get(key).map_err(|e| e.to_string())? {
                FlexValue::Scalar(s) => s
                    .as_i32()
                    .ok_or_else(|| format!("option '{key}' ({s:?}) is not a 32-bit integer")),
                FlexValue::Null => default.ok_or_else(|| format!("option '{key}' is missing")),
                FlexValue::Other(t) => Err(format!(
                    "option '{key}' has FlexBuffer type {t}, not a number"
                )),
            }
        };
        let float = |key: &str| -> Result<f32, String> {
            match map.get(key).map_err(|e| e.to_string())? {
                FlexValue::Scalar(s) => Ok(s.as_f32()),
                FlexValue::Null => Err(format!("option '{key}' is missing")),
                FlexValue::Other(t) => Err(format!(
                    "option '{key}' has FlexBuffer type {t}, not a number"
                )),
            }
        };
        let regular = match map.get("use_regular_nms").map_err(|e| e.to_string())? {
            FlexValue::Null => false,
            FlexValue::Scalar(s) => s.as_bool(),
            FlexValue::Other(t) => {
                return Err(format!(
                    "option 'use_regular_nms' has FlexBuffer type {t}, not a boolean"
                ))
            }
        };
        let max_detections = int("max_detections", None)?;
        let max_classes = int("max_classes_per_detection", None)?;
        let per_class = int("detections_per_class", Some(DEFAULT_DETECTIONS_PER_CLASS))?;
        let num_classes = int("num_classes", None)?;
        let score_threshold = float("nms_score_threshold")?;
        let iou_threshold = float("nms_iou_threshold")?;
        let scales = BoxScales {
            y: float("y_scale")?,
            x: float("x_scale")?,
            h: float("h_scale")?,
            w: float("w_scale")?,
        };

        if max_detections < 1 {
            return Err(format!(
                "max_detections is {max_detections}; it must be at least 1"
            ));
        }
        if num_classes < 1 {
            return Err(format!(
                "num_classes is {num_classes}; it must be at least 1"
            ));
        }
        // Both modes need a row per detection: regular NMS writes `max_detections` rows into
        // outputs of `max_detections * max_classes_per_detection` rows (TFLite does not check,
        // and writes past the end when this is 0).
        if max_classes < 1 {
            return Err(format!(
                "max_classes_per_detection is {max_classes}; it must be at least 1"
            ));
        }
        if regular && per_class < 1 {
            return Err(format!(
                "detections_per_class is {per_class}; regular NMS needs at least 1"
            ));
        }
        let output_rows = (max_detections as i64) * (max_classes as i64);
        if output_rows > i32::MAX as i64 {
            return Err(format!(
                "max_detections * max_classes_per_detection = {output_rows} overflows int32"
            ));
        }
        if !(iou_threshold > 0.0 && iou_threshold <= 1.0) {
            return Err(format!(
                "nms_iou_threshold is {iou_threshold}; it must lie in (0, 1]"
            ));
        }
        for (name, s) in [
            ("y_scale", scales.y),
            ("x_scale", scales.x),
            ("h_scale", scales.h),
            ("w_scale", scales.w),
        ] {
            if !s.is_finite() || s == 0.0 {
                return Err(format!("{name} is {s}; it must be finite and non-zero"));
            }
        }
        let max_detections = max_detections as usize;
        let mode = if regular {
            NmsMode::Regular {
                detections_per_class: (per_class as usize).min(max_detections),
            }
        } else {
            NmsMode::Fast {
                max_classes_per_detection: max_classes as usize,
            }
        };
        Ok(DetectionOptions {
            max_detections,
            max_classes_per_detection: max_classes as usize,
            mode,
            score_threshold,
            iou_threshold,
            num_classes: num_classes as usize,
            scales,
        })
    }

    /// Rows of the boxes, classes and scores outputs: `max_detections * max_classes_per_detection`.
    pub fn output_rows(&self) -> usize {
        self.max_detections * self.max_classes_per_detection
    }
}
