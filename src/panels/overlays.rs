//! Things drawn over the canvas: the help overlay (keyboard shortcuts), toasts (refusals and
//! confirmations), the node tooltip, the scenario title and, in slow motion or while paused,
//! the selected process's syscall flow (idle, pending, serviced, ready) in large type.

use bevy_egui::egui;

use super::inspector::{SYSCALL_FLOW_STAGES, syscall_flow_stage};
use super::{PanelData, UiActions, format_bytes};
use crate::graph::SyscallFlow;
use crate::supervisor::{MailboxStatus, Supervisor, TimeControl};
use crate::ui_state::{ControlState, SHORTCUTS, Toasts, speed_label};

pub(super) fn overlays_ui(
    ctx: &egui::Context,
    canvas: egui::Rect,
    supervisor: &Supervisor,
    data: &PanelData,
    controls: &mut ControlState,
    toasts: &Toasts,
    actions: &mut UiActions,
) -> Option<egui::Rect> {
    let theme = &data.theme;
    if controls.show_help {
        egui::Window::new("Keyboard shortcuts")
            .open(&mut controls.show_help)
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, egui::vec2(0.0, 0.0))
            .show(ctx, |ui| {
                egui::Grid::new("shortcuts").num_columns(2).spacing([24.0, 6.0]).show(ui, |ui| {
                    for (key, what) in SHORTCUTS {
                        ui.monospace(egui::RichText::new(key).strong());
                        ui.label(what);
                        ui.end_row();
                    }
                });
                ui.separator();
                ui.label("Mouse: click a node to inspect it; drag it to move it, or onto the red zone to kill it.");
                ui.label("Wheel to zoom; right- or middle-drag to pan.");
            });
    }

    // While a file is dragged over the canvas: what dropping it does.
    if data.files.dragging() {
        egui::Area::new(egui::Id::new("drop_hint"))
            .fixed_pos(canvas.center())
            .pivot(egui::Align2::CENTER_CENTER)
            .interactable(false)
            .order(egui::Order::Foreground)
            .show(ctx, |ui| {
                egui::Frame::popup(ui.style()).inner_margin(16.0).show(ui, |ui| {
                    ui.label(egui::RichText::new("Drop a .wasm file to run it as a process").size(20.0).strong());
                    ui.small("C (clang --target=wasm32-wasi), Rust (wasm32-wasip1) or the Orbital SDK: docs/FIRST_PROGRAM.md");
                });
            });
    }

    // Scenario title, top-left of the canvas, and below it the syscall flow in slow motion.
    let time = supervisor.time_control();
    let slow = time != TimeControl::Running;
    // The canvas keeps the graph below this corner (see `CanvasArea::overlay`).
    let mut overlay = None;
    if data.scenario.current_title.is_some() || slow {
        let shown = egui::Area::new(egui::Id::new("scenario_title"))
            .fixed_pos(canvas.left_top() + egui::vec2(12.0, 8.0))
            .interactable(false)
            .show(ctx, |ui| {
                // Stay inside the canvas (the area would otherwise grow over the inspector).
                ui.set_max_width((canvas.width() - 24.0).clamp(120.0, 520.0));
                if let Some(title) = &data.scenario.current_title {
                    ui.label(egui::RichText::new(title).strong().color(theme.text.egui()));
                    if let Some(description) = &data.scenario.current_description {
                        ui.label(
                            egui::RichText::new(description)
                                .small()
                                .color(theme.text_weak.egui()),
                        );
                    }
                }
                if slow {
                    ui.add_space(6.0);
                    actions.syscall_flow = syscall_flow_ui(ui, supervisor, data, time);
                }
            });
        overlay = Some(shown.response.rect);
    }

    // Toasts, bottom-centre of the canvas.
    if !toasts.items.is_empty() {
        egui::Area::new(egui::Id::new("toasts"))
            .anchor(
                egui::Align2::CENTER_BOTTOM,
                egui::vec2(
                    canvas.center().x - ctx.viewport_rect().center().x,
                    canvas.max.y - ctx.viewport_rect().max.y - 12.0,
                ),
            )
            .interactable(false)
            .show(ctx, |ui| {
                for toast in &toasts.items {
                    let alpha = (Toasts::LIFETIME_SECS - toast.age_secs).clamp(0.0, 1.0);
                    let color = if toast.is_error {
                        theme.error
                    } else {
                        theme.ok
                    };
                    egui::Frame::popup(ui.style())
                        .stroke(egui::Stroke::new(2.0, color.egui().gamma_multiply(alpha)))
                        .show(ui, |ui| {
                            ui.label(
                                egui::RichText::new(&toast.text)
                                    .color(theme.text.egui().gamma_multiply(alpha)),
                            );
                        });
                }
            });
    }

    // Tooltip for the node under the pointer.
    if let Some(pid) = data.hovered.0
        && let Some((_, view)) = data.processes.iter().find(|(p, _)| p.pid == pid)
        && let Some(pos) = ctx.pointer_hover_pos()
    {
        egui::Area::new(egui::Id::new("node_tooltip"))
            .fixed_pos(pos + egui::vec2(16.0, 16.0))
            .interactable(false)
            .order(egui::Order::Tooltip)
            .show(ctx, |ui| {
                egui::Frame::popup(ui.style()).show(ui, |ui| {
                    ui.strong(format!("{} · pid {}", view.name, pid.0));
                    ui.label(super::inspector::state_text(&view.state));
                    ui.label(format!(
                        "memory {}",
                        format_bytes(view.metrics.memory_size as u64)
                    ));
                    let mailbox = match view.mailbox {
                        MailboxStatus::Idle => "idle",
                        MailboxStatus::Pending => "pending",
                        MailboxStatus::Ready => "ready",
                    };
                    ui.label(format!(
                        "mailbox {mailbox} · {} syscalls",
                        view.metrics.syscall_count
                    ));
                    ui.label(format!(
                        "IPC {} sent / {} received",
                        view.metrics.ipc_sent, view.metrics.ipc_received
                    ));
                    if view.protected {
                        ui.small("protected: cannot be killed");
                    }
                });
            });
    }
    overlay
}

/// The selected process's syscall flow in large type, for a class following it in slow motion.
/// Returns what it shows for the selected process and the box's rectangle (egui points).
fn syscall_flow_ui(
    ui: &mut egui::Ui,
    supervisor: &Supervisor,
    data: &PanelData,
    time: TimeControl,
) -> Option<(Option<SyscallFlow>, egui::Rect)> {
    let theme = &data.theme;
    // The projector theme's zoom factor scales this too.
    let big = 16.0;
    let selected = data.selection.0.and_then(|pid| {
        supervisor
            .viewed_kernel()
            .process(pid)
            .map(|p| (pid, p.name.clone()))
    });
    let mut flow = None;
    let shown = egui::Frame::popup(ui.style()).show(ui, |ui| {
        let Some((pid, name)) = selected else {
            ui.label(
                egui::RichText::new(format!(
                    "{}: click a process to follow its syscalls",
                    speed_label(time)
                ))
                .size(big)
                .color(theme.text.egui()),
            );
            return;
        };
        ui.label(
            egui::RichText::new(format!(
                "{}: syscalls of {name} (pid {})",
                speed_label(time),
                pid.0
            ))
            .size(big)
            .strong()
            .color(theme.text.egui()),
        );
        let active = syscall_flow_stage(supervisor, pid, supervisor.now_ns());
        ui.horizontal_wrapped(|ui| {
            for (i, stage) in SYSCALL_FLOW_STAGES.iter().enumerate() {
                if i > 0 {
                    ui.label(
                        egui::RichText::new("->")
                            .size(big)
                            .color(theme.text_weak.egui()),
                    );
                }
                let text = egui::RichText::new(*stage).size(big);
                if i == active {
                    ui.label(
                        text.strong()
                            .background_color(theme.accent.egui())
                            .color(egui::Color32::BLACK),
                    );
                } else {
                    ui.label(text.color(theme.text_weak.egui()));
                }
            }
        });
        let last = supervisor
            .last_serviced(pid)
            .map(|c| format!("{} -> {}", c.name(), c.result));
        if let Some(last) = &last {
            ui.label(
                egui::RichText::new(format!("last syscall: {last}"))
                    .size(big * 0.85)
                    .color(theme.text.egui()),
            );
        }
        flow = Some(SyscallFlow {
            pid: pid.0,
            stage: SYSCALL_FLOW_STAGES[active].to_string(),
            last,
        });
    });
    Some((flow, shown.response.rect))
}
