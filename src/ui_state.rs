//! UI state that several views read: the selection and hover, toasts, the free canvas area, the
//! help overlay and pause memory, and the time-control speeds with their labels and shortcuts.
//!
//! It sits below the graph, the panels and the classroom shortcuts, which all read it and none of
//! which it imports: a view adds what it shows, never state another view needs.

use std::collections::VecDeque;

use bevy::prelude::*;
use orbital_kernel::ProcessId;

use crate::supervisor::TimeControl;

/// The selection, hover, toasts, canvas area and control state. Every plugin that reads them adds
/// it if the app has not already (headless tests add the graph or the panels alone).
pub struct UiStatePlugin;

impl Plugin for UiStatePlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Selection>()
            .init_resource::<Hovered>()
            .init_resource::<Toasts>()
            .init_resource::<CanvasArea>()
            .init_resource::<ControlState>()
            .init_resource::<SelectedMessage>()
            .init_resource::<TextFieldPressed>()
            .add_systems(Update, age_toasts);
    }
}

/// Adds [`UiStatePlugin`] unless the app already has it.
pub fn ensure_ui_state(app: &mut App) {
    if !app.is_plugin_added::<UiStatePlugin>() {
        app.add_plugins(UiStatePlugin);
    }
}

/// The egui ids (made from these names) of the app's text fields: the terminal's input line and,
/// natively, the program path. Keys typed with a press on one are the field's (`text_focus`).
pub const TERMINAL_INPUT: &str = "terminal_input";
pub const PROGRAM_PATH: &str = "program_path";
pub const TEXT_FIELDS: [&str; 2] = [TERMINAL_INPUT, PROGRAM_PATH];

/// This frame's input has a press on a text field: its keys are the field's (written in
/// `PreUpdate` by `text_focus`, before anything reads the keys).
#[derive(Resource, Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TextFieldPressed(pub bool);

/// Run condition of the keyboard shortcuts: the keys are the app's, not a text field's or an egui
/// popup's. bevy_egui's `EguiWantsInput` says what egui had at the end of last frame;
/// [`TextFieldPressed`] adds a field clicked in this frame. Headless apps without egui have
/// neither, and their keys are free.
pub fn keys_free(
    egui: Option<Res<bevy_egui::input::EguiWantsInput>>,
    pressed: Option<Res<TextFieldPressed>>,
) -> bool {
    !egui.is_some_and(|e| e.wants_any_keyboard_input()) && !pressed.is_some_and(|p| p.0)
}

/// The selected process (inspector, Delete key, slow-motion syscall flow).
#[derive(Resource, Debug, Default, Clone, PartialEq, Eq)]
pub struct Selection(pub Option<ProcessId>);

/// The message picked in the sequence chart, shown in the inspector.
#[derive(Resource, Debug, Default, Clone, PartialEq)]
pub struct SelectedMessage(pub Option<orbital_supervisor::recording::ChartMessage>);

/// The process under the pointer, for the tooltip.
#[derive(Resource, Debug, Default, Clone, PartialEq, Eq)]
pub struct Hovered(pub Option<ProcessId>);

/// Short messages for people ("init is protected: ..."), shown for a few seconds.
#[derive(Resource, Debug, Default)]
pub struct Toasts {
    pub items: VecDeque<Toast>,
}

#[derive(Debug, Clone)]
pub struct Toast {
    pub text: String,
    pub is_error: bool,
    pub age_secs: f32,
}

impl Toasts {
    pub const LIFETIME_SECS: f32 = 5.0;
    const MAX: usize = 6;

    pub fn push(&mut self, text: impl Into<String>, is_error: bool) {
        let text = text.into();
        info!("{text}");
        self.items.push_back(Toast {
            text,
            is_error,
            age_secs: 0.0,
        });
        while self.items.len() > Self::MAX {
            self.items.pop_front();
        }
    }
}

fn age_toasts(mut toasts: ResMut<Toasts>, time: Res<Time<Real>>) {
    // At most a quarter second a frame: a long frame (a big file read, a hidden tab) must not
    // take a toast away before it was drawn a few times.
    let dt = time.delta_secs().min(0.25);
    if toasts.items.is_empty() {
        return;
    }
    for toast in &mut toasts.items {
        toast.age_secs += dt;
    }
    toasts.items.retain(|t| t.age_secs < Toasts::LIFETIME_SECS);
}

/// The free part of the window between the egui panels, in CSS pixels (origin top-left, y down).
/// Written by the panels each frame after they are laid out.
#[derive(Resource, Debug, Clone, Copy, PartialEq)]
pub struct CanvasArea {
    pub rect: Rect,
    /// What the panels draw over the canvas's top-left corner (the scenario title and, in slow
    /// motion or while paused, the syscall-flow box), in CSS pixels. The camera fits the graph
    /// below it, and rate labels keep clear of it, so it covers no node.
    pub overlay: Option<Rect>,
    /// The lesson card over the canvas's right side, in CSS pixels (written by the lesson plugin,
    /// kept by the panels). The camera fits the graph beside it, so the card covers no node.
    pub card: Option<Rect>,
}

impl Default for CanvasArea {
    fn default() -> Self {
        Self {
            rect: Rect::new(0.0, 0.0, 1280.0, 720.0),
            overlay: None,
            card: None,
        }
    }
}

/// True if an egui window or popup (anything above the panels' background layer) is drawn at
/// `position_px` (CSS pixels), as egui last laid it out.
pub fn egui_window_at(ctx: &bevy_egui::egui::Context, position_px: Vec2) -> bool {
    // egui points are CSS pixels divided by the zoom (the projector theme's large type).
    let zoom = ctx.zoom_factor().max(0.01);
    let at = bevy_egui::egui::pos2(position_px.x / zoom, position_px.y / zoom);
    ctx.layer_id_at(at)
        .is_some_and(|layer| layer.order != bevy_egui::egui::Order::Background)
}

/// CSS pixels per egui point (the window's scale factor and the theme's zoom): [`CanvasArea`] and
/// the graph measure in CSS pixels, egui in points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CssPerPoint(pub f32);

impl CssPerPoint {
    pub fn of(ctx: &bevy_egui::egui::Context, window: Option<&Window>) -> Self {
        Self(window.map_or(1.0, |w| ctx.pixels_per_point() / w.scale_factor()))
    }

    pub fn to_points(self, css: Vec2) -> bevy_egui::egui::Pos2 {
        bevy_egui::egui::pos2(css.x / self.0, css.y / self.0)
    }

    pub fn rect_to_points(self, css: Rect) -> bevy_egui::egui::Rect {
        bevy_egui::egui::Rect::from_min_max(self.to_points(css.min), self.to_points(css.max))
    }

    pub fn rect_to_css(self, points: bevy_egui::egui::Rect) -> Rect {
        Rect::new(
            points.min.x * self.0,
            points.min.y * self.0,
            points.max.x * self.0,
            points.max.y * self.0,
        )
    }
}

/// State of the controls that are both a button in the panels and a keyboard shortcut.
#[derive(Resource, Debug, Clone, PartialEq)]
pub struct ControlState {
    /// The keyboard-shortcut overlay is open.
    pub show_help: bool,
    /// The speed to return to when un-pausing.
    pub resume_speed: TimeControl,
}

impl Default for ControlState {
    fn default() -> Self {
        Self {
            show_help: false,
            resume_speed: TimeControl::Running,
        }
    }
}

/// Every keyboard shortcut, for the help overlay.
pub const SHORTCUTS: [(&str, &str); 12] = [
    ("space", "pause / resume"),
    ("s", "step: service exactly one syscall (pauses first)"),
    ("+", "faster: paused, 1/16x, 1/4x, full speed"),
    ("-", "slower"),
    (
        "Delete",
        "kill the selected process (init and terminal refuse)",
    ),
    ("Esc", "back to live when viewing the past; else deselect"),
    (",", "time travel: step back one recorded input"),
    (".", "time travel: step forward one recorded input"),
    ("p", "projector theme on / off (classroom mode)"),
    (
        "f",
        "fit: keep every process in view again after zooming or panning",
    ),
    (
        "→ / ←",
        "lesson: next / previous step (space is next while a lesson is shown)",
    ),
    ("?", "this help"),
];

/// The slow-motion speed for "1/`divisor`x".
pub fn slow_motion(divisor: u32) -> TimeControl {
    match divisor {
        4 => TimeControl::QUARTER,
        16 => TimeControl::SIXTEENTH,
        d => TimeControl::Slow {
            syscalls_per_sec: 64.0 / d.max(1) as f32,
        },
    }
}

/// The speeds `+` and `-` step through, slowest first.
pub const SPEEDS: [TimeControl; 4] = [
    TimeControl::Paused,
    TimeControl::SIXTEENTH,
    TimeControl::QUARTER,
    TimeControl::Running,
];

/// The next faster (`up`) or slower speed than `current`.
pub fn next_speed(current: TimeControl, up: bool) -> TimeControl {
    let index = SPEEDS
        .iter()
        .position(|s| *s == current)
        .unwrap_or(SPEEDS.len() - 1);
    let next = if up {
        (index + 1).min(SPEEDS.len() - 1)
    } else {
        index.saturating_sub(1)
    };
    SPEEDS[next]
}

/// "full speed", "paused", "1/4x", "1/16x" or "slow motion".
pub fn speed_label(time: TimeControl) -> &'static str {
    match time {
        TimeControl::Running => "full speed",
        TimeControl::Paused => "paused",
        t if t == TimeControl::QUARTER => "1/4x",
        t if t == TimeControl::SIXTEENTH => "1/16x",
        TimeControl::Slow { .. } => "slow motion",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_and_minus_step_through_the_speeds_and_stop_at_either_end() {
        assert_eq!(next_speed(TimeControl::Running, true), TimeControl::Running);
        assert_eq!(
            next_speed(TimeControl::Running, false),
            TimeControl::QUARTER
        );
        assert_eq!(
            next_speed(TimeControl::QUARTER, false),
            TimeControl::SIXTEENTH
        );
        assert_eq!(
            next_speed(TimeControl::SIXTEENTH, false),
            TimeControl::Paused
        );
        assert_eq!(next_speed(TimeControl::Paused, false), TimeControl::Paused);
        assert_eq!(
            next_speed(TimeControl::Paused, true),
            TimeControl::SIXTEENTH
        );
    }

    #[test]
    fn toasts_age_out_after_their_lifetime() {
        let mut app = App::new();
        app.add_plugins(UiStatePlugin);
        app.insert_resource(Time::<Real>::default());
        app.world_mut()
            .resource_mut::<Toasts>()
            .push("hello", false);
        app.world_mut().resource_mut::<Toasts>().items[0].age_secs = Toasts::LIFETIME_SECS;
        app.update();
        assert!(app.world().resource::<Toasts>().items.is_empty());
    }
}
