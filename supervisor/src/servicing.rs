//! Servicing mailboxes: steps 4-6 of the syscall flow (docs/ABI.md). The PID of a syscall is the
//! key under which the supervisor stored the mailbox at spawn, never a value read from the mailbox.

use crate::abi::{self, ErrorCode, Syscall, mailbox as mb};
use crate::kernel::{Dispatch, Effect, ProcessId, Reply, SyscallArgs};
use crate::mailbox::Mailbox;
use crate::pacing::TimeControl;
use crate::supervisor::{Guest, Supervisor};

/// The mailbox light for the UI: the `STATUS` word of the process's mailbox.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MailboxStatus {
    /// No syscall in progress (or no mailbox: the guest has stopped).
    #[default]
    Idle,
    /// A syscall is waiting to be serviced, or is blocked in the kernel (RECEIVE, SLEEP).
    Pending,
    /// The reply is written; the guest has not picked it up yet.
    Ready,
}

/// The last syscall the supervisor serviced for a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServicedCall {
    pub syscall: u32,
    pub result: i32,
    pub at_ns: u64,
}

impl ServicedCall {
    pub fn name(&self) -> &'static str {
        Syscall::from_raw(self.syscall).map_or("UNKNOWN", Syscall::name)
    }
}

impl Supervisor {
    pub fn mailbox_status(&self, pid: ProcessId) -> Option<MailboxStatus> {
        let guest = self.guests.get(&pid)?;
        Some(match guest.mailbox.status() {
            mb::STATUS_PENDING => MailboxStatus::Pending,
            mb::STATUS_READY => MailboxStatus::Ready,
            _ => MailboxStatus::Idle,
        })
    }

    pub fn worker_id(&self, pid: ProcessId) -> Option<u32> {
        self.guests.get(&pid).map(|g| g.worker_id)
    }

    pub fn last_serviced(&self, pid: ProcessId) -> Option<ServicedCall> {
        self.last_serviced.get(&pid).copied()
    }

    /// When the next sleeper is due (kernel time), so a servicer without frames knows when to `tick`.
    pub fn next_wake_ns(&self) -> Option<u64> {
        self.kernel.next_wake_ns()
    }

    /// Advances the kernel's clock (waking sleepers). Nothing moves while paused.
    pub fn tick(&mut self, now_ns: u64) {
        // Host refusals already happened in the guest: shown even while paused.
        self.report_host_refusals(now_ns);
        self.collect_exits(now_ns);
        if self.time == TimeControl::Paused {
            return;
        }
        self.kernel.tick(now_ns);
        self.apply_effects(now_ns);
    }

    /// A host's servicer calls this each time it has serviced the mailboxes (and ticked).
    pub fn note_servicer_ran(&mut self, now_ns: u64) {
        self.servicer_ran_ns = Some(now_ns);
    }

    /// Whether a host's servicer ran within `window_ns` of `now_ns`: then the per-frame
    /// servicing is redundant (the servicer takes every syscall between frames, slow motion and
    /// steps included) and only costs frame time.
    pub fn servicer_alive(&self, now_ns: u64, window_ns: u64) -> bool {
        self.servicer_ran_ns
            .is_some_and(|t| now_ns.saturating_sub(t) <= window_ns)
    }

    /// Services pending mailboxes, as many as the time control allows, and returns how many.
    /// Also turns guests that ended by themselves (traps, `_start` returning) into Zombies.
    pub fn service_pending(&mut self, now_ns: u64) -> usize {
        self.collect_exits(now_ns);
        let budget = self.budget(now_ns);
        if budget == 0 {
            return 0;
        }
        let pending = self.pending_pids();
        let mut serviced = 0;
        for pid in pending {
            if serviced >= budget {
                break;
            }
            if self.service_one(pid, now_ns) {
                serviced += 1;
                self.scan_from = ProcessId(pid.0.wrapping_add(1));
            }
        }
        match self.time {
            TimeControl::Paused => {
                self.step_credits = self.step_credits.saturating_sub(serviced as u32)
            }
            TimeControl::Slow { .. } => {
                self.slow_tokens = (self.slow_tokens - serviced as f64).max(0.0)
            }
            TimeControl::Running => {
                if self.ceiling.is_some() {
                    self.ceiling_tokens = (self.ceiling_tokens - serviced as f64).max(0.0);
                }
            }
        }
        serviced
    }

    /// Processes whose mailbox holds a new request, round-robin from `scan_from`.
    pub(crate) fn pending_pids(&self) -> Vec<ProcessId> {
        let is_new_request = |(_, g): &(&ProcessId, &Guest)| {
            g.in_flight.is_none() && g.mailbox.status() == mb::STATUS_PENDING
        };
        let after = self.guests.range(self.scan_from..).filter(is_new_request);
        let before = self.guests.range(..self.scan_from).filter(is_new_request);
        after.chain(before).map(|(pid, _)| *pid).collect()
    }

    /// Steps 4-6 of the syscall flow for one mailbox that [`pending_pids`](Self::pending_pids)
    /// saw PENDING in this pass. `false` if there was nothing to service.
    pub(crate) fn service_one(&mut self, pid: ProcessId, now_ns: u64) -> bool {
        let Some(guest) = self.guests.get_mut(&pid) else {
            return false;
        };
        if guest.in_flight.is_some() {
            return false;
        }
        // The scan's atomic load of STATUS orders this copy after the guest's request; only the
        // supervisor moves a PENDING mailbox on, so its STATUS word still says PENDING.
        let header = guest.mailbox.load_header();
        if header[mb::STATUS / 4] != mb::STATUS_PENDING {
            return false;
        }
        let request = guest.mailbox.read_request_from(&header);
        // Refusals the host made since the last syscall come first, in the order they happened.
        // The guest's host is blocked in this syscall, so the count and the code read together.
        self.note_host_refusals(
            pid,
            header[mb::HOST_REFUSALS / 4],
            |_| header[mb::HOST_REFUSAL_CODE / 4],
            now_ns,
        );
        let Some(guest) = self.guests.get_mut(&pid) else {
            return false;
        };
        if request.memory_bytes != guest.reported_memory_bytes {
            guest.reported_memory_bytes = request.memory_bytes;
            let _ = self
                .kernel
                .report_memory(pid, u64::from(request.memory_bytes), now_ns);
        }
        let call = SyscallArgs {
            number: request.number,
            args: request.args,
        };
        // Console output goes into the console log here, not from the kernel's event queue: that
        // queue is bounded and drained once a frame, so a slow or hidden page under heavy IPC
        // would drop a program's output with the traffic events (`drain_events` skips them).
        let console_text = (request.number == crate::abi::nr::CONSOLE_WRITE)
            .then(|| String::from_utf8_lossy(&request.data).into_owned());
        match self.kernel.dispatch(pid, call, &request.data, now_ns) {
            Dispatch::Complete(reply) => {
                if let Some(text) = console_text
                    && reply.result >= 0
                {
                    self.push_console(crate::console::ConsoleLine {
                        pid,
                        kind: crate::console::ConsoleKind::Output,
                        text,
                        at_ns: now_ns,
                    });
                }
                self.reply(pid, request.number, reply, now_ns)
            }
            Dispatch::Pending => {
                if let Some(guest) = self.guests.get_mut(&pid) {
                    guest.in_flight = Some(request.number);
                }
            }
            Dispatch::Exited => {
                self.record(pid, request.number, 0, now_ns);
                self.stop_guest(pid);
            }
            Dispatch::Spawn { program } => {
                // A refusal carries its explanation as reply data, for the caller to print.
                let reply = match self.spawn_command(&program) {
                    Ok(child) => Reply {
                        result: child.0 as i32,
                        data: Vec::new(),
                    },
                    Err(error) => Reply {
                        result: error.code().to_result(),
                        data: error.to_string().into_bytes(),
                    },
                };
                self.reply(pid, request.number, reply, now_ns);
            }
        }
        self.apply_effects(now_ns);
        true
    }

    pub(crate) fn reply(&mut self, pid: ProcessId, syscall: u32, reply: Reply, now_ns: u64) {
        if let Some(guest) = self.guests.get_mut(&pid) {
            guest.in_flight = None;
            guest
                .mailbox
                .complete(pid.0, syscall, reply.result, &reply.data);
        }
        self.record(pid, syscall, reply.result, now_ns);
    }

    pub(crate) fn record(&mut self, pid: ProcessId, syscall: u32, result: i32, at_ns: u64) {
        self.last_serviced.insert(
            pid,
            ServicedCall {
                syscall,
                result,
                at_ns,
            },
        );
    }

    /// Applies what the kernel asks of the outside world, until it asks nothing more.
    pub(crate) fn apply_effects(&mut self, now_ns: u64) {
        loop {
            let effects = self.kernel.take_effects();
            if effects.is_empty() {
                return;
            }
            for effect in effects {
                match effect {
                    Effect::Complete { pid, reply } => {
                        let syscall = self
                            .guests
                            .get(&pid)
                            .and_then(|g| g.in_flight)
                            .unwrap_or(u32::MAX);
                        self.reply(pid, syscall, reply, now_ns);
                    }
                    Effect::StopGuest { pid } => self.stop_guest(pid),
                }
            }
        }
    }

    /// Every guest whose host refused a byte copy since the last look (see `report_host_refusals_of`).
    /// Called once per frame (`tick`), so a guest that stops making syscalls is still seen.
    pub fn report_host_refusals(&mut self, now_ns: u64) {
        let pids: Vec<ProcessId> = self.guests.keys().copied().collect();
        for pid in pids {
            self.report_host_refusals_of(pid, now_ns);
        }
    }

    /// Refusals by the guest's byte-copy imports never reach `dispatch`; the host counts them in
    /// the mailbox (`HOST_REFUSALS`, `HOST_REFUSAL_CODE`), and a changed count is passed on to
    /// the kernel, which counts it and emits `RequestDenied` like for any refused request.
    pub(crate) fn report_host_refusals_of(&mut self, pid: ProcessId, now_ns: u64) {
        let Some(guest) = self.guests.get(&pid) else {
            return;
        };
        let count = guest.mailbox.load(mb::HOST_REFUSALS);
        // The host writes the code before it bumps the count, so the code read after the count
        // is the one that goes with it (or a newer one).
        self.note_host_refusals(pid, count, |m| m.load(mb::HOST_REFUSAL_CODE), now_ns);
    }

    /// Passes on to the kernel the refusals counted since the last look: `count` is the
    /// mailbox's `HOST_REFUSALS`, and `code` reads its `HOST_REFUSAL_CODE` (only when the count
    /// moved: in the browser every read is a call into JavaScript).
    fn note_host_refusals(
        &mut self,
        pid: ProcessId,
        count: i32,
        code: impl FnOnce(&dyn Mailbox) -> i32,
        now_ns: u64,
    ) {
        let Some(guest) = self.guests.get_mut(&pid) else {
            return;
        };
        let count = count as u32;
        let new = count.wrapping_sub(guest.reported_host_refusals);
        if new == 0 {
            return;
        }
        guest.reported_host_refusals = count;
        let code = code(guest.mailbox.as_ref());
        let (import, error) = abi::host_import::unpack(code);
        let error = error.unwrap_or(ErrorCode::BadPointer);
        let _ = self
            .kernel
            .record_host_refusal(pid, import, error, new, now_ns);
    }
}
