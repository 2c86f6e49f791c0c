//! [`EdgeTpuBackend`]: the two libraries loaded and checked, devices enumerated and reserved, and
//! stages opened on them.

use super::delegate::Delegate;
use super::device::{list_devices, Assignment, EdgeTpuDevice};
use super::error::EdgeTpuError;
use super::libraries::{EdgeTpuLib, LibraryPaths, TfLiteLib};
use super::lock::{default_lock_dir, DeviceLock};
use super::options::DelegateOptions;
use super::segment::{check_segment, SegmentModel};
use super::stage::EdgeTpuStage;
use super::version::{Compatibility, LibraryVersions};
use std::path::PathBuf;
use std::sync::Arc;

/// How to set the backend up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendConfig {
    /// Where the libraries are.
    pub libraries: LibraryPaths,
    /// Where the per-device lock files go.
    pub lock_dir: PathBuf,
    /// Open even when the versions are known not to work together.
    pub allow_version_mismatch: bool,
    /// libedgetpu's log level (`edgetpu_verbosity`), 0..=10; `None` leaves it alone.
    pub verbosity: Option<u8>,
}

impl BackendConfig {
    /// From the environment: `TPUPIPE_TFLITE_LIB`, `TPUPIPE_EDGETPU_LIB`, `TPUPIPE_LOCK_DIR`.
    pub fn from_env() -> Self {
        BackendConfig {
            libraries: LibraryPaths::from_env(),
            lock_dir: default_lock_dir(),
            allow_version_mismatch: false,
            verbosity: None,
        }
    }
}

/// How each stage is set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StageOptions {
    /// The delegate's options.
    pub delegate: DelegateOptions,
    /// Accept segments that keep ops on the CPU (refused by default).
    pub allow_cpu_ops: bool,
    /// Run each stage once on zeroed inputs after opening it (default on).
    pub warm_up: bool,
}

impl Default for StageOptions {
    fn default() -> Self {
        StageOptions {
            delegate: DelegateOptions::default(),
            allow_cpu_ops: false,
            warm_up: true,
        }
    }
}

/// The TFLite C library and libedgetpu, loaded and version-checked.
pub struct EdgeTpuBackend {
    tflite: Arc<TfLiteLib>,
    edgetpu: Arc<EdgeTpuLib>,
    versions: LibraryVersions,
    lock_dir: PathBuf,
}

impl EdgeTpuBackend {
    /// Loads both libraries and checks their versions ([`Compatibility::Incompatible`] is an
    /// error unless `allow_version_mismatch`; [`Compatibility::Unverified`] is only reported in
    /// [`versions`](Self::versions)).
    pub fn open(config: &BackendConfig) -> Result<Self, EdgeTpuError> {
        let tflite = TfLiteLib::load(config.libraries.tflite.as_deref())?;
        let edgetpu = EdgeTpuLib::load(config.libraries.edgetpu.as_deref())?;
        let versions = LibraryVersions::judge(&tflite.version(), &edgetpu.version());
        if let Compatibility::Incompatible(reason) = &versions.compatibility {
            if !config.allow_version_mismatch {
                return Err(EdgeTpuError::IncompatibleLibraries {
                    tflite: versions.tflite.raw.clone(),
                    edgetpu: versions.edgetpu.raw.clone(),
                    reason: reason.clone(),
                });
            }
        }
        if let Some(level) = config.verbosity {
            edgetpu.set_verbosity(level);
        }
        Ok(EdgeTpuBackend {
            tflite,
            edgetpu,
            versions,
            lock_dir: config.lock_dir.clone(),
        })
    }

    /// Both versions and the verdict on the pair.
    pub fn versions(&self) -> &LibraryVersions {
        &self.versions
    }

    /// The warning to show when the version pairing cannot be verified
    /// ([`Compatibility::Unverified`]), or when a known mismatch was allowed.
    pub fn version_warning(&self) -> Option<String> {
        match &self.versions.compatibility {
            Compatibility::Matched => None,
            Compatibility::Unverified(note) => Some(note.clone()),
            Compatibility::Incompatible(reason) => Some(format!("allowed mismatch: {reason}")),
        }
    }

    /// Where the TFLite library was loaded from.
    pub fn tflite_path(&self) -> &str {
        &self.tflite.path
    }

    /// Where libedgetpu was loaded from.
    pub fn edgetpu_path(&self) -> &str {
        &self.edgetpu.path
    }

    /// The Edge TPUs, in libedgetpu's order.
    pub fn devices(&self) -> Result<Vec<EdgeTpuDevice>, EdgeTpuError> {
        list_devices(&self.edgetpu)
    }

    /// Tries to lock `device` (see [`DeviceLock`]).
    pub fn lock(&self, device: &EdgeTpuDevice) -> Result<DeviceLock, EdgeTpuError> {
        DeviceLock::try_acquire(&self.lock_dir, device)
    }

    /// Picks and locks one device per stage.
    ///
    /// Automatic: the enumerated devices in order, skipping those another process holds.
    /// Explicit: exactly the named devices, each once; a held one is [`EdgeTpuError::DeviceBusy`].
    pub fn reserve(
        &self,
        stages: usize,
        assignment: &Assignment,
    ) -> Result<Vec<DeviceLock>, EdgeTpuError> {
        let devices = self.devices()?;
        if devices.is_empty() {
            return Err(EdgeTpuError::NoDevice);
        }
        match assignment {
            Assignment::Automatic => {
                let mut locks = Vec::with_capacity(stages);
                let mut busy = Vec::new();
                for d in &devices {
                    if locks.len() == stages {
                        break;
                    }
                    match self.lock(d) {
                        Ok(l) => locks.push(l),
                        Err(EdgeTpuError::DeviceBusy { .. }) => busy.push(d.path.clone()),
                        Err(e) => return Err(e),
                    }
                }
                if locks.len() < stages {
                    return Err(EdgeTpuError::FewerDevicesThanStages {
                        stages,
                        found: devices.len(),
                        usable: locks.len(),
                        busy,
                    });
                }
                Ok(locks)
            }
            Assignment::Explicit(specs) => {
                if specs.len() != stages {
                    return Err(EdgeTpuError::AssignmentLength {
                        stages,
                        devices: specs.len(),
                    });
                }
                let chosen = specs
                    .iter()
                    .map(|s| s.resolve(&devices))
                    .collect::<Result<Vec<_>, _>>()?;
                for (second, d) in chosen.iter().enumerate() {
                    if let Some(first) = chosen[..second].iter().position(|e| e == d) {
                        return Err(EdgeTpuError::DuplicateDevice {
                            device: d.clone(),
                            first,
                            second,
                        });
                    }
                }
                chosen.iter().map(|d| self.lock(d)).collect()
            }
        }
    }

    /// Opens one stage: checks the segment, creates the delegate on the locked device, builds
    /// the interpreter and warms it up.
    pub fn open_stage(
        &self,
        index: usize,
        segment: Vec<u8>,
        lock: DeviceLock,
        options: &StageOptions,
    ) -> Result<EdgeTpuStage, EdgeTpuError> {
        check_segment(index, &segment, options.allow_cpu_ops)?;
        let model = SegmentModel::load(self.tflite.clone(), index, segment)?;
        let delegate = Delegate::create(self.edgetpu.clone(), lock, &options.delegate)?;
        EdgeTpuStage::new(self.tflite.clone(), index, model, delegate, options.warm_up)
    }

    /// Opens every segment on its own Edge TPU, per `assignment`.
    pub fn open_stages(
        &self,
        segments: Vec<Vec<u8>>,
        assignment: &Assignment,
        options: &StageOptions,
    ) -> Result<Vec<EdgeTpuStage>, EdgeTpuError> {
        let locks = self.reserve(segments.len(), assignment)?;
        segments
            .into_iter()
            .zip(locks)
            .enumerate()
            .map(|(i, (seg, lock))| self.open_stage(i, seg, lock, options))
            .collect()
    }
}

impl std::fmt::Debug for EdgeTpuBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeTpuBackend")
            .field("tflite", &self.tflite.path)
            .field("edgetpu", &self.edgetpu.path)
            .field("versions", &self.versions)
            .field("lock_dir", &self.lock_dir)
            .finish()
    }
}
