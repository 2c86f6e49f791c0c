//! One lock file per Edge TPU, so that a second process never opens a TPU another already holds.
//!
//! libedgetpu has no lock between processes: two processes on one USB accelerator crash the first
//! one's transfers until the device is replugged (google-coral/edgetpu#237). tpupipe takes an
//! exclusive `flock` on `<lock dir>/edgetpu-<path>.lock` before it creates a delegate on a device,
//! writes its process id into it, and releases it when the [`DeviceLock`] drops (or the process
//! dies: the kernel drops `flock` locks with the file). The lock is per open file, so a second
//! stage of the same process is refused the same way.
//!
//! Lock dir: `TPUPIPE_LOCK_DIR`, else `$XDG_RUNTIME_DIR/tpupipe`, else `/tmp/tpupipe-locks`.

use super::device::EdgeTpuDevice;
use super::error::EdgeTpuError;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The default lock directory (see the module docs).
pub fn default_lock_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("TPUPIPE_LOCK_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(d).join("tpupipe");
    }
    PathBuf::from("/tmp/tpupipe-locks")
}

/// The lock file of `device` in `dir`: the kind and path with every character other than ASCII
/// letters, digits, `-` and `.` replaced by `_`.
pub fn lock_file_path(dir: &Path, device: &EdgeTpuDevice) -> PathBuf {
    let name: String = device
        .path
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("edgetpu-{}-{name}.lock", device.kind.prefix()))
}

/// An exclusive hold on one Edge TPU, released on drop.
#[derive(Debug)]
pub struct DeviceLock {
    device: EdgeTpuDevice,
    path: PathBuf,
    // Closing the file releases the flock.
    _file: File,
}

impl DeviceLock {
    /// Takes the lock of `device` in `dir` without waiting; [`EdgeTpuError::DeviceBusy`] when
    /// another process (or another stage) holds it.
    pub fn try_acquire(dir: &Path, device: &EdgeTpuDevice) -> Result<Self, EdgeTpuError> {
        let path = lock_file_path(dir, device);
        let failed = |source: std::io::Error| EdgeTpuError::LockFailed {
            device: device.clone(),
            lock_file: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(failed)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(failed)?;
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => {}
            Err(fs4::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                // Best effort: the holder wrote its pid; a read failure leaves it anonymous.
                let _ = file.read_to_string(&mut holder);
                let holder = match holder.trim().parse::<u32>() {
                    Ok(pid) => format!("process {pid}"),
                    Err(_) => "another process".to_string(),
                };
                return Err(EdgeTpuError::DeviceBusy {
                    device: device.clone(),
                    lock_file: path,
                    holder,
                });
            }
            Err(fs4::TryLockError::Error(e)) => return Err(failed(e)),
        }
        file.set_len(0).map_err(failed)?;
        file.seek(SeekFrom::Start(0)).map_err(failed)?;
        write!(file, "{}", std::process::id()).map_err(failed)?;
        file.flush().map_err(failed)?;
        Ok(DeviceLock {
            device: device.clone(),
            path,
            _file: file,
        })
    }

    /// The locked device.
    pub fn device(&self) -> &EdgeTpuDevice {
        &self.device
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
