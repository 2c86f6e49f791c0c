//! Typed indices and quantities, so a tensor id is never confused with an op index or a byte count.

use std::fmt;

macro_rules! index_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u32);

        impl $name {
            /// The index as a `usize`, for indexing slices.
            #[inline]
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }

        impl From<u32> for $name {
            fn from(v: u32) -> Self {
                Self(v)
            }
        }
    };
}

index_type!(
    /// Index of a tensor within its subgraph's tensor table.
    TensorId,
    "t"
);
index_type!(
    /// Index of an operator within its subgraph's operator list (the file's execution order).
    OpIndex,
    "op"
);
index_type!(
    /// Index into the model's buffer table. Buffer 0 is the empty sentinel.
    BufferIndex,
    "b"
);
index_type!(
    /// Index of a subgraph in the model.
    SubgraphIndex,
    "sg"
);

/// A number of bytes (parameter sizes, activation sizes, transfers).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteCount(pub u64);

impl ByteCount {
    /// Zero bytes.
    pub const ZERO: ByteCount = ByteCount(0);

    /// The count in bytes.
    #[inline]
    pub fn bytes(self) -> u64 {
        self.0
    }

    /// The count in MiB, as a float.
    #[inline]
    pub fn mib(self) -> f64 {
        self.0 as f64 / (1024.0 * 1024.0)
    }
}

impl std::ops::Add for ByteCount {
    type Output = ByteCount;
    fn add(self, rhs: ByteCount) -> ByteCount {
        ByteCount(self.0 + rhs.0)
    }
}

impl std::ops::AddAssign for ByteCount {
    fn add_assign(&mut self, rhs: ByteCount) {
        self.0 += rhs.0;
    }
}

impl std::ops::Sub for ByteCount {
    type Output = ByteCount;
    fn sub(self, rhs: ByteCount) -> ByteCount {
        ByteCount(self.0 - rhs.0)
    }
}

impl std::iter::Sum for ByteCount {
    fn sum<I: Iterator<Item = ByteCount>>(iter: I) -> ByteCount {
        ByteCount(iter.map(|b| b.0).sum())
    }
}

impl fmt::Display for ByteCount {
    /// Human-readable, in the units edgetpu_compiler uses (B, KiB, MiB).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0 as f64;
        if b < 1024.0 {
            write!(f, "{}B", self.0)
        } else if b < 1024.0 * 1024.0 {
            write!(f, "{:.2}KiB", b / 1024.0)
        } else {
            write!(f, "{:.2}MiB", b / (1024.0 * 1024.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_count_display_switches_units() {
        assert_eq!(ByteCount(512).to_string(), "512B");
        assert_eq!(ByteCount(2048).to_string(), "2.00KiB");
        assert_eq!(
            ByteCount(3 * 1024 * 1024 + 512 * 1024).to_string(),
            "3.50MiB"
        );
    }

    #[test]
    fn ids_display_with_prefix() {
        assert_eq!(TensorId(3).to_string(), "t3");
        assert_eq!(OpIndex(7).to_string(), "op7");
    }
}
