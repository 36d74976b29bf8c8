//! The canvas's words: process names, the rates on busy edges and the kill zone's "drop here to
//! kill", painted with egui over the graph and clipped to the canvas, at the places the graph's
//! systems planned (world units, see [`super::labels`]). egui already draws the panels, so
//! painting the words with it keeps Bevy's text stack (about a tenth of the app's code) out of
//! the download, and their size on screen is the theme's whatever the zoom.

use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use bevy_egui::{EguiContexts, egui};

use super::camera::CameraRig;
use super::interaction::kill_zone_rect;
use super::labels::{NamedNodes, RateLabels};
use super::model::GraphNode;
use crate::supervisor::ProcessView;
use crate::theme::Theme;
use crate::ui_state::CanvasArea;

/// What the kill zone's words look like this frame (its colour follows a drag over it).
#[derive(Resource, Debug, Clone, Copy, Default)]
pub struct KillZoneWords {
    pub color: Color,
}

/// A process's name on the canvas: "name (pid)".
pub fn node_label(node: &GraphNode, view: &ProcessView) -> String {
    format!("{} ({})", view.name, node.pid.0)
}

/// How far below (or above) its disc's centre a node's name starts, in world units: the disc,
/// its ring and a 4 px gap (labels::name_rect_above mirrors the box above).
pub fn name_gap(radius: f32, theme: &Theme, world_per_px: f32) -> f32 {
    radius + theme.ring_width + 4.0 * world_per_px
}

#[allow(clippy::too_many_arguments)]
pub(super) fn paint_canvas_text(
    mut contexts: EguiContexts,
    nodes: Query<(&GraphNode, &Transform, &ProcessView)>,
    (named, rates): (Res<NamedNodes>, Res<RateLabels>),
    kill_zone: Res<KillZoneWords>,
    (rig, area, theme): (Res<CameraRig>, Res<CanvasArea>, Res<Theme>),
    window: Query<&Window, With<PrimaryWindow>>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    // CSS pixels to egui points.
    let scale = window
        .single()
        .map_or(1.0, |w| ctx.pixels_per_point() / w.scale_factor());
    let to_points = |css: Vec2| egui::pos2(css.x / scale, css.y / scale);
    let world_to_points = |world: Vec2| to_points(rig.world_to_px(&area, world));
    let canvas = egui::Rect::from_min_max(to_points(area.rect.min), to_points(area.rect.max));
    // Below every egui window and panel; the clip keeps the words on the canvas.
    let painter = ctx
        .layer_painter(egui::LayerId::new(
            egui::Order::Background,
            egui::Id::new("canvas_text"),
        ))
        .with_clip_rect(canvas);
    let font = egui::FontId::monospace(theme.label_font_size / scale);
    let text = theme.text.egui();
    for (node, transform, view) in &nodes {
        if !named.contains(node.pid.0) {
            continue;
        }
        let centre = transform.translation.truncate();
        let gap = name_gap(
            node.radius.max(1.0) * transform.scale.x,
            &theme,
            rig.world_per_px,
        );
        // The name's top edge: below the disc, or above it where the plan found no room below.
        let top = if named.is_above(node.pid.0) {
            centre.y + gap + theme.label_font_size * 1.3 * rig.world_per_px
        } else {
            centre.y - gap
        };
        painter.text(
            world_to_points(Vec2::new(centre.x, top)),
            egui::Align2::CENTER_TOP,
            node_label(node, view),
            font.clone(),
            text,
        );
    }
    let rate_font = egui::FontId::monospace(theme.label_font_size * 0.9 / scale);
    for label in &rates.0 {
        painter.text(
            world_to_points(label.rect.center()),
            egui::Align2::CENTER_CENTER,
            &label.text,
            rate_font.clone(),
            text,
        );
    }
    let zone = kill_zone_rect(area.rect, theme.kill_zone_size_px);
    let [r, g, b, a] = kill_zone.color.to_srgba().to_u8_array();
    let color = egui::Color32::from_rgba_unmultiplied(r, g, b, a);
    let line = theme.label_font_size * 1.2 / scale;
    for (words, dy) in [("drop here", -0.5), ("to kill", 0.5)] {
        painter.text(
            to_points(zone.center()) + egui::vec2(0.0, dy * line),
            egui::Align2::CENTER_CENTER,
            words,
            font.clone(),
            color,
        );
    }
    Ok(())
}
