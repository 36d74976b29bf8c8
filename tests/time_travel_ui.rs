//! Headless tests of time travel as the app shows it: `App` + `MinimalPlugins` + the real
//! `SupervisorPlugin` (a scripted host whose guests never run) + `GraphPlugin`, with manual time.
//! Seeking, stepping and going live are `SupervisorIntent`s, as the timeline strip, the keys and
//! `window.supervisor` send them; the graph, the process entities and their views must follow
//! the kernel at the cursor, and live traffic must not animate over the past.

use std::time::Duration;

use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use orbital_playground::graph::{GraphEdges, GraphNode, GraphPlugin, Particle};
use orbital_playground::kernel::{EndpointId, KernelEvent, ProcessId};
use orbital_playground::supervisor::{
    IntentRefused, KernelEventMessage, MailboxStatus, ProcessEntity, ProcessView, SupervisorHandle,
    SupervisorIntent, SupervisorPlugin, SupervisorSystems, TimeView,
};
use orbital_supervisor::testing::ScriptedHost;

const FRAME: Duration = Duration::from_micros(16_667);

#[derive(Resource, Default)]
struct SeenRefusals(Vec<IntentRefused>);

fn record_refusals(mut reader: MessageReader<IntentRefused>, mut seen: ResMut<SeenRefusals>) {
    seen.0.extend(reader.read().cloned());
}

fn app() -> App {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .insert_resource(TimeUpdateStrategy::ManualDuration(FRAME))
        .add_plugins(SupervisorPlugin::with_host(|| Box::new(ScriptedHost::new().0)).without_boot())
        .add_plugins(GraphPlugin)
        .init_resource::<SeenRefusals>()
        .add_systems(
            Update,
            record_refusals.after(SupervisorSystems::ApplyIntents),
        );
    app.update();
    app
}

fn intent(app: &mut App, intent: SupervisorIntent) {
    app.world_mut().write_message(intent);
}

fn frames(app: &mut App, n: usize) {
    for _ in 0..n {
        app.update();
    }
}

fn node_names(app: &mut App) -> Vec<String> {
    let mut names: Vec<String> = app
        .world_mut()
        .query::<(&GraphNode, &ProcessView)>()
        .iter(app.world())
        .map(|(_, v)| v.name.clone())
        .collect();
    names.sort();
    names
}

fn inputs(app: &App) -> u64 {
    app.world()
        .resource::<SupervisorHandle>()
        .lock()
        .timeline()
        .inputs
}

fn time_view(app: &App) -> TimeView {
    app.world().resource::<TimeView>().clone()
}

/// Spawns `sender` and then `receiver`; returns the input count between the two.
fn two_processes(app: &mut App) -> u64 {
    intent(
        app,
        SupervisorIntent::Spawn {
            program: "receiver".into(),
        },
    );
    frames(app, 3);
    let between = inputs(app);
    intent(
        app,
        SupervisorIntent::Spawn {
            program: "sender".into(),
        },
    );
    frames(app, 3);
    assert_eq!(node_names(app), ["receiver", "sender"]);
    between
}

#[test]
fn seeking_shows_the_past_kernel_in_the_graph_and_going_live_brings_the_present_back() {
    let mut app = app();
    let between = two_processes(&mut app);
    assert!(time_view(&app).live);

    intent(&mut app, SupervisorIntent::Seek(between));
    frames(&mut app, 3);
    let view = time_view(&app);
    assert!(!view.live && view.cursor == between, "{view:?}");
    assert_eq!(
        node_names(&mut app),
        ["receiver"],
        "the graph shows the kernel before the sender's spawn"
    );
    // Host facts are not recorded: no worker in the past; the mailbox light comes from the state.
    let (_, past) = app
        .world_mut()
        .query::<(&ProcessEntity, &ProcessView)>()
        .single(app.world())
        .unwrap();
    assert_eq!(past.worker_id, None);
    let expected = if past.state.is_blocked() {
        MailboxStatus::Pending
    } else {
        MailboxStatus::Idle
    };
    assert_eq!(past.mailbox, expected);

    intent(&mut app, SupervisorIntent::GoLive);
    frames(&mut app, 3);
    assert!(time_view(&app).live);
    assert_eq!(node_names(&mut app), ["receiver", "sender"]);
}

/// A new moment in view (seek, step, go live, import) is a new generation, and nothing else is:
/// while live the recording grows with every input, and the views that re-read the kernel on a
/// new generation (the graph's edges) must not do it every frame.
#[test]
fn the_view_generation_moves_with_the_viewed_moment_not_with_the_recording() {
    let mut app = app();
    let between = two_processes(&mut app);
    let live = time_view(&app);
    for _ in 0..5 {
        intent(
            &mut app,
            SupervisorIntent::Spawn {
                program: "idle".into(),
            },
        );
        frames(&mut app, 2);
    }
    let later = time_view(&app);
    assert!(later.inputs > live.inputs, "the recording grew: {later:?}");
    assert_eq!(
        later.generation, live.generation,
        "live, the view did not move"
    );

    intent(&mut app, SupervisorIntent::Seek(between));
    frames(&mut app, 2);
    let past = time_view(&app);
    assert_eq!(past.generation, later.generation + 1, "{past:?}");
    intent(
        &mut app,
        SupervisorIntent::Spawn {
            program: "idle".into(),
        },
    );
    frames(&mut app, 2);
    assert_eq!(
        time_view(&app).generation,
        past.generation,
        "the past stands still"
    );
    intent(&mut app, SupervisorIntent::GoLive);
    frames(&mut app, 2);
    assert_eq!(time_view(&app).generation, past.generation + 1);
}

#[test]
fn stepping_crosses_a_spawn_one_input_at_a_time() {
    let mut app = app();
    let between = two_processes(&mut app);
    let spawn = app
        .world()
        .resource::<SupervisorHandle>()
        .lock()
        .markers()
        .find(|m| matches!(&m.kind, orbital_supervisor::recording::MarkerKind::Spawn { name } if name == "sender"))
        .map(|m| m.index)
        .expect("the sender's spawn is a marker");
    assert!(spawn >= between);
    intent(&mut app, SupervisorIntent::Seek(spawn));
    frames(&mut app, 2);
    assert_eq!(node_names(&mut app), ["receiver"]);
    intent(&mut app, SupervisorIntent::StepForward);
    frames(&mut app, 2);
    assert_eq!(time_view(&app).cursor, spawn + 1);
    assert_eq!(node_names(&mut app), ["receiver", "sender"]);
    intent(&mut app, SupervisorIntent::StepBack);
    frames(&mut app, 2);
    assert_eq!(time_view(&app).cursor, spawn);
    assert_eq!(node_names(&mut app), ["receiver"]);
    // The previous marker from just after the sender's spawn is the receiver's: its effect shown.
    intent(&mut app, SupervisorIntent::Seek(spawn + 1));
    intent(&mut app, SupervisorIntent::PrevMarker);
    frames(&mut app, 2);
    let cursor = time_view(&app).cursor;
    assert!(cursor <= between, "{cursor} > {between}");
}

#[test]
fn live_traffic_does_not_animate_over_the_past() {
    let mut app = app();
    let between = two_processes(&mut app);
    intent(&mut app, SupervisorIntent::Seek(between + 1));
    frames(&mut app, 2);
    let sent = KernelEvent::MessageSent {
        from: ProcessId(2),
        to: ProcessId(1),
        endpoint: EndpointId(1),
        tag: 0,
        bytes: 8,
        at_ns: 0,
    };
    app.world_mut()
        .write_message(KernelEventMessage(sent.clone()));
    frames(&mut app, 2);
    assert_eq!(
        app.world_mut()
            .query::<&Particle>()
            .iter(app.world())
            .count(),
        0
    );
    intent(&mut app, SupervisorIntent::GoLive);
    frames(&mut app, 2);
    app.world_mut().write_message(KernelEventMessage(sent));
    frames(&mut app, 1);
    assert_eq!(
        app.world_mut()
            .query::<&Particle>()
            .iter(app.world())
            .count(),
        1,
        "live traffic animates again"
    );
}

#[test]
fn the_edges_follow_the_viewed_kernel() {
    let mut app = app();
    intent(
        &mut app,
        SupervisorIntent::Spawn {
            program: "receiver".into(),
        },
    );
    frames(&mut app, 3);
    let before_sender = inputs(&app);
    intent(
        &mut app,
        SupervisorIntent::Spawn {
            program: "sender".into(),
        },
    );
    frames(&mut app, 30);
    let live_edges = app.world().resource::<GraphEdges>().capability.clone();
    assert!(
        !live_edges.is_empty(),
        "the sender holds a capability to the receiver's endpoint"
    );
    intent(&mut app, SupervisorIntent::Seek(before_sender));
    frames(&mut app, 3);
    assert!(app.world().resource::<GraphEdges>().capability.is_empty());
    intent(&mut app, SupervisorIntent::GoLive);
    frames(&mut app, 3);
    assert_eq!(app.world().resource::<GraphEdges>().capability, live_edges);
}

#[test]
fn a_bad_recording_is_refused_and_a_good_one_replaces_the_system_replay_only() {
    let mut app = app();
    two_processes(&mut app);
    let handle = app.world().resource::<SupervisorHandle>().clone();
    intent(
        &mut app,
        SupervisorIntent::ImportRecording(b"not a recording at all".to_vec().into()),
    );
    frames(&mut app, 2);
    let refused = &app.world().resource::<SeenRefusals>().0;
    assert!(
        refused.iter().any(|r| r.reason.contains("ORBITREC")),
        "{refused:?}"
    );
    assert!(
        !handle.lock().is_replay_only(),
        "the live system keeps running"
    );
    assert_eq!(node_names(&mut app), ["receiver", "sender"]);

    let bytes = handle.lock().export_recording();
    let hash = handle.lock().kernel_state_hash();
    let end = inputs(&app);
    intent(&mut app, SupervisorIntent::ImportRecording(bytes.into()));
    frames(&mut app, 2);
    assert!(time_view(&app).replay_only);
    intent(&mut app, SupervisorIntent::Seek(end));
    frames(&mut app, 2);
    assert_eq!(handle.lock().kernel_state_hash(), hash);
    assert_eq!(node_names(&mut app), ["receiver", "sender"]);
}
