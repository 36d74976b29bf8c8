//! The graph model: which nodes, edges and particles exist and where they are. Headless.

use std::collections::BTreeMap;

use bevy::prelude::*;
use orbital_kernel::{KernelEvent, ObjectRef, ProcessId};

use super::layout::{ForceLayout, LayoutSettings};
use super::traffic::{MessageDrawing, TrafficModel, TrafficSettings};
use crate::render_quality::{RenderQuality, RenderQualitySystems};
use crate::scenario::PendingPlacements;
use crate::supervisor::{
    KernelEventMessage, ProcessEntities, ProcessEntity, ProcessView, SupervisorHandle,
    SupervisorSystems, TimeView,
};

/// Tunables of the graph model.
#[derive(Resource, Clone, Debug)]
pub struct GraphSettings {
    pub layout: LayoutSettings,
    pub traffic: TrafficSettings,
    /// How long a particle takes from sender to receiver.
    pub particle_travel_secs: f32,
    /// How often capability edges and endpoints are re-read from the kernel.
    pub kernel_refresh_secs: f32,
    /// How long spawn / exit / kill / denied animations last.
    pub effect_secs: f32,
}

impl Default for GraphSettings {
    fn default() -> Self {
        Self {
            layout: LayoutSettings::default(),
            traffic: TrafficSettings::default(),
            particle_travel_secs: 0.8,
            kernel_refresh_secs: 0.25,
            effect_secs: 0.8,
        }
    }
}

/// The node of one process; lives on the supervisor's process entity.
#[derive(Component, Clone, Debug)]
pub struct GraphNode {
    pub pid: ProcessId,
    /// When the node appeared (virtual seconds), for the spawn animation.
    pub born_secs: f64,
    /// Last denied request (virtual seconds), for the red flash.
    pub denied_secs: Option<f64>,
    pub denied_reason: Option<String>,
    /// Radius in world units (grows with memory).
    pub radius: f32,
}

/// One message in flight from `from` to `to`; despawned on arrival.
#[derive(Component, Clone, Debug)]
#[require(Transform, Visibility)]
pub struct Particle {
    pub from: ProcessId,
    pub to: ProcessId,
    pub tag: u32,
    pub bytes: u32,
    /// 0 at the sender, 1 at the receiver.
    pub progress: f32,
}

/// A short animation where a process came or went (its entity may already be gone).
#[derive(Component, Clone, Debug)]
pub struct NodeEffect {
    pub kind: NodeEffectKind,
    pub pid: ProcessId,
    pub at_world: Vec2,
    pub age_secs: f32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeEffectKind {
    Spawned,
    Exited,
    Killed,
    Denied,
}

/// Why two nodes are joined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum EdgeKind {
    /// `from` holds a capability to an endpoint owned by `to`.
    Capability,
}

/// Capability edges and endpoints, re-read from the kernel every `kernel_refresh_secs`.
#[derive(Resource, Debug, Default)]
pub struct GraphEdges {
    /// (holder, endpoint owner), deduplicated, sorted.
    pub capability: Vec<(u32, u32)>,
    /// Endpoints per owner: (endpoint id, queue length, queue capacity).
    pub endpoints: BTreeMap<u32, Vec<(u32, usize, usize)>>,
    since_refresh_secs: f32,
    dirty: bool,
}

/// Layout and traffic state of the whole graph.
#[derive(Resource, Debug)]
pub struct GraphModel {
    pub layout: ForceLayout,
    pub traffic: TrafficModel,
    /// Particles alive (kept in step by the systems; avoids a query count per message).
    pub live_particles: usize,
    /// Messages counted without a particle (aggregated or over the cap), for the status line.
    pub aggregated_messages: u64,
    /// Particles spawned since start.
    pub particles_spawned: u64,
    /// Scratch: all edges fed to the layout this frame.
    layout_edges: Vec<(u32, u32)>,
    pids_seen: Vec<u32>,
}

impl GraphModel {
    pub fn new(settings: &GraphSettings) -> Self {
        Self {
            layout: ForceLayout::new(settings.layout.clone()),
            traffic: TrafficModel::new(settings.traffic.clone()),
            live_particles: 0,
            aggregated_messages: 0,
            particles_spawned: 0,
            layout_edges: Vec::new(),
            pids_seen: Vec::new(),
        }
    }

    /// World position of a process's node.
    pub fn position(&self, pid: ProcessId) -> Option<Vec2> {
        self.layout.position(pid.0)
    }
}

impl FromWorld for GraphModel {
    fn from_world(world: &mut World) -> Self {
        let settings = world.get_resource_or_init::<GraphSettings>().clone();
        Self::new(&settings)
    }
}

#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum GraphSystems {
    /// Follow kernel events and process entities.
    Follow,
    /// Move nodes and particles.
    Animate,
}

pub(super) fn build(app: &mut App) {
    app.init_resource::<GraphSettings>()
        .init_resource::<GraphModel>()
        .init_resource::<GraphEdges>()
        .init_resource::<PendingPlacements>()
        .configure_sets(
            Update,
            (GraphSystems::Follow, GraphSystems::Animate)
                .chain()
                .after(SupervisorSystems::SyncEntities),
        )
        .add_systems(
            Update,
            (
                attach_graph_nodes,
                follow_kernel_events,
                forget_departed_nodes,
                refresh_graph_edges,
            )
                .chain()
                .in_set(GraphSystems::Follow),
        )
        .add_systems(
            Update,
            (advance_layout, move_particles, age_node_effects).in_set(GraphSystems::Animate),
        )
        .add_systems(Update, follow_render_quality.after(RenderQualitySystems));
}

/// Caps particles as the render quality decides (fewer when effects are reduced). Without a
/// render quality (headless apps), the settings' own cap stays.
fn follow_render_quality(
    quality: Option<Res<RenderQuality>>,
    mut settings: ResMut<GraphSettings>,
    mut model: ResMut<GraphModel>,
) {
    let Some(quality) = quality.filter(|q| q.is_changed()) else {
        return;
    };
    let max_particles = quality.max_particles();
    settings.traffic.max_particles = max_particles;
    model.traffic.settings.max_particles = max_particles;
}

fn attach_graph_nodes(
    mut commands: Commands,
    new_processes: Query<(Entity, &ProcessEntity, &ProcessView), Without<GraphNode>>,
    mut model: ResMut<GraphModel>,
    mut placements: ResMut<PendingPlacements>,
    time: Res<Time>,
) {
    // Processes a scenario kept (the boot's idle) move to where the scenario wants them.
    for (pid, at) in placements.1.drain(..) {
        model.layout.pin(pid.0, at);
    }
    for (entity, process, view) in &new_processes {
        let pid = process.pid;
        let at = placements.claim(&view.name);
        model.layout.insert(pid.0, at, None);
        let pos = model.layout.position(pid.0).unwrap_or_default();
        commands.entity(entity).insert((
            GraphNode {
                pid,
                born_secs: time.elapsed_secs_f64(),
                denied_secs: None,
                denied_reason: None,
                radius: 0.0,
            },
            Transform::from_translation(pos.extend(0.0)).with_scale(Vec3::splat(0.01)),
            Visibility::default(),
        ));
        commands.spawn(NodeEffect {
            kind: NodeEffectKind::Spawned,
            pid,
            at_world: pos,
            age_secs: 0.0,
        });
    }
}

// A Bevy system: its parameters are what it reads and writes.
#[allow(clippy::too_many_arguments)]
fn follow_kernel_events(
    mut commands: Commands,
    mut events: MessageReader<KernelEventMessage>,
    mut model: ResMut<GraphModel>,
    mut edges: ResMut<GraphEdges>,
    mut nodes: Query<&mut GraphNode>,
    entities: Res<ProcessEntities>,
    time: Res<Time>,
    time_view: Option<Res<TimeView>>,
    particles: Query<Entity, With<Particle>>,
    mut seen_generation: Local<u64>,
) {
    let now = time.elapsed_secs_f64();
    let model = &mut *model;
    // A new moment in view (seek, step, go live, import): re-read the edges, and drop the
    // particles and traffic of the moment left behind.
    if let Some(view) = &time_view
        && view.generation != *seen_generation
    {
        *seen_generation = view.generation;
        edges.dirty = true;
        if !view.live {
            for particle in &particles {
                commands.entity(particle).despawn();
            }
            model.live_particles = 0;
            model.traffic.clear();
        }
    }
    // The past shows the kernel at the cursor: live traffic, flashes and exits are not replayed
    // over it (the messages of the past are in the sequence chart).
    if time_view.as_ref().is_some_and(|v| !v.live) {
        events.clear();
        return;
    }
    for KernelEventMessage(event) in events.read() {
        match event {
            KernelEvent::MessageSent {
                from,
                to,
                tag,
                bytes,
                ..
            } => {
                let drawing = model
                    .traffic
                    .record(from.0, to.0, *bytes, now, model.live_particles);
                let both_drawn = model.layout.contains(from.0) && model.layout.contains(to.0);
                if drawing == MessageDrawing::Particle && both_drawn {
                    model.live_particles += 1;
                    model.particles_spawned += 1;
                    let at = model.layout.position(from.0).unwrap_or_default();
                    commands.spawn((
                        Particle {
                            from: *from,
                            to: *to,
                            tag: *tag,
                            bytes: *bytes,
                            progress: 0.0,
                        },
                        Transform::from_translation(at.extend(5.0)),
                    ));
                } else {
                    model.aggregated_messages += 1;
                }
            }
            KernelEvent::RequestDenied { pid, reason, .. } => {
                if let Some(entity) = entities.0.get(pid)
                    && let Ok(mut node) = nodes.get_mut(*entity)
                {
                    node.denied_secs = Some(now);
                    node.denied_reason = Some(reason.clone());
                }
                if let Some(at_world) = model.position(*pid) {
                    commands.spawn(NodeEffect {
                        kind: NodeEffectKind::Denied,
                        pid: *pid,
                        at_world,
                        age_secs: 0.0,
                    });
                }
            }
            KernelEvent::ProcessExited { pid, .. } => {
                if let Some(at_world) = model.position(*pid) {
                    commands.spawn(NodeEffect {
                        kind: NodeEffectKind::Exited,
                        pid: *pid,
                        at_world,
                        age_secs: 0.0,
                    });
                }
                edges.dirty = true;
            }
            KernelEvent::ProcessKilled { pid, .. } => {
                if let Some(at_world) = model.position(*pid) {
                    commands.spawn(NodeEffect {
                        kind: NodeEffectKind::Killed,
                        pid: *pid,
                        at_world,
                        age_secs: 0.0,
                    });
                }
                model.traffic.remove_process(pid.0);
                edges.dirty = true;
            }
            KernelEvent::ProcessReaped { pid, .. } => {
                model.traffic.remove_process(pid.0);
                edges.dirty = true;
            }
            KernelEvent::ProcessSpawned { .. }
            | KernelEvent::CapabilityChanged { .. }
            | KernelEvent::EndpointCreated { .. }
            | KernelEvent::EndpointDeleted { .. } => edges.dirty = true,
            _ => {}
        }
    }
    model.traffic.tick(now);
}

/// Removes layout nodes whose process entity is gone (killed or reaped).
fn forget_departed_nodes(nodes: Query<&GraphNode>, mut model: ResMut<GraphModel>) {
    let model = &mut *model;
    model.pids_seen.clear();
    model.pids_seen.extend(nodes.iter().map(|n| n.pid.0));
    if model.pids_seen.len() == model.layout.len() {
        return;
    }
    model.pids_seen.sort_unstable();
    let departed: Vec<u32> = model
        .layout
        .positions()
        .map(|(pid, _)| pid)
        .filter(|pid| model.pids_seen.binary_search(pid).is_err())
        .collect();
    for pid in departed {
        model.layout.remove(pid);
        model.traffic.remove_process(pid);
    }
}

fn refresh_graph_edges(
    supervisor: Option<Res<SupervisorHandle>>,
    settings: Res<GraphSettings>,
    mut edges: ResMut<GraphEdges>,
    time: Res<Time<Real>>,
) {
    let Some(supervisor) = supervisor else { return };
    edges.since_refresh_secs += time.delta_secs();
    if !edges.dirty && edges.since_refresh_secs < settings.kernel_refresh_secs {
        return;
    }
    edges.since_refresh_secs = 0.0;
    edges.dirty = false;
    let supervisor = supervisor.lock();
    let kernel = supervisor.viewed_kernel();
    let edges = &mut *edges;
    for list in edges.endpoints.values_mut() {
        list.clear();
    }
    let mut owner_of = BTreeMap::new();
    for info in kernel.endpoints() {
        owner_of.insert(info.id.0, info.owner.0);
        edges.endpoints.entry(info.owner.0).or_default().push((
            info.id.0,
            info.queue_len,
            info.queue_capacity,
        ));
    }
    edges.endpoints.retain(|_, list| !list.is_empty());
    edges.capability.clear();
    for pid in kernel.processes().keys() {
        for cap in kernel.capabilities(*pid) {
            if let ObjectRef::Endpoint(endpoint) = cap.object
                && !cap.stale
                && let Some(&owner) = owner_of.get(&endpoint.0)
                && owner != pid.0
            {
                edges.capability.push((pid.0, owner));
            }
        }
    }
    edges.capability.sort_unstable();
    edges.capability.dedup();
}

fn advance_layout(
    mut model: ResMut<GraphModel>,
    edges: Res<GraphEdges>,
    mut nodes: Query<(&mut GraphNode, &ProcessView, &mut Transform)>,
    time: Res<Time>,
    settings: Res<GraphSettings>,
    theme: Option<Res<crate::theme::Theme>>,
) {
    let model = &mut *model;
    model.layout_edges.clear();
    model.layout_edges.extend_from_slice(&edges.capability);
    model
        .layout_edges
        .extend(model.traffic.edges().map(|(key, _)| key));
    model.layout.advance(time.delta_secs(), &model.layout_edges);
    let (base, extra) = theme.map_or((22.0, 14.0), |t| {
        (t.node_radius, t.node_radius_memory_extra)
    });
    let now = time.elapsed_secs_f64();
    for (mut node, view, mut transform) in &mut nodes {
        let Some(pos) = model.layout.position(node.pid.0) else {
            continue;
        };
        transform.translation = pos.extend(transform.translation.z);
        // Area grows with memory: 64 MiB (the default limit) adds `extra` to the radius.
        let mem_fraction =
            (view.metrics.memory_size as f32 / (64.0 * 1024.0 * 1024.0)).clamp(0.0, 1.0);
        let radius = base + extra * mem_fraction.sqrt();
        if node.radius != radius {
            node.radius = radius;
            model.layout.set_radius(node.pid.0, radius);
        }
        let grow = ((now - node.born_secs) as f32 / (settings.effect_secs * 0.5)).clamp(0.0, 1.0);
        let scale = ease_out_back(grow).max(0.01);
        if transform.scale.x != scale {
            transform.scale = Vec3::splat(scale);
        }
    }
}

fn move_particles(
    mut commands: Commands,
    mut model: ResMut<GraphModel>,
    mut particles: Query<(Entity, &mut Particle, &mut Transform)>,
    settings: Res<GraphSettings>,
    time: Res<Time>,
) {
    let step = time.delta_secs() / settings.particle_travel_secs.max(0.01);
    let mut alive = 0;
    for (entity, mut particle, mut transform) in &mut particles {
        particle.progress += step;
        let ends = model
            .position(particle.from)
            .zip(model.position(particle.to));
        match ends {
            Some((from, to)) if particle.progress < 1.0 => {
                let t = particle.progress.clamp(0.0, 1.0);
                // A slight arc, so messages both ways between a pair do not overlap.
                let dir = to - from;
                let bend = dir.perp() * 0.12 * (t * (1.0 - t) * 4.0);
                transform.translation = (from + dir * t + bend).extend(5.0);
                alive += 1;
            }
            _ => commands.entity(entity).despawn(),
        }
    }
    model.live_particles = alive;
}

fn age_node_effects(
    mut commands: Commands,
    mut effects: Query<(Entity, &mut NodeEffect)>,
    settings: Res<GraphSettings>,
    time: Res<Time>,
) {
    for (entity, mut effect) in &mut effects {
        effect.age_secs += time.delta_secs();
        if effect.age_secs >= settings.effect_secs {
            commands.entity(entity).despawn();
        }
    }
}

/// Overshoots a little, then settles: a node "pops" into existence.
fn ease_out_back(t: f32) -> f32 {
    let c1 = 1.70158;
    let c3 = c1 + 1.0;
    1.0 + c3 * (t - 1.0).powi(3) + c1 * (t - 1.0).powi(2)
}
