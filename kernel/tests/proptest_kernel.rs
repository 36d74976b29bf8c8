//! Random syscall sequences from several processes. After every step: no panic; no process
//! holds a permission that no chain of grants gave it (checked against an independent model);
//! the message numbers add up; every log stays within its bound.
//!
//! The model also keeps every endpoint's queue (sender, tag, length per message) and its
//! blocked receivers in arrival order, so each delivery (an immediate reply or a later wake-up)
//! must be the message the model expects, and each queue must have the length the model says.
//! SEND_RECEIVE is judged exactly: the model predicts its result (the error, in the kernel's
//! order: caller state, data size, the send slot's slot errors then `WRITE`, the receive slot's
//! then `READ`, the payload limit, `QUEUE_FULL`), or that it sent and then either answered at
//! once with the head of the receive queue or blocked on that endpoint; a refusal must send
//! nothing and leave the caller as it was.
//!
//! 256 cases of 200 steps by default; `PROPTEST_CASES=N` for more.

mod common;
use common::*;

use std::collections::{BTreeMap, VecDeque};

use orbital_kernel::abi::{ErrorCode, mailbox, nr, rights, slot};
use orbital_kernel::{
    BlockReason, Dispatch, Effect, EndpointId, ExitReason, Kernel, KernelConfig, ObjectRef,
    ProcessId, ProcessState, SyscallArgs,
};
use proptest::prelude::*;

const STEPS: usize = 200;

#[derive(Clone, Debug)]
enum Op {
    /// Slots as `(endpoint, s)`: `endpoint` picks the s-th endpoint capability the caller holds
    /// (stale ones too, any rights), so the call gets past the slot checks often enough to
    /// reach the queue; otherwise `s` is read as by `slot_strategy`.
    SendReceive {
        p: usize,
        send: (bool, u32),
        tag: u32,
        len: usize,
        receive: (bool, u32),
    },
    Send {
        p: usize,
        slot: u32,
        tag: u32,
        len: usize,
        transfer: Option<u32>,
    },
    Receive {
        p: usize,
        slot: u32,
        blocking: bool,
    },
    Grant {
        p: usize,
        slot: u32,
        target: usize,
        rights: u32,
    },
    Derive {
        p: usize,
        slot: u32,
        rights: u32,
    },
    Revoke {
        p: usize,
        slot: u32,
    },
    Delete {
        p: usize,
        slot: u32,
    },
    EndpointCreate {
        p: usize,
    },
    EndpointDelete {
        p: usize,
        slot: u32,
    },
    Sleep {
        p: usize,
        ms: u32,
    },
    Mem {
        p: usize,
        alloc: bool,
        bytes: u32,
    },
    Raw {
        p: usize,
        number: u32,
        args: [u32; 3],
        len: usize,
    },
    KernelSend {
        endpoint: u32,
        len: usize,
    },
    Kill {
        p: usize,
    },
    Exit {
        p: usize,
        trap: bool,
    },
    Reap {
        p: usize,
    },
    Register,
    Tick {
        dt_ms: u32,
    },
}

/// Below 100: the n-th slot the caller holds (so calls mostly reach real capabilities); 100..200:
/// slot `s - 100` as is; above: a raw (mostly out of range) slot number.
fn slot_strategy() -> impl Strategy<Value = u32> {
    prop_oneof![14 => 0u32..100, 4 => 100u32..108, 1 => Just(163u32), 1 => Just(164u32), 1 => Just(u32::MAX), 1 => 200u32..]
}

fn rights_strategy() -> impl Strategy<Value = u32> {
    prop_oneof![10 => 0u32..8, 1 => any::<u32>()]
}

fn len_strategy() -> impl Strategy<Value = usize> {
    prop_oneof![10 => 0usize..40, 1 => Just(4020usize), 1 => Just(4021usize), 1 => Just(4033usize)]
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let p = 0usize..8;
    prop_oneof![
        4 => (p.clone(), (prop::bool::weighted(0.6), slot_strategy()), any::<u32>(), len_strategy(), (prop::bool::weighted(0.6), slot_strategy()))
            .prop_map(|(p, send, tag, len, receive)| Op::SendReceive { p, send, tag, len, receive }),
        6 => (p.clone(), slot_strategy(), any::<u32>(), len_strategy(), prop::option::weighted(0.3, slot_strategy()))
            .prop_map(|(p, slot, tag, len, transfer)| Op::Send { p, slot, tag, len, transfer }),
        5 => (p.clone(), slot_strategy(), any::<bool>()).prop_map(|(p, slot, blocking)| Op::Receive { p, slot, blocking }),
        4 => (p.clone(), slot_strategy(), 0usize..9, rights_strategy())
            .prop_map(|(p, slot, target, rights)| Op::Grant { p, slot, target, rights }),
        2 => (p.clone(), slot_strategy(), rights_strategy()).prop_map(|(p, slot, rights)| Op::Derive { p, slot, rights }),
        1 => (p.clone(), slot_strategy()).prop_map(|(p, slot)| Op::Revoke { p, slot }),
        1 => (p.clone(), slot_strategy()).prop_map(|(p, slot)| Op::Delete { p, slot }),
        1 => p.clone().prop_map(|p| Op::EndpointCreate { p }),
        1 => (p.clone(), slot_strategy()).prop_map(|(p, slot)| Op::EndpointDelete { p, slot }),
        1 => (p.clone(), 0u32..50).prop_map(|(p, ms)| Op::Sleep { p, ms }),
        1 => (p.clone(), any::<bool>(), prop_oneof![0u32..(1 << 24), any::<u32>()])
            .prop_map(|(p, alloc, bytes)| Op::Mem { p, alloc, bytes }),
        2 => (p.clone(), prop_oneof![0u32..24, any::<u32>()], any::<[u32; 3]>(), len_strategy())
            .prop_map(|(p, number, args, len)| Op::Raw { p, number, args, len }),
        1 => (0u32..12, len_strategy()).prop_map(|(endpoint, len)| Op::KernelSend { endpoint, len }),
        1 => prop_oneof![
            p.clone().prop_map(|p| Op::Kill { p }),
            (p.clone(), any::<bool>()).prop_map(|(p, trap)| Op::Exit { p, trap }),
        ],
        1 => p.clone().prop_map(|p| Op::Reap { p }),
        1 => Just(Op::Register),
        2 => (0u32..60).prop_map(|dt_ms| Op::Tick { dt_ms }),
    ]
}

/// The independent model of who may hold what.
#[derive(Default)]
struct Model {
    /// Rights each process legitimately obtained for each object (union over all chains).
    allowed: BTreeMap<(ProcessId, ObjectRef), u32>,
    /// Transfers sent and not yet landed, by endpoint: (object, rights).
    in_flight: Vec<(EndpointId, ObjectRef, u32)>,
    /// What each endpoint holds, oldest first.
    queues: BTreeMap<EndpointId, VecDeque<Msg>>,
    /// Blocked receivers in the order they blocked (served first come, first served).
    waiters: Vec<(ProcessId, EndpointId)>,
    /// Receivers a send handed its message to during this step, and that message.
    wakes: BTreeMap<ProcessId, Msg>,
    /// Receivers blocked in SEND_RECEIVE (for the coverage counts).
    in_call: std::collections::BTreeSet<ProcessId>,
}

/// A message as the model sees it (the transferred slot is judged by `landed`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Msg {
    from: ProcessId,
    tag: u32,
    len: usize,
}

impl Model {
    fn allow(&mut self, pid: ProcessId, object: ObjectRef, rights: u32) {
        *self.allowed.entry((pid, object)).or_default() |= rights;
    }

    fn may(&self, pid: ProcessId, object: ObjectRef) -> u32 {
        self.allowed.get(&(pid, object)).copied().unwrap_or(0)
    }
}

struct World {
    k: Kernel,
    model: Model,
    /// Pids in creation order; ops pick by index (modulo), dead ones included.
    pids: Vec<ProcessId>,
    now_ns: u64,
    /// What happened, for the coverage test.
    stats: BTreeMap<&'static str, u64>,
}

impl World {
    fn new() -> Self {
        let k = Kernel::new(KernelConfig {
            queue_capacity: 4,
            traffic_log_capacity: 16,
            cap_log_capacity: 16,
            event_capacity: 64,
            memory_limit_bytes: 64 << 20,
            max_processes: 12,
            max_endpoints: 10,
        });
        let mut w = World {
            k,
            model: Model::default(),
            pids: Vec::new(),
            now_ns: 0,
            stats: BTreeMap::new(),
        };
        for _ in 0..4 {
            w.register();
        }
        for i in 0..4 {
            let pid = w.pids[i];
            let (ep, _) = w.k.create_endpoint(pid, 0).unwrap();
            w.model.allow(pid, ObjectRef::Endpoint(ep), rights::ALL);
        }
        // A ring of connections, as manifests wire services: each of the first four processes
        // may read and write its neighbour's endpoint (so calls can block on another process's
        // endpoint, and wake with PEER_GONE when that one goes).
        for i in 0..4 {
            let (owner, peer) = (w.pids[i], w.pids[(i + 1) % 4]);
            let ep = w.k.endpoints_of(owner)[0].id;
            let r = rights::READ | rights::WRITE;
            w.k.install_capability(peer, ObjectRef::Endpoint(ep), r, 0)
                .unwrap();
            w.model.allow(peer, ObjectRef::Endpoint(ep), r);
        }
        w
    }

    fn count(&mut self, what: &'static str) {
        *self.stats.entry(what).or_default() += 1;
    }

    fn register(&mut self) {
        if let Ok(pid) = self.k.register_process("p", self.now_ns) {
            self.pids.push(pid);
            self.model.allow(pid, ObjectRef::Console, rights::WRITE);
        }
    }

    /// Index 7 picks among every pid ever created (dead or blocked ones too); the others among
    /// the running ones, as a supervisor would (a blocked guest cannot make a call).
    fn pid(&self, i: usize) -> ProcessId {
        let live: Vec<ProcessId> = self
            .pids
            .iter()
            .copied()
            .filter(|p| {
                self.k
                    .process(*p)
                    .is_some_and(|p| p.state == ProcessState::Running)
            })
            .collect();
        if i == 7 || live.is_empty() {
            if self.pids.is_empty() {
                ProcessId(1)
            } else {
                self.pids[i % self.pids.len()]
            }
        } else {
            live[i % live.len()]
        }
    }

    fn slot(&self, pid: ProcessId, s: u32) -> u32 {
        match s {
            0..100 => {
                let held = self.k.capabilities(pid);
                if held.is_empty() {
                    1
                } else {
                    held[s as usize % held.len()].slot
                }
            }
            100..200 => s - 100,
            _ => s,
        }
    }

    fn endpoint_slot(&self, pid: ProcessId, (endpoint, s): (bool, u32)) -> u32 {
        let held: Vec<u32> = self
            .k
            .capabilities(pid)
            .into_iter()
            .filter(|c| matches!(c.object, ObjectRef::Endpoint(_)))
            .map(|c| c.slot)
            .collect();
        if endpoint && !held.is_empty() {
            held[s as usize % held.len()]
        } else {
            self.slot(pid, s)
        }
    }

    fn cap(&self, pid: ProcessId, slot: u32) -> Option<orbital_kernel::CapabilityInfo> {
        self.k
            .capabilities(pid)
            .into_iter()
            .find(|c| c.slot == slot && !c.stale)
    }

    fn dispatch(&mut self, pid: ProcessId, number: u32, args: [u32; 3], data: &[u8]) -> Dispatch {
        // Snapshots the model needs to judge the call (taken before the kernel acts).
        let src = self.cap(pid, args[0]);
        let transfer_src = if number == nr::SEND && args[2] != slot::NONE {
            self.cap(pid, args[2])
        } else {
            None
        };
        let receiving_on = match (number, &src) {
            (nr::RECEIVE | nr::TRY_RECEIVE, Some(c)) => match c.object {
                ObjectRef::Endpoint(e) => Some(e),
                _ => None,
            },
            _ => None,
        };
        let call =
            (number == nr::SEND_RECEIVE).then(|| self.predict_send_receive(pid, args, data.len()));
        let sent_before = self.k.message_counts().sent;
        let state_before = self.k.process(pid).map(|p| p.state.clone());
        let d = self
            .k
            .dispatch(pid, SyscallArgs { number, args }, data, self.now_ns);
        if let Some(call) = call {
            self.judge_send_receive(
                pid,
                args[1],
                data.len(),
                call,
                &d,
                sent_before,
                state_before,
            );
        }
        match &d {
            Dispatch::Complete(r) if r.result >= 0 => {
                let name = orbital_kernel::abi::Syscall::from_raw(number)
                    .map(|s| s.name())
                    .unwrap_or("?");
                self.count(name);
            }
            Dispatch::Complete(r) => {
                let name = orbital_kernel::abi::ErrorCode::from_result(r.result)
                    .map(|e| e.name())
                    .unwrap_or("?");
                self.count(name);
            }
            Dispatch::Pending => self.count("pending"),
            _ => {}
        }
        if let Dispatch::Complete(reply) = &d
            && reply.result >= 0
        {
            match number {
                nr::CAP_GRANT => {
                    let src = src.expect("a grant succeeded from an unusable slot");
                    assert!(
                        src.rights & rights::GRANT != 0,
                        "grant without GRANT succeeded"
                    );
                    assert_eq!(args[2] & !src.rights, 0, "grant amplified rights");
                    let target = ProcessId(args[1]);
                    self.model.allow(
                        target,
                        src.object,
                        args[2] & self.model.may(pid, src.object),
                    );
                }
                nr::CAP_DERIVE => {
                    let src = src.expect("a derive succeeded from an unusable slot");
                    assert_eq!(args[1] & !src.rights, 0, "derive amplified rights");
                }
                nr::ENDPOINT_CREATE => {
                    let c = self
                        .cap(pid, reply.result as u32)
                        .expect("new endpoint slot");
                    self.model.allow(pid, c.object, rights::ALL);
                }
                nr::SEND => {
                    let src = src.expect("send succeeded from an unusable slot");
                    assert!(
                        src.rights & rights::WRITE != 0,
                        "send without WRITE succeeded"
                    );
                    let ObjectRef::Endpoint(e) = src.object else {
                        panic!("sent to the {:?}", src.object);
                    };
                    if let Some(t) = transfer_src {
                        assert!(
                            t.rights & rights::GRANT != 0,
                            "transfer without GRANT succeeded"
                        );
                        let may = self.model.may(pid, t.object);
                        self.model.in_flight.push((e, t.object, t.rights & may));
                    }
                    self.posted(pid, e, args[1], data.len());
                }
                nr::RECEIVE | nr::TRY_RECEIVE => {
                    let src = src.expect("receive succeeded from an unusable slot");
                    assert!(
                        src.rights & rights::READ != 0,
                        "receive without READ succeeded"
                    );
                    let e = receiving_on.expect("received on a non-endpoint");
                    let head = self.model.queues.get_mut(&e).and_then(|q| q.pop_front());
                    check_delivery(pid, e, head, reply);
                    self.landed(pid, e, &reply.data);
                }
                _ => {}
            }
        }
        if let (nr::TRY_RECEIVE, Dispatch::Complete(r), Some(e)) = (number, &d, receiving_on)
            && r.result == ErrorCode::WouldBlock.to_result()
        {
            assert!(
                self.model.queues.get(&e).is_none_or(|q| q.is_empty()),
                "WOULD_BLOCK on endpoint {e:?} with messages queued"
            );
        }
        d
    }

    /// What SEND_RECEIVE must do, judged from the state before the call: the error it must
    /// return, or the send and receive endpoints of a call that must go through.
    fn predict_send_receive(
        &self,
        pid: ProcessId,
        args: [u32; 3],
        len: usize,
    ) -> Result<(EndpointId, EndpointId), (ErrorCode, &'static str)> {
        use ErrorCode::*;
        match self.k.process(pid).map(|p| p.state.clone()) {
            None => return Err((NoSuchProcess, "unknown caller")),
            Some(s) if s.is_zombie() => return Err((NoSuchProcess, "zombie caller")),
            Some(s) if s.is_blocked() => return Err((BadArgument, "blocked caller")),
            Some(_) => {}
        }
        if len > mailbox::DATA_CAPACITY {
            return Err((MessageTooLarge, "over the mailbox"));
        }
        // Slot errors (a capability to a dead endpoint is stale, like a revoked one), then the right.
        let slot_check = |slot: u32, needed: u32, side: &'static [&'static str; 4]| {
            let cap = self
                .k
                .capabilities(pid)
                .into_iter()
                .find(|c| c.slot == slot)
                .ok_or((BadSlot, side[0]))?;
            if cap.stale {
                return Err((StaleCapability, side[1]));
            }
            let ObjectRef::Endpoint(e) = cap.object else {
                return Err((WrongObjectKind, side[2]));
            };
            if cap.rights & needed != needed {
                return Err((PermissionDenied, side[3]));
            }
            Ok(e)
        };
        let send = slot_check(
            args[0],
            rights::WRITE,
            &[
                "send slot empty",
                "send slot stale",
                "send slot not an endpoint",
                "send without WRITE",
            ],
        )?;
        let receive = slot_check(
            args[2],
            rights::READ,
            &[
                "receive slot empty",
                "receive slot stale",
                "receive slot not an endpoint",
                "receive without READ",
            ],
        )?;
        if len > mailbox::MAX_MESSAGE_BYTES {
            return Err((MessageTooLarge, "over the message limit"));
        }
        let has_waiter = self.model.waiters.iter().any(|(_, e)| *e == send);
        let queued = self.k.endpoint(send).map(|e| e.queue_len).unwrap_or(0);
        if !has_waiter && queued >= self.k.config().queue_capacity {
            return Err((QueueFull, "queue full"));
        }
        Ok((send, receive))
    }

    /// Holds the kernel's answer to a SEND_RECEIVE against the model's prediction, and
    /// updates the model (the message sent, the one received, the caller blocked).
    #[allow(clippy::too_many_arguments)]
    fn judge_send_receive(
        &mut self,
        pid: ProcessId,
        tag: u32,
        len: usize,
        call: Result<(EndpointId, EndpointId), (ErrorCode, &'static str)>,
        d: &Dispatch,
        sent_before: u64,
        state_before: Option<ProcessState>,
    ) {
        match call {
            Err((code, why)) => {
                assert_eq!(
                    d,
                    &Dispatch::Complete(orbital_kernel::Reply::error(code)),
                    "SEND_RECEIVE from pid {pid} ({why}) must fail with {}",
                    code.name()
                );
                assert_eq!(
                    self.k.message_counts().sent,
                    sent_before,
                    "a refused SEND_RECEIVE sent ({why})"
                );
                assert_eq!(
                    self.k.process(pid).map(|p| p.state.clone()),
                    state_before,
                    "a refused SEND_RECEIVE changed the caller's state ({why})"
                );
                self.count(match code {
                    ErrorCode::PermissionDenied if why.starts_with("send") => {
                        "SEND_RECEIVE denied: send without WRITE"
                    }
                    ErrorCode::PermissionDenied => "SEND_RECEIVE denied: receive without READ",
                    ErrorCode::BadSlot => "SEND_RECEIVE denied: BAD_SLOT",
                    ErrorCode::StaleCapability => "SEND_RECEIVE denied: STALE_CAPABILITY",
                    ErrorCode::QueueFull => "SEND_RECEIVE denied: QUEUE_FULL",
                    ErrorCode::WrongObjectKind => "SEND_RECEIVE denied: WRONG_OBJECT_KIND",
                    ErrorCode::MessageTooLarge => "SEND_RECEIVE denied: MESSAGE_TOO_LARGE",
                    ErrorCode::NoSuchProcess => "SEND_RECEIVE denied: NO_SUCH_PROCESS",
                    ErrorCode::BadArgument => "SEND_RECEIVE denied: BAD_ARGUMENT (caller blocked)",
                    _ => "SEND_RECEIVE denied: other",
                });
            }
            Ok((send, receive)) => {
                assert_eq!(
                    self.k.message_counts().sent,
                    sent_before + 1,
                    "SEND_RECEIVE from pid {pid} did not send exactly one message"
                );
                self.posted(pid, send, tag, len);
                let head = self
                    .model
                    .queues
                    .get_mut(&receive)
                    .and_then(|q| q.pop_front());
                match (d, head) {
                    (Dispatch::Complete(reply), Some(_)) => {
                        check_delivery(pid, receive, head, reply);
                        self.landed(pid, receive, &reply.data);
                        assert_eq!(
                            self.k.process(pid).map(|p| p.state.clone()),
                            Some(ProcessState::Running)
                        );
                        self.count("SEND_RECEIVE answered at once");
                    }
                    (Dispatch::Pending, None) => {
                        assert_eq!(
                            self.k.process(pid).map(|p| p.state.clone()),
                            Some(ProcessState::Blocked(BlockReason::Receive {
                                endpoint: receive
                            })),
                            "SEND_RECEIVE pended but the caller is not blocked on its receive endpoint"
                        );
                        self.model.in_call.insert(pid);
                        self.count("SEND_RECEIVE blocked");
                    }
                    (d, head) => panic!(
                        "SEND_RECEIVE from pid {pid} (send {send:?}, receive {receive:?}): got {d:?}, \
                         but the model's receive queue head is {head:?}"
                    ),
                }
            }
        }
    }

    /// A message went to `endpoint`: to its first blocked receiver (who must wake with it this
    /// step), or to the back of its queue.
    fn posted(&mut self, from: ProcessId, endpoint: EndpointId, tag: u32, len: usize) {
        let msg = Msg { from, tag, len };
        match self.model.waiters.iter().position(|(_, e)| *e == endpoint) {
            Some(i) => {
                let (receiver, _) = self.model.waiters.remove(i);
                assert!(self.model.wakes.insert(receiver, msg).is_none());
            }
            None => self
                .model
                .queues
                .entry(endpoint)
                .or_default()
                .push_back(msg),
        }
    }

    /// After a step: queues of dead endpoints are dropped, blocked receivers are taken from the
    /// kernel's states in the order they blocked (at most one new one per step), and every queue
    /// has the length the model says.
    fn sync_queues(&mut self) {
        let k = &self.k;
        self.model.queues.retain(|e, _| k.endpoint(*e).is_some());
        let blocked = self.blocked_receivers();
        self.model
            .waiters
            .retain(|(p, e)| blocked.get(p) == Some(e));
        let new: Vec<_> = blocked
            .iter()
            .filter(|(p, _)| !self.model.waiters.iter().any(|(q, _)| q == *p))
            .map(|(p, e)| (*p, *e))
            .collect();
        assert!(
            new.len() <= 1,
            "several receivers blocked in one step: {new:?}"
        );
        self.model.waiters.extend(new);
        self.model.in_call.retain(|p| blocked.contains_key(p));
        for e in self.k.endpoints() {
            let modelled = self.model.queues.get(&e.id).map_or(0, |q| q.len());
            assert_eq!(
                e.queue_len, modelled,
                "endpoint {:?} holds {} messages, the model {modelled}",
                e.id, e.queue_len
            );
        }
    }

    /// A receive reply arrived: a transferred capability must match one sent to that endpoint.
    fn landed(&mut self, pid: ProcessId, endpoint: EndpointId, data: &[u8]) {
        assert!(data.len() >= 12, "receive reply without header");
        let landed = u32::from_le_bytes(data[8..12].try_into().unwrap());
        if landed == slot::NONE {
            return;
        }
        let cap = self
            .k
            .capabilities(pid)
            .into_iter()
            .find(|c| c.slot == landed)
            .expect("landed slot is empty");
        let at = self
            .model
            .in_flight
            .iter()
            .position(|(e, o, r)| *e == endpoint && *o == cap.object && *r == cap.rights)
            .unwrap_or_else(|| {
                panic!("pid {pid} got {cap:?} on endpoint {endpoint:?}, but only these were sent: {:?}", self.model.in_flight)
            });
        self.model.in_flight.remove(at);
        self.model.allow(pid, cap.object, cap.rights);
        self.count("transfer landed");
    }

    /// `blocked_on`: what each receiver was blocked on before the step (its state says Running
    /// once woken), so a landed transfer is matched against what was sent to that endpoint.
    fn apply_effects(&mut self, blocked_on: &BTreeMap<ProcessId, EndpointId>) {
        for e in self.k.take_effects() {
            if let Effect::Complete { pid, reply } = e {
                self.count(if reply.result >= 0 {
                    "woken"
                } else {
                    "woken with error"
                });
                assert!(
                    !matches!(
                        self.k.process(pid).map(|p| &p.state),
                        Some(ProcessState::Blocked(_))
                    ),
                    "completed but still blocked"
                );
                let in_call = self.model.in_call.remove(&pid);
                match (blocked_on.get(&pid), self.model.wakes.remove(&pid)) {
                    // A receive (or SEND_RECEIVE) handed the message a send was posting.
                    (Some(&endpoint), msg @ Some(_)) => {
                        check_delivery(pid, endpoint, msg, &reply);
                        self.landed(pid, endpoint, &reply.data);
                        if in_call {
                            self.count("SEND_RECEIVE woken with the answer");
                        }
                    }
                    // Its endpoint went away.
                    (Some(&endpoint), None) => {
                        assert_eq!(
                            reply,
                            orbital_kernel::Reply::error(ErrorCode::PeerGone),
                            "pid {pid} woke from a receive on {endpoint:?} with no message sent to it"
                        );
                        assert!(
                            self.k.endpoint(endpoint).is_none(),
                            "PEER_GONE from a live endpoint"
                        );
                        if in_call {
                            self.count("SEND_RECEIVE woken with PEER_GONE");
                        }
                    }
                    (None, None) => {
                        assert_eq!(reply, orbital_kernel::Reply::ok(0), "a sleep ends with 0")
                    }
                    (None, Some(m)) => panic!("pid {pid} was handed {m:?} but was not receiving"),
                }
            }
        }
        assert!(
            self.model.wakes.is_empty(),
            "messages handed to receivers that never woke: {:?}",
            self.model.wakes
        );
    }

    fn blocked_receivers(&self) -> BTreeMap<ProcessId, EndpointId> {
        self.k
            .processes()
            .iter()
            .filter_map(|(pid, p)| match p.state {
                ProcessState::Blocked(BlockReason::Receive { endpoint }) => Some((*pid, endpoint)),
                _ => None,
            })
            .collect()
    }

    fn step(&mut self, op: &Op) {
        let blocked_on = self.blocked_receivers();
        let data = |len: usize| vec![0x5au8; len];
        match *op {
            Op::SendReceive {
                p,
                send,
                tag,
                len,
                receive,
            } => {
                let pid = self.pid(p);
                let (send, receive) = (
                    self.endpoint_slot(pid, send),
                    self.endpoint_slot(pid, receive),
                );
                let _ = self.dispatch(pid, nr::SEND_RECEIVE, [send, tag, receive], &data(len));
            }
            Op::Send {
                p,
                slot,
                tag,
                len,
                transfer,
            } => {
                let pid = self.pid(p);
                let (slot, transfer) = (
                    self.slot(pid, slot),
                    transfer.map(|t| self.slot(pid, t)).unwrap_or(slot::NONE),
                );
                let _ = self.dispatch(pid, nr::SEND, [slot, tag, transfer], &data(len));
            }
            Op::Receive { p, slot, blocking } => {
                let pid = self.pid(p);
                let slot = self.slot(pid, slot);
                let n = if blocking {
                    nr::RECEIVE
                } else {
                    nr::TRY_RECEIVE
                };
                let _ = self.dispatch(pid, n, [slot, 0, 0], &[]);
            }
            Op::Grant {
                p,
                slot,
                target,
                rights,
            } => {
                let pid = self.pid(p);
                let slot = self.slot(pid, slot);
                let target = if target == 8 { 999 } else { self.pid(target).0 };
                let _ = self.dispatch(pid, nr::CAP_GRANT, [slot, target, rights], &[]);
            }
            Op::Derive { p, slot, rights } => {
                let pid = self.pid(p);
                let slot = self.slot(pid, slot);
                let _ = self.dispatch(pid, nr::CAP_DERIVE, [slot, rights, 0], &[]);
            }
            Op::Revoke { p, slot } => {
                let pid = self.pid(p);
                let slot = self.slot(pid, slot);
                let _ = self.dispatch(pid, nr::CAP_REVOKE, [slot, 0, 0], &[]);
            }
            Op::Delete { p, slot } => {
                let pid = self.pid(p);
                let slot = self.slot(pid, slot);
                let _ = self.dispatch(pid, nr::CAP_DELETE, [slot, 0, 0], &[]);
            }
            Op::EndpointCreate { p } => {
                let pid = self.pid(p);
                let _ = self.dispatch(pid, nr::ENDPOINT_CREATE, [0; 3], &[]);
            }
            Op::EndpointDelete { p, slot } => {
                let pid = self.pid(p);
                let slot = self.slot(pid, slot);
                let _ = self.dispatch(pid, nr::ENDPOINT_DELETE, [slot, 0, 0], &[]);
            }
            Op::Sleep { p, ms } => {
                let pid = self.pid(p);
                let _ = self.dispatch(pid, nr::SLEEP, [ms, 0, 0], &[]);
            }
            Op::Mem { p, alloc, bytes } => {
                let pid = self.pid(p);
                let _ = self.dispatch(
                    pid,
                    if alloc { nr::MEM_ALLOC } else { nr::MEM_FREE },
                    [bytes, 0, 0],
                    &[],
                );
            }
            Op::Raw {
                p,
                number,
                args,
                len,
            } => {
                let pid = self.pid(p);
                // Only the ops the model cannot judge go raw; the rest are routed through the model.
                let d = self.dispatch(pid, number, args, &data(len));
                if let Dispatch::Spawn { .. } = d {
                    panic!("spawn without a process-table capability");
                }
            }
            Op::KernelSend { endpoint, len } => {
                let e = EndpointId(endpoint);
                if self
                    .k
                    .send_from_kernel(e, 0, &data(len), self.now_ns)
                    .is_ok()
                {
                    self.posted(ProcessId::KERNEL, e, 0, len);
                }
            }
            Op::Kill { p } => {
                let pid = self.pid(p);
                let _ = self.k.kill_process(pid, None, self.now_ns);
            }
            Op::Exit { p, trap } => {
                let pid = self.pid(p);
                let reason = if trap {
                    ExitReason::Trapped {
                        message: "unreachable".into(),
                    }
                } else {
                    ExitReason::Exited { code: 1 }
                };
                let _ = self.k.exit_process(pid, reason, self.now_ns);
            }
            Op::Reap { p } => {
                let pid = self.pid(p);
                let _ = self.k.reap_process(pid, self.now_ns);
            }
            Op::Register => self.register(),
            Op::Tick { dt_ms } => {
                self.now_ns += u64::from(dt_ms) * MS;
                self.k.tick(self.now_ns);
            }
        }
        self.apply_effects(&blocked_on);
        self.sync_queues();
    }

    fn check(&mut self) {
        if let Err(e) = self.k.audit() {
            panic!("kernel audit failed: {e}");
        }
        let c = self.k.message_counts();
        assert_eq!(c.sent, c.delivered + c.queued + c.dropped);
        let cfg = self.k.config().clone();
        assert!(self.k.traffic_log().len() <= cfg.traffic_log_capacity);
        assert!(self.k.capability_log().len() <= cfg.cap_log_capacity);
        assert!(self.k.events_pending() <= cfg.event_capacity);
        assert!(
            self.k
                .endpoints()
                .iter()
                .all(|e| e.queue_len <= cfg.queue_capacity)
        );
        assert!(self.k.processes().len() <= cfg.max_processes);
        assert!(self.k.endpoints().len() <= cfg.max_endpoints);
        for (pid, p) in self.k.processes() {
            for cap in self.k.capabilities(*pid) {
                assert!(!p.state.is_zombie(), "a zombie holds capabilities");
                if cap.stale {
                    continue;
                }
                let may = self.model.may(*pid, cap.object);
                assert_eq!(
                    cap.rights & !may,
                    0,
                    "pid {pid} holds {:?} with rights {:#x} but no chain gave it more than {may:#x}",
                    cap.object,
                    cap.rights
                );
            }
            if let ProcessState::Blocked(BlockReason::Receive { endpoint }) = p.state {
                assert!(
                    self.k.endpoint(endpoint).is_some(),
                    "blocked on a dead endpoint"
                );
            }
            assert!(
                p.accounted_memory()
                    <= cfg
                        .memory_limit_bytes
                        .max(orbital_kernel::abi::memory::INITIAL_BYTES)
            );
        }
        // Draining sometimes (as the app does each frame) keeps the event queue moving.
        if self.now_ns.is_multiple_of(3) {
            let _ = self.k.drain_events();
        }
    }
}

/// A delivered reply must be the message the model expected: result = payload length, header
/// = sender and tag (the third word, the transferred slot, is judged by `landed`).
fn check_delivery(
    pid: ProcessId,
    endpoint: EndpointId,
    expected: Option<Msg>,
    reply: &orbital_kernel::Reply,
) {
    let Some(m) = expected else {
        panic!("pid {pid} received {reply:?} on {endpoint:?}, where the model has nothing queued");
    };
    let d = &reply.data;
    assert!(d.len() >= 12, "receive reply without header");
    let word = |i: usize| u32::from_le_bytes(d[i..i + 4].try_into().unwrap());
    let got = Msg {
        from: ProcessId(word(0)),
        tag: word(4),
        len: reply.result as usize,
    };
    assert_eq!(
        got, m,
        "pid {pid} received the wrong message on {endpoint:?}"
    );
    assert_eq!(
        d.len(),
        12 + m.len,
        "reply length does not match its result"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { max_shrink_iters: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_syscalls_keep_kernel_invariants(ops in prop::collection::vec(op_strategy(), STEPS)) {
        let mut w = World::new();
        w.check();
        for op in &ops {
            w.step(op);
            w.check();
        }
    }
}

/// The random sequences must actually reach the interesting paths, or the property above
/// proves little: run a fixed set of generated cases and count what happened.
#[test]
fn random_sequences_cover_the_interesting_paths() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = prop::collection::vec(op_strategy(), STEPS);
    let mut totals: BTreeMap<&'static str, u64> = BTreeMap::new();
    for _ in 0..64 {
        let ops = strategy.new_tree(&mut runner).unwrap().current();
        let mut w = World::new();
        for op in &ops {
            w.step(op);
            w.check();
        }
        for (k, v) in w.stats {
            *totals.entry(k).or_default() += v;
        }
    }
    eprintln!("coverage over 64 cases: {totals:?}");
    for needed in [
        "SEND",
        "RECEIVE",
        "SEND_RECEIVE answered at once",
        "SEND_RECEIVE blocked",
        "SEND_RECEIVE woken with the answer",
        "SEND_RECEIVE woken with PEER_GONE",
        "SEND_RECEIVE denied: send without WRITE",
        "SEND_RECEIVE denied: receive without READ",
        "SEND_RECEIVE denied: BAD_SLOT",
        "SEND_RECEIVE denied: STALE_CAPABILITY",
        "SEND_RECEIVE denied: QUEUE_FULL",
        "TRY_RECEIVE",
        "CAP_GRANT",
        "CAP_DERIVE",
        "CAP_REVOKE",
        "CAP_DELETE",
        "ENDPOINT_CREATE",
        "ENDPOINT_DELETE",
        "MEM_ALLOC",
        "MEM_FREE",
        "pending",
        "woken",
        "woken with error",
        "transfer landed",
        "BAD_SLOT",
        "STALE_CAPABILITY",
        "PERMISSION_DENIED",
        "QUEUE_FULL",
        "MESSAGE_TOO_LARGE",
        "UNKNOWN_SYSCALL",
        "WOULD_BLOCK",
        "BAD_ARGUMENT",
        "NO_SUCH_PROCESS",
        "WRONG_OBJECT_KIND",
    ] {
        assert!(
            totals.get(needed).copied().unwrap_or(0) > 0,
            "random sequences never reached {needed}: {totals:?}"
        );
    }
}
