//! Things drawn over the canvas: the help overlay (keyboard shortcuts), toasts (refusals and
//! confirmations), the node tooltip and the scenario title.

use bevy_egui::egui;

use super::{PanelData, PanelState, UiActions, format_bytes};
use crate::classroom::SHORTCUTS;
use crate::graph::Toasts;
use crate::supervisor::{MailboxStatus, Supervisor};

pub(super) fn overlays_ui(
    ctx: &egui::Context,
    canvas: egui::Rect,
    _supervisor: &Supervisor,
    data: &PanelData,
    state: &mut PanelState,
    toasts: &Toasts,
    _actions: &mut UiActions,
) {
    let theme = &data.theme;
    if state.show_help {
        egui::Window::new("Keyboard shortcuts")
            .open(&mut state.show_help)
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
                ui.label("Mouse: drag a node to move it, drop it on the red zone to kill it, click to inspect,");
                ui.label("wheel to zoom, right- or middle-drag to pan.");
            });
    }

    // Scenario title, top-left of the canvas.
    if let Some(title) = &data.scenario.current_title {
        egui::Area::new(egui::Id::new("scenario_title"))
            .fixed_pos(canvas.left_top() + egui::vec2(12.0, 8.0))
            .interactable(false)
            .show(ctx, |ui| {
                ui.label(egui::RichText::new(title).strong().color(theme.text.egui()));
                if let Some(description) = &data.scenario.current_description {
                    ui.set_max_width((canvas.width() * 0.6).max(200.0));
                    ui.label(egui::RichText::new(description).small().color(theme.text_weak.egui()));
                }
            });
    }

    // Toasts, bottom-centre of the canvas.
    if !toasts.items.is_empty() {
        egui::Area::new(egui::Id::new("toasts"))
            .anchor(egui::Align2::CENTER_BOTTOM, egui::vec2(canvas.center().x - ctx.viewport_rect().center().x, canvas.max.y - ctx.viewport_rect().max.y - 12.0))
            .interactable(false)
            .show(ctx, |ui| {
                for toast in &toasts.items {
                    let alpha = (Toasts::LIFETIME_SECS - toast.age_secs).clamp(0.0, 1.0);
                    let color = if toast.is_error { theme.error } else { theme.ok };
                    egui::Frame::popup(ui.style()).stroke(egui::Stroke::new(2.0, color.egui().gamma_multiply(alpha))).show(ui, |ui| {
                        ui.label(egui::RichText::new(&toast.text).color(theme.text.egui().gamma_multiply(alpha)));
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
                    ui.label(format!("memory {}", format_bytes(view.metrics.memory_size as u64)));
                    let mailbox = match view.mailbox {
                        MailboxStatus::Idle => "idle",
                        MailboxStatus::Pending => "pending",
                        MailboxStatus::Ready => "ready",
                    };
                    ui.label(format!("mailbox {mailbox} · {} syscalls", view.metrics.syscall_count));
                    ui.label(format!("IPC {} sent / {} received", view.metrics.ipc_sent, view.metrics.ipc_received));
                    if view.protected {
                        ui.small("protected: cannot be killed");
                    }
                });
            });
    }
}
