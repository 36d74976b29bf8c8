//! Drawing the graph model: every node a quad of one mesh drawn by one shader (disc, mailbox light
//! and state ring: [`super::node_glyph`]), particles and busy edges as pooled meshes (shared meshes
//! and materials, entities reused), edges, selection, effects and the kill zone's frame as the
//! triangles of one mesh ([`super::lines`]). The words (names, rates, the kill zone's) are painted
//! by [`super::canvas_text`] from the plan made here.

use std::collections::HashMap;

use bevy::picking::PickingSystems;
use bevy::picking::mesh_picking::ray_cast::RayCastVisibility;
use bevy::picking::mesh_picking::{MeshPickingPlugin, MeshPickingSettings};
use bevy::picking::pointer::PointerInput;
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
use super::lines::{self, GraphLineSystems, GraphLines, LineBatch};
use super::model::{
    GraphEdges, GraphModel, GraphNode, GraphSettings, GraphSystems, NodeEffect, NodeEffectKind,
    Particle,
};
use super::node_glyph::{
    self, BodyColor, GlyphState, NodeGlyphMaterial, NodeGlyphUniform, NodeGlyphs,
    glyph_half_extent, pack_tag,
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
        node_glyph::add_node_glyph_material(app);
        lines::add_graph_lines(app);
        // egui draws with the window camera spawned with the graph camera (`camera`), not with
        // whichever camera comes first.
        app.world_mut()
            .get_resource_or_insert_with(bevy_egui::EguiGlobalSettings::default)
            .auto_create_primary_context = false;
        // A node is picked on its disc, a mesh nobody sees (the glyph's quad is square).
        app.insert_resource(MeshPickingSettings {
            require_markers: true,
            ray_cast_visibility: RayCastVisibility::Any,
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
        .add_message::<PointerInput>()
        .add_systems(Startup, camera::spawn_graph_camera)
        .add_systems(
            PreUpdate,
            interaction::press_drag_and_drop_nodes.after(PickingSystems::Input),
        )
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
            (
                camera::follow_render_quality_msaa.after(RenderQualitySystems),
                // Every frame: it compares before it writes.
                camera::follow_theme_and_quality.after(RenderQualitySystems),
            ),
        )
        .add_systems(
            Update,
            (
                attach_node_visuals,
                attach_particle_visuals,
                update_glyph_material
                    .run_if(resource_changed::<Theme>.or_else(resource_changed::<CameraRig>)),
                // Names follow the plan that placed the rate labels around them.
                update_node_visuals.after(update_edge_bars),
                (
                    draw_edges_and_rings,
                    draw_node_effects,
                    update_kill_zone_label,
                )
                    .in_set(GraphLineSystems::Draw),
                update_edge_bars,
                interaction::clear_departed_selection,
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

/// Edge and ring line widths in screen pixels at `world_per_px`: the theme's at zoom 1 or closer,
/// thinner as the view zooms out (zoomed out on a crowd, full-width rings would swallow the small
/// discs into one blob), never under a pixel and a half.
pub fn line_widths_px(theme: &Theme, world_per_px: f32) -> (f32, f32) {
    let zoom_out = world_per_px.max(1.0);
    (
        (theme.edge_width / zoom_out).max(1.5).min(theme.edge_width),
        (theme.ring_width / zoom_out).max(1.5).min(theme.ring_width),
    )
}

/// Edge and ring line widths in world units at the rig's zoom.
fn line_widths_world(theme: &Theme, rig: &CameraRig) -> (f32, f32) {
    let (edge, ring) = line_widths_px(theme, rig.world_per_px);
    (edge * rig.world_per_px, ring * rig.world_per_px)
}

/// Shared meshes and materials: one circle, one quad, one material per colour, one for every
/// node's glyph.
#[derive(Resource, Default)]
struct GraphAssets {
    circle: Option<Handle<Mesh>>,
    quad: Option<Handle<Mesh>>,
    materials: HashMap<[u8; 4], Handle<ColorMaterial>>,
    glyph: Option<Handle<NodeGlyphMaterial>>,
}

impl GraphAssets {
    fn circle(&mut self, meshes: &mut Assets<Mesh>) -> Handle<Mesh> {
        self.circle
            .get_or_insert_with(|| meshes.add(Circle::new(1.0)))
            .clone()
    }

    /// The one material of every node's glyph; its uniform is kept by [`update_glyph_material`].
    fn glyph(
        &mut self,
        theme: &Theme,
        rig: &CameraRig,
        materials: &mut Assets<NodeGlyphMaterial>,
    ) -> Handle<NodeGlyphMaterial> {
        self.glyph
            .get_or_insert_with(|| {
                materials.add(NodeGlyphMaterial {
                    glyph: glyph_uniform(theme, rig),
                })
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

/// The visual child of a node, for updates without searching (what a node shows is drawn in
/// [`NodeGlyphs`]).
#[derive(Component, Debug)]
struct NodeVisuals {
    /// The disc that pointer presses hit: a mesh, hidden (the glyph draws it).
    body: Entity,
}

const Z_EDGE_BAR: f32 = 0.5;
const Z_BODY: f32 = 1.0;

/// The state ring's colour slot: 0 running, 1 blocked, 2 zombie.
fn state_slot(state: &ProcessState) -> u8 {
    match state {
        ProcessState::Running => 0,
        ProcessState::Blocked(_) => 1,
        ProcessState::Zombie(_) => 2,
    }
}

fn attach_node_visuals(
    mut commands: Commands,
    nodes: Query<(Entity, &GraphNode), Without<NodeVisuals>>,
    mut assets: ResMut<GraphAssets>,
    mut meshes: ResMut<Assets<Mesh>>,
    theme: Res<Theme>,
) {
    for (entity, node) in &nodes {
        let circle = assets.circle(&mut meshes);
        let body = commands
            .spawn((
                NodeBody {
                    pid: node.pid,
                    owner: entity,
                },
                Mesh2d(circle),
                Visibility::Hidden,
                Transform::from_xyz(0.0, 0.0, Z_BODY).with_scale(Vec3::splat(theme.node_radius)),
                Pickable::default(),
                ChildOf(entity),
            ))
            .observe(interaction::on_node_over)
            .observe(interaction::on_node_out)
            .id();
        commands.entity(entity).insert(NodeVisuals { body });
    }
}

/// The glyphs' shared uniform: the theme's colours, the ring's width at the rig's zoom.
fn glyph_uniform(theme: &Theme, rig: &CameraRig) -> NodeGlyphUniform {
    let (_, ring_px) = line_widths_px(theme, rig.world_per_px);
    NodeGlyphUniform::new(theme, ring_px, rig.world_per_px)
}

/// Keeps the glyphs' shared uniform on the theme and the zoom (run when either changes).
fn update_glyph_material(
    assets: Res<GraphAssets>,
    mut materials: ResMut<Assets<NodeGlyphMaterial>>,
    theme: Res<Theme>,
    rig: Res<CameraRig>,
) {
    let Some(handle) = &assets.glyph else { return };
    let wanted = glyph_uniform(&theme, &rig);
    // Read first: a mutable borrow marks the asset changed and re-uploads it.
    if materials.get(handle).is_some_and(|m| m.glyph != wanted)
        && let Some(mut material) = materials.get_mut(handle)
    {
        material.glyph = wanted;
    }
}

/// The mailbox light's colour slot: 0 idle, 1 pending, 2 ready.
fn mailbox_slot(status: MailboxStatus) -> u8 {
    match status {
        MailboxStatus::Idle => 0,
        MailboxStatus::Pending => 1,
        MailboxStatus::Ready => 2,
    }
}

/// Sizes each node's hit disc and draws each node's glyph into [`NodeGlyphs`] (in pid order, so
/// overlapping nodes stack the same way every frame), then writes the glyphs' one mesh if what
/// they show changed.
#[allow(clippy::too_many_arguments)]
fn update_node_visuals(
    mut commands: Commands,
    nodes: Query<(&GraphNode, &ProcessView, &Transform, &NodeVisuals)>,
    mut transforms: Query<&mut Transform, Without<GraphNode>>,
    mut glyphs: ResMut<NodeGlyphs>,
    mut assets: ResMut<GraphAssets>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut glyph_materials: ResMut<Assets<NodeGlyphMaterial>>,
    mut visibility: Query<&mut Visibility>,
    theme: Res<Theme>,
    rig: Res<CameraRig>,
) {
    let (_, ring_px) = line_widths_px(&theme, rig.world_per_px);
    let mut order: Vec<_> = nodes.iter().collect();
    order.sort_unstable_by_key(|(node, ..)| node.pid.0);
    for (node, view, node_transform, visuals) in order {
        let radius = node.radius.max(1.0);
        if let Ok(mut t) = transforms.get_mut(visuals.body)
            && t.scale.x != radius
        {
            t.scale = Vec3::splat(radius);
        }
        let node_scale = node_transform.scale.x.clamp(0.0, 1.0);
        if node_scale <= f32::EPSILON {
            continue;
        }
        let disc = radius * node_scale;
        let tag = pack_tag(&GlyphState {
            disc_radius: disc,
            scale: node_scale,
            body: if view.state.is_zombie() {
                BodyColor::Zombie
            } else {
                BodyColor::Program(theme.program_palette_index(&view.name))
            },
            light: mailbox_slot(view.mailbox),
            ring: state_slot(&view.state),
        });
        let half = glyph_half_extent(disc, node_scale, &theme, ring_px, rig.world_per_px);
        glyphs
            .frame
            .push(node.pid.0, node_transform.translation.truncate(), half, tag);
    }
    glyphs.flush(&mut commands, &mut meshes, &mut visibility, Z_BODY, || {
        assets.glyph(&theme, &rig, &mut glyph_materials)
    });
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

/// A gizmo circle's pieces; the selection ring, larger, has more.
const CIRCLE_RESOLUTION: u32 = 32;
const SELECTION_RESOLUTION: u32 = 48;
/// The capability arrow's head, world units.
const ARROW_TIP: f32 = 10.0;

#[allow(clippy::too_many_arguments)]
fn draw_edges_and_rings(
    mut lines: ResMut<GraphLines>,
    model: Res<GraphModel>,
    edges: Res<GraphEdges>,
    nodes: Query<(&GraphNode, &ProcessView, &Transform)>,
    selection: Res<Selection>,
    hovered: Res<Hovered>,
    theme: Res<Theme>,
    rig: Res<CameraRig>,
    time: Res<Time>,
) {
    let now = time.elapsed_secs_f64();
    let (edge_w, ring_w) = line_widths_world(&theme, &rig);
    let out: &mut LineBatch = &mut lines.frame;
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
        out.arrow(start, end, ARROW_TIP, edge_w, theme.edge_capability.bevy());
    }
    // Recent, not aggregated traffic: a line fading out over a second.
    for ((from, to), edge) in model.traffic.edges() {
        let (Some(a), Some(b)) = (model.layout.position(from), model.layout.position(to)) else {
            continue;
        };
        if let Some(denied_at) = edge.denied_at_secs {
            let fade = 1.0 - ((now - denied_at) as f32 / 1.0).clamp(0.0, 1.0);
            if fade > 0.0 {
                out.segment(a, b, edge_w, theme.edge_denied.bevy().with_alpha(fade));
            }
        }
        if edge.aggregated {
            continue;
        }
        let fade = 1.0 - ((now - edge.last_message_secs) as f32 / 1.5).clamp(0.0, 1.0);
        if fade > 0.0 {
            out.segment(
                a,
                b,
                edge_w,
                theme.edge_traffic.bevy().with_alpha(0.25 + 0.5 * fade),
            );
        }
    }
    // Endpoints, selection, denied flashes (the state rings are in the glyphs).
    for (node, _, transform) in &nodes {
        let pos = transform.translation.truncate();
        let r = node.radius * transform.scale.x;
        if selection.0 == Some(node.pid) {
            out.ring(
                pos,
                r + theme.ring_width * 2.5,
                ring_w,
                theme.selection.bevy(),
                SELECTION_RESOLUTION,
            );
        } else if hovered.0 == Some(node.pid) {
            out.ring(
                pos,
                r + theme.ring_width * 2.0,
                edge_w,
                theme.selection.bevy().with_alpha(0.5),
                CIRCLE_RESOLUTION,
            );
        }
        if let Some(denied) = node.denied_secs {
            let age = (now - denied) as f32;
            if age < 1.0 {
                let pulse = 1.0 - age;
                out.ring(
                    pos,
                    r + theme.ring_width * (1.0 + 4.0 * age),
                    ring_w,
                    theme.error.bevy().with_alpha(pulse),
                    CIRCLE_RESOLUTION,
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
                out.rect_outline(at, size, edge_w, color.bevy());
                if fill > 0.0 {
                    out.segment(
                        at - Vec2::new(size.x * 0.5, 0.0),
                        at - Vec2::new(size.x * 0.5, 0.0) + Vec2::new(size.x * fill.min(1.0), 0.0),
                        edge_w,
                        color.bevy(),
                    );
                }
            }
        }
    }
}

fn draw_node_effects(
    mut lines: ResMut<GraphLines>,
    effects: Query<&NodeEffect>,
    settings: Res<GraphSettings>,
    theme: Res<Theme>,
    rig: Res<CameraRig>,
) {
    let (_, ring_w) = line_widths_world(&theme, &rig);
    let out = &mut lines.frame;
    for effect in &effects {
        let t = (effect.age_secs / settings.effect_secs).clamp(0.0, 1.0);
        let (color, radius) = match effect.kind {
            NodeEffectKind::Spawned => (theme.ok, theme.node_radius * (1.0 + 1.5 * t)),
            NodeEffectKind::Exited => (theme.state_zombie, theme.node_radius * (1.0 + 1.0 * t)),
            NodeEffectKind::Killed => (theme.error, theme.node_radius * (1.0 + 2.5 * t)),
            NodeEffectKind::Denied => (theme.error, theme.node_radius * (1.2 + 0.8 * t)),
        };
        out.ring(
            effect.at_world,
            radius,
            ring_w,
            color.bevy().with_alpha(1.0 - t),
            CIRCLE_RESOLUTION,
        );
        if effect.kind == NodeEffectKind::Killed {
            // A cross where the process was.
            let d = theme.node_radius * 0.7 * (1.0 - t);
            let c = theme.error.bevy().with_alpha(1.0 - t);
            out.segment(
                effect.at_world - Vec2::splat(d),
                effect.at_world + Vec2::splat(d),
                ring_w,
                c,
            );
            out.segment(
                effect.at_world + Vec2::new(-d, d),
                effect.at_world + Vec2::new(d, -d),
                ring_w,
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
        canvas: Some({
            let corners = [area.rect.min, area.rect.max].map(|p| rig.px_to_world(&area, p));
            Rect::from_corners(corners[0], corners[1])
        }),
    };
    scratch
        .planner
        .plan(&scratch.edges, &scratch.nodes, &inputs);
    let mut names = NamedNodes {
        named: scratch.planner.named().to_vec(),
        above: scratch.planner.named_above().to_vec(),
        inside: scratch.planner.inside().to_vec(),
    };
    names.named.sort_unstable();
    names.above.sort_unstable();
    names.inside.sort_unstable_by_key(|(pid, _)| *pid);
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
    mut lines: ResMut<GraphLines>,
    rig: Res<CameraRig>,
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
    let (_, ring_w) = line_widths_world(&theme, &rig);
    lines
        .frame
        .rect_outline(world.center(), world.size(), ring_w, color);
    if words.color != color {
        words.color = color;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::GraphPlugin;
    use crate::schedule_check::initialise_plugin_systems;

    use super::node_glyph::{ring_band, unpack_tag};
    use crate::supervisor::MailboxStatus;
    use bevy::asset::AssetPlugin;
    use orbital_kernel::{BlockReason, ProcessId, ProcessMetrics};

    fn view(name: &str, state: ProcessState) -> ProcessView {
        ProcessView {
            name: name.into(),
            state,
            metrics: ProcessMetrics::default(),
            mailbox: MailboxStatus::Idle,
            worker_id: None,
            protected: false,
            last_serviced: None,
        }
    }

    fn glyph_app() -> App {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, AssetPlugin::default()))
            .init_asset::<Mesh>()
            .init_asset::<ColorMaterial>()
            .init_asset::<NodeGlyphMaterial>()
            .init_resource::<Theme>()
            .init_resource::<CameraRig>()
            .init_resource::<GraphAssets>()
            .init_resource::<NodeGlyphs>()
            .add_systems(
                Update,
                (
                    attach_node_visuals,
                    update_node_visuals,
                    update_glyph_material,
                )
                    .chain(),
            );
        app
    }

    fn spawn_node(app: &mut App, pid: u32, view: ProcessView) -> Entity {
        let radius = app.world().resource::<Theme>().node_radius;
        app.world_mut()
            .spawn((
                GraphNode {
                    pid: ProcessId(pid),
                    born_secs: 0.0,
                    denied_secs: None,
                    denied_reason: None,
                    radius,
                },
                view,
                Transform::default(),
            ))
            .id()
    }

    /// What a node's glyph shows: its tag unpacked, the material's uniform, its quad's centre and
    /// half side (world units), from the mesh the glyphs' one entity draws.
    fn glyph_of(app: &App, pid: u32) -> (GlyphState, NodeGlyphUniform, Vec2, f32) {
        let world = app.world();
        let glyphs = world.resource::<NodeGlyphs>();
        let (centre, half, tag) = glyphs.shown().glyph(pid).expect("the node has a glyph");
        let entity = glyphs.entity().expect("the glyphs' entity");
        let material = world
            .get::<MeshMaterial2d<NodeGlyphMaterial>>(entity)
            .unwrap();
        let uniform = world
            .resource::<Assets<NodeGlyphMaterial>>()
            .get(&material.0)
            .unwrap()
            .glyph
            .clone();
        (unpack_tag(tag), uniform, centre, half)
    }

    #[test]
    fn every_node_is_a_quad_of_one_mesh_of_one_material_showing_its_colours_and_state() {
        let mut app = glyph_app();
        let theme = Theme::default();
        let running = spawn_node(&mut app, 3, view("sender", ProcessState::Running));
        let blocked = spawn_node(
            &mut app,
            4,
            view(
                "receiver",
                ProcessState::Blocked(BlockReason::Sleep { until_ns: 0 }),
            ),
        );
        app.world_mut()
            .get_mut::<Transform>(blocked)
            .unwrap()
            .translation = Vec3::new(120.0, -40.0, 0.0);
        app.update();
        app.update();
        let (shown, uniform, centre, half) = glyph_of(&app, 3);
        assert_eq!(centre, Vec2::ZERO);
        assert_eq!(
            uniform.body_color(shown.body),
            theme.program_color("sender").bevy().to_linear()
        );
        assert_eq!(
            uniform.light_color(shown.light),
            theme.mailbox_idle.bevy().to_linear()
        );
        assert_eq!(
            uniform.ring_color(shown.ring),
            theme.state_running.bevy().to_linear()
        );
        assert!((shown.disc_radius - theme.node_radius).abs() < 0.05);
        // The quad holds the ring (zoom 1: out to the theme's ring width) and the light.
        let (_, outer) = ring_band(theme.node_radius, theme.ring_width, theme.ring_width, 1.0);
        assert!(half > outer, "{half} {outer}");
        let (shown_b, _, centre_b, _) = glyph_of(&app, 4);
        assert_eq!(centre_b, Vec2::new(120.0, -40.0));
        assert_eq!(
            uniform.ring_color(shown_b.ring),
            theme.state_blocked.bevy().to_linear()
        );
        assert_eq!(
            uniform.body_color(shown_b.body),
            theme.program_color("receiver").bevy().to_linear()
        );
        // Both nodes are quads of the one mesh of the one entity that draws glyphs.
        let glyphs = app.world().resource::<NodeGlyphs>();
        assert_eq!(glyphs.shown().len(), 2);
        let entity = glyphs.entity().unwrap();
        let handle = &app.world().get::<Mesh2d>(entity).unwrap().0;
        let mesh = app.world().resource::<Assets<Mesh>>().get(handle).unwrap();
        assert_eq!(mesh.count_vertices(), 8);
        assert!(mesh.attribute(node_glyph::ATTRIBUTE_GLYPH_TAG).is_some());
        assert_eq!(
            app.world().get::<Transform>(entity).unwrap().translation.z,
            Z_BODY
        );
        assert_eq!(
            app.world().resource::<Assets<NodeGlyphMaterial>>().len(),
            1,
            "every glyph shares one material"
        );
        // The hit disc is there, hidden, at the node's radius.
        let body = app.world().get::<NodeVisuals>(running).unwrap().body;
        assert_eq!(
            app.world().get::<Visibility>(body),
            Some(&Visibility::Hidden)
        );
        assert!(app.world().get::<Pickable>(body).is_some());

        // The process blocks with mail waiting, while half grown, zoomed out four times.
        {
            let mut v = app.world_mut().get_mut::<ProcessView>(running).unwrap();
            v.state = ProcessState::Blocked(BlockReason::Sleep { until_ns: 0 });
            v.mailbox = MailboxStatus::Ready;
        }
        app.world_mut().resource_mut::<CameraRig>().world_per_px = 4.0;
        app.world_mut().get_mut::<Transform>(running).unwrap().scale = Vec3::splat(0.5);
        app.update();
        let (shown, uniform, _, half) = glyph_of(&app, 3);
        assert_eq!(
            uniform.ring_color(shown.ring),
            theme.state_blocked.bevy().to_linear()
        );
        assert_eq!(
            uniform.light_color(shown.light),
            theme.mailbox_ready.bevy().to_linear()
        );
        assert!((shown.disc_radius - theme.node_radius * 0.5).abs() < 0.05);
        assert!((shown.scale - 0.5).abs() < 0.01);
        let (_, ring_px) = line_widths_px(&theme, 4.0);
        assert_eq!(uniform.ring_half_width, ring_px * 4.0 * 0.5);
        let (_, outer) = ring_band(theme.node_radius * 0.5, theme.ring_width, ring_px, 4.0);
        assert!(half > outer, "{half} {outer}");

        // It exits: a zombie's body, ring and colour.
        app.world_mut()
            .get_mut::<ProcessView>(running)
            .unwrap()
            .state = ProcessState::Zombie(orbital_kernel::ExitReason::Exited { code: 0 });
        app.update();
        let (shown, uniform, _, _) = glyph_of(&app, 3);
        assert_eq!(
            uniform.body_color(shown.body),
            theme.state_zombie.bevy().to_linear()
        );
        assert_eq!(
            uniform.ring_color(shown.ring),
            theme.state_zombie.bevy().to_linear()
        );

        // The projector theme recolours every glyph through the one material.
        *app.world_mut().resource_mut::<Theme>() = Theme::projector();
        app.update();
        let (shown_b, uniform, _, _) = glyph_of(&app, 4);
        assert_eq!(
            uniform.body_color(shown_b.body),
            Theme::projector()
                .program_color("receiver")
                .bevy()
                .to_linear()
        );
    }

    /// The lines the edge-and-ring system draws for one frame of two nodes: init (pid 1) holding
    /// a capability to sender's (pid 5) endpoint, which has one message queued of four.
    fn lines_of_one_frame(selected: Option<u32>, hovered: Option<u32>) -> LineBatch {
        let mut app = App::new();
        let settings = GraphSettings::default();
        let mut model = GraphModel::new(&settings);
        model.layout.insert(1, Some(Vec2::new(0.0, 0.0)), None);
        model.layout.insert(5, Some(Vec2::new(200.0, 0.0)), None);
        model.layout.pin(1, Vec2::new(0.0, 0.0));
        model.layout.pin(5, Vec2::new(200.0, 0.0));
        let mut edges = GraphEdges::default();
        edges.capability.push((1, 5));
        edges.endpoints.insert(5, vec![(9, 1, 4)]);
        app.add_plugins((MinimalPlugins, AssetPlugin::default()))
            .init_asset::<Mesh>()
            .init_asset::<ColorMaterial>()
            .init_resource::<Theme>()
            .init_resource::<CameraRig>()
            .insert_resource(model)
            .insert_resource(edges)
            .insert_resource(Selection(selected.map(ProcessId)))
            .insert_resource(Hovered(hovered.map(ProcessId)));
        lines::add_graph_lines(&mut app);
        app.add_systems(Update, draw_edges_and_rings.in_set(GraphLineSystems::Draw));
        for (pid, x) in [(1, 0.0), (5, 200.0)] {
            let id = spawn_node(&mut app, pid, view("p", ProcessState::Running));
            app.world_mut()
                .get_mut::<Transform>(id)
                .unwrap()
                .translation
                .x = x;
        }
        app.update();
        app.world().resource::<GraphLines>().shown().clone()
    }

    #[test]
    fn edges_endpoints_and_the_selection_are_lines_of_one_mesh() {
        let theme = Theme::default();
        let r = theme.node_radius;
        let colour = |c: ThemeColor| c.bevy().to_linear();
        let plain = lines_of_one_frame(None, None);
        let at = |batch: &LineBatch, c: LinearRgba| -> Vec<Vec2> {
            batch
                .vertices()
                .filter(|(_, v)| *v == c)
                .map(|(p, _)| p)
                .collect()
        };
        // The arrow runs from init's rim to sender's, its head at sender's.
        let arrow = at(&plain, colour(theme.edge_capability));
        assert_eq!(arrow.len(), 12, "a shaft and two head strokes: {arrow:?}");
        assert!(arrow.iter().all(|p| p.x >= r - 1.0 && p.x <= 200.0 - r));
        // Sender's endpoint box, in the pending colour (one of four queued): its outline and
        // its fill bar, on sender's rim, left side.
        let endpoint = at(&plain, colour(theme.mailbox_pending));
        assert_eq!(endpoint.len(), 4 * 4 + 4);
        assert!(
            endpoint
                .iter()
                .all(|p| p.x < 200.0 && p.distance(Vec2::new(200.0, 0.0)) < r * 1.6)
        );
        // Nothing white without a selection.
        assert!(at(&plain, colour(theme.selection)).is_empty());

        // Selected init: a closed white ring outside its state ring, 48 pieces.
        let selected = lines_of_one_frame(Some(1), Some(5));
        let ring = at(&selected, colour(theme.selection));
        assert_eq!(ring.len(), 48 * 4);
        let radius = r + theme.ring_width * 2.5;
        assert!(
            ring.iter()
                .all(|p| (p.length() - radius).abs() <= theme.ring_width),
            "{ring:?}"
        );
        // Hovered sender: the half-white ring around it.
        let hover = at(
            &selected,
            theme.selection.bevy().with_alpha(0.5).to_linear(),
        );
        assert_eq!(hover.len(), 32 * 4);
        assert!(hover.iter().all(|p| p.distance(Vec2::new(200.0, 0.0)) > r));
    }

    #[test]
    fn every_graph_system_initialises_without_conflicting_parameters() {
        assert!(initialise_plugin_systems(GraphPlugin) >= 8);
        assert!(initialise_plugin_systems(GraphDrawPlugin) >= 15);
    }
}
