//! Process management: the six tests the seed's specification names, by those names
//! (registration, kill, cleanup, memory, metrics, traffic log), and host refusals.

mod common;
use common::*;

use orbital_kernel::abi::{ErrorCode, memory, nr, slot};
use orbital_kernel::{
    Dispatch, Effect, ExitReason, KernelEvent, ObjectRef, ProcessId, ProcessState,
};

#[test]
fn test_process_registration() {
    let mut k = kernel();
    let a = k.register_process("init", 10).unwrap();
    let b = k.register_process("terminal", 20).unwrap();
    let c = k.register_process("idle", 30).unwrap();
    assert_eq!(
        (a, b, c),
        (ProcessId(1), ProcessId(2), ProcessId(3)),
        "pids are monotonic from 1"
    );
    assert_eq!(k.processes().len(), 3);
    let p = k.process(b).unwrap();
    assert_eq!(p.name, "terminal");
    assert_eq!(p.state, ProcessState::Running);
    assert_eq!(p.metrics.memory_size, memory::INITIAL_BYTES as usize);
    assert_eq!(p.metrics.start_time_ns, 20);
    assert_eq!(p.metrics.last_active_ns, 20);
    assert_eq!(p.metrics.syscall_count, 0);
    // A fresh capability space: only the console in slot 0, write-only.
    let caps = k.capabilities(b);
    assert_eq!(caps.len(), 1);
    assert_eq!(caps[0].slot, slot::CONSOLE);
    assert_eq!(caps[0].object, ObjectRef::Console);
    assert_eq!(caps[0].rights, orbital_kernel::abi::rights::WRITE);
    // Pids are never reused, even after a kill.
    k.kill_process(c, None, 40).unwrap();
    assert_eq!(k.register_process("idle", 50).unwrap(), ProcessId(4));
    let events = k.drain_events();
    let spawned: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, KernelEvent::ProcessSpawned { .. }))
        .collect();
    assert_eq!(spawned.len(), 4);
    // GET_PID answers from the kernel's own table.
    assert_eq!(result(&mut k, b, nr::GET_PID, [0; 3], &[], 60), 2);
}

#[test]
fn test_process_kill() {
    let mut k = kernel();
    let a = k.register_process("a", 0).unwrap();
    let b = k.register_process("b", 0).unwrap();
    let (ep, _) = k.create_endpoint(b, 0).unwrap();
    assert_eq!(k.endpoints().len(), 1);
    let _ = k.take_effects();
    k.kill_process(b, Some(a), 5).unwrap();
    assert!(k.process(b).is_none(), "a killed process leaves the table");
    assert!(
        k.endpoints().iter().all(|e| e.id != ep),
        "and its endpoints go with it"
    );
    assert_eq!(k.take_effects(), vec![Effect::StopGuest { pid: b }]);
    assert!(k.drain_events().contains(&KernelEvent::ProcessKilled {
        pid: b,
        by: Some(a),
        at_ns: 5
    }));
    assert_eq!(k.kill_process(b, None, 6), Err(ErrorCode::NoSuchProcess));
    assert_eq!(k.system_metrics(6).processes, 1);
    // A dead pid's syscalls are refused, not a panic.
    assert_eq!(
        result(&mut k, b, nr::YIELD, [0; 3], &[], 7),
        err(ErrorCode::NoSuchProcess)
    );

    // The KILL syscall: needs the process table, and respects protection.
    let c = k.register_process("c", 10).unwrap();
    assert_eq!(
        result(&mut k, a, nr::KILL, [1, c.0, 0], &[], 11),
        err(ErrorCode::BadSlot)
    );
    let table = k
        .install_capability(
            a,
            ObjectRef::ProcessTable,
            orbital_kernel::abi::rights::WRITE,
            12,
        )
        .unwrap();
    k.set_protected(c, true).unwrap();
    assert_eq!(
        result(&mut k, a, nr::KILL, [table, c.0, 0], &[], 13),
        err(ErrorCode::ProtectedProcess)
    );
    k.set_protected(c, false).unwrap();
    assert_eq!(result(&mut k, a, nr::KILL, [table, c.0, 0], &[], 14), 0);
    assert!(k.process(c).is_none());
    assert_eq!(
        result(&mut k, a, nr::KILL, [table, 999, 0], &[], 15),
        err(ErrorCode::NoSuchProcess)
    );

    // Exit makes a zombie that keeps its metrics and reason until reaped.
    let d = k.register_process("d", 20).unwrap();
    result(&mut k, d, nr::YIELD, [0; 3], &[], 21);
    assert_eq!(
        call(&mut k, d, nr::EXIT, [3, 0, 0], &[], 22),
        Dispatch::Exited
    );
    let zombie = k.process(d).unwrap();
    assert_eq!(
        zombie.state,
        ProcessState::Zombie(ExitReason::Exited { code: 3 })
    );
    assert_eq!(zombie.metrics.syscall_count, 2);
    assert_eq!(k.system_metrics(22).processes, 1, "zombies are not live");
    let reaped = k.reap_process(d, 23).unwrap();
    assert_eq!(
        reaped.state,
        ProcessState::Zombie(ExitReason::Exited { code: 3 })
    );
    assert!(k.process(d).is_none());
    assert_eq!(
        k.reap_process(a, 24).err(),
        Some(ErrorCode::NoSuchProcess),
        "only zombies are reaped"
    );
    k.audit().unwrap();
}

#[test]
fn test_process_cleanup_removes_endpoints() {
    let mut k = kernel();
    let owner = k.register_process("receiver", 0).unwrap();
    let client = k.register_process("sender", 0).unwrap();
    let waiter = k.register_process("other-reader", 0).unwrap();
    let (ep, owner_slot) = k.create_endpoint(owner, 0).unwrap();
    let (ep2, _) = k.create_endpoint(owner, 0).unwrap();
    let w = result(
        &mut k,
        owner,
        nr::CAP_GRANT,
        [owner_slot, client.0, orbital_kernel::abi::rights::WRITE],
        &[],
        1,
    );
    let r = result(
        &mut k,
        owner,
        nr::CAP_GRANT,
        [owner_slot, waiter.0, orbital_kernel::abi::rights::READ],
        &[],
        1,
    );
    assert!(w > 0 && r > 0);
    // One message queued, one reader blocked... on a second endpoint, to see both paths.
    assert_eq!(send(&mut k, client, w as u32, 7, b"queued", 2), 0);
    assert_eq!(k.endpoints_of(owner).len(), 2);
    let (ep2_slot, _) = (
        k.capabilities(owner)
            .iter()
            .find(|c| c.object == ObjectRef::Endpoint(ep2))
            .unwrap()
            .slot,
        (),
    );
    let r2 = result(
        &mut k,
        owner,
        nr::CAP_GRANT,
        [ep2_slot, waiter.0, orbital_kernel::abi::rights::READ],
        &[],
        3,
    );
    assert_eq!(
        call(&mut k, waiter, nr::RECEIVE, [r2 as u32, 0, 0], &[], 4),
        Dispatch::Pending
    );
    let _ = k.take_effects();

    k.kill_process(owner, None, 10).unwrap();
    assert!(
        k.endpoints().is_empty(),
        "all the owner's endpoints are gone"
    );
    assert!(k.endpoints_of(owner).is_empty());
    // The blocked reader wakes with PEER_GONE.
    let done = completions(&k.take_effects());
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].0, waiter);
    assert_eq!(done[0].1.result, err(ErrorCode::PeerGone));
    assert_eq!(k.process(waiter).unwrap().state, ProcessState::Running);
    // Capabilities that pointed at them are stale, and using one is an error, not a panic.
    assert!(
        k.capabilities(client)
            .iter()
            .filter(|c| c.slot == w as u32)
            .all(|c| c.stale)
    );
    assert_eq!(
        send(&mut k, client, w as u32, 0, b"late", 11),
        err(ErrorCode::StaleCapability)
    );
    assert_eq!(
        result(&mut k, waiter, nr::TRY_RECEIVE, [r as u32, 0, 0], &[], 11),
        err(ErrorCode::StaleCapability)
    );
    // The queued message is accounted as dropped.
    let m = k.message_counts();
    assert_eq!((m.sent, m.delivered, m.queued, m.dropped), (1, 0, 0, 1));
    let events = k.drain_events();
    assert!(events.contains(&KernelEvent::EndpointDeleted {
        endpoint: ep,
        owner,
        at_ns: 10
    }));
    assert!(events.contains(&KernelEvent::EndpointDeleted {
        endpoint: ep2,
        owner,
        at_ns: 10
    }));
    // Exit (Zombie) releases endpoints too.
    let z = k.register_process("z", 20).unwrap();
    k.create_endpoint(z, 20).unwrap();
    k.exit_process(
        z,
        ExitReason::Trapped {
            message: "unreachable".into(),
        },
        21,
    )
    .unwrap();
    assert!(k.endpoints().is_empty());
    assert!(k.capabilities(z).is_empty());
    k.audit().unwrap();
}

#[test]
fn test_memory_allocation() {
    let mut k = kernel();
    let a = k.register_process("memhog", 0).unwrap();
    let b = k.register_process("idle", 0).unwrap();
    let initial = memory::INITIAL_BYTES;
    assert_eq!(k.system_metrics(0).total_memory, 2 * initial);
    const MIB: u32 = 1 << 20;
    assert_eq!(result(&mut k, a, nr::MEM_ALLOC, [MIB, 0, 0], &[], 1), 0);
    assert_eq!(k.process(a).unwrap().allocated_bytes, MIB as u64);
    assert_eq!(k.system_metrics(1).total_memory, initial + MIB as u64);
    assert_eq!(result(&mut k, a, nr::MEM_FREE, [MIB / 2, 0, 0], &[], 2), 0);
    assert_eq!(k.process(a).unwrap().allocated_bytes, (MIB / 2) as u64);
    assert_eq!(
        result(&mut k, a, nr::MEM_FREE, [MIB, 0, 0], &[], 3),
        err(ErrorCode::BadArgument),
        "cannot free more than allocated"
    );
    // The host's report of linear memory counts too: the larger of the two is charged.
    k.report_memory(a, 8 * MIB as u64, 4).unwrap();
    assert_eq!(k.process(a).unwrap().metrics.memory_size, 8 * MIB as usize);
    assert_eq!(k.system_metrics(4).total_memory, initial + 8 * MIB as u64);
    // Up to the 64 MiB limit, then OUT_OF_MEMORY.
    let mut granted = 0;
    loop {
        let r = result(&mut k, a, nr::MEM_ALLOC, [MIB, 0, 0], &[], 5);
        if r != 0 {
            assert_eq!(r, err(ErrorCode::OutOfMemory));
            break;
        }
        granted += 1;
        assert!(granted <= 64, "never past the limit");
    }
    let p = k.process(a).unwrap();
    assert!(p.accounted_memory() <= memory::LIMIT_BYTES);
    assert!(p.accounted_memory() + MIB as u64 > memory::LIMIT_BYTES);
    assert_eq!(
        result(&mut k, a, nr::MEM_ALLOC, [u32::MAX, 0, 0], &[], 6),
        err(ErrorCode::OutOfMemory)
    );
    assert!(
        k.drain_events()
            .iter()
            .any(|e| matches!(e, KernelEvent::MemoryChanged { pid, .. } if *pid == a))
    );
    // Death takes the memory off the system total.
    k.kill_process(a, None, 7).unwrap();
    assert_eq!(k.system_metrics(7).total_memory, initial);
    assert_eq!(k.report_memory(a, 1, 8), Err(ErrorCode::NoSuchProcess));
    let _ = b;
    k.audit().unwrap();
}

#[test]
fn test_system_metrics() {
    let mut k = kernel();
    let a = k.register_process("a", 0).unwrap();
    let b = k.register_process("b", 0).unwrap();
    let (_, slot) = k.create_endpoint(b, 0).unwrap();
    let w = result(
        &mut k,
        b,
        nr::CAP_GRANT,
        [slot, a.0, orbital_kernel::abi::rights::WRITE],
        &[],
        0,
    ) as u32;
    // 5 messages at 0.1 s intervals, then 3 at 2.0 s.
    for i in 0..5u64 {
        assert_eq!(send(&mut k, a, w, 0, b"12345", i * 100 * MS), 0);
        assert_eq!(
            result(&mut k, b, nr::RECEIVE, [slot, 0, 0], &[], i * 100 * MS),
            5
        );
    }
    let m = k.system_metrics(450 * MS);
    assert_eq!(m.processes, 2);
    assert_eq!(m.endpoints, 1);
    assert_eq!(m.ipc_messages, 5);
    assert_eq!(m.ipc_bytes, 25);
    assert_eq!(m.syscalls, 1 + 10); // the grant, then 5 sends + 5 receives
    assert_eq!(m.uptime_ns, 450 * MS);
    assert_eq!(m.messages_per_sec, 5.0);
    assert_eq!(m.total_memory, 2 * memory::INITIAL_BYTES);
    // One second later the window has moved past them.
    assert_eq!(k.system_metrics(1500 * MS).messages_per_sec, 0.0);
    for _ in 0..3 {
        send(&mut k, a, w, 0, b"x", 2000 * MS);
    }
    assert_eq!(k.system_metrics(2050 * MS).messages_per_sec, 3.0);
    let pa = k.process(a).unwrap().metrics.clone();
    assert_eq!(
        (pa.ipc_sent, pa.ipc_bytes_sent, pa.syscall_count),
        (8, 28, 8)
    );
    let pb = k.process(b).unwrap().metrics.clone();
    assert_eq!(
        (pb.ipc_received, pb.ipc_bytes_received, pb.syscall_count),
        (5, 25, 6)
    );
    assert_eq!(pa.last_active_ns, 2000 * MS);
    // Unknown and dead callers are counted system-wide without a panic.
    assert_eq!(
        result(
            &mut k,
            ProcessId(77),
            9999,
            [u32::MAX; 3],
            &[0; 10_000],
            2100 * MS
        ),
        err(ErrorCode::NoSuchProcess)
    );
    assert_eq!(
        result(&mut k, a, 9999, [0; 3], &[], 2100 * MS),
        err(ErrorCode::UnknownSyscall)
    );
    assert_eq!(k.process(a).unwrap().metrics.syscall_count, 9);
    assert_eq!(k.system_metrics(2100 * MS).syscalls, 1 + 10 + 3 + 2);
}

#[test]
fn test_ipc_traffic_log() {
    let mut k = orbital_kernel::Kernel::new(orbital_kernel::KernelConfig {
        traffic_log_capacity: 4,
        ..Default::default()
    });
    let a = k.register_process("sender", 0).unwrap();
    let b = k.register_process("receiver", 0).unwrap();
    let (ep, slot) = k.create_endpoint(b, 0).unwrap();
    let w = result(
        &mut k,
        b,
        nr::CAP_GRANT,
        [slot, a.0, orbital_kernel::abi::rights::WRITE],
        &[],
        0,
    ) as u32;
    let long = [0xabu8; 100];
    assert_eq!(send(&mut k, a, w, 42, &long, 1000), 0);
    let entry = k.traffic_log().back().unwrap().clone();
    assert_eq!(
        (
            entry.at_ns,
            entry.from,
            entry.to,
            entry.endpoint,
            entry.tag,
            entry.bytes
        ),
        (1000, a, b, ep, 42, 100)
    );
    assert_eq!(
        &*entry.preview,
        &[0xab; orbital_kernel::TRAFFIC_PREVIEW_BYTES][..],
        "a short preview, not the payload"
    );
    for i in 0..10u32 {
        let r = send(&mut k, a, w, i, &i.to_le_bytes(), 2000 + i as u64);
        assert_eq!(r, 0);
    }
    // Bounded: the newest four remain, oldest first.
    let tags: Vec<u32> = k.traffic_log().iter().map(|e| e.tag).collect();
    assert_eq!(tags, vec![6, 7, 8, 9]);
    assert_eq!(
        &*k.traffic_log().back().unwrap().preview,
        &9u32.to_le_bytes()[..]
    );
    assert_eq!(k.logs_dropped().0, 7);
    // Console input from the kernel is logged with pid 0.
    k.send_from_kernel(ep, 0, b"ls\n", 3000).unwrap();
    assert_eq!(k.traffic_log().back().unwrap().from, ProcessId::KERNEL);
    // Refused sends are not traffic.
    assert_eq!(
        send(&mut k, a, 0, 0, b"nope", 4000),
        err(ErrorCode::WrongObjectKind)
    );
    assert_eq!(k.traffic_log().back().unwrap().at_ns, 3000);
    k.clear_logs();
    assert!(k.traffic_log().is_empty());
    assert_eq!(slot, 1);
}

#[test]
fn host_refusals_are_counted_and_shown_as_denied_requests() {
    use orbital_kernel::abi::host_import;
    let mut k = kernel();
    let a = k.register_process("rogue", 0).unwrap();
    let b = k.register_process("bystander", 0).unwrap();
    let _ = k.drain_events();
    let syscalls_before = k.system_metrics(1).syscalls;

    k.record_host_refusal(a, host_import::SEND_BYTES, ErrorCode::BadPointer, 1, 10)
        .unwrap();
    k.record_host_refusal(
        a,
        host_import::RECV_BYTES,
        ErrorCode::MessageTooLarge,
        3,
        20,
    )
    .unwrap();
    // Nothing new since the last report: no event, no count.
    k.record_host_refusal(a, host_import::SEND_BYTES, ErrorCode::BadPointer, 0, 30)
        .unwrap();

    let p = k.process(a).unwrap();
    assert_eq!(p.metrics.host_refusals, 4);
    assert_eq!(
        p.metrics.syscall_count, 0,
        "a host refusal is not a syscall"
    );
    assert_eq!(k.process(b).unwrap().metrics.host_refusals, 0);
    assert_eq!(k.system_metrics(40).syscalls, syscalls_before);
    let denied: Vec<_> = k
        .drain_events()
        .into_iter()
        .filter_map(|e| match e {
            KernelEvent::RequestDenied {
                pid,
                syscall,
                error,
                reason,
                at_ns,
            } => Some((pid, syscall, error, reason, at_ns)),
            _ => None,
        })
        .collect();
    assert_eq!(denied.len(), 2, "{denied:?}");
    assert_eq!(
        (denied[0].0, denied[0].1, denied[0].2, denied[0].4),
        (a, host_import::SEND_BYTES, ErrorCode::BadPointer, 10)
    );
    assert_eq!(
        denied[0].3,
        "orbital_send_bytes: pointer range outside guest memory (or a negative length)"
    );
    assert_eq!(
        (denied[1].0, denied[1].1, denied[1].2, denied[1].4),
        (a, host_import::RECV_BYTES, ErrorCode::MessageTooLarge, 20)
    );
    assert!(
        denied[1]
            .3
            .starts_with("orbital_recv_bytes: more bytes than the 4032-byte")
            && denied[1].3.contains("3 host refusals"),
        "{}",
        denied[1].3
    );

    // An import number the kernel does not know still gets a reason; never a panic.
    k.record_host_refusal(b, 7, ErrorCode::BadArgument, u32::MAX, 50)
        .unwrap();
    assert_eq!(
        k.process(b).unwrap().metrics.host_refusals,
        u64::from(u32::MAX)
    );
    assert!(k.drain_events().iter().any(|e| matches!(
        e,
        KernelEvent::RequestDenied { pid, syscall: 7, reason, .. } if *pid == b && reason.starts_with("host import #7: ")
    )));

    // Unknown pids and zombies are refused and leave no trace.
    assert_eq!(
        k.record_host_refusal(
            ProcessId(99),
            host_import::SEND_BYTES,
            ErrorCode::BadPointer,
            1,
            60
        ),
        Err(ErrorCode::NoSuchProcess)
    );
    k.exit_process(a, ExitReason::Exited { code: 0 }, 70)
        .unwrap();
    let _ = k.drain_events();
    assert_eq!(
        k.record_host_refusal(a, host_import::SEND_BYTES, ErrorCode::BadPointer, 1, 80),
        Err(ErrorCode::NoSuchProcess)
    );
    assert_eq!(k.process(a).unwrap().metrics.host_refusals, 4);
    assert!(k.drain_events().is_empty());
}
