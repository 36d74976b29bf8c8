//! Fault isolation, hostile guests, clear errors and "nothing lost" on the native host, inside a
//! headless Bevy app. Real guests plus small fault-injection
//! modules (tests/reliability_common). Each test prints its figures (run with --nocapture).
//!
//! Needs the guest modules: `cargo xtask guests` (the README's `cargo xtask test` builds them).

mod reliability_common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use bevy::prelude::*;
use orbital_playground::abi::ErrorCode;
use orbital_playground::kernel::{
    BlockReason, EndpointId, ExitReason, KernelEvent, ObjectRef, ProcessId, ProcessState,
};
use orbital_playground::supervisor::{
    HostError, KillError, ProcessView, SpawnError, SupervisorIntent,
};
use reliability_common::*;

fn zombie_reason(h: &Harness, pid: ProcessId) -> Option<ExitReason> {
    match h.state(pid) {
        Some(ProcessState::Zombie(reason)) => Some(reason),
        _ => None,
    }
}

fn view_of(h: &mut Harness, pid: ProcessId) -> Option<ProcessView> {
    let world = h.app.world_mut();
    let mut q = world.query::<(&orbital_playground::supervisor::ProcessEntity, &ProcessView)>();
    q.iter(world)
        .find(|(e, _)| e.pid == pid)
        .map(|(_, v)| v.clone())
}

#[test]
fn traps_become_zombies_with_their_message_while_traffic_keeps_flowing() {
    let _serial = serial();
    let mut h = Harness::boot(0, true);
    let receiver = h.spawn("receiver");
    let _sender = h.spawn("sender");
    h.wait_for("the receiver to count 100 messages", |h| {
        h.console_of(receiver)
            .contains("receiver: 100 messages in order")
    });
    let received_before = h
        .handle()
        .lock()
        .kernel()
        .process(receiver)
        .unwrap()
        .metrics
        .ipc_received;

    // Faults injected: three crashers (unreachable) and one of each other trap kind, at once.
    let faults = [
        ("crasher", "unreachable"),
        ("crasher", "unreachable"),
        ("crasher", "unreachable"),
        ("oob", "out of bounds"),
        ("divzero", "divi"),
        ("recurse", "stack"),
    ];
    let pids: Vec<(ProcessId, &str, &str)> =
        faults.iter().map(|(p, m)| (h.spawn(p), *p, *m)).collect();
    h.wait_for("every faulting guest to become a Zombie", |h| {
        pids.iter()
            .all(|(pid, _, _)| zombie_reason(h, *pid).is_some())
    });
    for (pid, program, needle) in &pids {
        let Some(ExitReason::Trapped { message }) = zombie_reason(&h, *pid) else {
            panic!(
                "{program} (pid {pid}) should have trapped: {:?}",
                h.state(*pid)
            );
        };
        println!(
            "fault: {program} (pid {}) -> Zombie, trapped: {message}",
            pid.0
        );
        assert!(
            message.to_lowercase().contains(needle),
            "{program}'s trap message {message:?} should mention {needle:?}"
        );
        assert!(
            h.console_of(*pid).contains("trapped"),
            "the trap of {program} reaches the console"
        );
    }
    // Everyone else keeps running, and the traffic keeps flowing, in order.
    h.wait_for("200 more messages after the faults", |h| {
        h.handle()
            .lock()
            .kernel()
            .process(receiver)
            .unwrap()
            .metrics
            .ipc_received
            >= received_before + 200
    });
    for name in ["init", "terminal", "idle", "receiver", "sender"] {
        let pid = h.pid_of(name).unwrap();
        assert!(
            zombie_reason(&h, pid).is_none(),
            "{name} died with the faulting guests"
        );
    }
    assert!(!h.console_of(receiver).contains("OUT OF ORDER"));
    h.wait_for("the faulted guests' threads to end", |h| {
        h.live_guests() == 5
    });
    // Nothing lost: each Zombie keeps its entity, exit reason and metrics until reaped.
    h.settle(3);
    for (pid, program, _) in &pids {
        let view = view_of(&mut h, *pid)
            .unwrap_or_else(|| panic!("{program}'s entity is gone before it was reaped"));
        assert!(
            matches!(view.state, ProcessState::Zombie(ExitReason::Trapped { .. })),
            "{program}: {:?}",
            view.state
        );
        if *program == "crasher" {
            assert!(
                view.metrics.syscall_count >= 3,
                "crasher's metrics survive: {:?}",
                view.metrics
            );
        }
    }
    println!(
        "faults: {} injected, {} became Zombies with their trap message, 5 other processes kept running",
        pids.len(),
        pids.len()
    );
    // Until the user dismisses them.
    for (pid, _, _) in &pids {
        h.app
            .world_mut()
            .write_message(SupervisorIntent::Reap { pid: *pid });
    }
    h.wait_for("reaped zombies to leave the table and the ECS", |h| {
        pids.iter().all(|(pid, _, _)| h.state(*pid).is_none()) && h.entity_count() == 5
    });
}

#[test]
fn spinners_are_killed_and_their_threads_released() {
    let _serial = serial();
    let mut h = Harness::boot(0, false);
    let live_before = h.live_guests();
    // A new thread names itself after it starts, and an earlier test's threads may still be
    // ending: wait until the OS view matches the host's before taking the baseline.
    h.wait_for("one named OS thread per boot guest", |h| {
        os_threads().1 == h.live_guests()
    });
    let (_, guest_threads_before) = os_threads();
    let spinners: Vec<ProcessId> = (0..3).map(|_| h.spawn("spinner")).collect();
    h.wait_for("the spinners to spin", |h| {
        spinners
            .iter()
            .all(|p| h.console_of(*p).contains("spinning"))
    });
    assert_eq!(h.live_guests(), live_before + 3);
    h.wait_for("one OS thread per spinner", |_| {
        os_threads().1 == guest_threads_before + 3
    });
    let killed_at = Instant::now();
    for pid in &spinners {
        h.handle().lock().kill(*pid).expect("kill spinner");
    }
    let released_in = killed_at.elapsed();
    h.wait_for("the spinner threads to end", |h| {
        h.live_guests() == live_before && os_threads().1 == guest_threads_before
    });
    println!(
        "spinner: 3 killed, threads released in {released_in:?}; guest threads {} -> {}",
        guest_threads_before + 3,
        os_threads().1
    );
    for pid in &spinners {
        assert!(h.state(*pid).is_none(), "a killed process leaves the table");
    }
    h.settle(3);
    assert_eq!(h.entity_count(), 3, "the spinners' entities are despawned");
}

#[test]
fn memory_hogs_are_refused_at_64_mib_and_their_memory_returns() {
    let _serial = serial();
    let mut h = Harness::boot(0, false);
    let total = |h: &Harness| {
        let handle = h.handle();
        let sup = handle.lock();
        sup.kernel().system_metrics(sup.now_ns()).total_memory
    };
    // Everyone else's memory: the system total must be exactly this plus memhog's share.
    let total_and_others = |h: &Harness, except: ProcessId| -> (u64, u64) {
        let handle = h.handle();
        let sup = handle.lock();
        let k = sup.kernel();
        let rest = k
            .processes()
            .values()
            .filter(|p| p.pid != except && !p.state.is_zombie())
            .map(|p| p.accounted_memory())
            .sum();
        (k.system_metrics(0).total_memory, rest)
    };
    h.settle(20);
    let baseline = total(&h);
    let rss_before = rss_kib();
    let memhog = h.spawn("memhog");
    h.wait_for("memhog to be refused", |h| {
        h.console_of(memhog).contains("memhog: refused at")
    });
    let (accounted, limit) = {
        let handle = h.handle();
        let sup = handle.lock();
        let p = sup.kernel().process(memhog).unwrap();
        (
            p.accounted_memory(),
            sup.kernel().config().memory_limit_bytes,
        )
    };
    let rss_full = rss_kib();
    assert!(
        accounted <= limit,
        "memhog accounted {accounted} > limit {limit}"
    );
    assert!(
        accounted >= limit - (2 << 20),
        "memhog was refused early: {accounted} of {limit}"
    );
    assert!(
        zombie_reason(&h, memhog).is_none(),
        "a refusal is an error code, not a fault"
    );
    {
        // One lock: memhog's next syscall may report a new linear memory size at any moment.
        let handle = h.handle();
        let sup = handle.lock();
        let k = sup.kernel();
        let hog = k.process(memhog).unwrap().accounted_memory();
        let rest: u64 = k
            .processes()
            .values()
            .filter(|p| p.pid != memhog && !p.state.is_zombie())
            .map(|p| p.accounted_memory())
            .sum();
        assert_eq!(
            k.system_metrics(0).total_memory,
            rest + hog,
            "the system total includes memhog's memory"
        );
    }
    // linear memory cannot grow past the maximum either: memory.grow answers -1.
    let grower = h.spawn("grower");
    h.wait_for("grower to exit", |h| zombie_reason(h, grower).is_some());
    assert_eq!(
        zombie_reason(&h, grower),
        Some(ExitReason::Exited { code: 7 }),
        "memory.grow past 64 MiB must return -1"
    );
    h.handle().lock().reap(grower).unwrap();
    // When it ends its memory returns to the system total, to the byte.
    h.handle().lock().kill(memhog).unwrap();
    h.wait_for("memhog's thread to end", |h| h.live_guests() == 3);
    let (after, rest) = total_and_others(&h, memhog);
    assert_eq!(after, rest, "memhog's memory left the system total");
    assert!(
        total(&h) <= baseline + (1 << 20),
        "the system total is back near its baseline: {} vs {baseline}",
        total(&h)
    );
    let rss_after = rss_kib();
    println!(
        "memhog: refused at {} MiB accounted (limit {} MiB); system total {} -> {} -> {} bytes; process RSS {} -> {} -> {} KiB",
        accounted >> 20,
        limit >> 20,
        baseline,
        baseline + accounted,
        total(&h),
        rss_before,
        rss_full,
        rss_after
    );
    assert!(
        rss_after + 16 * 1024 < rss_full,
        "the guest's 64 MiB linear memory is given back to the system (RSS {rss_full} -> {rss_after} KiB)"
    );
}

#[test]
fn killing_a_peer_wakes_blocked_senders_and_receivers_with_an_error() {
    let _serial = serial();
    let mut h = Harness::boot(0, true);
    let sink = h.spawn("sink");
    let pusher = h.spawn("pusher");
    let listener = h.spawn("listener");
    let inbox: EndpointId = {
        let handle = h.handle();
        let sup = handle.lock();
        sup.kernel().endpoints_of(sink)[0].id
    };
    h.wait_for(
        "the pusher to fill the sink's queue and the listener to block",
        |h| {
            let handle = h.handle();
            let sup = handle.lock();
            let full = sup
                .kernel()
                .endpoint(inbox)
                .is_some_and(|e| e.queue_len == e.queue_capacity);
            let blocked = matches!(
                sup.kernel().process(listener).map(|p| &p.state),
                Some(ProcessState::Blocked(BlockReason::Receive { .. }))
            );
            full && blocked
        },
    );
    let dropped_before = h.handle().lock().kernel().message_counts().dropped;
    h.handle().lock().kill(sink).unwrap();
    h.wait_for("the pusher and the listener to end", |h| {
        zombie_reason(h, pusher).is_some() && zombie_reason(h, listener).is_some()
    });
    assert_eq!(
        zombie_reason(&h, pusher),
        Some(ExitReason::Exited {
            code: ErrorCode::StaleCapability as i32
        }),
        "the sender retrying on a full queue gets STALE_CAPABILITY once the receiver is gone"
    );
    assert_eq!(
        zombie_reason(&h, listener),
        Some(ExitReason::Exited {
            code: ErrorCode::PeerGone as i32
        }),
        "the receiver blocked on the dead process's endpoint wakes with PEER_GONE"
    );
    let counts = h.handle().lock().kernel().message_counts();
    assert_eq!(
        counts.dropped - dropped_before,
        64,
        "the 64 queued messages are dropped and counted, not lost silently"
    );
    assert_eq!(
        counts.sent,
        counts.delivered + counts.queued + counts.dropped
    );
    // The same with the real programs: kill the receiver under a sending sender.
    let receiver = h.spawn("receiver");
    let sender = h.spawn("sender");
    h.wait_for("traffic", |h| {
        h.console_of(receiver)
            .contains("receiver: 10 messages in order")
    });
    h.handle().lock().kill(receiver).unwrap();
    h.wait_for("the sender to give up", |h| {
        zombie_reason(h, sender).is_some()
    });
    assert_eq!(
        zombie_reason(&h, sender),
        Some(ExitReason::Exited { code: 1 })
    );
    assert!(
        h.console_of(sender).contains("the receiver is gone"),
        "{}",
        h.console_of(sender)
    );
    println!(
        "kill-wakes: sender on a full queue -> STALE_CAPABILITY, blocked receiver -> PEER_GONE, real sender exits 1: no hang"
    );
}

/// Everything rogue could have touched, apart from rogue itself.
#[allow(clippy::type_complexity)]
fn others_snapshot(
    h: &Harness,
    rogue: Option<ProcessId>,
) -> (
    Vec<(ProcessId, String, bool, u64)>,
    BTreeMap<ProcessId, Vec<(u32, ObjectRef, u32, bool)>>,
    Vec<(EndpointId, ProcessId)>,
) {
    let handle = h.handle();
    let sup = handle.lock();
    let k = sup.kernel();
    let others = k.processes().values().filter(|p| Some(p.pid) != rogue);
    let procs = others
        .clone()
        .map(|p| {
            (
                p.pid,
                p.name.clone(),
                p.state.is_zombie(),
                p.metrics.ipc_sent,
            )
        })
        .collect();
    let caps = others
        .map(|p| {
            (
                p.pid,
                k.capabilities(p.pid)
                    .iter()
                    .map(|c| (c.slot, c.object, c.rights, c.stale))
                    .collect(),
            )
        })
        .collect();
    let endpoints = k
        .endpoints()
        .iter()
        .filter(|e| Some(e.owner) != rogue)
        .map(|e| (e.id, e.owner))
        .collect();
    (procs, caps, endpoints)
}

#[test]
fn rogue_forgeries_are_refused_with_documented_codes_and_change_nothing() {
    let _serial = serial();
    let mut h = Harness::boot(0, true);
    let receiver = h.spawn("receiver");
    h.settle(5);
    let before = others_snapshot(&h, None);
    let rogue = h.spawn("rogue");
    h.wait_for("two full rounds of forgeries", |h| {
        h.console_of(rogue).contains("rogue: round 2:")
    });
    let out = h.console_of(rogue);
    assert!(
        !out.contains("ALLOWED") && !out.contains("FORGERY WORKED"),
        "a forgery was let through:\n{out}"
    );
    let attempts = out.lines().filter(|l| l.contains(": refused, ")).count()
        + out.matches("the claim changed nothing").count();
    assert!(
        out.contains("rogue: round 1:") && out.contains(" 0 let through"),
        "{out}"
    );
    // Every refusal the kernel saw is an event with a documented code and a reason.
    let abi_doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/ABI.md")).unwrap();
    let mut by_code: BTreeMap<&'static str, usize> = BTreeMap::new();
    for e in h.events() {
        if let KernelEvent::RequestDenied {
            pid, error, reason, ..
        } = e
        {
            assert_eq!(*pid, rogue, "a denial was charged to someone else: {e:?}");
            assert!(
                ErrorCode::ALL.contains(error) && abi_doc.contains(&format!("`{}`", error.name())),
                "undocumented code {error:?}"
            );
            assert!(!reason.is_empty());
            *by_code.entry(error.name()).or_default() += 1;
        }
    }
    // Each code rogue printed as "refused, CODE" has a RequestDenied event, including the host's
    // own refusals of bad pointers and lengths (reported through the mailbox's HOST_REFUSALS).
    let printed: BTreeSet<&str> = out
        .lines()
        .filter_map(|l| l.split(": refused, ").nth(1))
        .map(str::trim)
        .collect();
    for code in &printed {
        assert!(
            by_code.contains_key(code),
            "rogue was refused with {code} but no RequestDenied event says so: {by_code:?}"
        );
        assert!(
            abi_doc.contains(&format!("`{code}`")),
            "{code} is not documented in docs/ABI.md"
        );
    }
    // And nothing else changed: no process, capability or endpoint of anyone else; nothing from rogue reached the receiver.
    let after = others_snapshot(&h, Some(rogue));
    assert_eq!(before.1, after.1, "someone else's capabilities changed");
    assert_eq!(before.2, after.2, "someone else's endpoints changed");
    let names_before: Vec<_> = before
        .0
        .iter()
        .map(|(p, n, z, _)| (*p, n.clone(), *z))
        .collect();
    let names_after: Vec<_> = after
        .0
        .iter()
        .map(|(p, n, z, _)| (*p, n.clone(), *z))
        .collect();
    assert_eq!(names_before, names_after, "processes changed");
    let rx_inbox = h.handle().lock().kernel().endpoints_of(receiver)[0].id;
    assert!(
        !h.events().iter().any(|e| matches!(e, KernelEvent::MessageSent { from, endpoint, .. } if *from == rogue && *endpoint == rx_inbox)),
        "rogue got a message into the receiver's inbox"
    );
    let denials: usize = by_code.values().sum();
    println!(
        "rogue: {attempts} forgery attempts in 2+ rounds, {denials} RequestDenied events by code {by_code:?}; printed codes {printed:?}"
    );
}

#[test]
fn bad_requests_get_clear_errors_that_say_what_to_do() {
    let _serial = serial();
    let mut h = Harness::boot(0, true);
    let live = h.live_guests();
    let spawn_err =
        |h: &mut Harness, name: &str| h.handle().lock().spawn_program(name).unwrap_err();
    let mut tried = Vec::new();

    let e = spawn_err(&mut h, "solitaire");
    let text = e.to_string();
    assert!(
        matches!(e, SpawnError::UnknownProgram { .. }) && e.code() == ErrorCode::NoSuchProgram,
        "{e:?}"
    );
    assert!(
        text.contains("no program named \"solitaire\"")
            && text.contains("available:")
            && text.contains("receiver"),
        "{text}"
    );
    tried.push(text);

    let e = spawn_err(&mut h, "notwasm");
    let text = e.to_string();
    assert!(
        matches!(
            &e,
            SpawnError::Host {
                error: HostError::InvalidModule { .. },
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        text.contains("notwasm.wasm") && text.contains("cannot run"),
        "{text}"
    );
    tried.push(text);

    let e = spawn_err(&mut h, "nostart");
    let text = e.to_string();
    assert!(
        text.contains("nostart.wasm") && text.contains("does not export a `_start` function"),
        "{text}"
    );
    tried.push(text);

    let e = spawn_err(&mut h, "hugemin");
    let text = e.to_string();
    assert!(
        text.contains("2000 pages") && text.contains("64 MiB"),
        "{text}"
    );
    tried.push(text);

    let e = spawn_err(&mut h, "missing");
    let text = e.to_string();
    assert!(
        matches!(
            &e,
            SpawnError::Host {
                error: HostError::ModuleNotFound { .. },
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        text.contains("missing.wasm")
            && text.contains("cargo xtask guests")
            && text.contains("ORBITAL_GUESTS_DIR"),
        "{text}"
    );
    tried.push(text);

    let e = spawn_err(&mut h, "pusher");
    let text = e.to_string();
    assert!(
        text.contains("pusher needs a running sink") && text.contains("spawn sink first"),
        "{text}"
    );
    tried.push(text);

    // A module importing a function no host provides is refused before anything starts, naming
    // the import and what to do.
    let e = spawn_err(&mut h, "badimport");
    let text = e.to_string();
    assert!(
        text.contains("orbital_format_disk") && text.contains("which no host provides"),
        "{text}"
    );
    tried.push(text);

    for (pid, name) in [(ProcessId(1), "init"), (ProcessId(2), "terminal")] {
        let e = h.handle().lock().kill(pid).unwrap_err();
        assert!(matches!(e, KillError::Protected { .. }), "{e:?}");
        let text = e.to_string();
        assert!(
            text.contains(name) && text.contains("protected system process and cannot be killed"),
            "{text}"
        );
        tried.push(text);
    }
    let e = h.handle().lock().kill(ProcessId(9999)).unwrap_err();
    assert!(e.to_string().contains("no process with pid 9999"), "{e}");
    tried.push(e.to_string());
    let e = h
        .handle()
        .lock()
        .console_input(&"x".repeat(5000))
        .unwrap_err();
    assert!(e.contains("at most"), "{e}");
    tried.push(e);

    // Every refusal reaches a person on the console, nothing was started, and the system runs on.
    let console = h.all_console();
    for needle in [
        "no program named \"solitaire\"",
        "does not export a `_start` function",
        "cargo xtask guests",
        "spawn sink first",
    ] {
        assert!(
            console.contains(needle),
            "the console does not show {needle:?}:\n{console}"
        );
    }
    h.wait_for("no guest thread left over from the refusals", |h| {
        h.live_guests() == live
    });
    let idle = h.pid_of("idle").unwrap();
    let before = h
        .handle()
        .lock()
        .kernel()
        .process(idle)
        .unwrap()
        .metrics
        .syscall_count;
    h.wait_for("idle to keep running", |h| {
        h.handle()
            .lock()
            .kernel()
            .process(idle)
            .unwrap()
            .metrics
            .syscall_count
            > before + 10
    });
    println!("clear errors: {} bad requests tried:", tried.len());
    for t in &tried {
        println!("  - {t}");
    }
}

#[test]
fn ended_processes_stay_viewable_until_cleared() {
    let _serial = serial();
    let mut h = Harness::boot(0, true);
    let receiver = h.spawn("receiver");
    let sender = h.spawn("sender");
    h.wait_for("traffic", |h| {
        h.console_of(receiver)
            .contains("receiver: 100 messages in order")
    });
    let crasher = h.spawn("crasher");
    h.wait_for("the crash", |h| zombie_reason(h, crasher).is_some());
    // A Zombie keeps name, reason and metrics (kernel and ECS) until reaped.
    h.settle(3);
    let view = view_of(&mut h, crasher).expect("the crasher's entity stays");
    assert_eq!(view.name, "crasher");
    assert!(matches!(
        view.state,
        ProcessState::Zombie(ExitReason::Trapped { .. })
    ));
    assert!(view.metrics.syscall_count >= 3);
    // The killed sender's traffic and capability history stay in the logs after it is gone.
    h.handle().lock().kill(sender).unwrap();
    h.handle().lock().kill(receiver).unwrap();
    h.settle(3);
    {
        let handle = h.handle();
        let sup = handle.lock();
        let k = sup.kernel();
        assert!(
            k.traffic_log()
                .iter()
                .any(|t| t.from == sender && t.to == receiver),
            "the killed sender's traffic left the log"
        );
        assert!(
            k.capability_log()
                .iter()
                .any(|c| c.pid == sender || c.pid == receiver),
            "their capability history left the log"
        );
        assert!(
            sup.console_text_of(sender).contains("sender"),
            "the killed sender's console output is gone"
        );
        // A kill removes the process from the table at once; what it was stays in ended_processes.
        for (pid, name) in [(sender, "sender"), (receiver, "receiver")] {
            let ended = k.ended_processes().iter().find(|e| e.pid == pid);
            let ended = ended
                .unwrap_or_else(|| panic!("the killed {name}'s name, reason and metrics are lost"));
            assert_eq!(ended.name, name);
            assert_eq!(ended.reason, ExitReason::Killed { by: None });
            let moved = if name == "sender" {
                ended.metrics.ipc_sent
            } else {
                ended.metrics.ipc_received
            };
            assert!(
                moved >= 100 && ended.metrics.syscall_count >= 100,
                "{name}'s final metrics: {:?}",
                ended.metrics
            );
        }
    }
    // Cleared only when the user asks: reap for a Zombie, ClearLogs for the logs.
    h.app
        .world_mut()
        .write_message(SupervisorIntent::Reap { pid: crasher });
    h.app.world_mut().write_message(SupervisorIntent::ClearLogs);
    h.wait_for("the user's clear", |h| {
        let handle = h.handle();
        let sup = handle.lock();
        let k = sup.kernel();
        k.process(crasher).is_none()
            && k.ended_processes().is_empty()
            && k.capability_log().is_empty()
    });
}
