//! Procedural macros of tpupipe. The `tpupipe_model!` macro arrives with the macro issue; this
//! crate exists now so the workspace layout and the dependency direction
//! (macros -> compiler -> runtime) are fixed from the start.
