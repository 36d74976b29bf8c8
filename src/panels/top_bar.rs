//! The top bar: what the system is doing (uptime, processes, memory, IPC/s, syscalls/s), the
//! time controls, the scenario picker, classroom mode and the renderer status line.

use bevy_egui::egui;

use super::{
    InspectorPlacement, PanelData, PanelPlan, PanelToggles, UiActions, format_bytes, format_ns,
};
use crate::render_quality::QualityOverride;
use crate::scenario::SCENARIO_NAMES;
use crate::supervisor::{Supervisor, SupervisorIntent, TimeControl};
use crate::theme::ThemeMode;
use crate::ui_state::{ControlState, speed_label};

pub(super) fn top_bar_ui(
    root: &mut egui::Ui,
    supervisor: &Supervisor,
    data: &PanelData,
    controls: &mut ControlState,
    actions: &mut UiActions,
    (plan, toggles): (&PanelPlan, &mut PanelToggles),
) {
    let theme = &data.theme;
    egui::Panel::top("top_bar").show(root, |ui| {
        ui.horizontal_wrapped(|ui| {
            let metrics = supervisor
                .viewed_kernel()
                .system_metrics(super::viewed_now_ns(supervisor));
            if plan.compact_status {
                // Classroom mode: large type, so short labels and no title (two rows at 1024 px).
                ui.label(format!(
                    "up {} · {} processes · {} · IPC/s {:.0} · syscalls/s {:.0}",
                    format_ns(metrics.uptime_ns),
                    metrics.processes,
                    format_bytes(metrics.total_memory),
                    data.stats.ipc_per_sec,
                    data.stats.syscalls_per_sec
                ));
            } else {
                ui.strong("Orbital Playground");
                ui.separator();
                ui.label(format!("uptime {}", format_ns(metrics.uptime_ns)));
                ui.label(format!("processes {}", metrics.processes));
                ui.label(format!("memory {}", format_bytes(metrics.total_memory)));
                ui.label(format!("IPC/s {:.0}", data.stats.ipc_per_sec));
                ui.label(format!("syscalls/s {:.0}", data.stats.syscalls_per_sec));
            }
            ui.separator();

            // Time controls.
            let time = supervisor.time_control();
            let paused = time == TimeControl::Paused;
            let pause = ui
                .selectable_label(paused, "⏸ Pause")
                .on_hover_text("space");
            actions.control("pause", pause.rect);
            if pause.clicked() {
                if paused {
                    actions
                        .intents
                        .push(SupervisorIntent::SetTime(controls.resume_speed));
                } else {
                    controls.resume_speed = time;
                    actions
                        .intents
                        .push(SupervisorIntent::SetTime(TimeControl::Paused));
                }
            }
            let step = ui
                .button("⏭ Step")
                .on_hover_text("s: service exactly one syscall");
            actions.control("step", step.rect);
            if step.clicked() {
                actions.intents.push(SupervisorIntent::Step);
            }
            for (label, speed) in [
                ("1/16x", TimeControl::SIXTEENTH),
                ("1/4x", TimeControl::QUARTER),
                ("1x", TimeControl::Running),
            ] {
                let button = ui
                    .selectable_label(time == speed, label)
                    .on_hover_text(speed.label());
                actions.control(&format!("speed:{label}"), button.rect);
                if button.clicked() {
                    actions.intents.push(SupervisorIntent::SetTime(speed));
                }
            }
            ui.label(egui::RichText::new(speed_label(time)).color(
                if time == TimeControl::Running {
                    theme.text_weak.egui()
                } else {
                    theme.warning.egui()
                },
            ));
            ui.separator();

            // Scenario picker. With the projector theme's large type the bar needs two rows: a combo
            // box does not wrap by itself (it would be cut off at the window's edge).
            if theme.mode == ThemeMode::Projector {
                ui.end_row();
            }
            let current = data
                .scenario
                .current
                .clone()
                .unwrap_or_else(|| "(none)".into());
            let picker = egui::ComboBox::from_id_salt("scenario")
                .selected_text(format!("scenario: {current}"))
                .show_ui(ui, |ui| {
                    for name in SCENARIO_NAMES {
                        let item = ui
                            .selectable_label(data.scenario.current.as_deref() == Some(name), name);
                        actions.control(&format!("scenario:{name}"), item.rect);
                        if item.clicked() {
                            actions.load_scenario = Some(name.to_string());
                        }
                    }
                });
            actions.control("scenario_picker", picker.response.rect);
            if let Some(loading) = data.scenario.loading_name() {
                ui.label(format!("loading {loading}…"));
            }
            ui.separator();
            let chart = ui
                .button("Sequence chart")
                .on_hover_text("who sent what to whom, up to the timeline's cursor");
            actions.control("sequence_chart_toggle", chart.rect);
            if chart.clicked() {
                actions.toggle_chart = true;
            }
            let projector = theme.mode == ThemeMode::Projector;
            let classroom = ui
                .selectable_label(projector, "Classroom")
                .on_hover_text("projector theme: high contrast, large type (p)");
            actions.control("classroom", classroom.rect);
            if classroom.clicked() {
                actions.theme_mode = Some(if projector {
                    ThemeMode::Standard
                } else {
                    ThemeMode::Projector
                });
            }
            // Panels a person may close to give the canvas the room (classroom mode starts with
            // the process list closed and the inspector as a drawer).
            let list = ui
                .selectable_label(plan.processes, "Processes")
                .on_hover_text("show or hide the process list");
            actions.control("toggle:processes", list.rect);
            if list.clicked() {
                toggles.processes = Some(!plan.processes);
            }
            let inspector_on = plan.inspector != InspectorPlacement::Hidden
                || (plan.compact_status && toggles.inspector != Some(false));
            let inspector = ui
                .selectable_label(inspector_on, "Inspector")
                .on_hover_text("show or hide the inspector (in classroom mode it opens over the canvas when you select a process)");
            actions.control("toggle:inspector", inspector.rect);
            if inspector.clicked() {
                toggles.inspector = Some(!inspector_on);
            }
            let picture = ui
                .button("Save picture")
                .on_hover_text("save the canvas (the graph, without the panels) as a PNG for a handout");
            actions.control("save_picture", picture.rect);
            if picture.clicked() {
                actions.save_picture = true;
            }
            if ui.button("?").on_hover_text("keyboard shortcuts").clicked() {
                controls.show_help = !controls.show_help;
            }
            if plan.compact_status {
                quality_ui(ui, data, actions).on_hover_text(&data.quality.status);
            }
        });
        if let Some(error) = &data.scenario.error {
            ui.colored_label(theme.error.egui(), format!("Scenario not loaded: {error}"));
        }
        if plan.compact_status {
            // Classroom mode: no row of its own for the renderer; its status is the picker's tooltip.
            return;
        }
        ui.horizontal(|ui| {
            ui.small(&data.quality.status);
            quality_ui(ui, data, actions);
            ui.small(format!(
                "particles {} · aggregated messages {}",
                data.graph.live_particles, data.graph.aggregated_messages
            ));
        });
    });
}

/// The render quality picker (auto, full, reduced).
fn quality_ui(ui: &mut egui::Ui, data: &PanelData, actions: &mut UiActions) -> egui::Response {
    egui::ComboBox::from_id_salt("quality")
        .selected_text(match data.quality_settings.mode {
            QualityOverride::Auto => "quality: auto",
            QualityOverride::Full => "quality: full",
            QualityOverride::Reduced => "quality: reduced",
        })
        .show_ui(ui, |ui| {
            for (mode, label) in [
                (QualityOverride::Auto, "auto (detect software rendering)"),
                (QualityOverride::Full, "full (MSAA 4x, all effects)"),
                (
                    QualityOverride::Reduced,
                    "reduced (MSAA off, fewer effects)",
                ),
            ] {
                if ui
                    .selectable_label(data.quality_settings.mode == mode, label)
                    .clicked()
                {
                    actions.quality = Some(mode);
                }
            }
        })
        .response
}
