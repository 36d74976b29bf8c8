//! Capabilities and IPC through the dispatcher, as a guest would use them.

mod common;
use common::*;

use orbital_kernel::abi::{ErrorCode, mailbox, nr, object_kind, rights, slot};
use orbital_kernel::{
    BlockReason, CapAction, Dispatch, Effect, Kernel, KernelConfig, KernelEvent, ObjectRef,
    ProcessId, ProcessState,
};

/// Two processes; `owner` has an endpoint in slot 1 (all rights).
fn pair() -> (Kernel, ProcessId, ProcessId) {
    let mut k = kernel();
    let owner = k.register_process("owner", 0).unwrap();
    let other = k.register_process("other", 0).unwrap();
    let (_, s) = k.create_endpoint(owner, 0).unwrap();
    assert_eq!(s, 1);
    (k, owner, other)
}

#[test]
fn endpoint_creation() {
    let mut k = kernel();
    let p = k.register_process("p", 0).unwrap();
    let s = result(&mut k, p, nr::ENDPOINT_CREATE, [0; 3], &[], 1);
    assert_eq!(s, 1, "the lowest free slot after the console");
    let caps = k.capabilities(p);
    let cap = caps.iter().find(|c| c.slot == 1).unwrap();
    assert_eq!(cap.rights, rights::ALL, "the creator gets all rights");
    let ObjectRef::Endpoint(id) = cap.object else {
        panic!("not an endpoint: {cap:?}")
    };
    let info = k.endpoint(id).unwrap();
    assert_eq!(
        (info.owner, info.queue_len, info.queue_capacity),
        (p, 0, 64)
    );
    assert!(k.drain_events().contains(&KernelEvent::EndpointCreated {
        endpoint: id,
        owner: p,
        at_ns: 1
    }));
    assert!(
        k.capability_log()
            .iter()
            .any(|e| e.action == CapAction::Create && e.slot == 1 && e.pid == p)
    );
    // Delete: only the owner, and then the capability is stale.
    let q = k.register_process("q", 2).unwrap();
    let g = result(&mut k, p, nr::CAP_GRANT, [1, q.0, rights::ALL], &[], 2) as u32;
    assert_eq!(
        result(&mut k, q, nr::ENDPOINT_DELETE, [g, 0, 0], &[], 3),
        err(ErrorCode::PermissionDenied)
    );
    assert_eq!(
        result(&mut k, p, nr::ENDPOINT_DELETE, [0, 0, 0], &[], 3),
        err(ErrorCode::WrongObjectKind)
    );
    assert_eq!(result(&mut k, p, nr::ENDPOINT_DELETE, [1, 0, 0], &[], 4), 0);
    assert!(k.endpoint(id).is_none());
    assert_eq!(
        send(&mut k, q, g, 0, b"x", 5),
        err(ErrorCode::StaleCapability)
    );
    assert_eq!(
        result(&mut k, p, nr::ENDPOINT_DELETE, [1, 0, 0], &[], 6),
        err(ErrorCode::StaleCapability)
    );
    // Limits: endpoints and slots.
    let mut small = Kernel::new(KernelConfig {
        max_endpoints: 2,
        ..Default::default()
    });
    let a = small.register_process("a", 0).unwrap();
    assert_eq!(
        result(&mut small, a, nr::ENDPOINT_CREATE, [0; 3], &[], 0),
        1
    );
    assert_eq!(
        result(&mut small, a, nr::ENDPOINT_CREATE, [0; 3], &[], 0),
        2
    );
    assert_eq!(
        result(&mut small, a, nr::ENDPOINT_CREATE, [0; 3], &[], 0),
        err(ErrorCode::TooManyEndpoints)
    );
    let mut k2 = kernel();
    let b = k2.register_process("b", 0).unwrap();
    for i in 1..slot::CAPACITY {
        assert_eq!(
            result(&mut k2, b, nr::ENDPOINT_CREATE, [0; 3], &[], 0),
            i as i32
        );
    }
    assert_eq!(
        result(&mut k2, b, nr::ENDPOINT_CREATE, [0; 3], &[], 0),
        err(ErrorCode::CapSpaceFull)
    );
    k2.audit().unwrap();
}

#[test]
fn grant_with_attenuation() {
    let (mut k, owner, other) = pair();
    let s = result(
        &mut k,
        owner,
        nr::CAP_GRANT,
        [1, other.0, rights::WRITE | rights::GRANT],
        &[],
        1,
    );
    assert_eq!(s, 1);
    let caps = k.capabilities(other);
    assert_eq!(caps[1].rights, rights::WRITE | rights::GRANT);
    assert_eq!(caps[1].object, k.capabilities(owner)[1].object);
    // The grantee can pass on less, never more.
    let third = k.register_process("third", 2).unwrap();
    assert_eq!(
        result(
            &mut k,
            other,
            nr::CAP_GRANT,
            [1, third.0, rights::READ],
            &[],
            3
        ),
        err(ErrorCode::BadArgument)
    );
    assert_eq!(
        result(
            &mut k,
            other,
            nr::CAP_GRANT,
            [1, third.0, rights::ALL],
            &[],
            3
        ),
        err(ErrorCode::BadArgument)
    );
    assert_eq!(
        result(&mut k, other, nr::CAP_GRANT, [1, third.0, 0x100], &[], 3),
        err(ErrorCode::BadArgument)
    );
    assert_eq!(
        result(
            &mut k,
            other,
            nr::CAP_GRANT,
            [1, third.0, rights::WRITE],
            &[],
            3
        ),
        1
    );
    assert_eq!(k.capabilities(third)[1].rights, rights::WRITE);
    assert_eq!(
        result(&mut k, other, nr::CAP_GRANT, [1, 99, rights::WRITE], &[], 3),
        err(ErrorCode::NoSuchProcess)
    );
    assert!(
        k.capability_log()
            .iter()
            .any(|e| e.action == CapAction::Grant { to: third }
                && e.pid == third
                && e.rights == rights::WRITE)
    );
}

#[test]
fn grant_without_grant_permission_refused() {
    let (mut k, owner, other) = pair();
    let s = result(
        &mut k,
        owner,
        nr::CAP_GRANT,
        [1, other.0, rights::READ | rights::WRITE],
        &[],
        1,
    ) as u32;
    let third = k.register_process("third", 2).unwrap();
    assert_eq!(
        result(
            &mut k,
            other,
            nr::CAP_GRANT,
            [s, third.0, rights::WRITE],
            &[],
            3
        ),
        err(ErrorCode::PermissionDenied)
    );
    assert_eq!(k.capabilities(third).len(), 1, "nothing arrived");
    let denied = k.drain_events().into_iter().find_map(|e| match e {
        KernelEvent::RequestDenied {
            pid,
            syscall,
            error,
            reason,
            ..
        } => Some((pid, syscall, error, reason)),
        _ => None,
    });
    let (pid, syscall, error, reason) = denied.expect("a RequestDenied event");
    assert_eq!(
        (pid, syscall, error),
        (other, nr::CAP_GRANT, ErrorCode::PermissionDenied)
    );
    assert!(reason.contains("lacks"), "{reason}");
    // The console (write-only, no grant) cannot be granted either.
    assert_eq!(
        result(
            &mut k,
            other,
            nr::CAP_GRANT,
            [0, third.0, rights::WRITE],
            &[],
            4
        ),
        err(ErrorCode::PermissionDenied)
    );
}

#[test]
fn send_receive() {
    let (mut k, owner, other) = pair();
    let w = result(
        &mut k,
        owner,
        nr::CAP_GRANT,
        [1, other.0, rights::WRITE],
        &[],
        1,
    ) as u32;
    assert_eq!(send(&mut k, other, w, 0xfeed, b"hello", 2), 0);
    let reply = complete(&mut k, owner, nr::RECEIVE, [1, 0, 0], &[], 3);
    assert_eq!(reply.result, 5);
    assert_eq!(
        parse_recv(&reply),
        (other.0, 0xfeed, slot::NONE, b"hello".to_vec())
    );
    let events = k.drain_events();
    assert!(events.contains(&KernelEvent::MessageSent {
        from: other,
        to: owner,
        endpoint: orbital_kernel::EndpointId(1),
        tag: 0xfeed,
        bytes: 5,
        at_ns: 2
    }));
    assert!(events.contains(&KernelEvent::MessageDelivered {
        from: other,
        to: owner,
        endpoint: orbital_kernel::EndpointId(1),
        tag: 0xfeed,
        bytes: 5,
        at_ns: 3
    }));
    // TRY_RECEIVE on an empty endpoint does not block.
    assert_eq!(
        result(&mut k, owner, nr::TRY_RECEIVE, [1, 0, 0], &[], 4),
        err(ErrorCode::WouldBlock)
    );
    // Sizes: the largest message fits, one more byte does not.
    let max = vec![7u8; mailbox::MAX_MESSAGE_BYTES];
    assert_eq!(send(&mut k, other, w, 0, &max, 5), 0);
    assert_eq!(
        send(&mut k, other, w, 0, &[0; mailbox::MAX_MESSAGE_BYTES + 1], 5),
        err(ErrorCode::MessageTooLarge)
    );
    let r = complete(&mut k, owner, nr::RECEIVE, [1, 0, 0], &[], 6);
    assert_eq!(
        r.data.len(),
        mailbox::DATA_CAPACITY,
        "header + payload fill the data buffer exactly"
    );
    let e = k.endpoint(orbital_kernel::EndpointId(1)).unwrap();
    assert_eq!((e.sent, e.delivered), (2, 2));
}

#[test]
fn send_without_capability_or_write_refused() {
    let (mut k, owner, other) = pair();
    assert_eq!(
        send(&mut k, other, 1, 0, b"x", 1),
        err(ErrorCode::BadSlot),
        "empty slot"
    );
    assert_eq!(
        send(&mut k, other, 64, 0, b"x", 1),
        err(ErrorCode::BadSlot),
        "out of range"
    );
    assert_eq!(
        send(&mut k, other, u32::MAX, 0, b"x", 1),
        err(ErrorCode::BadSlot)
    );
    assert_eq!(
        send(&mut k, other, 0, 0, b"x", 1),
        err(ErrorCode::WrongObjectKind),
        "the console is not an endpoint"
    );
    let r = result(
        &mut k,
        owner,
        nr::CAP_GRANT,
        [1, other.0, rights::READ],
        &[],
        1,
    ) as u32;
    assert_eq!(
        send(&mut k, other, r, 0, b"x", 2),
        err(ErrorCode::PermissionDenied),
        "read-only"
    );
    // And receive needs READ.
    let w = result(
        &mut k,
        owner,
        nr::CAP_GRANT,
        [1, other.0, rights::WRITE],
        &[],
        1,
    ) as u32;
    assert_eq!(
        result(&mut k, other, nr::RECEIVE, [w, 0, 0], &[], 3),
        err(ErrorCode::PermissionDenied)
    );
    assert_eq!(k.message_counts().sent, 0);
    // Transfer needs GRANT on the transferred capability.
    assert_eq!(
        result(&mut k, owner, nr::SEND, [1, 0, 0], b"x", 4),
        err(ErrorCode::PermissionDenied),
        "console has no GRANT"
    );
    assert_eq!(
        result(&mut k, owner, nr::SEND, [1, 0, 40], b"x", 4),
        err(ErrorCode::BadSlot)
    );
}

#[test]
fn fifo_order() {
    let (mut k, owner, other) = pair();
    let w = result(
        &mut k,
        owner,
        nr::CAP_GRANT,
        [1, other.0, rights::WRITE],
        &[],
        1,
    ) as u32;
    for i in 0..64u32 {
        assert_eq!(send(&mut k, other, w, i, &i.to_le_bytes(), 2), 0);
    }
    assert_eq!(
        send(&mut k, other, w, 64, b"full", 2),
        err(ErrorCode::QueueFull),
        "bounded queue"
    );
    k.send_from_kernel(orbital_kernel::EndpointId(1), 0, b"x", 2)
        .unwrap_err();
    for i in 0..64u32 {
        let r = complete(&mut k, owner, nr::TRY_RECEIVE, [1, 0, 0], &[], 3);
        let (_, tag, _, payload) = parse_recv(&r);
        assert_eq!((tag, payload), (i, i.to_le_bytes().to_vec()));
    }
    assert_eq!(
        result(&mut k, owner, nr::TRY_RECEIVE, [1, 0, 0], &[], 4),
        err(ErrorCode::WouldBlock)
    );
    let m = k.message_counts();
    assert_eq!((m.sent, m.delivered, m.queued, m.dropped), (64, 64, 0, 0));
}

#[test]
fn blocking_receive_woken_by_later_send() {
    let (mut k, owner, other) = pair();
    let w = result(
        &mut k,
        owner,
        nr::CAP_GRANT,
        [1, other.0, rights::WRITE],
        &[],
        1,
    ) as u32;
    assert_eq!(
        call(&mut k, owner, nr::RECEIVE, [1, 0, 0], &[], 2),
        Dispatch::Pending
    );
    assert_eq!(
        k.process(owner).unwrap().state,
        ProcessState::Blocked(BlockReason::Receive {
            endpoint: orbital_kernel::EndpointId(1)
        })
    );
    assert!(k.take_effects().is_empty());
    // A blocked process that somehow calls again is refused, not confused.
    assert_eq!(
        result(&mut k, owner, nr::YIELD, [0; 3], &[], 2),
        err(ErrorCode::BadArgument)
    );
    assert_eq!(send(&mut k, other, w, 9, b"wake", 5), 0);
    let done = completions(&k.take_effects());
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].0, owner);
    assert_eq!(
        parse_recv(&done[0].1),
        (other.0, 9, slot::NONE, b"wake".to_vec())
    );
    assert_eq!(k.process(owner).unwrap().state, ProcessState::Running);
    assert_eq!(
        k.endpoint(orbital_kernel::EndpointId(1)).unwrap().queue_len,
        0,
        "handed over, not queued"
    );
    let events = k.drain_events();
    assert!(events.contains(&KernelEvent::SyscallServiced {
        pid: owner,
        syscall: nr::RECEIVE,
        result: 4,
        at_ns: 5
    }));
    // Console input wakes a blocked terminal the same way, from pid 0.
    assert_eq!(
        call(&mut k, owner, nr::RECEIVE, [1, 0, 0], &[], 6),
        Dispatch::Pending
    );
    k.send_from_kernel(orbital_kernel::EndpointId(1), 0, b"ps", 7)
        .unwrap();
    let done = completions(&k.take_effects());
    assert_eq!(parse_recv(&done[0].1), (0, 0, slot::NONE, b"ps".to_vec()));
    // Two receivers: first come, first served.
    let r = result(
        &mut k,
        owner,
        nr::CAP_GRANT,
        [1, other.0, rights::READ],
        &[],
        8,
    ) as u32;
    assert_eq!(
        call(&mut k, owner, nr::RECEIVE, [1, 0, 0], &[], 9),
        Dispatch::Pending
    );
    assert_eq!(
        call(&mut k, other, nr::RECEIVE, [r, 0, 0], &[], 10),
        Dispatch::Pending
    );
    k.send_from_kernel(orbital_kernel::EndpointId(1), 1, b"a", 11)
        .unwrap();
    k.send_from_kernel(orbital_kernel::EndpointId(1), 2, b"b", 11)
        .unwrap();
    let done = completions(&k.take_effects());
    assert_eq!(
        done.iter()
            .map(|(p, r)| (*p, parse_recv(r).1))
            .collect::<Vec<_>>(),
        vec![(owner, 1), (other, 2)]
    );
    k.audit().unwrap();
}

#[test]
fn kill_wakes_blocked_peer() {
    let (mut k, owner, other) = pair();
    let r = result(
        &mut k,
        owner,
        nr::CAP_GRANT,
        [1, other.0, rights::READ],
        &[],
        1,
    ) as u32;
    assert_eq!(
        call(&mut k, other, nr::RECEIVE, [r, 0, 0], &[], 2),
        Dispatch::Pending
    );
    k.kill_process(owner, None, 3).unwrap();
    let effects = k.take_effects();
    assert!(effects.contains(&Effect::Complete {
        pid: other,
        reply: orbital_kernel::Reply::error(ErrorCode::PeerGone)
    }));
    assert!(effects.contains(&Effect::StopGuest { pid: owner }));
    assert_eq!(k.process(other).unwrap().state, ProcessState::Running);
    // Killing a blocked receiver takes it off the endpoint's wait list; a later send queues.
    let (mut k, owner, other) = pair();
    let w = result(
        &mut k,
        owner,
        nr::CAP_GRANT,
        [1, other.0, rights::WRITE],
        &[],
        1,
    ) as u32;
    assert_eq!(
        call(&mut k, owner, nr::SLEEP, [1000, 0, 0], &[], 1),
        Dispatch::Pending
    );
    k.kill_process(owner, None, 2).unwrap();
    assert_eq!(k.next_wake_ns(), None, "a dead sleeper is forgotten");
    assert_eq!(
        send(&mut k, other, w, 0, b"x", 3),
        err(ErrorCode::StaleCapability)
    );
    // A process blocked in RECEIVE on its own endpoint, then exits via the supervisor (trap).
    let (mut k, owner, other) = pair();
    let w = result(
        &mut k,
        owner,
        nr::CAP_GRANT,
        [1, other.0, rights::WRITE],
        &[],
        1,
    ) as u32;
    let r = result(
        &mut k,
        owner,
        nr::CAP_GRANT,
        [1, other.0, rights::READ],
        &[],
        1,
    ) as u32;
    assert_eq!(
        call(&mut k, other, nr::RECEIVE, [r, 0, 0], &[], 2),
        Dispatch::Pending
    );
    k.exit_process(
        other,
        orbital_kernel::ExitReason::Trapped {
            message: "boom".into(),
        },
        3,
    )
    .unwrap();
    assert_eq!(
        k.endpoint(orbital_kernel::EndpointId(1)).unwrap().queue_len,
        0
    );
    assert_eq!(send(&mut k, owner, 1, 0, b"queued, nobody waiting", 4), 0);
    assert_eq!(
        k.endpoint(orbital_kernel::EndpointId(1)).unwrap().queue_len,
        1
    );
    let _ = w;
    k.audit().unwrap();
}

#[test]
fn revoke() {
    let (mut k, owner, other) = pair();
    let third = k.register_process("third", 0).unwrap();
    let g = result(
        &mut k,
        owner,
        nr::CAP_GRANT,
        [1, other.0, rights::WRITE | rights::GRANT],
        &[],
        1,
    ) as u32;
    let g2 = result(
        &mut k,
        other,
        nr::CAP_GRANT,
        [g, third.0, rights::WRITE],
        &[],
        2,
    ) as u32;
    let d = result(
        &mut k,
        third,
        nr::CAP_DERIVE,
        [g2, rights::WRITE, 0],
        &[],
        2,
    ) as u32;
    assert_eq!(send(&mut k, third, d, 0, b"ok", 3), 0);
    // Revoking the owner's capability takes everything passed on from it, recursively.
    assert_eq!(result(&mut k, owner, nr::CAP_REVOKE, [1, 0, 0], &[], 4), 3);
    assert_eq!(
        send(&mut k, other, g, 0, b"x", 5),
        err(ErrorCode::StaleCapability)
    );
    assert_eq!(
        send(&mut k, third, g2, 0, b"x", 5),
        err(ErrorCode::StaleCapability)
    );
    assert_eq!(
        send(&mut k, third, d, 0, b"x", 5),
        err(ErrorCode::StaleCapability)
    );
    assert!(
        k.capabilities(third)
            .iter()
            .filter(|c| c.slot != 0)
            .all(|c| c.stale)
    );
    // The revoked capability itself still works.
    assert_eq!(send(&mut k, owner, 1, 0, b"mine", 6), 0);
    // CAP_LIST marks stale entries.
    let list = complete(&mut k, other, nr::CAP_LIST, [0; 3], &[], 7);
    assert_eq!(list.result, 2);
    let words: Vec<u32> = list
        .data
        .chunks(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(&words[..5], &[0, object_kind::CONSOLE, 0, rights::WRITE, 1]);
    assert_eq!(
        &words[5..9],
        &[
            g,
            object_kind::ENDPOINT,
            1,
            rights::WRITE | rights::GRANT | rights::STALE
        ]
    );
    // A mid-chain revoke only takes what is below it.
    let g3 = result(
        &mut k,
        owner,
        nr::CAP_GRANT,
        [1, other.0, rights::ALL],
        &[],
        8,
    ) as u32;
    let g4 = result(
        &mut k,
        other,
        nr::CAP_GRANT,
        [g3, third.0, rights::READ],
        &[],
        8,
    ) as u32;
    assert_eq!(result(&mut k, other, nr::CAP_REVOKE, [g3, 0, 0], &[], 9), 1);
    assert_eq!(send(&mut k, other, g3, 0, b"still", 10), 0);
    assert_eq!(
        result(&mut k, third, nr::TRY_RECEIVE, [g4, 0, 0], &[], 10),
        err(ErrorCode::StaleCapability)
    );
    // Revoking a stale or empty slot is an error, not a panic.
    assert_eq!(
        result(&mut k, other, nr::CAP_REVOKE, [g, 0, 0], &[], 11),
        err(ErrorCode::StaleCapability)
    );
    assert_eq!(
        result(&mut k, other, nr::CAP_REVOKE, [50, 0, 0], &[], 11),
        err(ErrorCode::BadSlot)
    );
    assert!(
        k.capability_log()
            .iter()
            .filter(|e| e.action == CapAction::Revoke)
            .count()
            >= 4
    );
    k.audit().unwrap();
}

#[test]
fn revoke_lapses_a_transfer_in_flight() {
    let (mut k, owner, other) = pair();
    // other owns an endpoint (slot 1) and sends owner a copy of it through owner's endpoint.
    let (_, oslot) = k.create_endpoint(other, 0).unwrap();
    let w = result(
        &mut k,
        owner,
        nr::CAP_GRANT,
        [1, other.0, rights::WRITE],
        &[],
        1,
    ) as u32;
    assert_eq!(result(&mut k, other, nr::SEND, [w, 0, oslot], b"1", 2), 0);
    assert_eq!(result(&mut k, other, nr::SEND, [w, 0, oslot], b"2", 2), 0);
    let first = complete(&mut k, owner, nr::RECEIVE, [1, 0, 0], &[], 3);
    let (_, _, landed, _) = parse_recv(&first);
    assert_ne!(landed, slot::NONE);
    let cap = k
        .capabilities(owner)
        .into_iter()
        .find(|c| c.slot == landed)
        .unwrap();
    assert_eq!(
        (cap.object, cap.rights),
        (
            ObjectRef::Endpoint(orbital_kernel::EndpointId(2)),
            rights::ALL
        )
    );
    assert!(
        k.capability_log()
            .iter()
            .any(|e| e.action == CapAction::Transfer { to: owner })
    );
    // The transferred capability works: owner can now reply on it.
    assert_eq!(send(&mut k, owner, landed, 5, b"pong", 4), 0);
    // Revoke while the second copy is still queued: it arrives as NONE.
    assert_eq!(
        result(&mut k, other, nr::CAP_REVOKE, [oslot, 0, 0], &[], 5),
        1
    );
    let second = complete(&mut k, owner, nr::RECEIVE, [1, 0, 0], &[], 6);
    assert_eq!(parse_recv(&second).2, slot::NONE);
    assert_eq!(
        send(&mut k, owner, landed, 5, b"pong", 7),
        err(ErrorCode::StaleCapability)
    );
    k.audit().unwrap();
}

#[test]
fn delete() {
    let (mut k, owner, other) = pair();
    let third = k.register_process("third", 0).unwrap();
    let g = result(
        &mut k,
        owner,
        nr::CAP_GRANT,
        [1, other.0, rights::WRITE | rights::GRANT],
        &[],
        1,
    ) as u32;
    let g2 = result(
        &mut k,
        other,
        nr::CAP_GRANT,
        [g, third.0, rights::WRITE],
        &[],
        2,
    ) as u32;
    let generation = k
        .capabilities(other)
        .into_iter()
        .find(|c| c.slot == g)
        .unwrap()
        .generation;
    assert_eq!(result(&mut k, other, nr::CAP_DELETE, [g, 0, 0], &[], 3), 0);
    assert_eq!(send(&mut k, other, g, 0, b"x", 4), err(ErrorCode::BadSlot));
    assert_eq!(
        result(&mut k, other, nr::CAP_DELETE, [g, 0, 0], &[], 4),
        err(ErrorCode::BadSlot)
    );
    // Deleting a middle link leaves what it passed on revocable by the one above.
    assert_eq!(send(&mut k, third, g2, 0, b"x", 5), 0);
    assert_eq!(result(&mut k, owner, nr::CAP_REVOKE, [1, 0, 0], &[], 6), 1);
    assert_eq!(
        send(&mut k, third, g2, 0, b"x", 7),
        err(ErrorCode::StaleCapability)
    );
    // A stale slot can be deleted, and a refilled slot has a new generation.
    assert_eq!(result(&mut k, third, nr::CAP_DELETE, [g2, 0, 0], &[], 8), 0);
    let again = result(
        &mut k,
        owner,
        nr::CAP_GRANT,
        [1, other.0, rights::WRITE],
        &[],
        9,
    ) as u32;
    assert_eq!(again, g);
    let refilled = k
        .capabilities(other)
        .into_iter()
        .find(|c| c.slot == g)
        .unwrap();
    assert_eq!(refilled.generation, generation + 1);
    assert!(!refilled.stale);
    assert!(
        k.capability_log()
            .iter()
            .any(|e| e.action == CapAction::Delete && e.pid == other)
    );
    k.audit().unwrap();
}

#[test]
fn derive() {
    let (mut k, owner, _) = pair();
    let d = result(&mut k, owner, nr::CAP_DERIVE, [1, rights::READ, 0], &[], 1) as u32;
    assert_eq!(d, 2);
    let caps = k.capabilities(owner);
    assert_eq!(caps[2].rights, rights::READ);
    assert_eq!(caps[2].object, caps[1].object);
    assert_eq!(
        send(&mut k, owner, d, 0, b"x", 2),
        err(ErrorCode::PermissionDenied)
    );
    assert_eq!(
        result(&mut k, owner, nr::CAP_DERIVE, [d, rights::WRITE, 0], &[], 3),
        err(ErrorCode::BadArgument),
        "never amplify"
    );
    assert_eq!(
        result(&mut k, owner, nr::CAP_DERIVE, [9, rights::READ, 0], &[], 3),
        err(ErrorCode::BadSlot)
    );
    // Revoking the source makes the derived copy stale.
    assert_eq!(result(&mut k, owner, nr::CAP_REVOKE, [1, 0, 0], &[], 4), 1);
    assert_eq!(
        result(&mut k, owner, nr::TRY_RECEIVE, [d, 0, 0], &[], 5),
        err(ErrorCode::StaleCapability)
    );
    assert!(
        k.capability_log()
            .iter()
            .any(|e| e.action == CapAction::Derive && e.slot == d)
    );
}

#[test]
fn sleep_and_tick() {
    let mut k = kernel();
    let a = k.register_process("a", 0).unwrap();
    let b = k.register_process("b", 0).unwrap();
    assert_eq!(
        call(&mut k, a, nr::SLEEP, [20, 0, 0], &[], 0),
        Dispatch::Pending
    );
    assert_eq!(
        call(&mut k, b, nr::SLEEP, [10, 0, 0], &[], 0),
        Dispatch::Pending
    );
    assert_eq!(
        call(&mut k, b, nr::SLEEP, [0, 0, 0], &[], 0),
        Dispatch::Complete(orbital_kernel::Reply::error(ErrorCode::BadArgument))
    );
    assert_eq!(k.next_wake_ns(), Some(10 * MS));
    k.tick(9 * MS);
    assert!(k.take_effects().is_empty());
    k.tick(15 * MS);
    assert_eq!(
        completions(&k.take_effects()),
        vec![(b, orbital_kernel::Reply::ok(0))]
    );
    k.tick(u64::MAX);
    assert_eq!(
        completions(&k.take_effects()),
        vec![(a, orbital_kernel::Reply::ok(0))]
    );
    assert_eq!(
        call(&mut k, a, nr::SLEEP, [u32::MAX, 0, 0], &[], u64::MAX),
        Dispatch::Pending,
        "saturates, no overflow"
    );
    let t = complete(&mut k, b, nr::TIME, [0; 3], &[], 5);
    assert_eq!(
        t.data,
        u64::MAX.to_le_bytes().to_vec(),
        "kernel time never runs backwards"
    );
}

#[test]
fn console_spawn_ps() {
    let mut k = kernel();
    let init = k.register_process("init", 0).unwrap();
    assert_eq!(
        result(&mut k, init, nr::CONSOLE_WRITE, [0, 0, 0], b"hello \xff", 1),
        7
    );
    assert!(
        k.drain_events().iter().any(
            |e| matches!(e, KernelEvent::ConsoleOutput { text, .. } if text == "hello \u{fffd}")
        )
    );
    assert_eq!(
        result(&mut k, init, nr::SPAWN, [1, 0, 0], b"terminal", 2),
        err(ErrorCode::BadSlot)
    );
    assert_eq!(
        result(&mut k, init, nr::SPAWN, [0, 0, 0], b"terminal", 2),
        err(ErrorCode::WrongObjectKind)
    );
    let t = k
        .install_capability(init, ObjectRef::ProcessTable, rights::WRITE, 2)
        .unwrap();
    assert_eq!(
        call(&mut k, init, nr::SPAWN, [t, 0, 0], b"terminal", 3),
        Dispatch::Spawn {
            program: "terminal".into()
        }
    );
    assert_eq!(
        result(&mut k, init, nr::SPAWN, [t, 0, 0], b"", 3),
        err(ErrorCode::BadArgument)
    );
    assert_eq!(
        result(&mut k, init, nr::SPAWN, [t, 0, 0], b"\xff\xfe", 3),
        err(ErrorCode::BadArgument)
    );
    let ro = result(&mut k, init, nr::CAP_DERIVE, [t, 0, 0], &[], 3) as u32;
    assert_eq!(
        result(&mut k, init, nr::SPAWN, [ro, 0, 0], b"idle", 3),
        err(ErrorCode::PermissionDenied)
    );
    let term = k.register_process("terminal", 4).unwrap();
    k.exit_process(term, orbital_kernel::ExitReason::OutOfMemory, 5)
        .unwrap();
    let ps = complete(&mut k, init, nr::PS, [0; 3], &[], 6);
    assert_eq!(ps.result, 2);
    assert_eq!(
        String::from_utf8(ps.data).unwrap(),
        "1\tinit\trunning\t65536\n2\tterminal\tzombie\t65536\n"
    );
    // Oversized data for any call is refused before it is looked at.
    assert_eq!(
        result(
            &mut k,
            init,
            nr::CONSOLE_WRITE,
            [0, 0, 0],
            &vec![b'a'; mailbox::DATA_CAPACITY + 1],
            7
        ),
        err(ErrorCode::MessageTooLarge)
    );
}

#[test]
fn determinism_same_inputs_same_events() {
    fn run() -> (Vec<KernelEvent>, Vec<Effect>, String) {
        let mut k = kernel();
        let mut effects = Vec::new();
        let a = k.register_process("a", 0).unwrap();
        let b = k.register_process("b", 0).unwrap();
        let (_, s) = k.create_endpoint(b, 0).unwrap();
        let w = result(
            &mut k,
            b,
            nr::CAP_GRANT,
            [s, a.0, rights::WRITE | rights::GRANT],
            &[],
            1,
        ) as u32;
        for i in 0..50u32 {
            let t = u64::from(i) * 7 * MS;
            let _ = call(&mut k, a, i % 23, [i, w, i % 5], &i.to_le_bytes(), t);
            let _ = call(&mut k, b, nr::TRY_RECEIVE, [s, 0, 0], &[], t);
            send(&mut k, a, w, i, b"payload", t);
            k.tick(t);
            effects.extend(k.take_effects());
        }
        k.kill_process(b, Some(a), 999 * MS).unwrap();
        effects.extend(k.take_effects());
        (k.drain_events(), effects, format!("{:?}", k.processes()))
    }
    let first = run();
    assert!(first.0.len() > 100);
    assert_eq!(first, run());
}

#[test]
fn event_queue_is_bounded_and_counts_drops() {
    let mut k = Kernel::new(KernelConfig {
        event_capacity: 8,
        cap_log_capacity: 3,
        ..Default::default()
    });
    let p = k.register_process("p", 0).unwrap();
    for i in 0..20u64 {
        result(&mut k, p, nr::YIELD, [0; 3], &[], i);
    }
    assert_eq!(k.events_pending(), 8);
    let events = k.drain_events();
    assert_eq!(events.len(), 8);
    // Oldest dropped: what is left is the last eight yields, in order.
    let times: Vec<u64> = events.iter().map(|e| e.at_ns()).collect();
    assert_eq!(times, (12..20).collect::<Vec<_>>());
    assert!(events.iter().all(|e| matches!(
        e,
        KernelEvent::SyscallServiced {
            syscall: nr::YIELD,
            result: 0,
            ..
        }
    )));
    // register emitted ProcessSpawned, CapabilityChanged and MemoryChanged: 3 + 20 - 8 dropped.
    assert_eq!(k.events_dropped(), 15);
    assert!(k.drain_events().is_empty());
    for _ in 0..5 {
        result(&mut k, p, nr::ENDPOINT_CREATE, [0; 3], &[], 30);
    }
    assert_eq!(k.capability_log().len(), 3);
    assert_eq!(k.logs_dropped().1, 3, "1 console + 5 endpoints - 3 kept");
}

#[test]
fn install_at_leaves_gaps_for_missing_connects() {
    let mut k = kernel();
    let server = k.register_process("receiver", 0).unwrap();
    let (ep, _) = k.create_endpoint(server, 0).unwrap();
    let client = k.register_process("pingpong", 0).unwrap();
    // Slot 1 is left empty (an optional connect with no provider); slot 2 still gets its number.
    k.install_capability_at(client, 2, ObjectRef::Endpoint(ep), rights::WRITE, 1)
        .unwrap();
    assert_eq!(send(&mut k, client, 1, 0, b"x", 2), err(ErrorCode::BadSlot));
    assert_eq!(send(&mut k, client, 2, 0, b"x", 2), 0);
    assert_eq!(
        k.install_capability_at(client, 2, ObjectRef::Console, rights::WRITE, 3),
        Err(ErrorCode::BadSlot),
        "occupied"
    );
    assert_eq!(
        k.install_capability_at(client, 64, ObjectRef::Console, rights::WRITE, 3),
        Err(ErrorCode::BadSlot)
    );
    assert_eq!(
        k.install_capability(client, ObjectRef::Console, 8, 3),
        Err(ErrorCode::BadArgument)
    );
    assert_eq!(
        k.install_capability(
            client,
            ObjectRef::Endpoint(orbital_kernel::EndpointId(99)),
            1,
            3
        ),
        Err(ErrorCode::BadArgument)
    );
    assert_eq!(
        k.install_capability(ProcessId(99), ObjectRef::Console, 1, 3),
        Err(ErrorCode::NoSuchProcess)
    );
    assert_eq!(
        k.install_capability(client, ObjectRef::Console, rights::WRITE, 3),
        Ok(1),
        "the lowest free slot"
    );
}

#[test]
fn queued_bytes_are_bounded_system_wide() {
    let mut k = Kernel::new(KernelConfig {
        max_endpoints: 4096,
        ..Default::default()
    });
    let per_message = (mailbox::RECV_HEADER_BYTES + mailbox::MAX_MESSAGE_BYTES) as u64;
    let fit = orbital_kernel::MAX_QUEUED_BYTES / per_message;
    let big = vec![1u8; mailbox::MAX_MESSAGE_BYTES];
    let mut sent = 0u64;
    let mut refused = None;
    'fill: for _ in 0..100 {
        let p = k.register_process("hog", 0).unwrap();
        for _ in 1..slot::CAPACITY {
            let s = result(&mut k, p, nr::ENDPOINT_CREATE, [0; 3], &[], 0) as u32;
            for _ in 0..64 {
                let r = send(&mut k, p, s, 0, &big, 0);
                if r != 0 {
                    refused = Some(r);
                    break 'fill;
                }
                sent += 1;
            }
        }
    }
    assert_eq!(refused, Some(err(ErrorCode::QueueFull)));
    assert_eq!(
        sent, fit,
        "exactly as many 4 KiB messages as fit in the limit"
    );
    k.audit().unwrap();
    // A blocked receiver still gets a message directly (nothing is queued for it).
    let r = k.register_process("r", 1).unwrap();
    let (ep, s) = k.create_endpoint(r, 1).unwrap();
    assert_eq!(
        call(&mut k, r, nr::RECEIVE, [s, 0, 0], &[], 2),
        Dispatch::Pending
    );
    k.send_from_kernel(ep, 0, &big, 3).unwrap();
    assert_eq!(completions(&k.take_effects()).len(), 1);
}
