//! The supervisor with real guest modules on wasmi threads and its doorbell servicer thread: the
//! whole syscall pipeline natively, with no engine. (The app's plugin and its ECS mirror have
//! their own tests.)
//!
//! Needs the guest modules: `cargo xtask guests` (the README's `cargo xtask test` builds them
//! first). Each test waits for a condition with a generous deadline, updating in between.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use orbital_supervisor::abi::{ErrorCode, host_import, nr};
use orbital_supervisor::kernel::{
    BlockReason, ExitReason, KernelConfig, KernelEvent, ProcessId, ProcessState,
};
use orbital_supervisor::native_host::{NativeHost, Servicer};
use orbital_supervisor::testing::require_guest_modules;
use orbital_supervisor::{
    Clock, HostError, KillError, MailboxStatus, Manifest, SharedSupervisor, SpawnError, Supervisor,
    TimeControl,
};

const DEADLINE: Duration = Duration::from_secs(60);

/// The supervisor on the native host with its servicer thread, and every kernel event seen.
struct Harness {
    shared: SharedSupervisor,
    events: Vec<KernelEvent>,
    _servicer: Servicer,
}

impl Harness {
    /// The supervisor booted (init, terminal, idle) on the native host.
    fn boot() -> Harness {
        require_guest_modules();
        let host = NativeHost::new();
        let doorbell = host.doorbell();
        let manifest = Manifest::builtin().expect("the built-in manifest");
        let shared = SharedSupervisor::new(Supervisor::new(
            manifest,
            Box::new(host),
            KernelConfig::default(),
            Clock::monotonic(),
        ));
        let servicer = Servicer::start(&shared, doorbell);
        shared.lock().boot().expect("boot init");
        let mut h = Harness {
            shared,
            events: Vec::new(),
            _servicer: servicer,
        };
        h.wait_for("init, terminal and idle to start", |h| {
            h.pid_of("init").is_some()
                && h.pid_of("terminal").is_some()
                && h.pid_of("idle").is_some()
        });
        h
    }

    fn handle(&self) -> &SharedSupervisor {
        &self.shared
    }

    /// What a frame does: tick the kernel (sleepers, exits), service, and collect the events.
    fn update(&mut self) {
        let mut sup = self.shared.lock();
        let now_ns = sup.now_ns();
        sup.tick(now_ns);
        sup.service_pending(now_ns);
        self.events.extend(sup.drain_events());
    }

    fn pid_of(&self, name: &str) -> Option<ProcessId> {
        let sup = self.shared.lock();
        sup.kernel()
            .processes()
            .values()
            .filter(|p| p.name == name)
            .map(|p| p.pid)
            .max()
    }

    fn state(&self, pid: ProcessId) -> Option<ProcessState> {
        self.shared
            .lock()
            .kernel()
            .process(pid)
            .map(|p| p.state.clone())
    }

    fn console_of(&self, pid: ProcessId) -> String {
        self.shared.lock().console_text_of(pid)
    }

    fn all_console(&self) -> String {
        let sup = self.shared.lock();
        sup.console_log()
            .iter()
            .map(|l| format!("[{}] {}", l.pid.0, l.text))
            .collect()
    }

    fn events(&self) -> &[KernelEvent] {
        &self.events
    }

    /// Updates until `done` holds; panics with the console and process table after `DEADLINE`.
    fn wait_for(&mut self, what: &str, mut done: impl FnMut(&mut Harness) -> bool) {
        let start = Instant::now();
        loop {
            self.update();
            if done(self) {
                return;
            }
            if start.elapsed() > DEADLINE {
                let table: String = self
                    .shared
                    .lock()
                    .kernel()
                    .processes()
                    .values()
                    .map(|p| format!("  {} {} {:?}\n", p.pid.0, p.name, p.state))
                    .collect();
                panic!(
                    "timed out after {DEADLINE:?} waiting for {what}\nprocesses:\n{table}console:\n{}",
                    self.all_console()
                );
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn spawn(&mut self, program: &str) -> ProcessId {
        let result = self.shared.lock().spawn_program(program);
        result.unwrap_or_else(|e| panic!("spawn {program}: {e}"))
    }

    /// A line typed into the terminal.
    fn type_line(&mut self, line: &str) {
        let result = self.shared.lock().console_input(line);
        result.unwrap_or_else(|e| panic!("console input {line:?}: {e}"));
    }

    fn syscalls_of(&self, pid: ProcessId) -> u64 {
        self.shared
            .lock()
            .kernel()
            .process(pid)
            .map_or(0, |p| p.metrics.syscall_count)
    }
}

#[test]
fn init_boots_terminal_then_idle_and_they_settle_into_their_loops() {
    let mut h = Harness::boot();
    let (init, terminal, idle) = (
        h.pid_of("init").unwrap(),
        h.pid_of("terminal").unwrap(),
        h.pid_of("idle").unwrap(),
    );
    assert_eq!(
        (init, terminal, idle),
        (ProcessId(1), ProcessId(2), ProcessId(3)),
        "init spawns terminal then idle"
    );
    h.wait_for(
        "terminal blocked on input, init asleep, idle yielding",
        |h| {
            matches!(
                h.state(terminal),
                Some(ProcessState::Blocked(BlockReason::Receive { .. }))
            ) && matches!(
                h.state(init),
                Some(ProcessState::Blocked(BlockReason::Sleep { .. }))
            ) && h.syscalls_of(idle) > 20
        },
    );
    assert!(!matches!(h.state(idle), Some(ProcessState::Zombie(_))));
    let terminal_process = h
        .handle()
        .lock()
        .kernel()
        .process(terminal)
        .cloned()
        .expect("terminal");
    assert!(terminal_process.protected);
    assert!(h.handle().lock().worker_id(terminal).is_some());
    assert_eq!(
        h.handle().lock().mailbox_status(terminal),
        Some(MailboxStatus::Pending)
    );
    let spawned: Vec<ProcessId> = h
        .events()
        .iter()
        .filter_map(|e| {
            if let KernelEvent::ProcessSpawned { pid, .. } = e {
                Some(*pid)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(
        spawned,
        [init, terminal, idle],
        "ProcessSpawned messages in order"
    );
    assert!(!h.console_of(init).is_empty(), "init printed its banner");
    assert_eq!(h.handle().lock().live_guests(), 3);
}

#[test]
fn sender_to_receiver_delivers_every_message_in_order() {
    let mut h = Harness::boot();
    let receiver = h.spawn("receiver");
    let sender = h.spawn("sender");
    h.wait_for("receiver to count 1000 messages in order", |h| {
        h.console_of(receiver)
            .contains("receiver: 1000 messages in order")
    });
    let out = h.console_of(receiver);
    assert!(!out.contains("OUT OF ORDER"), "receiver saw a gap:\n{out}");
    for n in [1, 10, 100, 1000] {
        assert!(
            out.contains(&format!("receiver: {n} messages in order")),
            "missing count {n}:\n{out}"
        );
    }
    let handle = h.handle();
    let sup = handle.lock();
    let rx = sup.kernel().process(receiver).unwrap();
    let tx = sup.kernel().process(sender).unwrap();
    assert!(rx.metrics.ipc_received >= 1000, "{:?}", rx.metrics);
    assert!(tx.metrics.ipc_sent >= rx.metrics.ipc_received);
}

#[test]
fn sender_without_receiver_is_refused_with_a_reason() {
    let mut h = Harness::boot();
    let err = h.handle().lock().spawn_program("sender").unwrap_err();
    assert!(matches!(err, SpawnError::MissingProvider { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "sender needs a running receiver (service receiver.inbox): spawn receiver first"
    );
    assert!(
        h.all_console().contains("spawn receiver first"),
        "the refusal reaches the console"
    );
    assert!(
        h.pid_of("sender").is_none(),
        "a refused spawn leaves no process"
    );
    // The same through the terminal: the SPAWN syscall is refused and the reason is on the console.
    h.type_line("spawn sender");
    let refusals = |h: &Harness| h.all_console().matches("spawn receiver first").count();
    h.wait_for("the terminal to print the refusal", |h| {
        let terminal = h.pid_of("terminal").unwrap();
        h.console_of(terminal).contains("spawn sender: PEER_GONE") && refusals(h) >= 3
    });
    assert!(h.pid_of("sender").is_none());
    // Unknown programs name the ones that exist.
    let err = h.handle().lock().spawn_program("nonsense").unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("no program named \"nonsense\"")
            && text.contains("receiver")
            && text.contains("pingpong"),
        "{text}"
    );
    assert_eq!(err.code(), ErrorCode::NoSuchProgram);
}

#[test]
fn pingpong_pair_exchanges_a_thousand_round_trips() {
    let mut h = Harness::boot();
    let started = Instant::now();
    let pong = h.spawn("pingpong");
    let ping = h.spawn("pingpong");
    h.wait_for("1000 pingpong round trips", |h| {
        let out = h.console_of(ping) + &h.console_of(pong);
        out.contains("pingpong: 1000 round trips")
    });
    let elapsed = started.elapsed();
    println!(
        "pingpong: 1000 round trips in {elapsed:?} ({:?} per round trip)",
        elapsed / 1000
    );
    let handle = h.handle();
    let sup = handle.lock();
    for pid in [ping, pong] {
        let p = sup.kernel().process(pid).unwrap();
        assert!(
            p.metrics.ipc_sent >= 1000 && p.metrics.ipc_received >= 999,
            "{pid:?}: {:?}",
            p.metrics
        );
    }
}

/// Spawning pingpong twice next to a pair that already plays (the default scenario) makes a
/// second pair: the third instance must not connect to a process busy with its own peer.
#[test]
fn a_second_pingpong_pair_plays_beside_the_first() {
    let mut h = Harness::boot();
    let first = [h.spawn("pingpong"), h.spawn("pingpong")];
    h.wait_for("the first pair's 1000 round trips", |h| {
        (h.console_of(first[0]) + &h.console_of(first[1])).contains("pingpong: 1000 round trips")
    });
    let second = [h.spawn("pingpong"), h.spawn("pingpong")];
    h.wait_for("the second pair's 1000 round trips", |h| {
        (h.console_of(second[0]) + &h.console_of(second[1])).contains("pingpong: 1000 round trips")
    });
}

#[test]
fn memhog_grows_until_refused_and_is_counted() {
    let mut h = Harness::boot();
    let memhog = h.spawn("memhog");
    h.wait_for("memhog to be refused", |h| {
        h.console_of(memhog).contains("memhog: refused at")
    });
    let out = h.console_of(memhog);
    let steps = out
        .lines()
        .filter(|l| l.starts_with("memhog: ") && l.ends_with(" MiB"))
        .count();
    assert!(
        steps >= 10,
        "memhog grew in steps before the refusal:\n{out}"
    );
    assert!(out.contains("OUT_OF_MEMORY"), "{out}");
    assert!(
        !matches!(h.state(memhog), Some(ProcessState::Zombie(_))),
        "a refusal is an error code, not a fault"
    );
    let handle = h.handle();
    let sup = handle.lock();
    let p = sup.kernel().process(memhog).unwrap();
    let accounted = p.accounted_memory();
    assert!(
        p.metrics.memory_size >= 32 << 20,
        "linear memory reported to the kernel: {}",
        p.metrics.memory_size
    );
    assert!(accounted >= 32 << 20, "accounted memory: {accounted}");
    let system = sup.kernel().system_metrics(sup.now_ns());
    assert!(
        system.total_memory >= accounted,
        "system total {} < memhog's {accounted}",
        system.total_memory
    );
    println!(
        "memhog: linear {} bytes, accounted {accounted}, system total {}",
        p.metrics.memory_size, system.total_memory
    );
}

#[test]
fn crasher_becomes_a_zombie_with_its_trap_while_others_run() {
    let mut h = Harness::boot();
    let idle = h.pid_of("idle").unwrap();
    let crasher = h.spawn("crasher");
    h.wait_for("crasher to trap", |h| {
        matches!(h.state(crasher), Some(ProcessState::Zombie(_)))
    });
    let Some(ProcessState::Zombie(ExitReason::Trapped { message })) = h.state(crasher) else {
        panic!("crasher should have trapped: {:?}", h.state(crasher));
    };
    assert!(message.contains("unreachable"), "trap message: {message}");
    assert!(
        h.console_of(crasher).contains("trapped"),
        "the trap is on the console"
    );
    let before = h.syscalls_of(idle);
    h.wait_for("idle to keep running", |h| {
        h.syscalls_of(idle) > before + 20
    });
    for name in ["init", "terminal", "idle"] {
        let pid = h.pid_of(name).unwrap();
        assert!(
            !matches!(h.state(pid), Some(ProcessState::Zombie(_))),
            "{name} died with the crasher"
        );
    }
    assert!(
        h.events()
            .iter()
            .any(|e| matches!(e, KernelEvent::ProcessExited { pid, .. } if *pid == crasher))
    );
    // Reaping removes the Zombie.
    h.handle().lock().reap(crasher).expect("reap the crasher");
    assert!(h.state(crasher).is_none());
}

#[test]
fn spinner_is_killed_and_its_thread_released() {
    let mut h = Harness::boot();
    let live_before = h.handle().lock().live_guests();
    let spinner = h.spawn("spinner");
    h.wait_for("spinner to spin", |h| {
        h.console_of(spinner).contains("spinning")
    });
    let live_spinning = h.handle().lock().live_guests();
    assert_eq!(live_spinning, live_before + 1);
    let killed_at = Instant::now();
    h.handle().lock().kill(spinner).expect("kill spinner");
    h.wait_for("the spinner thread to end", |h| {
        h.handle().lock().live_guests() == live_before
    });
    let live_after = h.handle().lock().live_guests();
    println!(
        "spinner: live guest threads before {live_before}, spinning {live_spinning}, after kill {live_after} (released in {:?})",
        killed_at.elapsed()
    );
    assert!(
        h.state(spinner).is_none(),
        "a killed process leaves the table"
    );
    assert!(
        h.events().iter().any(
            |e| matches!(e, KernelEvent::ProcessKilled { pid, by: None, .. } if *pid == spinner)
        )
    );
    // Protected processes are refused with a reason.
    let err = h.handle().lock().kill(ProcessId(1)).unwrap_err();
    assert!(matches!(err, KillError::Protected { .. }), "{err:?}");
    assert!(err.to_string().contains("protected"), "{err}");
}

#[test]
fn rogue_is_denied_with_reasons() {
    let mut h = Harness::boot();
    let receiver = h.spawn("receiver");
    let rogue = h.spawn("rogue");
    let denied_codes = |h: &Harness| -> BTreeSet<ErrorCode> {
        h.events()
            .iter()
            .filter_map(|e| match e {
                KernelEvent::RequestDenied { pid, error, .. } if *pid == rogue => Some(*error),
                _ => None,
            })
            .collect()
    };
    h.wait_for("rogue's first full round of forgeries", |h| {
        h.console_of(rogue).contains("rogue: round 1:")
    });
    let out = h.console_of(rogue);
    assert!(
        !out.contains("ALLOWED"),
        "a forgery was let through:\n{out}"
    );
    assert!(out.contains(" 0 let through"), "{out}");
    assert!(
        out.contains("the claim changed nothing"),
        "the forged sender claim:\n{out}"
    );
    // Bad pointers and lengths are refused by the host before the kernel sees anything; the host
    // records them in the mailbox and they are shown as denied requests of the import.
    assert!(
        out.contains("refused, BAD_POINTER") && out.contains("refused, MESSAGE_TOO_LARGE"),
        "{out}"
    );
    let host_denials: BTreeSet<(u32, ErrorCode)> = h
        .events()
        .iter()
        .filter_map(|e| match e {
            KernelEvent::RequestDenied {
                pid,
                syscall,
                error,
                ..
            } if *pid == rogue && *syscall >= nr::COUNT => Some((*syscall, *error)),
            _ => None,
        })
        .collect();
    for expected in [
        (host_import::SEND_BYTES, ErrorCode::BadPointer),
        (host_import::SEND_BYTES, ErrorCode::MessageTooLarge),
        (host_import::RECV_BYTES, ErrorCode::BadPointer),
    ] {
        assert!(
            host_denials.contains(&expected),
            "no host denial {expected:?} for rogue: {host_denials:?}"
        );
    }
    assert!(
        h.handle()
            .lock()
            .kernel()
            .process(rogue)
            .unwrap()
            .metrics
            .host_refusals
            >= 8,
        "rogue's host refusals are counted"
    );
    let codes = denied_codes(&h);
    for code in [
        ErrorCode::BadSlot,
        ErrorCode::PermissionDenied,
        ErrorCode::UnknownSyscall,
        ErrorCode::WrongObjectKind,
    ] {
        assert!(
            codes.contains(&code),
            "no {} denial for rogue: {codes:?}",
            code.name()
        );
    }
    for e in h.events() {
        if let KernelEvent::RequestDenied { reason, .. } = e {
            assert!(!reason.is_empty(), "denial without a reason: {e:?}");
        }
    }
    assert!(
        !matches!(h.state(rogue), Some(ProcessState::Zombie(_))),
        "refusals are codes, not faults"
    );
    // Nothing was stamped as coming from init, and nothing rogue did was charged to anyone else.
    for e in h.events() {
        if let KernelEvent::MessageDelivered { from, to, .. } = e {
            assert!(
                !(*to == receiver && *from == ProcessId(1)),
                "a message was stamped as coming from init"
            );
        }
        if let KernelEvent::RequestDenied { pid, .. } = e {
            assert_eq!(
                *pid, rogue,
                "a denial was charged to another process: {e:?}"
            );
        }
    }
    let init = h.pid_of("init").unwrap();
    let handle = h.handle();
    let sup = handle.lock();
    assert_eq!(
        sup.kernel().process(init).unwrap().metrics.ipc_sent,
        0,
        "init sent nothing"
    );
    let rogue_denials = h
        .events()
        .iter()
        .filter(|e| matches!(e, KernelEvent::RequestDenied { pid, .. } if *pid == rogue))
        .count();
    println!(
        "rogue: {rogue_denials} denials, codes {:?}",
        denied_codes(&h)
    );
}

#[test]
fn terminal_lines_run_ps_spawn_and_kill() {
    let mut h = Harness::boot();
    let terminal = h.pid_of("terminal").unwrap();
    h.wait_for("terminal to wait for input", |h| {
        matches!(
            h.state(terminal),
            Some(ProcessState::Blocked(BlockReason::Receive { .. }))
        )
    });
    h.type_line("ps");
    h.wait_for("ps output listing idle", |h| {
        let out = h.console_of(terminal);
        out.contains("idle") && out.contains("init")
    });
    h.type_line("spawn receiver");
    h.wait_for("receiver spawned by the terminal", |h| {
        h.pid_of("receiver").is_some()
    });
    let receiver = h.pid_of("receiver").unwrap();
    let started = format!("started receiver as pid {}", receiver.0);
    h.wait_for("the terminal to report the new pid", |h| {
        h.console_of(terminal).contains(&started)
    });
    h.type_line(&format!("kill {}", receiver.0));
    // The servicing thread carries out the kill: its event can still be queued in the
    // supervisor when the process is already gone from the table, so wait for the event itself.
    h.wait_for("receiver killed by the terminal", |h| {
        h.events().iter().any(|e| {
            matches!(e, KernelEvent::ProcessKilled { pid, by: Some(by), .. }
            if *pid == receiver && *by == terminal)
        })
    });
    assert!(h.state(receiver).is_none(), "the killed receiver is gone");
    h.wait_for("the receiver's thread to end", |h| {
        h.handle().lock().live_guests() == 3
    });
    // Killing a protected process from the terminal is refused, not done.
    h.type_line("kill 1");
    h.wait_for("the protected refusal", |h| {
        h.console_of(terminal).to_lowercase().contains("protected")
    });
    assert!(h.state(ProcessId(1)).is_some());
}

#[test]
fn pause_holds_syscalls_and_step_services_exactly_one() {
    let mut h = Harness::boot();
    let idle = h.pid_of("idle").unwrap();
    h.wait_for("idle to be yielding", |h| h.syscalls_of(idle) > 10);
    h.handle().lock().set_time_control(TimeControl::Paused);
    h.wait_for("idle's next syscall to wait in its mailbox", |h| {
        h.handle().lock().mailbox_status(idle) == Some(MailboxStatus::Pending)
    });
    let total = |h: &Harness| {
        let sup = h.handle().lock();
        sup.kernel().system_metrics(sup.now_ns()).syscalls
    };
    let frozen = total(&h);
    for _ in 0..50 {
        h.update();
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(total(&h), frozen, "nothing is serviced while paused");
    h.handle().lock().step();
    h.wait_for("one step", |h| total(h) > frozen);
    for _ in 0..50 {
        h.update();
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(total(&h), frozen + 1, "a step services exactly one syscall");
    // Slow motion: at most N syscalls a second.
    h.handle().lock().set_time_control(TimeControl::Slow {
        syscalls_per_sec: 20.0,
    });
    h.update();
    let (t0, s0) = (Instant::now(), total(&h));
    h.wait_for("some slow syscalls", |h| total(h) >= s0 + 5);
    let rate = (total(&h) - s0) as f64 / t0.elapsed().as_secs_f64();
    assert!(
        rate <= 20.0 * 1.5 + 2.0,
        "slow motion ran at {rate:.1} syscalls/s"
    );
    h.handle().lock().set_time_control(TimeControl::Running);
    let s1 = total(&h);
    h.wait_for("full speed again", |h| total(h) > s1 + 100);
}

/// A module that imports `env.memory` (one page) and exports nothing.
const NO_START_MODULE: &[u8] = &[
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
    0x02, 0x0f, 0x01, // import section: 15 bytes, one import
    0x03, b'e', b'n', b'v', 0x06, b'm', b'e', b'm', b'o', b'r', b'y', 0x02, 0x00,
    0x01, // env.memory, min 1
];

#[test]
fn bad_or_missing_modules_are_clear_spawn_errors() {
    let dir = std::env::temp_dir().join(format!("orbital-bad-modules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("idle.wasm"), NO_START_MODULE).unwrap();
    std::fs::write(dir.join("spinner.wasm"), b"not wasm at all").unwrap();
    let host = NativeHost::with_dirs(vec![dir.clone()]);
    let mut sup = Supervisor::new(
        Manifest::builtin().unwrap(),
        Box::new(host),
        KernelConfig::default(),
        Clock::monotonic(),
    );

    let err = sup.spawn_program("idle").unwrap_err();
    assert!(
        matches!(
            &err,
            SpawnError::Host {
                error: HostError::InvalidModule { .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("does not export a `_start` function"),
        "{err}"
    );
    let err = sup.spawn_program("spinner").unwrap_err();
    assert!(
        matches!(
            &err,
            SpawnError::Host {
                error: HostError::InvalidModule { .. },
                ..
            }
        ),
        "{err:?}"
    );
    let err = sup.spawn_program("init").unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("init.wasm not found") && text.contains("cargo xtask guests"),
        "{text}"
    );
    assert!(
        text.contains(&dir.display().to_string()),
        "says where it looked: {text}"
    );
    // Each refusal reached the console, and the failed processes are Zombies with the reason.
    assert_eq!(
        sup.console_text_of(ProcessId::KERNEL)
            .matches("supervisor: cannot spawn")
            .count(),
        3
    );
    for p in sup.kernel().processes().values() {
        assert!(
            matches!(&p.state, ProcessState::Zombie(ExitReason::Trapped { message }) if !message.is_empty()),
            "{p:?}"
        );
    }
    assert_eq!(sup.live_guests(), 0);
    std::fs::remove_dir_all(&dir).ok();
}
