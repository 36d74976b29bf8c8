//! The Orbital microkernel: processes, capabilities, IPC endpoints, memory accounting, metrics
//! and the syscall dispatcher.
//!
//! The kernel is a pure, deterministic state machine. It has no clock (every entry point takes
//! the current time in nanoseconds since boot), no threads and no I/O: the supervisor feeds it
//! syscalls and applies the [`Effect`]s it returns, and the app draws the [`KernelEvent`]s it
//! emits. Everything a guest sends is an allegation: bad slots, bad numbers, oversized data and
//! dead pids all become error codes, never panics.
//!
//! Costs: the process table and the endpoint table are hash tables keyed by id (iterated in id
//! order), so finding the caller and its endpoint costs the same at any number of processes;
//! the capability derivation tree is a `BTreeMap` (O(log n), used by grant, derive, transfer
//! and revoke, not by SEND or RECEIVE); a capability space has at most 64 slots.
#![no_std]
#![forbid(unsafe_code)]
extern crate alloc;

pub use orbital_abi as abi;

mod args;
mod caps;
mod ipc;
mod logs;
mod process;
mod snapshot;
mod syscall;
mod table;
mod types;

pub use ipc::MAX_QUEUED_BYTES;
pub use snapshot::StableHasher;
pub use table::{IdTable, ProcessTable};
pub use table::{Iter as IdTableIter, Values as IdTableValues};
pub use types::*;

use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::vec::Vec;

use abi::ErrorCode;
use caps::CapNode;
use logs::{Bounded, RateWindow};
use serde::{Deserialize, Serialize};

/// The kernel: all state of the simulated machine. Serialisable for recordings
/// ([`Kernel::snapshot`] and [`Kernel::state_hash`] are in `snapshot.rs`); the pending events
/// and effects are in flight to the supervisor, not state, and are not serialised.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Kernel {
    config: KernelConfig,
    processes: ProcessTable,
    next_pid: u32,
    endpoints: table::EndpointTable,
    next_endpoint: u32,
    /// The capability derivation tree: every live capability, with its parent (what it was
    /// granted, derived or transferred from) and children, so revoke can find its descendants.
    cap_nodes: BTreeMap<CapId, CapNode>,
    next_cap: u64,
    /// Processes sleeping until a time, ordered by wake-up time.
    sleepers: BTreeSet<(u64, ProcessId)>,
    #[serde(skip)]
    effects: Vec<Effect>,
    #[serde(skip, default = "snapshot::fresh_events")]
    events: Bounded<KernelEvent>,
    traffic: Bounded<TrafficEntry>,
    cap_log: Bounded<CapLogEntry>,
    /// Killed processes leave the table at once; their name, metrics and reason stay here.
    ended: Bounded<EndedProcess>,
    counters: Counters,
    rate: RateWindow,
    /// The latest time any entry point was given (kernel time only moves forward).
    now_ns: u64,
    /// The process whose syscall is being dispatched, and the IPC counts to add to its metrics
    /// when the call ends (one process-table lookup instead of one per counter).
    #[serde(skip)]
    caller: Option<ProcessId>,
    #[serde(skip)]
    caller_delta: CallerDelta,
}

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CallerDelta {
    ipc_sent: u64,
    ipc_bytes_sent: u64,
    ipc_received: u64,
    ipc_bytes_received: u64,
}

/// Running totals (never scanned for).
#[derive(Clone, Debug, Default, Hash, Serialize, Deserialize)]
pub(crate) struct Counters {
    /// Sum of `accounted_memory` over live (non-zombie) processes.
    total_memory: u64,
    live_processes: usize,
    messages_sent: u64,
    messages_delivered: u64,
    messages_dropped: u64,
    messages_queued: u64,
    /// Bytes (header + payload) of every queued message.
    queued_bytes: u64,
    bytes_sent: u64,
    syscalls: u64,
}

impl Default for Kernel {
    fn default() -> Self {
        Kernel::new(KernelConfig::default())
    }
}

impl Kernel {
    pub fn new(config: KernelConfig) -> Self {
        Kernel {
            events: Bounded::new(config.event_capacity),
            traffic: Bounded::new(config.traffic_log_capacity),
            cap_log: Bounded::new(config.cap_log_capacity),
            ended: Bounded::new(ENDED_LOG_CAPACITY),
            config,
            processes: ProcessTable::default(),
            next_pid: 1,
            endpoints: table::EndpointTable::default(),
            next_endpoint: 1,
            cap_nodes: BTreeMap::new(),
            next_cap: 1,
            sleepers: BTreeSet::new(),
            effects: Vec::new(),
            counters: Counters::default(),
            rate: RateWindow::default(),
            now_ns: 0,
            caller: None,
            caller_delta: CallerDelta::default(),
        }
    }

    pub fn config(&self) -> &KernelConfig {
        &self.config
    }

    /// Kernel time: the latest `now_ns` any entry point was given.
    pub fn now_ns(&self) -> u64 {
        self.now_ns
    }

    /// Kernel time moves forward only: an earlier `now_ns` than one seen before is taken as the
    /// latest time seen, so a confused caller cannot make time (or rates) run backwards.
    fn observe_time(&mut self, now_ns: u64) -> u64 {
        if now_ns > self.now_ns {
            self.now_ns = now_ns;
        }
        self.now_ns
    }

    fn emit(&mut self, event: KernelEvent) {
        self.events.push(event);
    }

    /// Effects the supervisor must apply (replies to blocked calls, guests to stop). Call after
    /// every `dispatch`, `tick`, `kill_process`, `exit_process` and `send_from_kernel`.
    #[must_use]
    pub fn take_effects(&mut self) -> Vec<Effect> {
        core::mem::take(&mut self.effects)
    }

    /// Everything that happened since the last drain, oldest first. The queue is bounded by
    /// `event_capacity`; when it overflows the oldest events are dropped and counted in
    /// [`Kernel::events_dropped`].
    pub fn drain_events(&mut self) -> Vec<KernelEvent> {
        self.events.drain_all()
    }

    /// Events dropped because nobody drained the queue in time (since boot).
    pub fn events_dropped(&self) -> u64 {
        self.events.dropped()
    }

    /// Events waiting to be drained.
    pub fn events_pending(&self) -> usize {
        self.events.len()
    }

    pub fn traffic_log(&self) -> &VecDeque<TrafficEntry> {
        self.traffic.items()
    }

    pub fn capability_log(&self) -> &VecDeque<CapLogEntry> {
        self.cap_log.items()
    }

    /// Entries that fell off the traffic log and the capability log since boot.
    pub fn logs_dropped(&self) -> (u64, u64) {
        (self.traffic.dropped(), self.cap_log.dropped())
    }

    /// Killed processes, oldest first: what they were, their last metrics and who killed them
    /// (a Zombie keeps this in the table until reaped; a kill removes the process at once).
    /// Bounded by [`ENDED_LOG_CAPACITY`]; emptied by [`Kernel::clear_logs`].
    pub fn ended_processes(&self) -> &VecDeque<EndedProcess> {
        self.ended.items()
    }

    pub fn clear_logs(&mut self) {
        self.traffic.clear();
        self.cap_log.clear();
        self.ended.clear();
    }

    pub fn system_metrics(&self, now_ns: u64) -> SystemMetrics {
        let now_ns = now_ns.max(self.now_ns);
        SystemMetrics {
            processes: self.counters.live_processes,
            total_memory: self.counters.total_memory,
            endpoints: self.endpoints.len(),
            ipc_messages: self.counters.messages_sent,
            ipc_bytes: self.counters.bytes_sent,
            syscalls: self.counters.syscalls,
            uptime_ns: now_ns,
            messages_per_sec: self.rate.per_second(now_ns),
        }
    }

    /// Message accounting since boot. Always `sent == delivered + queued + dropped`.
    pub fn message_counts(&self) -> MessageCounts {
        MessageCounts {
            sent: self.counters.messages_sent,
            delivered: self.counters.messages_delivered,
            queued: self.counters.messages_queued,
            dropped: self.counters.messages_dropped,
        }
    }

    /// Recomputes every running total from scratch and compares it with the incremental one.
    /// O(n); for tests and debugging, never called by the kernel itself.
    pub fn audit(&self) -> Result<(), alloc::string::String> {
        use alloc::format;
        let mut total = 0u64;
        let mut live = 0usize;
        for p in self.processes.values() {
            if !p.state.is_zombie() {
                live += 1;
                total = total.saturating_add(p.accounted_memory());
            }
        }
        if total != self.counters.total_memory {
            return Err(format!(
                "total memory {} != recomputed {}",
                self.counters.total_memory, total
            ));
        }
        if live != self.counters.live_processes {
            return Err(format!(
                "live processes {} != recomputed {}",
                self.counters.live_processes, live
            ));
        }
        let queued: u64 = self.endpoints.values().map(|e| e.queue_len() as u64).sum();
        if queued != self.counters.messages_queued {
            return Err(format!(
                "queued {} != recomputed {}",
                self.counters.messages_queued, queued
            ));
        }
        let queued_bytes: u64 = self.endpoints.values().map(|e| e.queued_bytes()).sum();
        if queued_bytes != self.counters.queued_bytes || queued_bytes > MAX_QUEUED_BYTES {
            return Err(format!(
                "queued bytes {} != recomputed {} (limit {})",
                self.counters.queued_bytes, queued_bytes, MAX_QUEUED_BYTES
            ));
        }
        let c = self.message_counts();
        if c.sent != c.delivered + c.queued + c.dropped {
            return Err(format!(
                "sent {} != delivered {} + queued {} + dropped {}",
                c.sent, c.delivered, c.queued, c.dropped
            ));
        }
        for (id, ep) in &self.endpoints {
            if ep.queue_len() > self.config.queue_capacity {
                return Err(format!("endpoint {} queue over capacity", id.0));
            }
            if ep.queue_len() > 0 && ep.waiter_count() > 0 {
                return Err(format!(
                    "endpoint {} has both queued messages and waiters",
                    id.0
                ));
            }
        }
        if self.traffic.len() > self.config.traffic_log_capacity
            || self.cap_log.len() > self.config.cap_log_capacity
            || self.ended.len() > ENDED_LOG_CAPACITY
            || self.events.len() > self.config.event_capacity
        {
            return Err("a log is over its bound".into());
        }
        for (id, node) in &self.cap_nodes {
            let held = self
                .processes
                .get(&node.holder)
                .and_then(|p| p.caps.get(node.slot))
                .map(|c| c.id);
            if held != Some(*id) {
                return Err(format!("cap node {} not held where it says", id.0));
            }
        }
        Ok(())
    }
}

/// The error with a person-readable reason, produced only on refusal paths.
#[derive(Clone, Debug)]
pub(crate) struct Denied {
    pub code: ErrorCode,
    pub reason: alloc::string::String,
}

impl Denied {
    pub fn new(code: ErrorCode, reason: impl Into<alloc::string::String>) -> Self {
        Denied {
            code,
            reason: reason.into(),
        }
    }
}
