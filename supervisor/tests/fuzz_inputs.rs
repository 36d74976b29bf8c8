//! Property-based fuzzing of what the supervisor decodes from outside:
//! - the mailbox decoder (`Mailbox::read_request`) and the supervisor's servicing of arbitrary
//!   mailbox words: random syscall numbers, arguments, `DATA_LEN`s (negative, huge), data,
//!   forged `PID` words, odd `STATUS` values, memory reports, guests that trap or are killed;
//! - the RON program-manifest loader (`Manifest::parse`): random bytes and mutations of the
//!   shipped file. (The app's scenario loader has its own fuzz test.)
//!
//! Nothing may panic; a syntax error must carry a line and column inside the text; the kernel's
//! own audit must pass after every serviced request; a reply must carry a documented code and fit
//! the mailbox; the PID word written by a guest never changes whose call it is.
//!
//! CI: `CI_CASES` cases per property. `ORBITAL_FUZZ=long` (50x) or `PROPTEST_CASES=n` for more.
//! Run with `--nocapture` to see the execution counts.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use orbital_supervisor::abi::{ErrorCode, mailbox as mb, nr};
use orbital_supervisor::fuzz_check as check;
use orbital_supervisor::kernel::ProcessId;
use orbital_supervisor::mailbox::{AtomicMailbox, Mailbox, MailboxWords};
use orbital_supervisor::manifest::BUILTIN_MANIFEST;
use orbital_supervisor::testing::fuzz::{
    executed, finish, mutate, mutation, position_inside, runner, take_executions,
};
use orbital_supervisor::testing::scripted_supervisor;
use orbital_supervisor::{GuestExitKind, Manifest, ManifestError};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

fn check_manifest(bytes: &[u8]) -> Result<(), TestCaseError> {
    executed(1);
    let text = String::from_utf8_lossy(bytes);
    match Manifest::parse(&text, "fuzz.ron") {
        Ok(m) => {
            check!(!m.programs.is_empty(), "an empty manifest was accepted");
            for p in &m.programs {
                check!(
                    p.module.ends_with(".wasm") && !p.module.contains('/'),
                    "bad module {:?} accepted",
                    p.module
                );
                for c in &p.connects {
                    check!(
                        m.program(c.provider_program()).is_some(),
                        "dangling connect {:?} accepted",
                        c.service
                    );
                }
            }
        }
        Err(e @ ManifestError::Syntax { line, column, .. }) => {
            check!(
                position_inside(text.as_bytes(), line, column),
                "syntax error at {line}:{column} is outside the text: {e}"
            );
            check!(
                e.to_string()
                    .starts_with(&format!("fuzz.ron:{line}:{column}: ")),
                "message without its position: {e}"
            );
        }
        Err(e @ ManifestError::Invalid { .. }) => {
            check!(
                e.to_string().starts_with("fuzz.ron: program "),
                "a semantic error must name the program: {e}"
            );
        }
    }
    Ok(())
}

#[test]
fn fuzz_manifest_loader_random_bytes_and_mutations() {
    let strategy = prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..400),
        4 => prop::collection::vec(mutation(), 1..8).prop_map(|m| mutate(BUILTIN_MANIFEST.as_bytes(), &m)),
    ];
    let result = runner().run(&strategy, |bytes| check_manifest(&bytes));
    finish("fuzz_manifest_loader", "manifests parsed", result);
}

#[test]
fn the_shipped_manifest_loads_and_every_truncation_of_it_is_a_positioned_error() {
    Manifest::parse(BUILTIN_MANIFEST, "assets/programs.ron").expect("the shipped manifest");
    // Every single-byte truncation of the manifest is an error with a position, never a panic.
    let text = BUILTIN_MANIFEST.as_bytes();
    for end in 0..text.len() {
        check_manifest(&text[..end]).unwrap();
    }
    let n = take_executions();
    println!(
        "manifest_truncations: {n} truncated manifests parsed (every prefix of the shipped file)"
    );
}

// ---------------------------------------------------------------------------------------------
// The mailbox decoder and the supervisor's servicing

fn word(w: &MailboxWords, offset: usize) -> i32 {
    w.word(offset).load(Ordering::SeqCst) as i32
}

fn set(w: &MailboxWords, offset: usize, value: i32) {
    w.word(offset).store(value as u32, Ordering::SeqCst);
}

#[test]
fn fuzz_mailbox_decoder() {
    let strategy = (
        prop::collection::vec(any::<i32>(), mb::HEADER_WORDS),
        prop_oneof![Just(0i32), -5i32..5000, any::<i32>()],
        prop::collection::vec(any::<u8>(), 0..mb::DATA_CAPACITY + 100),
    );
    let result = runner().run(&strategy, |(header, data_len, data)| {
        executed(1);
        let words = MailboxWords::new();
        for (i, v) in header.iter().enumerate() {
            set(&words, i * 4, *v);
        }
        words.write_bytes(&data);
        set(&words, mb::DATA_LEN, data_len);
        let mailbox = AtomicMailbox(words.clone());
        let mailbox: &dyn Mailbox = &mailbox;
        let request = mailbox.read_request();
        let expected_len = data_len.clamp(0, mb::DATA_CAPACITY as i32) as usize;
        check!(
            request.data.len() == expected_len,
            "DATA_LEN {data_len} read {} bytes",
            request.data.len()
        );
        let written = data.len().min(mb::DATA_CAPACITY);
        let common = expected_len.min(written);
        check!(
            request.data[..common] == data[..common],
            "data bytes changed in the mailbox"
        );
        check!(
            request.number == header[mb::SYSCALL / 4] as u32,
            "syscall number changed"
        );
        check!(
            request.args == [header[2] as u32, header[3] as u32, header[4] as u32],
            "args changed"
        );
        // The reply side never writes past the buffer either.
        mailbox.complete(7, request.number, -3, &data);
        check!(
            word(&words, mb::DATA_LEN) as usize == written,
            "reply DATA_LEN {}",
            word(&words, mb::DATA_LEN)
        );
        check!(
            word(&words, mb::STATUS) == mb::STATUS_READY,
            "reply did not set READY"
        );
        Ok(())
    });
    finish("fuzz_mailbox_decoder", "mailboxes decoded", result);
}

#[derive(Clone, Debug)]
enum Step {
    /// A guest's host writes a request (any words) and rings.
    Request {
        who: usize,
        number: u32,
        args: [u32; 3],
        data_len: i32,
        data: Vec<u8>,
        pid_word: i32,
        memory: u32,
        status: i32,
    },
    /// The guest picks up its reply (READY -> IDLE).
    PickUp {
        who: usize,
    },
    Trap {
        who: usize,
    },
    Kill {
        who: usize,
    },
    Spawn {
        program: usize,
    },
    Tick {
        ms: u64,
    },
    Console {
        line: String,
    },
}

const PROGRAMS: [&str; 7] = [
    "receiver", "sender", "idle", "pingpong", "rogue", "memhog", "nonsense",
];

fn number() -> impl Strategy<Value = u32> {
    prop_oneof![8 => 0u32..nr::COUNT, 1 => any::<u32>()]
}

fn arg() -> impl Strategy<Value = u32> {
    prop_oneof![4 => 0u32..6, 1 => 0u32..20, 1 => Just(u32::MAX), 1 => any::<u32>()]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        12 => (0usize..8, number(), [arg(), arg(), arg()], prop_oneof![4 => 0i32..64, 1 => any::<i32>()],
               prop::collection::vec(any::<u8>(), 0..32), prop_oneof![Just(0i32), any::<i32>()],
               prop_oneof![Just(65_536u32), any::<u32>()], prop_oneof![8 => Just(mb::STATUS_PENDING), 1 => any::<i32>()])
            .prop_map(|(who, number, args, data_len, data, pid_word, memory, status)| Step::Request { who, number, args, data_len, data, pid_word, memory, status }),
        6 => (0usize..8).prop_map(|who| Step::PickUp { who }),
        1 => (0usize..8).prop_map(|who| Step::Trap { who }),
        1 => (0usize..8).prop_map(|who| Step::Kill { who }),
        1 => (0..PROGRAMS.len()).prop_map(|program| Step::Spawn { program }),
        2 => (0u64..200).prop_map(|ms| Step::Tick { ms }),
        1 => "[ -~]{0,24}".prop_map(|line| Step::Console { line }),
    ]
}

fn run_servicing(steps: Vec<Step>) -> Result<(), TestCaseError> {
    let (mut sup, guests, time) = scripted_supervisor();
    for program in ["init", "terminal", "receiver", "sender", "rogue"] {
        sup.spawn_program(program)
            .map_err(|e| TestCaseError::fail(format!("seed spawn {program}: {e}")))?;
    }
    let mut now_ns = sup.now_ns();
    for step in steps {
        executed(1);
        let live: Vec<(ProcessId, Arc<MailboxWords>)> = guests
            .running()
            .into_iter()
            .filter_map(|p| Some((p, guests.mailbox(p)?)))
            .collect();
        let pick = |who: usize| (!live.is_empty()).then(|| live[who % live.len()].clone());
        match step {
            Step::Request {
                who,
                number,
                args,
                data_len,
                data,
                pid_word,
                memory,
                status,
            } => {
                let Some((pid, w)) = pick(who) else { continue };
                if word(&w, mb::STATUS) == mb::STATUS_PENDING {
                    continue; // a real guest waits while its call is pending
                }
                let syscalls_before = sup.kernel().process(pid).map(|p| p.metrics.syscall_count);
                let others_before: BTreeMap<ProcessId, u64> = sup
                    .kernel()
                    .processes()
                    .values()
                    .filter(|p| p.pid != pid)
                    .map(|p| (p.pid, p.metrics.syscall_count))
                    .collect();
                set(&w, mb::SYSCALL, number as i32);
                set(&w, mb::ARG0, args[0] as i32);
                set(&w, mb::ARG1, args[1] as i32);
                set(&w, mb::ARG2, args[2] as i32);
                w.write_bytes(&data);
                set(&w, mb::DATA_LEN, data_len);
                set(&w, mb::PID, pid_word);
                set(&w, mb::MEMORY_BYTES, memory as i32);
                set(&w, mb::STATUS, status);
                now_ns = now_ns.max(sup.now_ns());
                sup.service_pending(now_ns);
                if status != mb::STATUS_PENDING {
                    check!(
                        sup.kernel().process(pid).map(|p| p.metrics.syscall_count)
                            == syscalls_before,
                        "a non-PENDING mailbox was serviced"
                    );
                    continue;
                }
                // Whose call it was comes from the supervisor's map, never from the PID word.
                if let (Some(before), Some(p)) = (syscalls_before, sup.kernel().process(pid)) {
                    check!(
                        p.metrics.syscall_count > before
                            || number == nr::EXIT
                            || number == nr::KILL,
                        "pid {pid}'s call was not counted to it"
                    );
                }
                for (other, before) in &others_before {
                    if let Some(p) = sup.kernel().process(*other) {
                        check!(
                            p.metrics.syscall_count == *before,
                            "pid {pid}'s call (PID word {pid_word}) was charged to pid {other}"
                        );
                    }
                }
                if word(&w, mb::STATUS) == mb::STATUS_READY {
                    let result = word(&w, mb::RESULT);
                    check!(
                        result >= 0 || ErrorCode::from_result(result).is_some(),
                        "undocumented result {result} for syscall {number}"
                    );
                    let len = word(&w, mb::DATA_LEN);
                    check!(
                        (0..=mb::DATA_CAPACITY as i32).contains(&len),
                        "reply DATA_LEN {len}"
                    );
                    check!(
                        word(&w, mb::PID) == pid.0 as i32,
                        "PID word {} after servicing pid {pid}",
                        word(&w, mb::PID)
                    );
                }
            }
            Step::PickUp { who } => {
                if let Some((_, w)) = pick(who)
                    && word(&w, mb::STATUS) == mb::STATUS_READY
                {
                    set(&w, mb::STATUS, mb::STATUS_IDLE);
                }
            }
            Step::Trap { who } => {
                if let Some((pid, _)) = pick(who) {
                    guests.exit(pid, GuestExitKind::Trapped("fuzz trap".into()));
                    sup.service_pending(now_ns);
                }
            }
            Step::Kill { who } => {
                if let Some((pid, _)) = pick(who) {
                    let _ = sup.kill(pid);
                }
            }
            Step::Spawn { program } => {
                let _ = sup.spawn_program(PROGRAMS[program]);
            }
            Step::Tick { ms } => {
                now_ns = now_ns.max(sup.now_ns()) + ms * 1_000_000;
                time.set(now_ns);
                sup.tick(now_ns);
            }
            Step::Console { line } => {
                let _ = sup.console_input(&line);
            }
        }
        let _ = sup.drain_events();
        if let Err(e) = sup.kernel().audit() {
            return Err(TestCaseError::fail(format!("kernel audit: {e}")));
        }
        // Every live guest the host runs is a live process in the kernel, and the other way round.
        let running = guests.running();
        for pid in &running {
            check!(
                sup.kernel()
                    .process(*pid)
                    .is_some_and(|p| !p.state.is_zombie()),
                "the host runs pid {pid} but the kernel has no live process"
            );
        }
        let live_in_kernel = sup
            .kernel()
            .processes()
            .values()
            .filter(|p| !p.state.is_zombie())
            .count();
        check!(
            live_in_kernel == running.len(),
            "{live_in_kernel} live processes but {} guests",
            running.len()
        );
    }
    Ok(())
}

#[test]
fn fuzz_supervisor_servicing_of_arbitrary_mailboxes() {
    let result = runner().run(&prop::collection::vec(step(), 1..120), run_servicing);
    finish(
        "fuzz_supervisor_servicing",
        "steps (mailbox requests and host events)",
        result,
    );
}
