//! The supervisor plugin on the native host, headless (`App::new()` + `MinimalPlugins`): intents
//! reach the supervisor, kernel events become messages, and every process is mirrored as an
//! entity. The syscall pipeline itself is tested in the supervisor crate (`native_guests.rs`).
//!
//! Needs the guest modules: `cargo xtask guests` (the README's `cargo xtask test` builds them
//! first). Each test waits for a condition with a generous deadline, updating the app in between.

use std::time::{Duration, Instant};

use bevy::prelude::*;
use orbital_playground::kernel::{BlockReason, ExitReason, KernelEvent, ProcessId, ProcessState};
use orbital_playground::supervisor::{
    IntentRefused, KernelEventMessage, KillError, MailboxStatus, ProcessEntity, ProcessView,
    SupervisorHandle, SupervisorIntent, SupervisorPlugin, SupervisorSystems,
};
use orbital_supervisor::testing::{ScriptedHost, require_guest_modules};

const DEADLINE: Duration = Duration::from_secs(60);

/// Every kernel event the app published, in order.
#[derive(Resource, Default)]
struct SeenEvents(Vec<KernelEvent>);

fn record_events(mut reader: MessageReader<KernelEventMessage>, mut seen: ResMut<SeenEvents>) {
    seen.0.extend(reader.read().map(|m| m.0.clone()));
}

struct Harness {
    app: App,
}

impl Harness {
    /// A headless app with the supervisor booted (init, terminal, idle) on the native host.
    fn boot() -> Harness {
        require_guest_modules();
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .add_plugins(SupervisorPlugin::default())
            .init_resource::<SeenEvents>()
            .add_systems(
                Update,
                record_events.after(SupervisorSystems::PublishEvents),
            );
        let mut h = Harness { app };
        h.wait_for("init, terminal and idle to start", |h| {
            h.pid_of("init").is_some()
                && h.pid_of("terminal").is_some()
                && h.pid_of("idle").is_some()
        });
        h
    }

    fn handle(&self) -> SupervisorHandle {
        self.app.world().resource::<SupervisorHandle>().clone()
    }

    fn pid_of(&self, name: &str) -> Option<ProcessId> {
        let handle = self.handle();
        let sup = handle.lock();
        sup.kernel()
            .processes()
            .values()
            .filter(|p| p.name == name)
            .map(|p| p.pid)
            .max()
    }

    fn state(&self, pid: ProcessId) -> Option<ProcessState> {
        self.handle()
            .lock()
            .kernel()
            .process(pid)
            .map(|p| p.state.clone())
    }

    fn console_of(&self, pid: ProcessId) -> String {
        self.handle().lock().console_text_of(pid)
    }

    fn all_console(&self) -> String {
        let handle = self.handle();
        let sup = handle.lock();
        sup.console_log()
            .iter()
            .map(|l| format!("[{}] {}", l.pid.0, l.text))
            .collect()
    }

    fn events(&self) -> &[KernelEvent] {
        &self.app.world().resource::<SeenEvents>().0
    }

    /// Updates the app until `done` holds; panics with the console and process table after `DEADLINE`.
    fn wait_for(&mut self, what: &str, mut done: impl FnMut(&mut Harness) -> bool) {
        let start = Instant::now();
        loop {
            self.app.update();
            if done(self) {
                return;
            }
            if start.elapsed() > DEADLINE {
                let handle = self.handle();
                let table: String = handle
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
        let result = self.handle().lock().spawn_program(program);
        result.unwrap_or_else(|e| panic!("spawn {program}: {e}"))
    }

    fn intent(&mut self, intent: SupervisorIntent) {
        self.app.world_mut().write_message(intent);
    }

    fn syscalls_of(&self, pid: ProcessId) -> u64 {
        self.handle()
            .lock()
            .kernel()
            .process(pid)
            .map_or(0, |p| p.metrics.syscall_count)
    }
}

#[test]
fn booting_mirrors_init_terminal_and_idle_as_entities_with_their_views() {
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
    // The ECS mirror: one entity per process, with the kernel's view of it.
    h.wait_for("three process entities with views", |h| {
        let world = h.app.world_mut();
        let mut q = world.query::<(&ProcessEntity, &ProcessView)>();
        let views: Vec<(ProcessId, String, MailboxStatus)> = q
            .iter(world)
            .map(|(e, v)| (e.pid, v.name.clone(), v.mailbox))
            .collect();
        views.len() == 3
            && views
                .iter()
                .any(|(p, n, m)| *p == terminal && n == "terminal" && *m == MailboxStatus::Pending)
            && views.iter().any(|(p, n, _)| *p == init && n == "init")
    });
    let world = h.app.world_mut();
    let mut q = world.query::<&ProcessView>();
    let terminal_view = q
        .iter(world)
        .find(|v| v.name == "terminal")
        .unwrap()
        .clone();
    assert!(terminal_view.protected);
    assert!(terminal_view.worker_id.is_some());
    assert!(matches!(
        terminal_view.state,
        ProcessState::Blocked(BlockReason::Receive { .. })
    ));
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
fn a_trapped_process_stays_an_entity_until_the_reap_intent() {
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
    // Reaping removes the Zombie and its entity.
    h.intent(SupervisorIntent::Reap { pid: crasher });
    h.wait_for("the crasher entity to go", |h| {
        let gone_from_kernel = h.state(crasher).is_none();
        let world = h.app.world_mut();
        let mut q = world.query::<&ProcessEntity>();
        gone_from_kernel && !q.iter(world).any(|e| e.pid == crasher)
    });
}

#[test]
fn a_killed_spinner_loses_its_entity_and_its_thread() {
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
    h.wait_for("the spinner's entity to be despawned", |h| {
        let world = h.app.world_mut();
        let mut q = world.query::<&ProcessEntity>();
        !q.iter(world).any(|e| e.pid == spinner)
    });
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

/// Every refusal seen as a message.
#[derive(Resource, Default)]
struct SeenRefusals(Vec<IntentRefused>);

fn record_refusals(mut reader: MessageReader<IntentRefused>, mut seen: ResMut<SeenRefusals>) {
    seen.0.extend(reader.read().cloned());
}

#[test]
fn an_intent_refused_outside_the_ecs_reaches_the_caller_and_the_ui_alike() {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .add_plugins(SupervisorPlugin::with_host(|| Box::new(ScriptedHost::new().0)).without_boot())
        .init_resource::<SeenRefusals>()
        .add_systems(
            Update,
            record_refusals.after(SupervisorSystems::ApplyIntents),
        );
    app.update();
    let handle = app.world().resource::<SupervisorHandle>().clone();
    // From outside (as `window.supervisor` does): the caller gets the reason at once...
    let outside = handle
        .apply_intent(&SupervisorIntent::Kill { pid: ProcessId(99) })
        .unwrap_err();
    assert!(outside.contains("no process with pid 99"), "{outside}");
    // ...and from inside, the same intent is refused with the same reason.
    app.world_mut()
        .write_message(SupervisorIntent::Kill { pid: ProcessId(99) });
    app.update();
    let seen = &app.world().resource::<SeenRefusals>().0;
    assert_eq!(
        seen.len(),
        2,
        "both refusals reach the UI as messages: {seen:?}"
    );
    assert!(seen.iter().all(|r| r.reason == outside), "{seen:?}");
    // Accepted intents from outside change the supervisor at once.
    handle
        .apply_intent(&SupervisorIntent::Spawn {
            program: "idle".into(),
        })
        .expect("spawn idle");
    assert!(
        handle
            .lock()
            .kernel()
            .processes()
            .values()
            .any(|p| p.name == "idle")
    );
}
