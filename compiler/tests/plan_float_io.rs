//! Float-I/O twins of the paper's families plan like their int8 twins: the float ends
//! (QUANTIZE of the input, DEQUANTIZE of the output) are host work fused into the neighbouring
//! Edge TPU segment, not a TPU of their own, so the TPU cuts are the twin's and the bottleneck
//! is the twin's plus at most the host time of the ends. Models are made in-process.

use tpupipe_compiler::planner::layout::Device;
use tpupipe_compiler::synth::{synth_conv, synth_fc, ConvSpec, FcSpec};
use tpupipe_compiler::{Builder, PlanReport};

fn plan(name: &str, bytes: &[u8], tpus: usize) -> PlanReport {
    Builder::from_bytes(name, bytes.to_vec())
        .tpus(tpus)
        .host_cores(4)
        .plan()
        .unwrap_or_else(|e| panic!("{name} at {tpus} TPUs: {e}"))
}

/// The Edge TPU cores' ranges of a float-I/O plan, shifted back by the leading QUANTIZE.
fn tpu_ranges(report: &PlanReport, shift: usize) -> Vec<[usize; 2]> {
    report
        .segments
        .iter()
        .filter(|s| s.device == Device::EdgeTpu)
        .map(|s| {
            [
                s.op_range[0].saturating_sub(shift),
                (s.op_range[1] - shift).min(report.op_count - 2 * shift),
            ]
        })
        .collect()
}

fn check_twins(label: &str, float: &[u8], int8: &[u8]) {
    for tpus in 1..=4 {
        let f = plan("float.tflite", float, tpus);
        let i = plan("int8.tflite", int8, tpus);
        assert_eq!(
            f.op_count,
            i.op_count + 2,
            "{label}: QUANTIZE and DEQUANTIZE added"
        );
        assert_eq!(f.tpus, tpus);
        let ends: f64 = f.segments.iter().map(|s| s.host_ms).sum();
        println!(
            "{label} x{tpus}: float {:.3} ms ({} stages, ends {:.3} ms host), int8 {:.3} ms, compiler's own {:.3} ms ({:.2}x)",
            f.bottleneck_ms,
            f.segments.len(),
            ends,
            i.bottleneck_ms,
            f.compiler_ms,
            f.speedup_vs_compiler
        );
        assert!(
            f.segments
                .iter()
                .filter(|s| s.device == Device::Cpu)
                .all(|s| s.op_range == [0, 1] || s.op_range == [f.op_count - 1, f.op_count]),
            "{label} x{tpus}: only the float ends may be CPU stages: {:?}",
            f.segments
        );
        assert_eq!(
            tpu_ranges(&f, 1),
            tpu_ranges(&i, 0),
            "{label} x{tpus}: same TPU cuts"
        );
        assert!(
            f.bottleneck_ms <= 1.05 * (i.bottleneck_ms + ends),
            "{label} x{tpus}: {} ms vs the twin's {} + {} ms",
            f.bottleneck_ms,
            i.bottleneck_ms,
            ends
        );
        assert!(f.bottleneck_ms >= i.bottleneck_ms * 0.95);
    }
}

#[test]
fn the_float_io_conv_family_plans_like_its_int8_twin() {
    for filters in [96, 224] {
        let mut spec = ConvSpec::new(filters, 5, 64);
        let int8 = synth_conv(&spec).unwrap();
        spec.float_io = true;
        let float = synth_conv(&spec).unwrap();
        check_twins(&format!("conv F={filters}"), &float, &int8);
    }
}

#[test]
fn the_float_io_fc_family_plans_like_its_int8_twin() {
    for hidden in [256, 2500] {
        let mut spec = FcSpec::new(hidden, 4);
        let int8 = synth_fc(&spec).unwrap();
        spec.float_io = true;
        let float = synth_fc(&spec).unwrap();
        check_twins(&format!("fc N={hidden}"), &float, &int8);
    }
}
