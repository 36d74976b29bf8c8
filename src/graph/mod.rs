//! The process graph on the canvas: every process a node, every message a particle.
//!
//! Split as model / layout / drawing:
//! - [`GraphPlugin`] is the model: it follows kernel events and process entities, runs the layout
//!   and moves particles. It needs no renderer and is what the headless tests drive.
//! - [`layout`], [`traffic`] and [`labels`] are pure code (force layout, aggregation rule, where
//!   rate labels go), unit-tested.
//! - [`GraphDrawPlugin`] draws the model (meshes, labels, lines), owns the camera, picking, drag
//!   and the kill zone, and publishes [`CanvasLayout`] for browser tests.
//!
//! Selection, hover, toasts and the canvas area are read here and by the panels, so they live
//! below both, in [`crate::ui_state`]; render quality is read here and applied to the camera and
//! the particle cap.

pub mod labels;
pub mod layout;
pub mod traffic;

mod camera;
mod canvas_text;
mod draw;
mod interaction;
mod lines;
mod model;
mod node_glyph;
mod one_mesh;

pub use camera::{CameraRig, GraphCamera};
pub use draw::GraphDrawPlugin;
pub use interaction::{
    CanvasLabel, CanvasLayout, CanvasNode, CssRect, Dragging, NodeBody, SharedCanvasLayout,
    SyscallFlow, UiControl, UiSnapshot, kill_refusal, kill_zone_rect, request_kill,
};
pub use model::{
    EdgeKind, GraphEdges, GraphModel, GraphNode, GraphSettings, GraphSystems, NodeEffect,
    NodeEffectKind, Particle,
};

use bevy::prelude::*;

/// The graph model: nodes follow process entities, particles follow messages.
pub struct GraphPlugin;

impl Plugin for GraphPlugin {
    fn build(&self, app: &mut App) {
        model::build(app);
    }
}
