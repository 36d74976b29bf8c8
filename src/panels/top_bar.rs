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
            // Every live figure sits in a slot as wide as its widest expected text, so the
            // controls after it stay put while it counts (a button that moves is missed).
            let (uptime, memory) = (
                format_ns(metrics.uptime_ns),
                format_bytes(metrics.total_memory),
            );
            let (ipc, syscalls) = (data.stats.ipc_per_sec, data.stats.syscalls_per_sec);
            if plan.compact_status {
                // Classroom mode: large type, so short labels and no title (two rows at 1024 px).
                // One slot for the line (fewer gaps than five); the template is a class's usual
                // figures at their widest: past an hour or 99,999 syscalls/s the slot grows.
                figure(
                    ui,
                    format!(
                        "up {uptime} · {} processes · {memory} · IPC/s {ipc:.0} · syscalls/s {syscalls:.0}",
                        metrics.processes
                    ),
                    "up 00:00.0 · 000 processes · 000.0 MiB · IPC/s 00000 · syscalls/s 00000",
                );
            } else {
                ui.strong("Orbital Playground");
                ui.separator();
                figure(ui, format!("uptime {uptime}"), "uptime 0:00:00.0");
                figure(ui, format!("processes {}", metrics.processes), "processes 000");
                figure(ui, format!("memory {memory}"), "memory 000.0 MiB");
                figure(ui, format!("IPC/s {ipc:.0}"), "IPC/s 000000");
                figure(ui, format!("syscalls/s {syscalls:.0}"), "syscalls/s 000000");
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
            // Running under the software renderer's ceiling is not "full speed": say so.
            let paced_at = data
                .quality
                .syscall_ceiling
                .filter(|_| time == TimeControl::Running);
            let shown = if paced_at.is_some() {
                "paced"
            } else {
                speed_label(time)
            };
            let speed = egui::RichText::new(shown).color(if time == TimeControl::Running {
                theme.text_weak.egui()
            } else {
                theme.warning.egui()
            });

            let widest = [
                TimeControl::Running,
                TimeControl::Paused,
                TimeControl::QUARTER,
                TimeControl::SIXTEENTH,
                TimeControl::Slow { syscalls_per_sec: 1.0 },
            ]
            .into_iter()
            .map(speed_label)
            .max_by(|a, b| {
                let width = |t: &&str| text_width(ui, t, egui::TextStyle::Body);
                width(a).total_cmp(&width(b))
            })
            .unwrap_or_default();
            let shown = figure(ui, speed, widest);
            if let Some(per_sec) = paced_at {
                shown.on_hover_text(format!(
                    "Running, at most {per_sec:.0} syscalls/s: the software renderer draws with \
                     the CPU the guests would take. Quality picker: \"guests at full speed\"."
                ));
            }

            // Scenario picker.
            let current = data
                .scenario
                .current
                .clone()
                .unwrap_or_else(|| "(none)".into());
            // As wide as the longest name, so the buttons after it stay put when it changes.
            let picker_width = SCENARIO_NAMES
                .iter()
                .map(|name| combo_width(ui, &format!("scenario: {name}")))
                .fold(0.0, f32::max);
            // A combo box does not wrap by itself (it would be cut off at the window's edge): with
            // the projector theme's large type the bar always needs a second row here (and no
            // separator, which at 1024 px would wrap onto a row of its own); in the standard theme,
            // a new row when the picker and a separator before it would not fit on this one.
            if theme.mode == ThemeMode::Projector || !fits_on_row(ui, picker_width + 12.0) {
                ui.end_row();
            } else {
                ui.separator();
            }
            let picker = egui::ComboBox::from_id_salt("scenario")
                .width(picker_width)
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
            // Last in the row: it comes and goes, and nothing after it may move.
            if let Some(loading) = data.scenario.loading_name() {
                ui.label(format!("loading {loading}…"));
            }
        });
        if let Some(error) = &data.scenario.error {
            ui.colored_label(theme.error.egui(), format!("Scenario not loaded: {error}"));
        }
        if plan.compact_status {
            // Classroom mode: no row of its own for the renderer; its status is the picker's tooltip.
            return;
        }
        // Wrapped, so the quality picker moves to a row of its own on a narrow window instead of
        // past its edge.
        ui.horizontal_wrapped(|ui| {
            ui.small(&data.quality.status);
            quality_ui(ui, data, actions);
            ui.small(format!(
                "particles {} · aggregated messages {}",
                data.graph.live_particles, data.graph.aggregated_messages
            ));
        });
    });
}

/// The width of a combo box showing `text` (a combo box does not wrap in a wrapping row).
fn combo_width(ui: &egui::Ui, text: &str) -> f32 {
    text_width(ui, text, egui::TextStyle::Button)
        + ui.spacing().icon_spacing
        + ui.spacing().icon_width
        + 2.0 * ui.spacing().button_padding.x
}

/// Whether `width` more fits on the current row of a wrapping layout.
fn fits_on_row(ui: &egui::Ui, width: f32) -> bool {
    ui.available_size_before_wrap().x >= width + ui.spacing().item_spacing.x
}

/// The width of `text` in `style` in this ui.
fn text_width(ui: &egui::Ui, text: &str, style: egui::TextStyle) -> f32 {
    ui.painter()
        .layout_no_wrap(
            text.to_owned(),
            style.resolve(ui.style()),
            egui::Color32::PLACEHOLDER,
        )
        .size()
        .x
}

/// A label in a slot at least as wide as `widest` (in body text), left-aligned: a figure that
/// counts keeps the widgets after it in place.
pub(super) fn figure(
    ui: &mut egui::Ui,
    text: impl Into<egui::WidgetText>,
    widest: &str,
) -> egui::Response {
    let width = text_width(ui, widest, egui::TextStyle::Body);
    let height = ui.spacing().interact_size.y;
    ui.allocate_ui_with_layout(
        egui::vec2(width, height),
        egui::Layout::left_to_right(egui::Align::Center),
        |ui| {
            ui.set_min_width(width);
            ui.add(egui::Label::new(text).extend())
        },
    )
    .inner
}

/// The render quality picker (auto, full, reduced; the canvas's resolution in the browser).
fn quality_ui(ui: &mut egui::Ui, data: &PanelData, actions: &mut UiActions) -> egui::Response {
    if !fits_on_row(ui, combo_width(ui, "quality: reduced")) {
        ui.end_row();
    }
    let picker = egui::ComboBox::from_id_salt("quality")
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
            // In the browser: how many of the canvas's pixels are drawn (web/render_scale.js).
            if let Some((current, _)) = data.render_scale.page {
                ui.separator();
                for resolution in crate::render_quality::Resolution::ALL {
                    let pick = ui
                        .selectable_label(current == resolution, resolution.label())
                        .on_hover_text(
                            "How many pixels the canvas is drawn at; the browser scales them up to \
                             its size. Fewer pixels draw faster with a software renderer (a \
                             computer without a graphics card), and text gets softer.",
                        );
                    actions.control(&format!("resolution:{}", resolution.page_name()), pick.rect);
                    if pick.clicked() {
                        actions.resolution = Some(resolution);
                    }
                }
                if let Some(error) = &data.render_scale.error {
                    ui.colored_label(data.theme.error.egui(), error);
                }
            }
            ui.separator();
            let mut full_speed = data.quality_settings.guests_full_speed;
            if ui
                .checkbox(&mut full_speed, "guests at full speed")
                .on_hover_text(
                    "With reduced effects, running guests are paced so that drawing keeps a core \
                     (a software renderer draws with the CPU). Tick to let them run flat out.",
                )
                .changed()
            {
                actions.guests_full_speed = Some(full_speed);
            }
        })
        .response;
    actions.control("quality_picker", picker.rect);
    picker
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where a button after a figure showing `text` is laid out, in a 1280-point-wide ui.
    fn button_after(ctx: &egui::Context, text: &str) -> egui::Rect {
        let mut rect = egui::Rect::NOTHING;
        let input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(
                egui::Pos2::ZERO,
                egui::vec2(1280.0, 800.0),
            )),
            ..Default::default()
        };
        let mut output = ctx.run_ui(input, |ui| {
            ui.horizontal_wrapped(|ui| {
                figure(ui, text, "IPC/s 000000");
                rect = ui.button("⏸ Pause").rect;
            });
        });
        output.textures_delta.clear();
        rect
    }

    #[test]
    fn a_counting_figure_does_not_move_the_button_after_it() {
        let ctx = egui::Context::default();
        let narrow = button_after(&ctx, "IPC/s 0");
        let wide = button_after(&ctx, "IPC/s 123456");
        assert_eq!(narrow, wide);
        // A text wider than the slot's template still shows whole: the slot grows.
        let wider = button_after(&ctx, "IPC/s 123456789012");
        assert!(wider.min.x > wide.min.x, "{wider:?} vs {wide:?}");
    }
}
