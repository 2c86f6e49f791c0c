//! ADD, SUB and MUL on 8-bit quantized tensors, with numpy broadcasting and fused activations,
//! reproducing LiteRT's builtin x86-64 kernels bit for bit.
//!
//! TFLite's optimized ADD and MUL (`optimized_integer_ops` for int8, `optimized_ops` for uint8)
//! walk the output in contiguous runs chosen by `ProcessBroadcastShapes` (the "fivefold" pattern,
//! see `plan`) and process each run in vector blocks followed by a scalar tail. The block and
//! tail arithmetic differ, so the block boundaries matter:
//!
//! | kernel | block | input rescale | narrowing |
//! |---|---|---|---|
//! | ADD int8, elementwise | 16 | one rounding: `srdhm(v << (20 + shift), m)` | wrap to i16, + zero point (wrap), saturate |
//! | ADD int8 scalar-broadcast, ADD uint8 (both) | 8 | `srdhm(v << 20, m) >> -shift` (floor) | wrap to i16, + zero point (wrap), saturate |
//! | MUL int8 (both), MUL uint8 elementwise | 16 (int8), 8 (uint8) | - | saturate to i16, + zero point (wrap), saturate |
//! | MUL uint8 scalar-broadcast | 8 | - | wrap to i16, + zero point (wrap), saturate |
//!
//! The scalar tail (and TFLite's generic-broadcast fallback) uses the reference formula: inputs
//! rescaled with `rdbpot(srdhm(v << 20, m), -shift)`, everything in 32 bits, then clamped. SUB
//! for 8-bit types always runs the reference kernel (`reference_ops::Sub` /
//! `BroadcastQuantSubSlow`). Multipliers: ADD/SUB compute `2 * max(s1, s2)` in float and the ratios
//! in double; MUL computes `s1 * s2 / so` in float and converts that to double.

use super::broadcast::Broadcast;
use super::quant8::{fused_range, load8, Q8};
use super::requant::{
    mul_double_rounding, mul_smaller_than_one, quantize_multiplier, rounding_divide_by_pot,
    sat_rounding_doubling_high_mul, QuantizedMultiplier,
};
use crate::interp::error::{EvalError, LoadError};
use crate::interp::kernel::{Kernel, PrepareCtx};
use crate::schema::{ActivationFunctionType, BuiltinOperator};

/// TFLite's left shift for 8-bit ADD/SUB.
const LEFT_SHIFT: i32 = 20;

/// ARM `VSHL` by a signed amount on one lane: a left shift (wrapping) or an arithmetic right shift.
#[inline(always)]
fn vshl(x: i32, shift: i32) -> i32 {
    if shift >= 0 {
        x.wrapping_shl(shift as u32)
    } else {
        x >> (-shift).min(31)
    }
}

/// Narrowing of a 32-bit lane to 16 bits, then the 16-bit addition of the output zero point.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Narrow {
    /// `vmovn_s32`: keep the low 16 bits.
    Wrap,
    /// `vqmovn_s32`: saturate to i16.
    Saturate,
}

impl Narrow {
    #[inline(always)]
    fn apply(self, x: i32, out_zp: i32) -> i32 {
        let n = match self {
            Narrow::Wrap => x as i16,
            Narrow::Saturate => x.clamp(i16::MIN as i32, i16::MAX as i32) as i16,
        };
        i32::from(n.wrapping_add(out_zp as i16))
    }
}

/// Per-input parameters of ADD/SUB: offset and rescaling tables for the three formulas.
struct AddInput {
    /// Reference formula, `rdbpot(srdhm(v << 20, m), -shift)`.
    scalar: Box<[i32; 256]>,
    /// int8 16-lane block formula, `srdhm(v << (20 + shift), m)`.
    folded: Box<[i32; 256]>,
    /// 8-lane block formula, `srdhm(v << 20, m) >> -shift`.
    floored: Box<[i32; 256]>,
}

impl AddInput {
    fn new(q: &Q8, m: QuantizedMultiplier) -> AddInput {
        let mut scalar = Box::new([0i32; 256]);
        let mut folded = Box::new([0i32; 256]);
        let mut floored = Box::new([0i32; 256]);
        for b in 0..256usize {
            let v = load8(q.signed, b as u8) - q.zero_point;
            scalar[b] = mul_smaller_than_one(v << LEFT_SHIFT, m);
            folded[b] = sat_rounding_doubling_high_mul(vshl(v, LEFT_SHIFT + m.shift), m.multiplier);
            floored[b] = vshl(
                sat_rounding_doubling_high_mul(v << LEFT_SHIFT, m.multiplier),
                m.shift,
            );
        }
        AddInput {
            scalar,
            folded,
            floored,
        }
    }
}

enum Math {
    /// ADD (`sign = 1`, optimized kernels) or SUB (`sign = -1`, reference kernel only).
    AddSub {
        in1: AddInput,
        in2: AddInput,
        sign: i32,
        out_mult: QuantizedMultiplier,
    },
    /// MUL.
    Mul {
        zp1: i32,
        zp2: i32,
        mult: QuantizedMultiplier,
    },
}

/// How TFLite walks the output (`ProcessBroadcastShapes` + `BinaryBroadcastFiveFold`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Plan {
    /// Same (rank-extended) shapes: one contiguous run over everything.
    Elementwise,
    /// The fivefold pattern `y0..y4`; `swap` when the second input is the fast-broadcasting one
    /// (TFLite then swaps the inputs and their parameters).
    Fivefold { y: [usize; 5], swap: bool },
    /// Anything else: TFLite's slow reference broadcast, element by element.
    Generic(Broadcast),
}

/// Reproduces TFLite's `ProcessBroadcastShapes`.
fn plan(a: &[usize], b: &[usize], out: &[usize]) -> Result<Plan, String> {
    let rank = a.len().max(b.len());
    let ext = |s: &[usize]| -> Vec<usize> {
        let mut v = vec![1; rank - s.len()];
        v.extend_from_slice(s);
        v
    };
    let (ea, eb) = (ext(a), ext(b));
    if ea == eb {
        Broadcast::new(a, b, out)?;
        return Ok(Plan::Elementwise);
    }
    let generic = || Broadcast::new(a, b, out).map(Plan::Generic);
    let mut first_fast = None;
    for i in (0..rank).rev() {
        if ea[i] == eb[i] {
            continue;
        } else if ea[i] == 1 {
            first_fast = Some(true);
            break;
        } else if eb[i] == 1 {
            first_fast = Some(false);
            break;
        } else {
            return generic();
        }
    }
    let Some(first_fast) = first_fast else {
        return generic();
    };
    let (sa, sb) = if first_fast { (&ea, &eb) } else { (&eb, &ea) };
    let mut y = [1usize; 5];
    let mut i = rank as isize - 1;
    let at = |s: &Vec<usize>, i: isize| s[i as usize];
    while i >= 0 && at(sa, i) == at(sb, i) {
        y[4] *= at(sb, i);
        i -= 1;
    }
    while i >= 0 && at(sa, i) == 1 {
        y[3] *= at(sb, i);
        i -= 1;
    }
    while i >= 0 && at(sa, i) == at(sb, i) {
        y[2] *= at(sa, i);
        i -= 1;
    }
    while i >= 0 && at(sb, i) == 1 {
        y[1] *= at(sa, i);
        i -= 1;
    }
    while i >= 0 && at(sa, i) == at(sb, i) {
        y[0] *= at(sb, i);
        i -= 1;
    }
    if i >= 0 {
        return generic();
    }
    // Shapes TFLite would reject (mismatched output) are caught by Broadcast::new.
    Broadcast::new(a, b, out)?;
    Ok(Plan::Fivefold {
        y,
        swap: !first_fast,
    })
}
/// Which formula an element goes through. Within one operator, the output byte of each path is
/// a pure function of the two input bytes, so a path can be replaced by a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    /// A vector-block lane of the elementwise kernel.
    Block,
    /// A vector-block lane of the scalar-broadcast kernel.
    BroadcastBlock,
    /// The reference formula: scalar tails, the generic broadcast, SUB.
    Scalar,
}

impl Path {
    const ALL: [Path; 3] = [Path::Block, Path::BroadcastBlock, Path::Scalar];

    fn index(self) -> usize {
        self as usize
    }
}

/// Number of entries of a full output table: one per `(input 1 byte, input 2 byte)` pair.
const TABLE_LEN: usize = 1 << 16;

/// A path gets a table when at least this many output elements per evaluation go through it;
/// below that, building 65536 entries costs more than many evaluations save.
const TABLE_MIN_ELEMENTS: usize = 4096;

/// The output of one path for every byte pair, indexed by [`table_index`].
type Table = Box<[u8; TABLE_LEN]>;

/// Index of the pair (input 1 byte `x`, input 2 byte `y`) in a [`Table`].
#[inline(always)]
fn table_index(x: u8, y: u8) -> usize {
    usize::from(x) << 8 | usize::from(y)
}

/// How many elements of a run of `n` fall in whole vector blocks of `block` lanes (0: no blocks).
fn vector_end(n: usize, block: usize) -> usize {
    if block == 0 {
        0
    } else {
        n - n % block
    }
}

/// ADD/SUB arithmetic (`sign` 1 or -1), or the reason TFLite refuses these scales.
fn add_sub_math(q1: &Q8, q2: &Q8, qo: &Q8, sign: i32) -> Result<Math, String> {
    // add.cc / sub.cc: `2 * max(float, float)` is float (exact), the ratios are double.
    let twice_max = f64::from(2.0 * q1.scale.max(q2.scale));
    let m1 = quantize_multiplier(f64::from(q1.scale) / twice_max);
    let m2 = quantize_multiplier(f64::from(q2.scale) / twice_max);
    let real_out = twice_max / f64::from((1u32 << LEFT_SHIFT) as f32 * qo.scale);
    if real_out >= 1.0 {
        return Err(format!(
            "the output scale {} is too small for the input scales {} and {} \
             (output multiplier {real_out} >= 1 is not supported)",
            qo.scale, q1.scale, q2.scale
        ));
    }
    let mo = quantize_multiplier(real_out);
    if mo.shift > 0 || m1.shift > 0 || m2.shift > 0 {
        return Err("ADD/SUB multipliers out of range".into());
    }
    Ok(Math::AddSub {
        in1: AddInput::new(q1, m1),
        in2: AddInput::new(q2, m2),
        sign,
        out_mult: mo,
    })
}

/// MUL arithmetic, or the reason these scales are refused.
fn mul_math(q1: &Q8, q2: &Q8, qo: &Q8) -> Result<Math, String> {
    // mul.cc: `input1->params.scale * input2->params.scale / output->params.scale` is float
    // arithmetic, converted to double afterwards.
    let real = q1.scale * q2.scale / qo.scale;
    let mult = quantize_multiplier(f64::from(real));
    // TFLite applies a multiplier of 2^shift as `x * (1 << shift)`, undefined from 2^31 on (its
    // results there are the compiler's; found by tests/fixtures/fuzz_graphs.py).
    if mult.shift > 30 {
        return Err(format!(
            "the output scale {} is too small for the input scales {} and {} (multiplier {real} \
             of 2^30 or more is not supported)",
            qo.scale, q1.scale, q2.scale
        ));
    }
    Ok(Math::Mul {
        zp1: q1.zero_point,
        zp2: q2.zero_point,
        mult,
    })
}

struct Binary {
    math: Math,
    plan: Plan,
    signed: bool,
    out_zp: i32,
    act_min: i32,
    act_max: i32,
    /// Lanes per vector block of the elementwise kernel (0: reference kernel only).
    elem_block: usize,
    /// Lanes per vector block of the scalar-broadcast kernel (0: reference kernel only).
    bcast_block: usize,
    /// Output tables, indexed by [`Path::index`]; `None` for paths computed element by element.
    tables: [Option<Table>; 3],
}

/// Shapes of an operator's two inputs and output.
struct Shapes<'a> {
    a: &'a [usize],
    b: &'a [usize],
    out: &'a [usize],
}

/// The output range of the operator: saturation to the 8-bit type, then the fused activation.
struct OutRange {
    signed: bool,
    zero_point: i32,
    act_min: i32,
    act_max: i32,
}

impl Binary {
    /// Plans the walk and builds the tables of the paths through which at least `table_min`
    /// output elements go per evaluation.
    fn new(
        math: Math,
        shapes: &Shapes<'_>,
        range: OutRange,
        table_min: usize,
    ) -> Result<Binary, String> {
        let plan = plan(shapes.a, shapes.b, shapes.out)?;
        let is_sub = matches!(math, Math::AddSub { sign: -1, .. });
        // SUB always runs TFLite's reference kernel: element by element.
        let plan = match plan {
            Plan::Fivefold { .. } if is_sub => {
                Plan::Generic(Broadcast::new(shapes.a, shapes.b, shapes.out)?)
            }
            p => p,
        };
        let (elem_block, bcast_block) = match (&math, range.signed) {
            _ if is_sub => (0, 0),
            (Math::AddSub { .. }, true) => (16, 8),
            (Math::AddSub { .. }, false) => (8, 8),
            (Math::Mul { .. }, true) => (16, 16),
            (Math::Mul { .. }, false) => (8, 8),
        };
        let mut kernel = Binary {
            math,
            plan,
            signed: range.signed,
            out_zp: range.zero_point,
            act_min: range.act_min,
            act_max: range.act_max,
            elem_block,
            bcast_block,
            tables: [None, None, None],
        };
        let out_len = shapes.out.iter().fold(1usize, |n, &d| n.saturating_mul(d));
        let counts = kernel.path_counts(out_len);
        for path in Path::ALL {
            if counts[path.index()] > 0 && counts[path.index()] >= table_min {
                kernel.tables[path.index()] = Some(kernel.build_table(path));
            }
        }
        Ok(kernel)
    }

    /// How many output elements go through each path per evaluation.
    fn path_counts(&self, out_len: usize) -> [usize; 3] {
        let mut counts = [0usize; 3];
        let mut add = |runs: usize, len: usize, block: usize, vector: Path| {
            let v = vector_end(len, block);
            counts[vector.index()] += runs.saturating_mul(v);
            counts[Path::Scalar.index()] += runs.saturating_mul(len - v);
        };
        match &self.plan {
            Plan::Elementwise => add(1, out_len, self.elem_block, Path::Block),
            Plan::Generic(_) => add(1, out_len, 0, Path::Block),
            Plan::Fivefold { y, .. } if y[4] > 1 => add(
                y[..4].iter().fold(1usize, |n, &d| n.saturating_mul(d)),
                y[4],
                self.elem_block,
                Path::Block,
            ),
            Plan::Fivefold { y, .. } => add(
                y[..3].iter().fold(1usize, |n, &d| n.saturating_mul(d)),
                y[3],
                self.bcast_block,
                Path::BroadcastBlock,
            ),
        }
        counts
    }

    /// The table of one path, computed with the exact per-element formula.
    fn build_table(&self, path: Path) -> Table {
        let mut t: Table = vec![0u8; TABLE_LEN]
            .into_boxed_slice()
            .try_into()
            .unwrap_or_else(|_| unreachable!("the vector has TABLE_LEN entries"));
        for x in 0..=255u8 {
            for y in 0..=255u8 {
                t[table_index(x, y)] = self.direct(path, x, y);
            }
        }
        t
    }

    /// One element through `path`, computed directly; `x` is input 1's byte, `y` input 2's.
    #[inline(always)]
    fn direct(&self, path: Path, x: u8, y: u8) -> u8 {
        match path {
            Path::Scalar => self.scalar(x, y),
            Path::Block => self.block_lane(x, y),
            Path::BroadcastBlock => self.broadcast_lane(x, y),
        }
    }

    /// The reference (scalar) formula for one element; `x` is input 1's byte, `y` input 2's.
    #[inline(always)]
    fn scalar(&self, x: u8, y: u8) -> u8 {
        let v = match &self.math {
            Math::AddSub {
                in1,
                in2,
                sign,
                out_mult,
            } => {
                let raw = in1.scalar[x as usize].wrapping_add(sign * in2.scalar[y as usize]);
                mul_smaller_than_one(raw, *out_mult)
            }
            Math::Mul { zp1, zp2, mult } => mul_double_rounding(
                (load8(self.signed, x) - zp1) * (load8(self.signed, y) - zp2),
                *mult,
            ),
        };
        (v + self.out_zp).clamp(self.act_min, self.act_max) as u8
    }

    /// One vector-block lane of TFLite's elementwise kernel (`AddElementwise[Int8]`,
    /// `MulElementwise`).
    #[inline(always)]
    fn block_lane(&self, x: u8, y: u8) -> u8 {
        match &self.math {
            Math::AddSub {
                in1, in2, out_mult, ..
            } => {
                let (t1, t2) = if self.signed {
                    (&in1.folded, &in2.folded)
                } else {
                    (&in1.floored, &in2.floored)
                };
                let s = t1[x as usize].wrapping_add(t2[y as usize]);
                self.finish_lane(self.add_out(s, *out_mult), Narrow::Wrap)
            }
            Math::Mul { zp1, zp2, mult } => {
                let p = (load8(self.signed, x) - zp1) * (load8(self.signed, y) - zp2);
                self.finish_lane(mul_double_rounding(p, *mult), Narrow::Saturate)
            }
        }
    }

    /// One vector-block lane of TFLite's scalar-broadcast kernel (`AddScalarBroadcast`,
    /// `MulSimpleBroadcast`).
    #[inline(always)]
    fn broadcast_lane(&self, x: u8, y: u8) -> u8 {
        match &self.math {
            Math::AddSub {
                in1, in2, out_mult, ..
            } => {
                let sum = in1.floored[x as usize].wrapping_add(in2.floored[y as usize]);
                self.finish_lane(self.add_out(sum, *out_mult), Narrow::Wrap)
            }
            Math::Mul { zp1, zp2, mult } => {
                let narrow = if self.signed {
                    Narrow::Saturate
                } else {
                    Narrow::Wrap
                };
                let p = (load8(self.signed, x) - zp1) * (load8(self.signed, y) - zp2);
                self.finish_lane(mul_double_rounding(p, *mult), narrow)
            }
        }
    }

    /// One lane of a vector block: the 32-bit pre-narrowing result, narrowed, offset, saturated
    /// to the 8-bit type and clamped.
    #[inline(always)]
    fn finish_lane(&self, pre: i32, narrow: Narrow) -> u8 {
        let s = narrow.apply(pre, self.out_zp);
        let (lo, hi) = if self.signed { (-128, 127) } else { (0, 255) };
        s.clamp(lo, hi).clamp(self.act_min, self.act_max) as u8
    }

    /// The output stage of an ADD vector lane, before narrowing.
    #[inline(always)]
    fn add_out(&self, sum: i32, m: QuantizedMultiplier) -> i32 {
        rounding_divide_by_pot(sat_rounding_doubling_high_mul(sum, m.multiplier), -m.shift)
    }

    /// One element through `path`, by table when there is one.
    #[inline(always)]
    fn element(&self, path: Path, x: u8, y: u8) -> u8 {
        match &self.tables[path.index()] {
            Some(t) => t[table_index(x, y)],
            None => self.direct(path, x, y),
        }
    }

    /// Pairs `x[i]`, `y[i]` (input 1 and input 2 bytes) through `path` into `out[i]`.
    fn pairs(&self, path: Path, x: &[u8], y: &[u8], out: &mut [u8]) {
        let (x, y) = (&x[..out.len()], &y[..out.len()]);
        match &self.tables[path.index()] {
            Some(t) => {
                let t: &[u8; TABLE_LEN] = t;
                let mut xs = x.chunks_exact(8);
                let mut ys = y.chunks_exact(8);
                let mut os = out.chunks_exact_mut(8);
                for ((o, a), b) in (&mut os).zip(&mut xs).zip(&mut ys) {
                    for k in 0..8 {
                        o[k] = t[table_index(a[k], b[k])];
                    }
                }
                let rest = os.into_remainder();
                for ((o, &a), &b) in rest.iter_mut().zip(xs.remainder()).zip(ys.remainder()) {
                    *o = t[table_index(a, b)];
                }
            }
            None => {
                for ((o, &a), &b) in out.iter_mut().zip(x).zip(y) {
                    *o = self.direct(path, a, b);
                }
            }
        }
    }

    /// One run with the single broadcast byte `s` through `path`; `scalar_first` tells whether
    /// `s` is the operator's input 1.
    fn with_scalar(&self, path: Path, s: u8, v: &[u8], out: &mut [u8], scalar_first: bool) {
        let v = &v[..out.len()];
        let Some(t) = &self.tables[path.index()] else {
            for (o, &e) in out.iter_mut().zip(v) {
                let (x, y) = if scalar_first { (s, e) } else { (e, s) };
                *o = self.direct(path, x, y);
            }
            return;
        };
        // With one operand fixed, the output is a 256-entry function of the other byte.
        let mut column = [0u8; 256];
        let row: &[u8; 256] = if scalar_first {
            let start = table_index(s, 0);
            t[start..start + 256]
                .try_into()
                .unwrap_or_else(|_| unreachable!("a table row has 256 entries"))
        } else if out.len() >= 256 {
            for (e, c) in column.iter_mut().enumerate() {
                *c = t[table_index(e as u8, s)];
            }
            &column
        } else {
            for (o, &e) in out.iter_mut().zip(v) {
                *o = t[table_index(e, s)];
            }
            return;
        };
        for (o, &e) in out.iter_mut().zip(v) {
            *o = row[usize::from(e)];
        }
    }

    /// One contiguous run as TFLite's elementwise kernel processes it. `x` belongs to input 1
    /// and `y` to input 2 of the original operator.
    fn elementwise(&self, x: &[u8], y: &[u8], out: &mut [u8]) {
        let n = out.len();
        let vec_end = vector_end(n, self.elem_block);
        let (out_vec, out_tail) = out.split_at_mut(vec_end);
        self.pairs(Path::Block, x, y, out_vec);
        self.pairs(Path::Scalar, &x[vec_end..n], &y[vec_end..n], out_tail);
    }

    /// One run with a single broadcast value (`AddScalarBroadcast`, `MulSimpleBroadcast`);
    /// `scalar_first` tells whether the broadcast value is the operator's input 1.
    fn scalar_broadcast(&self, s: u8, v: &[u8], out: &mut [u8], scalar_first: bool) {
        let n = out.len();
        let vec_end = vector_end(n, self.bcast_block);
        let (out_vec, out_tail) = out.split_at_mut(vec_end);
        self.with_scalar(Path::BroadcastBlock, s, v, out_vec, scalar_first);
        self.with_scalar(Path::Scalar, s, &v[vec_end..n], out_tail, scalar_first);
    }
}

/// Prepares ADD, SUB or MUL.
pub fn prepare(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(7)?;
    let code = ctx.op.kind().builtin();
    let raw = ctx.op.raw();
    let act = match code {
        Some(BuiltinOperator::ADD) => raw
            .builtin_options_as_add_options()
            .map(|o| o.fused_activation_function()),
        Some(BuiltinOperator::SUB) => raw
            .builtin_options_as_sub_options()
            .map(|o| o.fused_activation_function()),
        _ => raw
            .builtin_options_as_mul_options()
            .map(|o| o.fused_activation_function()),
    }
    .unwrap_or(ActivationFunctionType::NONE);
    let a = ctx.input(0)?;
    let b = ctx.input(1)?;
    let out = ctx.output(0)?;
    let q1 = Q8::of(ctx, a, "input 1")?;
    let q2 = Q8::of(ctx, b, "input 2")?;
    let qo = Q8::of(ctx, out, "output")?;
    if q1.signed != qo.signed || q2.signed != qo.signed {
        return Err(ctx.unsupported("inputs and output must all be int8 or all be uint8"));
    }
    let (act_min, act_max) = fused_range(ctx, act, &qo)?;
    let math = match code {
        Some(BuiltinOperator::MUL) => mul_math(&q1, &q2, &qo).map_err(|e| ctx.unsupported(e))?,
        Some(BuiltinOperator::SUB) => {
            add_sub_math(&q1, &q2, &qo, -1).map_err(|e| ctx.unsupported(e))?
        }
        _ => add_sub_math(&q1, &q2, &qo, 1).map_err(|e| ctx.unsupported(e))?,
    };
    let shapes = Shapes {
        a: &a.shape,
        b: &b.shape,
        out: &out.shape,
    };
    let range = OutRange {
        signed: qo.signed,
        zero_point: qo.zero_point,
        act_min,
        act_max,
    };
    let kernel =
        Binary::new(math, &shapes, range, TABLE_MIN_ELEMENTS).map_err(|e| ctx.invalid(e))?;
    Ok(Box::new(kernel))
}

impl Kernel for Binary {
    fn eval(
        &mut self,
        inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError> {
        let (Some(a), Some(b)) = (inputs[0], inputs[1]) else {
            return Err(EvalError("missing input".into()));
        };
        let out = &mut *outputs[0];
        match &self.plan {
            Plan::Elementwise => self.elementwise(a, b, out),
            Plan::Generic(bc) => {
                bc.for_each(|o, i, j| out[o] = self.element(Path::Scalar, a[i], b[j]))
            }
            Plan::Fivefold { y, swap } => {
                // `fast` is the input that broadcasts along the inner dimensions.
                let (fast, other) = if *swap { (b, a) } else { (a, b) };
                let [y0, y1, y2, y3, y4] = *y;
                let (mut i_fast, mut o, mut other_reset) = (0usize, 0usize, 0usize);
                if y4 > 1 {
                    for _ in 0..y0 {
                        let mut i_other = other_reset;
                        for _ in 0..y1 {
                            i_other = other_reset;
                            for _ in 0..y2 {
                                for _ in 0..y3 {
                                    let f = &fast[i_fast..i_fast + y4];
                                    let g = &other[i_other..i_other + y4];
                                    let (x, yy) = if *swap { (g, f) } else { (f, g) };
                                    self.elementwise(x, yy, &mut out[o..o + y4]);
                                    i_other += y4;
                                    o += y4;
                                }
                                i_fast += y4;
                            }
                        }
                        other_reset = i_other;
                    }
                } else {
                    for _ in 0..y0 {
                        let mut i_other = other_reset;
                        for _ in 0..y1 {
                            i_other = other_reset;
                            for _ in 0..y2 {
                                self.scalar_broadcast(
                                    fast[i_fast],
                                    &other[i_other..i_other + y3],
                                    &mut out[o..o + y3],
                                    !*swap,
                                );
                                i_other += y3;
                                o += y3;
                                i_fast += 1;
                            }
                        }
                        other_reset = i_other;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{
        add_sub_math, mul_math, plan, Binary, Math, OutRange, Path, Plan, Shapes, TABLE_LEN,
        TABLE_MIN_ELEMENTS,
    };
    use crate::interp::kernel::Kernel;
    use crate::interp::ops::quant8::Q8;

    fn fivefold(a: &[usize], b: &[usize], out: &[usize]) -> ([usize; 5], bool) {
        match plan(a, b, out).expect("broadcastable") {
            Plan::Fivefold { y, swap } => (y, swap),
            other => panic!("{a:?} vs {b:?}: expected fivefold, got {other:?}"),
        }
    }

    #[test]
    fn plans_follow_process_broadcast_shapes() {
        assert_eq!(plan(&[1, 200], &[200], &[1, 200]), Ok(Plan::Elementwise));
        // Channel broadcast: the second input broadcasts fast, runs of 24.
        assert_eq!(
            fivefold(&[1, 4, 5, 24], &[24], &[1, 4, 5, 24]),
            ([1, 1, 1, 20, 24], true)
        );
        // Per-row scalar: runs of 23 with one broadcast value each.
        assert_eq!(
            fivefold(&[1, 4, 5, 1], &[1, 4, 5, 23], &[1, 4, 5, 23]),
            ([1, 1, 20, 23, 1], false)
        );
        assert_eq!(
            fivefold(&[2, 3, 1, 4, 17], &[2, 1, 5, 4, 17], &[2, 3, 5, 4, 17]),
            ([2, 3, 1, 5, 68], false)
        );
        assert!(matches!(
            plan(&[2, 1, 3, 1, 5], &[1, 4, 3, 6, 1], &[2, 4, 3, 6, 5]),
            Ok(Plan::Generic(_))
        ));
        assert!(plan(&[3, 4], &[5, 4], &[5, 4]).is_err());
    }

    /// xorshift64, for reproducible random bytes.
    fn bytes(seed: &mut u64, n: usize) -> Vec<u8> {
        (0..n)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                (*seed >> 24) as u8
            })
            .collect()
    }

    #[derive(Clone, Copy)]
    enum Op {
        Add,
        Sub,
        Mul,
    }

    fn math(op: Op, q: &[Q8; 3]) -> Math {
        match op {
            Op::Add => add_sub_math(&q[0], &q[1], &q[2], 1).expect("valid ADD scales"),
            Op::Sub => add_sub_math(&q[0], &q[1], &q[2], -1).expect("valid SUB scales"),
            Op::Mul => mul_math(&q[0], &q[1], &q[2]).expect("valid MUL scales"),
        }
    }

    /// Evaluates with and without tables on random inputs and checks the outputs agree; returns
    /// which paths got a table.
    fn check(
        op: Op,
        q: &[Q8; 3],
        act: (i32, i32),
        a: &[usize],
        b: &[usize],
        seed: &mut u64,
    ) -> [bool; 3] {
        let out: Vec<usize> = (0..a.len().max(b.len()))
            .map(|i| {
                let at = |s: &[usize]| {
                    let pad = a.len().max(b.len()) - s.len();
                    if i < pad {
                        1
                    } else {
                        s[i - pad]
                    }
                };
                at(a).max(at(b))
            })
            .collect();
        let shapes = Shapes { a, b, out: &out };
        let range = || OutRange {
            signed: q[2].signed,
            zero_point: q[2].zero_point,
            act_min: act.0,
            act_max: act.1,
        };
        let mut tabled = Binary::new(math(op, q), &shapes, range(), 0).expect("valid op");
        let mut direct = Binary::new(math(op, q), &shapes, range(), usize::MAX).expect("valid op");
        assert!(direct.tables.iter().all(Option::is_none));
        for path in Path::ALL {
            if let Some(t) = &tabled.tables[path.index()] {
                assert_eq!(t.len(), TABLE_LEN);
                for (k, &v) in t.iter().enumerate() {
                    assert_eq!(
                        v,
                        direct.direct(path, (k >> 8) as u8, k as u8),
                        "{path:?} {k}"
                    );
                }
            }
        }
        let n_out: usize = out.iter().product();
        for _ in 0..3 {
            let xa = bytes(seed, a.iter().product());
            let xb = bytes(seed, b.iter().product());
            let mut got = vec![0u8; n_out];
            let mut want = vec![0u8; n_out];
            tabled
                .eval(&[Some(&xa), Some(&xb)], &mut [&mut got])
                .expect("eval");
            direct
                .eval(&[Some(&xa), Some(&xb)], &mut [&mut want])
                .expect("eval");
            assert_eq!(got, want, "{a:?} vs {b:?}");
        }
        tabled.tables.each_ref().map(Option::is_some)
    }

    #[test]
    fn tables_are_built_only_for_paths_with_enough_elements() {
        let q = |zero_point| Q8 {
            signed: true,
            scale: 0.05,
            zero_point,
        };
        let q = [q(-3), q(10), q(-20)];
        let built = |op: Op, a: &[usize], b: &[usize], out: &[usize]| {
            let range = OutRange {
                signed: true,
                zero_point: -20,
                act_min: -128,
                act_max: 127,
            };
            Binary::new(
                math(op, &q),
                &Shapes { a, b, out },
                range,
                TABLE_MIN_ELEMENTS,
            )
            .expect("valid op")
            .tables
            .each_ref()
            .map(Option::is_some)
        };
        let big = [1, 56, 56, 256];
        assert_eq!(built(Op::Add, &big, &big, &big), [true, false, false]);
        assert_eq!(built(Op::Sub, &big, &big, &big), [false, false, true]);
        assert_eq!(
            built(
                Op::Add,
                &[1, 10, 10, 16],
                &[1, 10, 10, 16],
                &[1, 10, 10, 16]
            ),
            [false; 3]
        );
        // Runs of 24 int8 lanes: 16 in a block, 8 in the tail.
        let rows = [1, 100, 100, 24];
        assert_eq!(built(Op::Add, &rows, &[24], &rows), [true, false, true]);
        assert_eq!(
            built(Op::Mul, &[2, 1], &[2, 4096], &[2, 4096]),
            [false, true, false]
        );
    }

    #[test]
    fn table_eval_equals_direct_eval_on_every_path() {
        let q8 = |signed, scale, zero_point| Q8 {
            signed,
            scale,
            zero_point,
        };
        let shapes: [(&[usize], &[usize]); 9] = [
            (&[87], &[87]),                       // elementwise: blocks and a tail
            (&[2, 3, 64], &[2, 3, 64]),           // elementwise: blocks only
            (&[1, 4, 5, 24], &[24]),              // fivefold runs, second input fast
            (&[21], &[1, 3, 21]),                 // fivefold runs, first input fast
            (&[1, 4, 5, 1], &[1, 4, 5, 23]),      // scalar broadcast, scalar first
            (&[1, 4, 5, 23], &[1, 4, 5, 1]),      // scalar broadcast, scalar second
            (&[2, 1], &[2, 300]),                 // long scalar-first runs
            (&[3, 300], &[3, 1]),                 // long scalar-second runs (column)
            (&[2, 1, 3, 1, 5], &[1, 4, 3, 6, 1]), // generic broadcast
        ];
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut reached = [false; 3];
        for signed in [true, false] {
            let zp = |z: i32| if signed { z } else { z + 128 };
            let (lo, hi) = if signed { (-128, 127) } else { (0, 255) };
            let quants = [
                [
                    q8(signed, 0.05, zp(-3)),
                    q8(signed, 0.02, zp(10)),
                    q8(signed, 0.07, zp(-20)),
                ],
                [
                    q8(signed, 0.5, zp(0)),
                    q8(signed, 0.5, zp(0)),
                    q8(signed, 0.9, zp(5)),
                ],
                [
                    q8(signed, 0.011, zp(100)),
                    q8(signed, 0.3, zp(-90)),
                    q8(signed, 0.25, zp(-128)),
                ],
            ];
            for q in &quants {
                for act in [(lo, hi), (zp(-128) + 30, hi - 40)] {
                    for op in [Op::Add, Op::Sub, Op::Mul] {
                        for (a, b) in shapes {
                            let built = check(op, q, act, a, b, &mut seed);
                            for (r, b) in reached.iter_mut().zip(built) {
                                *r |= b;
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(reached, [true; 3], "every path got a table somewhere");
    }
}
