//! 256 processes on the native host (wasmi, one thread per guest), where no browser caps the
//! number of WebAssembly memories: the `crowd-256` scenario spawns every process and they all run
//! and talk. Headless (supervisor, scenario, graph model and layout; no rendering).
//!
//! `measure_crowds` (ignored by default; `cargo xtask bench` runs it) times the 64-process crowd
//! and crowd-256 in one run: spawn time, update time per frame, memory per process. It writes
//! JSON to `ORBITAL_BENCH_OUT` when that is set. Needs the guest modules: `cargo xtask guests`.

use std::time::{Duration, Instant};

use bevy::asset::AssetPlugin;
use bevy::prelude::*;
use orbital_playground::graph::{GraphNode, GraphPlugin};
use orbital_playground::scenario::{LoadScenario, ScenarioPlugin, ScenarioSettings, ScenarioState};
use orbital_playground::supervisor::{SupervisorHandle, SupervisorPlugin};
use orbital_supervisor::recording::RecordingSettings;
use orbital_supervisor::testing::{require_guest_modules, thread_cpu_ns};

fn app() -> App {
    require_guest_modules();
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .add_plugins(AssetPlugin {
            file_path: concat!(env!("CARGO_MANIFEST_DIR"), "/assets").into(),
            ..default()
        })
        .add_plugins(SupervisorPlugin::default())
        // The boot first (init, terminal, idle), then the scenario, as a person does it.
        .insert_resource(ScenarioSettings { startup: None })
        .add_plugins((ScenarioPlugin, GraphPlugin));
    app
}

/// Runs frames (about 60 a second) until `done` holds.
fn run_until(app: &mut App, what: &str, timeout: Duration, done: impl Fn(&mut World) -> bool) {
    let start = Instant::now();
    while start.elapsed() < timeout {
        app.update();
        if done(app.world_mut()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(16));
    }
    let supervisor = app.world().resource::<SupervisorHandle>().lock();
    let console: Vec<String> = supervisor
        .console_log()
        .iter()
        .rev()
        .take(40)
        .map(|l| format!("{}: {}", l.pid.0, l.text))
        .collect();
    panic!(
        "timed out waiting for {what}; {} processes; console (newest first): {console:#?}",
        supervisor.kernel().processes().len()
    );
}

fn nodes(world: &mut World) -> usize {
    world.query::<&GraphNode>().iter(world).count()
}

/// Processes in the kernel's table that are running or blocked (not Zombies), and how many of
/// them have made at least one syscall.
fn live_and_started(world: &World) -> (usize, usize) {
    let supervisor = world.resource::<SupervisorHandle>().lock();
    let live: Vec<_> = supervisor
        .kernel()
        .processes()
        .values()
        .filter(|p| !p.state.is_zombie())
        .collect();
    let started = live.iter().filter(|p| p.metrics.syscall_count > 0).count();
    (live.len(), started)
}

/// The process's resident set in bytes (Linux; 0 elsewhere).
fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// What one scenario measured.
struct Crowd {
    processes: usize,
    spawn_ms: f64,
    update_median_ms: f64,
    update_p95_ms: f64,
    guest_memory_bytes: u64,
    resident_delta_bytes: u64,
    messages_per_sec: f64,
}

fn boot(app: &mut App) {
    run_until(app, "the boot set", Duration::from_secs(60), |w| {
        live_and_started(w) == (3, 3) && nodes(w) == 3
    });
}

/// Loads `name` on a booted app and waits until all `expected` processes run and have made a
/// syscall; then times 300 updates at about 60 a second.
fn run_crowd(app: &mut App, name: &str, expected: usize) -> Crowd {
    let resident_before = resident_bytes();
    let start = Instant::now();
    app.world_mut()
        .write_message(LoadScenario { name: name.into() });
    run_until(
        app,
        &format!("all {expected} processes of {name} to run"),
        Duration::from_secs(300),
        |w| {
            w.resource::<ScenarioState>().current.as_deref() == Some(name)
                && live_and_started(w) == (expected, expected)
                && nodes(w) == expected
        },
    );
    let spawn_ms = start.elapsed().as_secs_f64() * 1000.0;
    // Let the traffic ramp up, then time the updates.
    for _ in 0..60 {
        app.update();
        std::thread::sleep(Duration::from_millis(16));
    }
    let (sent_before, t0) = {
        let s = app.world().resource::<SupervisorHandle>().lock();
        (s.kernel().message_counts().sent, Instant::now())
    };
    let mut samples = Vec::with_capacity(300);
    for _ in 0..300 {
        let start = Instant::now();
        app.update();
        samples.push(start.elapsed().as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_millis(16));
    }
    samples.sort_by(f64::total_cmp);
    let s = app.world().resource::<SupervisorHandle>().lock();
    let messages_per_sec =
        (s.kernel().message_counts().sent - sent_before) as f64 / t0.elapsed().as_secs_f64();
    let guest_memory_bytes = s
        .kernel()
        .processes()
        .values()
        .map(|p| p.metrics.memory_size as u64)
        .sum();
    Crowd {
        processes: expected,
        spawn_ms,
        update_median_ms: samples[150],
        update_p95_ms: samples[284],
        guest_memory_bytes,
        resident_delta_bytes: resident_bytes().saturating_sub(resident_before),
        messages_per_sec,
    }
}

/// CPU time in ns of this process's threads named `orbital-servicer` (`comm` keeps 15 bytes of it) (the native host services
/// the mailboxes there, off the app's frame), from `/proc/self/task/*/schedstat`; 0 elsewhere.
fn servicer_cpu_ns() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    tasks
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|c| "orbital-servicer".starts_with(c.trim()))
        })
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .sum()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The recording's cost on a running crowd, recording off and on in alternating windows of
/// `FRAMES` updates (about 60 a second), `PAIRS` times (ABBA order): the servicing thread's CPU
/// time per syscall (natively the mailboxes are serviced, and the inputs recorded, on that
/// thread) and each window's mean update in CPU time (the app's frame). Medians over the pairs.
/// With recording off in both halves (an A/A run) the update ratio came out 0.96-1.01 here.
#[derive(Default)]
struct OnOff {
    off_service_ns: f64,
    on_service_ns: f64,
    service_ratio: f64,
    off_update_ms: f64,
    on_update_ms: f64,
    update_ratio: f64,
    syscalls_per_frame: f64,
}

fn recording_on_vs_off(app: &mut App) -> OnOff {
    const PAIRS: usize = 30;
    const FRAMES: usize = 20;
    let set = |app: &mut App, enabled: bool| {
        app.world()
            .resource::<SupervisorHandle>()
            .lock()
            .set_recording(RecordingSettings {
                enabled,
                ..RecordingSettings::default()
            });
        // Turning recording on takes a base snapshot: not part of the steady cost.
        for _ in 0..5 {
            app.update();
            std::thread::sleep(Duration::from_millis(16));
        }
    };
    let syscalls = |app: &App| {
        app.world()
            .resource::<SupervisorHandle>()
            .lock()
            .kernel()
            .system_metrics(0)
            .syscalls
    };
    // (median update ms, servicer ns per syscall, syscalls)
    let window = |app: &mut App| {
        let (calls, service) = (syscalls(app), servicer_cpu_ns());
        let mut update_ms = 0.0;
        for _ in 0..FRAMES {
            let t = thread_cpu_ns();
            app.update();
            update_ms += (thread_cpu_ns() - t) / 1e6;
            std::thread::sleep(Duration::from_millis(16));
        }
        let calls = syscalls(app) - calls;
        let per_call = (servicer_cpu_ns() - service) / calls.max(1) as f64;
        (update_ms / FRAMES as f64, per_call, calls)
    };
    let mut v: [Vec<f64>; 6] = Default::default();
    let mut calls = 0;
    for pair in 0..PAIRS {
        // Off first in even pairs, on first in odd ones, so a drift within a pair cancels.
        let (off, on) = if pair % 2 == 0 {
            set(app, false);
            let off = window(app);
            set(app, true);
            (off, window(app))
        } else {
            set(app, true);
            let on = window(app);
            set(app, false);
            (window(app), on)
        };
        calls += off.2 + on.2;
        for (i, x) in [off.0, on.0, on.0 / off.0, off.1, on.1, on.1 / off.1]
            .into_iter()
            .enumerate()
        {
            v[i].push(x);
        }
    }
    let [off_u, on_u, ratio_u, off_s, on_s, ratio_s] = &mut v;
    OnOff {
        off_update_ms: median(off_u),
        on_update_ms: median(on_u),
        update_ratio: median(ratio_u),
        off_service_ns: median(off_s),
        on_service_ns: median(on_s),
        service_ratio: median(ratio_s),
        syscalls_per_frame: calls as f64 / (2 * PAIRS * FRAMES) as f64,
    }
}

#[test]
fn crowd_256_spawns_and_runs() {
    let mut app = app();
    boot(&mut app);
    let crowd = run_crowd(&mut app, "crowd-256", 256);
    assert_eq!(crowd.processes, 256);
    assert!(
        crowd.messages_per_sec > 0.0,
        "the 256 processes talk: no message was sent in 300 frames"
    );
    // Every receiver got messages from its sender, and nothing ended.
    let s = app.world().resource::<SupervisorHandle>().lock();
    let receivers: Vec<_> = s
        .kernel()
        .processes()
        .values()
        .filter(|p| p.name == "receiver")
        .collect();
    assert_eq!(receivers.len(), 125);
    let silent: Vec<u32> = receivers
        .iter()
        .filter(|p| p.metrics.ipc_received == 0)
        .map(|p| p.pid.0)
        .collect();
    assert!(silent.is_empty(), "receivers that got nothing: {silent:?}");
    assert!(
        s.kernel().ended_processes().is_empty(),
        "no process ended: {:?}",
        s.kernel().ended_processes()
    );
    assert_eq!(s.live_guests(), 256);
}

#[test]
#[ignore = "a measurement: `cargo xtask bench` runs it (or add --ignored)"]
fn measure_crowds() {
    // Each crowd on a fresh app in one process, the 64-process crowd (the baseline) first.
    let mut results = Vec::new();
    let mut recording = None;
    for (name, expected) in [("crowd", 64), ("crowd-256", 256)] {
        let mut app = app();
        boot(&mut app);
        let c = run_crowd(&mut app, name, expected);
        println!(
            "{name} (native, headless, no rendering): {} processes; spawn {:.0} ms ({:.2} ms/process); update median {:.2} ms, p95 {:.2} ms; guest memory {:.1} KiB/process; resident +{:.1} KiB/process; {:.0} messages/s",
            c.processes,
            c.spawn_ms,
            c.spawn_ms / (c.processes - 3) as f64,
            c.update_median_ms,
            c.update_p95_ms,
            c.guest_memory_bytes as f64 / c.processes as f64 / 1024.0,
            c.resident_delta_bytes as f64 / (c.processes - 3) as f64 / 1024.0,
            c.messages_per_sec,
        );
        results.push((name, c));
        if name == "crowd" {
            let r = recording_on_vs_off(&mut app);
            println!(
                "crowd, recording off vs on, {:.0} syscalls a frame (medians of alternating windows): servicing thread {:.0} vs {:.0} CPU ns/syscall, on/off {:.3}; app update {:.3} vs {:.3} CPU ms, on/off {:.3}",
                r.syscalls_per_frame,
                r.off_service_ns,
                r.on_service_ns,
                r.service_ratio,
                r.off_update_ms,
                r.on_update_ms,
                r.update_ratio
            );
            recording = Some(r);
        }
        // Dropping the app stops its guests before the next one starts.
    }
    if let Ok(out) = std::env::var("ORBITAL_BENCH_OUT") {
        let crowds: Vec<String> = results
            .iter()
            .map(|(name, c)| {
                format!(
                    r#"{{"scenario":"{name}","processes":{},"spawned":{},"spawn_ms":{},"update_median_ms":{},"update_p95_ms":{},"guest_memory_bytes":{},"resident_delta_bytes":{},"messages_per_sec":{}}}"#,
                    c.processes,
                    c.processes - 3,
                    c.spawn_ms,
                    c.update_median_ms,
                    c.update_p95_ms,
                    c.guest_memory_bytes,
                    c.resident_delta_bytes,
                    c.messages_per_sec
                )
            })
            .collect();
        let r = recording.unwrap_or_default();
        let recording = format!(
            r#"{{"off_service_ns_per_syscall":{},"on_service_ns_per_syscall":{},"service_ratio":{},"off_update_cpu_ms":{},"on_update_cpu_ms":{},"update_ratio":{},"syscalls_per_frame":{}}}"#,
            r.off_service_ns,
            r.on_service_ns,
            r.service_ratio,
            r.off_update_ms,
            r.on_update_ms,
            r.update_ratio,
            r.syscalls_per_frame
        );
        std::fs::write(
            &out,
            format!(
                "{{\"crowds\":[{}],\"recording\":{recording}}}\n",
                crowds.join(",")
            ),
        )
        .unwrap_or_else(|e| panic!("{out}: {e}"));
    }
}
