//! Classroom mode: keyboard shortcuts a teacher uses while projecting, and the projector theme
//! toggle (the theme itself lives in `theme.rs`). Shortcuts go through the same intents as the
//! buttons, and are ignored while typing in the terminal; the list the help overlay shows is
//! `ui_state::SHORTCUTS`.

use bevy::input::ButtonState;
use bevy::input::keyboard::{Key, KeyboardInput};
use bevy::prelude::*;

use crate::graph::{CameraRig, request_kill};
use crate::supervisor::{
    ProcessEntity, ProcessView, SupervisorHandle, SupervisorIntent, TimeControl,
};
use crate::theme::{Theme, ThemeMode};
use crate::ui_state::{self, ControlState, Selection, Toasts, next_speed};

pub fn classroom_plugin(app: &mut App) {
    ui_state::ensure_ui_state(app);
    app.add_systems(Update, handle_shortcuts.run_if(ui_state::keys_free));
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
    /// `,`: one recorded input back in time.
    StepBack,
    /// `.`: one recorded input forward.
    StepForward,
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
            "," | "<" => Some(Shortcut::StepBack),
            "." | ">" => Some(Shortcut::StepForward),
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
    mut controls: ResMut<ControlState>,
    mut theme: ResMut<Theme>,
    mut toasts: ResMut<Toasts>,
    processes: Query<(&ProcessEntity, &ProcessView)>,
    mut rig: ResMut<CameraRig>,
    lesson: Option<Res<crate::lesson::LessonState>>,
) {
    // While a lesson is shown, Space is its Next key (the lesson plugin reads it).
    let lesson_shown = lesson.is_some_and(|l| crate::lesson::lesson_active(&l));
    for key in keys.read() {
        if key.state != ButtonState::Pressed || key.repeat {
            continue;
        }
        let Some(shortcut) = shortcut_for(&key.logical_key) else {
            continue;
        };
        if lesson_shown && shortcut == Shortcut::TogglePause {
            continue;
        }
        let (time, live) = {
            let supervisor = supervisor.lock();
            (supervisor.time_control(), supervisor.is_live())
        };
        match shortcut {
            Shortcut::TogglePause => {
                if time == TimeControl::Paused {
                    intents.write(SupervisorIntent::SetTime(controls.resume_speed));
                } else {
                    controls.resume_speed = time;
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
                    toasts.push(
                        "Select a process first (click its node), then press Delete.",
                        true,
                    );
                }
            }
            // Esc leaves the past first; in the present it deselects.
            Shortcut::Deselect if !live => {
                intents.write(SupervisorIntent::GoLive);
            }
            Shortcut::Deselect => selection.0 = None,
            Shortcut::StepBack => {
                intents.write(SupervisorIntent::StepBack);
            }
            Shortcut::StepForward => {
                intents.write(SupervisorIntent::StepForward);
            }
            Shortcut::ToggleProjector => {
                let mode = if theme.mode == ThemeMode::Projector {
                    ThemeMode::Standard
                } else {
                    ThemeMode::Projector
                };
                *theme = Theme::for_mode(mode);
            }
            Shortcut::ToggleHelp => controls.show_help = !controls.show_help,
            Shortcut::Fit => rig.auto_fit = true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shortcut_system_initialises_without_conflicting_parameters() {
        assert!(crate::schedule_check::initialise_plugin_systems(classroom_plugin) >= 1);
    }

    #[test]
    fn keys_map_to_shortcuts() {
        assert_eq!(shortcut_for(&Key::Space), Some(Shortcut::TogglePause));
        assert_eq!(
            shortcut_for(&Key::Character("s".into())),
            Some(Shortcut::Step)
        );
        assert_eq!(
            shortcut_for(&Key::Character("+".into())),
            Some(Shortcut::Faster)
        );
        assert_eq!(
            shortcut_for(&Key::Character("-".into())),
            Some(Shortcut::Slower)
        );
        assert_eq!(shortcut_for(&Key::Delete), Some(Shortcut::KillSelected));
        assert_eq!(
            shortcut_for(&Key::Character("?".into())),
            Some(Shortcut::ToggleHelp)
        );
        assert_eq!(shortcut_for(&Key::Character("x".into())), None);
    }
}
