//! The supervisor's mailbox servicing with a scripted host: the test plays the guest by writing
//! mailbox words directly, so it can forge what a real guest's host never would (the PID word).
//! No wasm, no threads: deterministic.

use std::sync::Arc;

use orbital_supervisor::abi::{ErrorCode, mailbox as mb, nr};
use orbital_supervisor::kernel::{ProcessId, ProcessState};
use orbital_supervisor::mailbox::MailboxWords;
use orbital_supervisor::testing::{ScriptedGuests, scripted_supervisor};
use orbital_supervisor::{GuestExitKind, MailboxStatus, Supervisor, TimeControl};

fn supervisor() -> (Supervisor, ScriptedGuests) {
    let (sup, guests, _time) = scripted_supervisor();
    (sup, guests)
}

fn words(guests: &ScriptedGuests, pid: ProcessId) -> Arc<MailboxWords> {
    guests
        .mailbox(pid)
        .unwrap_or_else(|| panic!("pid {} has no running guest", pid.0))
}

fn set(w: &MailboxWords, offset: usize, value: i32) {
    w.word(offset)
        .store(value as u32, std::sync::atomic::Ordering::SeqCst);
}

fn get(w: &MailboxWords, offset: usize) -> i32 {
    w.word(offset).load(std::sync::atomic::Ordering::SeqCst) as i32
}

/// Plays a guest's host: request words, data, PENDING.
fn request(w: &MailboxWords, number: u32, args: [u32; 3], data: &[u8]) {
    set(w, mb::SYSCALL, number as i32);
    set(w, mb::ARG0, args[0] as i32);
    set(w, mb::ARG1, args[1] as i32);
    set(w, mb::ARG2, args[2] as i32);
    w.write_bytes(data);
    set(w, mb::DATA_LEN, data.len() as i32);
    set(w, mb::STATUS, mb::STATUS_PENDING);
}

/// Takes the reply like a guest's host: RESULT, then IDLE.
fn take_reply(w: &MailboxWords) -> i32 {
    assert_eq!(get(w, mb::STATUS), mb::STATUS_READY, "no reply");
    set(w, mb::STATUS, mb::STATUS_IDLE);
    get(w, mb::RESULT)
}

#[test]
fn forged_pid_word_changes_nothing() {
    let (mut sup, guests) = supervisor();
    let init = sup.spawn_program("init").unwrap();
    let idle = sup.spawn_program("idle").unwrap();
    let w = words(&guests, idle);
    // The guest claims to be init in the PID word; the kernel must still see idle.
    set(&w, mb::PID, init.0 as i32);
    request(&w, nr::GET_PID, [0; 3], &[]);
    assert_eq!(sup.service_pending(sup.now_ns()), 1);
    assert_eq!(
        take_reply(&w),
        idle.0 as i32,
        "GET_PID answers the mailbox's owner"
    );
    assert_eq!(
        get(&w, mb::PID),
        idle.0 as i32,
        "the supervisor rewrites the informational PID word"
    );
    // A KILL of init "as init" (forged PID word) with idle's capabilities: denied, init lives.
    set(&w, mb::PID, init.0 as i32);
    request(&w, nr::KILL, [1, init.0, 0], &[]);
    sup.service_pending(sup.now_ns());
    let result = take_reply(&w);
    assert!(
        ErrorCode::from_result(result).is_some(),
        "KILL without the process table must fail, got {result}"
    );
    assert!(
        sup.kernel()
            .process(init)
            .is_some_and(|p| !p.state.is_zombie())
    );
    assert_eq!(
        sup.kernel().process(idle).unwrap().metrics.syscall_count,
        2,
        "both calls were charged to idle"
    );
    assert_eq!(
        sup.kernel().process(init).unwrap().metrics.syscall_count,
        0,
        "nothing was charged to init"
    );
}

#[test]
fn blocking_receive_completes_when_a_message_arrives_and_status_is_tracked() {
    let (mut sup, guests) = supervisor();
    let receiver = sup.spawn_program("receiver").unwrap();
    let sender = sup.spawn_program("sender").unwrap();
    let (rw, sw) = (words(&guests, receiver), words(&guests, sender));
    request(&rw, nr::RECEIVE, [1, 0, 0], &[]);
    sup.service_pending(sup.now_ns());
    assert_eq!(
        get(&rw, mb::STATUS),
        mb::STATUS_PENDING,
        "an empty RECEIVE stays pending"
    );
    assert_eq!(sup.mailbox_status(receiver), Some(MailboxStatus::Pending));
    assert!(matches!(
        sup.kernel().process(receiver).unwrap().state,
        ProcessState::Blocked(_)
    ));
    // Not re-dispatched while blocked.
    assert_eq!(sup.service_pending(sup.now_ns()), 0);
    let payload = b"\x07\0\0\0\0\0\0\0hello";
    request(&sw, nr::SEND, [1, 9, u32::MAX], payload);
    assert_eq!(sup.service_pending(sup.now_ns()), 1);
    assert_eq!(take_reply(&sw), 0);
    assert_eq!(sup.mailbox_status(receiver), Some(MailboxStatus::Ready));
    let len = take_reply(&rw);
    assert_eq!(len as usize, payload.len());
    let data = rw.read_bytes(get(&rw, mb::DATA_LEN) as usize);
    assert_eq!(
        &data[0..4],
        &sender.0.to_le_bytes(),
        "the kernel stamps the real sender"
    );
    assert_eq!(&data[4..8], &9u32.to_le_bytes());
    assert_eq!(&data[12..], payload);
    assert_eq!(get(&rw, mb::LAST_SERVICED), nr::RECEIVE as i32);
    assert_eq!(sup.last_serviced(receiver).unwrap().name(), "RECEIVE");
}

#[test]
fn exit_stops_the_guest_and_a_trap_becomes_a_zombie() {
    let (mut sup, guests) = supervisor();
    let idle = sup.spawn_program("idle").unwrap();
    let crasher = sup.spawn_program("crasher").unwrap();
    let w = words(&guests, idle);
    request(&w, nr::EXIT, [3, 0, 0], &[]);
    sup.service_pending(sup.now_ns());
    assert!(guests.stopped().contains(&idle), "EXIT stops the guest");
    assert!(matches!(
        sup.kernel().process(idle).unwrap().state,
        ProcessState::Zombie(_)
    ));
    guests.exit(
        crasher,
        GuestExitKind::Trapped("wasm `unreachable` instruction executed".into()),
    );
    sup.service_pending(sup.now_ns());
    match &sup.kernel().process(crasher).unwrap().state {
        ProcessState::Zombie(reason) => {
            assert!(reason.to_string().contains("unreachable"), "{reason}")
        }
        other => panic!("crasher is {other:?}"),
    }
    assert!(sup.console_text_of(crasher).contains("trapped"));
}

#[test]
fn pause_step_and_slow_motion_budget_syscalls() {
    let (mut sup, guests) = supervisor();
    let a = sup.spawn_program("idle").unwrap();
    let b = sup.spawn_program("idle").unwrap();
    let (wa, wb) = (words(&guests, a), words(&guests, b));
    sup.set_time_control(TimeControl::Paused);
    request(&wa, nr::YIELD, [0; 3], &[]);
    request(&wb, nr::YIELD, [0; 3], &[]);
    assert_eq!(
        sup.service_pending(sup.now_ns()),
        0,
        "paused: nothing serviced"
    );
    assert_eq!(get(&wa, mb::STATUS), mb::STATUS_PENDING);
    sup.step();
    assert_eq!(
        sup.service_pending(sup.now_ns()),
        1,
        "a step services exactly one"
    );
    assert_eq!(sup.service_pending(sup.now_ns()), 0);
    sup.step();
    assert_eq!(
        sup.service_pending(sup.now_ns()),
        1,
        "the next step services the other"
    );
    take_reply(&wa);
    take_reply(&wb);
    sup.set_time_control(TimeControl::Slow {
        syscalls_per_sec: 10.0,
    });
    let t0 = sup.now_ns();
    request(&wa, nr::YIELD, [0; 3], &[]);
    request(&wb, nr::YIELD, [0; 3], &[]);
    assert_eq!(sup.service_pending(t0), 0, "no token banked yet");
    let delay = sup.next_service_delay(t0).expect("work is waiting");
    assert!(delay.as_millis() <= 100, "{delay:?}");
    assert_eq!(
        sup.service_pending(t0 + 100_000_000),
        1,
        "one token after 100 ms at 10/s"
    );
    assert_eq!(sup.service_pending(t0 + 150_000_000), 0);
    assert_eq!(
        sup.service_pending(t0 + 1_000_000_000),
        1,
        "never more than one banked"
    );
}

#[test]
fn a_syscall_ceiling_caps_running_at_its_rate_fairly_and_lifts() {
    let (mut sup, guests) = supervisor();
    let pids: Vec<ProcessId> = (0..4).map(|_| sup.spawn_program("idle").unwrap()).collect();
    let mailboxes: Vec<_> = pids.iter().map(|p| words(&guests, *p)).collect();
    let ask_all = || {
        for w in &mailboxes {
            request(w, nr::YIELD, [0; 3], &[]);
        }
    };
    // 40 a second: 2 may pass per 50 ms, and no more are banked over a quiet second.
    sup.set_syscall_ceiling(Some(40.0));
    assert_eq!(sup.syscall_ceiling(), Some(40.0));
    let t0 = sup.now_ns();
    ask_all();
    assert_eq!(sup.service_pending(t0), 0, "nothing banked when it is set");
    let delay = sup.next_service_delay(t0).expect("work is waiting");
    assert!((20..=30).contains(&delay.as_millis()), "{delay:?}");
    assert_eq!(
        sup.service_pending(t0 + 25_000_000),
        1,
        "one token after 25 ms"
    );
    assert_eq!(sup.service_pending(t0 + 75_000_000), 2, "two more by 75 ms");
    assert_eq!(sup.service_pending(t0 + 2_000_000_000), 1, "the one left");
    // Round robin: each of the four was serviced once, none twice.
    for w in &mailboxes {
        take_reply(w);
    }
    ask_all();
    let t1 = t0 + 3_000_000_000;
    assert_eq!(
        sup.service_pending(t1),
        2,
        "a quiet second banks at most 50 ms of the rate"
    );
    assert!(sup.next_service_delay(t1).is_some());
    // Slow motion keeps its own rate under a ceiling; pause is pause.
    sup.set_time_control(TimeControl::Paused);
    assert_eq!(sup.service_pending(t1 + 1_000_000_000), 0);
    sup.set_time_control(TimeControl::Running);
    // Lifted: everything waiting goes at once.
    sup.set_syscall_ceiling(None);
    assert_eq!(sup.service_pending(t1 + 1_000_000_000), 2);
    assert_eq!(sup.next_service_delay(t1 + 1_000_000_000), None);
    // A ceiling that is no rate is no ceiling.
    sup.set_syscall_ceiling(Some(f32::NAN));
    assert_eq!(sup.syscall_ceiling(), None);
    sup.set_syscall_ceiling(Some(0.0));
    assert_eq!(sup.syscall_ceiling(), None);
}

#[test]
fn missing_optional_connect_leaves_an_empty_slot() {
    let (mut sup, _guests) = supervisor();
    let first = sup.spawn_program("pingpong").unwrap();
    let second = sup.spawn_program("pingpong").unwrap();
    let third = sup.spawn_program("pingpong").unwrap();
    let fourth = sup.spawn_program("pingpong").unwrap();
    let slots = |pid| {
        sup.kernel()
            .capabilities(pid)
            .iter()
            .map(|c| c.slot)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        slots(first),
        [0, 1],
        "the first pingpong has no peer: slot 2 stays empty"
    );
    assert_eq!(slots(second), [0, 1, 2], "the second is wired to the first");
    // Exclusive: the first two are a pair (both inboxes taken), so the third has no peer and
    // waits; a fourth is wired to the third.
    assert_eq!(
        slots(third),
        [0, 1],
        "the third waits for a peer of its own"
    );
    assert_eq!(slots(fourth), [0, 1, 2]);
    let peer = |pid| {
        sup.kernel()
            .capabilities(pid)
            .iter()
            .find(|c| c.slot == 2)
            .unwrap()
            .object
    };
    assert_ne!(peer(second), peer(fourth));
    let terminal_err = sup.spawn_program("terminal");
    assert!(terminal_err.is_ok(), "terminal needs no provider");
}

#[test]
fn host_refusals_in_the_mailbox_become_denied_requests() {
    use orbital_supervisor::abi::host_import;
    use orbital_supervisor::kernel::KernelEvent;
    let (mut sup, guests) = supervisor();
    let idle = sup.spawn_program("idle").unwrap();
    let w = words(&guests, idle);
    let _ = sup.drain_events();
    let denied = |sup: &mut Supervisor| -> Vec<(ProcessId, u32, ErrorCode, String)> {
        sup.drain_events()
            .into_iter()
            .filter_map(|e| match e {
                KernelEvent::RequestDenied {
                    pid,
                    syscall,
                    error,
                    reason,
                    ..
                } => Some((pid, syscall, error, reason)),
                _ => None,
            })
            .collect()
    };
    // The host refused a bad pointer; the next syscall carries the news, before its own result.
    set(
        &w,
        mb::HOST_REFUSAL_CODE,
        host_import::pack(host_import::SEND_BYTES, ErrorCode::BadPointer),
    );
    set(&w, mb::HOST_REFUSALS, 1);
    request(&w, nr::YIELD, [0; 3], &[]);
    assert_eq!(sup.service_pending(sup.now_ns()), 1);
    assert_eq!(take_reply(&w), 0);
    let d = denied(&mut sup);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(
        (d[0].0, d[0].1, d[0].2),
        (idle, host_import::SEND_BYTES, ErrorCode::BadPointer)
    );
    assert!(
        d[0].3
            .starts_with("orbital_send_bytes: pointer range outside guest memory"),
        "{}",
        d[0].3
    );
    // Seen once only.
    request(&w, nr::YIELD, [0; 3], &[]);
    sup.service_pending(sup.now_ns());
    take_reply(&w);
    sup.tick(sup.now_ns());
    assert!(denied(&mut sup).is_empty());
    // A guest that makes no syscall after refusals is still seen by the per-frame tick, even paused.
    sup.set_time_control(TimeControl::Paused);
    set(
        &w,
        mb::HOST_REFUSAL_CODE,
        host_import::pack(host_import::RECV_BYTES, ErrorCode::BadPointer),
    );
    set(&w, mb::HOST_REFUSALS, 3);
    sup.tick(sup.now_ns());
    let d = denied(&mut sup);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(
        (d[0].1, d[0].2),
        (host_import::RECV_BYTES, ErrorCode::BadPointer)
    );
    assert!(d[0].3.contains("2 host refusals"), "{}", d[0].3);
    assert_eq!(sup.kernel().process(idle).unwrap().metrics.host_refusals, 3);
    assert_eq!(
        sup.kernel().process(idle).unwrap().metrics.syscall_count,
        2,
        "refusals are not syscalls"
    );
}
