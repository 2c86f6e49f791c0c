//! `TPUPIPE_OFFLINE=1` and `TPUPIPE_CACHE_DIR` (one test in its own binary: it sets
//! process-wide environment variables).

mod common;

use tpupipe_compiler::{Builder, CompileError};

#[test]
fn offline_and_cache_dir_variables() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("shared-cache");
    let model = common::workspace().join("tests/models/conv_small.tflite");
    std::env::set_var("TPUPIPE_CACHE_DIR", &cache);
    // Warm the cache named by the variable (no cache_dir on the builder).
    let warm = Builder::new(&model)
        .tpus(1)
        .out_dir(dir.path().join("warm"))
        .edgetpu_compiler(common::standin())
        .compile()
        .unwrap();
    assert!(warm.cache_entry.starts_with(&cache));
    std::env::set_var("TPUPIPE_OFFLINE", "1");
    let o = Builder::new(&model)
        .tpus(1)
        .out_dir(dir.path().join("offline"))
        .edgetpu_compiler(common::standin())
        .compile()
        .unwrap();
    assert!(o.from_cache && o.compiles == 0);
    assert_eq!(o.plan, warm.plan);
    let e = Builder::new(&model)
        .tpus(2)
        .out_dir(dir.path().join("cold"))
        .edgetpu_compiler(common::standin())
        .compile()
        .unwrap_err();
    assert!(matches!(e, CompileError::Cold { .. }), "{e:?}");
    assert!(e.to_string().contains("TPUPIPE_OFFLINE=1"), "{e}");
    std::env::remove_var("TPUPIPE_OFFLINE");
    std::env::remove_var("TPUPIPE_CACHE_DIR");
}
