//! Ending processes: kills on a person's behalf, reaping Zombies, resets, and guests that
//! ended by themselves (traps, `_start` returning, failed loads).

use std::fmt;

use crate::abi::ErrorCode;
use crate::host::GuestExitKind;
use crate::kernel::{ExitReason, ProcessId, ProcessState};
use crate::supervisor::Supervisor;

/// Why a kill was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KillError {
    NoSuchProcess { pid: ProcessId },
    Protected { pid: ProcessId, name: String },
    Kernel { pid: ProcessId, error: ErrorCode },
}

impl fmt::Display for KillError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KillError::NoSuchProcess { pid } => write!(f, "no process with pid {}", pid.0),
            KillError::Protected { pid, name } => {
                write!(
                    f,
                    "{name} (pid {}) is a protected system process and cannot be killed",
                    pid.0
                )
            }
            KillError::Kernel { pid, error } => {
                write!(
                    f,
                    "cannot kill pid {}: {} ({})",
                    pid.0,
                    error.describe(),
                    error.name()
                )
            }
        }
    }
}

impl std::error::Error for KillError {}

impl Supervisor {
    /// Kills a process on behalf of a person (the UI, a test). Protected processes are refused.
    pub fn kill(&mut self, pid: ProcessId) -> Result<(), KillError> {
        let process = self
            .kernel
            .process(pid)
            .ok_or(KillError::NoSuchProcess { pid })?;
        if process.protected {
            return Err(KillError::Protected {
                pid,
                name: process.name.clone(),
            });
        }
        let now_ns = self.now_ns();
        self.kernel
            .kill_process(pid, None, now_ns)
            .map_err(|error| KillError::Kernel { pid, error })?;
        self.stop_guest(pid);
        self.forget(pid);
        self.apply_effects(now_ns);
        Ok(())
    }

    /// Removes a Zombie from the process table (the user dismissed it).
    pub fn reap(&mut self, pid: ProcessId) -> Result<(), ErrorCode> {
        let now_ns = self.now_ns();
        self.kernel.reap_process(pid, now_ns)?;
        self.stop_guest(pid);
        self.forget(pid);
        self.apply_effects(now_ns);
        Ok(())
    }

    /// Kills every unprotected process and reaps every Zombie: back to the booted set.
    pub fn reset_user_processes(&mut self) {
        self.reset_user_processes_except(&[]);
    }

    /// Kills every unprotected process except those in `keep` (and reaps every Zombie).
    pub fn reset_user_processes_except(&mut self, keep: &[ProcessId]) {
        let pids: Vec<(ProcessId, bool, bool)> = self
            .kernel
            .processes()
            .values()
            .map(|p| {
                (
                    p.pid,
                    p.protected,
                    matches!(p.state, ProcessState::Zombie(_)),
                )
            })
            .collect();
        for (pid, protected, zombie) in pids {
            if zombie {
                let _ = self.reap(pid);
            } else if !protected && !keep.contains(&pid) {
                let _ = self.kill(pid);
            }
        }
    }

    pub(crate) fn forget(&mut self, pid: ProcessId) {
        self.last_serviced.remove(&pid);
        self.providers.retain(|p| p.pid != pid);
        self.runtime.forget(pid);
    }

    pub(crate) fn stop_guest(&mut self, pid: ProcessId) {
        if self.guests.remove(&pid).is_some() {
            self.host.stop(pid);
        }
    }

    /// Guests that ended on their own become Zombies with the reason.
    pub(crate) fn collect_exits(&mut self, now_ns: u64) {
        for exit in self.host.take_exits() {
            // A refusal just before a trap is still shown.
            self.report_host_refusals_of(exit.pid, now_ns);
            if self.guests.remove(&exit.pid).is_none() {
                continue; // already stopped by the supervisor
            }
            let name = self
                .kernel
                .process(exit.pid)
                .map_or_else(|| "?".to_string(), |p| p.name.clone());
            let reason = match exit.kind {
                GuestExitKind::Returned => ExitReason::Exited { code: 0 },
                GuestExitKind::Trapped(message) => {
                    self.notice(
                        exit.pid,
                        format!("supervisor: {name} (pid {}) trapped: {message}", exit.pid.0),
                    );
                    ExitReason::Trapped { message }
                }
                GuestExitKind::LoadFailed(message) => {
                    let message = format!("failed to start: {message}");
                    self.notice(
                        exit.pid,
                        format!("supervisor: {name} (pid {}) {message}", exit.pid.0),
                    );
                    ExitReason::Trapped { message }
                }
            };
            let _ = self.kernel.exit_process(exit.pid, reason, now_ns);
            self.apply_effects(now_ns);
        }
    }
}
