//! Headless tests of the graph model: `App` + `MinimalPlugins` + the real `SupervisorPlugin`
//! (with a scripted host whose guests never run) + `GraphPlugin`, with manual time. Processes are
//! spawned and killed through `SupervisorIntent`s like a person would; messages are synthetic
//! `KernelEventMessage`s (real guests are covered by the supervisor's tests).

use std::time::Duration;

use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use orbital_playground::abi::ErrorCode;
use orbital_playground::graph::layout::LayoutSettings;
use orbital_playground::graph::{
    GraphModel, GraphNode, GraphPlugin, GraphSettings, NodeEffect, NodeEffectKind, Particle,
};
use orbital_playground::kernel::{EndpointId, KernelEvent, ProcessId};
use orbital_playground::supervisor::{
    KernelEventMessage, ProcessEntity, SupervisorIntent, SupervisorPlugin,
};
use orbital_supervisor::testing::ScriptedHost;

const FRAME: Duration = Duration::from_micros(16_667);

fn app_with_seed(seed: u64) -> App {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .insert_resource(TimeUpdateStrategy::ManualDuration(FRAME))
        .insert_resource(GraphSettings {
            layout: LayoutSettings { seed, ..default() },
            ..default()
        })
        .add_plugins(SupervisorPlugin::with_host(|| Box::new(ScriptedHost::new().0)).without_boot())
        .add_plugins(GraphPlugin);
    app.update();
    app
}

fn app() -> App {
    app_with_seed(LayoutSettings::default().seed)
}

fn intent(app: &mut App, intent: SupervisorIntent) {
    app.world_mut().write_message(intent);
}

fn event(app: &mut App, event: KernelEvent) {
    app.world_mut().write_message(KernelEventMessage(event));
}

fn frames(app: &mut App, n: usize) {
    for _ in 0..n {
        app.update();
    }
}

fn spawn(app: &mut App, program: &str) {
    intent(
        app,
        SupervisorIntent::Spawn {
            program: program.into(),
        },
    );
}

fn node_pids(app: &mut App) -> Vec<u32> {
    let mut pids: Vec<u32> = app
        .world_mut()
        .query::<&GraphNode>()
        .iter(app.world())
        .map(|n| n.pid.0)
        .collect();
    pids.sort_unstable();
    pids
}

fn particles(app: &mut App) -> Vec<Particle> {
    app.world_mut()
        .query::<&Particle>()
        .iter(app.world())
        .cloned()
        .collect()
}

fn sent(from: u32, to: u32) -> KernelEvent {
    KernelEvent::MessageSent {
        from: ProcessId(from),
        to: ProcessId(to),
        endpoint: EndpointId(1),
        tag: 0,
        bytes: 16,
        at_ns: 0,
    }
}

#[test]
fn nodes_follow_spawned_and_killed_processes() {
    let mut app = app();
    spawn(&mut app, "idle");
    spawn(&mut app, "receiver");
    spawn(&mut app, "idle");
    frames(&mut app, 3);
    let pids = node_pids(&mut app);
    assert_eq!(pids.len(), 3, "one node per process: {pids:?}");
    let model = app.world().resource::<GraphModel>();
    assert!(pids.iter().all(|pid| model.layout.contains(*pid)));
    // Every node entity is the supervisor's process entity.
    let with_process = app
        .world_mut()
        .query::<(&GraphNode, &ProcessEntity)>()
        .iter(app.world())
        .count();
    assert_eq!(with_process, 3);

    let victim = ProcessId(pids[1]);
    intent(&mut app, SupervisorIntent::Kill { pid: victim });
    frames(&mut app, 3);
    let after = node_pids(&mut app);
    assert!(
        !after.contains(&victim.0),
        "killed node still drawn: {after:?}"
    );
    assert_eq!(after.len(), 2);
    assert!(
        !app.world()
            .resource::<GraphModel>()
            .layout
            .contains(victim.0)
    );
    let kinds: Vec<_> = app
        .world_mut()
        .query::<&NodeEffect>()
        .iter(app.world())
        .map(|e| (e.kind, e.pid))
        .collect();
    assert!(
        kinds.contains(&(NodeEffectKind::Killed, victim)),
        "no kill animation: {kinds:?}"
    );

    // Effects end on their own.
    frames(&mut app, 120);
    assert_eq!(
        app.world_mut()
            .query::<&NodeEffect>()
            .iter(app.world())
            .count(),
        0
    );
}

#[test]
fn one_particle_per_message_despawned_on_arrival() {
    let mut app = app();
    spawn(&mut app, "receiver");
    spawn(&mut app, "sender");
    frames(&mut app, 3);
    let pids = node_pids(&mut app);
    let (receiver, sender) = (pids[0], pids[1]);

    event(&mut app, sent(sender, receiver));
    frames(&mut app, 1);
    assert_eq!(particles(&mut app).len(), 1);
    event(&mut app, sent(sender, receiver));
    event(&mut app, sent(receiver, sender));
    frames(&mut app, 1);
    let flying = particles(&mut app);
    assert_eq!(flying.len(), 3, "one particle per message");
    assert_eq!(flying.iter().filter(|p| p.from.0 == receiver).count(), 1);
    // Particles start at the sender and move on from the next frame.
    assert!(flying.iter().all(|p| (0.0..1.0).contains(&p.progress)));

    // Travel time is 0.8 s: after one second all have arrived and are gone.
    let travel = app.world().resource::<GraphSettings>().particle_travel_secs;
    frames(&mut app, (travel / FRAME.as_secs_f32()).ceil() as usize + 2);
    assert!(
        particles(&mut app).is_empty(),
        "particles must despawn on arrival"
    );
    assert_eq!(app.world().resource::<GraphModel>().live_particles, 0);
}

#[test]
fn particles_to_a_killed_process_disappear() {
    let mut app = app();
    spawn(&mut app, "receiver");
    spawn(&mut app, "sender");
    frames(&mut app, 3);
    let pids = node_pids(&mut app);
    event(&mut app, sent(pids[1], pids[0]));
    frames(&mut app, 1);
    assert_eq!(particles(&mut app).len(), 1);
    intent(
        &mut app,
        SupervisorIntent::Kill {
            pid: ProcessId(pids[0]),
        },
    );
    frames(&mut app, 3);
    assert!(particles(&mut app).is_empty());
}

#[test]
fn busy_edge_aggregates_instead_of_spawning_particles() {
    let mut app = app();
    spawn(&mut app, "receiver");
    spawn(&mut app, "sender");
    frames(&mut app, 3);
    let pids = node_pids(&mut app);
    let (receiver, sender) = (pids[0], pids[1]);
    let threshold = app
        .world()
        .resource::<GraphSettings>()
        .traffic
        .aggregate_above_per_sec;
    // 500 messages in one frame: far above the threshold.
    for _ in 0..500 {
        event(&mut app, sent(sender, receiver));
    }
    frames(&mut app, 1);
    let flying = particles(&mut app).len();
    assert!(
        flying as f32 <= threshold + 1.0,
        "{flying} particles for a busy edge (threshold {threshold}/s)"
    );
    let model = app.world().resource::<GraphModel>();
    let edge = model.traffic.edge(sender, receiver).expect("edge recorded");
    assert!(edge.aggregated, "edge should be aggregated");
    assert_eq!(edge.total_messages, 500);
    assert!(model.traffic.rate_per_sec(sender, receiver) > threshold);
    assert_eq!(model.aggregated_messages as usize + flying, 500);

    // Keep it busy for a second: still no new particles.
    for _ in 0..60 {
        for _ in 0..10 {
            event(&mut app, sent(sender, receiver));
        }
        frames(&mut app, 1);
    }
    assert!(
        particles(&mut app).is_empty(),
        "aggregated edge spawned particles"
    );

    // A quiet edge elsewhere still shows every message.
    event(&mut app, sent(receiver, sender));
    frames(&mut app, 1);
    assert_eq!(particles(&mut app).len(), 1);
}

#[test]
fn denied_request_flashes_the_node() {
    let mut app = app();
    spawn(&mut app, "idle");
    frames(&mut app, 3);
    let pid = ProcessId(node_pids(&mut app)[0]);
    event(
        &mut app,
        KernelEvent::RequestDenied {
            pid,
            syscall: 8,
            error: ErrorCode::ALL[0],
            reason: "no capability in slot 3".into(),
            at_ns: 0,
        },
    );
    frames(&mut app, 1);
    let node = app
        .world_mut()
        .query::<&GraphNode>()
        .iter(app.world())
        .find(|n| n.pid == pid)
        .unwrap()
        .clone();
    assert!(node.denied_secs.is_some());
    assert_eq!(
        node.denied_reason.as_deref(),
        Some("no capability in slot 3")
    );
    let denied = app
        .world_mut()
        .query::<&NodeEffect>()
        .iter(app.world())
        .any(|e| e.kind == NodeEffectKind::Denied);
    assert!(denied);
}

fn settled_positions(seed: u64) -> Vec<(u32, Vec2)> {
    let mut app = app_with_seed(seed);
    for program in ["receiver", "sender", "idle", "pingpong", "pingpong", "idle"] {
        spawn(&mut app, program);
        frames(&mut app, 5);
    }
    frames(&mut app, 120);
    app.world()
        .resource::<GraphModel>()
        .layout
        .positions()
        .collect()
}

#[test]
fn layout_is_deterministic_for_a_fixed_seed() {
    let a = settled_positions(42);
    let b = settled_positions(42);
    assert_eq!(a.len(), 6);
    assert_eq!(a, b, "same seed, same events, same time: same layout");
    let c = settled_positions(43);
    assert_ne!(a, c, "another seed gives another layout");
}

#[test]
fn layout_stays_stable_when_a_process_comes_and_goes() {
    let mut app = app();
    for program in ["idle", "idle", "idle", "idle"] {
        spawn(&mut app, program);
    }
    frames(&mut app, 600);
    let before: Vec<(u32, Vec2)> = app
        .world()
        .resource::<GraphModel>()
        .layout
        .positions()
        .collect();
    spawn(&mut app, "idle");
    frames(&mut app, 3);
    let newcomer = *node_pids(&mut app).last().unwrap();
    intent(
        &mut app,
        SupervisorIntent::Kill {
            pid: ProcessId(newcomer),
        },
    );
    frames(&mut app, 3);
    let model = app.world().resource::<GraphModel>();
    for (pid, old) in before {
        let new = model.layout.position(pid).unwrap();
        assert!(
            old.distance(new) < 40.0,
            "pid {pid} jumped from {old} to {new}"
        );
    }
}

/// Spawns as a person types them (one after another, a few frames apart, at a low frame rate of
/// 6 frames/s, with busy edges between pairs): a node never overlaps another, in any frame, and
/// each newcomer appears in free space.
#[test]
fn spawned_processes_never_overlap_other_nodes() {
    let mut app = app();
    app.insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_millis(
        166,
    )));
    let overlaps = |app: &App| {
        app.world()
            .resource::<GraphModel>()
            .layout
            .overlapping_pairs()
    };
    for (i, program) in ["receiver", "sender", "idle", "rogue", "pingpong"]
        .iter()
        .cycle()
        .take(48)
        .enumerate()
    {
        spawn(&mut app, program);
        frames(&mut app, 1 + i % 3);
        assert_eq!(
            overlaps(&app),
            Vec::<(u32, u32)>::new(),
            "after spawn {i} ({program})"
        );
        let pids = node_pids(&mut app);
        if pids.len() >= 2 && i % 2 == 1 {
            let (a, b) = (pids[pids.len() - 2], pids[pids.len() - 1]);
            for _ in 0..20 {
                event(&mut app, sent(a, b));
            }
        }
    }
    for frame in 0..60 {
        app.update();
        assert_eq!(
            overlaps(&app),
            Vec::<(u32, u32)>::new(),
            "settling frame {frame}"
        );
    }
    assert_eq!(node_pids(&mut app).len(), 48);
}

/// The crowd's graph with a fixed seed: every busy edge's rate label, placed as the canvas places
/// them (`labels::place_rate_label`), clears every node disc (not just its two ends) and every other
/// label, at the zooms the crowd is shown at; and most edges still get one.
#[test]
fn crowd_rate_labels_clear_every_node_and_each_other() {
    use orbital_playground::graph::labels::{
        LabelObstacles, LabelStyle, disc_touches_rect, place_rate_label,
    };
    use orbital_playground::graph::traffic::{edge_width_for_rate, format_rate};
    use orbital_playground::supervisor::SupervisorHandle;
    use orbital_playground::theme::Theme;

    let mut app = app_with_seed(7);
    let crowd = orbital_playground::scenario::parse_scenario(include_bytes!(
        "../assets/scenarios/crowd.ron"
    ))
    .unwrap();
    // Two idles stand in for init and terminal (this host boots nothing).
    spawn(&mut app, "idle");
    spawn(&mut app, "idle");
    for p in &crowd.processes {
        for _ in 0..p.count {
            spawn(&mut app, &p.program);
        }
    }
    frames(&mut app, 3);
    let pids = node_pids(&mut app);
    assert_eq!(pids.len(), 64);
    let names: Vec<String> = {
        let supervisor = app.world().resource::<SupervisorHandle>().lock();
        pids.iter()
            .map(|pid| {
                supervisor
                    .kernel()
                    .process(ProcessId(*pid))
                    .unwrap()
                    .name
                    .clone()
            })
            .collect()
    };
    // Each sender streams to the receiver listed just before it; the pingpongs to each other.
    let mut talks = Vec::new();
    for i in 1..pids.len() {
        match (names[i - 1].as_str(), names[i].as_str()) {
            ("receiver", "sender") => talks.push((pids[i], pids[i - 1])),
            ("pingpong", "pingpong") => {
                talks.extend([(pids[i - 1], pids[i]), (pids[i], pids[i - 1])])
            }
            _ => {}
        }
    }
    assert_eq!(
        talks.len(),
        31,
        "29 sender->receiver edges and the pingpong pair both ways"
    );
    // Ten seconds of traffic: every edge busy (aggregated), the layout settled (packed).
    for _ in 0..600 {
        for &(from, to) in &talks {
            for _ in 0..3 {
                event(&mut app, sent(from, to));
            }
        }
        frames(&mut app, 1);
    }
    let discs: Vec<(u32, Vec2, f32)> = app
        .world_mut()
        .query::<(&GraphNode, &Transform)>()
        .iter(app.world())
        .map(|(n, t)| (n.pid.0, t.translation.truncate(), n.radius * t.scale.x))
        .collect();
    assert_eq!(discs.len(), 64);
    let model = app.world().resource::<GraphModel>();
    let window = model.traffic.settings.rate_window_secs;
    let edges: Vec<((u32, u32), f32)> = model
        .traffic
        .edges()
        .filter(|(_, e)| e.aggregated)
        .map(|(key, e)| (key, e.rate_per_sec(window)))
        .collect();
    assert_eq!(edges.len(), talks.len(), "every edge is busy");
    let theme = Theme::default();
    let mut midpoint_hits_total = 0;
    for world_per_px in [1.0, 1.5, 2.5] {
        let style = LabelStyle {
            font_px: theme.label_font_size,
            ring_width: theme.ring_width,
            world_per_px,
        };
        let mut obstacles = LabelObstacles::default();
        for &(_, centre, r) in &discs {
            obstacles.add_node(centre, r, None, &style);
        }
        let mut placed = Vec::new();
        let mut midpoint_on_a_node = 0;
        for &((from, to), rate) in &edges {
            let (a, b) = (
                model.layout.position(from).unwrap(),
                model.layout.position(to).unwrap(),
            );
            let width = edge_width_for_rate(rate, theme.edge_width * 1.5, theme.edge_width_max);
            let half = style.rate_half(&format_rate(rate));
            // What a label fixed beside the midpoint would cover (shows the search is needed).
            let beside = Rect::from_center_half_size(
                (a + b) * 0.5 + (b - a).normalize().perp() * (width + half.y + 5.0),
                half,
            );
            midpoint_on_a_node += discs
                .iter()
                .filter(|(pid, c, r)| {
                    ![from, to].contains(pid) && disc_touches_rect(*c, *r, beside)
                })
                .count();
            if let Some(rect) = place_rate_label(
                a,
                b,
                width,
                theme.edge_width_max,
                half,
                style.margin(),
                &obstacles,
                None,
            ) {
                for &(pid, centre, r) in &discs {
                    assert!(
                        !disc_touches_rect(centre, r, rect),
                        "zoom {world_per_px}: label of {from}->{to} {rect:?} covers pid {pid} at {centre} (r {r})"
                    );
                }
                for (other, other_rect) in &placed {
                    assert!(
                        rect.intersect(*other_rect).is_empty(),
                        "zoom {world_per_px}: labels of {:?} and {other:?} overlap",
                        (from, to)
                    );
                }
                obstacles.rects.push(rect);
                placed.push(((from, to), rect));
            }
        }
        println!(
            "zoom {world_per_px}: {} of {} edges labelled; beside the midpoint {midpoint_on_a_node} labels would have covered another node",
            placed.len(),
            edges.len()
        );
        // The crowd is packed (it starts near the size it settles at, so ten seconds in it has
        // settled): an edge inside it has no room for a label at any zoom, and those along its
        // rim do, about a third of them (the canvas labels only the busiest few in a crowd
        // anyway). Until the layout started crowds compact (this test's ten seconds caught them
        // still pulling together, with room between the nodes) two thirds found room.
        let (num, den) = (1, 4);
        assert!(
            placed.len() * den >= edges.len() * num,
            "zoom {world_per_px}: only {} of {} edges found room",
            placed.len(),
            edges.len()
        );
        midpoint_hits_total += midpoint_on_a_node;
    }
    // The crowd is dense enough that the question is real: beside the midpoint, labels land on nodes.
    assert!(
        midpoint_hits_total > 0,
        "no label beside a midpoint covered a node: the test layout proves nothing"
    );
}
