//! The supervisor: the kernel, the program manifest, the host that runs guest modules and the
//! mailboxes between them, in one place. No engine: the Bevy app wraps it in a plugin, tests
//! drive it directly, and it builds in seconds.
//!
//! ```text
//! guest ─▶ mailbox ─doorbell─▶ servicer (thread / waitAsync) ─▶ Supervisor::service_pending ─▶ Kernel
//! ```
//!
//! The [`Supervisor`] is shared as a [`SharedSupervisor`] (its lock is private; [`SharedSupervisor::lock`]
//! is the only way in and recovers from a poisoned lock), so syscalls are serviced outside frames:
//! natively by a [`native_host::Servicer`] thread waiting on the doorbell futex, in the browser by
//! the web host's `Atomics.waitAsync` callback. Its jobs, one module each: [`wiring`] (spawning),
//! [`lifecycle`] (kills, reaps, exits), [`pacing`] (time control), [`servicing`] (the syscall
//! flow) and [`console`] (the console log). Time comes from the caller's [`Clock`].
//! [`recording`] records every input to the kernel, for time travel, export and traces.

pub use orbital_abi as abi;
pub use orbital_kernel as kernel;

pub mod clock;
pub mod console;
pub mod host;
pub mod json;
pub mod lesson;
pub mod lifecycle;
pub mod mailbox;
pub mod manifest;
#[cfg(not(target_arch = "wasm32"))]
pub mod native_host;
#[cfg(not(target_arch = "wasm32"))]
mod native_wasi;
pub mod pacing;
pub mod programs;
pub mod recording;
pub mod servicing;
mod supervisor;
#[cfg(feature = "test-support")]
pub mod testing;
pub mod transcript;
pub mod validate;
pub mod wiring;

use std::sync::{Arc, Mutex, MutexGuard, Weak};

pub use clock::{Clock, ManualTime};
pub use console::{CONSOLE_LOG_CAPACITY, ConsoleKind, ConsoleLine};
pub use host::{GuestCeiling, GuestExit, GuestExitKind, Host, HostError, SpawnedGuest};
pub use lifecycle::KillError;
pub use mailbox::Mailbox;
pub use manifest::{ConnectSpec, Launch, Manifest, ManifestError, ProgramSpec};
pub use pacing::TimeControl;
pub use recording::{RecordedKernel, RecordingError, RecordingSettings, SequenceChart, Timeline};
pub use servicing::{MailboxStatus, ServicedCall};
pub use supervisor::Supervisor;
pub use validate::{LoadError, MAX_MODULE_BYTES, ValidModule};
pub use wiring::SpawnError;

/// The supervisor, shared between whoever services syscalls (a servicer thread, a browser
/// callback) and whoever reads or commands it (the app's systems, `window.supervisor`).
#[derive(Clone)]
pub struct SharedSupervisor {
    inner: Arc<Mutex<Supervisor>>,
}

impl SharedSupervisor {
    pub fn new(supervisor: Supervisor) -> SharedSupervisor {
        SharedSupervisor {
            inner: Arc::new(Mutex::new(supervisor)),
        }
    }

    /// Locks the supervisor. A panic while holding the lock is a bug; the state is still the
    /// kernel's own (it never panics on guest input), so keep going with it.
    pub fn lock(&self) -> MutexGuard<'_, Supervisor> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A reference that does not keep the supervisor alive (for threads and callbacks that
    /// should stop when the app drops it).
    pub fn downgrade(&self) -> WeakSupervisor {
        WeakSupervisor {
            inner: Arc::downgrade(&self.inner),
        }
    }
}

/// A [`SharedSupervisor`] that may have been dropped.
#[derive(Clone)]
pub struct WeakSupervisor {
    inner: Weak<Mutex<Supervisor>>,
}

impl WeakSupervisor {
    pub fn upgrade(&self) -> Option<SharedSupervisor> {
        self.inner.upgrade().map(|inner| SharedSupervisor { inner })
    }
}
