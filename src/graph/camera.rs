//! The canvas camera: the part of the window not covered by panels shows the graph, centred on
//! `CameraRig::center_world`; the mouse wheel zooms, a right- or middle-button drag pans (both
//! ignored while the pointer is over an egui panel).
//!
//! Two cameras share the window's image. The graph camera (order 0) clears it to the panels'
//! colour and draws the graph only inside the canvas area (its viewport), on a backdrop quad of
//! the theme's background colour (with reduced effects, on a software renderer, the whole window
//! is cleared to the background colour instead and there is no backdrop: see
//! [`follow_theme_and_quality`]). The window camera (order 1) draws no entities: egui paints the
//! panels with it over the whole window, and it alone writes the image to the window (the graph
//! camera's output is skipped, so the image is copied once). egui does not fill its panels (see
//! `Theme::egui_visuals`): on a software renderer every filled pixel is paid for, blended, and the
//! panels' fills were about 70 % of the window in every frame.

use bevy::camera::visibility::RenderLayers;
use bevy::camera::{CameraOutputMode, ClearColorConfig, Viewport};
use bevy::input::mouse::{AccumulatedMouseMotion, AccumulatedMouseScroll, MouseScrollUnit};
use bevy::picking::mesh_picking::MeshPickingCamera;
use bevy::prelude::*;
use bevy::render::view::Msaa;
use bevy::window::PrimaryWindow;

use crate::render_quality::{self, RenderQuality};
use crate::theme::Theme;
use crate::ui_state::CanvasArea;

/// Marks the one camera that draws the graph.
#[derive(Component, Debug)]
pub struct GraphCamera;

/// Marks the camera egui draws the panels with, over the whole window, after the graph.
#[derive(Component, Debug)]
pub struct WindowCamera;

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

/// The canvas's backdrop: a quad of the theme's background colour filling the camera's viewport
/// (the clear colour is the panels'). Opaque and behind everything, never picked.
#[derive(Component, Debug)]
pub struct CanvasBackdrop;

/// The backdrop's depth: behind the edges and nodes, inside the 2D camera's range.
const Z_BACKDROP: f32 = -500.0;

pub(super) fn spawn_graph_camera(
    mut commands: Commands,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<ColorMaterial>>,
    theme: Res<Theme>,
) {
    commands.spawn((
        Camera2d,
        Camera {
            order: 0,
            // The window camera, drawn after it on the same image, writes it to the window.
            output_mode: CameraOutputMode::Skip,
            ..default()
        },
        GraphCamera,
        MeshPickingCamera,
        render_quality::initial_msaa(),
    ));
    commands.spawn((
        Camera2d,
        Camera {
            order: 1,
            clear_color: ClearColorConfig::None,
            ..default()
        },
        // No entity is drawn by it (the graph's meshes are on layer 0): only egui.
        RenderLayers::none(),
        WindowCamera,
        bevy_egui::PrimaryEguiContext,
        // The two cameras share one image only if they agree on MSAA.
        render_quality::initial_msaa(),
    ));
    commands.spawn((
        CanvasBackdrop,
        Mesh2d(meshes.add(Rectangle::new(1.0, 1.0))),
        MeshMaterial2d(materials.add(backdrop_material(&theme))),
        Transform::from_xyz(0.0, 0.0, Z_BACKDROP),
        Visibility::Inherited,
    ));
}

/// The window's colours, from the theme and the render quality. With full effects the canvas is
/// the theme's background on the backdrop and the rest of the window (the panels) is cleared to
/// the panels' colour. With reduced effects (a software renderer) the backdrop is not drawn: the
/// whole window is cleared to the background colour, panels included, and the panels stand apart
/// by their separator lines only. The backdrop is a quad as large as the canvas, and a software
/// renderer pays for every pixel of it (about a seventh of the empty page's frame).
pub(super) fn follow_theme_and_quality(
    theme: Res<Theme>,
    quality: Option<Res<RenderQuality>>,
    clear: Option<ResMut<ClearColor>>,
    mut backdrop: Query<(&MeshMaterial2d<ColorMaterial>, &mut Visibility), With<CanvasBackdrop>>,
    mut materials: ResMut<Assets<ColorMaterial>>,
) {
    let flat = quality.is_some_and(|q| q.reduced);
    let clear_to = if flat {
        theme.background
    } else {
        theme.panel_fill
    };
    if let Some(mut clear) = clear
        && clear.0 != clear_to.bevy()
    {
        clear.0 = clear_to.bevy();
    }
    let shown = if flat {
        Visibility::Hidden
    } else {
        Visibility::Inherited
    };
    let material = backdrop_material(&theme);
    for (handle, mut visibility) in &mut backdrop {
        if *visibility != shown {
            *visibility = shown;
        }
        if materials
            .get(&handle.0)
            .is_some_and(|m| m.color != material.color)
            && let Some(mut m) = materials.get_mut(&handle.0)
        {
            *m = material.clone();
        }
    }
}

/// The backdrop's material: the theme's background, opaque (so it is drawn without blending).
fn backdrop_material(theme: &Theme) -> ColorMaterial {
    ColorMaterial::from(theme.background.bevy().with_alpha(1.0))
}

/// The canvas area in the window's physical pixels, as the camera's viewport: rounded to whole
/// pixels, kept inside the window and at least one pixel wide and high. `None` for a window of
/// no size (nothing is drawn then anyway).
pub fn canvas_viewport(area: Rect, scale_factor: f32, window_physical: UVec2) -> Option<Viewport> {
    if window_physical.x == 0 || window_physical.y == 0 {
        return None;
    }
    let limit = window_physical.as_vec2();
    let min = (area.min * scale_factor)
        .round()
        .clamp(Vec2::ZERO, limit - 1.0);
    let max = (area.max * scale_factor)
        .round()
        .clamp(min + 1.0, limit.max(min + 1.0));
    Some(Viewport {
        physical_position: min.as_uvec2(),
        physical_size: (max - min).as_uvec2(),
        ..default()
    })
}

/// The graph camera and the window camera.
type OurCameras = Or<(With<GraphCamera>, With<WindowCamera>)>;

/// Gives both cameras the MSAA the render quality decided (also to a camera spawned after the
/// decision); they share the window's image only with the same MSAA.
pub(super) fn follow_render_quality_msaa(
    quality: Option<Res<RenderQuality>>,
    mut cameras: Query<&mut Msaa, OurCameras>,
) {
    let Some(quality) = quality else { return };
    let msaa = quality.msaa();
    for mut camera_msaa in &mut cameras {
        if *camera_msaa != msaa {
            *camera_msaa = msaa;
        }
    }
}

/// Gives the camera the canvas area as its viewport, places it so that `center_world` sits at the
/// centre of the canvas area, and stretches the backdrop over the viewport.
pub(super) fn place_graph_camera(
    rig: Res<CameraRig>,
    area: Res<CanvasArea>,
    window: Query<&Window, With<PrimaryWindow>>,
    mut camera: Query<(&mut Camera, &mut Transform, &mut Projection), With<GraphCamera>>,
    mut backdrop: Query<&mut Transform, (With<CanvasBackdrop>, Without<GraphCamera>)>,
) {
    let Ok(window) = window.single() else { return };
    let Ok((mut camera, mut transform, mut projection)) = camera.single_mut() else {
        return;
    };
    let scale_factor = window.scale_factor();
    let viewport = canvas_viewport(area.rect, scale_factor, window.physical_size());
    // `Viewport` has no `PartialEq`: compare the rectangles.
    let rect = |v: &Option<Viewport>| v.as_ref().map(|v| (v.physical_position, v.physical_size));
    if rect(&camera.viewport) != rect(&viewport) {
        camera.viewport = viewport;
    }
    // The camera looks at the centre of its viewport (the whole window without one); the
    // viewport is the canvas area rounded to physical pixels, so the offset is under a pixel.
    let (view_center, view_size) = match &camera.viewport {
        Some(v) => (
            (v.physical_position.as_vec2() + v.physical_size.as_vec2() * 0.5) / scale_factor,
            v.physical_size.as_vec2() / scale_factor,
        ),
        None => {
            let size = Vec2::new(window.width(), window.height());
            (size * 0.5, size)
        }
    };
    let offset_px = area.rect.center() - view_center;
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
    // A pixel more on each side, so no sliver of the clear colour shows at the viewport's edges.
    let backdrop_size = ((view_size + 2.0) * rig.world_per_px).extend(1.0);
    let backdrop_at = translation.truncate().extend(Z_BACKDROP);
    for mut backdrop in &mut backdrop {
        if backdrop.translation != backdrop_at || backdrop.scale != backdrop_size {
            backdrop.translation = backdrop_at;
            backdrop.scale = backdrop_size;
        }
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

    /// The viewport is the canvas area in physical pixels, kept inside the window.
    #[test]
    fn the_viewport_is_the_canvas_area_inside_the_window() {
        let window = UVec2::new(2560, 1600);
        let v = canvas_viewport(Rect::new(300.2, 60.0, 950.0, 600.0), 2.0, window).unwrap();
        assert_eq!(v.physical_position, UVec2::new(600, 120));
        assert_eq!(v.physical_size, UVec2::new(1300, 1080));
        // Hanging off the window: cut at its edge.
        let v = canvas_viewport(Rect::new(-10.0, 700.0, 1400.0, 900.0), 2.0, window).unwrap();
        assert_eq!(v.physical_position, UVec2::new(0, 1400));
        assert_eq!(v.physical_size, UVec2::new(2560, 200));
        // Squeezed to nothing (or inside out): still one pixel, inside the window.
        let v = canvas_viewport(Rect::new(1279.9, 10.0, 1200.0, 10.0), 2.0, window).unwrap();
        assert!(v.physical_size.x >= 1 && v.physical_size.y >= 1);
        assert!(v.physical_position.x + v.physical_size.x <= window.x);
        assert!(canvas_viewport(Rect::new(0.0, 0.0, 10.0, 10.0), 1.0, UVec2::ZERO).is_none());
    }

    fn camera_app(area: Rect) -> App {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, AssetPlugin::default()))
            .init_asset::<Mesh>()
            .init_asset::<ColorMaterial>()
            .init_resource::<Theme>()
            .init_resource::<ClearColor>()
            .insert_resource(CameraRig {
                center_world: Vec2::new(40.0, -25.0),
                world_per_px: 1.5,
                auto_fit: false,
            })
            .insert_resource(CanvasArea {
                rect: area,
                overlay: None,
                card: None,
            })
            .add_systems(Startup, spawn_graph_camera)
            .add_systems(Update, (place_graph_camera, follow_theme_and_quality));
        app.world_mut().spawn((
            Window {
                resolution: bevy::window::WindowResolution::new(2560, 1600)
                    .with_scale_factor_override(2.0),
                ..default()
            },
            PrimaryWindow,
        ));
        app
    }

    /// The graph camera draws only into the canvas area (so nothing of the graph shows under the
    /// panels, which egui no longer fills), centred on the rig's point, and the backdrop of the
    /// theme's background colour covers exactly what it sees, following a theme change; with
    /// reduced effects the window is one colour and the backdrop is not drawn.
    #[test]
    fn the_camera_draws_into_the_canvas_area_on_the_backdrop() {
        let area = Rect::new(300.0, 60.0, 950.0, 600.0);
        let mut app = camera_app(area);
        app.update();
        let world = app.world_mut();
        let (camera, transform) = world
            .query_filtered::<(&Camera, &Transform), With<GraphCamera>>()
            .single(world)
            .unwrap();
        let viewport = camera.viewport.clone().expect("a viewport");
        assert_eq!(viewport.physical_position, UVec2::new(600, 120));
        assert_eq!(viewport.physical_size, UVec2::new(1300, 1080));
        assert!(matches!(camera.output_mode, CameraOutputMode::Skip));
        let graph_order = camera.order;
        assert_eq!(transform.translation.truncate(), Vec2::new(40.0, -25.0));
        let camera_at = transform.translation.truncate();
        // egui's camera comes after it over the whole window, draws no entity and clears nothing.
        let (window_camera, layers) = world
            .query_filtered::<(&Camera, &RenderLayers), (
                With<WindowCamera>,
                With<bevy_egui::PrimaryEguiContext>,
            )>()
            .single(world)
            .unwrap();
        assert!(window_camera.viewport.is_none() && window_camera.order > graph_order);
        assert!(matches!(window_camera.clear_color, ClearColorConfig::None));
        assert!(!layers.intersects(&RenderLayers::default()));
        let (backdrop, material) = world
            .query_filtered::<(&Transform, &MeshMaterial2d<ColorMaterial>), With<CanvasBackdrop>>()
            .single(world)
            .unwrap();
        // The canvas is 650 x 540 CSS px at 1.5 world units each, plus a pixel on every side.
        assert_eq!(backdrop.translation.truncate(), camera_at);
        assert_eq!(backdrop.scale.truncate(), Vec2::new(652.0, 542.0) * 1.5);
        assert!(backdrop.translation.z < 0.0, "behind the graph");
        let handle = material.0.clone();
        // What the window shows: the clear colour, and the backdrop's colour if it is drawn.
        let look = |app: &mut App| {
            let world = app.world_mut();
            let visibility = *world
                .query_filtered::<&Visibility, With<CanvasBackdrop>>()
                .single(world)
                .unwrap();
            let materials = world.resource::<Assets<ColorMaterial>>();
            let m = materials.get(&handle).unwrap();
            let backdrop = (visibility != Visibility::Hidden).then_some((m.color, m.alpha_mode));
            (world.resource::<ClearColor>().0, backdrop)
        };
        // Full effects (no quality decided, as on a GPU): panels' colour around the canvas's.
        let theme = Theme::default();
        let opaque = bevy::sprite_render::AlphaMode2d::Opaque;
        assert_eq!(
            look(&mut app),
            (
                theme.panel_fill.bevy(),
                Some((theme.background.bevy(), opaque))
            )
        );
        *app.world_mut().resource_mut::<Theme>() = Theme::projector();
        app.update();
        let projector = Theme::projector();
        assert_eq!(
            look(&mut app),
            (
                projector.panel_fill.bevy(),
                Some((projector.background.bevy(), opaque))
            )
        );
        // Reduced effects (a software renderer): one colour, the background, and no backdrop.
        app.insert_resource(RenderQuality::default());
        assert!(app.world().resource::<RenderQuality>().reduced);
        app.update();
        assert_eq!(look(&mut app), (projector.background.bevy(), None));
        // The canvas area moves (a panel resized): the viewport and the backdrop follow.
        app.world_mut().resource_mut::<CanvasArea>().rect = Rect::new(0.0, 60.0, 1280.0, 600.0);
        app.update();
        let world = app.world_mut();
        let camera = world
            .query_filtered::<&Camera, With<GraphCamera>>()
            .single(world)
            .unwrap();
        let viewport = camera.viewport.clone().expect("a viewport");
        assert_eq!(viewport.physical_position, UVec2::new(0, 120));
        assert_eq!(viewport.physical_size, UVec2::new(2560, 1080));
    }
}
