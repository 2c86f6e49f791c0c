//! Split a model into segments in memory and run them one after another on the CPU with
//! tpupipe's interpreter, checking that the chained segments reproduce the full model's outputs
//! bit for bit. This is what the pipeline does with one stage per Edge TPU, minus the TPUs.
//!
//! ```sh
//! cargo run --release --example cpu_pipeline -- tests/models/mobilenet_v2.tflite 4
//! ```

use std::collections::HashMap;
use std::error::Error;
use std::time::Instant;

use tpupipe::runtime::interp::Interpreter;
use tpupipe::runtime::ModelView;
use tpupipe_compiler::graph::Graph;
use tpupipe_compiler::model_file::ModelFile;
use tpupipe_compiler::split::{choose_cuts, Split};

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .unwrap_or_else(|| "tests/models/mobilenet_v2.tflite".to_string());
    let segments: usize = args.next().map_or(Ok(4), |s| s.parse())?;

    let file = ModelFile::open(&path)?;
    let view = file.view()?;
    let graph = Graph::build(&view)?;
    let (cuts, strategy) = choose_cuts(&graph, Some(segments), None)?;
    println!(
        "{path}: {} ops, {segments} segments ({strategy:?} split), cuts at {:?}",
        graph.len(),
        cuts.positions()
    );
    let split = Split::new(view, &graph, cuts, &file.stem())?;

    // Deterministic pseudo-random inputs for every model input.
    let mut full = Interpreter::new(&view)?;
    let mut tensors: HashMap<String, Vec<u8>> = HashMap::new();
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for i in 0..full.input_count() {
        let desc = full.input(i)?.clone();
        let bytes: Vec<u8> = (0..desc.byte_size)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed >> 56) as u8
            })
            .collect();
        full.set_input(i, &bytes)?;
        tensors.insert(desc.name.clone(), bytes);
    }
    let start = Instant::now();
    full.invoke()?;
    println!("full model: {:.2} ms", start.elapsed().as_secs_f64() * 1e3);

    // Each segment reads its inputs by name from what earlier segments (or the host) produced.
    for i in 0..split.segment_count() {
        let bytes = split.write_segment(i)?;
        let segment = ModelView::parse(bytes.as_bytes())?;
        let mut interp = Interpreter::new(&segment)?;
        for k in 0..interp.input_count() {
            let name = interp.input(k)?.name.clone();
            let data = tensors
                .get(&name)
                .ok_or_else(|| format!("segment {i} needs '{name}', which nothing produced"))?;
            interp.set_input(k, data)?;
        }
        let start = Instant::now();
        interp.invoke()?;
        let ms = start.elapsed().as_secs_f64() * 1e3;
        for k in 0..interp.output_count() {
            let name = interp.output(k)?.name.clone();
            tensors.insert(name, interp.output_bytes(k)?.to_vec());
        }
        println!(
            "segment {i}: {} ops, {} inputs, {} outputs, {ms:.2} ms",
            interp.op_count(),
            interp.input_count(),
            interp.output_count()
        );
    }

    for k in 0..full.output_count() {
        let name = &full.output(k)?.name;
        let chained = tensors.get(name).ok_or("a model output was not produced")?;
        if chained.as_slice() != full.output_bytes(k)? {
            return Err(
                format!("output '{name}' differs between the chain and the full model").into(),
            );
        }
    }
    println!("the chained segments reproduce the full model's outputs bit for bit");
    Ok(())
}
