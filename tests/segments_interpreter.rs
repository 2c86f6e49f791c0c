//! Every segment of every fixture split runs in tpupipe's interpreter, and the chained segments
//! give exactly the official runtime's outputs (the committed goldens from ai-edge-litert).
//!
//! Splits: N = 2..6 with the equal-parameter strategy, and a single cut at every position of the
//! small models. No Python is needed: the goldens are committed under `tests/models/`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tpupipe::runtime::interp::Interpreter;
use tpupipe::runtime::ModelView;
use tpupipe_compiler::graph::Graph;
use tpupipe_compiler::model_file::ModelFile;
use tpupipe_compiler::planner::Cuts;
use tpupipe_compiler::split::{choose_cuts, Split};
use tpupipe_runtime::npz::read_npz;

fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/models")
}

/// The fixture models that have goldens.
fn fixtures() -> Vec<PathBuf> {
    let mut models: Vec<PathBuf> = std::fs::read_dir(models_dir())
        .expect("tests/models exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "tflite"))
        .filter(|p| p.with_extension("inputs.npz").exists())
        .collect();
    models.sort();
    assert!(
        models.len() >= 8,
        "expected the committed fixtures, found {models:?}"
    );
    models
}

fn npz_map(path: &Path) -> HashMap<String, Vec<u8>> {
    read_npz(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .into_iter()
        .map(|(name, array)| (name, array.data))
        .collect()
}

/// Runs the segments of `cuts` in order; returns every tensor produced, keyed by name.
fn run_chain(
    view: ModelView<'_>,
    graph: &Graph,
    cuts: Cuts,
    inputs: &HashMap<String, Vec<u8>>,
    what: &str,
) -> HashMap<String, Vec<u8>> {
    let split = Split::new(view, graph, cuts, "fixture.tflite").expect("split");
    let mut tensors = inputs.clone();
    for i in 0..split.segment_count() {
        let bytes = split.write_segment(i).expect("segment written");
        let segment = ModelView::parse(bytes.as_bytes()).expect("segment parses");
        let mut interp = Interpreter::new(&segment)
            .unwrap_or_else(|e| panic!("{what}: segment {i} refused by the interpreter: {e}"));
        for k in 0..interp.input_count() {
            let name = interp.input(k).unwrap().name.clone();
            let data = tensors
                .get(&name)
                .unwrap_or_else(|| panic!("{what}: segment {i} input '{name}' was not produced"));
            interp.set_input(k, data).unwrap();
        }
        interp.invoke().unwrap();
        for k in 0..interp.output_count() {
            let name = interp.output(k).unwrap().name.clone();
            let previous = tensors.insert(name.clone(), interp.output_bytes(k).unwrap().to_vec());
            assert!(
                previous.is_none(),
                "{what}: '{name}' produced twice (segment {i})"
            );
        }
    }
    tensors
}

fn check(path: &Path, cuts_for: impl Fn(&Graph) -> Vec<Cuts>) -> usize {
    let file = ModelFile::open(path).expect("fixture loads");
    let view = file.view().unwrap();
    let graph = Graph::build(&view).unwrap();
    let inputs = npz_map(&path.with_extension("inputs.npz"));
    let golden = npz_map(&path.with_extension("outputs.npz"));
    let mut checked = 0;
    for cuts in cuts_for(&graph) {
        let what = format!("{} cuts {:?}", path.display(), cuts.positions());
        let tensors = run_chain(view, &graph, cuts, &inputs, &what);
        for (name, want) in &golden {
            let got = tensors
                .get(name)
                .unwrap_or_else(|| panic!("{what}: model output '{name}' not produced"));
            assert!(got == want, "{what}: output '{name}' differs from LiteRT");
        }
        checked += 1;
    }
    checked
}

#[test]
fn params_splits_of_every_fixture_match_litert() {
    let mut total = 0;
    for path in fixtures() {
        total += check(&path, |g| {
            (2..=6)
                .filter(|&n| n <= g.len())
                .map(|n| choose_cuts(g, Some(n), None).expect("params cuts").0)
                .collect()
        });
    }
    assert!(total >= 40, "only {total} splits checked");
}

#[test]
fn every_single_cut_of_the_small_fixtures_matches_litert() {
    let mut total = 0;
    for path in fixtures() {
        let size = std::fs::metadata(&path).unwrap().len();
        if size > 1 << 20 {
            continue;
        }
        total += check(&path, |g| {
            g.cut_positions()
                .map(|c| Cuts::new(vec![c], g.len()).expect("valid cut"))
                .collect()
        });
    }
    assert!(total >= 50, "only {total} single cuts checked");
}
