//! Direct manipulation: select, hover, drag, and the kill zone; plus [`CanvasLayout`], the
//! screen-space picture of the canvas that browser tests read through `window.supervisor`.

use bevy::prelude::*;
use orbital_kernel::ProcessId;
use serde::Serialize;

use super::camera::{CameraRig, GraphCamera};
use super::labels::{NamedNodes, RateLabels};
use super::model::{GraphModel, GraphNode};
use crate::supervisor::{ProcessView, SupervisorIntent};
use crate::theme::Theme;
use crate::ui_state::{CanvasArea, Hovered, Selection, Toasts};

/// A rectangle in CSS pixels (origin top-left of the page's canvas, y down).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct CssRect {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

impl CssRect {
    pub fn from_rect(rect: Rect) -> Self {
        Self {
            x: rect.min.x,
            y: rect.min.y,
            width: rect.width(),
            height: rect.height(),
        }
    }

    pub fn rect(&self) -> Rect {
        Rect::new(self.x, self.y, self.x + self.width, self.y + self.height)
    }

    pub fn contains(&self, point: Vec2) -> bool {
        self.rect().contains(point)
    }
}

/// One node as seen on screen.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CanvasNode {
    pub pid: u32,
    pub name: String,
    /// Centre in CSS pixels.
    pub x: f32,
    pub y: f32,
    /// Radius in CSS pixels.
    pub radius: f32,
    pub protected: bool,
    /// The last request the kernel denied this process, if any (e.g. an unsupported WASI call).
    pub denied: Option<String>,
    /// Its name label is drawn (names are shown where there is room for them).
    pub named: bool,
}

impl CanvasNode {
    /// Makes this entry describe `node` (entries are reused from frame to frame by position, not
    /// by pid, so every field is written; strings only when they changed).
    pub fn show(
        &mut self,
        node: &GraphNode,
        view: &ProcessView,
        screen: Vec2,
        radius: f32,
        named: bool,
    ) {
        self.pid = node.pid.0;
        if self.name != view.name {
            self.name.clone_from(&view.name);
        }
        (self.x, self.y, self.radius, self.protected) =
            (screen.x, screen.y, radius, view.protected);
        if self.denied != node.denied_reason {
            self.denied.clone_from(&node.denied_reason);
        }
        self.named = named;
    }
}

/// A busy edge's rate label as drawn (see `labels::place_rate_label`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CanvasLabel {
    pub from: u32,
    pub to: u32,
    /// "123/s".
    pub text: String,
    /// Where the label's text box is, in CSS pixels.
    pub rect: CssRect,
}

/// The canvas in CSS pixels: every node, the kill zone, the selection, and what the panels show
/// that a browser test needs (where the main controls are, the inspected pid, the scenario and
/// its error). Serialised by `window.supervisor.get_canvas_layout_json()`.
#[derive(Resource, Debug, Clone, Default, PartialEq, Serialize)]
pub struct CanvasLayout {
    pub nodes: Vec<CanvasNode>,
    /// The rate labels on busy edges (each clear of every node and of the other labels).
    pub labels: Vec<CanvasLabel>,
    pub kill_zone: CssRect,
    pub canvas: CssRect,
    pub selected: Option<u32>,
    pub hovered: Option<u32>,
    pub dragging: Option<u32>,
    /// Frames published so far: tests wait for the app to see an input by waiting for frames.
    pub frame: u64,
    pub ui: UiSnapshot,
}

/// What the egui panels drew this frame (written by the panels).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UiSnapshot {
    /// Named controls and where they are: "pause", "step", "speed:1/4x", "scenario_picker",
    /// "scenario:crowd" (only while the picker is open), ...
    pub controls: Vec<UiControl>,
    /// The pid whose details the inspector shows.
    pub inspector_pid: Option<u32>,
    /// Rows of monospace text the terminal's output area shows (0 while another tab is open).
    pub terminal_rows: u32,
    pub scenario: Option<String>,
    pub scenario_error: Option<String>,
    /// "full speed", "paused", "1/4x", "1/16x".
    pub speed: String,
    /// Messages currently shown as toasts.
    pub toasts: Vec<String>,
    pub help_visible: bool,
    pub render_status: String,
    /// "standard" or "projector" (the classroom theme).
    pub theme: String,
    /// The selected process's syscall flow, shown on the canvas in slow motion or while paused.
    pub syscall_flow: Option<SyscallFlow>,
    /// The syscall-flow box on the canvas (shown in slow motion or while paused, with or without
    /// a selected process), in CSS pixels.
    pub syscall_flow_box: Option<CssRect>,
    /// Everything drawn over the canvas's top-left corner (scenario title and the syscall-flow
    /// box), in CSS pixels: the graph is fitted below it.
    pub overlay: Option<CssRect>,
}

/// Where the selected process's current syscall is: "idle", "pending", "serviced" or "ready".
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyscallFlow {
    pub pid: u32,
    pub stage: String,
    /// The last serviced syscall, e.g. "SEND -> 0".
    pub last: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UiControl {
    pub name: String,
    pub rect: CssRect,
}

/// The last [`CanvasLayout`], shared with code outside the ECS (JavaScript calls between frames).
#[derive(Resource, Debug, Clone, Default)]
pub struct SharedCanvasLayout(pub std::sync::Arc<std::sync::Mutex<CanvasLayout>>);

impl SharedCanvasLayout {
    pub fn to_json(&self) -> String {
        let layout = self.0.lock().unwrap_or_else(|p| p.into_inner());
        serde_json::to_string(&*layout).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

/// The node being dragged, and whether it is over the kill zone right now.
#[derive(Resource, Debug, Default, Clone, PartialEq)]
pub struct Dragging {
    pub pid: Option<ProcessId>,
    pub over_kill_zone: bool,
    /// Where the node was when the drag began (it goes back there if a kill is refused).
    pub started_at_world: Option<Vec2>,
}

/// Where the kill zone sits: the bottom-right corner of the canvas area.
pub fn kill_zone_rect(area: Rect, size_px: Vec2) -> Rect {
    let margin = 16.0;
    let max = area.max - Vec2::splat(margin);
    Rect::from_corners(max - size_px, max)
}

/// Why a process may not be killed from the UI, or `None` if it may.
pub fn kill_refusal(pid: ProcessId, view: &ProcessView) -> Option<String> {
    if view.protected {
        let role = match view.name.as_str() {
            "init" => "it is PID 1, the parent of every process",
            "terminal" => "it is the console you type commands into",
            _ => "it is a system process",
        };
        return Some(format!(
            "{} (pid {}) is protected and cannot be killed: {role}.",
            view.name, pid.0
        ));
    }
    if view.state.is_zombie() {
        return Some(format!(
            "{} (pid {}) has already exited; dismiss it from the process list.",
            view.name, pid.0
        ));
    }
    None
}

/// Asks the supervisor to kill `pid`, or explains why not.
pub fn request_kill(
    pid: ProcessId,
    view: Option<&ProcessView>,
    intents: &mut MessageWriter<SupervisorIntent>,
    toasts: &mut Toasts,
) {
    match view.and_then(|v| kill_refusal(pid, v)) {
        Some(why) => toasts.push(why, true),
        None => {
            intents.write(SupervisorIntent::Kill { pid });
            let name = view.map_or("process", |v| v.name.as_str());
            toasts.push(format!("Killing {name} (pid {})", pid.0), false);
        }
    }
}

/// The world point under a screen position, through the graph camera.
fn pointer_world(
    camera: &Query<(&Camera, &GlobalTransform), With<GraphCamera>>,
    position_px: Vec2,
) -> Option<Vec2> {
    let (camera, transform) = camera.single().ok()?;
    camera.viewport_to_world_2d(transform, position_px).ok()
}

/// Selects on the press, not the click: bevy_picking sends `Click` to the entity hovered in the
/// *previous* frame, so a click whose move arrives in the same frame as the press (a quick click,
/// or any click at a few frames per second) would select what was under the pointer before it
/// moved, or nothing. The press goes to what is under the pointer now.
pub(super) fn on_node_press(
    press: On<Pointer<Press>>,
    bodies: Query<&NodeBody>,
    mut selection: ResMut<Selection>,
    area: Res<CanvasArea>,
) {
    // Panels are drawn over the canvas: a node under a panel is not clickable.
    if press.event.button != PointerButton::Primary
        || !on_canvas(&area, press.pointer_location.position)
    {
        return;
    }
    if let Ok(body) = bodies.get(press.entity) {
        selection.0 = Some(body.pid);
    }
}

pub(super) fn on_node_over(
    over: On<Pointer<Over>>,
    bodies: Query<&NodeBody>,
    mut hovered: ResMut<Hovered>,
) {
    if let Ok(body) = bodies.get(over.entity) {
        hovered.0 = Some(body.pid);
    }
}

pub(super) fn on_node_out(
    out: On<Pointer<Out>>,
    bodies: Query<&NodeBody>,
    mut hovered: ResMut<Hovered>,
) {
    if let Ok(body) = bodies.get(out.entity)
        && hovered.0 == Some(body.pid)
    {
        hovered.0 = None;
    }
}

pub(super) fn on_node_drag(
    drag: On<Pointer<Drag>>,
    bodies: Query<&NodeBody>,
    camera: Query<(&Camera, &GlobalTransform), With<GraphCamera>>,
    mut model: ResMut<GraphModel>,
    mut dragging: ResMut<Dragging>,
    layout: Res<CanvasLayout>,
    area: Res<CanvasArea>,
) {
    if drag.event.button != PointerButton::Primary {
        return;
    }
    let Ok(body) = bodies.get(drag.entity) else {
        return;
    };
    if dragging.pid != Some(body.pid) && !on_canvas(&area, drag.pointer_location.position) {
        return;
    }
    let position_px = drag.pointer_location.position;
    if dragging.pid != Some(body.pid) {
        dragging.started_at_world = model.layout.position(body.pid.0);
    }
    if let Some(world) = pointer_world(&camera, position_px) {
        model.layout.pin(body.pid.0, world);
    }
    dragging.pid = Some(body.pid);
    dragging.over_kill_zone = layout.kill_zone.contains(position_px);
}

#[allow(clippy::too_many_arguments)]
pub(super) fn on_node_drag_end(
    end: On<Pointer<DragEnd>>,
    bodies: Query<&NodeBody>,
    views: Query<&ProcessView>,
    mut model: ResMut<GraphModel>,
    mut dragging: ResMut<Dragging>,
    layout: Res<CanvasLayout>,
    mut intents: MessageWriter<SupervisorIntent>,
    mut toasts: ResMut<Toasts>,
) {
    let Ok(body) = bodies.get(end.entity) else {
        return;
    };
    let started_at = std::mem::take(&mut *dragging).started_at_world;
    if end.event.button != PointerButton::Primary {
        return;
    }
    if layout.kill_zone.contains(end.pointer_location.position) {
        let view = views.get(body.owner).ok();
        let refused = view.is_some_and(|v| kill_refusal(body.pid, v).is_some());
        request_kill(body.pid, view, &mut intents, &mut toasts);
        if refused && let Some(start) = started_at {
            // Back where it came from, out of the kill zone.
            model.layout.pin(body.pid.0, start);
        }
    }
    // A dropped node keeps its new place; the layout only nudges it gently from there.
    model.layout.unpin(body.pid.0);
}

/// The clickable disc of a node (a child of the process entity).
#[derive(Component, Debug, Clone, Copy)]
pub struct NodeBody {
    pub pid: ProcessId,
    pub owner: Entity,
}

/// Drops the selection and hover when their process is gone.
pub(super) fn clear_departed_selection(
    mut selection: ResMut<Selection>,
    mut hovered: ResMut<Hovered>,
    nodes: Query<&GraphNode>,
) {
    let alive = |pid: ProcessId| nodes.iter().any(|n| n.pid == pid);
    if let Some(pid) = selection.0
        && !alive(pid)
    {
        selection.0 = None;
    }
    if let Some(pid) = hovered.0
        && !alive(pid)
    {
        hovered.0 = None;
    }
}

/// Recomputes [`CanvasLayout`] from the nodes and the camera, reusing its buffers.
#[allow(clippy::too_many_arguments)]
pub(super) fn publish_canvas_layout(
    mut layout: ResMut<CanvasLayout>,
    nodes: Query<(&GraphNode, &ProcessView, &GlobalTransform)>,
    camera: Query<(&Camera, &GlobalTransform), With<GraphCamera>>,
    area: Res<CanvasArea>,
    rig: Res<CameraRig>,
    theme: Res<Theme>,
    selection: Res<Selection>,
    dragging: Res<Dragging>,
    hovered: Res<Hovered>,
    shared: Res<SharedCanvasLayout>,
    (rate_labels, named): (Res<RateLabels>, Res<NamedNodes>),
) {
    let Ok((camera, camera_transform)) = camera.single() else {
        return;
    };
    let layout = &mut *layout;
    let mut count = 0;
    for (node, view, transform) in &nodes {
        let Ok(screen) = camera.world_to_viewport(camera_transform, transform.translation()) else {
            continue;
        };
        let radius = node.radius * transform.scale().x / rig.world_per_px;
        if count == layout.nodes.len() {
            layout.nodes.push(CanvasNode::default());
        }
        layout.nodes[count].show(node, view, screen, radius, named.contains(node.pid.0));
        count += 1;
    }
    layout.nodes.truncate(count);
    layout.nodes.sort_unstable_by_key(|n| n.pid);
    layout.labels.clear();
    for label in &rate_labels.0 {
        let corners = [label.rect.min, label.rect.max]
            .map(|p| camera.world_to_viewport(camera_transform, p.extend(0.0)));
        if let [Ok(a), Ok(b)] = corners {
            layout.labels.push(CanvasLabel {
                from: label.from,
                to: label.to,
                text: label.text.clone(),
                rect: CssRect::from_rect(Rect::from_corners(a, b)),
            });
        }
    }
    layout.canvas = CssRect::from_rect(area.rect);
    layout.kill_zone = CssRect::from_rect(kill_zone_rect(area.rect, theme.kill_zone_size_px));
    layout.selected = selection.0.map(|p| p.0);
    layout.hovered = hovered.0.map(|p| p.0);
    layout.dragging = dragging.pid.map(|p| p.0);
    layout.frame += 1;
    shared
        .0
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone_from(layout);
}

/// True if a pointer position (CSS pixels) is over the canvas rather than a panel.
fn on_canvas(area: &CanvasArea, position_px: Vec2) -> bool {
    area.rect.contains(position_px)
}

#[cfg(test)]
mod tests {
    use bevy::camera::NormalizedRenderTarget;
    use bevy::picking::backend::HitData;
    use bevy::picking::pointer::{Location, PointerId};

    use super::*;

    /// The layout JSON's entries are reused by position: an entry that described one process
    /// describes the next one wholly, and a denial that came after the entry was made shows (the
    /// browser test of an unsupported WASI call found `denied: null` on a refused process).
    #[test]
    fn a_reused_layout_entry_shows_every_field_of_its_new_node() {
        let node = |pid: u32, denied: Option<&str>| GraphNode {
            pid: ProcessId(pid),
            born_secs: 0.0,
            denied_secs: denied.map(|_| 1.0),
            denied_reason: denied.map(str::to_string),
            radius: 20.0,
        };
        let view = |name: &str, protected: bool| ProcessView {
            name: name.into(),
            state: orbital_kernel::ProcessState::Running,
            metrics: Default::default(),
            mailbox: Default::default(),
            worker_id: None,
            protected,
            last_serviced: None,
        };
        let mut entry = CanvasNode::default();
        entry.show(
            &node(3, None),
            &view("init", true),
            Vec2::new(1.0, 2.0),
            10.0,
            true,
        );
        assert_eq!(entry.denied, None);
        // The same process, refused since.
        entry.show(
            &node(3, Some("fd_filestat_get")),
            &view("init", true),
            Vec2::new(1.0, 2.0),
            10.0,
            true,
        );
        assert_eq!(entry.denied.as_deref(), Some("fd_filestat_get"));
        // Another process takes the entry.
        entry.show(
            &node(9, None),
            &view("sender", false),
            Vec2::new(5.0, 6.0),
            12.0,
            false,
        );
        assert_eq!(
            entry,
            CanvasNode {
                pid: 9,
                name: "sender".into(),
                x: 5.0,
                y: 6.0,
                radius: 12.0,
                protected: false,
                denied: None,
                named: false,
            }
        );
    }

    /// A press alone selects the node under the pointer: a quick click's release goes (in
    /// bevy_picking) to what was hovered a frame earlier, so selection cannot wait for `Click`.
    /// A press over a panel (outside the canvas) or with another button selects nothing.
    #[test]
    fn a_press_on_a_node_selects_it() {
        let mut world = World::new();
        world.init_resource::<Selection>();
        world.insert_resource(CanvasArea {
            rect: Rect::new(300.0, 60.0, 1000.0, 600.0),
            overlay: None,
            card: None,
        });
        let owner = world.spawn_empty().id();
        let node = world
            .spawn(NodeBody {
                pid: ProcessId(7),
                owner,
            })
            .observe(on_node_press)
            .id();
        world.flush();
        let press = |world: &mut World, at: Vec2, button: PointerButton| {
            let location = Location {
                target: NormalizedRenderTarget::None {
                    width: 1280,
                    height: 800,
                },
                position: at,
            };
            let hit = HitData::new(Entity::PLACEHOLDER, 0.0, None, None);
            world.trigger(Pointer::new(
                PointerId::Mouse,
                location,
                Press {
                    button,
                    hit,
                    count: 1,
                },
                node,
            ));
            world.flush();
        };
        press(&mut world, Vec2::new(100.0, 300.0), PointerButton::Primary);
        assert_eq!(world.resource::<Selection>().0, None, "over a panel");
        press(
            &mut world,
            Vec2::new(500.0, 300.0),
            PointerButton::Secondary,
        );
        assert_eq!(world.resource::<Selection>().0, None, "right button");
        press(&mut world, Vec2::new(500.0, 300.0), PointerButton::Primary);
        assert_eq!(world.resource::<Selection>().0, Some(ProcessId(7)));
    }
}
