//! The process lifecycle: register, exit (Zombie), kill (removed), reap; memory accounting;
//! sleeping.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::abi::{self, ErrorCode, Rights};
use crate::caps::CapSpace;
use crate::{
    CapAction, Effect, EndedProcess, ExitReason, Kernel, KernelEvent, ObjectRef, Process,
    ProcessId, ProcessMetrics, ProcessState, Reply,
};

/// The largest linear memory a wasm32 guest can have (65,536 pages of 64 KiB).
const MAX_LINEAR_MEMORY_BYTES: u64 = 1 << 32;

impl Kernel {
    /// Adds a process: the next pid (from 1, never reused), 64 KiB of memory, and a fresh
    /// capability space whose slot 0 is the console (`WRITE`).
    pub fn register_process(&mut self, name: &str, now_ns: u64) -> Result<ProcessId, ErrorCode> {
        let now_ns = self.observe_time(now_ns);
        if self.processes.len() >= self.config.max_processes {
            return Err(ErrorCode::TooManyProcesses);
        }
        if self.next_pid == u32::MAX {
            return Err(ErrorCode::TooManyProcesses);
        }
        let pid = ProcessId(self.next_pid);
        self.next_pid += 1;
        let process = Process {
            pid,
            name: String::from(name),
            state: ProcessState::Running,
            metrics: ProcessMetrics {
                memory_size: abi::memory::INITIAL_BYTES as usize,
                last_active_ns: now_ns,
                start_time_ns: now_ns,
                ..ProcessMetrics::default()
            },
            protected: false,
            allocated_bytes: 0,
            caps: CapSpace::default(),
            endpoints: Vec::new(),
            blocked_call: abi::nr::YIELD,
        };
        let memory = process.accounted_memory();
        self.processes.insert(pid, process);
        self.counters.live_processes += 1;
        self.counters.total_memory = self.counters.total_memory.saturating_add(memory);
        self.emit(KernelEvent::ProcessSpawned {
            pid,
            name: String::from(name),
            at_ns: now_ns,
        });
        if let Err(d) = self.new_cap(
            pid,
            Some(abi::slot::CONSOLE),
            ObjectRef::Console,
            Rights::WRITE,
            None,
            CapAction::Create,
            now_ns,
        ) {
            // A fresh space always has slot 0 free; keep the table consistent regardless.
            let _ = self.kill_process(pid, None, now_ns);
            return Err(d.code);
        }
        self.emit(KernelEvent::MemoryChanged {
            pid,
            bytes: memory,
            at_ns: now_ns,
        });
        Ok(pid)
    }

    pub fn set_protected(&mut self, pid: ProcessId, protected: bool) -> Result<(), ErrorCode> {
        let p = self
            .processes
            .get_mut(&pid)
            .ok_or(ErrorCode::NoSuchProcess)?;
        p.protected = protected;
        Ok(())
    }

    /// The process table, in pid order.
    pub fn processes(&self) -> &crate::ProcessTable {
        &self.processes
    }

    pub fn process(&self, pid: ProcessId) -> Option<&Process> {
        self.processes.get(&pid)
    }

    /// The pid the next spawned process will get: pids only grow, so every process with a pid
    /// at or above this one was spawned after the call.
    pub fn next_pid(&self) -> ProcessId {
        ProcessId(self.next_pid)
    }

    /// Releases what a live process holds: unblocks it, deletes its endpoints (waking their
    /// receivers with `PEER_GONE`), drops its capabilities, and takes its memory off the total.
    fn release(&mut self, pid: ProcessId, now_ns: u64) {
        self.unblock_silently(pid);
        let (endpoints, memory) = match self.processes.get_mut(&pid) {
            Some(p) if !p.state.is_zombie() => {
                (core::mem::take(&mut p.endpoints), p.accounted_memory())
            }
            _ => return,
        };
        for id in endpoints {
            self.destroy_endpoint(id, now_ns);
        }
        self.release_caps(pid);
        self.counters.live_processes = self.counters.live_processes.saturating_sub(1);
        self.counters.total_memory = self.counters.total_memory.saturating_sub(memory);
    }

    /// Removes a process at once (live or zombie): its endpoints, the capabilities it holds,
    /// and its table entry. Receivers blocked on its endpoints get `PEER_GONE`. No protection
    /// check: this is the supervisor's power; the `KILL` syscall checks protection.
    pub fn kill_process(
        &mut self,
        pid: ProcessId,
        by: Option<ProcessId>,
        now_ns: u64,
    ) -> Result<(), ErrorCode> {
        let now_ns = self.observe_time(now_ns);
        let was_live = match self.processes.get(&pid) {
            Some(p) => !p.state.is_zombie(),
            None => return Err(ErrorCode::NoSuchProcess),
        };
        self.release(pid, now_ns);
        if let Some(p) = self.processes.remove(&pid)
            && was_live
        {
            let mut metrics = p.metrics;
            metrics.last_active_ns = now_ns;
            let reason = ExitReason::Killed { by };
            self.ended.push(EndedProcess {
                pid,
                name: p.name,
                reason,
                metrics,
                ended_at_ns: now_ns,
            });
        }
        self.emit(KernelEvent::ProcessKilled {
            pid,
            by,
            at_ns: now_ns,
        });
        if was_live {
            self.effects.push(Effect::StopGuest { pid });
        }
        Ok(())
    }

    /// The process ended (exit, trap, out of memory): it becomes a Zombie that keeps its name,
    /// metrics and reason until reaped; its endpoints and capabilities are released now.
    pub fn exit_process(
        &mut self,
        pid: ProcessId,
        reason: ExitReason,
        now_ns: u64,
    ) -> Result<(), ErrorCode> {
        let now_ns = self.observe_time(now_ns);
        match self.processes.get(&pid) {
            Some(p) if !p.state.is_zombie() => {}
            _ => return Err(ErrorCode::NoSuchProcess),
        }
        self.release(pid, now_ns);
        if let Some(p) = self.processes.get_mut(&pid) {
            p.state = ProcessState::Zombie(reason.clone());
            p.metrics.last_active_ns = now_ns;
        }
        self.emit(KernelEvent::ProcessExited {
            pid,
            reason,
            at_ns: now_ns,
        });
        self.effects.push(Effect::StopGuest { pid });
        Ok(())
    }

    /// Removes a Zombie from the table and returns it. `NO_SUCH_PROCESS` if it is not a zombie.
    pub fn reap_process(&mut self, pid: ProcessId, now_ns: u64) -> Result<Process, ErrorCode> {
        let now_ns = self.observe_time(now_ns);
        match self.processes.get(&pid) {
            Some(p) if p.state.is_zombie() => {}
            _ => return Err(ErrorCode::NoSuchProcess),
        }
        let process = self
            .processes
            .remove(&pid)
            .ok_or(ErrorCode::NoSuchProcess)?;
        self.emit(KernelEvent::ProcessReaped { pid, at_ns: now_ns });
        Ok(process)
    }

    /// A process that is in the table and not a Zombie; `NO_SUCH_PROCESS` otherwise.
    fn live_process_mut(&mut self, pid: ProcessId) -> Result<&mut Process, ErrorCode> {
        match self.processes.get_mut(&pid) {
            Some(p) if !p.state.is_zombie() => Ok(p),
            _ => Err(ErrorCode::NoSuchProcess),
        }
    }

    /// The host reports the guest's linear memory size (bytes).
    pub fn report_memory(
        &mut self,
        pid: ProcessId,
        bytes: u64,
        now_ns: u64,
    ) -> Result<(), ErrorCode> {
        let now_ns = self.observe_time(now_ns);
        let p = self.live_process_mut(pid)?;
        // A wasm32 linear memory is at most 4 GiB: a larger report is a host bug, clamped so
        // the saturating system total cannot lose track of the other processes' memory.
        let bytes = bytes.min(MAX_LINEAR_MEMORY_BYTES);
        let size = usize::try_from(bytes).unwrap_or(usize::MAX);
        if p.metrics.memory_size == size {
            return Ok(());
        }
        let before = p.accounted_memory();
        p.metrics.memory_size = size;
        let after = p.accounted_memory();
        self.adjust_memory(pid, before, after, now_ns);
        Ok(())
    }

    /// The host reports `count` refusals made by the guest's byte-copy imports since its last
    /// report (`import` is `abi::host_import::SEND_BYTES` or `RECV_BYTES`; `error` is the code of
    /// the last one). They never reached `dispatch`, so this is where they are counted (the
    /// process's `host_refusals`) and shown: one `RequestDenied` event whose `syscall` is
    /// `import`. `count == 0` does nothing. `NO_SUCH_PROCESS` for unknown pids and zombies.
    pub fn record_host_refusal(
        &mut self,
        pid: ProcessId,
        import: u32,
        error: ErrorCode,
        count: u32,
        now_ns: u64,
    ) -> Result<(), ErrorCode> {
        let now_ns = self.observe_time(now_ns);
        let p = self.live_process_mut(pid)?;
        if count == 0 {
            return Ok(());
        }
        p.metrics.host_refusals = p.metrics.host_refusals.saturating_add(u64::from(count));
        let what = match error {
            ErrorCode::BadPointer => {
                String::from("pointer range outside guest memory (or a negative length)")
            }
            ErrorCode::MessageTooLarge => format!(
                "more bytes than the {}-byte mailbox data buffer holds",
                abi::mailbox::DATA_CAPACITY
            ),
            other => String::from(other.describe()),
        };
        let mut reason = match abi::host_import::name(import) {
            Some(name) if abi::host_import::is_wasi(import) => format!(
                "{}.{name}: not offered to WASI programs here; the program got ENOSYS ({})",
                abi::wasi::MODULE,
                abi::wasi::errno::NOSYS
            ),
            Some(name) => format!("{name}: {what}"),
            None => format!("host import #{import}: {what}"),
        };
        if count > 1 {
            reason.push_str(&format!(
                " ({count} host refusals since the last report; the last one shown)"
            ));
        }
        self.emit(KernelEvent::RequestDenied {
            pid,
            syscall: import,
            error,
            reason,
            at_ns: now_ns,
        });
        Ok(())
    }

    pub(crate) fn adjust_memory(&mut self, pid: ProcessId, before: u64, after: u64, now_ns: u64) {
        self.counters.total_memory = self
            .counters
            .total_memory
            .saturating_sub(before)
            .saturating_add(after);
        self.emit(KernelEvent::MemoryChanged {
            pid,
            bytes: after,
            at_ns: now_ns,
        });
    }

    /// MEM_ALLOC: refused if the accounted memory plus `bytes` would pass the limit.
    pub(crate) fn mem_alloc(
        &mut self,
        pid: ProcessId,
        bytes: u64,
        now_ns: u64,
    ) -> Result<(), crate::Denied> {
        let limit = self.config.memory_limit_bytes;
        let Some(p) = self.processes.get_mut(&pid) else {
            return Err(crate::Denied::new(
                ErrorCode::NoSuchProcess,
                "no such process",
            ));
        };
        let before = p.accounted_memory();
        let wanted = before.checked_add(bytes).filter(|w| *w <= limit);
        let Some(_) = wanted else {
            return Err(crate::Denied::new(
                ErrorCode::OutOfMemory,
                alloc::format!(
                    "{bytes} more bytes on top of {before} would pass the {limit}-byte limit"
                ),
            ));
        };
        p.allocated_bytes = p.allocated_bytes.saturating_add(bytes);
        let after = p.accounted_memory();
        if after != before || bytes > 0 {
            self.adjust_memory(pid, before, after, now_ns);
        }
        Ok(())
    }

    /// MEM_FREE: refused if more than was allocated.
    pub(crate) fn mem_free(
        &mut self,
        pid: ProcessId,
        bytes: u64,
        now_ns: u64,
    ) -> Result<(), crate::Denied> {
        let Some(p) = self.processes.get_mut(&pid) else {
            return Err(crate::Denied::new(
                ErrorCode::NoSuchProcess,
                "no such process",
            ));
        };
        if bytes > p.allocated_bytes {
            return Err(crate::Denied::new(
                ErrorCode::BadArgument,
                alloc::format!(
                    "freeing {bytes} bytes but only {} are allocated",
                    p.allocated_bytes
                ),
            ));
        }
        let before = p.accounted_memory();
        p.allocated_bytes -= bytes;
        let after = p.accounted_memory();
        self.adjust_memory(pid, before, after, now_ns);
        Ok(())
    }

    /// Wakes every sleeper whose time has come (their SLEEP completes with 0).
    pub fn tick(&mut self, now_ns: u64) {
        let now_ns = self.observe_time(now_ns);
        while let Some(&(until, pid)) = self.sleepers.first() {
            if until > now_ns {
                break;
            }
            self.sleepers.pop_first();
            self.complete_blocked(pid, Reply::ok(0), now_ns);
        }
    }

    /// The earliest time a sleeper wakes, if any (so the supervisor knows when to tick).
    pub fn next_wake_ns(&self) -> Option<u64> {
        self.sleepers.first().map(|(t, _)| *t)
    }
}
