//! The kernel's public data types: what the supervisor, the app and tests see.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};

use crate::abi;
use crate::caps::CapSpace;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ProcessId(pub u32);

impl ProcessId {
    /// The kernel itself: the sender of console input.
    pub const KERNEL: ProcessId = ProcessId(0);
}

impl fmt::Display for ProcessId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EndpointId(pub u32);

impl fmt::Display for EndpointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Identity of one capability in the derivation tree (never reused).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CapId(pub u64);

#[derive(Clone, Debug, PartialEq, Hash, Serialize, Deserialize)]
pub enum ProcessState {
    Running,
    Blocked(BlockReason),
    Zombie(ExitReason),
}

impl ProcessState {
    pub fn is_zombie(&self) -> bool {
        matches!(self, ProcessState::Zombie(_))
    }

    pub fn is_blocked(&self) -> bool {
        matches!(self, ProcessState::Blocked(_))
    }

    /// `abi::state::RUNNING`, `BLOCKED` or `ZOMBIE`.
    pub fn code(&self) -> u32 {
        match self {
            ProcessState::Running => abi::state::RUNNING,
            ProcessState::Blocked(_) => abi::state::BLOCKED,
            ProcessState::Zombie(_) => abi::state::ZOMBIE,
        }
    }

    /// Lower-case name as printed by `PS`.
    pub fn name(&self) -> &'static str {
        match self {
            ProcessState::Running => "running",
            ProcessState::Blocked(_) => "blocked",
            ProcessState::Zombie(_) => "zombie",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BlockReason {
    Receive { endpoint: EndpointId },
    Sleep { until_ns: u64 },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExitReason {
    Exited { code: i32 },
    Trapped { message: String },
    Killed { by: Option<ProcessId> },
    OutOfMemory,
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitReason::Exited { code } => write!(f, "exited with code {code}"),
            ExitReason::Trapped { message } => write!(f, "trapped: {message}"),
            ExitReason::Killed { by: Some(by) } => write!(f, "killed by pid {by}"),
            ExitReason::Killed { by: None } => write!(f, "killed"),
            ExitReason::OutOfMemory => write!(f, "out of memory"),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProcessMetrics {
    /// Guest linear memory as last reported by the host (`report_memory`).
    pub memory_size: usize,
    pub ipc_sent: u64,
    pub ipc_received: u64,
    pub ipc_bytes_sent: u64,
    pub ipc_bytes_received: u64,
    pub syscall_count: u64,
    pub last_active_ns: u64,
    pub start_time_ns: u64,
    /// Requests the guest's host refused before any syscall (bad pointers or lengths given to
    /// `orbital_send_bytes` / `orbital_recv_bytes`), as reported by `record_host_refusal`.
    pub host_refusals: u64,
}

#[derive(Clone, Debug, Hash, Serialize, Deserialize)]
pub struct Process {
    pub pid: ProcessId,
    pub name: String,
    pub state: ProcessState,
    pub metrics: ProcessMetrics,
    /// Protected processes (init, terminal) cannot be killed by the `KILL` syscall.
    pub protected: bool,
    /// Bytes reserved through `MEM_ALLOC` minus `MEM_FREE`.
    pub allocated_bytes: u64,
    pub(crate) caps: CapSpace,
    pub(crate) endpoints: Vec<EndpointId>,
    /// The syscall number the process is Blocked in (`RECEIVE`, `SEND_RECEIVE`, `SLEEP`), for
    /// the `SyscallServiced` event when it completes.
    pub(crate) blocked_call: u32,
}

impl Process {
    /// Endpoints this process owns.
    pub fn endpoint_ids(&self) -> &[EndpointId] {
        &self.endpoints
    }

    /// The memory the kernel charges this process with: the larger of its reported linear
    /// memory and what it reserved with `MEM_ALLOC`.
    pub fn accounted_memory(&self) -> u64 {
        (self.metrics.memory_size as u64).max(self.allocated_bytes)
    }
}

/// What a capability points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ObjectRef {
    Endpoint(EndpointId),
    Process(ProcessId),
    Console,
    /// The right to spawn and kill processes.
    ProcessTable,
}

impl ObjectRef {
    /// `abi::object_kind::*`.
    pub fn kind(&self) -> u32 {
        match self {
            ObjectRef::Endpoint(_) => abi::object_kind::ENDPOINT,
            ObjectRef::Process(_) => abi::object_kind::PROCESS,
            ObjectRef::Console => abi::object_kind::CONSOLE,
            ObjectRef::ProcessTable => abi::object_kind::PROCESS_TABLE,
        }
    }

    /// The object's number within its kind (0 for the console and the process table).
    pub fn id(&self) -> u32 {
        match self {
            ObjectRef::Endpoint(e) => e.0,
            ObjectRef::Process(p) => p.0,
            ObjectRef::Console | ObjectRef::ProcessTable => 0,
        }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectRef::Endpoint(e) => write!(f, "endpoint {e}"),
            ObjectRef::Process(p) => write!(f, "process {p}"),
            ObjectRef::Console => write!(f, "console"),
            ObjectRef::ProcessTable => write!(f, "process table"),
        }
    }
}

/// Rights as `RWG` letters with `-` for a missing right (`R--`, `-W-`, `RWG`).
pub fn rights_label(rights: u32) -> &'static str {
    const LABELS: [&str; 8] = ["---", "R--", "-W-", "RW-", "--G", "R-G", "-WG", "RWG"];
    LABELS
        .get((rights & abi::rights::ALL) as usize)
        .copied()
        .unwrap_or("---")
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapabilityInfo {
    pub slot: u32,
    pub object: ObjectRef,
    pub rights: u32,
    /// How many times this slot has been filled; a reused slot has a new generation.
    pub generation: u32,
    /// Revoked, or its object no longer exists: using it gives `STALE_CAPABILITY`.
    pub stale: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointInfo {
    pub id: EndpointId,
    pub owner: ProcessId,
    pub queue_len: usize,
    pub queue_capacity: usize,
    pub sent: u64,
    pub delivered: u64,
}

/// Bytes of payload kept in a traffic log entry for the inspector.
pub const TRAFFIC_PREVIEW_BYTES: usize = 32;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TrafficEntry {
    pub at_ns: u64,
    pub from: ProcessId,
    /// The endpoint's owner at send time (the natural receiver).
    pub to: ProcessId,
    pub endpoint: EndpointId,
    pub tag: u32,
    pub bytes: u32,
    /// The first `TRAFFIC_PREVIEW_BYTES` (or fewer) payload bytes.
    pub preview: Preview,
}

/// Up to [`TRAFFIC_PREVIEW_BYTES`] bytes held inline, so a traffic entry is plain data: cloning
/// the traffic log (every recording snapshot does) copies it without one allocation per entry.
/// Reads as a `[u8]`; hashes and serialises exactly as the `Vec<u8>` it replaces, so state hashes
/// and recording files are unchanged.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Preview {
    len: u8,
    bytes: [u8; TRAFFIC_PREVIEW_BYTES],
}

impl Preview {
    /// The first [`TRAFFIC_PREVIEW_BYTES`] of `data` (all of it if shorter).
    pub fn of(data: &[u8]) -> Preview {
        let kept = data.get(..TRAFFIC_PREVIEW_BYTES).unwrap_or(data);
        let mut bytes = [0; TRAFFIC_PREVIEW_BYTES];
        bytes[..kept.len()].copy_from_slice(kept);
        Preview {
            len: kept.len() as u8,
            bytes,
        }
    }
}

impl core::ops::Deref for Preview {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl fmt::Debug for Preview {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl core::hash::Hash for Preview {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        // As `Vec<u8>` hashes: the slice (length, then bytes).
        (**self).hash(state)
    }
}

impl Serialize for Preview {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // As `Vec<u8>` serialises: a sequence of bytes.
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Preview {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Preview, D::Error> {
        let bytes = Vec::<u8>::deserialize(deserializer)?;
        if bytes.len() > TRAFFIC_PREVIEW_BYTES {
            return Err(serde::de::Error::invalid_length(
                bytes.len(),
                &"at most TRAFFIC_PREVIEW_BYTES bytes",
            ));
        }
        Ok(Preview::of(&bytes))
    }
}

/// Killed processes kept in [`Kernel::ended_processes`](crate::Kernel::ended_processes).
pub const ENDED_LOG_CAPACITY: usize = 256;

/// A process that left the table by a kill, as it was at the end.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EndedProcess {
    pub pid: ProcessId,
    pub name: String,
    pub reason: ExitReason,
    pub metrics: ProcessMetrics,
    pub ended_at_ns: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CapLogEntry {
    pub at_ns: u64,
    /// The process whose slot changed (for grant and transfer: the receiving process).
    pub pid: ProcessId,
    pub slot: u32,
    pub action: CapAction,
    pub object: ObjectRef,
    pub rights: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CapAction {
    Create,
    Grant { to: ProcessId },
    Derive,
    Revoke,
    Delete,
    Transfer { to: ProcessId },
}

#[derive(Clone, Debug, PartialEq)]
pub struct SystemMetrics {
    /// Live (non-zombie) processes.
    pub processes: usize,
    /// Sum of every live process's accounted memory in bytes.
    pub total_memory: u64,
    pub endpoints: usize,
    /// Messages sent since boot (including console input from the kernel).
    pub ipc_messages: u64,
    pub ipc_bytes: u64,
    pub syscalls: u64,
    /// Kernel time: the `now_ns` passed in (nanoseconds since boot).
    pub uptime_ns: u64,
    /// Messages sent during the last second of kernel time, counted in ten 100 ms buckets
    /// (the current, partly elapsed bucket included).
    pub messages_per_sec: f64,
}

/// Message accounting since boot: `sent == delivered + queued + dropped` always holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct MessageCounts {
    pub sent: u64,
    pub delivered: u64,
    pub queued: u64,
    /// Queued messages thrown away because their endpoint was deleted or its owner died.
    pub dropped: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KernelConfig {
    pub queue_capacity: usize,
    pub traffic_log_capacity: usize,
    pub cap_log_capacity: usize,
    pub event_capacity: usize,
    pub memory_limit_bytes: u64,
    /// Process table entries, zombies included.
    pub max_processes: usize,
    pub max_endpoints: usize,
}

impl Default for KernelConfig {
    fn default() -> Self {
        KernelConfig {
            queue_capacity: 64,
            traffic_log_capacity: 1024,
            cap_log_capacity: 1024,
            event_capacity: 65_536,
            memory_limit_bytes: abi::memory::LIMIT_BYTES,
            max_processes: 1024,
            max_endpoints: 4096,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyscallArgs {
    pub number: u32,
    pub args: [u32; 3],
}

impl SyscallArgs {
    pub fn new(number: u32, args: [u32; 3]) -> Self {
        SyscallArgs { number, args }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Reply {
    pub result: i32,
    pub data: Vec<u8>,
}

impl Reply {
    pub fn ok(result: i32) -> Self {
        Reply {
            result,
            data: Vec::new(),
        }
    }

    pub fn error(code: abi::ErrorCode) -> Self {
        Reply {
            result: code.to_result(),
            data: Vec::new(),
        }
    }

    /// The error code, if the result is one.
    pub fn error_code(&self) -> Option<abi::ErrorCode> {
        abi::ErrorCode::from_result(self.result)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum Dispatch {
    /// Write RESULT and DATA, set READY.
    Complete(Reply),
    /// The process is Blocked; a later `Effect::Complete` finishes the call.
    Pending,
    /// EXIT (or a KILL of itself): no reply; the process is a Zombie or gone; stop the guest.
    Exited,
    /// SPAWN passed the capability check; the supervisor spawns and replies itself.
    Spawn { program: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Finish a call that returned `Dispatch::Pending`.
    Complete { pid: ProcessId, reply: Reply },
    /// Stop this guest (it was killed or exited). Idempotent for the host.
    StopGuest { pid: ProcessId },
}

#[derive(Clone, Debug, PartialEq)]
pub enum KernelEvent {
    ProcessSpawned {
        pid: ProcessId,
        name: String,
        at_ns: u64,
    },
    /// Running <-> Blocked transitions.
    ProcessStateChanged {
        pid: ProcessId,
        state: ProcessState,
        at_ns: u64,
    },
    /// The process became a Zombie.
    ProcessExited {
        pid: ProcessId,
        reason: ExitReason,
        at_ns: u64,
    },
    /// The process was removed from the table.
    ProcessKilled {
        pid: ProcessId,
        by: Option<ProcessId>,
        at_ns: u64,
    },
    ProcessReaped {
        pid: ProcessId,
        at_ns: u64,
    },
    /// `to` is the endpoint's owner.
    MessageSent {
        from: ProcessId,
        to: ProcessId,
        endpoint: EndpointId,
        tag: u32,
        bytes: u32,
        at_ns: u64,
    },
    /// `to` is the process that received it.
    MessageDelivered {
        from: ProcessId,
        to: ProcessId,
        endpoint: EndpointId,
        tag: u32,
        bytes: u32,
        at_ns: u64,
    },
    RequestDenied {
        pid: ProcessId,
        syscall: u32,
        error: abi::ErrorCode,
        reason: String,
        at_ns: u64,
    },
    CapabilityChanged {
        pid: ProcessId,
        slot: u32,
        action: CapAction,
        at_ns: u64,
    },
    /// `bytes` is the process's accounted memory after the change.
    MemoryChanged {
        pid: ProcessId,
        bytes: u64,
        at_ns: u64,
    },
    EndpointCreated {
        endpoint: EndpointId,
        owner: ProcessId,
        at_ns: u64,
    },
    EndpointDeleted {
        endpoint: EndpointId,
        owner: ProcessId,
        at_ns: u64,
    },
    ConsoleOutput {
        pid: ProcessId,
        text: String,
        at_ns: u64,
    },
    /// A syscall's result became known (at dispatch, or when a blocked call completes).
    SyscallServiced {
        pid: ProcessId,
        syscall: u32,
        result: i32,
        at_ns: u64,
    },
}

impl KernelEvent {
    pub fn at_ns(&self) -> u64 {
        match self {
            KernelEvent::ProcessSpawned { at_ns, .. }
            | KernelEvent::ProcessStateChanged { at_ns, .. }
            | KernelEvent::ProcessExited { at_ns, .. }
            | KernelEvent::ProcessKilled { at_ns, .. }
            | KernelEvent::ProcessReaped { at_ns, .. }
            | KernelEvent::MessageSent { at_ns, .. }
            | KernelEvent::MessageDelivered { at_ns, .. }
            | KernelEvent::RequestDenied { at_ns, .. }
            | KernelEvent::CapabilityChanged { at_ns, .. }
            | KernelEvent::MemoryChanged { at_ns, .. }
            | KernelEvent::EndpointCreated { at_ns, .. }
            | KernelEvent::EndpointDeleted { at_ns, .. }
            | KernelEvent::ConsoleOutput { at_ns, .. }
            | KernelEvent::SyscallServiced { at_ns, .. } => *at_ns,
        }
    }
}
