//! Which SIMD instruction sets the kernels may use: CPU feature detection (checked once, then
//! cached), the environment switches that turn SIMD paths off, and `avx2_dispatch!`, which
//! compiles a portable loop a second time with AVX2 enabled.

/// Environment variable that, when set (to anything) before the first kernel runs, disables
/// every SIMD path so the portable code is used (for testing it on x86 machines).
pub const PORTABLE_ENV: &str = "TPUPIPE_INTERP_PORTABLE";

/// Setting this environment variable (to anything) keeps the kernels off AVX-512 (they still
/// use AVX2), to compare or test the AVX2 paths on CPUs that have AVX-512.
pub const NO_AVX512_ENV: &str = "TPUPIPE_INTERP_NO_AVX512";

/// True when the kernels may use AVX-512 with the VNNI extension (`vpdpbusd`): the CPU supports
/// AVX2, AVX-512 F/VL and VNNI (F also means the OS saves the AVX-512 state), and neither
/// [`PORTABLE_ENV`] nor [`NO_AVX512_ENV`] is set.
#[inline(always)]
pub fn has_avx512vnni() -> bool {
    static VNNI: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *VNNI.get_or_init(|| {
        if !has_avx2() || std::env::var_os(NO_AVX512_ENV).is_some() {
            return false;
        }
        #[cfg(target_arch = "x86_64")]
        {
            std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512vl")
                && std::is_x86_feature_detected!("avx512vnni")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    })
}

/// True when the kernels may use AVX2: the CPU supports it and [`PORTABLE_ENV`] is not set
/// (both checked once, then a cached load).
#[inline(always)]
pub fn has_avx2() -> bool {
    static AVX2: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVX2.get_or_init(|| {
        if std::env::var_os(PORTABLE_ENV).is_some() {
            return false;
        }
        #[cfg(target_arch = "x86_64")]
        {
            std::is_x86_feature_detected!("avx2")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    })
}

/// True when the kernels may use aarch64 NEON: the target is aarch64 (where NEON is always
/// present) and [`PORTABLE_ENV`] is not set.
#[inline(always)]
pub fn has_neon() -> bool {
    static NEON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *NEON.get_or_init(|| {
        if std::env::var_os(PORTABLE_ENV).is_some() {
            return false;
        }
        #[cfg(target_arch = "aarch64")]
        {
            std::arch::is_aarch64_feature_detected!("neon")
        }
        #[cfg(not(target_arch = "aarch64"))]
        {
            false
        }
    })
}

/// True when the kernels may use aarch64's dot-product extension (`SDOT`): [`has_neon`] and
/// the CPU has it.
#[inline(always)]
pub fn has_dotprod() -> bool {
    static DOT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DOT.get_or_init(|| {
        #[cfg(target_arch = "aarch64")]
        {
            has_neon() && std::arch::is_aarch64_feature_detected!("dotprod")
        }
        #[cfg(not(target_arch = "aarch64"))]
        {
            false
        }
    })
}

/// Defines `$name(args)` that runs `$inner(args)` compiled with AVX2 enabled when the CPU has it
/// (so the compiler vectorizes the inlined loops with 256-bit registers), and as portable code
/// otherwise. `$inner` must be `#[inline(always)]`.
macro_rules! avx2_dispatch {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) => $inner:path) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                unsafe fn with_avx2($($arg: $ty),*) {
                    $inner($($arg),*)
                }
                if $crate::interp::ops::cpu_features::has_avx2() {
                    // SAFETY: the CPU supports AVX2 (checked just above).
                    return unsafe { with_avx2($($arg),*) };
                }
            }
            $inner($($arg),*)
        }
    };
}
pub(crate) use avx2_dispatch;
