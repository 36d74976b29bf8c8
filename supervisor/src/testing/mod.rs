//! One scripted host for tests (feature `test-support`): its "guests" are the test itself, which
//! plays a guest by writing mailbox words directly, so it can forge what a real guest's host never
//! would. No wasm, no threads: deterministic. [`fuzz`] holds the property-test helpers.

pub mod fuzz;
pub mod workload;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::host::{GuestCeiling, GuestExit, GuestExitKind, Host, HostError, SpawnedGuest};
use crate::kernel::{KernelConfig, ProcessId};
use crate::mailbox::{AtomicMailbox, MailboxWords};
use crate::manifest::{Manifest, ProgramSpec};
use crate::{Clock, ManualTime, Supervisor};

#[derive(Default)]
struct Scripted {
    mailboxes: BTreeMap<ProcessId, Arc<MailboxWords>>,
    exits: Vec<GuestExit>,
    stopped: Vec<ProcessId>,
    spawned: Vec<(ProcessId, String)>,
}

/// The test's side of a [`ScriptedHost`]: the guests' mailboxes, and the exits to report.
#[derive(Clone, Default)]
pub struct ScriptedGuests(Arc<Mutex<Scripted>>);

impl ScriptedGuests {
    fn state(&self) -> MutexGuard<'_, Scripted> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The mailbox of `pid`'s guest, if it is running.
    pub fn mailbox(&self, pid: ProcessId) -> Option<Arc<MailboxWords>> {
        self.state().mailboxes.get(&pid).cloned()
    }

    /// Pids whose guest is running, in order.
    pub fn running(&self) -> Vec<ProcessId> {
        self.state().mailboxes.keys().copied().collect()
    }

    /// Pids the supervisor stopped, in the order it stopped them.
    pub fn stopped(&self) -> Vec<ProcessId> {
        self.state().stopped.clone()
    }

    /// Every spawn the host was asked for: pid and program name.
    pub fn spawned(&self) -> Vec<(ProcessId, String)> {
        self.state().spawned.clone()
    }

    /// The guest of `pid` ends by itself (reported at the supervisor's next look).
    pub fn exit(&self, pid: ProcessId, kind: GuestExitKind) {
        self.state().exits.push(GuestExit { pid, kind });
    }
}

/// A [`Host`] whose guests never run code: each spawn gets a fresh mailbox the test writes.
pub struct ScriptedHost {
    guests: ScriptedGuests,
    worker_id_base: u32,
    ceiling: Option<GuestCeiling>,
}

impl ScriptedHost {
    pub fn new() -> (ScriptedHost, ScriptedGuests) {
        let guests = ScriptedGuests::default();
        (
            ScriptedHost {
                guests: guests.clone(),
                worker_id_base: 0,
                ceiling: None,
            },
            guests,
        )
    }

    /// Worker ids are `base + pid` (to tell them from pids in assertions).
    pub fn with_worker_id_base(mut self, base: u32) -> ScriptedHost {
        self.worker_id_base = base;
        self
    }

    /// A ceiling on guests running at once, like the browser's (the web host's
    /// [`Host::ceiling`]).
    pub fn with_ceiling(mut self, ceiling: GuestCeiling) -> ScriptedHost {
        self.ceiling = Some(ceiling);
        self
    }
}

impl Host for ScriptedHost {
    fn spawn(&mut self, pid: ProcessId, program: &ProgramSpec) -> Result<SpawnedGuest, HostError> {
        let words = MailboxWords::new();
        let mut state = self.guests.state();
        state.mailboxes.insert(pid, words.clone());
        state.spawned.push((pid, program.name.clone()));
        Ok(SpawnedGuest {
            mailbox: Box::new(AtomicMailbox(words)),
            worker_id: self.worker_id_base + pid.0,
        })
    }

    fn stop(&mut self, pid: ProcessId) {
        let mut state = self.guests.state();
        if state.mailboxes.remove(&pid).is_some() {
            state.stopped.push(pid);
        }
    }

    fn live_guests(&self) -> usize {
        self.guests.state().mailboxes.len()
    }

    fn ceiling(&self) -> Option<&GuestCeiling> {
        self.ceiling.as_ref()
    }

    /// Like the real hosts: a guest that ended by itself has no mailbox any more.
    fn take_exits(&mut self) -> Vec<GuestExit> {
        let mut state = self.guests.state();
        let exits = std::mem::take(&mut state.exits);
        for exit in &exits {
            state.mailboxes.remove(&exit.pid);
        }
        exits
    }

    fn ring_doorbell(&self) {}

    fn name(&self) -> &'static str {
        "scripted (test)"
    }
}

/// A supervisor on the built-in manifest, a [`ScriptedHost`] and a manual clock at 0.
pub fn scripted_supervisor() -> (Supervisor, ScriptedGuests, ManualTime) {
    let (host, guests) = ScriptedHost::new();
    let (clock, time) = Clock::manual();
    let manifest =
        Manifest::builtin().unwrap_or_else(|e| panic!("the built-in manifest is broken: {e}"));
    (
        Supervisor::new(manifest, Box::new(host), KernelConfig::default(), clock),
        guests,
        time,
    )
}

/// Panics unless the built guest modules are where the native host looks, naming the command
/// that builds them and the folders it looked in.
#[cfg(not(target_arch = "wasm32"))]
pub fn require_guest_modules() {
    let dirs = crate::native_host::guest_dir_candidates();
    assert!(
        dirs.iter().any(|d| d.join("init.wasm").is_file()),
        "the guest modules are not built: run `cargo xtask guests` first (looked in {dirs:?})"
    );
}

/// This thread's CPU time in ns (`CLOCK_THREAD_CPUTIME_ID`): unlike the wall clock, it does not
/// count time the thread spent descheduled while other processes used the cores. Elsewhere than
/// Unix, the time since the first call.
#[cfg(unix)]
pub fn thread_cpu_ns() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec; the clock id is a constant libc defines.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    t.tv_sec as f64 * 1e9 + t.tv_nsec as f64
}

#[cfg(not(unix))]
pub fn thread_cpu_ns() -> f64 {
    use std::sync::OnceLock;
    static START: OnceLock<std::time::Instant> = OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_nanos() as f64
}
