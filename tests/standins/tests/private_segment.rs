//! The private convention with the stand-in libedgetpu: the model under the custom option
//! `tpupipe_standin_segment` computes what the replaced operators compute. For every fixture
//! model compiled to a single custom op, running that model on tpupipe's interpreter with the
//! fixture's golden inputs reproduces the golden outputs (LiteRT's) bit for bit.

mod common;

use tpupipe_runtime::interp::Interpreter;
use tpupipe_runtime::npz::read_npz;
use tpupipe_runtime::{ModelView, OpKind};
use tpupipe_standins::options::{self, SEGMENT_KEY};

#[test]
fn the_private_segment_reproduces_the_golden_outputs() {
    let mut checked = 0;
    for path in common::fixture_models() {
        let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
        let dir = tempfile::tempdir().unwrap();
        let out = common::run(
            &["-o", dir.path().to_str().unwrap(), path.to_str().unwrap()],
            &[],
        );
        assert!(
            out.status.success(),
            "{stem}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let compiled = std::fs::read(dir.path().join(format!("{stem}_edgetpu.tflite"))).unwrap();
        let compiled = ModelView::parse(&compiled).unwrap();
        let sg = compiled.main_subgraph();
        let ops: Vec<_> = sg.operators().collect();
        let custom = ops
            .iter()
            .find(|op| matches!(op.kind(), OpKind::Custom("edgetpu-custom-op")))
            .expect("a custom op");
        let segment =
            options::bytes_of(custom.raw().custom_options().unwrap().bytes(), SEGMENT_KEY).unwrap();
        let segment = ModelView::parse(segment).unwrap();
        if ops.len() > 1 {
            // CPU ops around the custom op (fc_float_io): the segment is the int8 middle.
            let names = |ids: Vec<tpupipe_runtime::TensorId>| -> Vec<String> {
                ids.into_iter()
                    .map(|t| sg.tensor(t).name().to_string())
                    .collect()
            };
            let seg_sg = segment.main_subgraph();
            let seg_names = |ids: Vec<tpupipe_runtime::TensorId>| -> Vec<String> {
                ids.into_iter()
                    .map(|t| seg_sg.tensor(t).name().to_string())
                    .collect()
            };
            assert_eq!(seg_names(seg_sg.inputs()), names(custom.present_inputs()));
            assert_eq!(seg_names(seg_sg.outputs()), names(custom.outputs()));
            continue;
        }
        let mut interp = Interpreter::new(&segment).unwrap();
        let inputs = read_npz(path.with_extension("inputs.npz")).unwrap();
        for (name, array) in &inputs {
            interp.set_input_by_name(name, &array.data).unwrap();
        }
        interp.invoke().unwrap();
        let outputs = read_npz(path.with_extension("outputs.npz")).unwrap();
        for (name, array) in &outputs {
            assert_eq!(
                interp.output_bytes_by_name(name).unwrap(),
                &array.data[..],
                "{stem}: output {name}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 7, "most fixtures compile to one custom op");
}
