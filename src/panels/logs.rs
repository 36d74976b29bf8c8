//! Bottom-panel tabs: the IPC traffic log, the capability log and the endpoint table.

use bevy_egui::egui;
use orbital_kernel::{CapAction, rights_label};

use super::text_bar::text_bar;
use super::{PanelData, PanelState, format_ns, preview_text};
use crate::supervisor::Supervisor;

fn name_of(data: &PanelData, pid: u32) -> String {
    if pid == 0 {
        return "kernel".into();
    }
    data.processes
        .iter()
        .find(|(p, _)| p.pid.0 == pid)
        .map_or_else(
            || format!("pid {pid}"),
            |(_, v)| format!("{} {pid}", v.name),
        )
}

pub(super) fn traffic_log_ui(
    ui: &mut egui::Ui,
    supervisor: &Supervisor,
    data: &PanelData,
    state: &mut PanelState,
) {
    let log = supervisor.viewed_kernel().traffic_log();
    ui.horizontal(|ui| {
        ui.label(format!("{} recent messages (newest first)", log.len()));
        ui.checkbox(
            &mut state.traffic_only_selected,
            "only the selected process",
        );
    });
    let filter = if state.traffic_only_selected {
        data.selection.0
    } else {
        None
    };
    let row_height = ui.text_style_height(&egui::TextStyle::Monospace) + 2.0;
    // Filtering allocates only when the filter is on; the plain view indexes the ring buffer.
    let filtered: Option<Vec<usize>> = filter.map(|pid| {
        (0..log.len())
            .rev()
            .filter(|&i| log[i].from == pid || log[i].to == pid)
            .collect()
    });
    let count = filtered.as_ref().map_or(log.len(), Vec::len);
    egui::ScrollArea::vertical()
        .id_salt("traffic")
        .auto_shrink([false, false])
        .show_rows(ui, row_height, count, |ui, range| {
            for row in range {
                let index = match &filtered {
                    Some(indices) => indices[row],
                    None => log.len() - 1 - row,
                };
                let t = &log[index];
                ui.monospace(format!(
                    "{:>9}  {:>14} -> {:<14} ep {:<3} tag {:<4} {:>4} B  {}",
                    format_ns(t.at_ns),
                    name_of(data, t.from.0),
                    name_of(data, t.to.0),
                    t.endpoint.0,
                    t.tag,
                    t.bytes,
                    preview_text(&t.preview)
                ));
            }
        });
}

pub(super) fn capability_log_ui(ui: &mut egui::Ui, supervisor: &Supervisor, data: &PanelData) {
    let log = supervisor.viewed_kernel().capability_log();
    ui.label(format!("{} capability changes (newest first)", log.len()));
    let row_height = ui.text_style_height(&egui::TextStyle::Monospace) + 2.0;
    egui::ScrollArea::vertical()
        .id_salt("caplog")
        .auto_shrink([false, false])
        .show_rows(ui, row_height, log.len(), |ui, range| {
            for row in range {
                let c = &log[log.len() - 1 - row];
                let action = match c.action {
                    CapAction::Create => "create".to_string(),
                    CapAction::Grant { to } => format!("grant to {}", name_of(data, to.0)),
                    CapAction::Derive => "derive".into(),
                    CapAction::Revoke => "revoke".into(),
                    CapAction::Delete => "delete".into(),
                    CapAction::Transfer { to } => format!("transfer to {}", name_of(data, to.0)),
                };
                ui.monospace(format!(
                    "{:>9}  {:>14} slot {:<3} {:<22} {} {}",
                    format_ns(c.at_ns),
                    name_of(data, c.pid.0),
                    c.slot,
                    action,
                    c.object,
                    rights_label(c.rights)
                ));
            }
        });
}

pub(super) fn endpoints_ui(ui: &mut egui::Ui, supervisor: &Supervisor, data: &PanelData) {
    let endpoints = supervisor.viewed_kernel().endpoints();
    ui.label(format!("{} endpoints", endpoints.len()));
    egui::ScrollArea::vertical()
        .id_salt("endpoints")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            egui::Grid::new("endpoint_grid")
                .striped(true)
                .num_columns(5)
                .show(ui, |ui| {
                    for h in ["endpoint", "owner", "queue", "sent", "delivered"] {
                        ui.strong(h);
                    }
                    ui.end_row();
                    for e in &endpoints {
                        ui.monospace(format!("ep {}", e.id.0));
                        ui.label(name_of(data, e.owner.0));
                        let fill = e.queue_len as f32 / e.queue_capacity.max(1) as f32;
                        text_bar(
                            ui,
                            120.0,
                            fill,
                            format!("{}/{}", e.queue_len, e.queue_capacity),
                            (fill >= 1.0).then(|| data.theme.error.egui()),
                            true,
                        );
                        ui.monospace(e.sent.to_string());
                        ui.monospace(e.delivered.to_string());
                        ui.end_row();
                    }
                });
        });
}
