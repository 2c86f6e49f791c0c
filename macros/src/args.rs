//! The arguments of `tpupipe_model!`, parsed with `syn`, each kept with its span so that an
//! error can point at it.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitBool, LitInt, LitStr, Token, Visibility};

/// A value and where it was written.
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Its span.
    pub span: Span,
}

/// Everything the macro was given.
pub struct Args {
    /// The struct's visibility (empty when none was written).
    pub visibility: TokenStream,
    /// The model path as written.
    pub model: Spanned<String>,
    /// `tpus = N`.
    pub tpus: Option<Spanned<usize>>,
    /// `strategy = "..."`.
    pub strategy: Option<Spanned<String>>,
    /// `interface = "..."`.
    pub interface: Option<Spanned<String>>,
    /// `backend = "..."`.
    pub backend: Option<Spanned<String>>,
    /// `profile = "..."`.
    pub profile: Option<Spanned<String>>,
    /// `replicate = bool`.
    pub replicate: Option<Spanned<bool>>,
    /// `cpu_segments = bool`: embed the uncompiled segments (default true).
    pub cpu_segments: Option<Spanned<bool>>,
    /// `name = Ident`.
    pub name: Option<Spanned<String>>,
}

/// The option names, for "unknown option" messages.
pub const OPTIONS: &str =
    "tpus, strategy, interface, backend, profile, replicate, cpu_segments, name";

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Args> {
        let visibility: Visibility = input.parse()?;
        let visibility = visibility.to_token_stream();
        let model: LitStr = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected the model path as a string literal, e.g. tpupipe_model!(\"models/net.tflite\", tpus = 4)",
            )
        })?;
        let mut args = Args {
            visibility,
            model: Spanned {
                value: model.value(),
                span: model.span(),
            },
            tpus: None,
            strategy: None,
            interface: None,
            backend: None,
            profile: None,
            replicate: None,
            cpu_segments: None,
            name: None,
        };
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let key: Ident = input.parse()?;
            input
                .parse::<Token![=]>()
                .map_err(|e| syn::Error::new(e.span(), format!("expected `=` after `{key}`")))?;
            let k = key.to_string();
            let duplicate = || syn::Error::new(key.span(), format!("`{k}` is given twice"));
            macro_rules! set {
                ($field:ident, $value:expr) => {{
                    if args.$field.is_some() {
                        return Err(duplicate());
                    }
                    args.$field = Some($value);
                }};
            }
            match k.as_str() {
                "tpus" => {
                    let lit: LitInt = input.parse().map_err(|e| {
                        syn::Error::new(e.span(), "`tpus` takes a positive integer, e.g. tpus = 4")
                    })?;
                    let n: usize = lit.base10_parse()?;
                    if n == 0 {
                        return Err(syn::Error::new(lit.span(), "`tpus` must be at least 1"));
                    }
                    set!(
                        tpus,
                        Spanned {
                            value: n,
                            span: lit.span()
                        }
                    );
                }
                "strategy" | "interface" | "backend" | "profile" => {
                    let lit: LitStr = input.parse().map_err(|e| {
                        syn::Error::new(e.span(), format!("`{k}` takes a string literal"))
                    })?;
                    let v = Spanned {
                        value: lit.value(),
                        span: lit.span(),
                    };
                    match k.as_str() {
                        "strategy" => set!(strategy, v),
                        "interface" => set!(interface, v),
                        "backend" => set!(backend, v),
                        _ => set!(profile, v),
                    }
                }
                "replicate" | "cpu_segments" => {
                    let lit: LitBool = input.parse().map_err(|e| {
                        syn::Error::new(e.span(), format!("`{k}` takes `true` or `false`"))
                    })?;
                    let v = Spanned {
                        value: lit.value,
                        span: lit.span,
                    };
                    if k == "replicate" {
                        set!(replicate, v);
                    } else {
                        set!(cpu_segments, v);
                    }
                }
                "name" => {
                    let ident: Ident = input.parse().map_err(|e| {
                        syn::Error::new(e.span(), "`name` takes an identifier, e.g. name = Net")
                    })?;
                    set!(
                        name,
                        Spanned {
                            value: ident.to_string(),
                            span: ident.span()
                        }
                    );
                }
                _ => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!("unknown option `{k}` (expected one of: {OPTIONS})"),
                    ))
                }
            }
        }
        Ok(args)
    }
}
