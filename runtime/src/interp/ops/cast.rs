//! CAST between float32, int8, uint8, int16, int32, int64 and bool.
//!
//! The rules, checked against ai-edge-litert 2.3.0 on every pair with edge values:
//!
//! - integer or bool to integer: two's-complement truncation to the target width (`300` to int8
//!   is `44`, `-1` to uint8 is `255`); bool is `0` or `1`;
//! - integer to float32: rounded to nearest, ties to even;
//! - float32 to integer: truncated toward zero and **saturated** to the target's range, with NaN
//!   giving the target's maximum (`NaN` to int8 is `127`, to uint8 `255`);
//! - anything to bool: `x != 0` (NaN is true, `-0.0` is false).
//!
//! Quantization parameters are ignored, as TFLite's CAST ignores them.

use crate::dtype::ElementType;
use crate::interp::error::{EvalError, LoadError};
use crate::interp::kernel::{Kernel, PrepareCtx};

/// A value read from the input: integers (and bool) widen to `i64` exactly.
#[derive(Clone, Copy)]
enum Value {
    Int(i64),
    Float(f32),
}

fn read(dtype: ElementType, bytes: &[u8], i: usize) -> Value {
    match dtype {
        ElementType::I8 => Value::Int(bytes[i] as i8 as i64),
        ElementType::U8 => Value::Int(bytes[i] as i64),
        ElementType::Bool => Value::Int((bytes[i] != 0) as i64),
        ElementType::I16 => Value::Int(i16::from_le_bytes([bytes[2 * i], bytes[2 * i + 1]]) as i64),
        ElementType::I32 => {
            let c = &bytes[4 * i..4 * i + 4];
            Value::Int(i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64)
        }
        ElementType::I64 => {
            let mut c = [0u8; 8];
            c.copy_from_slice(&bytes[8 * i..8 * i + 8]);
            Value::Int(i64::from_le_bytes(c))
        }
        _ => {
            let c = &bytes[4 * i..4 * i + 4];
            Value::Float(f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        }
    }
}

/// float32 to an integer type: truncation, saturation, NaN to the maximum.
macro_rules! float_to {
    ($t:ty, $x:expr) => {{
        let x: f32 = $x;
        if x.is_nan() {
            <$t>::MAX
        } else {
            x as $t
        }
    }};
}

fn write(dtype: ElementType, out: &mut [u8], i: usize, v: Value) {
    match dtype {
        ElementType::I8 | ElementType::U8 => {
            out[i] = match (dtype, v) {
                (ElementType::I8, Value::Int(n)) => n as i8 as u8,
                (ElementType::I8, Value::Float(x)) => float_to!(i8, x) as u8,
                (_, Value::Int(n)) => n as u8,
                (_, Value::Float(x)) => float_to!(u8, x),
            }
        }
        ElementType::Bool => {
            out[i] = match v {
                Value::Int(n) => (n != 0) as u8,
                Value::Float(x) => (x != 0.0) as u8,
            }
        }
        ElementType::I16 => {
            let n = match v {
                Value::Int(n) => n as i16,
                Value::Float(x) => float_to!(i16, x),
            };
            out[2 * i..2 * i + 2].copy_from_slice(&n.to_le_bytes());
        }
        ElementType::I32 => {
            let n = match v {
                Value::Int(n) => n as i32,
                Value::Float(x) => float_to!(i32, x),
            };
            out[4 * i..4 * i + 4].copy_from_slice(&n.to_le_bytes());
        }
        ElementType::I64 => {
            let n = match v {
                Value::Int(n) => n,
                Value::Float(x) => float_to!(i64, x),
            };
            out[8 * i..8 * i + 8].copy_from_slice(&n.to_le_bytes());
        }
        _ => {
            let x = match v {
                Value::Int(n) => n as f32,
                Value::Float(x) => x,
            };
            out[4 * i..4 * i + 4].copy_from_slice(&x.to_le_bytes());
        }
    }
}

struct CastKernel {
    from: ElementType,
    to: ElementType,
    count: usize,
}

impl Kernel for CastKernel {
    fn eval(
        &mut self,
        inputs: &[Option<&[u8]>],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EvalError> {
        let input = inputs
            .first()
            .copied()
            .flatten()
            .ok_or_else(|| EvalError("CAST input is missing".into()))?;
        let out = outputs
            .get_mut(0)
            .ok_or_else(|| EvalError("CAST has no output buffer".into()))?;
        let (si, so) = (
            self.from.size_bytes().unwrap_or(1),
            self.to.size_bytes().unwrap_or(1),
        );
        if input.len() != self.count * si || out.len() != self.count * so {
            return Err(EvalError(format!(
                "CAST buffers hold {} and {} bytes, expected {} and {}",
                input.len(),
                out.len(),
                self.count * si,
                self.count * so
            )));
        }
        if self.from == self.to {
            out.copy_from_slice(input);
            return Ok(());
        }
        for i in 0..self.count {
            write(self.to, out, i, read(self.from, input, i));
        }
        Ok(())
    }
}

fn castable(t: ElementType) -> bool {
    matches!(
        t,
        ElementType::F32
            | ElementType::I8
            | ElementType::U8
            | ElementType::I16
            | ElementType::I32
            | ElementType::I64
            | ElementType::Bool
    )
}

/// Prepares CAST.
pub fn prepare_cast(ctx: &PrepareCtx<'_>) -> Result<Box<dyn Kernel>, LoadError> {
    ctx.check_version(7)?;
    if ctx.inputs.len() != 1 || ctx.outputs.len() != 1 {
        return Err(ctx.invalid("CAST takes one input and has one output"));
    }
    let input = ctx.input(0)?;
    let output = ctx.output(0)?;
    for (t, what) in [(input, "input"), (output, "output")] {
        if !castable(t.dtype) {
            return Err(ctx.unsupported(format!(
                "{what} type {} is not supported (float32, int8, uint8, int16, int32, int64, bool)",
                t.dtype
            )));
        }
    }
    if input.num_elements() != output.num_elements() {
        return Err(ctx.invalid(format!(
            "input has {} elements, output {}",
            input.num_elements(),
            output.num_elements()
        )));
    }
    Ok(Box::new(CastKernel {
        from: input.dtype,
        to: output.dtype,
        count: input.num_elements(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cast_one(from: ElementType, to: ElementType, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; to.size_bytes().unwrap()];
        write(to, &mut out, 0, read(from, bytes, 0));
        out
    }

    #[test]
    fn float_to_int_saturates_and_nan_is_max() {
        let nan = f32::NAN.to_le_bytes();
        assert_eq!(cast_one(ElementType::F32, ElementType::I8, &nan), [127]);
        assert_eq!(cast_one(ElementType::F32, ElementType::U8, &nan), [255]);
        let big = 300.5f32.to_le_bytes();
        assert_eq!(cast_one(ElementType::F32, ElementType::I8, &big), [127]);
        let neg = (-1.5f32).to_le_bytes();
        assert_eq!(cast_one(ElementType::F32, ElementType::U8, &neg), [0]);
        assert_eq!(
            cast_one(ElementType::F32, ElementType::I32, &neg),
            (-1i32).to_le_bytes()
        );
        let negzero = (-0.0f32).to_le_bytes();
        assert_eq!(cast_one(ElementType::F32, ElementType::Bool, &negzero), [0]);
        assert_eq!(cast_one(ElementType::F32, ElementType::Bool, &nan), [1]);
    }

    #[test]
    fn int_to_int_wraps() {
        let v = 300i32.to_le_bytes();
        assert_eq!(cast_one(ElementType::I32, ElementType::I8, &v), [44]);
        assert_eq!(cast_one(ElementType::I8, ElementType::U8, &[0xff]), [255]);
        assert_eq!(
            cast_one(ElementType::U8, ElementType::I32, &[200]),
            200i32.to_le_bytes()
        );
        let big = ((1i64 << 53) + 1).to_le_bytes();
        assert_eq!(
            cast_one(ElementType::I64, ElementType::F32, &big),
            9007199254740992f32.to_le_bytes()
        );
    }
}
