//! Random syscall sequences from several processes. After every step: no panic; no process
//! holds a permission that no chain of grants gave it (checked against an independent model);
//! the message numbers add up; every log stays within its bound.
//!
//! 256 cases of 200 steps by default; `PROPTEST_CASES=N` for more.

mod common;
use common::*;

use std::collections::BTreeMap;

use orbital_kernel::abi::{nr, rights, slot};
use orbital_kernel::{
    BlockReason, Dispatch, Effect, EndpointId, ExitReason, Kernel, KernelConfig, ObjectRef,
    ProcessId, ProcessState, SyscallArgs,
};
use proptest::prelude::*;

const STEPS: usize = 200;

#[derive(Clone, Debug)]
enum Op {
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
        let d = self
            .k
            .dispatch(pid, SyscallArgs { number, args }, data, self.now_ns);
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
        if let Dispatch::Complete(reply) = &d {
            if reply.result >= 0 {
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
                        if let (Some(t), ObjectRef::Endpoint(e)) = (transfer_src, src.object) {
                            assert!(
                                t.rights & rights::GRANT != 0,
                                "transfer without GRANT succeeded"
                            );
                            let may = self.model.may(pid, t.object);
                            self.model.in_flight.push((e, t.object, t.rights & may));
                        }
                    }
                    nr::RECEIVE | nr::TRY_RECEIVE => {
                        let src = src.expect("receive succeeded from an unusable slot");
                        assert!(
                            src.rights & rights::READ != 0,
                            "receive without READ succeeded"
                        );
                        let e = receiving_on.expect("received on a non-endpoint");
                        self.landed(pid, e, &reply.data);
                    }
                    _ => {}
                }
            }
        }
        d
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
                if reply.result >= 0 && reply.data.len() >= 12 {
                    let endpoint = *blocked_on
                        .get(&pid)
                        .expect("a receive completed for a process that was not blocked in one");
                    self.landed(pid, endpoint, &reply.data);
                }
            }
        }
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
                let _ = self
                    .k
                    .send_from_kernel(EndpointId(endpoint), 0, &data(len), self.now_ns);
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
        if self.now_ns % 3 == 0 {
            let _ = self.k.drain_events();
        }
    }
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
