//! A host with a ceiling on guests running at once (the browser's, see docs/BENCHMARKS.md, "How
//! many processes a page holds"): the spawn that would pass it is refused before the kernel hears
//! of the process, on every path (the supervisor's own spawn, SPAWN from a guest, a `spawn` line
//! typed into the terminal), and a kill makes room again.

use std::sync::atomic::Ordering;

use orbital_supervisor::abi::{ErrorCode, mailbox as mb, nr};
use orbital_supervisor::kernel::KernelConfig;
use orbital_supervisor::mailbox::MailboxWords;
use orbital_supervisor::testing::{ScriptedGuests, ScriptedHost};
use orbital_supervisor::{
    Clock, ConsoleKind, GuestCeiling, HostError, Manifest, SpawnError, Supervisor,
};

const LIMIT: usize = 4;
/// The terminal's process-table slot (after its `stdin` endpoint; docs/ABI.md, "Capabilities").
const TERMINAL_PROCESS_TABLE_SLOT: u32 = 2;

fn supervisor_with_ceiling() -> (Supervisor, ScriptedGuests) {
    let (host, guests) = ScriptedHost::new();
    let host = host.with_ceiling(GuestCeiling {
        limit: LIMIT,
        why: "the test's limit".into(),
    });
    let (clock, _time) = Clock::manual();
    let manifest = Manifest::builtin().expect("the built-in manifest");
    let sup = Supervisor::new(manifest, Box::new(host), KernelConfig::default(), clock);
    (sup, guests)
}

fn store(w: &MailboxWords, offset: usize, value: u32) {
    w.word(offset).store(value, Ordering::SeqCst);
}

#[test]
fn the_spawn_past_the_ceiling_is_refused_before_the_kernel_sees_it() {
    let (mut sup, guests) = supervisor_with_ceiling();
    sup.spawn_program("init").unwrap();
    sup.spawn_program("terminal").unwrap();
    sup.spawn_program("idle").unwrap();
    let last = sup.spawn_program("idle").unwrap();
    assert_eq!(guests.running().len(), LIMIT);
    let processes_before = sup.kernel().processes().len();
    let inputs_before = sup.recording().end();

    let refused = sup.spawn_program("idle").unwrap_err();
    assert!(
        matches!(
            &refused,
            SpawnError::Host {
                error: HostError::AtCapacity {
                    running: 4,
                    limit: 4,
                    ..
                },
                ..
            }
        ),
        "{refused:?}"
    );
    assert_eq!(refused.code(), ErrorCode::TooManyProcesses);
    let text = refused.to_string();
    assert!(
        text.contains("at most 4 guest processes") && text.contains("kill"),
        "the refusal says the limit and what to do: {text}"
    );
    assert_eq!(
        sup.kernel().processes().len(),
        processes_before,
        "no process (and so no Zombie) was created"
    );
    assert_eq!(
        sup.recording().end(),
        inputs_before,
        "the kernel received no input"
    );
    assert_eq!(guests.running().len(), LIMIT, "no guest was started");

    // Killing one makes room again.
    sup.kill(last).unwrap();
    sup.spawn_program("idle").unwrap();
}

#[test]
fn spawn_from_a_guest_gets_too_many_processes_with_the_reason() {
    let (mut sup, guests) = supervisor_with_ceiling();
    sup.spawn_program("init").unwrap();
    let terminal = sup.spawn_program("terminal").unwrap();
    sup.spawn_program("idle").unwrap();
    sup.spawn_program("idle").unwrap();
    let processes_before = sup.kernel().processes().len();

    let w = guests.mailbox(terminal).unwrap();
    let program = b"idle";
    store(&w, mb::SYSCALL, nr::SPAWN);
    store(&w, mb::ARG0, TERMINAL_PROCESS_TABLE_SLOT);
    store(&w, mb::ARG1, 0);
    store(&w, mb::ARG2, 0);
    w.write_bytes(program);
    store(&w, mb::DATA_LEN, program.len() as u32);
    store(&w, mb::STATUS, mb::STATUS_PENDING as u32);
    assert_eq!(sup.service_pending(sup.now_ns()), 1);
    assert_eq!(
        w.word(mb::STATUS).load(Ordering::SeqCst) as i32,
        mb::STATUS_READY
    );
    assert_eq!(
        w.word(mb::RESULT).load(Ordering::SeqCst) as i32,
        ErrorCode::TooManyProcesses.to_result()
    );
    let len = w.word(mb::DATA_LEN).load(Ordering::SeqCst) as usize;
    let why = String::from_utf8(w.read_bytes(len)).unwrap();
    assert!(why.contains("at most 4 guest processes"), "{why}");
    assert_eq!(sup.kernel().processes().len(), processes_before);
}

#[test]
fn a_typed_spawn_at_the_ceiling_is_refused_to_the_caller_and_noticed() {
    let (mut sup, _guests) = supervisor_with_ceiling();
    sup.spawn_program("init").unwrap();
    sup.spawn_program("terminal").unwrap();
    sup.spawn_program("idle").unwrap();
    // Below the ceiling the line goes to the terminal as usual.
    sup.console_input("spawn idle").unwrap();
    sup.spawn_program("idle").unwrap();

    let error = sup.console_input("spawn  idle").unwrap_err();
    assert!(
        error.starts_with("cannot spawn idle: this host runs at most 4 guest processes"),
        "{error}"
    );
    let last = sup.console_log().back().unwrap();
    assert_eq!(last.kind, ConsoleKind::Notice);
    assert!(
        last.text.contains("at most 4 guest processes"),
        "{}",
        last.text
    );
    // Other lines still reach the terminal at the ceiling.
    sup.console_input("ps").unwrap();
}

#[test]
fn without_a_ceiling_nothing_is_refused() {
    let (host, guests) = ScriptedHost::new();
    let (clock, _time) = Clock::manual();
    let manifest = Manifest::builtin().unwrap();
    let mut sup = Supervisor::new(manifest, Box::new(host), KernelConfig::default(), clock);
    assert!(sup.guest_ceiling().is_none());
    for _ in 0..300 {
        sup.spawn_program("idle").unwrap();
    }
    assert_eq!(guests.running().len(), 300);
}
