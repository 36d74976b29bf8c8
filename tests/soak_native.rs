//! Soak on the native host: spawn/kill churn of every kind of guest while
//! counted traffic flows, then everything must be back at its baseline: process table, guest
//! threads (host count and OS threads), ECS entities, kernel memory total and endpoints; and
//! every message sent was received exactly once, in order (counted at both ends).
//!
//! Short by default (300 cycles, 20,000 messages). `ORBITAL_SOAK=full`: 10,000 cycles and
//! 1,000,000 messages. Run with `--nocapture` for the figures.
//!
//! Needs the guest modules: `cargo xtask guests`.

mod reliability_common;

use std::time::Instant;

use orbital_playground::kernel::{ExitReason, ProcessId, ProcessState};
use orbital_playground::supervisor::ProcessEntities;
use reliability_common::*;

struct Plan {
    cycles: usize,
    pairs: u64,
    messages_per_pair: u64,
}

fn plan() -> Plan {
    match std::env::var("ORBITAL_SOAK").as_deref() {
        Ok("full") => Plan {
            cycles: 10_000,
            pairs: 4,
            messages_per_pair: 250_000,
        },
        _ => Plan {
            cycles: 300,
            pairs: 2,
            messages_per_pair: 10_000,
        },
    }
}

#[derive(Debug, PartialEq)]
struct Baseline {
    processes: Vec<(ProcessId, String)>,
    live_guests: usize,
    guest_os_threads: usize,
    entities: usize,
    entity_map: usize,
    total_memory: u64,
    endpoints: usize,
}

fn baseline(h: &mut Harness) -> Baseline {
    // Threads name themselves after they start: take the baseline once the OS agrees with the host.
    h.wait_for("one named OS thread per live guest", |h| {
        os_threads().1 == h.live_guests()
    });
    let entities = h.entity_count();
    let entity_map = h.app.world().resource::<ProcessEntities>().0.len();
    let handle = h.handle();
    let sup = handle.lock();
    let k = sup.kernel();
    Baseline {
        processes: k
            .processes()
            .values()
            .map(|p| (p.pid, p.name.clone()))
            .collect(),
        live_guests: sup.live_guests(),
        guest_os_threads: os_threads().1,
        entities,
        entity_map,
        total_memory: k.system_metrics(sup.now_ns()).total_memory,
        endpoints: k.endpoints().len(),
    }
}

#[test]
fn soak_spawn_kill_churn_with_counted_traffic_returns_to_baseline() {
    let _serial = serial();
    let plan = plan();
    let mut h = Harness::boot(plan.messages_per_pair, false);
    // Let the boot settle (terminal blocked, init asleep) before measuring.
    h.settle(20);
    let before = baseline(&mut h);
    let rss_before = rss_kib();
    let counts_before = h.handle().lock().kernel().message_counts();
    let started = Instant::now();

    // Counted traffic: each pair is a tally (receiver) and a burst (sender) wired to it.
    let mut pairs = Vec::new();
    for _ in 0..plan.pairs {
        let tally = h.spawn("tally");
        let burst = h.spawn("burst");
        pairs.push((tally, burst));
    }

    // Churn while the traffic flows: every kind of guest, killed at once or after it ran a while,
    // crashers reaped after their trap.
    const CHURN: [&str; 6] = [
        "idle", "spinner", "receiver", "memhog", "crasher", "pingpong",
    ];
    let mut spawned = 0usize;
    let mut killed = 0usize;
    let mut trapped = 0usize;
    let mut crashers: Vec<ProcessId> = Vec::new();
    for cycle in 0..plan.cycles {
        let program = CHURN[cycle % CHURN.len()];
        let pid = h.spawn(program);
        spawned += 1;
        if program == "crasher" {
            crashers.push(pid);
        } else {
            // Every third one runs for a frame first, so kills land in every phase of a guest's life.
            if cycle % 3 == 0 {
                h.app.update();
            }
            h.handle()
                .lock()
                .kill(pid)
                .unwrap_or_else(|e| panic!("cycle {cycle}: kill {program} (pid {}): {e}", pid.0));
            killed += 1;
        }
        // Reap crashers that have trapped; update the app now and then so the ECS follows.
        if cycle % 10 == 9 {
            h.app.update();
            crashers.retain(|pid| {
                let zombie = matches!(h.state(*pid), Some(ProcessState::Zombie(_)));
                if zombie {
                    h.handle().lock().reap(*pid).unwrap();
                    trapped += 1;
                }
                !zombie
            });
        }
        if cycle % 1000 == 999 {
            println!(
                "soak: {} cycles in {:?}, RSS {} KiB",
                cycle + 1,
                started.elapsed(),
                rss_kib()
            );
        }
    }
    h.wait_for("the remaining crashers to trap", |h| {
        crashers
            .iter()
            .all(|pid| matches!(h.state(*pid), Some(ProcessState::Zombie(_))))
    });
    for pid in crashers.drain(..) {
        assert!(matches!(
            h.state(pid),
            Some(ProcessState::Zombie(ExitReason::Trapped { .. }))
        ));
        h.handle().lock().reap(pid).unwrap();
        trapped += 1;
    }
    let churn_done = started.elapsed();

    // Both ends of every pair finish: the sender after its last accepted send, the receiver after
    // receiving every number once, in order.
    h.wait_for("every pair to finish its messages", |h| {
        pairs.iter().all(|(t, b)| {
            matches!(h.state(*t), Some(ProcessState::Zombie(_)))
                && matches!(h.state(*b), Some(ProcessState::Zombie(_)))
        })
    });
    let traffic_done = started.elapsed();
    let mut sent_total = 0;
    let mut received_total = 0;
    {
        let handle = h.handle();
        let sup = handle.lock();
        for (tally, burst) in &pairs {
            let t = sup.kernel().process(*tally).unwrap();
            let b = sup.kernel().process(*burst).unwrap();
            assert_eq!(
                b.state,
                ProcessState::Zombie(ExitReason::Exited { code: 0 }),
                "sender {} did not send all its messages",
                burst.0
            );
            assert_eq!(
                t.state,
                ProcessState::Zombie(ExitReason::Exited { code: 0 }),
                "receiver {} saw a gap, a duplicate or a failure (exit 1 = out of order, 2 = bad length, 100+ = receive error)",
                tally.0
            );
            assert_eq!(b.metrics.ipc_sent, plan.messages_per_pair, "sender's count");
            assert_eq!(
                t.metrics.ipc_received, plan.messages_per_pair,
                "receiver's count"
            );
            sent_total += b.metrics.ipc_sent;
            received_total += t.metrics.ipc_received;
        }
    }
    for (tally, burst) in pairs.drain(..) {
        h.handle().lock().reap(tally).unwrap();
        h.handle().lock().reap(burst).unwrap();
    }

    // Back to the baseline.
    h.wait_for("guest threads and entities back to the baseline", |h| {
        h.live_guests() == before.live_guests
            && os_threads().1 == before.guest_os_threads
            && h.entity_count() == before.entities
    });
    h.settle(5);
    let after = baseline(&mut h);
    let rss_after = rss_kib();
    let (counts, audit, events_dropped) = {
        let handle = h.handle();
        let sup = handle.lock();
        (
            sup.kernel().message_counts(),
            sup.kernel().audit(),
            sup.kernel().events_dropped(),
        )
    };
    let messages = counts.sent - counts_before.sent;
    let delivered = counts.delivered - counts_before.delivered;
    let dropped = counts.dropped - counts_before.dropped;
    println!(
        "soak: {} cycles ({spawned} spawned, {killed} killed, {trapped} trapped and reaped) in {churn_done:?}; \
         {} pairs x {} messages: sent {sent_total}, received {received_total} (kernel: {messages} sent, {delivered} delivered, \
         {dropped} dropped) done at {traffic_done:?}",
        plan.cycles, plan.pairs, plan.messages_per_pair
    );
    println!("soak: baseline {before:?}");
    println!("soak: after    {after:?}");
    println!(
        "soak: RSS {rss_before} KiB -> {rss_after} KiB; kernel events dropped (UI stream, not messages): {events_dropped}"
    );
    assert_eq!(sent_total, plan.pairs * plan.messages_per_pair);
    assert_eq!(received_total, sent_total, "messages lost or duplicated");
    assert_eq!(after, before, "the system did not return to its baseline");
    assert_eq!(counts.queued, 0, "messages still queued");
    audit.expect("kernel audit after the soak");
    // A generous bound: guest memories (up to 64 MiB each for memhogs) must not accumulate.
    assert!(
        rss_after < rss_before + 256 * 1024,
        "RSS grew from {rss_before} KiB to {rss_after} KiB"
    );
}
