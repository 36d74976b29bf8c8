//! The host abstraction: what runs a guest module as a process. Two implementations share the
//! mailbox layout and the wait/notify protocol of docs/ABI.md:
//! - the native host (`native_host.rs`): one thread per guest, running `wasmi`, used by `cargo test`;
//! - the Web Worker host (`src/web`): one Web Worker per guest, mailboxes in `SharedArrayBuffer`s.
//!
//! ## Why `Host: Send`, and how the web host satisfies it
//! The supervisor (kernel + host + mailboxes) lives in one `Arc<Mutex<Supervisor>>`, the
//! [`SharedSupervisor`](crate::SharedSupervisor) (the app's `SupervisorHandle` resource), so syscalls can be serviced outside
//! Bevy frames (natively by a doorbell thread; in the browser by an `Atomics.waitAsync`
//! callback). A Bevy resource must be `Send + Sync`, so the host and its mailboxes must be
//! `Send`. JavaScript handles (`Worker`, `Int32Array`, ...) are `!Send`. The web host keeps
//! them inside the supervisor anyway, wrapped in [`WasmSend`], which is `Send` on `wasm32` only:
//! the app is built without the `atomics` target feature, so there is exactly one thread and a
//! value can never actually cross to another. Natively `WasmSend` is not `Send`, so this cannot
//! leak into threaded code.

use std::fmt;
use std::path::PathBuf;

use crate::kernel::ProcessId;
use crate::mailbox::Mailbox;
use crate::manifest::ProgramSpec;

/// Runs guest modules as processes. The supervisor calls it with the lock held.
pub trait Host: Send {
    /// Starts `program` as process `pid` and returns its mailbox. Loading problems the host can
    /// see at once (missing file, invalid module, no `_start`) are errors here; later ones
    /// (instantiation, traps, `_start` returning) arrive through [`Host::take_exits`].
    fn spawn(&mut self, pid: ProcessId, program: &ProgramSpec) -> Result<SpawnedGuest, HostError>;

    /// Stops the guest of `pid` and releases its thread or worker. Idempotent; an unknown pid
    /// is ignored. A guest stopped this way is not reported by [`Host::take_exits`].
    fn stop(&mut self, pid: ProcessId);

    /// Guests whose thread or worker is still alive (including ones being stopped).
    fn live_guests(&self) -> usize;

    /// The most guests this host can run at once, if it has such a limit. The supervisor asks
    /// before a spawn touches the kernel ([`GuestCeiling::admit`]), so a host at its ceiling
    /// refuses the spawn instead of starting a process that then fails to load. The default
    /// (the native host) has none.
    fn ceiling(&self) -> Option<&GuestCeiling> {
        None
    }

    /// Guests that ended by themselves since the last call: `_start` returned, trapped, or failed
    /// to instantiate.
    fn take_exits(&mut self) -> Vec<GuestExit>;

    /// Wakes whoever services mailboxes (after resuming from pause, a step, a queued exit), as a
    /// guest does after setting a mailbox to PENDING.
    fn ring_doorbell(&self);

    /// For logs and the UI: "native (wasmi)", "web workers".
    fn name(&self) -> &'static str;
}

/// A started guest, as the host hands it to the supervisor.
pub struct SpawnedGuest {
    pub mailbox: Box<dyn Mailbox>,
    /// The host's id for the thread or worker (shown in the inspector).
    pub worker_id: u32,
}

/// A guest that ended without the supervisor asking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestExit {
    pub pid: ProcessId,
    pub kind: GuestExitKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GuestExitKind {
    /// `_start` returned: exit code 0.
    Returned,
    /// A WebAssembly trap (unreachable, out-of-bounds access, ...), with the engine's message.
    Trapped(String),
    /// Instantiation failed after spawn returned (for example a missing import).
    LoadFailed(String),
}

/// Why a guest could not be started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostError {
    /// The module file is not there; `searched` says where we looked.
    ModuleNotFound {
        module: String,
        searched: Vec<PathBuf>,
    },
    /// The module is there but cannot run as a guest.
    InvalidModule { module: String, message: String },
    /// The host itself cannot start guests (for example the browser is not cross-origin isolated).
    Unavailable(String),
    /// The host already runs as many guests as it can hold (`why`: the platform limit behind it).
    AtCapacity {
        running: usize,
        limit: usize,
        why: String,
    },
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::ModuleNotFound { module, searched } => {
                write!(f, "guest module {module} not found (looked in ")?;
                for (i, p) in searched.iter().enumerate() {
                    write!(f, "{}{}", if i > 0 { ", " } else { "" }, p.display())?;
                }
                write!(
                    f,
                    "); build the guests with `cargo xtask guests`, or point ORBITAL_GUESTS_DIR at the folder holding the .wasm files"
                )
            }
            HostError::InvalidModule { module, message } => {
                write!(f, "guest module {module} cannot run: {message}")
            }
            HostError::Unavailable(message) => {
                write!(f, "the guest host is unavailable: {message}")
            }
            HostError::AtCapacity {
                running,
                limit,
                why,
            } => write!(
                f,
                "this host runs at most {limit} guest processes at once and {running} are running ({why}); kill a process (`kill <pid>`) to make room"
            ),
        }
    }
}

impl std::error::Error for HostError {}

/// A host's ceiling on guests running at once, and the platform limit behind it. The web host
/// has one (the browser's address-space cap on WebAssembly memories, see docs/BENCHMARKS.md,
/// "How many processes a page holds"); the native host has none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestCeiling {
    /// Most guests running at once.
    pub limit: usize,
    /// Why there is a limit, for the refusal's message.
    pub why: String,
}

impl GuestCeiling {
    /// Admits one more guest while `running` is below the limit.
    pub fn admit(&self, running: usize) -> Result<(), HostError> {
        if running < self.limit {
            Ok(())
        } else {
            Err(HostError::AtCapacity {
                running,
                limit: self.limit,
                why: self.why.clone(),
            })
        }
    }
}

/// Makes a value `Send` on `wasm32`, where the app is single-threaded (built without the `atomics`
/// target feature), so JavaScript handles can live inside the supervisor's `Arc<Mutex<..>>`.
/// See the module docs.
#[cfg(target_arch = "wasm32")]
pub struct WasmSend<T>(pub T);

// SAFETY: on wasm32 this crate is built without the `atomics` target feature, so there are no
// other threads: a `WasmSend<T>` is only ever touched by the thread that created it. Native
// builds do not get this impl.
#[cfg(target_arch = "wasm32")]
unsafe impl<T> Send for WasmSend<T> {}

#[cfg(target_arch = "wasm32")]
impl<T> std::ops::Deref for WasmSend<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

#[cfg(target_arch = "wasm32")]
impl<T> std::ops::DerefMut for WasmSend<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}
