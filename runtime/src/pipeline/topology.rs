//! What the engine derives from a validated spec: one slot per boundary tensor (model inputs
//! first, then every stage's outputs), which slots each stage reads and writes, after which stage
//! a slot's buffer can be recycled, and how many buffers each slot's pool needs.

use super::error::PipelineError;
use super::spec::{PipelineSpec, Source};

/// A boundary tensor's position in an item's slot table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SlotId(pub(crate) usize);

/// The derived topology.
pub(crate) struct Topology {
    pub(crate) spec: PipelineSpec,
    /// Byte size of each slot.
    pub(crate) slot_len: Vec<usize>,
    /// Slots that are pipeline outputs: kept until the caller drops the result.
    pub(crate) slot_is_output: Vec<bool>,
    /// The slots each stage reads, in its input order.
    pub(crate) stage_inputs: Vec<Vec<SlotId>>,
    /// The slots each stage writes, in its output order.
    pub(crate) stage_outputs: Vec<Vec<SlotId>>,
    /// The slots whose last reader is each stage (and which are no pipeline output).
    pub(crate) release_after: Vec<Vec<SlotId>>,
    /// The slot of each pipeline output.
    pub(crate) output_slots: Vec<SlotId>,
    /// Buffers to preallocate for each slot.
    pub(crate) pool_sizes: Vec<usize>,
    /// Item records to preallocate.
    pub(crate) item_records: usize,
    /// Items that can be outstanding without a push waiting for a pop (a lower bound).
    pub(crate) capacity: usize,
}

impl Topology {
    /// Validates `spec` and derives the topology for queues of `depth` items.
    pub(crate) fn new(spec: PipelineSpec, depth: usize) -> Result<Topology, PipelineError> {
        spec.validate()?;
        let n_in = spec.inputs.len();
        let mut first_output = Vec::with_capacity(spec.stages.len());
        let mut slot_len: Vec<usize> = spec.inputs.iter().map(|t| t.len()).collect();
        for stage in &spec.stages {
            first_output.push(slot_len.len());
            slot_len.extend(stage.outputs.iter().map(|t| t.len()));
        }
        let slot_of = |source: Source| -> SlotId {
            match source {
                Source::ModelInput(i) => SlotId(i),
                Source::Stage { stage, output } => SlotId(first_output[stage] + output),
            }
        };
        let n_slots = slot_len.len();
        let stages = spec.stages.len();

        // Pipeline positions: 0 is the host, 1..=stages the stages, stages + 1 the results.
        let sink = stages + 1;
        let mut producer = vec![0usize; n_slots];
        let mut last_reader = vec![0usize; n_slots];
        for (s, stage) in spec.stages.iter().enumerate() {
            for k in 0..stage.outputs.len() {
                producer[first_output[s] + k] = s + 1;
            }
        }
        let stage_inputs: Vec<Vec<SlotId>> = spec
            .stages
            .iter()
            .map(|st| st.inputs.iter().map(|i| slot_of(i.source)).collect())
            .collect();
        for (s, inputs) in stage_inputs.iter().enumerate() {
            for slot in inputs {
                last_reader[slot.0] = last_reader[slot.0].max(s + 1);
            }
        }
        let output_slots: Vec<SlotId> = spec.outputs.iter().map(|o| slot_of(o.source)).collect();
        let mut slot_is_output = vec![false; n_slots];
        for slot in &output_slots {
            slot_is_output[slot.0] = true;
            last_reader[slot.0] = sink;
        }
        let mut release_after = vec![Vec::new(); stages];
        for slot in 0..n_slots {
            let reader = last_reader[slot];
            if !slot_is_output[slot] && (1..=stages).contains(&reader) {
                release_after[reader - 1].push(SlotId(slot));
            }
        }
        debug_assert!(last_reader
            .iter()
            .zip(&producer)
            .all(|(&r, &p)| r > p || n_in == 0));

        // How many items can be at each position and in each link at once: a host or a replica
        // holds one item; the link from position q to q + 1 is one channel of `depth` items per
        // pair of sending and receiving replicas.
        let replicas = |q: usize| -> usize {
            if q == 0 || q == sink {
                1
            } else {
                spec.stages[q - 1].replicas
            }
        };
        let holders = |q: usize| if q == sink { 0 } else { replicas(q) };
        let link = |q: usize| replicas(q) * replicas(q + 1) * depth;
        let span = |from: usize, to: usize| -> usize {
            (from..=to).map(holders).sum::<usize>() + (from..to).map(link).sum::<usize>()
        };
        let pool_sizes: Vec<usize> = (0..n_slots)
            .map(|slot| {
                let bound = span(producer[slot], last_reader[slot]);
                // Room for a few results the caller holds (output pools grow beyond that).
                if slot_is_output[slot] {
                    bound + depth
                } else {
                    bound
                }
            })
            .collect();
        let item_records = span(0, sink) + depth;
        // A window of consecutive items never puts more than `depth` of them into any one
        // channel of a link, so this many always fit without a pop.
        let capacity = (1..sink).map(holders).sum::<usize>() + sink * depth;
        let stage_outputs = (0..stages)
            .map(|s| {
                (0..spec.stages[s].outputs.len())
                    .map(|k| SlotId(first_output[s] + k))
                    .collect()
            })
            .collect();
        Ok(Topology {
            spec,
            slot_len,
            slot_is_output,
            stage_inputs,
            stage_outputs,
            release_after,
            output_slots,
            pool_sizes,
            item_records,
            capacity,
        })
    }

    /// Number of slots.
    pub(crate) fn slot_count(&self) -> usize {
        self.slot_len.len()
    }

    /// Number of stages.
    pub(crate) fn stage_count(&self) -> usize {
        self.spec.stages.len()
    }
}
