//! From parsed arguments to the generated items, or to a `compile_error!` at the argument at
//! fault.

use crate::args::Args;
use proc_macro2::{Span, TokenStream};
use std::path::PathBuf;
use tpupipe_compiler::codegen::{self, Backend, CodegenOptions, Culprit};
use tpupipe_compiler::{Builder, Interface, Strategy};

/// The expansion of `tpupipe_model!(args)`.
pub fn expand(args: &Args) -> TokenStream {
    match try_expand(args) {
        Ok(tokens) => tokens,
        Err(e) => e.to_compile_error(),
    }
}

/// True under rust-analyzer, which expands macros continuously: never start the Edge TPU
/// compiler there.
fn under_rust_analyzer() -> bool {
    std::env::var_os("RUST_ANALYZER_INTERNALS_DO_NOT_USE").is_some()
}

fn try_expand(args: &Args) -> syn::Result<TokenStream> {
    // `TPUPIPE_MODEL_ROOT` overrides the crate directory (compile-fail tests, whose scratch
    // crates live elsewhere, use it).
    let root = std::env::var_os("TPUPIPE_MODEL_ROOT")
        .or_else(|| std::env::var_os("CARGO_MANIFEST_DIR"))
        .map(PathBuf::from)
        .ok_or_else(|| syn::Error::new(Span::call_site(), "CARGO_MANIFEST_DIR is not set"))?;
    let backend = backend(args)?;
    if let Some(c) = &args.cpu_segments {
        if !c.value && backend == Backend::Cpu {
            return Err(syn::Error::new(
                c.span,
                "backend \"cpu\" runs the CPU segments: cpu_segments = false leaves nothing to run",
            ));
        }
    }
    let strategy = args
        .strategy
        .as_ref()
        .map(|s| {
            let strategy: Strategy = s
                .value
                .parse()
                .map_err(|e| syn::Error::new(s.span, format!("{e}")))?;
            if strategy == Strategy::Manual {
                return Err(syn::Error::new(
                    s.span,
                    "strategy \"manual\" needs explicit cuts, which the macro does not take",
                ));
            }
            Ok(strategy)
        })
        .transpose()?;
    let interface = args
        .interface
        .as_ref()
        .map(|i| {
            i.value
                .parse::<Interface>()
                .map_err(|e| syn::Error::new(i.span, format!("{e}")))
        })
        .transpose()?;
    let model = root.join(&args.model.value);
    if !model.is_file() {
        return Err(syn::Error::new(
            args.model.span,
            format!(
                "model file not found: {} (resolved against CARGO_MANIFEST_DIR)",
                args.model.value
            ),
        ));
    }
    let mut builder = Builder::new(&model).tpus(args.tpus.as_ref().map_or(1, |t| t.value));
    if let Some(p) = &args.profile {
        let path = root.join(&p.value);
        if !path.is_file() {
            return Err(syn::Error::new(
                p.span,
                format!(
                    "profile file not found: {} (resolved against CARGO_MANIFEST_DIR)",
                    p.value
                ),
            ));
        }
        builder = builder.profile(path);
    }
    if let Some(strategy) = strategy {
        builder = builder.strategy(strategy);
    }
    if let Some(interface) = interface {
        builder = builder.interface(interface);
    }
    if let Some(r) = &args.replicate {
        builder = builder.replicate(r.value);
    }
    // Under rust-analyzer the types are what matters: generate them from the CPU segments,
    // which need no Edge TPU compiler.
    let effective = if under_rust_analyzer() {
        Backend::Cpu
    } else {
        backend
    };
    let mut options = CodegenOptions::new(effective, root);
    options.name = args.name.as_ref().map(|n| n.value.clone());
    options.visibility = args.visibility.clone();
    if let Some(c) = &args.cpu_segments {
        options.embed_cpu = c.value;
    }
    let expansion = codegen::expand(&builder, &options).map_err(|e| {
        let span = match e.culprit() {
            Culprit::Model | Culprit::Environment => args.model.span,
            Culprit::Tpus => args.tpus.as_ref().map_or(args.model.span, |t| t.span),
            Culprit::Strategy => args.strategy.as_ref().map_or(args.model.span, |s| s.span),
            Culprit::Profile => args.profile.as_ref().map_or(args.model.span, |p| p.span),
            Culprit::Backend => args.backend.as_ref().map_or(args.model.span, |b| b.span),
        };
        syn::Error::new(span, e.full_message())
    })?;
    Ok(expansion.tokens)
}

fn backend(args: &Args) -> syn::Result<Backend> {
    match &args.backend {
        None => Ok(Backend::EdgeTpu),
        Some(b) => match b.value.as_str() {
            "edgetpu" => Ok(Backend::EdgeTpu),
            "cpu" => Ok(Backend::Cpu),
            other => Err(syn::Error::new(
                b.span,
                format!("unknown backend '{other}' (expected one of: edgetpu cpu)"),
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(text: &str) -> String {
        let args: Args = syn::parse_str(text).expect("the arguments parse");
        expand(&args).to_string()
    }

    /// One test, since it sets process-wide variables.
    #[test]
    fn a_cold_cache_is_refused_but_rust_analyzer_gets_the_cpu_types() {
        let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        std::env::set_var("TPUPIPE_MODEL_ROOT", &workspace);
        let args =
            r#""tests/models/conv_residual.tflite", tpus = 2, backend = "edgetpu", name = Net"#;
        std::env::remove_var("RUST_ANALYZER_INTERNALS_DO_NOT_USE");
        // Offline with a cold cache: refused, saying how to fill the cache.
        std::env::set_var("TPUPIPE_OFFLINE", "1");
        std::env::set_var(
            "TPUPIPE_CACHE_DIR",
            workspace.join("target/tpupipe-cold-cache"),
        );
        let refused = expand_str(args);
        std::env::remove_var("TPUPIPE_OFFLINE");
        std::env::remove_var("TPUPIPE_CACHE_DIR");
        assert!(refused.contains("compile_error"), "{refused}");
        assert!(refused.contains("holds no build"), "{refused}");
        std::env::set_var("RUST_ANALYZER_INTERNALS_DO_NOT_USE", "1");
        let ide = expand_str(args);
        std::env::remove_var("RUST_ANALYZER_INTERNALS_DO_NOT_USE");
        assert!(!ide.contains("compile_error"), "{ide}");
        assert!(ide.contains("struct Net"), "{ide}");
        assert!(ide.contains("SEGMENT_0_CPU"), "{ide}");
        assert!(!ide.contains("EDGETPU"), "{ide}");
    }
}
