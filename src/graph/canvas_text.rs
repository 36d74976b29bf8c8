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
use super::labels::{LabelStyle, NamedNodes, RateLabels, label_text, name_rect, name_rect_above};
use super::model::GraphNode;
use crate::supervisor::ProcessView;
use crate::theme::Theme;
use crate::ui_state::{CanvasArea, CssPerPoint};

/// What the kill zone's words look like this frame (its colour follows a drag over it).
#[derive(Resource, Debug, Clone, Copy, Default)]
pub struct KillZoneWords {
    pub color: Color,
}

/// A process's name on the canvas: "name (pid)" ([`label_text`]).
pub fn node_label(node: &GraphNode, view: &ProcessView) -> String {
    label_text(&view.name, node.pid.0)
}

/// The sizes the label plan works with, from the theme and the zoom.
pub fn label_style(theme: &Theme, world_per_px: f32) -> LabelStyle {
    LabelStyle {
        font_px: theme.label_font_size,
        ring_width: theme.ring_width,
        world_per_px,
    }
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
    let css = CssPerPoint::of(ctx, window.single().ok());
    let scale = css.0;
    let to_points = |p: Vec2| css.to_points(p);
    let world_to_points = |world: Vec2| to_points(rig.world_to_px(&area, world));
    let canvas = css.rect_to_points(area.rect);
    // Below every egui window and panel; the clip keeps the words on the canvas.
    let painter = ctx
        .layer_painter(egui::LayerId::new(
            egui::Order::Background,
            egui::Id::new("canvas_text"),
        ))
        .with_clip_rect(canvas);
    let font = egui::FontId::monospace(theme.label_font_size / scale);
    let text = theme.text.egui();
    let style = label_style(&theme, rig.world_per_px);
    // Inside a disc, the words take the background's colour: every disc is light on the dark
    // canvas, in both themes.
    let inside_text = theme.background.egui();
    let line = theme.label_font_size * 1.2 / scale;
    for (node, transform, view) in &nodes {
        let (centre, radius) = (
            transform.translation.truncate(),
            node.radius.max(1.0) * transform.scale.x,
        );
        if let Some(inside) = named.inside(node.pid.0) {
            // No room beside the disc: what fits inside it, centred, in the size that fits (see
            // `Inside::fitting`).
            let lines = inside.what.lines(&view.name, node.pid.0);
            let middle = world_to_points(centre);
            let first = -0.5 * (lines.len() as f32 - 1.0);
            let inside_font = egui::FontId::monospace(inside.font_px / scale);
            let inside_line = inside.font_px * 1.2 / scale;
            for (i, words) in lines.into_iter().enumerate() {
                painter.text(
                    middle + egui::vec2(0.0, (first + i as f32) * inside_line),
                    egui::Align2::CENTER_CENTER,
                    words,
                    inside_font.clone(),
                    inside_text,
                );
            }
            continue;
        }
        if !named.contains(node.pid.0) {
            continue;
        }
        // In the box the plan gave the name: below the disc, or above it where there was no
        // room below.
        let name = node_label(node, view);
        let place = if named.is_above(node.pid.0) {
            name_rect_above
        } else {
            name_rect
        };
        painter.text(
            world_to_points(place(centre, radius, name.len(), &style).center()),
            egui::Align2::CENTER_CENTER,
            name,
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
