//! The graph with real guests: the native host runs the guest modules (`cargo xtask guests` builds
//! them), the scenario starts them, and the graph follows. Also times the app's update with the
//! crowd scenario (64 processes at full IPC load), headless: model, layout and particles, no
//! rendering.

use std::time::{Duration, Instant};

use bevy::asset::AssetPlugin;
use bevy::prelude::*;
use orbital_playground::graph::{GraphModel, GraphNode, GraphPlugin, Particle};
use orbital_playground::scenario::{LoadScenario, ScenarioPlugin, ScenarioSettings, ScenarioState};
use orbital_playground::supervisor::{SupervisorHandle, SupervisorIntent, SupervisorPlugin};

fn app(scenario: &str) -> App {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .add_plugins(AssetPlugin {
            file_path: concat!(env!("CARGO_MANIFEST_DIR"), "/assets").into(),
            ..default()
        })
        .add_plugins(SupervisorPlugin::default())
        .insert_resource(ScenarioSettings {
            startup: Some(scenario.into()),
        })
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
    let console: Vec<String> = app
        .world()
        .resource::<SupervisorHandle>()
        .lock()
        .console_log()
        .iter()
        .map(|l| format!("{}: {}", l.pid.0, l.text))
        .collect();
    panic!(
        "timed out waiting for {what}; scenario {:?}; console: {console:#?}",
        app.world().resource::<ScenarioState>()
    );
}

fn nodes(world: &mut World) -> usize {
    world.query::<&GraphNode>().iter(world).count()
}

#[test]
fn real_guests_become_nodes_and_their_messages_particles() {
    let mut app = app("default");
    // init, terminal, idle + receiver, sender, pingpong, pingpong
    run_until(&mut app, "seven nodes", Duration::from_secs(60), |w| {
        nodes(w) == 7
    });
    // The scenario keeps the seed's pids: init 1, terminal 2, idle 3 (not respawned as pid 4).
    run_until(
        &mut app,
        "the default scenario",
        Duration::from_secs(30),
        |w| w.resource::<ScenarioState>().current.as_deref() == Some("default"),
    );
    {
        let supervisor = app.world().resource::<SupervisorHandle>().lock();
        let names: Vec<(u32, &str)> = supervisor
            .kernel()
            .processes()
            .values()
            .map(|p| (p.pid.0, p.name.as_str()))
            .collect();
        assert_eq!(
            &names[..3],
            [(1, "init"), (2, "terminal"), (3, "idle")],
            "{names:?}"
        );
        let idles = names.iter().filter(|(_, n)| *n == "idle").count();
        assert_eq!(
            idles, 1,
            "the default scenario lists one idle and keeps the boot's: {names:?}"
        );
        assert!(
            supervisor
                .kernel()
                .ended_processes()
                .iter()
                .all(|p| p.name != "idle"),
            "idle was not killed"
        );
    }
    run_until(
        &mut app,
        "particles from real messages",
        Duration::from_secs(30),
        |w| {
            w.resource::<GraphModel>().particles_spawned > 0
                && w.query::<&Particle>().iter(w).count() > 0
        },
    );
    let model = app.world().resource::<GraphModel>();
    assert!(model.traffic.edges().count() > 0, "traffic edges recorded");

    // Kill the sender: its node goes, the others stay.
    let sender = {
        let supervisor = app.world().resource::<SupervisorHandle>().lock();
        supervisor
            .kernel()
            .processes()
            .values()
            .find(|p| p.name == "sender")
            .map(|p| p.pid)
            .expect("sender runs")
    };
    app.world_mut()
        .write_message(SupervisorIntent::Kill { pid: sender });
    run_until(
        &mut app,
        "the sender's node to go",
        Duration::from_secs(20),
        |w| w.query::<&GraphNode>().iter(w).all(|n| n.pid != sender),
    );
    assert_eq!(nodes(app.world_mut()), 6);
}

#[test]
fn crowd_keeps_the_boot_idle_and_update_time() {
    // As a person does it: the default scenario first, then the crowd from the picker.
    let mut app = app("default");
    run_until(
        &mut app,
        "the default scenario",
        Duration::from_secs(60),
        |w| w.resource::<ScenarioState>().current.as_deref() == Some("default"),
    );
    app.world_mut().write_message(LoadScenario {
        name: "crowd".into(),
    });
    run_until(
        &mut app,
        "64 nodes of the crowd",
        Duration::from_secs(120),
        |w| w.resource::<ScenarioState>().current.as_deref() == Some("crowd") && nodes(w) == 64,
    );
    {
        // The crowd lists two idles: it keeps the boot's idle (PID 3) and spawns the other.
        let supervisor = app.world().resource::<SupervisorHandle>().lock();
        let processes = supervisor.kernel().processes();
        let names: Vec<(u32, &str)> = processes
            .values()
            .map(|p| (p.pid.0, p.name.as_str()))
            .collect();
        assert_eq!(processes.len(), 64, "{names:?}");
        assert_eq!(
            &names[..3],
            [(1, "init"), (2, "terminal"), (3, "idle")],
            "{names:?}"
        );
        let idles: Vec<u32> = names
            .iter()
            .filter(|(_, n)| *n == "idle")
            .map(|(pid, _)| *pid)
            .collect();
        assert_eq!(idles.len(), 2, "{names:?}");
        assert_eq!(idles[0], 3);
        assert!(idles[1] > 7, "the crowd's second idle is new: {idles:?}");
        assert!(
            supervisor
                .kernel()
                .ended_processes()
                .iter()
                .all(|p| p.pid.0 != 3),
            "idle (pid 3) was not killed"
        );
    }
    // Let the traffic ramp up, then time the updates.
    for _ in 0..60 {
        app.update();
        std::thread::sleep(Duration::from_millis(16));
    }
    let mut samples = Vec::with_capacity(300);
    for _ in 0..300 {
        let start = Instant::now();
        app.update();
        samples.push(start.elapsed().as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_millis(16));
    }
    samples.sort_by(f64::total_cmp);
    let (median, p95) = (samples[150], samples[284]);
    let model = app.world().resource::<GraphModel>();
    let aggregated = model.traffic.edges().filter(|(_, e)| e.aggregated).count();
    println!(
        "crowd (native, headless, no rendering): update median {median:.2} ms, p95 {p95:.2} ms; {} edges, {aggregated} aggregated, {} particles in flight, {} particles spawned, {} messages aggregated",
        model.traffic.edges().count(),
        model.live_particles,
        model.particles_spawned,
        model.aggregated_messages
    );
    assert!(aggregated > 0, "full IPC load must aggregate some edges");
    assert!(model.live_particles <= model.traffic.settings.max_particles);
    assert_eq!(nodes(app.world_mut()), 64);
}
