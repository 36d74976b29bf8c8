//! The JSON documents `window.supervisor` returns, built from the shared [`Supervisor`] alone so
//! they are correct between frames. Platform-independent (and tested natively); the browser adds
//! the web host's worker facts through [`WorkerFacts`].
//!
//! Documents that describe the system read the *viewed* kernel ([`Supervisor::viewed_kernel`]):
//! the live one, or the past one while the timeline's cursor is in the past. Host facts that are
//! not recorded (worker ids, the last serviced call) are `null` in the past, and the mailbox
//! light is derived from the kernel state at the cursor (blocked: `pending`, else `idle`).
use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::abi::Syscall;
use crate::kernel::{BlockReason, ExitReason, ProcessId, ProcessMetrics, ProcessState};
use crate::{MailboxStatus, Supervisor};

/// What only the host knows about a process's worker.
#[derive(Clone, Debug, Default)]
pub struct WorkerFacts {
    /// Milliseconds from `spawn` to the guest's first syscall, once it made one.
    pub spawn_to_first_syscall_ms: Option<f64>,
}

fn state_json(state: &ProcessState) -> Value {
    match state {
        ProcessState::Running => json!({ "state": "running" }),
        ProcessState::Blocked(BlockReason::Receive { endpoint }) => {
            json!({ "state": "blocked", "blocked_on": "receive", "endpoint": endpoint.0 })
        }
        ProcessState::Blocked(BlockReason::Sleep { until_ns }) => {
            json!({ "state": "blocked", "blocked_on": "sleep", "until_ns": until_ns })
        }
        ProcessState::Zombie(reason) => json!({ "state": "zombie", "exit": exit_json(reason) }),
    }
}

fn exit_json(reason: &ExitReason) -> Value {
    let kind = match reason {
        ExitReason::Exited { .. } => "exited",
        ExitReason::Trapped { .. } => "trapped",
        ExitReason::Killed { .. } => "killed",
        ExitReason::OutOfMemory => "out_of_memory",
    };
    json!({ "kind": kind, "text": reason.to_string() })
}

fn mailbox_name(status: Option<MailboxStatus>) -> &'static str {
    match status {
        None => "none",
        Some(MailboxStatus::Idle) => "idle",
        Some(MailboxStatus::Pending) => "pending",
        Some(MailboxStatus::Ready) => "ready",
    }
}

/// Every process in the kernel's table (Zombies included): pid, name, state, memory, worker id,
/// mailbox light, last syscall and all metrics.
pub fn process_list(supervisor: &Supervisor, workers: &BTreeMap<ProcessId, WorkerFacts>) -> Value {
    let live = supervisor.is_live();
    let list: Vec<Value> = supervisor
        .viewed_kernel()
        .processes()
        .values()
        .map(|p| {
            let m = &p.metrics;
            let mut entry = json!({
                "pid": p.pid.0,
                "name": p.name,
                "memory": m.memory_size,
                "allocated_bytes": p.allocated_bytes,
                "protected": p.protected,
                "worker_id": if live { supervisor.worker_id(p.pid) } else { None },
                "mailbox": if live {
                    mailbox_name(supervisor.mailbox_status(p.pid))
                } else if p.state.is_blocked() {
                    "pending"
                } else {
                    "idle"
                },
                "last_syscall": supervisor.last_serviced(p.pid).filter(|_| live).map(|c| json!({
                    "syscall": c.syscall,
                    "name": Syscall::from_raw(c.syscall).map_or("UNKNOWN", Syscall::name),
                    "result": c.result,
                    "at_ns": c.at_ns,
                })),
                "metrics": metrics_json(m),
                "spawn_to_first_syscall_ms": workers.get(&p.pid).and_then(|w| w.spawn_to_first_syscall_ms),
            });
            if let (Value::Object(entry), Value::Object(state)) = (&mut entry, state_json(&p.state)) {
                entry.extend(state);
            }
            entry
        })
        .collect();
    Value::Array(list)
}

/// Processes that left the table (killed), oldest first: pid, name, exit reason, final metrics
/// and when they ended. Kept by the kernel until the user clears the logs.
pub fn ended_processes(supervisor: &Supervisor) -> Value {
    let list: Vec<Value> = supervisor
        .viewed_kernel()
        .ended_processes()
        .iter()
        .map(|p| {
            let m = &p.metrics;
            json!({
                "pid": p.pid.0,
                "name": p.name,
                "exit": exit_json(&p.reason),
                "ended_at_ns": p.ended_at_ns,
                "metrics": metrics_json(m),
            })
        })
        .collect();
    Value::Array(list)
}

pub fn endpoint_list(supervisor: &Supervisor) -> Value {
    let kernel = supervisor.viewed_kernel();
    let list: Vec<Value> = kernel
        .endpoints()
        .iter()
        .map(|e| {
            json!({
                "id": e.id.0,
                "owner": e.owner.0,
                "owner_name": kernel.process(e.owner).map(|p| p.name.as_str()),
                "queue_len": e.queue_len,
                "queue_capacity": e.queue_capacity,
                "sent": e.sent,
                "delivered": e.delivered,
            })
        })
        .collect();
    Value::Array(list)
}

/// The newest `n` entries of the kernel's IPC traffic log, oldest first.
pub fn ipc_traffic(supervisor: &Supervisor, n: usize) -> Value {
    let log = supervisor.viewed_kernel().traffic_log();
    let list: Vec<Value> = log
        .iter()
        .skip(log.len().saturating_sub(n))
        .map(|t| {
            json!({
                "at_ns": t.at_ns,
                "from": t.from.0,
                "to": t.to.0,
                "endpoint": t.endpoint.0,
                "tag": t.tag,
                "bytes": t.bytes,
                "preview": String::from_utf8_lossy(&t.preview),
            })
        })
        .collect();
    Value::Array(list)
}

pub fn system_metrics(supervisor: &Supervisor) -> Value {
    let kernel = supervisor.viewed_kernel();
    let now_ns = if supervisor.is_live() {
        supervisor.now_ns()
    } else {
        kernel.now_ns()
    };
    let m = kernel.system_metrics(now_ns);
    let counts = kernel.message_counts();
    json!({
        "processes": m.processes,
        "total_memory": m.total_memory,
        "endpoints": m.endpoints,
        "ipc_messages": m.ipc_messages,
        "ipc_bytes": m.ipc_bytes,
        "syscalls": m.syscalls,
        "uptime_ns": m.uptime_ns,
        "messages_per_sec": m.messages_per_sec,
        "live_guests": supervisor.live_guests(),
        // The host's ceiling on guests running at once (null: none, as natively).
        "guest_ceiling": supervisor.guest_ceiling().map(|c| c.limit),
        "host": supervisor.host().name(),
        "time_control": supervisor.time_control().label(),
        // While running, at most this many syscalls a second (null: none; a software renderer's
        // share of the CPU, set by the app).
        "syscall_ceiling": supervisor.syscall_ceiling(),
        // sent = delivered + queued + dropped: no message is lost without being counted.
        "messages": {
            "sent": counts.sent,
            "delivered": counts.delivered,
            "queued": counts.queued,
            "dropped": counts.dropped,
        },
        "ended_processes": kernel.ended_processes().len(),
        "traffic_log_len": kernel.traffic_log().len(),
        "capability_log_len": kernel.capability_log().len(),
        "viewing": if supervisor.is_live() { "live" } else { "past" },
        // Kernel events lost because frames did not drain them in time (console output among them).
        "events_dropped": supervisor.kernel().events_dropped(),
        "events_pending": supervisor.kernel().events_pending(),
    })
}

/// The seed's eight process metrics, as both the live and the ended process lists show them.
fn metrics_json(m: &ProcessMetrics) -> Value {
    json!({
        "memory_size": m.memory_size,
        "ipc_sent": m.ipc_sent,
        "ipc_received": m.ipc_received,
        "ipc_bytes_sent": m.ipc_bytes_sent,
        "ipc_bytes_received": m.ipc_bytes_received,
        "syscall_count": m.syscall_count,
        "host_refusals": m.host_refusals,
        "last_active_ns": m.last_active_ns,
        "start_time_ns": m.start_time_ns,
    })
}

/// One process's console (`get_console_json(pid)`): what it wrote, what it was sent as console
/// input and notices about it, in order, also after it ended. `lines` is its output split into
/// lines (a last line without a newline included); `entries` keeps each write as it came.
pub fn console_of(supervisor: &Supervisor, pid: ProcessId) -> Value {
    use crate::ConsoleKind;
    let entries = supervisor.console_lines_of(pid);
    let output: String = entries
        .iter()
        .filter(|l| l.kind == ConsoleKind::Output)
        .map(|l| l.text.as_str())
        .collect();
    let mut lines: Vec<&str> = output.split('\n').collect();
    if lines.last() == Some(&"") {
        lines.pop();
    }
    let name = supervisor
        .kernel()
        .process(pid)
        .map(|p| p.name.clone())
        .or_else(|| {
            supervisor
                .kernel()
                .ended_processes()
                .iter()
                .rev()
                .find(|p| p.pid == pid)
                .map(|p| p.name.clone())
        });
    let kind = |k: &ConsoleKind| match k {
        ConsoleKind::Output => "output",
        ConsoleKind::Input => "input",
        ConsoleKind::Notice => "notice",
    };
    json!({
        "pid": pid.0,
        "name": name,
        "alive": supervisor.kernel().process(pid).is_some_and(|p| !p.state.is_zombie()),
        "reads_input": supervisor.has_console_input(pid),
        "lines": lines,
        "text": output,
        "entries": entries.iter().map(|l| json!({ "kind": kind(&l.kind), "text": l.text, "at_ns": l.at_ns })).collect::<Vec<_>>(),
        "dropped_bytes": supervisor.console_dropped_bytes_of(pid),
    })
}
