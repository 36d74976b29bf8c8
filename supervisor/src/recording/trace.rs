//! Replaying a span of the recording with the kernel's events: the sequence chart (one lifeline
//! per process, messages as arrows, blocked spans, denied requests) and the Chrome Trace Event
//! JSON export (Perfetto, `chrome://tracing`).

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write;

use serde::Serialize;

use crate::abi::Syscall;
use crate::kernel::{BlockReason, KernelEvent, ProcessState};
use crate::recording::input::{Decoder, Input, TimedInput, apply};
use crate::recording::recorder::Recording;
use crate::supervisor::Supervisor;

/// One process's column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Lifeline {
    pub pid: u32,
    pub name: String,
    /// The input that registered it, if inside the span.
    pub spawned_index: Option<u64>,
    /// The input that ended it (exit, trap, kill), if inside the span.
    pub ended_index: Option<u64>,
}

/// One message, from `SEND` (or `SEND_RECEIVE`, or console input from pid 0) to its delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChartMessage {
    /// Unique within the chart (the flow id in a trace).
    pub id: u64,
    pub from: u32,
    /// The receiver once delivered; before that, the endpoint's owner.
    pub to: u32,
    pub endpoint: u32,
    pub tag: u32,
    pub bytes: u32,
    /// `None` when it was sent before the span.
    pub sent_index: Option<u64>,
    pub sent_ns: Option<u64>,
    /// `None` while still queued at the end of the span (or dropped).
    pub delivered_index: Option<u64>,
    pub delivered_ns: Option<u64>,
}

/// A stretch a process spent Blocked (receive or sleep).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BlockedSpan {
    pub pid: u32,
    /// "receive" or "sleep".
    pub on: &'static str,
    pub endpoint: Option<u32>,
    pub from_index: u64,
    pub from_ns: u64,
    /// `None` while still blocked at the end of the span.
    pub to_index: Option<u64>,
    pub to_ns: Option<u64>,
}

/// A refused request (a red mark on the lifeline).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChartDenied {
    pub pid: u32,
    pub index: u64,
    pub at_ns: u64,
    pub syscall: u32,
    pub syscall_name: &'static str,
    pub error: &'static str,
    pub reason: String,
}

/// Everything a sequence chart of inputs `from..to` draws.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SequenceChart {
    pub from: u64,
    pub to: u64,
    pub lifelines: Vec<Lifeline>,
    pub messages: Vec<ChartMessage>,
    pub blocked: Vec<BlockedSpan>,
    pub denied: Vec<ChartDenied>,
    /// More messages happened in the span asked for than `max_messages`: the chart keeps the
    /// latest (those nearest `to`, where the timeline's cursor stands) and `from` is moved up to
    /// the first one kept.
    pub truncated: bool,
}

/// Replays `from..to` from the nearest snapshot, calling `visit` after each input with the
/// kernel's events for it and the kernel time after it. Returns the processes at `from`.
fn walk(
    rec: &Recording,
    from: u64,
    to: u64,
    mut visit: impl FnMut(u64, &TimedInput<'_>, &[KernelEvent], u64) -> bool,
) -> Vec<(u32, String, Option<BlockedSpan>)> {
    let from = from.clamp(rec.first(), rec.end());
    let to = to.clamp(from, rec.end());
    let Some(start) = rec.chunk_for(from) else {
        return Vec::new();
    };
    let Some(chunk) = rec.chunks.get(start) else {
        return Vec::new();
    };
    let mut kernel = chunk.snapshot.snapshot();
    let mut index = chunk.first;
    let mut at_from = Vec::new();
    let mut snapshot_taken = false;
    for chunk in rec.chunks.iter().skip(start) {
        let mut d = Decoder::new(&chunk.bytes, chunk.prev_ns);
        while index < to {
            if index == from && !snapshot_taken {
                at_from = processes_at(&kernel, from);
                snapshot_taken = true;
            }
            let Ok(Some(timed)) = d.next_input() else {
                break;
            };
            apply(&mut kernel, &timed);
            let events = kernel.drain_events();
            if index >= from && !visit(index, &timed, &events, kernel.now_ns()) {
                return at_from;
            }
            index += 1;
        }
        if index >= to {
            break;
        }
    }
    if !snapshot_taken {
        at_from = processes_at(&kernel, from);
    }
    at_from
}

fn processes_at(
    kernel: &crate::kernel::Kernel,
    index: u64,
) -> Vec<(u32, String, Option<BlockedSpan>)> {
    kernel
        .processes()
        .values()
        .map(|p| {
            let blocked = match &p.state {
                ProcessState::Blocked(reason) => {
                    Some(blocked_span(p.pid.0, reason, index, kernel.now_ns()))
                }
                _ => None,
            };
            (p.pid.0, p.name.clone(), blocked)
        })
        .collect()
}

fn blocked_span(pid: u32, reason: &BlockReason, index: u64, at_ns: u64) -> BlockedSpan {
    let (on, endpoint) = match reason {
        BlockReason::Receive { endpoint } => ("receive", Some(endpoint.0)),
        BlockReason::Sleep { .. } => ("sleep", None),
    };
    BlockedSpan {
        pid,
        on,
        endpoint,
        from_index: index,
        from_ns: at_ns,
        to_index: None,
        to_ns: None,
    }
}

fn syscall_name(number: u32) -> &'static str {
    Syscall::from_raw(number).map_or_else(
        || crate::abi::host_import::name(number).unwrap_or("UNKNOWN"),
        Syscall::name,
    )
}

/// Keeps the last `max` of `chart`'s messages (in the order of their first event) and moves the
/// chart's start up to the first of them: what happened before it (blocked spans that ended,
/// denied requests, processes that ended) goes too.
fn keep_latest_messages(chart: &mut SequenceChart, max: usize) {
    let Some(first_kept) = chart.messages.len().checked_sub(max).filter(|n| *n > 0) else {
        return;
    };
    let first = &chart.messages[first_kept];
    let Some(cut) = first.sent_index.or(first.delivered_index) else {
        return;
    };
    chart.messages.drain(..first_kept);
    chart.from = cut;
    chart.truncated = true;
    chart
        .blocked
        .retain(|b| b.to_index.is_none_or(|i| i >= cut));
    chart.denied.retain(|d| d.index >= cut);
    chart
        .lifelines
        .retain(|l| l.ended_index.is_none_or(|i| i >= cut));
}

impl Supervisor {
    /// The sequence chart of inputs `from..to` (clamped to the recording), at most
    /// `max_messages` messages: when the span holds more, the latest, and the chart starts at
    /// the first of them ([`SequenceChart::truncated`]). Costs a seek to `from` plus a replay of
    /// the span.
    pub fn sequence_chart(&self, from: u64, to: u64, max_messages: usize) -> SequenceChart {
        let rec = self.kernel.recording();
        let mut chart = SequenceChart {
            from: from.clamp(rec.first(), rec.end()),
            ..SequenceChart::default()
        };
        chart.to = to.clamp(chart.from, rec.end());
        let mut lifelines: BTreeMap<u32, Lifeline> = BTreeMap::new();
        let mut open_blocks: BTreeMap<u32, BlockedSpan> = BTreeMap::new();
        // Messages waiting in each endpoint's queue, oldest first (queues are FIFO).
        let mut queued: BTreeMap<u32, VecDeque<usize>> = BTreeMap::new();
        let mut next_id = 0u64;
        let mut messages: Vec<ChartMessage> = Vec::new();
        let mut blocked = Vec::new();
        let mut denied = Vec::new();
        let at_from = walk(rec, chart.from, chart.to, |index, _timed, events, _now| {
            for event in events {
                match event {
                    KernelEvent::ProcessSpawned { pid, name, .. } => {
                        lifelines.insert(
                            pid.0,
                            Lifeline {
                                pid: pid.0,
                                name: name.clone(),
                                spawned_index: Some(index),
                                ended_index: None,
                            },
                        );
                    }
                    KernelEvent::ProcessExited { pid, at_ns, .. }
                    | KernelEvent::ProcessKilled { pid, at_ns, .. } => {
                        if let Some(l) = lifelines.get_mut(&pid.0) {
                            l.ended_index.get_or_insert(index);
                        }
                        if let Some(mut span) = open_blocks.remove(&pid.0) {
                            span.to_index = Some(index);
                            span.to_ns = Some(*at_ns);
                            blocked.push(span);
                        }
                    }
                    KernelEvent::ProcessStateChanged { pid, state, at_ns } => match state {
                        ProcessState::Blocked(reason) => {
                            open_blocks.insert(pid.0, blocked_span(pid.0, reason, index, *at_ns));
                        }
                        _ => {
                            if let Some(mut span) = open_blocks.remove(&pid.0) {
                                span.to_index = Some(index);
                                span.to_ns = Some(*at_ns);
                                blocked.push(span);
                            }
                        }
                    },
                    KernelEvent::MessageSent {
                        from,
                        to,
                        endpoint,
                        tag,
                        bytes,
                        at_ns,
                    } => {
                        queued
                            .entry(endpoint.0)
                            .or_default()
                            .push_back(messages.len());
                        messages.push(ChartMessage {
                            id: next_id,
                            from: from.0,
                            to: to.0,
                            endpoint: endpoint.0,
                            tag: *tag,
                            bytes: *bytes,
                            sent_index: Some(index),
                            sent_ns: Some(*at_ns),
                            delivered_index: None,
                            delivered_ns: None,
                        });
                        next_id += 1;
                    }
                    KernelEvent::MessageDelivered {
                        from,
                        to,
                        endpoint,
                        tag,
                        bytes,
                        at_ns,
                    } => {
                        let slot = queued.get_mut(&endpoint.0).and_then(VecDeque::pop_front);
                        match slot.and_then(|i| messages.get_mut(i)) {
                            Some(m) => {
                                m.to = to.0;
                                m.delivered_index = Some(index);
                                m.delivered_ns = Some(*at_ns);
                            }
                            None => {
                                // Sent before the span.
                                messages.push(ChartMessage {
                                    id: next_id,
                                    from: from.0,
                                    to: to.0,
                                    endpoint: endpoint.0,
                                    tag: *tag,
                                    bytes: *bytes,
                                    sent_index: None,
                                    sent_ns: None,
                                    delivered_index: Some(index),
                                    delivered_ns: Some(*at_ns),
                                });
                                next_id += 1;
                            }
                        }
                    }
                    KernelEvent::EndpointDeleted { endpoint, .. } => {
                        queued.remove(&endpoint.0);
                    }
                    KernelEvent::RequestDenied {
                        pid,
                        syscall,
                        error,
                        reason,
                        at_ns,
                    } => denied.push(ChartDenied {
                        pid: pid.0,
                        index,
                        at_ns: *at_ns,
                        syscall: *syscall,
                        syscall_name: syscall_name(*syscall),
                        error: error.name(),
                        reason: reason.clone(),
                    }),
                    _ => {}
                }
            }
            true
        });
        for (pid, name, block) in at_from {
            lifelines.entry(pid).or_insert(Lifeline {
                pid,
                name,
                spawned_index: None,
                ended_index: None,
            });
            if let Some(span) = block {
                open_blocks.entry(pid).or_insert(span);
            }
        }
        blocked.extend(open_blocks.into_values());
        blocked.sort_by_key(|b| (b.from_index, b.pid));
        chart.lifelines = lifelines.into_values().collect();
        chart.messages = messages;
        chart.blocked = blocked;
        chart.denied = denied;
        keep_latest_messages(&mut chart, max_messages);
        chart
    }

    /// The whole recording as Chrome Trace Event JSON: one track per process (`ph: "M"` names),
    /// each syscall a `ph: "X"` slice from dispatch to completion (blocked calls span their
    /// wait; at least 0.1 µs so every slice can hold its flow ends), each message a flow from a
    /// `ph: "s"` at its send to a `ph: "f"` at its delivery sharing an `id`; times in
    /// microseconds of kernel time. Opens in Perfetto (ui.perfetto.dev) and `chrome://tracing`.
    pub fn export_trace_json(&self) -> String {
        let rec = self.kernel.recording();
        self.trace_json(rec.first(), rec.end())
    }

    /// [`Supervisor::export_trace_json`] for inputs `from..to` only.
    pub fn trace_json(&self, from: u64, to: u64) -> String {
        let rec = self.kernel.recording();
        let us = |ns: u64| ns as f64 / 1000.0;
        const MIN_DUR_US: f64 = 0.1;
        let mut out = String::from("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n");
        let mut names: BTreeMap<u32, String> = BTreeMap::new();
        names.insert(0, "kernel".into());
        // Open syscalls per pid: (start ns, number, args).
        let mut open: BTreeMap<u32, (u64, u32, [u32; 3])> = BTreeMap::new();
        let mut queued: BTreeMap<u32, VecDeque<u64>> = BTreeMap::new();
        let mut next_flow = 1u64;
        let mut body = String::new();
        let close = |body: &mut String,
                     pid: u32,
                     start: u64,
                     number: u32,
                     args: [u32; 3],
                     end: u64,
                     result: Option<i32>| {
            let dur = (us(end) - us(start)).max(MIN_DUR_US);
            let result = result.map_or("null".to_string(), |r| r.to_string());
            writeln!(
                body,
                "{{\"ph\":\"X\",\"cat\":\"syscall\",\"name\":\"{}\",\"pid\":{pid},\"tid\":{pid},\"ts\":{:.3},\"dur\":{dur:.3},\"args\":{{\"args\":[{},{},{}],\"result\":{result}}}}},",
                syscall_name(number),
                us(start),
                args[0],
                args[1],
                args[2]
            )
            .ok();
        };
        let at_from = walk(rec, from, to, |_index, timed, events, now_ns| {
            match &timed.input {
                Input::Syscall {
                    pid, number, args, ..
                } => {
                    open.insert(pid.0, (now_ns, *number, *args));
                }
                Input::SendFromKernel { .. } => {
                    writeln!(
                        body,
                        "{{\"ph\":\"X\",\"cat\":\"console\",\"name\":\"console input\",\"pid\":0,\"tid\":0,\"ts\":{:.3},\"dur\":{MIN_DUR_US}}},",
                        us(now_ns)
                    )
                    .ok();
                }
                _ => {}
            }
            for event in events {
                match event {
                    KernelEvent::ProcessSpawned { pid, name, .. } => {
                        names.insert(pid.0, name.clone());
                    }
                    KernelEvent::SyscallServiced {
                        pid, result, at_ns, ..
                    } => {
                        if let Some((start, number, args)) = open.remove(&pid.0) {
                            close(&mut body, pid.0, start, number, args, *at_ns, Some(*result));
                        }
                    }
                    KernelEvent::ProcessExited { pid, at_ns, .. }
                    | KernelEvent::ProcessKilled { pid, at_ns, .. } => {
                        if let Some((start, number, args)) = open.remove(&pid.0) {
                            close(&mut body, pid.0, start, number, args, *at_ns, None);
                        }
                    }
                    KernelEvent::MessageSent {
                        from,
                        endpoint,
                        tag,
                        bytes,
                        at_ns,
                        ..
                    } => {
                        let id = next_flow;
                        next_flow += 1;
                        queued.entry(endpoint.0).or_default().push_back(id);
                        writeln!(
                            body,
                            "{{\"ph\":\"s\",\"cat\":\"ipc\",\"name\":\"message\",\"id\":{id},\"pid\":{p},\"tid\":{p},\"ts\":{:.3},\"args\":{{\"endpoint\":{},\"tag\":{tag},\"bytes\":{bytes}}}}},",
                            us(*at_ns),
                            endpoint.0,
                            p = from.0
                        )
                        .ok();
                    }
                    KernelEvent::MessageDelivered {
                        to,
                        endpoint,
                        at_ns,
                        ..
                    } => {
                        if let Some(id) = queued.get_mut(&endpoint.0).and_then(VecDeque::pop_front)
                        {
                            writeln!(
                                body,
                                "{{\"ph\":\"f\",\"bp\":\"e\",\"cat\":\"ipc\",\"name\":\"message\",\"id\":{id},\"pid\":{p},\"tid\":{p},\"ts\":{:.3}}},",
                                us(*at_ns),
                                p = to.0
                            )
                            .ok();
                        }
                    }
                    KernelEvent::EndpointDeleted { endpoint, .. } => {
                        queued.remove(&endpoint.0);
                    }
                    _ => {}
                }
            }
            true
        });
        for (pid, name, _) in at_from {
            names.entry(pid).or_insert(name);
        }
        for (pid, name) in &names {
            let label =
                serde_json::to_string(&format!("{pid} {name}")).unwrap_or_else(|_| "\"?\"".into());
            writeln!(
                out,
                "{{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":{pid},\"tid\":{pid},\"args\":{{\"name\":{label}}}}},\n{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":{pid},\"tid\":{pid},\"args\":{{\"name\":{label}}}}},"
            )
            .ok();
        }
        out.push_str(&body);
        // Blocked calls still open at the end: slices up to the last kernel time.
        let end_ns = self.kernel.now_ns();
        let mut tail = String::new();
        for (pid, (start, number, args)) in open {
            close(&mut tail, pid, start, number, args, end_ns.max(start), None);
        }
        out.push_str(&tail);
        // No trailing comma in JSON: close with a metadata event.
        out.push_str("{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":0,\"tid\":0,\"args\":{\"name\":\"0 kernel\"}}\n]}\n");
        out
    }
}
