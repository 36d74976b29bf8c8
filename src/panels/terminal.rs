//! The terminal panel, bound to the `terminal` process: its console output (a form feed clears
//! the screen), the lines typed into it and supervisor notices, plus an input line with history
//! on up and down. While a process that reads console input (a WASI program) is selected, typed
//! lines go to its standard input instead, and its output shows here too.

use bevy_egui::egui;
use orbital_kernel::ProcessId;

use super::{PanelState, UiActions};
use crate::supervisor::{ConsoleKind, Supervisor, SupervisorIntent};
use crate::ui_state;

const HISTORY_MAX: usize = 100;

pub(super) fn terminal_ui(
    ui: &mut egui::Ui,
    supervisor: &Supervisor,
    state: &mut PanelState,
    selected: Option<ProcessId>,
    actions: &mut UiActions,
) {
    let terminal = supervisor
        .kernel()
        .processes()
        .values()
        .find(|p| p.name == "terminal" && !p.state.is_zombie())
        .map(|p| p.pid);
    // The selected process, if typed lines go to its standard input.
    let stdin_of = selected
        .filter(|pid| Some(*pid) != terminal && supervisor.has_console_input(*pid))
        .and_then(|pid| {
            let process = supervisor
                .kernel()
                .process(pid)
                .filter(|p| !p.state.is_zombie())?;
            Some((pid, process.name.clone()))
        });
    let stdin_pid = stdin_of.as_ref().map(|(pid, _)| *pid);
    let mut text = String::new();
    for line in supervisor.console_log() {
        let ours = Some(line.pid) == terminal
            || (Some(line.pid) == stdin_pid && line.kind == ConsoleKind::Output)
            || matches!(line.kind, ConsoleKind::Input | ConsoleKind::Notice);
        if !ours {
            continue;
        }
        match line.kind {
            ConsoleKind::Output => text.push_str(&line.text),
            ConsoleKind::Input => {
                text.push_str(&line.text);
                if !line.text.ends_with('\n') {
                    text.push('\n');
                }
            }
            ConsoleKind::Notice => {
                text.push_str("[supervisor] ");
                text.push_str(line.text.strip_prefix("supervisor: ").unwrap_or(&line.text));
                if !line.text.ends_with('\n') {
                    text.push('\n');
                }
            }
        }
    }
    let visible = text.rsplit('\x0c').next().unwrap_or_default();
    let input_height = ui.text_style_height(&egui::TextStyle::Monospace) + 14.0;
    let output = egui::ScrollArea::vertical()
        .id_salt("terminal_output")
        .max_height((ui.available_height() - input_height).max(40.0))
        .auto_shrink([false, false])
        .stick_to_bottom(true)
        .show(ui, |ui| {
            ui.add(egui::Label::new(egui::RichText::new(visible).monospace()).wrap());
        });
    // Where the output shows, and how many monospace rows fit in it (browser tests check `ps` fits).
    actions.control("terminal_output", output.inner_rect);
    let row = ui.text_style_height(&egui::TextStyle::Monospace);
    actions.terminal_rows = (output.inner_rect.height() / row.max(1.0)).floor() as u32;
    ui.horizontal(|ui| {
        let hint = match &stdin_of {
            Some((pid, name)) => {
                ui.label(egui::RichText::new(format!("typing to {name} (pid {})", pid.0)).strong())
                    .on_hover_text("lines go to the selected program's standard input; deselect it to type to the terminal");
                if ui.small_button("^D").on_hover_text("end of input (Ctrl-D)").clicked() {
                    actions.intents.push(SupervisorIntent::CloseConsoleInput { pid: *pid });
                }
                format!("a line for {name}'s standard input")
            }
            None => {
                ui.monospace(if terminal.is_some() { "$" } else { "(no terminal process)" });
                "help, ps, spawn sender, kill 5 ... (Up/Down: history)".to_string()
            }
        };
        let response = ui.add(
            egui::TextEdit::singleline(&mut state.terminal_input)
                .id(egui::Id::new(ui_state::TERMINAL_INPUT))
                .font(egui::TextStyle::Monospace)
                .desired_width(f32::INFINITY)
                .hint_text(hint),
        );
        actions.control(ui_state::TERMINAL_INPUT, response.rect);
        if response.has_focus() {
            let (up, down) = ui.input(|i| (i.key_pressed(egui::Key::ArrowUp), i.key_pressed(egui::Key::ArrowDown)));
            if up || down {
                browse_history(state, up);
            }
        }
        if response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
            let line = std::mem::take(&mut state.terminal_input);
            if !line.trim().is_empty() {
                if state.terminal_history.last() != Some(&line) {
                    state.terminal_history.push(line.clone());
                    if state.terminal_history.len() > HISTORY_MAX {
                        state.terminal_history.remove(0);
                    }
                }
                actions.intents.push(match stdin_pid {
                    Some(pid) => SupervisorIntent::ConsoleInputTo { pid, line },
                    None => SupervisorIntent::ConsoleInput { line },
                });
            }
            state.history_cursor = None;
            response.request_focus();
        }
    });
}

/// Moves through the typed-line history: up = older, down = newer (past the newest: empty line).
pub fn browse_history(state: &mut PanelState, up: bool) {
    let len = state.terminal_history.len();
    if len == 0 {
        return;
    }
    state.history_cursor = match (state.history_cursor, up) {
        (None, true) => Some(len - 1),
        (Some(i), true) => Some(i.saturating_sub(1)),
        (Some(i), false) if i + 1 < len => Some(i + 1),
        (_, false) => None,
    };
    state.terminal_input = state
        .history_cursor
        .map(|i| state.terminal_history[i].clone())
        .unwrap_or_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_up_and_down() {
        let mut state = PanelState {
            terminal_history: vec!["ps".into(), "help".into()],
            ..Default::default()
        };
        browse_history(&mut state, true);
        assert_eq!(state.terminal_input, "help");
        browse_history(&mut state, true);
        assert_eq!(state.terminal_input, "ps");
        browse_history(&mut state, true);
        assert_eq!(state.terminal_input, "ps");
        browse_history(&mut state, false);
        assert_eq!(state.terminal_input, "help");
        browse_history(&mut state, false);
        assert_eq!(state.terminal_input, "");
        assert_eq!(state.history_cursor, None);
    }
}
