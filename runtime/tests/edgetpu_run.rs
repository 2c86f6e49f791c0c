//! The Edge TPU backend against the real TFLite C library and the stand-in libedgetpu: wrapped
//! fixture models (one `edgetpu-custom-op` embedding the model) reproduce the committed goldens.

#![cfg(feature = "edgetpu")]

mod common;
mod edgetpu_support;
use edgetpu_support as support;

use common::npz;
use support::{build_standin, config, models_dir, toolchain, wrap_as_edgetpu, Hooks, Standin};
use tpupipe_runtime::edgetpu::{
    Assignment, BulkInQueueLength, DelegateOptions, EdgeTpuBackend, EdgeTpuStage, Performance,
    StageOptions,
};

/// Integer fixtures: the shared TFLite library reproduces their goldens bit for bit.
const EXACT_MODELS: &[&str] = &[
    "fc_tanh",
    "fc_per_tensor",
    "conv_small",
    "conv_residual",
    "conv_uint8_io",
    "zero_bias",
    "mobilenet_v2",
];

type Arrays = Vec<(String, npz::Array)>;

fn load_fixture(name: &str) -> (Vec<u8>, Arrays, Arrays) {
    let dir = models_dir();
    let model = std::fs::read(dir.join(format!("{name}.tflite"))).unwrap();
    let inputs = npz::read_npz(dir.join(format!("{name}.inputs.npz"))).unwrap();
    let outputs = npz::read_npz(dir.join(format!("{name}.outputs.npz"))).unwrap();
    (model, inputs, outputs)
}

/// Runs `stage` on `inputs` (matched by name) and returns its outputs by name.
fn run_by_name(stage: &mut EdgeTpuStage, inputs: &Arrays) -> Vec<(String, Vec<u8>)> {
    let ins: Vec<&[u8]> = stage
        .inputs()
        .iter()
        .map(|t| {
            inputs
                .iter()
                .find(|(n, _)| *n == t.name)
                .unwrap_or_else(|| panic!("no input '{}' in the npz", t.name))
                .1
                .data
                .as_slice()
        })
        .collect();
    let mut outs: Vec<Vec<u8>> = stage
        .outputs()
        .iter()
        .map(|t| vec![0u8; t.bytes.0 as usize])
        .collect();
    let mut out_refs: Vec<&mut [u8]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
    stage.run(&ins, &mut out_refs).unwrap();
    let names: Vec<String> = stage.outputs().iter().map(|t| t.name.clone()).collect();
    names.into_iter().zip(outs).collect()
}

#[test]
fn wrapped_fixtures_reproduce_goldens_bit_for_bit() {
    let Some(tc) = toolchain() else { return };
    let lib = build_standin(
        &tc,
        &Standin {
            devices: "usb:/sys/bus/usb/devices/2-1",
            defines: &[],
        },
    );
    let backend = EdgeTpuBackend::open(&config(&tc, &lib)).unwrap();
    let mut checked = 0;
    for name in EXACT_MODELS {
        let (model, inputs, goldens) = load_fixture(name);
        let mut stages = backend
            .open_stages(
                vec![wrap_as_edgetpu(&model, false)],
                &Assignment::Automatic,
                &StageOptions::default(),
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let stage = &mut stages[0];
        assert_eq!(stage.inputs().len(), inputs.len(), "{name}");
        // Twice: a second inference must not depend on the first.
        for _ in 0..2 {
            let got = run_by_name(stage, &inputs);
            assert_eq!(got.len(), goldens.len(), "{name}");
            for (gname, want) in &goldens {
                let (_, data) = got
                    .iter()
                    .find(|(n, _)| n == gname)
                    .unwrap_or_else(|| panic!("{name}: no output '{gname}'"));
                assert!(
                    data == &want.data,
                    "{name}: output '{gname}' differs from the golden"
                );
            }
        }
        checked += 1;
        // The stage (and its device lock) goes before the next model takes the device.
    }
    assert_eq!(checked, EXACT_MODELS.len());
}

/// fc_float_io: the shared library's builtin kernels differ from the goldens' LiteRT 2.3.0 by
/// at most 11 ulp (its README); through the backend the outputs stay within that.
#[test]
fn float_io_fixture_is_within_the_librarys_known_ulp_of_the_golden() {
    let Some(tc) = toolchain() else { return };
    let lib = build_standin(
        &tc,
        &Standin {
            devices: "pci:/dev/apex_0",
            defines: &[],
        },
    );
    let backend = EdgeTpuBackend::open(&config(&tc, &lib)).unwrap();
    let (model, inputs, goldens) = load_fixture("fc_float_io");
    let mut stages = backend
        .open_stages(
            vec![wrap_as_edgetpu(&model, false)],
            &Assignment::Automatic,
            &StageOptions::default(),
        )
        .unwrap();
    let got = run_by_name(&mut stages[0], &inputs);
    let (gname, want) = &goldens[0];
    let data = &got.iter().find(|(n, _)| n == gname).unwrap().1;
    assert_eq!(data.len(), want.data.len());
    let max_ulp = data
        .chunks(4)
        .zip(want.data.chunks(4))
        .map(|(a, b)| {
            let a = i32::from_le_bytes(a.try_into().unwrap());
            let b = i32::from_le_bytes(b.try_into().unwrap());
            (a - b).unsigned_abs()
        })
        .max()
        .unwrap();
    eprintln!("fc_float_io: max difference {max_ulp} ulp");
    assert!(max_ulp <= 16, "{max_ulp} ulp from the golden");
}

/// Two stages get two devices, each pinned by path: every inference of a stage runs on its own
/// device (the stand-in counts kernel runs per device), with the options passed through.
#[test]
fn each_stage_runs_on_its_own_device() {
    let Some(tc) = toolchain() else { return };
    let a = "/sys/bus/usb/devices/3-1";
    let b = "/sys/bus/usb/devices/3-2";
    let lib = build_standin(
        &tc,
        &Standin {
            devices: &format!("usb:{a},usb:{b}"),
            defines: &[],
        },
    );
    let backend = EdgeTpuBackend::open(&config(&tc, &lib)).unwrap();
    let (m1, in1, gold1) = load_fixture("fc_tanh");
    let (m2, in2, gold2) = load_fixture("conv_small");
    let options = StageOptions {
        delegate: DelegateOptions {
            performance: Some(Performance::High),
            usb_max_bulk_in_queue_length: Some(BulkInQueueLength::new(16).unwrap()),
        },
        ..StageOptions::default()
    };
    // Explicit, in reverse order: stage 0 on usb:1, stage 1 on usb:0.
    let mut stages = backend
        .open_stages(
            vec![wrap_as_edgetpu(&m1, false), wrap_as_edgetpu(&m2, false)],
            &Assignment::parse_list("usb:1,usb:0").unwrap(),
            &options,
        )
        .unwrap();
    assert_eq!(stages[0].device().path, b);
    assert_eq!(stages[1].device().path, a);
    let hooks = Hooks::new(&lib);
    let invocations = |path: &str| hooks.invocations(path);
    // One warm-up run each.
    assert_eq!((invocations(a), invocations(b)), (1, 1));
    for _ in 0..3 {
        let out = run_by_name(&mut stages[0], &in1);
        assert_eq!(out[0].1, gold1[0].1.data);
    }
    let out = run_by_name(&mut stages[1], &in2);
    assert_eq!(out[0].1, gold2[0].1.data);
    assert_eq!((invocations(a), invocations(b)), (2, 4));
    // Dropping a stage frees its delegate, which closes its device.
    assert_eq!((hooks.open_refs(a), hooks.open_refs(b)), (1, 1));
    drop(stages.remove(0));
    assert_eq!((hooks.open_refs(a), hooks.open_refs(b)), (1, 0));
}

/// A stage is `Send`: it can be moved to a worker thread and run there.
#[test]
fn a_stage_runs_on_another_thread() {
    let Some(tc) = toolchain() else { return };
    let lib = build_standin(
        &tc,
        &Standin {
            devices: "usb:/sys/bus/usb/devices/4-1",
            defines: &[],
        },
    );
    let backend = EdgeTpuBackend::open(&config(&tc, &lib)).unwrap();
    let (model, inputs, goldens) = load_fixture("conv_uint8_io");
    let mut stage = backend
        .open_stages(
            vec![wrap_as_edgetpu(&model, false)],
            &Assignment::Automatic,
            &StageOptions::default(),
        )
        .unwrap()
        .pop()
        .unwrap();
    let out = std::thread::spawn(move || run_by_name(&mut stage, &inputs))
        .join()
        .unwrap();
    assert_eq!(out[0].1, goldens[0].1.data);
}

/// With CPU ops allowed, the delegate claims only the custom op and TFLite runs the RESHAPE
/// left after it on the CPU.
#[test]
fn cpu_ops_run_after_the_custom_op_when_allowed() {
    let Some(tc) = toolchain() else { return };
    let lib = build_standin(
        &tc,
        &Standin {
            devices: "usb:/sys/bus/usb/devices/4-2",
            defines: &[],
        },
    );
    let backend = EdgeTpuBackend::open(&config(&tc, &lib)).unwrap();
    let (model, inputs, goldens) = load_fixture("fc_per_tensor");
    let options = StageOptions {
        allow_cpu_ops: true,
        ..StageOptions::default()
    };
    let mut stages = backend
        .open_stages(
            vec![wrap_as_edgetpu(&model, true)],
            &Assignment::Automatic,
            &options,
        )
        .unwrap();
    let out = run_by_name(&mut stages[0], &inputs);
    assert_eq!(out[0].0, "reshaped");
    assert_eq!(out[0].1, goldens[0].1.data);
}
