//! Procedural macros of tpupipe: `tpupipe_model!` (re-exported as `tpupipe::tpupipe_model!`).
//!
//! A thin shell: the arguments are parsed with `syn` (`args`), the compiler's code generation
//! (`tpupipe_compiler::codegen`) does the work, and every error becomes a `compile_error!`
//! spanning the argument at fault. See `docs/macro.md`.

#![warn(missing_docs)]

mod args;
mod expand;

use proc_macro::TokenStream;

/// Generates a typed pipeline struct for a TFLite model, its segments embedded.
///
/// ```ignore
/// tpupipe::tpupipe_model!(pub "models/net.tflite", tpus = 4, backend = "cpu", name = Net);
/// let net = Net::open_cpu()?;
/// ```
///
/// Arguments after the path (all optional): `tpus = N` (default 1), `strategy = "params" |
/// "balanced" | "profiled"`, `interface = "usb3" | "pcie" | "usb2"`, `backend = "edgetpu" |
/// "cpu"`, `profile = "path"`, `replicate = bool`, `cpu_segments = bool`, `name = Ident`. A
/// visibility (`pub`, `pub(crate)`) may precede the path. Paths resolve against the crate's
/// `CARGO_MANIFEST_DIR`.
#[proc_macro]
pub fn tpupipe_model(input: TokenStream) -> TokenStream {
    match syn::parse::<args::Args>(input) {
        Ok(args) => expand::expand(&args).into(),
        Err(e) => e.to_compile_error().into(),
    }
}
