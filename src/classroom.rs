//! Classroom mode: keyboard shortcuts a teacher uses while projecting, and the projector theme
//! toggle (the theme itself lives in `theme.rs`). Shortcuts go through the same intents as the
//! buttons, and are ignored while typing in the terminal.

use bevy::input::ButtonState;
use bevy::input::keyboard::{Key, KeyboardInput};
use bevy::prelude::*;
use bevy_egui::input::egui_wants_any_keyboard_input;

use crate::graph::{CameraRig, Selection, Toasts};
use crate::graph::request_kill;
use crate::panels::{PanelState, next_speed};
use crate::supervisor::{ProcessEntity, ProcessView, SupervisorHandle, SupervisorIntent, TimeControl};
use crate::theme::{Theme, ThemeMode};

/// Every shortcut, for the help overlay.
pub const SHORTCUTS: [(&str, &str); 9] = [
    ("space", "pause / resume"),
    ("s", "step: service exactly one syscall (pauses first)"),
    ("+", "faster: paused, 1/16x, 1/4x, full speed"),
    ("-", "slower"),
    ("Delete", "kill the selected process (init and terminal refuse)"),
    ("Esc", "deselect"),
    ("p", "projector theme on / off (classroom mode)"),
    ("f", "fit: keep every process in view again after zooming or panning"),
    ("?", "this help"),
];

pub fn classroom_plugin(app: &mut App) {
    app.add_systems(Update, handle_shortcuts.run_if(not(egui_wants_any_keyboard_input)));
}

/// What a key press asks for, independent of Bevy (unit-tested).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shortcut {
    TogglePause,
    Step,
    Faster,
    Slower,
    KillSelected,
    Deselect,
    ToggleProjector,
    ToggleHelp,
    Fit,
}

pub fn shortcut_for(key: &Key) -> Option<Shortcut> {
    match key {
        Key::Space => Some(Shortcut::TogglePause),
        Key::Delete | Key::Backspace => Some(Shortcut::KillSelected),
        Key::Escape => Some(Shortcut::Deselect),
        Key::Character(c) => match c.as_str() {
            " " => Some(Shortcut::TogglePause),
            "s" | "S" => Some(Shortcut::Step),
            "+" | "=" => Some(Shortcut::Faster),
            "-" | "_" => Some(Shortcut::Slower),
            "p" | "P" => Some(Shortcut::ToggleProjector),
            "?" => Some(Shortcut::ToggleHelp),
            "f" | "F" => Some(Shortcut::Fit),
            _ => None,
        },
        _ => None,
    }
}

#[allow(clippy::too_many_arguments)]
fn handle_shortcuts(
    mut keys: MessageReader<KeyboardInput>,
    supervisor: Res<SupervisorHandle>,
    mut intents: MessageWriter<SupervisorIntent>,
    mut selection: ResMut<Selection>,
    mut panels: ResMut<PanelState>,
    mut theme: ResMut<Theme>,
    mut toasts: ResMut<Toasts>,
    processes: Query<(&ProcessEntity, &ProcessView)>,
    mut rig: ResMut<CameraRig>,
) {
    for key in keys.read() {
        if key.state != ButtonState::Pressed || key.repeat {
            continue;
        }
        let Some(shortcut) = shortcut_for(&key.logical_key) else { continue };
        let time = supervisor.lock().time_control();
        match shortcut {
            Shortcut::TogglePause => {
                if time == TimeControl::Paused {
                    intents.write(SupervisorIntent::SetTime(panels.resume_speed));
                } else {
                    panels.resume_speed = time;
                    intents.write(SupervisorIntent::SetTime(TimeControl::Paused));
                }
            }
            Shortcut::Step => {
                intents.write(SupervisorIntent::Step);
            }
            Shortcut::Faster | Shortcut::Slower => {
                let speed = next_speed(time, shortcut == Shortcut::Faster);
                if speed != time {
                    intents.write(SupervisorIntent::SetTime(speed));
                }
            }
            Shortcut::KillSelected => {
                if let Some(pid) = selection.0 {
                    let view = processes.iter().find(|(p, _)| p.pid == pid).map(|(_, v)| v);
                    request_kill(pid, view, &mut intents, &mut toasts);
                } else {
                    toasts.push("Select a process first (click its node), then press Delete.", true);
                }
            }
            Shortcut::Deselect => selection.0 = None,
            Shortcut::ToggleProjector => {
                let mode = if theme.mode == ThemeMode::Projector { ThemeMode::Standard } else { ThemeMode::Projector };
                *theme = Theme::for_mode(mode);
            }
            Shortcut::ToggleHelp => panels.show_help = !panels.show_help,
            Shortcut::Fit => rig.auto_fit = true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_shortcuts() {
        assert_eq!(shortcut_for(&Key::Space), Some(Shortcut::TogglePause));
        assert_eq!(shortcut_for(&Key::Character("s".into())), Some(Shortcut::Step));
        assert_eq!(shortcut_for(&Key::Character("+".into())), Some(Shortcut::Faster));
        assert_eq!(shortcut_for(&Key::Character("-".into())), Some(Shortcut::Slower));
        assert_eq!(shortcut_for(&Key::Delete), Some(Shortcut::KillSelected));
        assert_eq!(shortcut_for(&Key::Character("?".into())), Some(Shortcut::ToggleHelp));
        assert_eq!(shortcut_for(&Key::Character("x".into())), None);
    }
}

#[cfg(test)]
mod param_tests {
    use super::*;

    #[test]
    fn shortcut_system_has_no_conflicting_parameters() {
        let mut world = World::new();
        let mut system = IntoSystem::into_system(handle_shortcuts);
        system.initialize(&mut world);
    }
}
