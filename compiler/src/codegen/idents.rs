//! Rust identifiers from tensor names and file stems: valid, keyword-safe and unique.
//!
//! A tensor name such as `serving_default_input_1:0` becomes `serving_default_input_1`: the
//! `:<n>` output suffix of TensorFlow names is dropped, every other character outside
//! `[A-Za-z0-9_]` becomes `_`, runs of `_` collapse, a leading digit gets a `t_` prefix,
//! keywords are escaped (`type` -> `r#type`; `self`, `super`, `crate`, `Self` and `_`, which
//! cannot be raw, get a trailing `_`), and later duplicates are numbered (`x`, `x_2`, ...).

use std::collections::HashSet;

/// Rust's strict and reserved keywords (2021 edition).
const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

/// Keywords that cannot be written as raw identifiers.
const NOT_RAW: &[&str] = &["self", "Self", "super", "crate", "_"];

/// A field name (snake case) for a tensor name: see the module docs.
pub fn field_name(tensor: &str) -> String {
    let base = strip_output_suffix(tensor);
    let mut out = String::with_capacity(base.len());
    for c in base.chars() {
        let c = if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '_'
        };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    let trimmed = out.trim_matches('_');
    let mut name = if trimmed.is_empty() {
        "tensor".to_string()
    } else {
        trimmed.to_string()
    };
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "t_");
    }
    escape_keyword(name)
}

/// A type name (UpperCamelCase) for a file stem or a tensor name: `mobilenet_v2` ->
/// `MobilenetV2`, `serving_default_input_1:0` -> `ServingDefaultInput1`.
pub fn type_name(text: &str) -> String {
    let base = strip_output_suffix(text);
    let mut out = String::with_capacity(base.len());
    let mut upper = true;
    for c in base.chars() {
        if c.is_ascii_alphanumeric() {
            if upper {
                out.push(c.to_ascii_uppercase());
            } else {
                out.push(c);
            }
            upper = c.is_ascii_digit();
        } else {
            upper = true;
        }
    }
    if out.is_empty() {
        out.push_str("Model");
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'M');
    }
    if out == "Self" {
        out.push('_');
    }
    out
}

/// `name:3` -> `name` (TensorFlow's output index suffix); other names unchanged.
fn strip_output_suffix(name: &str) -> &str {
    match name.rsplit_once(':') {
        Some((base, index)) if !base.is_empty() && index.bytes().all(|b| b.is_ascii_digit()) => {
            base
        }
        _ => name,
    }
}

fn escape_keyword(name: String) -> String {
    if NOT_RAW.contains(&name.as_str()) {
        format!("{name}_")
    } else if KEYWORDS.contains(&name.as_str()) {
        format!("r#{name}")
    } else {
        name
    }
}

/// Makes names unique in order of appearance: the second `x` becomes `x_2` (or `X2` for type
/// names, which have no underscores), skipping names already taken.
#[derive(Debug, Default)]
pub struct UniqueNames {
    taken: HashSet<String>,
}

impl UniqueNames {
    /// An empty set of names.
    pub fn new() -> UniqueNames {
        UniqueNames::default()
    }

    /// Reserves `name` so that later names avoid it.
    pub fn reserve(&mut self, name: &str) {
        self.taken.insert(name.to_string());
    }

    /// `name`, or the first free numbered variant of it.
    pub fn unique(&mut self, name: String, separator: &str) -> String {
        if self.taken.insert(name.clone()) {
            return name;
        }
        let base = name.strip_prefix("r#").unwrap_or(&name).to_string();
        (2..)
            .map(|k| format!("{base}{separator}{k}"))
            .find(|candidate| self.taken.insert(candidate.clone()))
            .expect("an unbounded range has a free name")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_drop_the_output_suffix_and_invalid_characters() {
        assert_eq!(
            field_name("serving_default_input_1:0"),
            "serving_default_input_1"
        );
        assert_eq!(
            field_name("StatefulPartitionedCall:0"),
            "statefulpartitionedcall"
        );
        assert_eq!(
            field_name("model/conv2d/BiasAdd;x"),
            "model_conv2d_biasadd_x"
        );
        assert_eq!(field_name("1x"), "t_1x");
        assert_eq!(field_name("::"), "tensor");
        assert_eq!(field_name("a:b"), "a_b");
    }

    #[test]
    fn keywords_are_escaped() {
        assert_eq!(field_name("type"), "r#type");
        assert_eq!(field_name("match:0"), "r#match");
        assert_eq!(field_name("self"), "self_");
        assert_eq!(field_name("_"), "tensor");
        assert_eq!(type_name("self"), "Self_");
    }

    #[test]
    fn type_names_are_upper_camel_case() {
        assert_eq!(type_name("mobilenet_v2"), "MobilenetV2");
        assert_eq!(type_name("conv-residual"), "ConvResidual");
        assert_eq!(
            type_name("serving_default_input_1:0"),
            "ServingDefaultInput1"
        );
        assert_eq!(type_name("3d_net"), "M3DNet");
        assert_eq!(type_name(""), "Model");
    }

    #[test]
    fn duplicates_are_numbered() {
        let mut names = UniqueNames::new();
        names.reserve("x_2");
        assert_eq!(names.unique("x".into(), "_"), "x");
        assert_eq!(names.unique("x".into(), "_"), "x_3");
        assert_eq!(names.unique("r#type".into(), "_"), "r#type");
        assert_eq!(names.unique("r#type".into(), "_"), "type_2");
    }
}
