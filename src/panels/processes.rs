//! The left panel: every process (pid, name, state, memory bar, worker, kill), quick spawn
//! buttons for user programs, and the memory map.

use bevy_egui::egui;
use orbital_kernel::{ProcessId, ProcessState};

use super::{PanelData, UiActions, format_bytes};
use crate::graph::kill_refusal;
use crate::supervisor::{Supervisor, SupervisorIntent};

pub(super) fn processes_ui(ui: &mut egui::Ui, supervisor: &Supervisor, data: &PanelData, actions: &mut UiActions) {
    let theme = &data.theme;
    ui.heading("Processes");
    let limit = supervisor.kernel().config().memory_limit_bytes.max(1);
    let mut rows: Vec<_> = data.processes.iter().collect();
    rows.sort_unstable_by_key(|(p, _)| p.pid);
    egui::ScrollArea::vertical().id_salt("process_list").max_height(ui.available_height() * 0.55).show(ui, |ui| {
        egui::Grid::new("process_grid").striped(true).num_columns(6).spacing([6.0, 3.0]).show(ui, |ui| {
            ui.small("pid");
            ui.small("name");
            ui.small("state");
            ui.small("memory");
            ui.small("worker");
            ui.small("");
            ui.end_row();
            for (process, view) in rows {
                let pid = process.pid;
                let selected = data.selection.0 == Some(pid);
                if ui.selectable_label(selected, pid.0.to_string()).clicked() {
                    actions.select = Some(Some(pid));
                }
                let name = egui::RichText::new(&view.name).color(theme.program_color(&view.name).egui());
                if ui.selectable_label(selected, name).clicked() {
                    actions.select = Some(Some(pid));
                }
                let (state_text, color) = match &view.state {
                    ProcessState::Running => ("running", theme.state_running),
                    ProcessState::Blocked(_) => ("blocked", theme.state_blocked),
                    ProcessState::Zombie(_) => ("zombie", theme.state_zombie),
                };
                ui.colored_label(color.egui(), state_text);
                let fraction = view.metrics.memory_size as f32 / limit as f32;
                ui.add(
                    egui::ProgressBar::new(fraction.clamp(0.0, 1.0))
                        .desired_width(70.0)
                        .fill(theme.memory_bar.egui())
                        .text(format_bytes(view.metrics.memory_size as u64)),
                );
                ui.small(view.worker_id.map_or("-".to_string(), |w| w.to_string()));
                if view.state.is_zombie() {
                    if ui.small_button("dismiss").on_hover_text("reap: remove from the process table").clicked() {
                        actions.intents.push(SupervisorIntent::Reap { pid });
                    }
                } else if view.protected {
                    ui.small("protected").on_hover_text(kill_refusal(pid, view).unwrap_or_default());
                } else if ui.small_button("kill").clicked() {
                    actions.intents.push(SupervisorIntent::Kill { pid });
                    actions.toasts.push((format!("Killing {} (pid {})", view.name, pid.0), false));
                }
                ui.end_row();
            }
        });
    });
    ui.separator();
    ui.strong("Spawn");
    ui.horizontal_wrapped(|ui| {
        for program in &supervisor.manifest().programs {
            if program.protected || program.name == "init" {
                continue;
            }
            let button = egui::Button::new(egui::RichText::new(&program.name).color(theme.program_color(&program.name).egui()));
            if ui.add(button).on_hover_text(&program.description).clicked() {
                actions.intents.push(SupervisorIntent::Spawn { program: program.name.clone() });
            }
        }
    });
    ui.separator();
    memory_map_ui(ui, supervisor, data, actions);
}

/// One bar: each process's memory as a segment in its program's colour, to scale.
fn memory_map_ui(ui: &mut egui::Ui, supervisor: &Supervisor, data: &PanelData, actions: &mut UiActions) {
    let theme = &data.theme;
    let total: u64 = data.processes.iter().map(|(_, v)| v.metrics.memory_size as u64).sum();
    let scale_bytes = total.max(16 * 1024 * 1024);
    ui.strong(format!("Memory map · {} in use", format_bytes(total)));
    let width = ui.available_width();
    let (rect, response) = ui.allocate_exact_size(egui::vec2(width, 22.0), egui::Sense::click());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 3.0, theme.memory_bar_back.egui());
    let mut x = rect.min.x;
    let mut rows: Vec<_> = data.processes.iter().collect();
    rows.sort_unstable_by_key(|(p, _)| p.pid);
    let pointer = response.hover_pos();
    let mut hovered: Option<(ProcessId, String)> = None;
    for (process, view) in rows {
        let bytes = view.metrics.memory_size as u64;
        if bytes == 0 {
            continue;
        }
        let w = (bytes as f32 / scale_bytes as f32) * width;
        let segment = egui::Rect::from_min_max(egui::pos2(x, rect.min.y), egui::pos2((x + w).min(rect.max.x), rect.max.y));
        let mut color = theme.program_color(&view.name).egui();
        if data.selection.0 == Some(process.pid) {
            color = theme.selection.egui();
        }
        painter.rect_filled(segment.shrink2(egui::vec2(0.5, 0.0)), 0.0, color);
        if pointer.is_some_and(|p| segment.contains(p)) {
            hovered = Some((process.pid, format!("{} (pid {}): {}", view.name, process.pid.0, format_bytes(bytes))));
        }
        x += w;
    }
    if let Some((pid, text)) = hovered {
        if response.on_hover_text(text).clicked() {
            actions.select = Some(Some(pid));
        }
    }
    let limit = supervisor.kernel().config().memory_limit_bytes;
    ui.small(format!("bar = {} · per-process limit {}", format_bytes(scale_bytes), format_bytes(limit)));
}
