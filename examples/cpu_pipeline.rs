//! Plan and split a model with the compiler's `Builder`, run the segments as a pipeline on the
//! CPU (one worker thread per stage, as there would be one per Edge TPU), and check that the
//! pipeline reproduces the whole model's outputs bit for bit, for one item and for a stream.
//!
//! ```sh
//! cargo run --release --example cpu_pipeline -- tests/models/mobilenet_v2.tflite 4
//! ```

use std::error::Error;
use std::time::Instant;

use tpupipe::runtime::interp::Interpreter;
use tpupipe::runtime::pipeline::{
    read_segments, BackendChoice, Input, PlanPipeline, PlanPipelineOptions,
};
use tpupipe::runtime::ModelView;
use tpupipe_compiler::Builder;

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .unwrap_or_else(|| "tests/models/mobilenet_v2.tflite".to_string());
    let segments: usize = args.next().map_or(Ok(4), |s| s.parse())?;

    // Plan and split: `balanced` cuts for `segments` Edge TPUs, written to a scratch directory.
    let dir = std::env::temp_dir().join(format!("tpupipe-cpu-pipeline-{}", std::process::id()));
    let split = Builder::new(&path).tpus(segments).out_dir(&dir).split()?;
    let plan = &split.plan;
    println!(
        "{path}: {} ops, {} segments ({} strategy), cuts at {:?}",
        plan.op_count,
        plan.segments.len(),
        plan.strategy,
        plan.cuts
    );

    // The whole model on one interpreter, on deterministic pseudo-random inputs.
    let model_bytes = std::fs::read(&path)?;
    let mut full = Interpreter::new(&ModelView::parse(&model_bytes)?)?;
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut inputs: Vec<Vec<u8>> = Vec::new();
    for i in 0..full.input_count() {
        let bytes: Vec<u8> = (0..full.input(i)?.byte_size)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed >> 56) as u8
            })
            .collect();
        full.set_input(i, &bytes)?;
        inputs.push(bytes);
    }
    let start = Instant::now();
    full.invoke()?;
    println!("whole model: {:.2} ms", start.elapsed().as_secs_f64() * 1e3);

    // The pipeline, every stage on the CPU interpreter.
    let options = PlanPipelineOptions {
        backend: BackendChoice::Cpu,
        ..Default::default()
    };
    let mut built = PlanPipeline::new(plan, read_segments(plan, &dir)?, &options)?;
    let item: Vec<Input<'_>> = inputs.iter().map(|d| Input::bytes(d)).collect();
    let out = built.pipeline.infer(&item)?;
    for k in 0..full.output_count() {
        if out.get(k) != Some(full.output_bytes(k)?) {
            return Err(format!("output {k} differs between the pipeline and the model").into());
        }
    }
    drop(out);
    println!("one item: the pipeline reproduces the whole model's outputs bit for bit");

    let items = 50;
    let start = Instant::now();
    let mut ok = 0;
    for r in built.pipeline.run_iter((0..items).map(|_| item.as_slice())) {
        if r?.get(0) == Some(full.output_bytes(0)?) {
            ok += 1;
        }
    }
    let s = start.elapsed().as_secs_f64();
    println!(
        "{items} items streamed: {ok} bit-exact, {:.1} items/s",
        items as f64 / s
    );
    for (stage, st) in built.pipeline.stats().stages.iter().enumerate() {
        println!(
            "  stage {stage} ({}): {} items, {:.2} ms busy per item",
            st.name,
            st.total.items,
            st.total.busy.as_secs_f64() * 1e3 / st.total.items.max(1) as f64
        );
    }
    std::fs::remove_dir_all(&dir)?;
    if ok != items {
        return Err("some streamed items differ".into());
    }
    Ok(())
}
