//! # tpupipe-compiler
//!
//! The build-time half of tpupipe: reads a TFLite model, analyses its graph, plans where to cut it
//! into segments (one per Edge TPU), writes each segment as a standalone `.tflite`, and drives
//! `edgetpu_compiler`. The `tpupipe` command-line tool lives in [`cli`].

#![warn(missing_docs)]

pub mod cli;
pub mod cost;
pub mod edgetpu;
pub mod graph;
pub mod model_file;
pub mod npz;
pub mod plan_json;
pub mod planner;
pub mod segment;
pub mod split;
pub mod svg;
pub mod synth;
