//! Unique tensor names.
//!
//! TFLite does not require tensor names to be unique, but segments are connected through names,
//! so every tensor gets one that is:
//!
//! - its source name, for the first tensor (in id order) carrying that name;
//! - `<name>_<k>` for later tensors repeating a name, with the smallest `k >= 1` not taken by any
//!   source name or earlier assignment;
//! - `tensor_<id>` for unnamed tensors (again suffixed with `_<k>` if the file happens to use that
//!   name itself).
//!
//! The result depends only on the list of source names, so it is deterministic.

use std::collections::{HashMap, HashSet};

/// Makes `source` names unique, following the rules in the module documentation.
pub fn unique_names<'a>(source: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let source: Vec<&str> = source.into_iter().collect();
    // Every non-empty source name is reserved for its first occurrence.
    let mut taken: HashSet<String> = source
        .iter()
        .filter(|n| !n.is_empty())
        .map(|n| n.to_string())
        .collect();
    let mut first_seen: HashSet<&str> = HashSet::new();
    // Next suffix to try per base name, so that many repeats of one name stay linear.
    let mut next_suffix: HashMap<String, u64> = HashMap::new();
    let mut out = Vec::with_capacity(source.len());
    for (id, &name) in source.iter().enumerate() {
        if !name.is_empty() && first_seen.insert(name) {
            out.push(name.to_string());
            continue;
        }
        let base = if name.is_empty() {
            format!("tensor_{id}")
        } else {
            name.to_string()
        };
        let chosen = if name.is_empty() && !taken.contains(&base) {
            base
        } else {
            let k = next_suffix.entry(base.clone()).or_insert(1);
            loop {
                let candidate = format!("{base}_{k}");
                *k += 1;
                if !taken.contains(&candidate) {
                    break candidate;
                }
            }
        };
        taken.insert(chosen.clone());
        out.push(chosen);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::unique_names;

    #[test]
    fn distinct_names_are_kept() {
        assert_eq!(unique_names(["a", "b", "c"]), ["a", "b", "c"]);
    }

    #[test]
    fn repeats_get_suffixes_in_id_order() {
        assert_eq!(unique_names(["a", "b", "a", "a"]), ["a", "b", "a_1", "a_2"]);
    }

    #[test]
    fn unnamed_tensors_are_named_by_id() {
        assert_eq!(unique_names(["", "x", ""]), ["tensor_0", "x", "tensor_2"]);
    }

    #[test]
    fn suffixes_avoid_names_used_later_in_the_file() {
        // "a_1" is a real name of tensor 2, so the repeat of "a" takes "a_2".
        assert_eq!(unique_names(["a", "a", "a_1"]), ["a", "a_2", "a_1"]);
        // "tensor_1" is a real name of tensor 0, so unnamed tensor 1 becomes "tensor_1_1".
        assert_eq!(unique_names(["tensor_1", ""]), ["tensor_1", "tensor_1_1"]);
    }

    #[test]
    fn many_repeats_stay_unique() {
        let names = unique_names(std::iter::repeat("x").take(5000).chain(["x_3"]));
        let set: std::collections::HashSet<&String> = names.iter().collect();
        assert_eq!(set.len(), names.len());
        assert_eq!(names[3], "x_4");
        assert_eq!(names[5000], "x_3");
    }
}
