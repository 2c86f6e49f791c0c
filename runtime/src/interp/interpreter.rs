//! The interpreter: loads a model once (validating the graph and preparing every kernel), plans
//! one activation arena, then runs inferences without allocating.

use super::arena::{self, AlignedBuf, Lifetime};
use super::error::{LoadError, RunError};
use super::kernel::{Kernel, PrepareCtx, TensorInfo};
use super::registry;
use crate::dtype::ElementType;
use crate::ids::{OpIndex, TensorId};
use crate::model::{ModelError, ModelView, OpKind, SubgraphView, EDGETPU_CUSTOM_CODE};
use crate::quant::Quantization;

/// Describes one model input or output.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorDesc {
    /// The tensor's id in the main subgraph.
    pub id: TensorId,
    /// The tensor's name.
    pub name: String,
    /// The static shape.
    pub shape: Vec<usize>,
    /// The element type.
    pub dtype: ElementType,
    /// Quantization parameters, when present.
    pub quant: Option<Quantization>,
    /// Size of the tensor's data in bytes.
    pub byte_size: usize,
}

/// Where a tensor's bytes live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Loc {
    /// In the constant store.
    Const { offset: usize, len: usize },
    /// In the activation arena.
    Arena { offset: usize, len: usize },
}

/// One prepared operator.
struct Step {
    kernel: Box<dyn Kernel>,
    index: OpIndex,
    kind: String,
    inputs: Vec<Option<Loc>>,
    outputs: Vec<Loc>,
}

/// Load-time options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Keep every tensor alive for the whole inference (no arena reuse), so that
    /// [`Interpreter::tensor_bytes`] can read intermediate results after `invoke` (debugging).
    pub preserve_all_tensors: bool,
}

/// A model loaded for CPU inference. Owns its constants, kernels and arena; `Send`, so each
/// pipeline stage can run its own interpreter on its own thread.
pub struct Interpreter {
    steps: Vec<Step>,
    /// Location of every tensor the interpreter knows (constants read by ops, arena tensors).
    locs: Vec<Option<Loc>>,
    preserve_all: bool,
    consts: AlignedBuf,
    arena: AlignedBuf,
    inputs: Vec<(TensorDesc, Loc)>,
    outputs: Vec<(TensorDesc, Loc)>,
}

impl std::fmt::Debug for Interpreter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interpreter")
            .field("ops", &self.steps.len())
            .field("inputs", &self.inputs.len())
            .field("outputs", &self.outputs.len())
            .field("arena_bytes", &self.arena.len())
            .field("constant_bytes", &self.consts.len())
            .finish()
    }
}

/// Base pointers of the constant store and the arena during one `invoke`.
///
/// Locations were planned inside their buffers; the arena slices of one step's outputs never
/// overlap its inputs or each other (their lifetimes overlap at that step, so the planner kept
/// them apart), and no other reference to the buffers exists while a step runs.
#[derive(Clone, Copy)]
struct Bases {
    consts: *const u8,
    arena: *mut u8,
}

impl Bases {
    /// # Safety
    /// `loc` must be a location planned for these buffers, not written while the slice lives.
    unsafe fn view<'a>(self, loc: Loc) -> &'a [u8] {
        match loc {
            Loc::Const { offset, len } => std::slice::from_raw_parts(self.consts.add(offset), len),
            Loc::Arena { offset, len } => std::slice::from_raw_parts(self.arena.add(offset), len),
        }
    }

    /// # Safety
    /// `loc` must be an arena location planned for this arena, not aliased while the slice lives.
    unsafe fn view_mut<'a>(self, loc: Loc) -> &'a mut [u8] {
        match loc {
            Loc::Arena { offset, len } => {
                std::slice::from_raw_parts_mut(self.arena.add(offset), len)
            }
            // Op outputs are always arena tensors (checked at load); an empty slice is harmless.
            Loc::Const { .. } => &mut [],
        }
    }
}

/// How a tensor is known to the loader.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    Unknown,
    Constant,
    ModelInput,
    /// Produced by the step at this index.
    Produced(usize),
}

/// Byte size of a tensor, refusing types without a fixed element size and dynamic shapes.
fn tensor_bytes(t: &crate::model::TensorView<'_>) -> Result<usize, LoadError> {
    let elem = t.dtype().size_bytes().ok_or_else(|| {
        LoadError::Graph(format!(
            "tensor {} ('{}') has type {}, which has no fixed element size",
            t.id(),
            t.name(),
            t.dtype()
        ))
    })?;
    if t.has_unresolved_dynamic_dims() {
        return Err(LoadError::Model(ModelError::DynamicShape {
            tensor: t.id().0,
            name: t.name().to_string(),
            signature: t.shape_signature().unwrap_or_default(),
        }));
    }
    Ok(t.num_elements() as usize * elem)
}

/// Where every tensor lives once the arena is planned, and the arena's size in bytes.
struct Layout {
    /// Location of every constant read by an op and every arena tensor, by tensor index.
    locs: Vec<Option<Loc>>,
    /// Bytes of the activation arena.
    arena_size: usize,
}

/// Checks the graph and returns how each tensor is known: constants and model inputs first
/// (refusing a constant model input), then, in file order, every op's inputs must exist before
/// it runs and every output be written exactly once; every model output must be produced.
fn check_graph(sg: &SubgraphView<'_>) -> Result<Vec<Origin>, LoadError> {
    let mut origin = vec![Origin::Unknown; sg.tensor_count()];
    for t in sg.tensors() {
        if t.is_constant() {
            origin[t.id().index()] = Origin::Constant;
        }
    }
    for id in sg.inputs() {
        let t = sg.tensor(id);
        if t.is_constant() {
            return Err(LoadError::Graph(format!(
                "model input {id} ('{}') is a constant tensor",
                t.name()
            )));
        }
        origin[id.index()] = Origin::ModelInput;
    }

    // Graph check in file order: every input exists before the op runs, every output is
    // written exactly once.
    for op in sg.operators() {
        let k = op.index().index();
        let kind = op.kind();
        if let OpKind::Custom(code) = kind {
            if code == EDGETPU_CUSTOM_CODE {
                return Err(LoadError::Unsupported {
                    op: op.index(),
                    kind: kind.name(),
                    reason: "this op was compiled for the Edge TPU and cannot run on the CPU \
                             interpreter"
                        .into(),
                });
            }
        }
        if kind == OpKind::Builtin(crate::schema::BuiltinOperator::UNIDIRECTIONAL_SEQUENCE_LSTM) {
            // Refused with its reason before its variable (state) tensors are questioned.
            return Err(super::ops::lstm::refusal(&op, sg));
        }
        for id in op.present_inputs() {
            if origin[id.index()] == Origin::Unknown && sg.tensor(id).is_variable() {
                return Err(LoadError::Unsupported {
                    op: op.index(),
                    kind: kind.name(),
                    reason: format!(
                        "reads the variable tensor {id} ('{}'): variable tensors (state kept \
                         between inferences) are not supported by the CPU interpreter",
                        sg.tensor(id).name()
                    ),
                });
            }
            if origin[id.index()] == Origin::Unknown {
                let t = sg.tensor(id);
                return Err(LoadError::Graph(format!(
                    "op {} ({}) reads tensor {id} ('{}'), which is neither a constant, a model \
                     input nor the output of an earlier op",
                    op.index(),
                    kind.name(),
                    t.name()
                )));
            }
        }
        for id in op.outputs() {
            let t = sg.tensor(id);
            let clash = match origin[id.index()] {
                Origin::Unknown => None,
                Origin::Constant => Some("a constant".to_string()),
                Origin::ModelInput => Some("a model input".to_string()),
                Origin::Produced(p) => Some(format!("already written by op{p}")),
            };
            if let Some(what) = clash {
                return Err(LoadError::Graph(format!(
                    "op {} ({}) writes tensor {id} ('{}'), which is {what}",
                    op.index(),
                    kind.name(),
                    t.name()
                )));
            }
            origin[id.index()] = Origin::Produced(k);
        }
    }
    for id in sg.outputs() {
        if origin[id.index()] == Origin::Unknown {
            return Err(LoadError::Graph(format!(
                "model output {id} ('{}') is produced by no op",
                sg.tensor(id).name()
            )));
        }
    }
    Ok(origin)
}

/// The constant store: every constant read by an op or returned as an output, copied into one
/// aligned buffer. Returns each tensor's location in it (by tensor index) and the buffer.
fn constant_store(
    sg: &SubgraphView<'_>,
    origin: &[Origin],
) -> Result<(Vec<Option<Loc>>, AlignedBuf), LoadError> {
    let mut const_loc: Vec<Option<Loc>> = vec![None; sg.tensor_count()];
    let mut const_size = 0usize;
    let mut wanted: Vec<TensorId> = sg
        .operators()
        .flat_map(|op| op.present_inputs())
        .chain(sg.outputs())
        .filter(|id| origin[id.index()] == Origin::Constant)
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    for &id in &wanted {
        let len = tensor_bytes(&sg.tensor(id))?;
        const_loc[id.index()] = Some(Loc::Const {
            offset: const_size,
            len,
        });
        const_size += arena::align_up(len);
    }
    let mut consts = AlignedBuf::zeroed(const_size);
    for &id in &wanted {
        if let (Some(Loc::Const { offset, len }), Some(data)) =
            (const_loc[id.index()], sg.tensor(id).data())
        {
            consts.as_bytes_mut()[offset..offset + len].copy_from_slice(data);
        }
    }
    Ok((const_loc, consts))
}

/// Plans the activation arena from the lifetimes of its tensors (model inputs and op outputs)
/// and adds their locations to the constants' `const_loc`. Step k runs at time k + 1; model
/// inputs and outputs stay alive for the whole inference, and every tensor does with
/// [`Options::preserve_all_tensors`].
fn plan_arena(
    sg: &SubgraphView<'_>,
    options: Options,
    const_loc: Vec<Option<Loc>>,
) -> Result<Layout, LoadError> {
    let n_tensors = sg.tensor_count();
    let end = sg.operator_count() + 1;
    let mut life: Vec<Option<Lifetime>> = vec![None; n_tensors];
    for id in sg.inputs() {
        let size = tensor_bytes(&sg.tensor(id))?;
        life[id.index()] = Some(Lifetime {
            size,
            first: 0,
            last: end,
        });
    }
    for op in sg.operators() {
        let time = op.index().index() + 1;
        for id in op.outputs() {
            let size = tensor_bytes(&sg.tensor(id))?;
            life[id.index()] = Some(Lifetime {
                size,
                first: time,
                last: time,
            });
        }
        for id in op.present_inputs() {
            if let Some(l) = life[id.index()].as_mut() {
                l.last = l.last.max(time);
            }
        }
    }
    for id in sg.outputs() {
        if let Some(l) = life[id.index()].as_mut() {
            l.last = end;
        }
    }
    if options.preserve_all_tensors {
        for l in life.iter_mut().flatten() {
            l.first = 0;
            l.last = end;
        }
    }
    let arena_ids: Vec<usize> = (0..n_tensors).filter(|&i| life[i].is_some()).collect();
    let lifetimes: Vec<Lifetime> = arena_ids
        .iter()
        .map(|&i| life[i].expect("filtered"))
        .collect();
    let plan = arena::plan(&lifetimes);
    let mut locs = const_loc;
    for (k, &i) in arena_ids.iter().enumerate() {
        locs[i] = Some(Loc::Arena {
            offset: plan.offsets[k],
            len: lifetimes[k].size,
        });
    }
    Ok(Layout {
        locs,
        arena_size: plan.size,
    })
}

/// Prepares every op's kernel in file order, with the locations of its inputs and outputs.
fn prepare_steps(
    model: &ModelView<'_>,
    sg: &SubgraphView<'_>,
    locs: &[Option<Loc>],
) -> Result<Vec<Step>, LoadError> {
    let mut steps = Vec::with_capacity(sg.operator_count());
    for op in sg.operators() {
        let (kind, version) = model.opcode(op.opcode_index());
        let ctx = PrepareCtx {
            op,
            kind: kind.name(),
            version,
            inputs: op
                .inputs()
                .into_iter()
                .map(|id| id.map(|id| TensorInfo::from_view(&sg.tensor(id))))
                .collect(),
            outputs: op
                .outputs()
                .into_iter()
                .map(|id| TensorInfo::from_view(&sg.tensor(id)))
                .collect(),
        };
        let kernel = registry::prepare(&ctx)?;
        let locate = |id: TensorId| locs[id.index()].expect("every used tensor has a location");
        steps.push(Step {
            kernel,
            index: op.index(),
            kind: ctx.kind.clone(),
            inputs: op.inputs().into_iter().map(|id| id.map(locate)).collect(),
            outputs: op.outputs().into_iter().map(locate).collect(),
        });
    }
    Ok(steps)
}

/// The description and location of a model input or output.
fn describe_tensor(
    sg: &SubgraphView<'_>,
    locs: &[Option<Loc>],
    id: TensorId,
) -> Result<(TensorDesc, Loc), LoadError> {
    let t = sg.tensor(id);
    let byte_size = tensor_bytes(&t)?;
    Ok((
        TensorDesc {
            id,
            name: t.name().to_string(),
            shape: t.dims(),
            dtype: t.dtype(),
            quant: t.quantization(),
            byte_size,
        },
        locs[id.index()].expect("model inputs and outputs have locations"),
    ))
}

impl Interpreter {
    /// Loads the main subgraph of `model`: checks the graph, prepares every kernel, copies the
    /// constants and plans the arena. Everything the interpreter cannot run is refused here.
    pub fn new(model: &ModelView<'_>) -> Result<Interpreter, LoadError> {
        Self::with_options(model, Options::default())
    }

    /// [`Interpreter::new`] with options.
    pub fn with_options(model: &ModelView<'_>, options: Options) -> Result<Interpreter, LoadError> {
        if model.subgraph_count() != 1 {
            return Err(LoadError::Model(ModelError::MultipleSubgraphs(
                model.subgraph_count(),
            )));
        }
        let sg = model.main_subgraph();
        let origin = check_graph(&sg)?;
        let (const_loc, consts) = constant_store(&sg, &origin)?;
        let layout = plan_arena(&sg, options, const_loc)?;
        let steps = prepare_steps(model, &sg, &layout.locs)?;
        let describe = |id| describe_tensor(&sg, &layout.locs, id);
        let inputs = sg
            .inputs()
            .into_iter()
            .map(describe)
            .collect::<Result<_, _>>()?;
        let outputs = sg
            .outputs()
            .into_iter()
            .map(describe)
            .collect::<Result<_, _>>()?;

        Ok(Interpreter {
            steps,
            locs: layout.locs,
            preserve_all: options.preserve_all_tensors,
            consts,
            arena: AlignedBuf::zeroed(layout.arena_size),
            inputs,
            outputs,
        })
    }

    /// Size of the activation arena in bytes.
    pub fn arena_size(&self) -> usize {
        self.arena.len()
    }

    /// The bytes of any tensor after [`Interpreter::invoke`], when the interpreter was loaded
    /// with [`Options::preserve_all_tensors`] (otherwise only inputs, outputs and constants are
    /// meaningful, and `None` is returned for other tensors).
    pub fn tensor_bytes(&self, id: TensorId) -> Option<&[u8]> {
        let loc = (*self.locs.get(id.index())?)?;
        let io = self
            .inputs
            .iter()
            .chain(&self.outputs)
            .any(|(d, _)| d.id == id);
        match loc {
            Loc::Arena { .. } if !(self.preserve_all || io) => None,
            _ => Some(self.bytes_at(loc)),
        }
    }

    /// Size of the constant store in bytes.
    pub fn constant_size(&self) -> usize {
        self.consts.len()
    }

    /// Number of operators.
    pub fn op_count(&self) -> usize {
        self.steps.len()
    }

    /// Number of model inputs.
    pub fn input_count(&self) -> usize {
        self.inputs.len()
    }

    /// Number of model outputs.
    pub fn output_count(&self) -> usize {
        self.outputs.len()
    }

    /// All inputs, in order.
    pub fn inputs(&self) -> impl Iterator<Item = &TensorDesc> {
        self.inputs.iter().map(|(d, _)| d)
    }

    /// All outputs, in order.
    pub fn outputs(&self) -> impl Iterator<Item = &TensorDesc> {
        self.outputs.iter().map(|(d, _)| d)
    }

    /// Input `i`.
    pub fn input(&self, i: usize) -> Result<&TensorDesc, RunError> {
        self.inputs
            .get(i)
            .map(|(d, _)| d)
            .ok_or(RunError::BadIndex {
                what: "input",
                index: i,
                count: self.inputs.len(),
            })
    }

    /// Output `i`.
    pub fn output(&self, i: usize) -> Result<&TensorDesc, RunError> {
        self.outputs
            .get(i)
            .map(|(d, _)| d)
            .ok_or(RunError::BadIndex {
                what: "output",
                index: i,
                count: self.outputs.len(),
            })
    }

    fn find(list: &[(TensorDesc, Loc)], what: &'static str, name: &str) -> Result<usize, RunError> {
        list.iter()
            .position(|(d, _)| d.name == name)
            .ok_or_else(|| RunError::UnknownTensor {
                what,
                name: name.to_string(),
                available: list
                    .iter()
                    .map(|(d, _)| format!("'{}'", d.name))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The index of the input called `name`.
    pub fn input_index(&self, name: &str) -> Result<usize, RunError> {
        Self::find(&self.inputs, "input", name)
    }

    /// The index of the output called `name`.
    pub fn output_index(&self, name: &str) -> Result<usize, RunError> {
        Self::find(&self.outputs, "output", name)
    }

    /// The input called `name`.
    pub fn input_by_name(&self, name: &str) -> Result<&TensorDesc, RunError> {
        self.input(self.input_index(name)?)
    }

    /// The output called `name`.
    pub fn output_by_name(&self, name: &str) -> Result<&TensorDesc, RunError> {
        self.output(self.output_index(name)?)
    }

    fn bytes_at(&self, loc: Loc) -> &[u8] {
        match loc {
            Loc::Const { offset, len } => &self.consts.as_bytes()[offset..offset + len],
            Loc::Arena { offset, len } => &self.arena.as_bytes()[offset..offset + len],
        }
    }

    /// Copies raw little-endian bytes into input `i`; the length must match exactly.
    pub fn set_input(&mut self, i: usize, data: &[u8]) -> Result<(), RunError> {
        let (desc, loc) = self.inputs.get(i).ok_or(RunError::BadIndex {
            what: "input",
            index: i,
            count: self.inputs.len(),
        })?;
        if data.len() != desc.byte_size {
            return Err(RunError::BadData {
                name: desc.name.clone(),
                reason: format!(
                    "expected {} bytes ({} of shape {:?}), got {}",
                    desc.byte_size,
                    desc.dtype,
                    desc.shape,
                    data.len()
                ),
            });
        }
        match *loc {
            Loc::Arena { offset, len } => {
                self.arena.as_bytes_mut()[offset..offset + len].copy_from_slice(data);
                Ok(())
            }
            Loc::Const { .. } => Err(RunError::BadData {
                name: desc.name.clone(),
                reason: "the tensor is a constant".into(),
            }),
        }
    }

    /// Copies bytes into the input called `name`.
    pub fn set_input_by_name(&mut self, name: &str, data: &[u8]) -> Result<(), RunError> {
        let i = self.input_index(name)?;
        self.set_input(i, data)
    }

    fn check_dtype(desc: &TensorDesc, want: ElementType) -> Result<(), RunError> {
        if desc.dtype == want {
            Ok(())
        } else {
            Err(RunError::BadData {
                name: desc.name.clone(),
                reason: format!("the tensor holds {}, not {want}", desc.dtype),
            })
        }
    }

    /// Sets an `int8` input.
    pub fn set_input_i8(&mut self, i: usize, data: &[i8]) -> Result<(), RunError> {
        Self::check_dtype(self.input(i)?, ElementType::I8)?;
        let bytes: Vec<u8> = data.iter().map(|&v| v as u8).collect();
        self.set_input(i, &bytes)
    }

    /// Sets a `uint8` input.
    pub fn set_input_u8(&mut self, i: usize, data: &[u8]) -> Result<(), RunError> {
        Self::check_dtype(self.input(i)?, ElementType::U8)?;
        self.set_input(i, data)
    }

    /// Sets a `float32` input.
    pub fn set_input_f32(&mut self, i: usize, data: &[f32]) -> Result<(), RunError> {
        Self::check_dtype(self.input(i)?, ElementType::F32)?;
        let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.set_input(i, &bytes)
    }

    /// Sets an `int32` input.
    pub fn set_input_i32(&mut self, i: usize, data: &[i32]) -> Result<(), RunError> {
        Self::check_dtype(self.input(i)?, ElementType::I32)?;
        let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.set_input(i, &bytes)
    }

    /// The bytes of input `i` (as last set).
    pub fn input_bytes(&self, i: usize) -> Result<&[u8], RunError> {
        self.input(i)?;
        Ok(self.bytes_at(self.inputs[i].1))
    }

    /// The bytes of output `i` after [`Interpreter::invoke`].
    pub fn output_bytes(&self, i: usize) -> Result<&[u8], RunError> {
        self.output(i)?;
        Ok(self.bytes_at(self.outputs[i].1))
    }

    /// The bytes of the output called `name`.
    pub fn output_bytes_by_name(&self, name: &str) -> Result<&[u8], RunError> {
        self.output_bytes(self.output_index(name)?)
    }

    /// Output `i` as `int8`.
    pub fn output_i8(&self, i: usize) -> Result<&[i8], RunError> {
        Self::check_dtype(self.output(i)?, ElementType::I8)?;
        Ok(super::kernel::as_i8(self.output_bytes(i)?))
    }

    /// Output `i` as `uint8`.
    pub fn output_u8(&self, i: usize) -> Result<&[u8], RunError> {
        Self::check_dtype(self.output(i)?, ElementType::U8)?;
        self.output_bytes(i)
    }

    /// Output `i` as `float32`.
    pub fn output_f32(&self, i: usize) -> Result<Vec<f32>, RunError> {
        Self::check_dtype(self.output(i)?, ElementType::F32)?;
        Ok(super::kernel::le_f32s(self.output_bytes(i)?))
    }

    /// Output `i` as `int32`.
    pub fn output_i32(&self, i: usize) -> Result<Vec<i32>, RunError> {
        Self::check_dtype(self.output(i)?, ElementType::I32)?;
        Ok(super::kernel::le_i32s(self.output_bytes(i)?))
    }

    /// Sets every input by name (each exactly once), then runs the model.
    pub fn run(&mut self, inputs: &[(&str, &[u8])]) -> Result<(), RunError> {
        let mut seen = vec![false; self.inputs.len()];
        for (name, data) in inputs {
            let i = self.input_index(name)?;
            if seen[i] {
                return Err(RunError::BadData {
                    name: name.to_string(),
                    reason: "given more than once".into(),
                });
            }
            seen[i] = true;
            self.set_input(i, data)?;
        }
        if let Some(i) = seen.iter().position(|s| !s) {
            return Err(RunError::BadData {
                name: self.inputs[i].0.name.clone(),
                reason: "no data given for this input".into(),
            });
        }
        self.invoke()
    }

    /// Runs every operator once, in order.
    pub fn invoke(&mut self) -> Result<(), RunError> {
        self.invoke_with(|_, _, _| {})
    }

    /// Runs like [`Interpreter::invoke`] and returns the wall time of every operator, in order
    /// (index, kind, duration).
    pub fn invoke_profiled(
        &mut self,
    ) -> Result<Vec<(OpIndex, String, std::time::Duration)>, RunError> {
        let mut times = Vec::with_capacity(self.steps.len());
        self.invoke_with(|index, kind, d| times.push((index, kind.to_string(), d)))?;
        Ok(times)
    }

    fn invoke_with(
        &mut self,
        mut on_step: impl FnMut(OpIndex, &str, std::time::Duration),
    ) -> Result<(), RunError> {
        const INLINE: usize = 8;
        let Interpreter {
            steps,
            consts,
            arena,
            ..
        } = self;
        let bases = Bases {
            consts: consts.as_bytes().as_ptr(),
            arena: arena.as_mut_ptr(),
        };
        for step in steps.iter_mut() {
            let started = std::time::Instant::now();
            let result = if step.inputs.len() <= INLINE && step.outputs.len() <= INLINE {
                let mut ins: [Option<&[u8]>; INLINE] = [None; INLINE];
                for (slot, loc) in ins.iter_mut().zip(&step.inputs) {
                    // SAFETY: see `Bases`.
                    *slot = loc.map(|l| unsafe { bases.view(l) });
                }
                let mut outs: [&mut [u8]; INLINE] = Default::default();
                for (slot, &loc) in outs.iter_mut().zip(&step.outputs) {
                    // SAFETY: see `Bases`.
                    *slot = unsafe { bases.view_mut(loc) };
                }
                step.kernel
                    .eval(&ins[..step.inputs.len()], &mut outs[..step.outputs.len()])
            } else {
                // SAFETY: see `Bases`.
                let ins: Vec<Option<&[u8]>> = step
                    .inputs
                    .iter()
                    .map(|l| l.map(|l| unsafe { bases.view(l) }))
                    .collect();
                // SAFETY: see `Bases`.
                let mut outs: Vec<&mut [u8]> = step
                    .outputs
                    .iter()
                    .map(|&l| unsafe { bases.view_mut(l) })
                    .collect();
                step.kernel.eval(&ins, &mut outs)
            };
            result.map_err(|e| RunError::Kernel {
                op: step.index,
                kind: step.kind.clone(),
                reason: e.0,
            })?;
            on_step(step.index, &step.kind, started.elapsed());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpreter_is_send() {
        fn is_send<T: Send>() {}
        is_send::<Interpreter>();
    }
}
