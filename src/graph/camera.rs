//! The canvas camera: the part of the window not covered by panels shows the graph, centred on
//! `CameraRig::center_world`; the mouse wheel zooms, a right- or middle-button drag pans (both
//! ignored while the pointer is over an egui panel).

use bevy::input::mouse::{AccumulatedMouseMotion, AccumulatedMouseScroll, MouseScrollUnit};
use bevy::picking::mesh_picking::MeshPickingCamera;
use bevy::prelude::*;
use bevy::window::PrimaryWindow;

/// Marks the one camera that draws the graph.
#[derive(Component, Debug)]
pub struct GraphCamera;

/// Where the canvas looks: the world point shown at the centre of the canvas area, and how many
/// world units one CSS pixel covers.
#[derive(Resource, Debug, Clone, PartialEq)]
pub struct CameraRig {
    pub center_world: Vec2,
    pub world_per_px: f32,
    /// Keep the whole graph in view (until the person pans or zooms; `f` turns it back on).
    pub auto_fit: bool,
}

impl Default for CameraRig {
    fn default() -> Self {
        Self { center_world: Vec2::ZERO, world_per_px: 1.0, auto_fit: true }
    }
}

/// Room kept around the graph when fitting it into the canvas, in CSS pixels (labels, rings).
const FIT_MARGIN_PX: f32 = 70.0;

pub const MIN_WORLD_PER_PX: f32 = 0.2;
pub const MAX_WORLD_PER_PX: f32 = 8.0;

/// The free part of the window between the egui panels, in CSS pixels (origin top-left, y down).
/// Written by the panels each frame after they are laid out.
#[derive(Resource, Debug, Clone, Copy, PartialEq)]
pub struct CanvasArea {
    pub rect: Rect,
}

impl Default for CanvasArea {
    fn default() -> Self {
        Self { rect: Rect::new(0.0, 0.0, 1280.0, 720.0) }
    }
}

pub(super) fn spawn_graph_camera(mut commands: Commands) {
    commands.spawn((Camera2d, GraphCamera, MeshPickingCamera, crate::render_quality::initial_msaa()));
}

/// Places the camera so that `center_world` sits at the centre of the canvas area.
pub(super) fn place_graph_camera(
    rig: Res<CameraRig>,
    area: Res<CanvasArea>,
    window: Query<&Window, With<PrimaryWindow>>,
    mut camera: Query<(&mut Transform, &mut Projection), With<GraphCamera>>,
) {
    let Ok(window) = window.single() else { return };
    let Ok((mut transform, mut projection)) = camera.single_mut() else { return };
    let window_center = Vec2::new(window.width(), window.height()) * 0.5;
    let offset_px = area.rect.center() - window_center;
    let offset_world = Vec2::new(offset_px.x, -offset_px.y) * rig.world_per_px;
    let translation = (rig.center_world - offset_world).extend(transform.translation.z);
    if transform.translation != translation {
        transform.translation = translation;
    }
    if let Projection::Orthographic(ortho) = &mut *projection
        && ortho.scale != rig.world_per_px
    {
        ortho.scale = rig.world_per_px;
    }
}

/// Mouse-wheel zoom and right/middle-drag pan; the caller gates it on egui not wanting the pointer.
pub(super) fn pan_zoom_graph_camera(
    mut rig: ResMut<CameraRig>,
    buttons: Res<ButtonInput<MouseButton>>,
    motion: Res<AccumulatedMouseMotion>,
    scroll: Res<AccumulatedMouseScroll>,
    area: Res<CanvasArea>,
    window: Query<&Window, With<PrimaryWindow>>,
    mut panning: Local<bool>,
) {
    // The panels sit on top of the canvas: wheel and drags over them are theirs.
    let over_canvas = window.single().ok().and_then(Window::cursor_position).is_some_and(|p| area.rect.contains(p));
    let pan_button = buttons.pressed(MouseButton::Right) || buttons.pressed(MouseButton::Middle);
    if !pan_button {
        *panning = false;
    } else if buttons.just_pressed(MouseButton::Right) || buttons.just_pressed(MouseButton::Middle) {
        *panning = over_canvas;
    }
    if !over_canvas && !*panning {
        return;
    }
    if *panning {
        let delta = motion.delta;
        if delta != Vec2::ZERO {
            let per_px = rig.world_per_px;
            rig.center_world += Vec2::new(-delta.x, delta.y) * per_px;
            rig.auto_fit = false;
        }
    }
    let lines = match scroll.unit {
        MouseScrollUnit::Line => scroll.delta.y,
        MouseScrollUnit::Pixel => scroll.delta.y / 60.0,
    };
    if lines != 0.0 {
        let zoomed = (rig.world_per_px * 0.9_f32.powf(lines)).clamp(MIN_WORLD_PER_PX, MAX_WORLD_PER_PX);
        rig.world_per_px = zoomed;
        rig.auto_fit = false;
    }
}

/// Eases the camera towards the zoom and centre that show every node (never magnifying past 1:1).
pub(super) fn fit_graph_camera(
    mut rig: ResMut<CameraRig>,
    model: Res<super::model::GraphModel>,
    area: Res<CanvasArea>,
    time: Res<Time<Real>>,
) {
    if !rig.auto_fit || model.layout.is_empty() {
        return;
    }
    let mut bounds = Rect::EMPTY;
    for (_, pos) in model.layout.positions() {
        bounds = bounds.union_point(pos);
    }
    let room = (area.rect.size() - Vec2::splat(2.0 * FIT_MARGIN_PX)).max(Vec2::splat(50.0));
    let needed = bounds.size() / room;
    let target_zoom = needed.x.max(needed.y).clamp(1.0, MAX_WORLD_PER_PX);
    let ease = 1.0 - (-time.delta_secs() * 3.0).exp();
    let zoom = rig.world_per_px + (target_zoom - rig.world_per_px) * ease;
    let center = rig.center_world.lerp(bounds.center(), ease);
    if (zoom - rig.world_per_px).abs() > 1e-4 || center.distance_squared(rig.center_world) > 1e-4 {
        rig.world_per_px = zoom;
        rig.center_world = center;
    }
}
