//! Which pointer presses belong to the egui panels and which to the canvas, decided at the
//! pointer's position *this* frame.
//!
//! bevy_egui's own capture (`capture_pointer_input`) writes its picking hit in `PostUpdate` from
//! where egui last saw the pointer; bevy_picking reads it in the next frame's `PreUpdate`, next to
//! the mesh hits computed at the pointer's new position. When the move and the press arrive in the
//! same frame (a quick click, or any click at a few frames per second), a pointer that was over a
//! panel a frame ago is still "over egui" and the press on a node is swallowed. Here the capture is
//! a picking backend of its own, run with the other backends on the pointer's current position:
//! over a panel (outside the free canvas area), over an egui window or popup drawn on top of the
//! canvas, or while egui is dragging a widget, egui gets the hit; over the free canvas it does not.
//! (The other half of a quick click is in `graph::interaction`: nodes are selected on the press.)

use bevy::picking::PickingSystems;
use bevy::picking::backend::{HitData, PointerHits};
use bevy::picking::pointer::{PointerId, PointerLocation};
use bevy::prelude::*;
use bevy_egui::{EguiContext, EguiContextSettings, EguiPickingOrder, PrimaryEguiContext};

use crate::ui_state::{self, CanvasArea};

pub fn pointer_capture_plugin(app: &mut App) {
    ui_state::ensure_ui_state(app);
    app.add_systems(
        PreUpdate,
        (
            disable_stale_egui_capture,
            capture_pointer_over_panels.in_set(PickingSystems::Backend),
        ),
    );
}

/// Turns off bevy_egui's capture, which decides from the previous frame's pointer (see the
/// module docs); [`capture_pointer_over_panels`] replaces it.
fn disable_stale_egui_capture(mut contexts: Query<&mut EguiContextSettings>) {
    for mut settings in &mut contexts {
        if settings.capture_pointer_input {
            settings.capture_pointer_input = false;
        }
    }
}

/// True if a pointer at `position_px` (CSS pixels) is egui's: outside the free canvas area (a
/// panel), over an egui window or popup drawn over the canvas, or while egui drags a widget.
pub fn egui_owns_pointer(
    position_px: Vec2,
    canvas: Rect,
    over_egui_window: bool,
    egui_dragging: bool,
) -> bool {
    egui_dragging || over_egui_window || !canvas.contains(position_px)
}

fn capture_pointer_over_panels(
    pointers: Query<(&PointerId, &PointerLocation)>,
    mut contexts: Query<(Entity, &mut EguiContext, &Camera), With<PrimaryEguiContext>>,
    area: Res<CanvasArea>,
    order: Option<Res<EguiPickingOrder>>,
    mut hits: MessageWriter<PointerHits>,
) {
    let Ok((entity, mut context, camera)) = contexts.single_mut() else {
        return;
    };
    let ctx = context.get_mut();
    let dragging = ctx.egui_is_using_pointer();
    let order = camera.order as f32 + order.map_or(0.6, |o| o.0);
    for (pointer, location) in &pointers {
        let Some(location) = &location.location else {
            continue;
        };
        let position = location.position;
        let over_window = ui_state::egui_window_at(ctx, position);
        if egui_owns_pointer(position, area.rect, over_window, dragging) {
            hits.write(PointerHits::new(
                *pointer,
                vec![(entity, HitData::new(entity, 0.0, None, None))],
                order,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canvas_keeps_the_pointer_unless_egui_is_on_top_or_dragging() {
        let canvas = Rect::new(300.0, 90.0, 1000.0, 600.0);
        let on_canvas = Vec2::new(640.0, 300.0);
        assert!(!egui_owns_pointer(on_canvas, canvas, false, false));
        assert!(egui_owns_pointer(on_canvas, canvas, true, false));
        assert!(egui_owns_pointer(on_canvas, canvas, false, true));
        for panel in [
            Vec2::new(100.0, 300.0),
            Vec2::new(640.0, 40.0),
            Vec2::new(640.0, 700.0),
        ] {
            assert!(egui_owns_pointer(panel, canvas, false, false), "{panel}");
        }
    }

    #[test]
    fn the_capture_system_initialises_without_conflicting_parameters() {
        assert!(crate::schedule_check::initialise_plugin_systems(pointer_capture_plugin) >= 2);
    }
}
