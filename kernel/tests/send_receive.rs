//! SEND_RECEIVE: a SEND and the RECEIVE for its answer in one syscall.

mod common;
use common::*;

use orbital_kernel::abi::{ErrorCode, nr, rights, slot};
use orbital_kernel::{
    BlockReason, Dispatch, EndpointId, Kernel, KernelEvent, ProcessId, ProcessState,
};

/// `a` and `b`, each with an inbox in slot 1; `a` holds WRITE to `b`'s inbox and `b` WRITE to
/// `a`'s. Returns (kernel, a, b, a's slot for b's inbox, b's slot for a's inbox).
fn peers() -> (Kernel, ProcessId, ProcessId, u32, u32) {
    let mut k = kernel();
    let a = k.register_process("a", 0).unwrap();
    let b = k.register_process("b", 0).unwrap();
    assert_eq!(k.create_endpoint(a, 0).unwrap().1, 1);
    assert_eq!(k.create_endpoint(b, 0).unwrap().1, 1);
    let a_to_b = result(&mut k, b, nr::CAP_GRANT, [1, a.0, rights::WRITE], &[], 1) as u32;
    let b_to_a = result(&mut k, a, nr::CAP_GRANT, [1, b.0, rights::WRITE], &[], 1) as u32;
    let _ = k.drain_events();
    (k, a, b, a_to_b, b_to_a)
}

fn sent_events(events: &[KernelEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, KernelEvent::MessageSent { .. }))
        .count()
}

#[test]
fn delivers_blocks_and_wakes_with_the_reply() {
    let (mut k, a, b, a_to_b, b_to_a) = peers();
    // b waits for a request.
    assert_eq!(
        call(&mut k, b, nr::RECEIVE, [1, 0, 0], &[], 2),
        Dispatch::Pending
    );
    // a sends it and waits for the answer in one call.
    assert_eq!(
        call(&mut k, a, nr::SEND_RECEIVE, [a_to_b, 5, 1], b"ping", 3),
        Dispatch::Pending
    );
    assert_eq!(
        k.process(a).unwrap().state,
        ProcessState::Blocked(BlockReason::Receive {
            endpoint: EndpointId(1)
        })
    );
    let done = completions(&k.take_effects());
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].0, b);
    assert_eq!(
        parse_recv(&done[0].1),
        (a.0, 5, slot::NONE, b"ping".to_vec())
    );
    // b answers the same way: its answer wakes a, and b now waits for the next request.
    assert_eq!(
        call(&mut k, b, nr::SEND_RECEIVE, [b_to_a, 6, 1], b"pong!", 4),
        Dispatch::Pending
    );
    let done = completions(&k.take_effects());
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].0, a);
    assert_eq!(done[0].1.result, 5);
    assert_eq!(
        parse_recv(&done[0].1),
        (b.0, 6, slot::NONE, b"pong!".to_vec())
    );
    assert_eq!(k.process(a).unwrap().state, ProcessState::Running);
    assert!(k.process(b).unwrap().state.is_blocked());

    // One MessageSent and one traffic entry per send, as for SEND; the woken call is reported
    // as SEND_RECEIVE.
    let events = k.drain_events();
    assert_eq!(sent_events(&events), 2);
    assert_eq!(k.traffic_log().len(), 2);
    assert!(events.contains(&KernelEvent::SyscallServiced {
        pid: a,
        syscall: nr::SEND_RECEIVE,
        result: 5,
        at_ns: 4
    }));
    let counts = k.message_counts();
    assert_eq!((counts.sent, counts.delivered, counts.queued), (2, 2, 0));
    let m = &k.process(a).unwrap().metrics;
    assert_eq!(
        (
            m.ipc_sent,
            m.ipc_bytes_sent,
            m.ipc_received,
            m.ipc_bytes_received
        ),
        (1, 4, 1, 5)
    );
    k.audit().unwrap();
}

#[test]
fn completes_at_once_when_the_answer_is_already_queued() {
    let (mut k, a, b, a_to_b, b_to_a) = peers();
    assert_eq!(send(&mut k, b, b_to_a, 9, b"early", 2), 0);
    let reply = complete(&mut k, a, nr::SEND_RECEIVE, [a_to_b, 5, 1], b"ping", 3);
    assert_eq!(reply.result, 5);
    assert_eq!(parse_recv(&reply), (b.0, 9, slot::NONE, b"early".to_vec()));
    assert_eq!(k.process(a).unwrap().state, ProcessState::Running);
    // The request is queued for b.
    assert_eq!(k.endpoint(EndpointId(2)).unwrap().queue_len, 1);
    let events = k.drain_events();
    assert!(events.contains(&KernelEvent::SyscallServiced {
        pid: a,
        syscall: nr::SEND_RECEIVE,
        result: 5,
        at_ns: 3
    }));
    k.audit().unwrap();
}

#[test]
fn refusals_send_nothing_and_receive_nothing() {
    let (mut k, a, b, a_to_b, b_to_a) = peers();
    let read_b = result(&mut k, b, nr::CAP_GRANT, [1, a.0, rights::READ], &[], 2) as u32;
    let sent = k.message_counts().sent;

    // No WRITE on the send slot.
    assert_eq!(
        result(&mut k, a, nr::SEND_RECEIVE, [read_b, 5, 1], b"x", 3),
        err(ErrorCode::PermissionDenied)
    );
    // No READ on the receive slot: refused before anything is sent.
    assert_eq!(
        result(&mut k, a, nr::SEND_RECEIVE, [a_to_b, 5, a_to_b], b"x", 3),
        err(ErrorCode::PermissionDenied)
    );
    // Empty slots.
    assert_eq!(
        result(&mut k, a, nr::SEND_RECEIVE, [40, 5, 1], b"x", 3),
        err(ErrorCode::BadSlot)
    );
    assert_eq!(
        result(&mut k, a, nr::SEND_RECEIVE, [a_to_b, 5, 40], b"x", 3),
        err(ErrorCode::BadSlot)
    );
    assert_eq!(
        k.message_counts().sent,
        sent,
        "a refused call sends nothing"
    );
    assert_eq!(k.endpoint(EndpointId(2)).unwrap().queue_len, 0);
    assert_eq!(k.process(a).unwrap().state, ProcessState::Running);

    // Queue full: the send's error, and the answer already waiting stays queued.
    assert_eq!(send(&mut k, b, b_to_a, 1, b"waiting", 4), 0);
    let capacity = k.config().queue_capacity;
    for i in 0..capacity {
        assert_eq!(send(&mut k, a, a_to_b, i as u32, b"fill", 4), 0);
    }
    assert_eq!(
        result(&mut k, a, nr::SEND_RECEIVE, [a_to_b, 5, 1], b"x", 5),
        err(ErrorCode::QueueFull)
    );
    assert_eq!(
        k.endpoint(EndpointId(1)).unwrap().queue_len,
        1,
        "nothing was received"
    );
    assert_eq!(k.process(a).unwrap().state, ProcessState::Running);
    k.audit().unwrap();
}

#[test]
fn peer_gone() {
    let (mut k, a, b, a_to_b, _) = peers();
    // A third process c owns the endpoint a waits on (a holds READ to it).
    let c = k.register_process("c", 0).unwrap();
    let (_, c_inbox) = k.create_endpoint(c, 0).unwrap();
    let a_reads_c = result(
        &mut k,
        c,
        nr::CAP_GRANT,
        [c_inbox, a.0, rights::READ],
        &[],
        2,
    ) as u32;
    assert_eq!(
        call(
            &mut k,
            a,
            nr::SEND_RECEIVE,
            [a_to_b, 5, a_reads_c],
            b"ping",
            3
        ),
        Dispatch::Pending
    );
    // The request reached b's inbox; then c dies and a wakes with PEER_GONE.
    assert_eq!(k.endpoint(EndpointId(2)).unwrap().queue_len, 1);
    k.kill_process(c, None, 4).unwrap();
    let done = completions(&k.take_effects());
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].0, a);
    assert_eq!(done[0].1.result, err(ErrorCode::PeerGone));
    assert_eq!(k.process(a).unwrap().state, ProcessState::Running);
    // The peer a sends to is gone: the send's error, and a does not block.
    k.kill_process(b, None, 5).unwrap();
    let _ = k.take_effects();
    assert_eq!(
        result(&mut k, a, nr::SEND_RECEIVE, [a_to_b, 5, 1], b"ping", 6),
        err(ErrorCode::StaleCapability)
    );
    assert_eq!(k.process(a).unwrap().state, ProcessState::Running);
    k.audit().unwrap();
}

#[test]
fn to_its_own_inbox_answers_itself() {
    let mut k = kernel();
    let a = k.register_process("a", 0).unwrap();
    assert_eq!(k.create_endpoint(a, 0).unwrap().1, 1);
    let reply = complete(&mut k, a, nr::SEND_RECEIVE, [1, 3, 1], b"echo", 1);
    assert_eq!(parse_recv(&reply), (a.0, 3, slot::NONE, b"echo".to_vec()));
    let c = k.message_counts();
    assert_eq!((c.sent, c.delivered, c.queued), (1, 1, 0));
    k.audit().unwrap();
}

/// The send slot's errors come before the receive slot's, a dead endpoint included; and a
/// capability to a dead endpoint is stale whatever its rights (slot errors before rights, as
/// everywhere else), not PERMISSION_DENIED because it lacks the right asked for.
#[test]
fn a_dead_endpoint_is_stale_before_anything_else() {
    let (mut k, a, b, a_to_b, _) = peers();
    // a also holds READ-only to b's inbox.
    let a_reads_b = result(&mut k, b, nr::CAP_GRANT, [1, a.0, rights::READ], &[], 2) as u32;
    k.kill_process(b, None, 3).unwrap();
    let _ = k.take_effects();
    let sent = k.message_counts().sent;
    // Dead send endpoint, empty receive slot: the send slot's error.
    assert_eq!(
        result(&mut k, a, nr::SEND_RECEIVE, [a_to_b, 5, 40], b"x", 4),
        err(ErrorCode::StaleCapability)
    );
    // Dead endpoint through a capability without WRITE: stale, for SEND and SEND_RECEIVE alike.
    assert_eq!(
        send(&mut k, a, a_reads_b, 5, b"x", 4),
        err(ErrorCode::StaleCapability)
    );
    assert_eq!(
        result(&mut k, a, nr::SEND_RECEIVE, [a_reads_b, 5, 1], b"x", 4),
        err(ErrorCode::StaleCapability)
    );
    // ... and as a receive slot without READ (a_to_b is WRITE only).
    assert_eq!(
        result(&mut k, a, nr::TRY_RECEIVE, [a_to_b, 0, 0], &[], 4),
        err(ErrorCode::StaleCapability)
    );
    assert_eq!(
        result(&mut k, a, nr::SEND_RECEIVE, [1, 5, a_to_b], b"x", 4),
        err(ErrorCode::StaleCapability)
    );
    assert_eq!(k.message_counts().sent, sent);
    assert_eq!(k.process(a).unwrap().state, ProcessState::Running);
    k.audit().unwrap();
}
