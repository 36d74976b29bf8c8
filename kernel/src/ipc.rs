//! Endpoints and message passing: bounded FIFO queues, blocked receivers, delivery.

use alloc::collections::VecDeque;
use alloc::format;
use alloc::vec::Vec;

use crate::abi::{self, ErrorCode, Rights, mailbox};
use crate::caps::InFlightCap;
use crate::{
    BlockReason, CapAction, Denied, Dispatch, EndpointId, EndpointInfo, Kernel, KernelEvent,
    ObjectRef, Preview, ProcessId, ProcessState, Reply, TrafficEntry,
};
use serde::{Deserialize, Serialize};

/// Bytes all queues together may hold (headers included): each queue is bounded by its
/// message count, and this bounds the sum, so a guest that fills many endpoints with
/// 4 KiB messages gets `QUEUE_FULL` instead of exhausting the app's memory.
pub const MAX_QUEUED_BYTES: u64 = 16 * 1024 * 1024;

/// A queued message. `buf` is already laid out as the RECEIVE reply data (12-byte header, then
/// the payload), so delivery hands it over without copying.
#[derive(Clone, Debug, Hash, Serialize, Deserialize)]
pub(crate) struct Message {
    buf: Vec<u8>,
    transfer: Option<InFlightCap>,
}

impl Message {
    fn from(&self) -> ProcessId {
        ProcessId(read_u32(&self.buf, 0))
    }

    fn tag(&self) -> u32 {
        read_u32(&self.buf, 4)
    }

    fn payload_len(&self) -> usize {
        self.buf.len().saturating_sub(mailbox::RECV_HEADER_BYTES)
    }
}

fn read_u32(buf: &[u8], at: usize) -> u32 {
    match buf.get(at..at + 4) {
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
        _ => 0,
    }
}

#[derive(Clone, Debug, Hash, Serialize, Deserialize)]
pub(crate) struct Endpoint {
    pub owner: ProcessId,
    queue: VecDeque<Message>,
    /// Processes blocked in RECEIVE here, first come first served. Never non-empty while the
    /// queue is non-empty.
    waiters: VecDeque<ProcessId>,
    sent: u64,
    delivered: u64,
}

impl Endpoint {
    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    pub fn queued_bytes(&self) -> u64 {
        self.queue.iter().map(|m| m.buf.len() as u64).sum()
    }

    pub fn waiter_count(&self) -> usize {
        self.waiters.len()
    }
}

impl Kernel {
    /// A new endpoint owned by `owner`, with an all-rights capability in its lowest free slot.
    pub fn create_endpoint(
        &mut self,
        owner: ProcessId,
        now_ns: u64,
    ) -> Result<(EndpointId, u32), ErrorCode> {
        let now_ns = self.observe_time(now_ns);
        self.create_endpoint_inner(owner, now_ns)
            .map_err(|d| d.code)
    }

    pub(crate) fn create_endpoint_inner(
        &mut self,
        owner: ProcessId,
        now_ns: u64,
    ) -> Result<(EndpointId, u32), Denied> {
        match self.processes.get(&owner) {
            Some(p) if !p.state.is_zombie() => {
                if p.caps.free_slot().is_none() {
                    return Err(Denied::new(
                        ErrorCode::CapSpaceFull,
                        format!("pid {owner} has no free capability slot"),
                    ));
                }
            }
            _ => {
                return Err(Denied::new(
                    ErrorCode::NoSuchProcess,
                    format!("pid {owner} is not a live process"),
                ));
            }
        }
        if self.endpoints.len() >= self.config.max_endpoints {
            return Err(Denied::new(
                ErrorCode::TooManyEndpoints,
                format!(
                    "the system has {} endpoints, its limit",
                    self.endpoints.len()
                ),
            ));
        }
        let id = EndpointId(self.next_endpoint);
        self.next_endpoint = self.next_endpoint.saturating_add(1);
        self.endpoints.insert(
            id,
            Endpoint {
                owner,
                queue: VecDeque::new(),
                waiters: VecDeque::new(),
                sent: 0,
                delivered: 0,
            },
        );
        if let Some(p) = self.processes.get_mut(&owner) {
            p.endpoints.push(id);
        }
        self.emit(KernelEvent::EndpointCreated {
            endpoint: id,
            owner,
            at_ns: now_ns,
        });
        match self.new_cap(
            owner,
            None,
            ObjectRef::Endpoint(id),
            Rights::ALL,
            None,
            CapAction::Create,
            now_ns,
        ) {
            Ok(slot) => Ok((id, slot)),
            Err(d) => {
                // Unreachable in practice (a free slot was checked above); undo cleanly anyway.
                self.destroy_endpoint(id, now_ns);
                Err(d)
            }
        }
    }

    /// Removes an endpoint: queued messages are dropped (and counted), blocked receivers are
    /// woken with `PEER_GONE`; capabilities to it become stale.
    pub(crate) fn destroy_endpoint(&mut self, id: EndpointId, now_ns: u64) {
        let Some(ep) = self.endpoints.remove(&id) else {
            return;
        };
        let dropped = ep.queue.len() as u64;
        let dropped_bytes: u64 = ep.queue.iter().map(|m| m.buf.len() as u64).sum();
        self.counters.messages_queued = self.counters.messages_queued.saturating_sub(dropped);
        self.counters.queued_bytes = self.counters.queued_bytes.saturating_sub(dropped_bytes);
        self.counters.messages_dropped = self.counters.messages_dropped.saturating_add(dropped);
        if let Some(p) = self.processes.get_mut(&ep.owner) {
            p.endpoints.retain(|e| *e != id);
        }
        for waiter in ep.waiters {
            self.complete_blocked(waiter, Reply::error(ErrorCode::PeerGone), now_ns);
        }
        self.emit(KernelEvent::EndpointDeleted {
            endpoint: id,
            owner: ep.owner,
            at_ns: now_ns,
        });
    }

    /// Queues a message on `endpoint`, or hands it straight to the first blocked receiver.
    pub(crate) fn post(
        &mut self,
        from: ProcessId,
        endpoint: EndpointId,
        tag: u32,
        data: &[u8],
        transfer: Option<InFlightCap>,
        now_ns: u64,
    ) -> Result<(), Denied> {
        if data.len() > mailbox::MAX_MESSAGE_BYTES {
            return Err(Denied::new(
                ErrorCode::MessageTooLarge,
                format!(
                    "{} bytes is over the {}-byte message limit",
                    data.len(),
                    mailbox::MAX_MESSAGE_BYTES
                ),
            ));
        }
        let capacity = self.config.queue_capacity;
        let ep = self.endpoints.get_mut(&endpoint).ok_or_else(|| {
            Denied::new(
                ErrorCode::StaleCapability,
                format!("endpoint {endpoint} no longer exists"),
            )
        })?;
        if ep.waiters.is_empty() && ep.queue.len() >= capacity {
            return Err(Denied::new(
                ErrorCode::QueueFull,
                format!("endpoint {endpoint} has {capacity} messages queued, its limit"),
            ));
        }
        let size = (mailbox::RECV_HEADER_BYTES + data.len()) as u64;
        if ep.waiters.is_empty()
            && self.counters.queued_bytes.saturating_add(size) > MAX_QUEUED_BYTES
        {
            return Err(Denied::new(
                ErrorCode::QueueFull,
                format!(
                    "the system already holds {} bytes of queued messages, its limit",
                    self.counters.queued_bytes
                ),
            ));
        }
        ep.sent = ep.sent.saturating_add(1);
        let owner = ep.owner;
        let mut header = [0u8; mailbox::RECV_HEADER_BYTES];
        header[0..4].copy_from_slice(&from.0.to_le_bytes());
        header[4..8].copy_from_slice(&tag.to_le_bytes());
        header[8..12].copy_from_slice(&abi::slot::NONE.to_le_bytes());
        let mut buf = Vec::with_capacity(mailbox::RECV_HEADER_BYTES + data.len());
        buf.extend_from_slice(&header);
        buf.extend_from_slice(data);
        let message = Message { buf, transfer };
        // Hand over to the first blocked receiver, or queue.
        let handover = match ep.waiters.pop_front() {
            Some(receiver) => {
                ep.delivered = ep.delivered.saturating_add(1);
                Some((receiver, message))
            }
            None => {
                ep.queue.push_back(message);
                self.counters.messages_queued = self.counters.messages_queued.saturating_add(1);
                self.counters.queued_bytes = self.counters.queued_bytes.saturating_add(size);
                None
            }
        };
        let bytes = data.len() as u32;
        self.counters.messages_sent = self.counters.messages_sent.saturating_add(1);
        self.counters.bytes_sent = self.counters.bytes_sent.saturating_add(u64::from(bytes));
        self.rate.record(now_ns);
        if self.caller == Some(from) {
            self.caller_delta.ipc_sent += 1;
            self.caller_delta.ipc_bytes_sent += u64::from(bytes);
        } else if let Some(p) = self.processes.get_mut(&from) {
            p.metrics.ipc_sent = p.metrics.ipc_sent.saturating_add(1);
            p.metrics.ipc_bytes_sent = p.metrics.ipc_bytes_sent.saturating_add(u64::from(bytes));
        }
        self.traffic.push_with(|_| TrafficEntry {
            at_ns: now_ns,
            from,
            to: owner,
            endpoint,
            tag,
            bytes,
            preview: Preview::of(data),
        });
        self.emit(KernelEvent::MessageSent {
            from,
            to: owner,
            endpoint,
            tag,
            bytes,
            at_ns: now_ns,
        });
        if let Some((receiver, message)) = handover {
            let reply = self.deliver(receiver, endpoint, message, now_ns);
            self.complete_blocked(receiver, reply, now_ns);
        }
        Ok(())
    }

    /// Hands a message to `receiver` (the endpoint has already counted it as delivered): lands
    /// any transferred capability, counts it, and builds the RECEIVE reply (result = payload
    /// length, data = header + payload).
    fn deliver(
        &mut self,
        receiver: ProcessId,
        endpoint: EndpointId,
        mut message: Message,
        now_ns: u64,
    ) -> Reply {
        if let Some(t) = message.transfer.take() {
            let slot = self.land_transfer(t, receiver, now_ns);
            if let Some(word) = message.buf.get_mut(8..12) {
                word.copy_from_slice(&slot.to_le_bytes());
            }
        }
        let from = message.from();
        let tag = message.tag();
        let bytes = message.payload_len() as u32;
        self.counters.messages_delivered = self.counters.messages_delivered.saturating_add(1);
        if self.caller == Some(receiver) {
            self.caller_delta.ipc_received += 1;
            self.caller_delta.ipc_bytes_received += u64::from(bytes);
        } else if let Some(p) = self.processes.get_mut(&receiver) {
            p.metrics.ipc_received = p.metrics.ipc_received.saturating_add(1);
            p.metrics.ipc_bytes_received = p
                .metrics
                .ipc_bytes_received
                .saturating_add(u64::from(bytes));
        }
        self.emit(KernelEvent::MessageDelivered {
            from,
            to: receiver,
            endpoint,
            tag,
            bytes,
            at_ns: now_ns,
        });
        Reply {
            result: bytes as i32,
            data: message.buf,
        }
    }

    /// RECEIVE / TRY_RECEIVE / the receive half of SEND_RECEIVE (`call`) on `endpoint`, named
    /// by the capability in `slot` (already checked for `READ`): the oldest queued message, or
    /// block (or `WOULD_BLOCK`).
    pub(crate) fn receive(
        &mut self,
        pid: ProcessId,
        endpoint: EndpointId,
        slot: u32,
        call: u32,
        now_ns: u64,
    ) -> Result<Dispatch, Denied> {
        let blocking = call != abi::nr::TRY_RECEIVE;
        let ep = self.endpoints.get_mut(&endpoint).ok_or_else(|| {
            Denied::new(
                ErrorCode::StaleCapability,
                format!("slot {slot}: endpoint {endpoint} no longer exists"),
            )
        })?;
        if let Some(message) = ep.queue.pop_front() {
            ep.delivered = ep.delivered.saturating_add(1);
            self.counters.messages_queued = self.counters.messages_queued.saturating_sub(1);
            self.counters.queued_bytes = self
                .counters
                .queued_bytes
                .saturating_sub(message.buf.len() as u64);
            let reply = self.deliver(pid, endpoint, message, now_ns);
            return Ok(Dispatch::Complete(reply));
        }
        if !blocking {
            return Err(Denied::new(ErrorCode::WouldBlock, "nothing queued"));
        }
        ep.waiters.push_back(pid);
        self.block(pid, BlockReason::Receive { endpoint }, call, now_ns);
        Ok(Dispatch::Pending)
    }

    /// `STALE_CAPABILITY` if `endpoint` (named by the capability in `slot`) no longer exists:
    /// for handlers that must know before they act (SEND_RECEIVE checks both its slots before
    /// it sends; ENDPOINT_DELETE before it asks who owns the endpoint).
    pub(crate) fn live_endpoint(&self, slot: u32, endpoint: EndpointId) -> Result<(), Denied> {
        if self.endpoints.contains_key(&endpoint) {
            Ok(())
        } else {
            Err(Denied::new(
                ErrorCode::StaleCapability,
                format!("slot {slot}: endpoint {endpoint} no longer exists"),
            ))
        }
    }

    /// Console input and other kernel-originated messages (sender pid 0).
    pub fn send_from_kernel(
        &mut self,
        endpoint: EndpointId,
        tag: u32,
        data: &[u8],
        now_ns: u64,
    ) -> Result<(), ErrorCode> {
        let now_ns = self.observe_time(now_ns);
        if !self.endpoints.contains_key(&endpoint) {
            return Err(ErrorCode::BadArgument);
        }
        self.post(ProcessId::KERNEL, endpoint, tag, data, None, now_ns)
            .map_err(|d| d.code)
    }

    pub(crate) fn endpoint_info(&self, id: EndpointId, ep: &Endpoint) -> EndpointInfo {
        EndpointInfo {
            id,
            owner: ep.owner,
            queue_len: ep.queue.len(),
            queue_capacity: self.config.queue_capacity,
            sent: ep.sent,
            delivered: ep.delivered,
        }
    }

    pub fn endpoints(&self) -> Vec<EndpointInfo> {
        self.endpoints
            .iter()
            .map(|(id, ep)| self.endpoint_info(*id, ep))
            .collect()
    }

    pub fn endpoints_of(&self, owner: ProcessId) -> Vec<EndpointInfo> {
        let Some(p) = self.processes.get(&owner) else {
            return Vec::new();
        };
        p.endpoints
            .iter()
            .filter_map(|id| self.endpoints.get(id).map(|ep| self.endpoint_info(*id, ep)))
            .collect()
    }

    pub fn endpoint(&self, id: EndpointId) -> Option<EndpointInfo> {
        self.endpoints.get(&id).map(|ep| self.endpoint_info(id, ep))
    }

    /// Marks `pid` Blocked in syscall `call`.
    pub(crate) fn block(&mut self, pid: ProcessId, reason: BlockReason, call: u32, now_ns: u64) {
        if let BlockReason::Sleep { until_ns } = reason {
            self.sleepers.insert((until_ns, pid));
        }
        if let Some(p) = self.processes.get_mut(&pid) {
            p.state = ProcessState::Blocked(reason);
            p.blocked_call = call;
        }
        self.emit(KernelEvent::ProcessStateChanged {
            pid,
            state: ProcessState::Blocked(reason),
            at_ns: now_ns,
        });
    }

    /// Finishes a blocked call: the process runs again and the supervisor gets the reply.
    pub(crate) fn complete_blocked(&mut self, pid: ProcessId, reply: Reply, now_ns: u64) {
        let Some(p) = self.processes.get_mut(&pid) else {
            return;
        };
        let syscall = match p.state {
            ProcessState::Blocked(BlockReason::Receive { .. })
                if p.blocked_call == abi::nr::SEND_RECEIVE =>
            {
                abi::nr::SEND_RECEIVE
            }
            ProcessState::Blocked(BlockReason::Receive { .. }) => abi::nr::RECEIVE,
            ProcessState::Blocked(BlockReason::Sleep { .. }) => abi::nr::SLEEP,
            _ => return,
        };
        p.state = ProcessState::Running;
        p.metrics.last_active_ns = now_ns;
        self.emit(KernelEvent::ProcessStateChanged {
            pid,
            state: ProcessState::Running,
            at_ns: now_ns,
        });
        self.emit(KernelEvent::SyscallServiced {
            pid,
            syscall,
            result: reply.result,
            at_ns: now_ns,
        });
        self.effects.push(crate::Effect::Complete { pid, reply });
    }

    /// Takes `pid` out of whatever it is blocked on (before it dies).
    pub(crate) fn unblock_silently(&mut self, pid: ProcessId) {
        let Some(p) = self.processes.get(&pid) else {
            return;
        };
        match p.state {
            ProcessState::Blocked(BlockReason::Receive { endpoint }) => {
                if let Some(ep) = self.endpoints.get_mut(&endpoint) {
                    ep.waiters.retain(|w| *w != pid);
                }
            }
            ProcessState::Blocked(BlockReason::Sleep { until_ns }) => {
                self.sleepers.remove(&(until_ns, pid));
            }
            _ => {}
        }
    }
}
