//! Direct manipulation: select, hover, drag, and the kill zone; plus [`CanvasLayout`], the
//! screen-space picture of the canvas that browser tests read through `window.supervisor`.

use bevy::picking::pointer::{PointerAction, PointerId, PointerInput};
use bevy::prelude::*;
use orbital_kernel::ProcessId;
use serde::Serialize;

use super::camera::{CameraRig, GraphCamera};
use super::labels::{Inside, InsideWords, NamedNodes, RateLabels};
use super::model::{GraphModel, GraphNode};
use crate::supervisor::{ProcessView, SupervisorIntent};
use crate::theme::Theme;
use crate::ui_state::{self, CanvasArea, Hovered, Selection, Toasts};

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
    /// With no room for its name beside it, what is written inside its disc: "full",
    /// "name_and_pid", "pid", or nothing (`labels::Inside`).
    pub inside: Option<Inside>,
    /// The font size those words are written in, CSS pixels (smaller than the label font for a
    /// pid in a small disc).
    pub inside_font_px: Option<f32>,
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
        (named, inside): (bool, Option<InsideWords>),
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
        self.inside = inside.map(|w| w.what);
        self.inside_font_px = inside.map(|w| w.font_px);
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

/// The node under a screen position (CSS pixels), as the nodes were last drawn.
pub fn node_at(nodes: &[CanvasNode], position_px: Vec2) -> Option<ProcessId> {
    nodes
        .iter()
        .map(|n| (n, Vec2::new(n.x, n.y).distance(position_px)))
        .filter(|(n, d)| *d <= n.radius)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(n, _)| ProcessId(n.pid))
}

/// Presses, drags and drops of nodes, from the pointers' inputs in the order they came, each at
/// its own position against the nodes as they were last drawn.
///
/// bevy_picking decides what a press hits from where the pointer is at the end of the frame: when
/// the press and the moves after it arrive in one frame (a quick drag, or any drag at a few frames
/// per second), the press landed on whatever was under the pointer's last position (nothing) and
/// the node did not move. Selection is on the press, not the click, for the same reason: a click
/// goes to what was hovered a frame earlier. Panels are drawn over the canvas, and egui windows
/// over it: a press there is theirs.
#[allow(clippy::too_many_arguments)]
pub(super) fn press_drag_and_drop_nodes(
    mut inputs: MessageReader<PointerInput>,
    mut grabs: Local<Vec<(PointerId, ProcessId)>>,
    layout: Res<CanvasLayout>,
    area: Res<CanvasArea>,
    mut egui: Query<&mut bevy_egui::EguiContext, With<bevy_egui::PrimaryEguiContext>>,
    camera: Query<(&Camera, &GlobalTransform), With<GraphCamera>>,
    views: Query<(&GraphNode, &ProcessView)>,
    mut state: (ResMut<GraphModel>, ResMut<Dragging>, ResMut<Selection>),
    mut out: (MessageWriter<SupervisorIntent>, ResMut<Toasts>),
) {
    let (model, dragging, selection) = &mut state;
    let (intents, toasts) = &mut out;
    for input in inputs.read() {
        let at = input.location.position;
        let grab = grabs.iter().position(|(p, _)| *p == input.pointer_id);
        match input.action {
            PointerAction::Press(PointerButton::Primary) => {
                let egui_window = egui
                    .single_mut()
                    .is_ok_and(|mut c| ui_state::egui_window_at(c.get_mut(), at));
                if !on_canvas(&area, at) || egui_window {
                    continue;
                }
                if let Some(pid) = node_at(&layout.nodes, at) {
                    selection.0 = Some(pid);
                    grabs.retain(|(p, _)| *p != input.pointer_id);
                    grabs.push((input.pointer_id, pid));
                }
            }
            PointerAction::Move { delta } if delta != Vec2::ZERO => {
                let Some((_, pid)) = grab.map(|i| grabs[i]) else {
                    continue;
                };
                if dragging.pid != Some(pid) {
                    dragging.pid = Some(pid);
                    dragging.started_at_world = model.layout.position(pid.0);
                }
                if let Some(world) = pointer_world(&camera, at) {
                    model.layout.pin(pid.0, world);
                }
                dragging.over_kill_zone = layout.kill_zone.contains(at);
            }
            PointerAction::Release(PointerButton::Primary) | PointerAction::Cancel => {
                let Some((_, pid)) = grab.map(|i| grabs.remove(i)) else {
                    continue;
                };
                if dragging.pid != Some(pid) {
                    continue; // a click: the press selected it
                }
                let started_at = std::mem::take(&mut **dragging).started_at_world;
                let dropped = matches!(input.action, PointerAction::Release(_));
                if dropped && layout.kill_zone.contains(at) {
                    let view = views.iter().find(|(n, _)| n.pid == pid).map(|(_, v)| v);
                    let refused = view.is_some_and(|v| kill_refusal(pid, v).is_some());
                    request_kill(pid, view, intents, toasts);
                    if refused && let Some(start) = started_at {
                        // Back where it came from, out of the kill zone.
                        model.layout.pin(pid.0, start);
                    }
                }
                // A dropped node keeps its new place; the layout only nudges it gently from there.
                model.layout.unpin(pid.0);
            }
            _ => {}
        }
    }
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
        let names = (named.contains(node.pid.0), named.inside(node.pid.0));
        layout.nodes[count].show(node, view, screen, radius, names);
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
    use bevy::picking::pointer::Location;

    use super::*;

    /// A running process's view, as the supervisor shows it.
    fn running_view(name: &str, protected: bool) -> ProcessView {
        ProcessView {
            name: name.into(),
            state: orbital_kernel::ProcessState::Running,
            metrics: Default::default(),
            mailbox: Default::default(),
            worker_id: None,
            protected,
            last_serviced: None,
        }
    }

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
        let view = running_view;
        let mut entry = CanvasNode::default();
        entry.show(
            &node(3, None),
            &view("init", true),
            Vec2::new(1.0, 2.0),
            10.0,
            (true, None),
        );
        assert_eq!(entry.denied, None);
        // The same process, refused since.
        entry.show(
            &node(3, Some("fd_filestat_get")),
            &view("init", true),
            Vec2::new(1.0, 2.0),
            10.0,
            (true, None),
        );
        assert_eq!(entry.denied.as_deref(), Some("fd_filestat_get"));
        // Another process takes the entry.
        entry.show(
            &node(9, None),
            &view("sender", false),
            Vec2::new(5.0, 6.0),
            12.0,
            (
                false,
                Some(InsideWords {
                    what: Inside::Pid,
                    font_px: 10.0,
                }),
            ),
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
                inside: Some(Inside::Pid),
                inside_font_px: Some(10.0),
            }
        );
    }

    /// An app with the ordered pointer system, one node (pid 7, at 500,300, radius 20) as last
    /// drawn, the canvas between the panels and the kill zone in its corner.
    fn pointer_app(protected: bool) -> App {
        let mut app = App::new();
        app.add_message::<PointerInput>()
            .add_message::<SupervisorIntent>()
            .init_resource::<Selection>()
            .init_resource::<Dragging>()
            .init_resource::<Toasts>()
            .init_resource::<GraphModel>()
            .insert_resource(CanvasArea {
                rect: Rect::new(300.0, 60.0, 1000.0, 600.0),
                overlay: None,
                card: None,
            })
            .add_systems(Update, press_drag_and_drop_nodes);
        let mut layout = CanvasLayout::default();
        layout.nodes.push(CanvasNode {
            pid: 7,
            name: "idle".into(),
            x: 500.0,
            y: 300.0,
            radius: 20.0,
            protected,
            ..Default::default()
        });
        layout.kill_zone = CssRect::from_rect(Rect::new(850.0, 500.0, 984.0, 584.0));
        app.insert_resource(layout);
        app.world_mut().spawn((
            GraphNode {
                pid: ProcessId(7),
                born_secs: 0.0,
                denied_secs: None,
                denied_reason: None,
                radius: 20.0,
            },
            running_view("idle", protected),
        ));
        app
    }

    fn input(at: Vec2, action: PointerAction) -> PointerInput {
        let location = Location {
            target: NormalizedRenderTarget::None {
                width: 1280,
                height: 800,
            },
            position: at,
        };
        PointerInput::new(PointerId::Mouse, location, action)
    }

    /// Sends `inputs` as one frame's and returns the kill requests written.
    fn frame(app: &mut App, inputs: Vec<PointerInput>) -> Vec<ProcessId> {
        app.world_mut().write_message_batch(inputs);
        app.update();
        let messages = app.world().resource::<Messages<SupervisorIntent>>();
        messages
            .iter_current_update_messages()
            .filter_map(|i| match i {
                SupervisorIntent::Kill { pid } => Some(*pid),
                _ => None,
            })
            .collect()
    }

    /// A quick drag: the press on the node, the moves and the release in the kill zone all come
    /// in one frame (bevy_picking pressed what was under the pointer's *last* position: nothing).
    #[test]
    fn a_drag_within_one_frame_drops_the_node_in_the_kill_zone() {
        let mut app = pointer_app(false);
        let node = Vec2::new(505.0, 295.0);
        let zone = Vec2::new(900.0, 540.0);
        let killed = frame(
            &mut app,
            vec![
                input(node, PointerAction::Press(PointerButton::Primary)),
                input(
                    Vec2::new(700.0, 420.0),
                    PointerAction::Move {
                        delta: Vec2::new(195.0, 125.0),
                    },
                ),
                input(
                    zone,
                    PointerAction::Move {
                        delta: Vec2::new(200.0, 120.0),
                    },
                ),
                input(zone, PointerAction::Release(PointerButton::Primary)),
            ],
        );
        assert_eq!(killed, vec![ProcessId(7)]);
        assert_eq!(app.world().resource::<Selection>().0, Some(ProcessId(7)));
        assert_eq!(
            app.world().resource::<Dragging>().pid,
            None,
            "the drag ended"
        );
    }

    #[test]
    fn a_drag_over_several_frames_shows_the_node_over_the_zone_then_kills_it() {
        let mut app = pointer_app(false);
        let zone = Vec2::new(900.0, 540.0);
        frame(
            &mut app,
            vec![input(
                Vec2::new(500.0, 300.0),
                PointerAction::Press(PointerButton::Primary),
            )],
        );
        assert_eq!(
            app.world().resource::<Dragging>().pid,
            None,
            "pressed, not yet moved"
        );
        frame(
            &mut app,
            vec![input(
                zone,
                PointerAction::Move {
                    delta: Vec2::new(400.0, 240.0),
                },
            )],
        );
        let dragging = app.world().resource::<Dragging>();
        assert_eq!(
            (dragging.pid, dragging.over_kill_zone),
            (Some(ProcessId(7)), true)
        );
        let killed = frame(
            &mut app,
            vec![input(zone, PointerAction::Release(PointerButton::Primary))],
        );
        assert_eq!(killed, vec![ProcessId(7)]);
    }

    /// A press selects (a click needs no release on the node); a press beside the node, over a
    /// panel, or with another button selects nothing and drags nothing.
    #[test]
    fn a_press_selects_only_a_node_on_the_canvas_with_the_primary_button() {
        let mut app = pointer_app(false);
        let zone = Vec2::new(900.0, 540.0);
        for (at, button, what) in [
            (
                Vec2::new(560.0, 300.0),
                PointerButton::Primary,
                "beside the node",
            ),
            (
                Vec2::new(100.0, 300.0),
                PointerButton::Primary,
                "over a panel",
            ),
            (
                Vec2::new(500.0, 300.0),
                PointerButton::Secondary,
                "right button",
            ),
        ] {
            let killed = frame(
                &mut app,
                vec![
                    input(at, PointerAction::Press(button)),
                    input(zone, PointerAction::Move { delta: zone - at }),
                    input(zone, PointerAction::Release(button)),
                ],
            );
            assert_eq!(app.world().resource::<Selection>().0, None, "{what}");
            assert!(killed.is_empty(), "{what}");
        }
        let at = Vec2::new(500.0, 300.0);
        let killed = frame(
            &mut app,
            vec![
                input(at, PointerAction::Press(PointerButton::Primary)),
                input(at, PointerAction::Release(PointerButton::Primary)),
            ],
        );
        assert_eq!(app.world().resource::<Selection>().0, Some(ProcessId(7)));
        assert!(killed.is_empty(), "a click kills nothing");
    }

    #[test]
    fn a_protected_node_dropped_in_the_zone_is_refused_with_the_reason() {
        let mut app = pointer_app(true);
        let zone = Vec2::new(900.0, 540.0);
        let killed = frame(
            &mut app,
            vec![
                input(
                    Vec2::new(500.0, 300.0),
                    PointerAction::Press(PointerButton::Primary),
                ),
                input(
                    zone,
                    PointerAction::Move {
                        delta: Vec2::new(400.0, 240.0),
                    },
                ),
                input(zone, PointerAction::Release(PointerButton::Primary)),
            ],
        );
        assert!(killed.is_empty());
        let toasts = app.world().resource::<Toasts>();
        assert!(
            toasts
                .items
                .iter()
                .any(|t| t.is_error && t.text.contains("protected")),
            "{toasts:?}"
        );
    }
}
