//! `tpupipe devices`: the libraries found (paths and versions), the Edge TPUs and whether each
//! is free, and why the Edge TPU backend is unavailable if it is. Always succeeds: every
//! problem is part of the report.

use clap::Args;

/// Arguments of `tpupipe devices`.
#[derive(Debug, Args)]
pub struct DevicesArgs {}

/// Runs `tpupipe devices`.
pub fn run(_args: DevicesArgs) -> anyhow::Result<()> {
    #[cfg(feature = "edgetpu")]
    {
        use tpupipe_runtime::edgetpu::{device_report, BackendConfig};
        let report = device_report(&BackendConfig::from_env());
        print!("{report}");
        if !report.is_available() {
            println!("the CPU backend (tpupipe's interpreter) is always available");
        }
    }
    #[cfg(not(feature = "edgetpu"))]
    {
        println!("Edge TPU backend: not built into this tpupipe (cargo feature `edgetpu`)");
        println!("the CPU backend (tpupipe's interpreter) is always available");
    }
    Ok(())
}
