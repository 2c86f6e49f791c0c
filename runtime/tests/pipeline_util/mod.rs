//! Helpers of the pipeline tests (included with `#[path]`): a test executor whose outputs say
//! which item they belong to and which stages ran, with injected failures, panics and sleeps;
//! the specs the tests run; a watchdog that aborts a hung test.

#![allow(dead_code)]

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;
use tpupipe_runtime::pipeline::*;
use tpupipe_runtime::ElementType;

/// Bytes of every test tensor: the item id, then a value.
pub const TENSOR_BYTES: usize = 16;

/// A 16-byte `uint8` tensor.
pub fn t(name: &str) -> TensorSpec {
    TensorSpec::new(name, ElementType::U8, vec![TENSOR_BYTES]).unwrap()
}

/// The input of item `id`: the id and a value derived from it.
pub fn input_of(id: u64) -> [u8; TENSOR_BYTES] {
    encode(id, id.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

pub fn encode(id: u64, value: u64) -> [u8; TENSOR_BYTES] {
    let mut b = [0u8; TENSOR_BYTES];
    b[..8].copy_from_slice(&id.to_le_bytes());
    b[8..].copy_from_slice(&value.to_le_bytes());
    b
}

pub fn decode(b: &[u8]) -> (u64, u64) {
    (
        u64::from_le_bytes(b[..8].try_into().unwrap()),
        u64::from_le_bytes(b[8..16].try_into().unwrap()),
    )
}

/// What stage `stage` computes from its input values: output `k` gets `mix(stage, inputs) + k`.
pub fn stage_value(stage: usize, inputs: &[u64]) -> u64 {
    let mut v = (stage as u64 + 1).wrapping_mul(0x1000_0000_01b3);
    for (i, x) in inputs.iter().enumerate() {
        v = v.rotate_left(7) ^ x.wrapping_mul(2 * i as u64 + 3);
    }
    v
}

/// Which (stage, item) pairs fail or panic, and how long a stage may sleep.
#[derive(Default)]
pub struct Faults {
    pub fail: HashSet<(usize, u64)>,
    pub panic: HashSet<(usize, u64)>,
    pub max_sleep: Duration,
}

/// The test executor.
pub struct TestExec {
    pub stage: usize,
    pub faults: Arc<Faults>,
    pub rng: u64,
    pub live: Arc<AtomicUsize>,
}

impl TestExec {
    pub fn new(stage: usize, replica: usize, faults: Arc<Faults>, live: Arc<AtomicUsize>) -> Self {
        live.fetch_add(1, Ordering::SeqCst);
        TestExec {
            stage,
            faults,
            rng: 0x2545_f491_4f6c_dd1d ^ ((stage as u64) << 32 | replica as u64),
            live,
        }
    }
}

impl Drop for TestExec {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

impl StageExecutor for TestExec {
    fn run(&mut self, inputs: &[&[u8]], outputs: &mut [&mut [u8]]) -> Result<(), StageError> {
        let id = decode(inputs[0]).0;
        let mut values = [0u64; 8];
        for (k, input) in inputs.iter().enumerate() {
            if input.len() != TENSOR_BYTES {
                // Not an id-carrying tensor: its bytes count as the value.
                values[k] = input.iter().map(|&b| u64::from(b)).sum();
                continue;
            }
            let (other, value) = decode(input);
            if other != id {
                return Err(StageError::Failed(format!(
                    "stage {} got inputs of items {id} and {other}",
                    self.stage
                )));
            }
            values[k] = value;
        }
        if !self.faults.max_sleep.is_zero() {
            self.rng ^= self.rng << 13;
            self.rng ^= self.rng >> 7;
            self.rng ^= self.rng << 17;
            let nanos = self.rng % (self.faults.max_sleep.as_nanos() as u64 + 1);
            std::thread::sleep(Duration::from_nanos(nanos));
        }
        if self.faults.panic.contains(&(self.stage, id)) {
            panic!("injected panic in stage {} on item {id}", self.stage);
        }
        if self.faults.fail.contains(&(self.stage, id)) {
            return Err(StageError::Failed(format!("injected failure on item {id}")));
        }
        let v = stage_value(self.stage, &values[..inputs.len()]);
        for (k, out) in outputs.iter_mut().enumerate() {
            out.copy_from_slice(&encode(id, v.wrapping_add(k as u64)));
        }
        Ok(())
    }
}

/// A factory of test executors sharing `faults`; `live` counts executors not yet dropped.
pub fn factory(
    faults: Arc<Faults>,
    live: Arc<AtomicUsize>,
) -> impl FnMut(usize, usize) -> Result<Box<dyn StageExecutor>, StageError> {
    move |stage, replica| {
        Ok(Box::new(TestExec::new(
            stage,
            replica,
            Arc::clone(&faults),
            Arc::clone(&live),
        )) as Box<dyn StageExecutor>)
    }
}

/// A chain of stages with the given replica counts: x -> s0 -> s1 -> ... -> the last output.
pub fn chain(replicas: &[usize]) -> PipelineSpec {
    let stages = replicas
        .iter()
        .enumerate()
        .map(|(s, &r)| StageSpec {
            name: format!("s{s}"),
            inputs: vec![StageInput {
                source: if s == 0 {
                    Source::ModelInput(0)
                } else {
                    Source::Stage {
                        stage: s - 1,
                        output: 0,
                    }
                },
                tensor: t(&format!("t{s}")),
            }],
            outputs: vec![t(&format!("t{}", s + 1))],
            replicas: r,
        })
        .collect();
    PipelineSpec {
        inputs: vec![t("t0")],
        outputs: vec![OutputSpec {
            name: "y".into(),
            source: Source::Stage {
                stage: replicas.len() - 1,
                output: 0,
            },
        }],
        stages,
    }
}

/// What the chain's output holds for item `id`.
pub fn chain_expected(stages: usize, id: u64) -> [u8; TENSOR_BYTES] {
    let mut v = decode(&input_of(id)).1;
    for s in 0..stages {
        v = stage_value(s, &[v]);
    }
    encode(id, v)
}

/// Three stages with a skip connection and outputs taken early:
/// s0(x) -> a; s1(a) -> b, b2; s2(b, a, x) -> c. Outputs: c, a (from s0), x (from the host),
/// b2 (from s1, read by nobody else).
pub fn skip_spec(replicas: [usize; 3]) -> PipelineSpec {
    let from = |stage, output| Source::Stage { stage, output };
    PipelineSpec {
        inputs: vec![t("x")],
        stages: vec![
            StageSpec {
                name: "s0".into(),
                inputs: vec![StageInput {
                    source: Source::ModelInput(0),
                    tensor: t("x"),
                }],
                outputs: vec![t("a")],
                replicas: replicas[0],
            },
            StageSpec {
                name: "s1".into(),
                inputs: vec![StageInput {
                    source: from(0, 0),
                    tensor: t("a"),
                }],
                outputs: vec![t("b"), t("b2")],
                replicas: replicas[1],
            },
            StageSpec {
                name: "s2".into(),
                inputs: vec![
                    StageInput {
                        source: from(1, 0),
                        tensor: t("b"),
                    },
                    StageInput {
                        source: from(0, 0),
                        tensor: t("a"),
                    },
                    StageInput {
                        source: Source::ModelInput(0),
                        tensor: t("x"),
                    },
                ],
                outputs: vec![t("c")],
                replicas: replicas[2],
            },
        ],
        outputs: vec![
            OutputSpec {
                name: "c".into(),
                source: from(2, 0),
            },
            OutputSpec {
                name: "a".into(),
                source: from(0, 0),
            },
            OutputSpec {
                name: "x".into(),
                source: Source::ModelInput(0),
            },
            OutputSpec {
                name: "b2".into(),
                source: from(1, 1),
            },
        ],
    }
}

/// What `skip_spec`'s outputs (c, a, x, b2) hold for item `id`.
pub fn skip_expected(id: u64) -> [[u8; TENSOR_BYTES]; 4] {
    let x = decode(&input_of(id)).1;
    let a = stage_value(0, &[x]);
    let b = stage_value(1, &[a]);
    let c = stage_value(2, &[b, a, x]);
    [
        encode(id, c),
        encode(id, a),
        encode(id, x),
        encode(id, b.wrapping_add(1)),
    ]
}

/// Aborts the process with a message if not dropped within `limit` (a hung test fails instead
/// of hanging the run).
pub struct Watchdog {
    done: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    pub fn new(name: &str, limit: Duration) -> Watchdog {
        let (tx, rx) = mpsc::channel::<()>();
        let name = name.to_string();
        let thread = std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                eprintln!("watchdog: test '{name}' still running after {limit:?}; aborting");
                std::process::abort();
            }
        });
        Watchdog {
            done: Some(tx),
            thread: Some(thread),
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.done.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Keeps the injected panics' messages out of the test output (other panics still print).
pub fn quiet_injected_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let injected = info
                .payload()
                .downcast_ref::<String>()
                .is_some_and(|s| s.starts_with("injected"));
            if !injected {
                default(info);
            }
        }));
    });
}
