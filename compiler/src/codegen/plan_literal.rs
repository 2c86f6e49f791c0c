//! A [`Plan`] as a Rust expression building it: the runtime has no serde by default, so the
//! generated code constructs its plan field by field.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use std::fmt::Debug;
use tpupipe_runtime::plan::{Plan, Route, Segment};

/// The expression `::tpupipe::runtime::plan::Plan { .. }` equal to `plan`.
pub fn plan_expr(plan: &Plan) -> TokenStream {
    let p = quote!(::tpupipe::runtime::plan);
    let format = plan.format;
    let model = &plan.model;
    let sha = &plan.model_sha256;
    let tpus = plan.tpus;
    let tpus_used = opt(plan.tpus_used, |v| quote!(#v));
    let strategy = variant(&p, "Strategy", &plan.strategy);
    let cuts = &plan.cuts;
    let interface = opt(plan.interface, |v| variant(&p, "Interface", &v));
    let clock = opt(plan.clock, |v| variant(&p, "Clock", &v));
    let host_link = opt(plan.host_link, |v| variant(&p, "HostLink", &v));
    let shared_wire_ms = float(plan.shared_wire_ms);
    let bottleneck_ms = float(plan.bottleneck_ms);
    let latency_ms = float(plan.latency_ms);
    let throughput_per_s = float(plan.throughput_per_s);
    let single_tpu_ms = float(plan.single_tpu_ms);
    let params_bottleneck_ms = float(plan.params_bottleneck_ms);
    let speedup_vs_one_tpu = float(plan.speedup_vs_one_tpu);
    let speedup_vs_params = float(plan.speedup_vs_params);
    let compiler_ms = float(plan.compiler_ms);
    let speedup_vs_compiler = float(plan.speedup_vs_compiler);
    let op_count = plan.op_count;
    let model_inputs = strings(&plan.model_inputs);
    let model_outputs = strings(&plan.model_outputs);
    let segments = plan.segments.iter().map(|s| segment_expr(&p, s));
    let routing = plan.routing.iter().map(|r| route_expr(&p, r));
    quote! {
        #p::Plan {
            format: #format,
            model: ::std::string::String::from(#model),
            model_sha256: ::std::string::String::from(#sha),
            tpus: #tpus,
            tpus_used: #tpus_used,
            strategy: #strategy,
            cuts: ::std::vec![#(#cuts),*],
            interface: #interface,
            clock: #clock,
            host_link: #host_link,
            shared_wire_ms: #shared_wire_ms,
            bottleneck_ms: #bottleneck_ms,
            latency_ms: #latency_ms,
            throughput_per_s: #throughput_per_s,
            single_tpu_ms: #single_tpu_ms,
            params_bottleneck_ms: #params_bottleneck_ms,
            speedup_vs_one_tpu: #speedup_vs_one_tpu,
            speedup_vs_params: #speedup_vs_params,
            compiler_ms: #compiler_ms,
            speedup_vs_compiler: #speedup_vs_compiler,
            op_count: #op_count,
            model_inputs: #model_inputs,
            model_outputs: #model_outputs,
            segments: ::std::vec![#(#segments),*],
            routing: ::std::vec![#(#routing),*],
        }
    }
}

fn segment_expr(p: &TokenStream, s: &Segment) -> TokenStream {
    let index = s.index;
    let file = &s.file;
    let edgetpu_file = opt(
        s.edgetpu_file.as_ref(),
        |f| quote!(::std::string::String::from(#f)),
    );
    let device = opt(s.device, |d| variant(p, "Device", &d));
    let [start, end] = s.op_range;
    let first_op = s.first_op;
    let last_op = s.last_op;
    let op_count = s.op_count;
    let inputs = strings(&s.inputs);
    let outputs = strings(&s.outputs);
    let param_bytes = s.param_bytes;
    let macs = s.macs;
    let input_bytes = s.input_bytes;
    let output_bytes = s.output_bytes;
    let file_bytes = s.file_bytes;
    let on_chip_bytes = opt(s.on_chip_bytes, |v| quote!(#v));
    let off_chip_bytes = opt(s.off_chip_bytes, |v| quote!(#v));
    let latency_ms = float(s.latency_ms);
    let replicas = opt(s.replicas, |v| quote!(#v));
    quote! {
        #p::Segment {
            index: #index,
            file: ::std::string::String::from(#file),
            edgetpu_file: #edgetpu_file,
            device: #device,
            op_range: [#start, #end],
            first_op: #first_op,
            last_op: #last_op,
            op_count: #op_count,
            inputs: #inputs,
            outputs: #outputs,
            param_bytes: #param_bytes,
            macs: #macs,
            input_bytes: #input_bytes,
            output_bytes: #output_bytes,
            file_bytes: #file_bytes,
            on_chip_bytes: #on_chip_bytes,
            off_chip_bytes: #off_chip_bytes,
            latency_ms: #latency_ms,
            replicas: #replicas,
        }
    }
}

fn route_expr(p: &TokenStream, r: &Route) -> TokenStream {
    let tensor = &r.tensor;
    let bytes = r.bytes;
    let shape = &r.shape;
    let dtype = &r.dtype;
    let producer = opt(r.producer, |v| quote!(#v));
    let consumers = &r.consumers;
    let model_output = r.model_output;
    quote! {
        #p::Route {
            tensor: ::std::string::String::from(#tensor),
            bytes: #bytes,
            shape: ::std::vec![#(#shape),*],
            dtype: ::std::string::String::from(#dtype),
            producer: #producer,
            consumers: ::std::vec![#(#consumers),*],
            model_output: #model_output,
        }
    }
}

/// `Enum::Variant`, the variant named by its `Debug` form (the enums derive `Debug`).
fn variant(p: &TokenStream, ty: &str, value: &impl Debug) -> TokenStream {
    let ty = format_ident!("{ty}");
    let v = format_ident!("{}", format!("{value:?}"));
    quote!(#p::#ty::#v)
}

fn opt<T>(value: Option<T>, f: impl FnOnce(T) -> TokenStream) -> TokenStream {
    match value {
        Some(v) => {
            let v = f(v);
            quote!(::std::option::Option::Some(#v))
        }
        None => quote!(::std::option::Option::None),
    }
}

/// A finite figure as an `f64` literal; a non-finite one (which JSON could not hold either)
/// as `None`.
fn float(value: Option<f64>) -> TokenStream {
    opt(value.filter(|v| v.is_finite()), |v| {
        let lit = Literal::f64_suffixed(v);
        quote!(#lit)
    })
}

fn strings(values: &[String]) -> TokenStream {
    quote!(::std::vec![#(::std::string::String::from(#values)),*])
}
