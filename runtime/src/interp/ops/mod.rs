//! Kernels, one module per operator family.
