//! The tokens of a generated model: the struct with its constructors and inference methods, one
//! type per input and output tensor, and the embedded segments.

use super::tensors::{ModelTensors, TensorInfo};
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use std::path::PathBuf;
use tpupipe_runtime::ElementType;

/// Everything the struct is generated from.
pub struct StructSpec<'a> {
    /// The struct's name.
    pub name: &'a str,
    /// Its visibility (`pub`, `pub(crate)`, or empty).
    pub visibility: &'a TokenStream,
    /// Its rustdoc lines.
    pub doc: &'a [String],
    /// The plan, as an expression.
    pub plan: &'a TokenStream,
    /// The model's inputs and outputs.
    pub tensors: &'a ModelTensors,
    /// Per segment: the uncompiled file to embed, if any.
    pub cpu_files: &'a [Option<PathBuf>],
    /// Per segment: the compiled file to embed, if any.
    pub edgetpu_files: &'a [Option<PathBuf>],
    /// Files the expansion depends on (model, profile): `include_bytes!`-ed so that cargo
    /// rebuilds when they change.
    pub tracked: &'a [PathBuf],
}

/// `#[repr(C, align(16))]`-wrapped `include_bytes!` of `path`, as a static.
pub fn embedded_static(ident: &proc_macro2::Ident, path: &std::path::Path) -> TokenStream {
    let path = path.to_string_lossy();
    quote! {
        static #ident: &::tpupipe::embedded::Aligned<[u8]> =
            &::tpupipe::embedded::Aligned(*::std::include_bytes!(#path));
    }
}

/// The generated items.
pub fn struct_tokens(spec: &StructSpec<'_>) -> TokenStream {
    let vis = spec.visibility;
    let name = format_ident!("{}", spec.name);
    // A leading space, as `///` comments have.
    let doc = spec.doc.iter().map(|l| {
        let l = format!(" {l}");
        quote!(#[doc = #l])
    });
    let tensors = spec.tensors;
    let input_names = tensors.inputs.iter().map(|t| &t.name);
    let output_names = tensors.outputs.iter().map(|t| &t.name);
    let plan = spec.plan;
    let segment_count = spec.cpu_files.len();
    let segments = segment_models(spec.cpu_files, spec.edgetpu_files);
    let tracked = spec.tracked.iter().map(|p| {
        let p = p.to_string_lossy();
        quote!(
            const _: &[u8] = ::std::include_bytes!(#p);
        )
    });
    let input_types = tensors.inputs.iter().map(|t| tensor_type(vis, t, "input"));
    let output_types = tensors
        .outputs
        .iter()
        .map(|t| tensor_type(vis, t, "output"));
    let (in_ty, in_group) = group(vis, spec.name, "Inputs", &tensors.inputs, Side::Input);
    let (out_ty, out_group) = group(vis, spec.name, "Outputs", &tensors.outputs, Side::Output);
    let e = quote!(::tpupipe::embedded);
    let err = quote!(::tpupipe::Error);
    quote! {
        #(#tracked)*

        #(#doc)*
        #[derive(Debug)]
        #[allow(dead_code)]
        #vis struct #name {
            pipeline: #e::EmbeddedPipeline,
        }

        #[allow(dead_code)]
        impl #name {
            /// The model's input tensor names, in model order.
            pub const INPUT_NAMES: &'static [&'static str] = &[#(#input_names),*];
            /// The model's output tensor names, in model order.
            pub const OUTPUT_NAMES: &'static [&'static str] = &[#(#output_names),*];
            /// Number of segments (pipeline stages).
            pub const SEGMENTS: usize = #segment_count;

            /// The plan the segments were cut by.
            pub fn plan() -> ::tpupipe::runtime::plan::Plan {
                #plan
            }

            /// The embedded segment models, in pipeline order.
            pub fn segment_models() -> ::std::vec::Vec<::tpupipe::runtime::pipeline::SegmentModels> {
                #segments
            }

            /// Opens the pipeline on Edge TPUs, assigned automatically, without CPU fallback.
            pub fn open() -> ::std::result::Result<Self, #err> {
                Self::open_with(&#e::ModelOptions::default())
            }

            /// Opens the pipeline with every stage on the CPU interpreter.
            pub fn open_cpu() -> ::std::result::Result<Self, #err> {
                Self::open_with(&#e::ModelOptions::cpu())
            }

            /// Opens the pipeline as `options` say (devices, queue depth, CPU fallback).
            pub fn open_with(options: &#e::ModelOptions) -> ::std::result::Result<Self, #err> {
                ::std::result::Result::Ok(Self {
                    pipeline: #e::EmbeddedPipeline::open(Self::plan(), Self::segment_models(), options)?,
                })
            }

            /// Runs one item given as bytes per input in model order ([`Self::INPUT_NAMES`]);
            /// the outputs' bytes in model order ([`Self::OUTPUT_NAMES`]).
            pub fn infer_raw(&self, inputs: &[&[u8]]) -> ::std::result::Result<::std::vec::Vec<::std::vec::Vec<u8>>, #err> {
                self.pipeline.infer_raw(inputs)
            }

            /// Runs one item (the latency path).
            pub fn infer(&self, inputs: &#in_ty) -> ::std::result::Result<#out_ty, #err> {
                self.pipeline.infer(inputs)
            }

            /// Queues one item; its result comes from [`Self::pop`], in push order.
            pub fn push(&self, inputs: &#in_ty) -> ::std::result::Result<(), #err> {
                self.pipeline.push(inputs)
            }

            /// The next result in push order; `None` when nothing pushed is outstanding.
            pub fn pop(&self) -> ::std::option::Option<::std::result::Result<#out_ty, #err>> {
                self.pipeline.pop()
            }

            /// Streams `inputs` through the pipeline, keeping every stage busy; results in order.
            pub fn run_iter<I>(&mut self, inputs: I) -> #e::ResultsIter<'_, I::IntoIter, #out_ty>
            where
                I: ::std::iter::IntoIterator<Item = #in_ty>,
            {
                self.pipeline.run_iter(inputs)
            }

            /// The pipeline's figures so far (per stage, latency, buffers).
            pub fn stats(&self) -> ::tpupipe::runtime::pipeline::PipelineStats {
                self.pipeline.stats()
            }

            /// Where each stage runs, in stage order.
            pub fn placements(&self) -> &[::tpupipe::runtime::pipeline::StagePlacement] {
                self.pipeline.placements()
            }

            /// Why stages run on the CPU although the plan puts them on Edge TPUs, in one
            /// sentence; `None` when no stage fell back.
            pub fn fallback_summary(&self) -> ::std::option::Option<::std::string::String> {
                self.pipeline.fallback_summary()
            }

            /// The untyped pipeline, for generic code.
            pub fn pipeline(&mut self) -> &mut #e::EmbeddedPipeline {
                &mut self.pipeline
            }
        }

        #(#input_types)*
        #(#output_types)*
        #in_group
        #out_group
    }
}

fn segment_models(cpu: &[Option<PathBuf>], edgetpu: &[Option<PathBuf>]) -> TokenStream {
    let mut statics = Vec::new();
    let mut entries = Vec::new();
    for (i, (c, t)) in cpu.iter().zip(edgetpu).enumerate() {
        let mut field = |path: &Option<PathBuf>, kind: &str| match path {
            Some(p) => {
                let ident = format_ident!("SEGMENT_{}_{}", i, kind);
                statics.push(embedded_static(&ident, p));
                quote!(::std::option::Option::Some(#ident.segment()))
            }
            None => quote!(::std::option::Option::None),
        };
        let c = field(c, "CPU");
        let t = field(t, "EDGETPU");
        entries.push(quote! {
            ::tpupipe::runtime::pipeline::SegmentModels { cpu: #c, edgetpu: #t }
        });
    }
    quote! {
        #(#statics)*
        ::std::vec![#(#entries),*]
    }
}

/// The Rust element type holding `dtype` (raw bytes for types without one).
fn element(dtype: ElementType) -> TokenStream {
    match dtype {
        ElementType::I8 => quote!(i8),
        ElementType::U8 => quote!(u8),
        ElementType::I16 => quote!(i16),
        ElementType::I32 => quote!(i32),
        ElementType::I64 => quote!(i64),
        ElementType::F32 => quote!(f32),
        _ => quote!(u8),
    }
}

fn dtype_expr(dtype: ElementType) -> TokenStream {
    let t = quote!(::tpupipe::runtime::ElementType);
    match dtype {
        ElementType::Other(v) => quote!(#t::Other(#v)),
        other => {
            let v = format_ident!("{}", format!("{other:?}"));
            quote!(#t::#v)
        }
    }
}

/// One tensor's type: a newtype over its elements, with its shape, element type and
/// quantization as constants and, for int8 and uint8 quantized per tensor, `quantize` /
/// `dequantize`.
fn tensor_type(vis: &TokenStream, t: &TensorInfo, side: &str) -> TokenStream {
    let ty = format_ident!("{}", t.type_name);
    let elem = element(t.dtype);
    let name = &t.name;
    let shape = &t.shape;
    let rank = t.shape.len();
    let elements: usize = t.shape.iter().product();
    let dtype = dtype_expr(t.dtype);
    let doc = format!(
        " The model {side} `{}`: {} of shape {:?}{}.",
        t.name,
        t.dtype,
        t.shape,
        match t.quantization {
            Some((s, z)) => format!(", quantized with scale {s} and zero point {z}"),
            None => String::new(),
        }
    );
    let quant = match (t.quantization, t.dtype) {
        (Some((scale, zp)), ElementType::I8 | ElementType::U8) => {
            let scale = Literal::f32_suffixed(scale);
            let zp = zp as i32;
            let (q, dq) = if t.dtype == ElementType::I8 {
                (quote!(quantize_i8), quote!(dequantize_i8))
            } else {
                (quote!(quantize_u8), quote!(dequantize_u8))
            };
            quote! {
                /// Quantization scale: `real = SCALE * (q - ZERO_POINT)`.
                pub const SCALE: f32 = #scale;
                /// Quantization zero point.
                pub const ZERO_POINT: i32 = #zp;

                /// Quantizes real values (TFLite's rounding, saturating).
                pub fn quantize(values: &[f32]) -> Self {
                    Self(::tpupipe::embedded::#q(values, Self::SCALE, Self::ZERO_POINT))
                }

                /// The real values.
                pub fn dequantize(&self) -> ::std::vec::Vec<f32> {
                    ::tpupipe::embedded::#dq(&self.0, Self::SCALE, Self::ZERO_POINT)
                }
            }
        }
        _ => TokenStream::new(),
    };
    quote! {
        #[doc = #doc]
        #[derive(Clone, Debug, PartialEq)]
        #[allow(dead_code)]
        #vis struct #ty(pub ::std::vec::Vec<#elem>);

        #[allow(dead_code)]
        impl #ty {
            /// The tensor's name in the model.
            pub const NAME: &'static str = #name;
            /// Its shape.
            pub const SHAPE: [usize; #rank] = [#(#shape),*];
            /// Its element count.
            pub const ELEMENTS: usize = #elements;
            /// Its element type.
            pub const DTYPE: ::tpupipe::runtime::ElementType = #dtype;
            #quant

            /// A tensor of zero bytes.
            pub fn zeros() -> Self {
                Self(::std::vec![::std::default::Default::default(); Self::ELEMENTS])
            }

            /// The tensor from its little-endian bytes.
            pub fn from_le_bytes(bytes: &[u8]) -> Self {
                Self(<#elem as ::tpupipe::embedded::Element>::from_le(bytes))
            }

            /// Its little-endian bytes.
            pub fn le_bytes(&self) -> ::std::borrow::Cow<'_, [u8]> {
                <#elem as ::tpupipe::embedded::Element>::le_bytes(&self.0)
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Input,
    Output,
}

/// The type `infer` takes (or returns): the tensor's own type for one tensor, else a struct with
/// one field per tensor; plus the trait impls connecting it to the pipeline.
fn group(
    vis: &TokenStream,
    model: &str,
    suffix: &str,
    tensors: &[TensorInfo],
    side: Side,
) -> (TokenStream, TokenStream) {
    let types: Vec<_> = tensors
        .iter()
        .map(|t| format_ident!("{}", t.type_name))
        .collect();
    let e = quote!(::tpupipe::embedded);
    if let [single] = types.as_slice() {
        let imp = match side {
            Side::Input => quote! {
                impl #e::ModelInputs for #single {
                    fn input_bytes(&self) -> ::std::vec::Vec<::std::borrow::Cow<'_, [u8]>> {
                        ::std::vec![self.le_bytes()]
                    }
                }
            },
            Side::Output => quote! {
                impl #e::ModelOutputs for #single {
                    fn from_outputs(outputs: &::tpupipe::runtime::pipeline::Outputs) -> Self {
                        Self::from_le_bytes(#e::output_bytes(outputs, 0))
                    }
                }
            },
        };
        return (quote!(#single), imp);
    }
    let ty = format_ident!("{model}{suffix}");
    let fields: Vec<_> = tensors.iter().map(|t| syn_ident(&t.field)).collect();
    let field_docs = tensors.iter().map(|t| format!(" `{}`.", t.name));
    let doc = format!(
        " The model's {}, one field per tensor in model order.",
        suffix.to_lowercase()
    );
    let indices = 0..tensors.len();
    let imp = match side {
        Side::Input => quote! {
            impl #e::ModelInputs for #ty {
                fn input_bytes(&self) -> ::std::vec::Vec<::std::borrow::Cow<'_, [u8]>> {
                    ::std::vec![#(self.#fields.le_bytes()),*]
                }
            }
        },
        Side::Output => quote! {
            impl #e::ModelOutputs for #ty {
                fn from_outputs(outputs: &::tpupipe::runtime::pipeline::Outputs) -> Self {
                    Self {
                        #(#fields: #types::from_le_bytes(#e::output_bytes(outputs, #indices)),)*
                    }
                }
            }
        },
    };
    let item = quote! {
        #[doc = #doc]
        #[derive(Clone, Debug, PartialEq)]
        #[allow(dead_code)]
        #vis struct #ty {
            #(#[doc = #field_docs] pub #fields: #types,)*
        }
        #imp
    };
    (quote!(#ty), item)
}

/// An identifier token, raw when the text says so (`r#type`).
fn syn_ident(text: &str) -> proc_macro2::Ident {
    match text.strip_prefix("r#") {
        Some(raw) => proc_macro2::Ident::new_raw(raw, proc_macro2::Span::call_site()),
        None => format_ident!("{text}"),
    }
}
