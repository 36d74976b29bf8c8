//! Property-based fuzzing of the syscall dispatcher: whatever a guest or the supervisor sends,
//! the kernel never panics, answers with a documented code, announces every refusal as
//! `RequestDenied`, leaves the kernel unchanged on a refusal and keeps its invariants.
//!
//! Each case boots a small system (a few processes, endpoints, grants, a process table), then
//! plays a random script against the kernel: raw syscall numbers (known, unknown and
//! `u32::MAX`), arbitrary arguments and data (empty, random, oversized), calls from dead,
//! reaped, zombie and forged pids, and the supervisor's own entry points (register, kill, exit
//! with a trap, reap, tick, memory reports, console input, capability installs). The harness
//! plays the supervisor: it tracks which calls are blocked and applies every effect. After
//! every step it checks the invariants below; a panic anywhere is a failure too.
//!
//! Invariants checked after every step:
//! - `Kernel::audit()` passes (running totals, `sent = delivered + queued + dropped`, bounds,
//!   the capability tree is held where it says);
//! - a refused call returns a documented error code, emits a `RequestDenied` event for that pid
//!   and syscall (except `WOULD_BLOCK`), and changes nothing else (processes, capabilities,
//!   endpoints, message counts, logs, memory);
//! - read-only syscalls (YIELD, GET_PID, TIME, CAP_LIST, PS) change nothing either;
//! - unknown numbers give `UNKNOWN_SYSCALL`; dead callers `NO_SUCH_PROCESS`; blocked callers
//!   `BAD_ARGUMENT`;
//! - `Pending` only for RECEIVE, SEND_RECEIVE and SLEEP, and then the caller is Blocked; every completion is
//!   for a call the harness saw pend, exactly once; the Blocked set in the kernel equals the
//!   harness's;
//! - every reply fits the mailbox data buffer; a RECEIVE reply is header + payload;
//! - zombies hold no capabilities and no endpoints; every endpoint's owner is live; a capability
//!   to a dead object is stale; pids are never reused; memory allocated never passes the limit.
//!
//! CI runs `CI_CASES` cases per property. Longer runs: `ORBITAL_FUZZ=long` (50x), or
//! `PROPTEST_CASES=n`. Run with `--nocapture` to see the execution counts.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};

use orbital_kernel::abi::{ErrorCode, mailbox, memory, nr, rights, slot};
use orbital_kernel::{
    CapabilityInfo, Dispatch, Effect, EndpointId, EndpointInfo, ExitReason, Kernel, KernelConfig,
    KernelEvent, MessageCounts, ObjectRef, ProcessId, ProcessState, Reply, SyscallArgs,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Cases per property in the normal test command.
const CI_CASES: u32 = 2_000;
const MS: u64 = 1_000_000;

/// Per-test counters (each test runs on its own thread, and the runner runs cases on it).
#[derive(Default)]
struct Counters {
    steps: u64,
    dispatches: u64,
    denials: u64,
    /// Successful calls per syscall number, to prove the generator reaches every syscall.
    ok_by_number: [u64; nr::COUNT as usize],
    /// Refusals per error code (index = code - 1).
    denied_by_code: [u64; ErrorCode::ALL.len()],
}

thread_local! {
    static COUNTERS: std::cell::RefCell<Counters> = std::cell::RefCell::new(Counters::default());
}

fn count(f: impl FnOnce(&mut Counters)) {
    COUNTERS.with(|c| f(&mut c.borrow_mut()));
}

/// Every dispatch in this binary, across tests.
static TOTAL_DISPATCHES: AtomicU64 = AtomicU64::new(0);

fn cases() -> u32 {
    if let Some(n) = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return n;
    }
    match std::env::var("ORBITAL_FUZZ").as_deref() {
        Ok("long") => CI_CASES * 50,
        _ => CI_CASES,
    }
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    })
}

/// Which process a step acts as: one ever registered (live, zombie, reaped or killed), or any
/// raw number (0 = the kernel, forged pids far out of range).
#[derive(Clone, Debug)]
enum Who {
    Known(usize),
    Raw(u32),
}

#[derive(Clone, Debug)]
enum Op {
    Register,
    Syscall {
        who: Who,
        number: u32,
        args: [Arg; 3],
        data: Vec<u8>,
    },
    /// The supervisor's kill (no protection check).
    Kill(Who),
    /// The host reports a trap or running out of memory.
    Fault {
        who: Who,
        out_of_memory: bool,
    },
    Reap(Who),
    /// Time moves (or a confused caller passes an earlier time).
    Tick {
        advance_ms: u32,
        rewind: bool,
    },
    ReportMemory {
        who: Who,
        bytes: u64,
    },
    ConsoleInput {
        endpoint: u32,
        data: Vec<u8>,
    },
    CreateEndpoint(Who),
    Install {
        who: Who,
        object: u8,
        id: u32,
        rights: u32,
        slot: Option<u32>,
    },
    SetProtected {
        who: Who,
        on: bool,
    },
    ClearLogs,
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        8 => (0usize..16).prop_map(Who::Known),
        1 => prop_oneof![Just(0u32), Just(u32::MAX), 0u32..40, any::<u32>()].prop_map(Who::Raw),
    ]
}

/// An argument word: a literal, or something resolved against the state at that step (a slot
/// the caller holds, a pid that exists or existed) so scripts reach deep states, not just
/// refusals.
#[derive(Clone, Copy, Debug)]
enum Arg {
    Lit(u32),
    HeldSlot(usize),
    KnownPid(usize),
}

fn arg() -> impl Strategy<Value = Arg> {
    prop_oneof![
        6 => (0usize..64).prop_map(Arg::HeldSlot),
        3 => (0usize..16).prop_map(Arg::KnownPid),
        4 => (0u32..8).prop_map(Arg::Lit),
        1 => (0u32..70).prop_map(Arg::Lit),
        1 => Just(Arg::Lit(slot::NONE)),
        1 => Just(Arg::Lit(rights::STALE)),
        1 => Just(Arg::Lit(i32::MAX as u32)),
        1 => (1u32..=64).prop_map(|mib| Arg::Lit(mib << 20)),
        1 => any::<u32>().prop_map(Arg::Lit),
    ]
}

fn number() -> impl Strategy<Value = u32> {
    prop_oneof![
        12 => 0u32..nr::COUNT,
        1 => nr::COUNT..1_000,
        1 => any::<u32>(),
    ]
}

fn data() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => Just(Vec::new()),
        4 => prop::collection::vec(any::<u8>(), 0..48),
        2 => prop_oneof![Just("idle"), Just("receiver"), Just(""), Just("  "), Just("no-such")]
            .prop_map(|s| s.as_bytes().to_vec()),
        1 => Just(vec![0xff, 0xfe, 0x00]),
        1 => (mailbox::MAX_MESSAGE_BYTES - 2..mailbox::DATA_CAPACITY + 40).prop_map(|n| vec![0x5a; n]),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => Just(Op::Register),
        40 => (who(), number(), [arg(), arg(), arg()], data())
            .prop_map(|(who, number, args, data)| Op::Syscall { who, number, args, data }),
        1 => who().prop_map(Op::Kill),
        1 => (who(), any::<bool>()).prop_map(|(who, out_of_memory)| Op::Fault { who, out_of_memory }),
        1 => who().prop_map(Op::Reap),
        4 => (0u32..300, prop::bool::weighted(0.1)).prop_map(|(advance_ms, rewind)| Op::Tick { advance_ms, rewind }),
        1 => (who(), prop_oneof![Just(0u64), 0u64..(80 << 20), Just(u64::MAX)])
            .prop_map(|(who, bytes)| Op::ReportMemory { who, bytes }),
        2 => (0u32..12, data()).prop_map(|(endpoint, data)| Op::ConsoleInput { endpoint, data }),
        1 => who().prop_map(Op::CreateEndpoint),
        1 => (who(), 0u8..4, 0u32..12, 0u32..16, prop::option::of(0u32..70))
            .prop_map(|(who, object, id, rights, slot)| Op::Install { who, object, id, rights, slot }),
        1 => (who(), any::<bool>()).prop_map(|(who, on)| Op::SetProtected { who, on }),
        1 => Just(Op::ClearLogs),
    ]
}

/// What a refused call must leave alone in one process: pid, name, state, allocated bytes,
/// memory size, protected, messages sent and received.
type ProcessSnapshot = (ProcessId, String, ProcessState, u64, usize, bool, u64, u64);

/// Everything a refused call must leave alone.
#[derive(Debug, PartialEq)]
struct Snapshot {
    processes: Vec<ProcessSnapshot>,
    caps: BTreeMap<ProcessId, Vec<CapabilityInfo>>,
    endpoints: Vec<EndpointInfo>,
    counts: MessageCounts,
    traffic: (usize, u64),
    cap_log: (usize, u64),
    total_memory: u64,
}

fn snapshot(k: &Kernel) -> Snapshot {
    let (traffic_dropped, cap_dropped) = k.logs_dropped();
    Snapshot {
        processes: k
            .processes()
            .values()
            .map(|p| {
                let m = &p.metrics;
                (
                    p.pid,
                    p.name.clone(),
                    p.state.clone(),
                    p.allocated_bytes,
                    m.memory_size,
                    p.protected,
                    m.ipc_sent,
                    m.ipc_received,
                )
            })
            .collect(),
        caps: k
            .processes()
            .keys()
            .map(|pid| (*pid, k.capabilities(*pid)))
            .collect(),
        endpoints: k.endpoints(),
        counts: k.message_counts(),
        traffic: (k.traffic_log().len(), traffic_dropped),
        cap_log: (k.capability_log().len(), cap_dropped),
        total_memory: k.system_metrics(0).total_memory,
    }
}

/// The harness: the kernel plus what a supervisor would know.
struct World {
    k: Kernel,
    now_ns: u64,
    /// Every pid ever registered, in order.
    pids: Vec<ProcessId>,
    /// Calls that returned `Pending` and have not completed.
    blocked: BTreeMap<ProcessId, u32>,
    /// Guests the kernel asked to stop.
    stopped: BTreeSet<ProcessId>,
}

macro_rules! check {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(TestCaseError::fail(format!($($msg)+)));
        }
    };
}

impl World {
    fn new() -> World {
        let config = KernelConfig {
            queue_capacity: 4,
            traffic_log_capacity: 32,
            cap_log_capacity: 32,
            event_capacity: 4096,
            max_processes: 24,
            max_endpoints: 16,
            ..KernelConfig::default()
        };
        let mut w = World {
            k: Kernel::new(config),
            now_ns: 1_000,
            pids: Vec::new(),
            blocked: BTreeMap::new(),
            stopped: BTreeSet::new(),
        };
        // init (protected, process table), a receiver with an inbox, a sender wired to it (W),
        // a reader wired to it (R) and a granter holding a GRANT copy.
        let init = w.register("init");
        w.k.set_protected(init, true).unwrap();
        w.k.install_capability(init, ObjectRef::ProcessTable, rights::WRITE, w.now_ns)
            .unwrap();
        let receiver = w.register("receiver");
        let (inbox, _) = w.k.create_endpoint(receiver, w.now_ns).unwrap();
        let sender = w.register("sender");
        w.k.install_capability(sender, ObjectRef::Endpoint(inbox), rights::WRITE, w.now_ns)
            .unwrap();
        let reader = w.register("reader");
        w.k.install_capability(reader, ObjectRef::Endpoint(inbox), rights::READ, w.now_ns)
            .unwrap();
        let granter = w.register("granter");
        w.k.install_capability(granter, ObjectRef::Endpoint(inbox), rights::ALL, w.now_ns)
            .unwrap();
        w.k.install_capability(
            granter,
            ObjectRef::Process(receiver),
            rights::READ | rights::GRANT,
            w.now_ns,
        )
        .unwrap();
        let _ = w.k.take_effects();
        let _ = w.k.drain_events();
        w
    }

    fn register(&mut self, name: &str) -> ProcessId {
        let pid = self.k.register_process(name, self.now_ns).unwrap();
        self.pids.push(pid);
        pid
    }

    fn pid(&self, who: &Who) -> ProcessId {
        match who {
            Who::Known(i) if !self.pids.is_empty() => self.pids[i % self.pids.len()],
            Who::Known(i) => ProcessId(*i as u32),
            Who::Raw(raw) => ProcessId(*raw),
        }
    }

    fn resolve(&self, caller: ProcessId, arg: Arg) -> u32 {
        match arg {
            Arg::Lit(v) => v,
            Arg::HeldSlot(i) => {
                let caps = self.k.capabilities(caller);
                if caps.is_empty() {
                    i as u32
                } else {
                    caps[i % caps.len()].slot
                }
            }
            Arg::KnownPid(i) => self.pid(&Who::Known(i)).0,
        }
    }

    /// Applies the kernel's effects as the supervisor would, checking each one.
    fn apply_effects(&mut self) -> Result<(), TestCaseError> {
        for effect in self.k.take_effects() {
            match effect {
                Effect::Complete { pid, reply } => {
                    let Some(number) = self.blocked.remove(&pid) else {
                        return Err(TestCaseError::fail(format!(
                            "completion for pid {pid} which has no blocked call: {reply:?}"
                        )));
                    };
                    check_reply(number, &reply)?;
                    if number == nr::SLEEP {
                        check!(reply.result == 0, "SLEEP completed with {}", reply.result);
                    }
                    if let Some(p) = self.k.process(pid) {
                        check!(
                            !p.state.is_blocked(),
                            "pid {pid} completed but still {:?}",
                            p.state
                        );
                    }
                }
                Effect::StopGuest { pid } => {
                    check!(
                        self.k.process(pid).is_none_or(|p| p.state.is_zombie()),
                        "StopGuest for live pid {pid}"
                    );
                    self.blocked.remove(&pid);
                    self.stopped.insert(pid);
                }
            }
        }
        Ok(())
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        count(|c| c.steps += 1);
        match op {
            Op::Register => {
                if let Ok(pid) = self.k.register_process("fuzz", self.now_ns) {
                    check!(
                        self.pids.last().is_none_or(|last| pid > *last),
                        "pid {pid} reused or not increasing"
                    );
                    self.pids.push(pid);
                }
            }
            Op::Syscall {
                who,
                number,
                args,
                data,
            } => {
                let pid = self.pid(who);
                let args = args.map(|a| self.resolve(pid, a));
                self.syscall(pid, *number, args, data)?;
            }
            Op::Kill(who) => {
                let pid = self.pid(who);
                let existed = self.k.process(pid).is_some();
                let was_live = self.k.process(pid).is_some_and(|p| !p.state.is_zombie());
                let metrics_before = self.k.process(pid).map(|p| {
                    let mut m = p.metrics.clone();
                    m.last_active_ns = self.now_ns.max(m.last_active_ns);
                    m
                });
                let r = self.k.kill_process(pid, None, self.now_ns);
                check!(
                    r.is_ok() == existed,
                    "kill of pid {pid} (existed: {existed}) gave {r:?}"
                );
                check!(
                    self.k.process(pid).is_none(),
                    "killed pid {pid} still in the table"
                );
                if existed {
                    self.blocked.remove(&pid);
                }
                if was_live {
                    // Nothing lost: the killed process's name, metrics and reason stay viewable.
                    let last = self.k.ended_processes().back();
                    check!(
                        last.is_some_and(|e| e.pid == pid
                            && e.reason == ExitReason::Killed { by: None }
                            && e.metrics == metrics_before.unwrap()),
                        "killed pid {pid} is not in ended_processes as it was: {last:?}"
                    );
                }
            }
            Op::Fault { who, out_of_memory } => {
                let pid = self.pid(who);
                let live = self.k.process(pid).is_some_and(|p| !p.state.is_zombie());
                let reason = if *out_of_memory {
                    ExitReason::OutOfMemory
                } else {
                    ExitReason::Trapped {
                        message: "wasm trap: unreachable".into(),
                    }
                };
                let r = self.k.exit_process(pid, reason.clone(), self.now_ns);
                check!(
                    r.is_ok() == live,
                    "exit of pid {pid} (live: {live}) gave {r:?}"
                );
                if live {
                    let p = self.k.process(pid).unwrap();
                    check!(
                        p.state == ProcessState::Zombie(reason),
                        "pid {pid} is {:?} after a fault",
                        p.state
                    );
                    self.blocked.remove(&pid);
                }
            }
            Op::Reap(who) => {
                let pid = self.pid(who);
                let zombie = self.k.process(pid).is_some_and(|p| p.state.is_zombie());
                let r = self.k.reap_process(pid, self.now_ns);
                check!(
                    r.is_ok() == zombie,
                    "reap of pid {pid} (zombie: {zombie}) gave {:?}",
                    r.map(|p| p.pid)
                );
            }
            Op::Tick { advance_ms, rewind } => {
                if *rewind {
                    self.k
                        .tick(self.now_ns.saturating_sub(u64::from(*advance_ms) * MS));
                } else {
                    self.now_ns += u64::from(*advance_ms) * MS;
                    self.k.tick(self.now_ns);
                }
                if let Some(wake) = self.k.next_wake_ns() {
                    check!(
                        wake > self.now_ns,
                        "a sleeper due at {wake} was not woken at {}",
                        self.now_ns
                    );
                }
            }
            Op::ReportMemory { who, bytes } => {
                let pid = self.pid(who);
                let live = self.k.process(pid).is_some_and(|p| !p.state.is_zombie());
                let r = self.k.report_memory(pid, *bytes, self.now_ns);
                check!(
                    r.is_ok() == live,
                    "report_memory for pid {pid} (live: {live}) gave {r:?}"
                );
            }
            Op::ConsoleInput { endpoint, data } => {
                let endpoint = EndpointId(*endpoint);
                let before = snapshot(&self.k);
                match self.k.send_from_kernel(endpoint, 0, data, self.now_ns) {
                    Ok(()) => check!(
                        data.len() <= mailbox::MAX_MESSAGE_BYTES,
                        "kernel accepted {} bytes",
                        data.len()
                    ),
                    Err(code) => {
                        check!(
                            matches!(
                                code,
                                ErrorCode::BadArgument
                                    | ErrorCode::QueueFull
                                    | ErrorCode::MessageTooLarge
                            ),
                            "send_from_kernel gave undocumented {code:?}"
                        );
                        check!(
                            snapshot(&self.k) == before,
                            "refused console input changed the kernel"
                        );
                    }
                }
            }
            Op::CreateEndpoint(who) => {
                let pid = self.pid(who);
                if let Ok((id, slot)) = self.k.create_endpoint(pid, self.now_ns) {
                    check!(
                        self.k.endpoint(id).is_some_and(|e| e.owner == pid),
                        "endpoint {id} not owned by {pid}"
                    );
                    check!(slot < slot::CAPACITY, "slot {slot} out of range");
                }
            }
            Op::Install {
                who,
                object,
                id,
                rights,
                slot,
            } => {
                let pid = self.pid(who);
                let object = match object {
                    0 => ObjectRef::Endpoint(EndpointId(*id)),
                    1 => ObjectRef::Process(ProcessId(*id)),
                    2 => ObjectRef::Console,
                    _ => ObjectRef::ProcessTable,
                };
                let before = snapshot(&self.k);
                let r = match slot {
                    Some(s) => self
                        .k
                        .install_capability_at(pid, *s, object, *rights, self.now_ns)
                        .map(|_| *s),
                    None => self.k.install_capability(pid, object, *rights, self.now_ns),
                };
                match r {
                    Ok(s) => check!(
                        self.k
                            .capabilities(pid)
                            .iter()
                            .any(|c| c.slot == s && c.object == object && c.rights == *rights),
                        "installed capability not found in slot {s}"
                    ),
                    Err(_) => check!(
                        snapshot(&self.k) == before,
                        "a refused install changed the kernel"
                    ),
                }
            }
            Op::SetProtected { who, on } => {
                let pid = self.pid(who);
                let _ = self.k.set_protected(pid, *on);
            }
            Op::ClearLogs => {
                self.k.clear_logs();
                check!(
                    self.k.traffic_log().is_empty()
                        && self.k.capability_log().is_empty()
                        && self.k.ended_processes().is_empty(),
                    "logs not cleared"
                );
            }
        }
        self.apply_effects()?;
        self.check_invariants()
    }

    fn syscall(
        &mut self,
        pid: ProcessId,
        number: u32,
        args: [u32; 3],
        data: &[u8],
    ) -> Result<(), TestCaseError> {
        count(|c| c.dispatches += 1);
        TOTAL_DISPATCHES.fetch_add(1, Ordering::Relaxed);
        let state = self.k.process(pid).map(|p| p.state.clone());
        let before = snapshot(&self.k);
        let syscalls_before = self.k.system_metrics(0).syscalls;
        let outcome = self
            .k
            .dispatch(pid, SyscallArgs::new(number, args), data, self.now_ns);
        let events = self.k.drain_events();
        check!(
            self.k.system_metrics(0).syscalls == syscalls_before + 1,
            "syscall not counted"
        );
        match &outcome {
            Dispatch::Complete(reply) => {
                check_reply(number, reply)?;
                if reply.result < 0 {
                    let code = ErrorCode::from_result(reply.result);
                    check!(
                        code.is_some(),
                        "undocumented result {} for syscall {number}",
                        reply.result
                    );
                    let code = code.unwrap();
                    count(|c| {
                        c.denials += 1;
                        c.denied_by_code[code as usize - 1] += 1;
                    });
                    check!(
                        reply.data.is_empty() || number == nr::SPAWN,
                        "a refusal carried data"
                    );
                    let announced = events.iter().any(|e| {
                        matches!(e, KernelEvent::RequestDenied { pid: p, syscall, error, reason, .. }
                            if *p == pid && *syscall == number && *error == code && !reason.is_empty())
                    });
                    check!(
                        announced || code == ErrorCode::WouldBlock,
                        "refusal {code:?} of syscall {number} by {pid} not shown as RequestDenied"
                    );
                    check!(
                        snapshot(&self.k) == before,
                        "refused syscall {number} by pid {pid} ({code:?}) changed the kernel"
                    );
                    let expected = match &state {
                        None | Some(ProcessState::Zombie(_)) => Some(ErrorCode::NoSuchProcess),
                        Some(ProcessState::Blocked(_)) => Some(ErrorCode::BadArgument),
                        Some(ProcessState::Running) if data.len() > mailbox::DATA_CAPACITY => {
                            Some(ErrorCode::MessageTooLarge)
                        }
                        Some(ProcessState::Running) if number >= nr::COUNT => {
                            Some(ErrorCode::UnknownSyscall)
                        }
                        Some(ProcessState::Running) => None,
                    };
                    if let Some(expected) = expected {
                        check!(
                            code == expected,
                            "syscall {number} by pid {pid} in state {state:?}: got {code:?}, expected {expected:?}"
                        );
                    }
                } else {
                    check!(
                        matches!(state, Some(ProcessState::Running)),
                        "pid {pid} in state {state:?} got success {}",
                        reply.result
                    );
                    check!(number < nr::COUNT, "unknown syscall {number} succeeded");
                    count(|c| c.ok_by_number[number as usize] += 1);
                    if matches!(
                        number,
                        nr::YIELD | nr::GET_PID | nr::TIME | nr::CAP_LIST | nr::PS
                    ) {
                        check!(
                            snapshot(&self.k) == before,
                            "read-only syscall {number} changed the kernel"
                        );
                    }
                    if number == nr::GET_PID {
                        check!(
                            reply.result == pid.0 as i32,
                            "GET_PID gave {} to pid {pid}",
                            reply.result
                        );
                    }
                }
            }
            Dispatch::Pending => {
                check!(
                    number == nr::RECEIVE || number == nr::SEND_RECEIVE || number == nr::SLEEP,
                    "syscall {number} pended"
                );
                check!(
                    self.k.process(pid).is_some_and(|p| p.state.is_blocked()),
                    "pending but pid {pid} not Blocked"
                );
                check!(
                    self.blocked.insert(pid, number).is_none(),
                    "pid {pid} pended twice"
                );
            }
            Dispatch::Exited => {
                check!(
                    number == nr::EXIT || (number == nr::KILL && args[1] == pid.0),
                    "syscall {number} exited the caller"
                );
                check!(
                    self.k.process(pid).is_none_or(|p| p.state.is_zombie()),
                    "pid {pid} still live after Exited"
                );
            }
            Dispatch::Spawn { program } => {
                check!(number == nr::SPAWN, "syscall {number} asked for a spawn");
                check!(
                    !program.is_empty() && !program.trim().is_empty(),
                    "empty program name passed the kernel"
                );
                // The supervisor: known names start, others are NO_SUCH_PROGRAM (nothing to check here).
                if (program == "idle" || program == "receiver")
                    && let Ok(child) = self.k.register_process(program, self.now_ns)
                {
                    self.pids.push(child);
                }
            }
        }
        Ok(())
    }

    fn check_invariants(&self) -> Result<(), TestCaseError> {
        if let Err(e) = self.k.audit() {
            return Err(TestCaseError::fail(format!("audit: {e}")));
        }
        let kernel_blocked: BTreeSet<ProcessId> = self
            .k
            .processes()
            .values()
            .filter(|p| p.state.is_blocked())
            .map(|p| p.pid)
            .collect();
        let harness_blocked: BTreeSet<ProcessId> = self.blocked.keys().copied().collect();
        check!(
            kernel_blocked == harness_blocked,
            "blocked in kernel {kernel_blocked:?} != pending calls {harness_blocked:?}"
        );
        let live_endpoints: BTreeSet<EndpointId> =
            self.k.endpoints().iter().map(|e| e.id).collect();
        for e in self.k.endpoints() {
            check!(
                self.k
                    .process(e.owner)
                    .is_some_and(|p| !p.state.is_zombie()),
                "endpoint {} owned by dead pid {}",
                e.id,
                e.owner
            );
            check!(
                e.queue_len <= e.queue_capacity,
                "endpoint {} over capacity",
                e.id
            );
        }
        for p in self.k.processes().values() {
            let caps = self.k.capabilities(p.pid);
            if p.state.is_zombie() {
                check!(caps.is_empty(), "zombie {} holds capabilities", p.pid);
                check!(
                    p.endpoint_ids().is_empty(),
                    "zombie {} owns endpoints",
                    p.pid
                );
            }
            check!(
                caps.len() <= slot::CAPACITY as usize,
                "pid {} has {} capabilities",
                p.pid,
                caps.len()
            );
            for c in &caps {
                check!(c.slot < slot::CAPACITY, "slot {} out of range", c.slot);
                check!(
                    c.rights & !rights::ALL == 0,
                    "capability with rights {:#x}",
                    c.rights
                );
                let alive = match c.object {
                    ObjectRef::Endpoint(e) => live_endpoints.contains(&e),
                    ObjectRef::Process(q) => {
                        self.k.process(q).is_some_and(|q| !q.state.is_zombie())
                    }
                    _ => true,
                };
                check!(
                    alive || c.stale,
                    "pid {} slot {} points at dead {} but is not stale",
                    p.pid,
                    c.slot,
                    c.object
                );
            }
            check!(
                p.allocated_bytes <= memory::LIMIT_BYTES,
                "pid {} allocated {} bytes",
                p.pid,
                p.allocated_bytes
            );
        }
        check!(
            self.k.events_pending() <= self.k.config().event_capacity,
            "event queue over its bound"
        );
        Ok(())
    }
}

/// A reply must fit the mailbox, and a RECEIVE reply is the 12-byte header plus the payload.
fn check_reply(number: u32, reply: &Reply) -> Result<(), TestCaseError> {
    check!(
        reply.data.len() <= mailbox::DATA_CAPACITY,
        "reply to {number} has {} bytes",
        reply.data.len()
    );
    if (number == nr::RECEIVE || number == nr::TRY_RECEIVE || number == nr::SEND_RECEIVE)
        && reply.result >= 0
    {
        check!(
            reply.data.len() == mailbox::RECV_HEADER_BYTES + reply.result as usize,
            "RECEIVE result {} but {} data bytes",
            reply.result,
            reply.data.len()
        );
    }
    Ok(())
}

fn run_script(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut w = World::new();
    w.check_invariants()?;
    for op in &ops {
        w.step(op)?;
    }
    // Tear down as a scenario reset would: everything goes, nothing is left behind.
    w.now_ns += 1;
    for pid in w.k.processes().keys().copied().collect::<Vec<_>>() {
        w.k.kill_process(pid, None, w.now_ns)
            .map_err(|e| TestCaseError::fail(format!("teardown kill {pid}: {e:?}")))?;
    }
    w.apply_effects()?;
    check!(
        w.blocked.is_empty(),
        "blocked calls survived teardown: {:?}",
        w.blocked
    );
    let m = w.k.system_metrics(w.now_ns);
    check!(
        m.processes == 0 && m.endpoints == 0 && m.total_memory == 0,
        "teardown left {m:?}"
    );
    let c = w.k.message_counts();
    check!(
        c.queued == 0 && c.sent == c.delivered + c.dropped,
        "teardown message counts {c:?}"
    );
    w.check_invariants()
}

/// Prints this test's execution counts (visible with `--nocapture`) and returns them.
fn report(name: &str, cases: u32) -> Counters {
    let c = COUNTERS.with(|c| std::mem::take(&mut *c.borrow_mut()));
    println!(
        "{name}: {cases} cases, {} steps, {} dispatches ({} refused); {} dispatches in this binary so far",
        c.steps,
        c.dispatches,
        c.denials,
        TOTAL_DISPATCHES.load(Ordering::Relaxed)
    );
    let ok: Vec<String> = (0..nr::COUNT)
        .filter_map(|n| {
            orbital_kernel::abi::Syscall::from_raw(n)
                .map(|s| format!("{}={}", s.name(), c.ok_by_number[n as usize]))
        })
        .collect();
    println!("  succeeded: {}", ok.join(" "));
    let denied: Vec<String> = ErrorCode::ALL
        .iter()
        .filter(|e| c.denied_by_code[**e as usize - 1] > 0)
        .map(|e| format!("{}={}", e.name(), c.denied_by_code[*e as usize - 1]))
        .collect();
    println!("  refused: {}", denied.join(" "));
    c
}

#[test]
fn fuzz_dispatcher_random_scripts() {
    let mut runner = runner();
    let result = runner.run(&prop::collection::vec(op(), 1..160), run_script);
    let counters = report("fuzz_dispatcher_random_scripts", cases());
    if let Err(e) = result {
        panic!("{e}");
    }
    // The generator is not degenerate: every syscall succeeded at least once (EXIT and a
    // self-KILL end the caller and are counted by their own outcome, not here).
    for n in 0..nr::COUNT {
        // SEND_RECEIVE, like RECEIVE, mostly blocks (its answer then comes as an effect).
        if n != nr::EXIT
            && n != nr::SPAWN
            && n != nr::SLEEP
            && n != nr::RECEIVE
            && n != nr::SEND_RECEIVE
        {
            assert!(
                counters.ok_by_number[n as usize] > 0,
                "syscall {n} never succeeded: the generator misses it"
            );
        }
    }
}

/// Only syscalls, many of them, from the seeded processes: deeper into IPC and capability states.
#[test]
fn fuzz_dispatcher_syscall_storms() {
    let storm = prop::collection::vec(
        prop_oneof![
            20 => ((0usize..6).prop_map(Who::Known), number(), [arg(), arg(), arg()], data())
                .prop_map(|(who, number, args, data)| Op::Syscall { who, number, args, data }),
            2 => (0u32..50).prop_map(|advance_ms| Op::Tick { advance_ms, rewind: false }),
            1 => (0u32..4, data()).prop_map(|(endpoint, data)| Op::ConsoleInput { endpoint, data }),
        ],
        1..300,
    );
    let mut runner = runner();
    let result = runner.run(&storm, run_script);
    report("fuzz_dispatcher_syscall_storms", cases());
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Every raw syscall number class from every kind of caller, exhaustively for the small ones.
#[test]
fn every_number_from_every_kind_of_caller_is_answered() {
    let mut w = World::new();
    let zombie = w.register("zombie");
    w.k.exit_process(
        zombie,
        ExitReason::Trapped {
            message: "boom".into(),
        },
        w.now_ns,
    )
    .unwrap();
    let killed = w.register("killed");
    w.k.kill_process(killed, None, w.now_ns).unwrap();
    let sleeper = w.register("sleeper");
    w.apply_effects().unwrap();
    w.syscall(sleeper, nr::SLEEP, [60_000, 0, 0], &[]).unwrap();
    let callers = [
        ProcessId(1),
        ProcessId(2),
        zombie,
        killed,
        sleeper,
        ProcessId(0),
        ProcessId(999),
        ProcessId(u32::MAX),
    ];
    let numbers: Vec<u32> = (0..64)
        .chain([1_000, i32::MAX as u32, 1 << 31, u32::MAX - 1, u32::MAX])
        .collect();
    let argsets = [
        [0, 0, 0],
        [1, 2, 3],
        [u32::MAX; 3],
        [63, 64, 65],
        [slot::NONE, 0, slot::NONE],
    ];
    let datas: [&[u8]; 3] = [&[], b"idle", &[0u8; mailbox::DATA_CAPACITY + 1]];
    for pid in callers {
        for &number in &numbers {
            // EXIT and KILL end the caller; they have their own cases in the random scripts.
            if number == nr::EXIT || number == nr::KILL {
                continue;
            }
            for args in argsets {
                for data in datas {
                    w.syscall(pid, number, args, data).unwrap();
                    w.apply_effects().unwrap();
                    w.check_invariants().unwrap();
                    // Anything that blocked is woken so the next call runs from Running.
                    if w.blocked.contains_key(&pid) && pid != sleeper {
                        match w.k.process(pid).map(|p| p.state.clone()) {
                            Some(ProcessState::Blocked(orbital_kernel::BlockReason::Receive {
                                endpoint,
                            })) => {
                                w.k.send_from_kernel(endpoint, 7, b"wake", w.now_ns)
                                    .unwrap();
                            }
                            _ => {
                                w.now_ns += (u64::from(u32::MAX) + 1) * MS;
                                w.k.tick(w.now_ns);
                            }
                        }
                        w.apply_effects().unwrap();
                        assert!(!w.blocked.contains_key(&pid), "pid {pid} was not woken");
                    }
                }
            }
        }
    }
    report("every_number_from_every_kind_of_caller_is_answered", 1);
}

/// Found by `fuzz_dispatcher_random_scripts`: a memory report past what wasm32 can address made
/// the saturating system total forget every other process's memory once that process ended.
#[test]
fn absurd_memory_reports_do_not_corrupt_the_total() {
    let mut w = World::new();
    let before = w.k.system_metrics(0).total_memory;
    let victim = w.pids[1];
    w.k.report_memory(victim, u64::MAX, w.now_ns).unwrap();
    w.k.audit().unwrap();
    w.k.exit_process(victim, ExitReason::OutOfMemory, w.now_ns)
        .unwrap();
    w.k.audit().unwrap();
    assert_eq!(
        w.k.system_metrics(0).total_memory,
        before - memory::INITIAL_BYTES
    );
}
