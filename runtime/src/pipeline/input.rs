//! One item's input tensors as the caller gives them: by position or by name, raw bytes or with
//! an element type to check; the engine matches them to the pipeline's inputs without allocating.

use super::error::InputError;
use super::spec::TensorSpec;
use crate::dtype::ElementType;

/// One input tensor of an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Input<'a> {
    /// The pipeline input it is for; `None` means by position.
    pub name: Option<&'a str>,
    /// The element type the data holds, checked against the input's when given.
    pub dtype: Option<ElementType>,
    /// The tensor's bytes (little-endian, C order).
    pub data: &'a [u8],
}

impl<'a> Input<'a> {
    /// Raw bytes for the input at the same position.
    pub fn bytes(data: &'a [u8]) -> Self {
        Input {
            name: None,
            dtype: None,
            data,
        }
    }

    /// Raw bytes for the input called `name`.
    pub fn named(name: &'a str, data: &'a [u8]) -> Self {
        Input {
            name: Some(name),
            dtype: None,
            data,
        }
    }

    /// `uint8` data.
    pub fn u8(data: &'a [u8]) -> Self {
        Input::bytes(data).with_dtype(ElementType::U8)
    }

    /// `int8` data.
    pub fn i8(data: &'a [i8]) -> Self {
        // SAFETY: i8 and u8 have the same size and alignment and every bit pattern is valid for
        // both; the new slice covers exactly the same memory for the same lifetime.
        let bytes = unsafe { std::slice::from_raw_parts(data.as_ptr().cast::<u8>(), data.len()) };
        Input::bytes(bytes).with_dtype(ElementType::I8)
    }

    /// The same data, for the input called `name`.
    pub fn with_name(mut self, name: &'a str) -> Self {
        self.name = Some(name);
        self
    }

    /// The same data, declared to hold `dtype`.
    pub fn with_dtype(mut self, dtype: ElementType) -> Self {
        self.dtype = Some(dtype);
        self
    }
}

impl<'a> From<&'a [u8]> for Input<'a> {
    fn from(data: &'a [u8]) -> Self {
        Input::bytes(data)
    }
}

impl<'a> From<&'a Vec<u8>> for Input<'a> {
    fn from(data: &'a Vec<u8>) -> Self {
        Input::bytes(data)
    }
}

impl<'a> From<(&'a str, &'a [u8])> for Input<'a> {
    fn from((name, data): (&'a str, &'a [u8])) -> Self {
        Input::named(name, data)
    }
}

/// The comma-separated names of `specs`, for errors.
pub(crate) fn names(specs: &[TensorSpec]) -> String {
    specs
        .iter()
        .map(|t| format!("'{}'", t.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// For each pipeline input (in order), the position in `given` of its data; checks count,
/// names, types and sizes. `order` must have one entry per pipeline input.
pub(crate) fn bind(
    specs: &[TensorSpec],
    given: &[Input<'_>],
    order: &mut [usize],
) -> Result<(), InputError> {
    if given.len() != specs.len() {
        return Err(InputError::Count {
            given: given.len(),
            expected: specs.len(),
            names: names(specs),
        });
    }
    let named = given.first().is_some_and(|g| g.name.is_some());
    for (i, g) in given.iter().enumerate() {
        if g.name.is_some() != named {
            let index = given.iter().position(|g| g.name.is_none()).unwrap_or(i);
            return Err(InputError::MixedNaming { index });
        }
    }
    if named {
        for (g_index, g) in given.iter().enumerate() {
            let name = g.name.unwrap_or_default();
            if given[..g_index].iter().any(|h| h.name == Some(name)) {
                return Err(InputError::Repeated {
                    name: name.to_string(),
                });
            }
            let Some(pos) = specs.iter().position(|t| t.name == name) else {
                return Err(InputError::UnknownName {
                    name: name.to_string(),
                    names: names(specs),
                });
            };
            order[pos] = g_index;
        }
    } else {
        for (pos, slot) in order.iter_mut().enumerate() {
            *slot = pos;
        }
    }
    for (spec, &g) in specs.iter().zip(order.iter()) {
        let input = &given[g];
        if let Some(dtype) = input.dtype {
            if dtype != spec.dtype {
                return Err(InputError::DType {
                    name: spec.name.clone(),
                    expected: spec.dtype,
                    given: dtype,
                });
            }
        }
        if input.data.len() != spec.len() {
            return Err(InputError::Size {
                name: spec.name.clone(),
                expected: spec.len(),
                given: input.data.len(),
            });
        }
    }
    Ok(())
}
