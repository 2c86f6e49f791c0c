//! Collecting TFLite's error messages for one interpreter, through
//! `TfLiteInterpreterOptionsSetErrorReporter`, so that failures name TFLite's reason.
//!
//! The reporter gets a printf format and a `va_list`; it formats them with the C library's
//! `vsnprintf`. On x86-64 and aarch64 Linux a `va_list` parameter is passed as a pointer at the
//! ABI level (an array-of-one that decays on x86-64, a large struct passed by reference on
//! aarch64), so it can be forwarded to `vsnprintf` unchanged. Elsewhere no reporter is installed
//! and TFLite prints to stderr as usual.

use super::ffi::{ErrorReporterFn, TfLiteInterpreterOptions};
use super::libraries::TfLiteLib;
use std::collections::VecDeque;
use std::ffi::c_void;
use std::sync::Mutex;

/// Messages reported by one interpreter: the most recent [`ErrorLog::MAX_MESSAGES`] not yet
/// taken.
#[derive(Debug, Default)]
pub(crate) struct ErrorLog {
    messages: Mutex<VecDeque<String>>,
}

impl ErrorLog {
    /// Messages kept; older ones are dropped first.
    pub(crate) const MAX_MESSAGES: usize = 32;

    /// Installs this log as `options`' error reporter.
    ///
    /// # Safety
    /// `options` is a live options object of `lib`, and `self` must stay at its address for as
    /// long as any interpreter created from those options lives.
    pub(crate) unsafe fn install(&self, lib: &TfLiteLib, options: *mut TfLiteInterpreterOptions) {
        if let Some(reporter) = reporter() {
            let user_data = self as *const ErrorLog as *mut c_void;
            // SAFETY: per this function's contract; the reporter only reads `user_data` as an
            // `ErrorLog`.
            unsafe { (lib.options_set_error_reporter)(options, Some(reporter), user_data) };
        }
    }

    /// Takes the messages collected so far.
    pub(crate) fn take(&self) -> Vec<String> {
        self.messages
            .lock()
            .map(|mut m| m.drain(..).collect())
            .unwrap_or_default()
    }

    fn push(&self, message: String) {
        if let Ok(mut m) = self.messages.lock() {
            if m.len() == Self::MAX_MESSAGES {
                m.pop_front();
            }
            m.push_back(message);
        }
    }
}

#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
fn reporter() -> Option<ErrorReporterFn> {
    Some(va_format::report)
}

#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
fn reporter() -> Option<ErrorReporterFn> {
    None
}

/// The reporter proper, where a `va_list` parameter is a pointer at the ABI level.
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod va_format {
    use super::ErrorLog;
    use std::ffi::{c_char, c_void};

    extern "C" {
        fn vsnprintf(
            buf: *mut c_char,
            size: usize,
            format: *const c_char,
            args: *mut c_void,
        ) -> i32;
    }

    /// Formats one TFLite message into the [`ErrorLog`] at `user_data`.
    pub(super) unsafe extern "C" fn report(
        user_data: *mut c_void,
        format: *const c_char,
        args: *mut c_void,
    ) {
        if user_data.is_null() || format.is_null() {
            return;
        }
        let mut buf = [0u8; 1024];
        // SAFETY: `buf` is writable for its length; `format` and `args` come from TFLite's
        // reporter call, and the va_list is forwarded by pointer as the module docs explain.
        let n = unsafe { vsnprintf(buf.as_mut_ptr().cast(), buf.len(), format, args) };
        if n < 0 {
            return;
        }
        let len = (n as usize).min(buf.len() - 1);
        let message = String::from_utf8_lossy(&buf[..len]).trim().to_string();
        // SAFETY: `user_data` is the `ErrorLog` installed by `ErrorLog::install`, alive for the
        // interpreter's lifetime per its contract.
        let log = unsafe { &*(user_data as *const ErrorLog) };
        if !message.is_empty() {
            log.push(message);
        }
    }
}
