//! The canvas camera: the part of the window not covered by panels shows the graph, centred on
//! `CameraRig::center_world`; the mouse wheel zooms, a right- or middle-button drag pans (both
//! ignored while the pointer is over an egui panel).

use bevy::input::mouse::{AccumulatedMouseMotion, AccumulatedMouseScroll, MouseScrollUnit};
use bevy::picking::mesh_picking::MeshPickingCamera;
use bevy::prelude::*;
use bevy::render::view::Msaa;
use bevy::window::PrimaryWindow;

use crate::render_quality::{self, RenderQuality};
use crate::ui_state::CanvasArea;

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
        Self {
            center_world: Vec2::ZERO,
            world_per_px: 1.0,
            auto_fit: true,
        }
    }
}

/// Room kept around the graph when fitting it into the canvas, in CSS pixels (labels, rings).
const FIT_MARGIN_PX: f32 = 70.0;

pub const MIN_WORLD_PER_PX: f32 = 0.2;
pub const MAX_WORLD_PER_PX: f32 = 8.0;

/// Room kept above the top nodes when the canvas's top is taken by the overlay (a node's name
/// hangs below it, so less is needed there than on the other sides), in CSS pixels.
const FIT_MARGIN_BELOW_OVERLAY_PX: f32 = 48.0;

/// Room kept between the graph and the lesson card beside it, in CSS pixels (a node's name is
/// centred on it, so it hangs out sideways).
const FIT_MARGIN_BESIDE_CARD_PX: f32 = 30.0;

/// Where the graph goes when it is fitted: the canvas less the band the overlay takes, less
/// margins, in CSS pixels.
pub fn fit_rect(area: &CanvasArea) -> Rect {
    let mut room = area.rect.inflate(-FIT_MARGIN_PX);
    if let Some(overlay) = area.overlay
        && overlay.max.y > area.rect.min.y
    {
        room.min.y = room.min.y.max(overlay.max.y + FIT_MARGIN_BELOW_OVERLAY_PX);
    }
    // The lesson card stands at the right: the graph goes to its left when that leaves a fair
    // share of the canvas, else below it.
    if let Some(card) = area.card
        && card.min.x < room.max.x
        && card.max.y > room.min.y
        && card.min.y < room.max.y
    {
        let left = card.min.x - FIT_MARGIN_BESIDE_CARD_PX;
        if left - room.min.x >= 0.4 * room.width() {
            room.max.x = room.max.x.min(left);
        } else {
            room.min.y = room.min.y.max(card.max.y + FIT_MARGIN_BELOW_OVERLAY_PX);
        }
    }
    // A tiny window still gets a (small) room rather than a negative one.
    if room.width() < 50.0 || room.height() < 50.0 {
        room = Rect::from_center_size(room.center(), room.size().max(Vec2::splat(50.0)));
    }
    room
}

impl CameraRig {
    /// The CSS pixel of `area` where this rig shows world point `world` (see `place_graph_camera`).
    pub fn world_to_px(&self, area: &CanvasArea, world: Vec2) -> Vec2 {
        let d = (world - self.center_world) / self.world_per_px;
        area.rect.center() + Vec2::new(d.x, -d.y)
    }

    /// The world point this rig shows at CSS pixel `px` of `area`.
    pub fn px_to_world(&self, area: &CanvasArea, px: Vec2) -> Vec2 {
        let d = (px - area.rect.center()) * self.world_per_px;
        self.center_world + Vec2::new(d.x, -d.y)
    }
}

/// The zoom (world units per CSS pixel, never magnifying past 1:1) and camera centre that show
/// `bounds` (world) inside `fit_rect(area)`.
pub fn fit_view(bounds: Rect, area: &CanvasArea) -> (f32, Vec2) {
    let room = fit_rect(area);
    let needed = bounds.size() / room.size();
    let zoom = needed.x.max(needed.y).clamp(1.0, MAX_WORLD_PER_PX);
    // The camera centre sits at the canvas centre: shift it so the bounds' centre lands at the
    // room's centre instead.
    let offset_px = room.center() - area.rect.center();
    (
        zoom,
        bounds.center() - Vec2::new(offset_px.x, -offset_px.y) * zoom,
    )
}

pub(super) fn spawn_graph_camera(mut commands: Commands) {
    commands.spawn((
        Camera2d,
        GraphCamera,
        MeshPickingCamera,
        render_quality::initial_msaa(),
    ));
}

/// Gives the camera the MSAA the render quality decided (also to a camera spawned after the
/// decision).
pub(super) fn follow_render_quality_msaa(
    quality: Option<Res<RenderQuality>>,
    mut cameras: Query<&mut Msaa, With<GraphCamera>>,
) {
    let Some(quality) = quality else { return };
    let msaa = quality.msaa();
    for mut camera_msaa in &mut cameras {
        if *camera_msaa != msaa {
            *camera_msaa = msaa;
        }
    }
}

/// Places the camera so that `center_world` sits at the centre of the canvas area.
pub(super) fn place_graph_camera(
    rig: Res<CameraRig>,
    area: Res<CanvasArea>,
    window: Query<&Window, With<PrimaryWindow>>,
    mut camera: Query<(&mut Transform, &mut Projection), With<GraphCamera>>,
) {
    let Ok(window) = window.single() else { return };
    let Ok((mut transform, mut projection)) = camera.single_mut() else {
        return;
    };
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
    let over_canvas = window
        .single()
        .ok()
        .and_then(Window::cursor_position)
        .is_some_and(|p| area.rect.contains(p));
    let pan_button = buttons.pressed(MouseButton::Right) || buttons.pressed(MouseButton::Middle);
    if !pan_button {
        *panning = false;
    } else if buttons.just_pressed(MouseButton::Right) || buttons.just_pressed(MouseButton::Middle)
    {
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
        let zoomed =
            (rig.world_per_px * 0.9_f32.powf(lines)).clamp(MIN_WORLD_PER_PX, MAX_WORLD_PER_PX);
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
    let (target_zoom, target_center) = fit_view(bounds, &area);
    let ease = 1.0 - (-time.delta_secs() * 3.0).exp();
    let zoom = rig.world_per_px + (target_zoom - rig.world_per_px) * ease;
    let center = rig.center_world.lerp(target_center, ease);
    if (zoom - rig.world_per_px).abs() > 1e-4 || center.distance_squared(rig.center_world) > 1e-4 {
        rig.world_per_px = zoom;
        rig.center_world = center;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fitted, every node centre lands inside the room below the overlay (so, with the margin, no
    /// node disc reaches the overlay), whatever the graph's shape and the overlay's height.
    #[test]
    fn fit_keeps_the_graph_below_the_overlay() {
        let canvas = Rect::new(300.0, 30.0, 950.0, 570.0);
        for overlay_bottom in [None, Some(90.0), Some(200.0)] {
            let area = CanvasArea {
                rect: canvas,
                overlay: overlay_bottom.map(|y| Rect::new(312.0, 38.0, 800.0, y)),
                card: None,
            };
            for bounds in [
                Rect::new(-300.0, -200.0, 300.0, 220.0),
                Rect::new(-40.0, -10.0, 60.0, 10.0),
                Rect::new(100.0, 400.0, 2000.0, 900.0),
                Rect::new(-10.0, -900.0, 10.0, 900.0),
            ] {
                let (world_per_px, center_world) = fit_view(bounds, &area);
                let rig = CameraRig {
                    center_world,
                    world_per_px,
                    auto_fit: true,
                };
                let room = fit_rect(&area);
                for corner in [
                    bounds.min,
                    bounds.max,
                    Vec2::new(bounds.min.x, bounds.max.y),
                    Vec2::new(bounds.max.x, bounds.min.y),
                ] {
                    let px = rig.world_to_px(&area, corner);
                    assert!(
                        room.inflate(0.01).contains(px),
                        "{bounds:?} corner {corner} at {px}, room {room:?}"
                    );
                    if let Some(y) = overlay_bottom {
                        assert!(
                            px.y >= y + FIT_MARGIN_BELOW_OVERLAY_PX - 0.01,
                            "{bounds:?}: {px} under the overlay ending at {y}"
                        );
                    }
                    assert!(rig.px_to_world(&area, px).distance(corner) < 0.01);
                }
            }
        }
    }

    /// With a lesson card at the right, every node lands left of it on a wide canvas, and below
    /// it on a narrow one, and the room never turns inside out.
    #[test]
    fn fit_keeps_the_graph_clear_of_the_lesson_card() {
        let bounds = Rect::new(-300.0, -200.0, 300.0, 220.0);
        // Wide canvas, card ~42 % of it: the graph goes to its left.
        let canvas = Rect::new(0.0, 40.0, 1280.0, 560.0);
        let card = Rect::new(740.0, 90.0, 1270.0, 420.0);
        let area = CanvasArea {
            rect: canvas,
            overlay: None,
            card: Some(card),
        };
        let room = fit_rect(&area);
        assert!(room.max.x <= card.min.x - FIT_MARGIN_BESIDE_CARD_PX + 0.01);
        assert!(room.width() >= 0.4 * (canvas.width() - 2.0 * FIT_MARGIN_PX));
        let (world_per_px, center_world) = fit_view(bounds, &area);
        let rig = CameraRig {
            center_world,
            world_per_px,
            auto_fit: true,
        };
        for corner in [bounds.min, bounds.max] {
            let px = rig.world_to_px(&area, corner);
            assert!(
                px.x < card.min.x,
                "{corner} at {px} is under the card {card:?}"
            );
        }
        // Narrow canvas where the card takes most of the width: the graph goes below it.
        let narrow = CanvasArea {
            rect: Rect::new(0.0, 40.0, 600.0, 760.0),
            overlay: None,
            card: Some(Rect::new(150.0, 90.0, 590.0, 300.0)),
        };
        let room = fit_rect(&narrow);
        assert!(room.min.y >= 300.0 + FIT_MARGIN_BELOW_OVERLAY_PX - 0.01);
        assert!(room.width() > 0.0 && room.height() > 0.0);
        // A card below the room (folded away or off the canvas) changes nothing.
        let beside = CanvasArea {
            card: Some(Rect::new(740.0, 560.0, 1270.0, 600.0)),
            ..area
        };
        let plain = CanvasArea { card: None, ..area };
        assert_eq!(fit_rect(&beside), fit_rect(&plain));
    }
}
