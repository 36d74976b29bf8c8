//! Drawing the graph model: node discs and mailbox lights as meshes (shared meshes and
//! materials, entities reused), edges, rings and effects as gizmos, and busy edges as pooled
//! bars. The words (names, rates, the kill zone's) are painted by [`super::canvas_text`] from
//! the plan made here.

use std::collections::HashMap;

use bevy::picking::mesh_picking::{MeshPickingPlugin, MeshPickingSettings};
use bevy::prelude::*;
use bevy_egui::input::egui_wants_any_pointer_input;
use orbital_kernel::ProcessState;

use super::camera::{self, CameraRig, GraphCamera};
use super::canvas_text::{self, KillZoneWords, label_style, node_label};
use super::interaction::{
    self, CanvasLayout, Dragging, NodeBody, SharedCanvasLayout, kill_zone_rect,
};
use super::labels::{
    BusyEdge, NamedNodes, NodeFootprint, PlanInputs, RateLabel, RateLabelPlanner, RateLabels,
};
use super::model::{
    GraphEdges, GraphModel, GraphNode, GraphSettings, GraphSystems, NodeEffect, NodeEffectKind,
    Particle,
};
use crate::render_quality::RenderQualitySystems;
use crate::supervisor::{MailboxStatus, ProcessView};
use crate::theme::{Theme, ThemeColor};
use crate::ui_state::{self, CanvasArea, Hovered, Selection};

/// Draws the graph, owns the camera, picking, drag and the kill zone.
pub struct GraphDrawPlugin;

impl Plugin for GraphDrawPlugin {
    fn build(&self, app: &mut App) {
        if !app.is_plugin_added::<MeshPickingPlugin>() {
            app.add_plugins(MeshPickingPlugin);
        }
        ui_state::ensure_ui_state(app);
        app.insert_resource(MeshPickingSettings {
            require_markers: true,
            ..default()
        })
        .init_resource::<CameraRig>()
        .init_resource::<CanvasLayout>()
        .init_resource::<SharedCanvasLayout>()
        .init_resource::<Dragging>()
        .init_resource::<GraphAssets>()
        .init_resource::<EdgeBarPool>()
        .init_resource::<RateLabels>()
        .init_resource::<NamedNodes>()
        .init_resource::<KillZoneWords>()
        .init_gizmo_group::<RingGizmos>()
        .add_systems(Startup, (camera::spawn_graph_camera, configure_gizmos))
        .add_systems(
            Update,
            (
                camera::pan_zoom_graph_camera.run_if(not(egui_wants_any_pointer_input)),
                camera::fit_graph_camera,
                camera::place_graph_camera,
            )
                .chain()
                .before(GraphSystems::Follow),
        )
        .add_systems(
            Update,
            camera::follow_render_quality_msaa.after(RenderQualitySystems),
        )
        .add_systems(
            Update,
            (
                attach_node_visuals,
                attach_particle_visuals,
                // Names follow the plan that placed the rate labels around them.
                update_node_visuals.after(update_edge_bars),
                draw_edges_and_rings,
                draw_node_effects,
                update_edge_bars,
                update_kill_zone_label,
                interaction::clear_departed_selection,
                configure_gizmos
                    .run_if(resource_changed::<Theme>.or_else(resource_changed::<CameraRig>)),
            )
                .after(GraphSystems::Animate),
        )
        .add_systems(
            PostUpdate,
            interaction::publish_canvas_layout.after(TransformSystems::Propagate),
        )
        .add_systems(
            bevy_egui::EguiPrimaryContextPass,
            canvas_text::paint_canvas_text,
        );
    }
}

/// Gizmo group for node rings (thicker than edges).
#[derive(Default, Reflect, GizmoConfigGroup)]
pub struct RingGizmos;

/// Line widths follow the zoom (they are in screen pixels; the discs they ring are in world
/// units): zoomed out on a crowd, full-width rings would swallow the small discs into one blob.
fn configure_gizmos(mut store: ResMut<GizmoConfigStore>, theme: Res<Theme>, rig: Res<CameraRig>) {
    let (edge, ring) = gizmo_widths_px(&theme, rig.world_per_px);
    let (default_config, _) = store.config_mut::<DefaultGizmoConfigGroup>();
    if default_config.line.width != edge {
        default_config.line.width = edge;
    }
    let (ring_config, _) = store.config_mut::<RingGizmos>();
    if ring_config.line.width != ring {
        ring_config.line.width = ring;
    }
}

/// Edge and ring line widths in screen pixels at `world_per_px`: the theme's at zoom 1 or closer,
/// thinner as the view zooms out, never under a pixel and a half.
pub fn gizmo_widths_px(theme: &Theme, world_per_px: f32) -> (f32, f32) {
    let zoom_out = world_per_px.max(1.0);
    (
        (theme.edge_width / zoom_out).max(1.5).min(theme.edge_width),
        (theme.ring_width / zoom_out).max(1.5).min(theme.ring_width),
    )
}

/// Shared meshes and materials: one circle, one quad, one ring per width step, one material per
/// colour.
#[derive(Resource, Default)]
struct GraphAssets {
    circle: Option<Handle<Mesh>>,
    quad: Option<Handle<Mesh>>,
    rings: HashMap<u8, Handle<Mesh>>,
    materials: HashMap<[u8; 4], Handle<ColorMaterial>>,
}

/// Steps of a ring's inner-to-outer radius ratio: one shared mesh per step.
const RING_RATIO_STEPS: f32 = 255.0;
/// Segments of a ring: smoother than the gizmo circle it replaced (24 on a software renderer).
const RING_RESOLUTION: u32 = 48;

/// A state ring's geometry in world units, as the gizmo circle drew it: centred `ring_width / 2`
/// outside the disc of radius `disc`, `width_px` screen pixels wide at `world_per_px`.
/// Returns (outer radius, the step of the inner-to-outer ratio).
pub fn ring_geometry(disc: f32, ring_width: f32, width_px: f32, world_per_px: f32) -> (f32, u8) {
    let centre = disc + ring_width * 0.5;
    let half = (width_px * world_per_px * 0.5).min(centre);
    let outer = (centre + half).max(f32::EPSILON);
    let ratio = ((centre - half) / outer).clamp(0.0, 1.0);
    (outer, (ratio * RING_RATIO_STEPS).round() as u8)
}

impl GraphAssets {
    fn circle(&mut self, meshes: &mut Assets<Mesh>) -> Handle<Mesh> {
        self.circle
            .get_or_insert_with(|| meshes.add(Circle::new(1.0)))
            .clone()
    }

    /// A ring of outer radius 1 whose inner radius is `step / RING_RATIO_STEPS`.
    fn ring(&mut self, step: u8, meshes: &mut Assets<Mesh>) -> Handle<Mesh> {
        self.rings
            .entry(step)
            .or_insert_with(|| {
                let inner = f32::from(step) / RING_RATIO_STEPS;
                meshes.add(
                    Annulus::new(inner, 1.0)
                        .mesh()
                        .resolution(RING_RESOLUTION)
                        .build(),
                )
            })
            .clone()
    }

    fn quad(&mut self, meshes: &mut Assets<Mesh>) -> Handle<Mesh> {
        self.quad
            .get_or_insert_with(|| meshes.add(Rectangle::new(1.0, 1.0)))
            .clone()
    }

    fn material(
        &mut self,
        color: ThemeColor,
        materials: &mut Assets<ColorMaterial>,
    ) -> Handle<ColorMaterial> {
        self.materials
            .entry(color.0)
            .or_insert_with(|| materials.add(ColorMaterial::from(color.bevy())))
            .clone()
    }
}

/// The visual children of a node, for updates without searching.
#[derive(Component, Debug)]
struct NodeVisuals {
    body: Entity,
    light: Entity,
    /// The state ring: a mesh, not a gizmo circle. On a software renderer (SwiftShader) every
    /// instance of a draw costs about as much as a draw, and a gizmo circle is an instance per
    /// segment: the crowd's 64 rings were 1,536 of the frame's 2,048 gizmo instances.
    ring: Entity,
    shown_color: [u8; 4],
    shown_light: [u8; 4],
    shown_ring: [u8; 4],
    ring_step: u8,
}

const Z_EDGE_BAR: f32 = 0.5;
const Z_BODY: f32 = 1.0;
const Z_LIGHT: f32 = 2.0;
/// Above the light, as the gizmo ring was (gizmos draw over meshes).
const Z_RING: f32 = 3.0;

fn state_color(theme: &Theme, state: &ProcessState) -> ThemeColor {
    match state {
        ProcessState::Running => theme.state_running,
        ProcessState::Blocked(_) => theme.state_blocked,
        ProcessState::Zombie(_) => theme.state_zombie,
    }
}

fn attach_node_visuals(
    mut commands: Commands,
    nodes: Query<(Entity, &GraphNode, &ProcessView), Without<NodeVisuals>>,
    mut assets: ResMut<GraphAssets>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<ColorMaterial>>,
    theme: Res<Theme>,
) {
    for (entity, node, view) in &nodes {
        let color = theme.program_color(&view.name);
        let circle = assets.circle(&mut meshes);
        let body = commands
            .spawn((
                NodeBody {
                    pid: node.pid,
                    owner: entity,
                },
                Mesh2d(circle.clone()),
                MeshMaterial2d(assets.material(color, &mut materials)),
                Transform::from_xyz(0.0, 0.0, Z_BODY).with_scale(Vec3::splat(theme.node_radius)),
                Pickable::default(),
                ChildOf(entity),
            ))
            .observe(interaction::on_node_press)
            .observe(interaction::on_node_over)
            .observe(interaction::on_node_out)
            .observe(interaction::on_node_drag)
            .observe(interaction::on_node_drag_end)
            .id();
        let light = commands
            .spawn((
                Mesh2d(circle),
                MeshMaterial2d(assets.material(theme.mailbox_idle, &mut materials)),
                Transform::from_xyz(0.0, 0.0, Z_LIGHT)
                    .with_scale(Vec3::splat(theme.node_radius * 0.28)),
                ChildOf(entity),
            ))
            .id();
        // Sized by `update_node_visuals` (the ring's width follows the zoom).
        let ring_color = state_color(&theme, &view.state);
        let ring = commands
            .spawn((
                Mesh2d(assets.ring(0, &mut meshes)),
                MeshMaterial2d(assets.material(ring_color, &mut materials)),
                Transform::from_xyz(0.0, 0.0, Z_RING).with_scale(Vec3::ZERO),
                ChildOf(entity),
            ))
            .id();
        commands.entity(entity).insert(NodeVisuals {
            body,
            light,
            ring,
            shown_color: color.0,
            shown_light: theme.mailbox_idle.0,
            shown_ring: ring_color.0,
            ring_step: 0,
        });
    }
}

fn mailbox_color(theme: &Theme, status: MailboxStatus) -> ThemeColor {
    match status {
        MailboxStatus::Idle => theme.mailbox_idle,
        MailboxStatus::Pending => theme.mailbox_pending,
        MailboxStatus::Ready => theme.mailbox_ready,
    }
}

#[allow(clippy::type_complexity, clippy::too_many_arguments)]
fn update_node_visuals(
    mut nodes: Query<(&GraphNode, &ProcessView, &Transform, &mut NodeVisuals)>,
    mut transforms: Query<&mut Transform, Without<GraphNode>>,
    mut node_materials: Query<&mut MeshMaterial2d<ColorMaterial>>,
    mut ring_meshes: Query<&mut Mesh2d>,
    (mut assets, mut meshes, mut materials): (
        ResMut<GraphAssets>,
        ResMut<Assets<Mesh>>,
        ResMut<Assets<ColorMaterial>>,
    ),
    theme: Res<Theme>,
    rig: Res<CameraRig>,
) {
    let (_, ring_px) = gizmo_widths_px(&theme, rig.world_per_px);
    for (node, view, node_transform, mut visuals) in &mut nodes {
        let zombie = view.state.is_zombie();
        let color = if zombie {
            theme.state_zombie
        } else {
            theme.program_color(&view.name)
        };
        let visuals = &mut *visuals;
        // Each part's material changes only when its colour (or the theme) does.
        let mut recolor = |part: Entity, shown: &mut [u8; 4], color: ThemeColor| {
            if *shown != color.0 || theme.is_changed() {
                *shown = color.0;
                if let Ok(mut material) = node_materials.get_mut(part) {
                    material.0 = assets.material(color, &mut materials);
                }
            }
        };
        recolor(visuals.body, &mut visuals.shown_color, color);
        let light = mailbox_color(&theme, view.mailbox);
        recolor(visuals.light, &mut visuals.shown_light, light);
        let ring = state_color(&theme, &view.state);
        recolor(visuals.ring, &mut visuals.shown_ring, ring);
        let radius = node.radius.max(1.0);
        if let Ok(mut t) = transforms.get_mut(visuals.body)
            && t.scale.x != radius
        {
            t.scale = Vec3::splat(radius);
        }
        // The ring, in the node's own (scaled) space: its geometry is worked out in world units.
        let node_scale = node_transform.scale.x;
        let (outer, step) = ring_geometry(
            radius * node_scale,
            theme.ring_width,
            ring_px,
            rig.world_per_px,
        );
        if visuals.ring_step != step
            && let Ok(mut mesh) = ring_meshes.get_mut(visuals.ring)
        {
            visuals.ring_step = step;
            mesh.0 = assets.ring(step, &mut meshes);
        }
        if let Ok(mut t) = transforms.get_mut(visuals.ring) {
            let scale = if node_scale > f32::EPSILON {
                Vec3::new(outer / node_scale, outer / node_scale, 1.0)
            } else {
                Vec3::ZERO
            };
            if t.scale != scale {
                t.scale = scale;
            }
        }
        let light_offset = Vec2::splat(radius * 0.72);
        if let Ok(mut t) = transforms.get_mut(visuals.light) {
            let target = light_offset.extend(Z_LIGHT);
            if t.translation != target {
                t.translation = target;
                t.scale = Vec3::splat(theme.node_radius * 0.28);
            }
        }
    }
}

fn attach_particle_visuals(
    mut commands: Commands,
    mut particles: Query<(Entity, &mut Transform), Added<Particle>>,
    mut assets: ResMut<GraphAssets>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<ColorMaterial>>,
    theme: Res<Theme>,
) {
    if particles.is_empty() {
        return;
    }
    let mesh = assets.circle(&mut meshes);
    let material = assets.material(theme.particle, &mut materials);
    for (entity, mut transform) in &mut particles {
        transform.scale = Vec3::splat(theme.particle_radius);
        commands
            .entity(entity)
            .insert((Mesh2d(mesh.clone()), MeshMaterial2d(material.clone())));
    }
}

#[allow(clippy::too_many_arguments)]
fn draw_edges_and_rings(
    mut gizmos: Gizmos,
    mut rings: Gizmos<RingGizmos>,
    model: Res<GraphModel>,
    edges: Res<GraphEdges>,
    nodes: Query<(&GraphNode, &ProcessView, &Transform)>,
    selection: Res<Selection>,
    hovered: Res<Hovered>,
    theme: Res<Theme>,
    time: Res<Time>,
) {
    let now = time.elapsed_secs_f64();
    let radius_of = |pid: u32| {
        nodes
            .iter()
            .find(|(n, _, _)| n.pid.0 == pid)
            .map_or(theme.node_radius, |(n, _, t)| n.radius * t.scale.x)
    };
    // Capability edges: who may send to whom (thin, with an arrow head at the endpoint owner).
    for &(holder, owner) in &edges.capability {
        let (Some(a), Some(b)) = (model.layout.position(holder), model.layout.position(owner))
        else {
            continue;
        };
        let dir = (b - a).normalize_or_zero();
        let start = a + dir * radius_of(holder);
        let end = b - dir * (radius_of(owner) + 2.0);
        gizmos
            .arrow_2d(start, end, theme.edge_capability.bevy())
            .with_tip_length(10.0);
    }
    // Recent, not aggregated traffic: a line fading out over a second.
    for ((from, to), edge) in model.traffic.edges() {
        let (Some(a), Some(b)) = (model.layout.position(from), model.layout.position(to)) else {
            continue;
        };
        if let Some(denied_at) = edge.denied_at_secs {
            let fade = 1.0 - ((now - denied_at) as f32 / 1.0).clamp(0.0, 1.0);
            if fade > 0.0 {
                gizmos.line_2d(a, b, theme.edge_denied.bevy().with_alpha(fade));
            }
        }
        if edge.aggregated {
            continue;
        }
        let fade = 1.0 - ((now - edge.last_message_secs) as f32 / 1.5).clamp(0.0, 1.0);
        if fade > 0.0 {
            gizmos.line_2d(
                a,
                b,
                theme.edge_traffic.bevy().with_alpha(0.25 + 0.5 * fade),
            );
        }
    }
    // Endpoints, selection, denied flashes (the state rings are meshes: `update_node_visuals`).
    for (node, _, transform) in &nodes {
        let pos = transform.translation.truncate();
        let r = node.radius * transform.scale.x;
        if selection.0 == Some(node.pid) {
            rings
                .circle_2d(pos, r + theme.ring_width * 2.5, theme.selection.bevy())
                .resolution(48);
        } else if hovered.0 == Some(node.pid) {
            gizmos.circle_2d(
                pos,
                r + theme.ring_width * 2.0,
                theme.selection.bevy().with_alpha(0.5),
            );
        }
        if let Some(denied) = node.denied_secs {
            let age = (now - denied) as f32;
            if age < 1.0 {
                let pulse = 1.0 - age;
                rings.circle_2d(
                    pos,
                    r + theme.ring_width * (1.0 + 4.0 * age),
                    theme.error.bevy().with_alpha(pulse),
                );
            }
        }
        if let Some(endpoints) = edges.endpoints.get(&node.pid.0) {
            // Endpoints sit on the rim, left side; the fill shows the queue depth.
            for (i, (_, queue_len, capacity)) in endpoints.iter().enumerate().take(6) {
                let angle = std::f32::consts::PI * (0.85 + 0.22 * i as f32);
                let at = pos + Vec2::from_angle(angle) * (r + theme.ring_width * 1.5);
                let fill = *queue_len as f32 / (*capacity).max(1) as f32;
                let color = if fill >= 1.0 {
                    theme.error
                } else if fill > 0.0 {
                    theme.mailbox_pending
                } else {
                    theme.accent
                };
                let size = Vec2::splat(theme.particle_radius * 2.2);
                gizmos.rect_2d(at, size, color.bevy());
                if fill > 0.0 {
                    gizmos.line_2d(
                        at - Vec2::new(size.x * 0.5, 0.0),
                        at - Vec2::new(size.x * 0.5, 0.0) + Vec2::new(size.x * fill, 0.0),
                        color.bevy(),
                    );
                }
            }
        }
    }
}

fn draw_node_effects(
    mut rings: Gizmos<RingGizmos>,
    effects: Query<&NodeEffect>,
    settings: Res<GraphSettings>,
    theme: Res<Theme>,
) {
    for effect in &effects {
        let t = (effect.age_secs / settings.effect_secs).clamp(0.0, 1.0);
        let (color, radius) = match effect.kind {
            NodeEffectKind::Spawned => (theme.ok, theme.node_radius * (1.0 + 1.5 * t)),
            NodeEffectKind::Exited => (theme.state_zombie, theme.node_radius * (1.0 + 1.0 * t)),
            NodeEffectKind::Killed => (theme.error, theme.node_radius * (1.0 + 2.5 * t)),
            NodeEffectKind::Denied => (theme.error, theme.node_radius * (1.2 + 0.8 * t)),
        };
        rings.circle_2d(effect.at_world, radius, color.bevy().with_alpha(1.0 - t));
        if effect.kind == NodeEffectKind::Killed {
            // A cross where the process was.
            let d = theme.node_radius * 0.7 * (1.0 - t);
            let c = theme.error.bevy().with_alpha(1.0 - t);
            rings.line_2d(
                effect.at_world - Vec2::splat(d),
                effect.at_world + Vec2::splat(d),
                c,
            );
            rings.line_2d(
                effect.at_world + Vec2::new(-d, d),
                effect.at_world + Vec2::new(d, -d),
                c,
            );
        }
    }
}

/// Where each node is and how big it is drawn, for rate labels to keep clear of.
type NodeFootprints<'w, 's> =
    Query<'w, 's, (&'static GraphNode, &'static Transform, &'static ProcessView)>;

/// Bars for aggregated edges, reused from frame to frame.
#[derive(Resource, Default)]
struct EdgeBarPool {
    bars: Vec<Entity>,
}

/// The inputs of the rate-label plan, gathered from the world each frame into reused buffers.
#[derive(Default)]
struct EdgeBarScratch {
    edges: Vec<BusyEdge>,
    nodes: Vec<NodeFootprint>,
    planner: RateLabelPlanner,
}

/// Draws the plan of [`RateLabelPlanner`]: a bar per busy edge; its label, where the plan put
/// one, is published in [`RateLabels`] for [`canvas_text`] to paint.
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn update_edge_bars(
    mut commands: Commands,
    mut pool: ResMut<EdgeBarPool>,
    model: Res<GraphModel>,
    mut transforms: Query<&mut Transform, (Without<GraphNode>, Without<NodeBody>)>,
    mut visibility: Query<&mut Visibility>,
    (mut assets, mut meshes, mut materials): (
        ResMut<GraphAssets>,
        ResMut<Assets<Mesh>>,
        ResMut<Assets<ColorMaterial>>,
    ),
    (theme, rig, area, selection, hovered): (
        Res<Theme>,
        Res<CameraRig>,
        Res<CanvasArea>,
        Res<Selection>,
        Res<Hovered>,
    ),
    graph_nodes: NodeFootprints,
    mut scratch: Local<EdgeBarScratch>,
    (mut placed, mut named): (ResMut<RateLabels>, ResMut<NamedNodes>),
) {
    let scratch = &mut *scratch;
    let window = model.traffic.settings.rate_window_secs;
    scratch.edges.clear();
    scratch.edges.extend(
        model
            .traffic
            .edges()
            .filter(|(_, e)| e.aggregated)
            .filter_map(|((from, to), e)| {
                let (a, b) = (model.layout.position(from)?, model.layout.position(to)?);
                Some(BusyEdge {
                    from,
                    to,
                    a,
                    b,
                    rate_per_sec: e.rate_per_sec(window),
                })
            }),
    );
    scratch.nodes.clear();
    scratch.nodes.extend(
        graph_nodes
            .iter()
            .map(|(node, transform, view)| NodeFootprint {
                pid: node.pid.0,
                centre: transform.translation.truncate(),
                radius: node.radius.max(1.0) * transform.scale.x,
                name_chars: node_label(node, view).len(),
            }),
    );
    let inputs = PlanInputs {
        style: label_style(&theme, rig.world_per_px),
        min_bar_width: theme.edge_width * 1.5,
        max_bar_width: theme.edge_width_max,
        focus: [selection.0.map(|p| p.0), hovered.0.map(|p| p.0)],
        overlay: area.overlay.map(|overlay| {
            let corners = [overlay.min, overlay.max].map(|p| rig.px_to_world(&area, p));
            Rect::from_corners(corners[0], corners[1])
        }),
    };
    scratch
        .planner
        .plan(&scratch.edges, &scratch.nodes, &inputs);
    let mut names = NamedNodes {
        named: scratch.planner.named().to_vec(),
        above: scratch.planner.named_above().to_vec(),
    };
    names.named.sort_unstable();
    names.above.sort_unstable();
    if *named != names {
        *named = names;
    }
    let plan = scratch.planner.bars();
    placed.0.clear();
    for (used, bar_plan) in plan.iter().enumerate() {
        if used == pool.bars.len() {
            let quad = assets.quad(&mut meshes);
            let material = assets.material(theme.edge_traffic, &mut materials);
            let bar = commands
                .spawn((Mesh2d(quad), MeshMaterial2d(material), Transform::default()))
                .id();
            pool.bars.push(bar);
        }
        let bar = pool.bars[used];
        if let Ok(mut t) = transforms.get_mut(bar) {
            *t = Transform {
                translation: bar_plan.centre.extend(Z_EDGE_BAR),
                rotation: Quat::from_rotation_z(bar_plan.angle),
                scale: Vec3::new(bar_plan.length, bar_plan.width, 1.0),
            };
        }
        if let Some(rect) = bar_plan.label {
            placed.0.push(RateLabel {
                from: bar_plan.from,
                to: bar_plan.to,
                text: bar_plan.text.clone(),
                rect,
            });
        }
        if let Ok(mut v) = visibility.get_mut(bar)
            && *v != Visibility::Inherited
        {
            *v = Visibility::Inherited;
        }
    }
    for &bar in &pool.bars[plan.len()..] {
        if let Ok(mut v) = visibility.get_mut(bar)
            && *v != Visibility::Hidden
        {
            *v = Visibility::Hidden;
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn update_kill_zone_label(
    mut gizmos: Gizmos<RingGizmos>,
    mut words: ResMut<KillZoneWords>,
    camera: Query<(&Camera, &GlobalTransform), With<GraphCamera>>,
    area: Res<CanvasArea>,
    dragging: Res<Dragging>,
    theme: Res<Theme>,
    time: Res<Time<Real>>,
) {
    let Ok((camera, camera_transform)) = camera.single() else {
        return;
    };
    let zone = kill_zone_rect(area.rect, theme.kill_zone_size_px);
    let (Ok(min), Ok(max)) = (
        camera.viewport_to_world_2d(camera_transform, Vec2::new(zone.min.x, zone.max.y)),
        camera.viewport_to_world_2d(camera_transform, Vec2::new(zone.max.x, zone.min.y)),
    ) else {
        return;
    };
    let world = Rect::from_corners(min, max);
    let color = if dragging.over_kill_zone {
        let pulse = 0.6 + 0.4 * (time.elapsed_secs() * 8.0).sin().abs();
        theme.kill_zone_armed.bevy().with_alpha(pulse)
    } else if dragging.pid.is_some() {
        theme.kill_zone_armed.bevy()
    } else {
        theme.kill_zone.bevy()
    };
    gizmos.rect_2d(world.center(), world.size(), color);
    if words.color != color {
        words.color = color;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::GraphPlugin;
    use crate::schedule_check::initialise_plugin_systems;

    use crate::supervisor::MailboxStatus;
    use bevy::asset::AssetPlugin;
    use bevy::mesh::VertexAttributeValues;
    use orbital_kernel::{BlockReason, ProcessId, ProcessMetrics};

    fn close(a: f32, b: f32, tolerance: f32) -> bool {
        (a - b).abs() <= tolerance
    }

    #[test]
    fn a_ring_spans_the_gizmo_circles_band_at_any_zoom() {
        // Zoom 1: from the disc's edge out to the theme's ring width, as the gizmo circle of
        // radius r + w/2 and w pixels did.
        let (outer, step) = ring_geometry(22.0, 4.0, 4.0, 1.0);
        assert!(close(outer, 26.0, 1e-4), "{outer}");
        let inner = f32::from(step) / RING_RATIO_STEPS * outer;
        assert!(close(inner, 22.0, outer / RING_RATIO_STEPS), "{inner}");
        // Zoomed out four times: 1.5 pixels are 6 world units, around the same centre line.
        let (outer, step) = ring_geometry(22.0, 4.0, 1.5, 4.0);
        let inner = f32::from(step) / RING_RATIO_STEPS * outer;
        assert!(close(outer, 24.0 + 3.0, 1e-4), "{outer}");
        assert!(
            close(inner, 24.0 - 3.0, outer / RING_RATIO_STEPS),
            "{inner}"
        );
        // Wider than the disc (far out, tiny disc): a full disc, never a negative radius.
        let (outer, step) = ring_geometry(0.5, 0.0, 2.0, 10.0);
        assert!(outer > 0.0 && step == 0, "{outer} {step}");
    }

    fn view(state: ProcessState) -> ProcessView {
        ProcessView {
            name: "sender".into(),
            state,
            metrics: ProcessMetrics::default(),
            mailbox: MailboxStatus::Idle,
            worker_id: None,
            protected: false,
            last_serviced: None,
        }
    }

    /// The radii a mesh's vertices lie at, scaled by `scale`: (smallest, largest).
    fn radii(mesh: &Mesh, scale: f32) -> (f32, f32) {
        let Some(VertexAttributeValues::Float32x3(positions)) =
            mesh.attribute(Mesh::ATTRIBUTE_POSITION)
        else {
            panic!("a ring mesh has 3D float positions");
        };
        positions
            .iter()
            .map(|p| Vec2::new(p[0], p[1]).length() * scale)
            .fold((f32::MAX, 0.0f32), |(lo, hi), r| (lo.min(r), hi.max(r)))
    }

    #[test]
    fn every_node_has_a_ring_mesh_in_its_state_colour_and_a_screen_width_at_any_zoom() {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, AssetPlugin::default()))
            .init_asset::<Mesh>()
            .init_asset::<ColorMaterial>()
            .init_resource::<Theme>()
            .init_resource::<CameraRig>()
            .init_resource::<GraphAssets>()
            .add_systems(Update, (attach_node_visuals, update_node_visuals).chain());
        let theme = Theme::default();
        let spawn = |app: &mut App, pid: u32, state: ProcessState| {
            app.world_mut()
                .spawn((
                    GraphNode {
                        pid: ProcessId(pid),
                        born_secs: 0.0,
                        denied_secs: None,
                        denied_reason: None,
                        radius: theme.node_radius,
                    },
                    view(state),
                    Transform::default(),
                ))
                .id()
        };
        let running = spawn(&mut app, 3, ProcessState::Running);
        let blocked = spawn(
            &mut app,
            4,
            ProcessState::Blocked(BlockReason::Sleep { until_ns: 0 }),
        );
        app.update();
        app.update();
        let ring_of = |app: &App, node: Entity| {
            let ring = app.world().get::<NodeVisuals>(node).unwrap().ring;
            let world = app.world();
            let mesh = world.get::<Mesh2d>(ring).unwrap().0.clone();
            let material = world.get::<MeshMaterial2d<ColorMaterial>>(ring).unwrap();
            let color = world
                .resource::<Assets<ColorMaterial>>()
                .get(&material.0)
                .unwrap()
                .color;
            let scale = world.get::<Transform>(ring).unwrap().scale.x;
            let (inner, outer) = radii(world.resource::<Assets<Mesh>>().get(&mesh).unwrap(), scale);
            (color, inner, outer, mesh)
        };
        let r = theme.node_radius;
        let (color, inner, outer, mesh_running) = ring_of(&app, running);
        assert_eq!(color, theme.state_running.bevy());
        assert!(
            close(inner, r, 0.2) && close(outer, r + theme.ring_width, 0.01),
            "{inner}..{outer}"
        );
        let (color, _, _, mesh_blocked) = ring_of(&app, blocked);
        assert_eq!(color, theme.state_blocked.bevy());
        assert_eq!(
            mesh_running, mesh_blocked,
            "rings of one width share one mesh"
        );

        // The process blocks: its ring turns the blocked colour.
        app.world_mut()
            .get_mut::<ProcessView>(running)
            .unwrap()
            .state = ProcessState::Blocked(BlockReason::Sleep { until_ns: 0 });
        // Zoomed out four times, and the node half-grown (its spawn animation).
        app.world_mut().resource_mut::<CameraRig>().world_per_px = 4.0;
        app.world_mut().get_mut::<Transform>(running).unwrap().scale = Vec3::splat(0.5);
        app.update();
        let (color, inner, outer, _) = ring_of(&app, running);
        assert_eq!(color, theme.state_blocked.bevy());
        let (_, ring_px) = gizmo_widths_px(&theme, 4.0);
        // In the node's space (halved): centred w/2 outside the half-size disc, ring_px * 4 wide.
        let centre = (r * 0.5 + theme.ring_width * 0.5) / 0.5;
        let half = ring_px * 4.0 * 0.5 / 0.5;
        assert!(
            close(inner, centre - half, 0.3) && close(outer, centre + half, 0.01),
            "{inner}..{outer}, wanted {}..{}",
            centre - half,
            centre + half
        );
    }

    #[test]
    fn every_graph_system_initialises_without_conflicting_parameters() {
        assert!(initialise_plugin_systems(GraphPlugin) >= 8);
        assert!(initialise_plugin_systems(GraphDrawPlugin) >= 15);
    }
}
