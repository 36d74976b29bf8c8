//! The capability view: a toggle that draws one labelled edge for every capability a process
//! holds to an endpoint or to a process (holder → owner, labelled with its rights, `-W-`). The
//! edges are read from the kernel every frame, so one appears when a capability is granted or
//! transferred and vanishes when it is revoked, deleted or its object dies.
//!
//! [`capability_edges`] is pure (kernel in, edges out) and unit-tested; the drawing is an egui
//! layer clipped to the canvas, placed with the graph's camera. `window.supervisor.
//! get_capability_view_json()` returns `{ shown, edges: [{holder, owner, rights, object}] }`.

use std::sync::{Arc, Mutex};

use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};
use serde::Serialize;

use crate::graph::{CameraRig, GraphModel};
use crate::kernel::{Kernel, ObjectRef, rights_label};
use crate::supervisor::SupervisorHandle;
use crate::theme::Theme;
use crate::ui_state::{CanvasArea, CssPerPoint};

/// Whether the capability view is on (the canvas toolbar's toggle, a lesson, a share link).
#[derive(Resource, Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CapabilityView {
    pub shown: bool,
}

/// One capability drawn as an edge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CapEdge {
    /// The process holding the capability.
    pub holder: u32,
    /// The endpoint's owner, or the process the capability names.
    pub owner: u32,
    /// `RWG` letters, `-` for a missing right.
    pub rights: String,
    /// "endpoint 3" or "process 5".
    pub object: String,
}

/// Every live (not stale) capability to an endpoint or a process, holder → owner, in pid order.
/// A process's capabilities to its own endpoints are left out (they would be loops).
pub fn capability_edges(kernel: &Kernel) -> Vec<CapEdge> {
    let owners: std::collections::BTreeMap<u32, u32> = kernel
        .endpoints()
        .iter()
        .map(|e| (e.id.0, e.owner.0))
        .collect();
    let mut edges = Vec::new();
    for (pid, process) in kernel.processes() {
        if process.state.is_zombie() {
            continue;
        }
        for cap in kernel.capabilities(*pid) {
            if cap.stale {
                continue;
            }
            let owner = match cap.object {
                ObjectRef::Endpoint(e) => owners.get(&e.0).copied(),
                ObjectRef::Process(p) => Some(p.0),
                ObjectRef::Console | ObjectRef::ProcessTable => None,
            };
            if let Some(owner) = owner.filter(|o| *o != pid.0) {
                edges.push(CapEdge {
                    holder: pid.0,
                    owner,
                    rights: rights_label(cap.rights).to_string(),
                    object: cap.object.to_string(),
                });
            }
        }
    }
    edges.sort_by(|a, b| (a.holder, a.owner, &a.rights).cmp(&(b.holder, b.owner, &b.rights)));
    edges
}

/// The edges as last drawn, for `window.supervisor` (read between frames).
#[derive(Resource, Debug, Clone, Default)]
pub struct SharedCapabilityView(Arc<Mutex<String>>);

impl SharedCapabilityView {
    pub fn to_json(&self) -> String {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

pub fn capability_view_plugin(app: &mut App) {
    app.init_resource::<CapabilityView>()
        .init_resource::<SharedCapabilityView>()
        .add_systems(Startup, expose_capability_view)
        .add_systems(EguiPrimaryContextPass, draw_capability_view);
}

fn expose_capability_view(shared: Res<SharedCapabilityView>) {
    let shared = shared.clone();
    if let Err(e) = crate::web::expose_json("get_capability_view_json", move || shared.to_json()) {
        error!("cannot expose get_capability_view_json: {e:?}");
    }
}

#[allow(clippy::too_many_arguments)]
fn draw_capability_view(
    mut contexts: EguiContexts,
    view: Res<CapabilityView>,
    supervisor: Res<SupervisorHandle>,
    model: Res<GraphModel>,
    rig: Res<CameraRig>,
    area: Res<CanvasArea>,
    theme: Res<Theme>,
    window: Query<&Window, With<PrimaryWindow>>,
    shared: Res<SharedCapabilityView>,
) -> Result {
    let edges = if view.shown {
        capability_edges(supervisor.lock().kernel())
    } else {
        Vec::new()
    };
    let json = serde_json::json!({ "shown": view.shown, "edges": edges }).to_string();
    *shared.0.lock().unwrap_or_else(|p| p.into_inner()) = json;
    if !view.shown {
        return Ok(());
    }
    let ctx = contexts.ctx_mut()?;
    let css = CssPerPoint::of(ctx, window.single().ok());
    let to_points = |p: Vec2| css.to_points(p);
    let canvas = css.rect_to_points(area.rect);
    let painter = ctx
        .layer_painter(egui::LayerId::new(
            egui::Order::Middle,
            egui::Id::new("capability_view"),
        ))
        .with_clip_rect(canvas);
    let color = theme.warning.egui();
    let font = egui::FontId::monospace(theme.label_font_size * 0.9);
    // Two capabilities between the same pair (both ways) are drawn side by side.
    for edge in &edges {
        let (Some(a), Some(b)) = (
            model.layout.position(edge.holder),
            model.layout.position(edge.owner),
        ) else {
            continue;
        };
        let (a, b) = (
            to_points(rig.world_to_px(&area, a)),
            to_points(rig.world_to_px(&area, b)),
        );
        let dir = (b - a).normalized();
        let side = egui::vec2(-dir.y, dir.x) * 6.0;
        let radius = theme.node_radius / rig.world_per_px / css.0 + 4.0;
        let (start, end) = (a + dir * radius + side, b - dir * radius + side);
        if (end - start).length() < 4.0 {
            continue;
        }
        painter.arrow(start, end - start, egui::Stroke::new(2.5, color));
        let mid = start + (end - start) * 0.5 + side * 2.0;
        let galley = painter.layout_no_wrap(edge.rights.clone(), font.clone(), color);
        let rect = egui::Align2::CENTER_CENTER.anchor_size(mid, galley.size());
        painter.rect_filled(rect.expand(2.0), 3.0, theme.background.egui());
        painter.galley(rect.min, galley, color);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use orbital_supervisor::testing::scripted_supervisor;

    #[test]
    fn edges_follow_grants_and_revokes() {
        let (mut sup, _guests, _time) = scripted_supervisor();
        sup.boot().unwrap();
        let receiver = sup.spawn_program("receiver").unwrap();
        let sender = sup.spawn_program("sender").unwrap();
        let rogue = sup.spawn_program("rogue").unwrap();
        let edges = capability_edges(sup.kernel());
        let find = |holder: u32| {
            edges
                .iter()
                .filter(|e| e.holder == holder && e.owner == receiver.0)
                .map(|e| e.rights.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(find(sender.0), ["-W-"]);
        assert_eq!(find(rogue.0), ["R--"]);
        // The receiver's death makes both capabilities stale: their edges vanish.
        sup.kill(receiver).unwrap();
        let edges = capability_edges(sup.kernel());
        assert!(
            edges.iter().all(|e| e.owner != receiver.0),
            "stale capabilities are not drawn: {edges:?}"
        );
    }
}
