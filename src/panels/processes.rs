//! The left panel: every process (pid, name, state, memory bar, worker, kill), the processes
//! that ended (name, pid, exit reason, final metrics; kept by the kernel until the user clears
//! them), quick spawn buttons for user programs, and the memory map.

use bevy_egui::egui;
use orbital_kernel::{ExitReason, ProcessId, ProcessState};

use super::text_bar::text_bar;
use super::{PanelData, UiActions, format_bytes};
use crate::graph::kill_refusal;
use crate::supervisor::{Supervisor, SupervisorIntent};

pub(super) fn processes_ui(
    ui: &mut egui::Ui,
    supervisor: &Supervisor,
    data: &PanelData,
    actions: &mut UiActions,
) {
    let theme = &data.theme;
    ui.heading("Processes");
    let limit = supervisor
        .viewed_kernel()
        .config()
        .memory_limit_bytes
        .max(1);
    let mut rows: Vec<_> = data.processes.iter().collect();
    rows.sort_unstable_by_key(|(p, _)| p.pid);
    // Only the rows in view are laid out (a crowd has 64; egui would build all of them every frame).
    // Row 0 of the scrolled range is the header.
    let row_height = ui.spacing().interact_size.y;
    let total_rows = rows.len() + 1;
    let scroll = egui::ScrollArea::vertical()
        .id_salt("process_list")
        .max_height(ui.available_height() * 0.55);
    scroll.show_rows(ui, row_height, total_rows, |ui, range| {
        let n = rows.len();
        let visible = &rows[rows_in_view(range, n)];
        egui::Grid::new("process_grid")
            .striped(true)
            .num_columns(6)
            .spacing([6.0, 3.0])
            .show(ui, |ui| {
                ui.small("pid");
                ui.small("name");
                ui.small("state");
                ui.small("memory");
                ui.small("worker");
                ui.small("");
                ui.end_row();
                for &(process, view) in visible {
                    let pid = process.pid;
                    let selected = data.selection.0 == Some(pid);
                    if ui.selectable_label(selected, pid.0.to_string()).clicked() {
                        actions.select = Some(Some(pid));
                    }
                    let name = egui::RichText::new(&view.name)
                        .color(theme.program_color(&view.name).egui());
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
                    // Square ends: a rounded fill of a small fraction is a disc over the text.
                    text_bar(
                        ui,
                        MEMORY_BAR_WIDTH,
                        fraction,
                        format_bytes(view.metrics.memory_size as u64),
                        Some(theme.memory_bar.egui()),
                        false,
                    );
                    ui.small(view.worker_id.map_or("-".to_string(), |w| w.to_string()));
                    if view.state.is_zombie() {
                        if ui
                            .small_button("dismiss")
                            .on_hover_text("reap: remove from the process table")
                            .clicked()
                        {
                            actions.intents.push(SupervisorIntent::Reap { pid });
                        }
                    } else if view.protected {
                        ui.small("protected")
                            .on_hover_text(kill_refusal(pid, view).unwrap_or_default());
                    } else if ui.small_button("kill").clicked() {
                        actions.intents.push(SupervisorIntent::Kill { pid });
                        actions
                            .toasts
                            .push((format!("Killing {} (pid {})", view.name, pid.0), false));
                    }
                    ui.end_row();
                }
            });
    });
    ui.separator();
    ended_ui(ui, supervisor, data, actions);
    ui.separator();
    ui.strong("Spawn");
    ui.horizontal_wrapped(|ui| {
        for program in &supervisor.manifest().programs {
            if program.protected || program.name == "init" {
                continue;
            }
            let button = egui::Button::new(
                egui::RichText::new(&program.name).color(theme.program_color(&program.name).egui()),
            );
            if ui.add(button).on_hover_text(&program.description).clicked() {
                actions.intents.push(SupervisorIntent::Spawn {
                    program: program.name.clone(),
                });
            }
        }
    });
    load_program_ui(ui, data, actions);
    ui.separator();
    memory_map_ui(ui, supervisor, data, actions);
}

/// The memory column's width.
const MEMORY_BAR_WIDTH: f32 = 70.0;

/// "Load program…": the browser's file picker (dropping a file on the canvas does the same), or
/// natively a path; and why the served manifest is not in use, if it is not.
fn load_program_ui(ui: &mut egui::Ui, data: &PanelData, actions: &mut UiActions) {
    ui.horizontal_wrapped(|ui| {
        #[cfg(target_arch = "wasm32")]
        {
            let button = ui.button("Load program…").on_hover_text(
                "run your own .wasm (C with clang --target=wasm32-wasi, Rust wasm32-wasip1, or the Orbital SDK); or drop it on the canvas",
            );
            actions.control("load_program", button.rect);
            if button.clicked() {
                crate::web::drop::open_file_picker(None);
            }
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            // The path typed so far lives in egui's memory, with the field.
            let id = egui::Id::new(crate::ui_state::PROGRAM_PATH);
            let mut path = ui.data_mut(|d| d.get_temp::<String>(id).unwrap_or_default());
            let field = ui.add(
                egui::TextEdit::singleline(&mut path)
                    .id(id)
                    .desired_width(150.0)
                    .hint_text("path/to/program.wasm"),
            );
            let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            let button = ui.button("Load program…").on_hover_text("run your own .wasm file as a process");
            actions.control("load_program", button.rect);
            if (button.clicked() || entered)
                && let Err(why) = crate::files::read_path(&path, &data.files)
            {
                actions.toasts.push((why, true));
            }
            ui.data_mut(|d| d.insert_temp(id, path));
        }
    });
    if let Some(notice) = &data.programs.manifest_notice {
        ui.colored_label(data.theme.state_zombie.egui(), notice);
    }
}

/// Why a process ended, in words for the list ("killed by pid 2", "killed from the playground").
pub(super) fn exit_reason_text(reason: &ExitReason) -> String {
    match reason {
        ExitReason::Killed { by: None } => "killed from the playground".into(),
        other => other.to_string(),
    }
}

/// The items (of `n`) that a `show_rows` range covers when its row 0 is a header.
fn rows_in_view(range: std::ops::Range<usize>, n: usize) -> std::ops::Range<usize> {
    range.start.min(n)..range.end.saturating_sub(1).max(range.start).min(n)
}

/// Processes that are gone from the table (killed), newest first, with their exit reason and
/// final metrics; and the button that clears them with the traffic and capability logs.
fn ended_ui(ui: &mut egui::Ui, supervisor: &Supervisor, data: &PanelData, actions: &mut UiActions) {
    let theme = &data.theme;
    let ended = supervisor.viewed_kernel().ended_processes();
    ui.horizontal(|ui| {
        ui.strong(format!("Ended ({})", ended.len()));
        let clear = ui
            .button("Clear")
            .on_hover_text("forget ended processes and empty the IPC traffic and capability logs");
        actions.control("clear_logs", clear.rect);
        if clear.clicked() {
            actions.intents.push(SupervisorIntent::ClearLogs);
            actions
                .toasts
                .push(("Cleared ended processes and the logs".into(), false));
        }
    });
    if ended.is_empty() {
        ui.small(
            "Killed processes stay listed here (reason and final metrics) until you clear them.",
        );
        return;
    }
    // Up to the kernel's 256 ended processes: only the rows in view are laid out (building all of
    // them every frame doubled the panels' time after a few hundred kills). Row 0 is the header.
    let row_height = ui.text_style_height(&egui::TextStyle::Body) + 2.0;
    let total_rows = ended.len() + 1;
    egui::ScrollArea::vertical()
        .id_salt("ended_list")
        .max_height(110.0)
        .show_rows(ui, row_height, total_rows, |ui, range| {
            let shown = rows_in_view(range, ended.len());
            egui::Grid::new("ended_grid")
                .striped(true)
                .num_columns(4)
                .spacing([6.0, 2.0])
                .show(ui, |ui| {
                    ui.small("pid");
                    ui.small("name");
                    ui.small("how it ended");
                    ui.small("final: memory / syscalls / IPC sent, received");
                    ui.end_row();
                    for process in ended.iter().rev().skip(shown.start).take(shown.len()) {
                        let m = &process.metrics;
                        ui.small(process.pid.0.to_string());
                        ui.label(
                            egui::RichText::new(&process.name)
                                .color(theme.program_color(&process.name).egui()),
                        );
                        ui.colored_label(
                            theme.state_zombie.egui(),
                            exit_reason_text(&process.reason),
                        );
                        ui.small(format!(
                            "{} / {} / {}, {}",
                            format_bytes(m.memory_size as u64),
                            m.syscall_count,
                            m.ipc_sent,
                            m.ipc_received
                        ));
                        ui.end_row();
                    }
                });
        });
}

/// One bar: each process's memory as a segment in its program's colour, to scale.
fn memory_map_ui(
    ui: &mut egui::Ui,
    supervisor: &Supervisor,
    data: &PanelData,
    actions: &mut UiActions,
) {
    let theme = &data.theme;
    let total: u64 = data
        .processes
        .iter()
        .map(|(_, v)| v.metrics.memory_size as u64)
        .sum();
    let scale_bytes = total.max(16 * 1024 * 1024);
    ui.strong(format!("Memory map · {} in use", format_bytes(total)));
    let width = ui.available_width();
    let (rect, response) = ui.allocate_exact_size(egui::vec2(width, 22.0), egui::Sense::click());
    // The panel's clip rectangle, not one of the bar's own (which would be a draw of its own): the
    // segments are kept inside the bar below.
    let painter = ui.painter();
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
        let segment = egui::Rect::from_min_max(
            egui::pos2(x, rect.min.y),
            egui::pos2((x + w).min(rect.max.x), rect.max.y),
        );
        let mut color = theme.program_color(&view.name).egui();
        if data.selection.0 == Some(process.pid) {
            color = theme.selection.egui();
        }
        painter.rect_filled(segment.shrink2(egui::vec2(0.5, 0.0)), 0.0, color);
        if pointer.is_some_and(|p| segment.contains(p)) {
            hovered = Some((
                process.pid,
                format!(
                    "{} (pid {}): {}",
                    view.name,
                    process.pid.0,
                    format_bytes(bytes)
                ),
            ));
        }
        x += w;
    }
    if let Some((pid, text)) = hovered
        && response.on_hover_text(text).clicked()
    {
        actions.select = Some(Some(pid));
    }
    let limit = supervisor.viewed_kernel().config().memory_limit_bytes;
    ui.small(format!(
        "bar = {} · per-process limit {}",
        format_bytes(scale_bytes),
        format_bytes(limit)
    ));
}
