//! The timeline strip under the graph: the recording's span with its markers (spawns, kills,
//! exits, traps, denied requests), a cursor to drag, step and marker buttons, Live, and the
//! recording's files (save, open, export trace). While the cursor is in the past,
//! [`past_banner_ui`] says so above the graph.

use bevy_egui::egui;
use orbital_supervisor::recording::{Marker, MarkerKind};

use super::{PanelData, UiActions, format_bytes, format_ns};
use crate::supervisor::{Supervisor, SupervisorIntent};
use crate::theme::Theme;

/// The strip: buttons and position on the first row, the track below.
pub(super) fn timeline_ui(
    ui: &mut egui::Ui,
    supervisor: &Supervisor,
    data: &PanelData,
    actions: &mut UiActions,
) {
    let theme = &data.theme;
    let timeline = supervisor.timeline();
    ui.horizontal_wrapped(|ui| {
        let mut button = |ui: &mut egui::Ui, name: &str, label: &str, hover: &str, intent: SupervisorIntent, enabled: bool| {
            let response = ui.add_enabled(enabled, egui::Button::new(label)).on_hover_text(hover);
            actions.control(name, response.rect);
            if response.clicked() {
                actions.intents.push(intent);
            }
        };
        let has_inputs = timeline.inputs > timeline.first;
        button(ui, "timeline:prev_marker", "⏮", "previous marker (spawn, kill, exit, trap, denied)", SupervisorIntent::PrevMarker, has_inputs);
        button(ui, "timeline:step_back", "◀", "step back one input (,)", SupervisorIntent::StepBack, timeline.cursor > timeline.first);
        button(ui, "timeline:step_forward", "▶", "step forward one input (.)", SupervisorIntent::StepForward, !timeline.live);
        button(ui, "timeline:next_marker", "⏭", "next marker", SupervisorIntent::NextMarker, !timeline.live);
        let live = ui
            .add(egui::Button::selectable(timeline.live, egui::RichText::new("● Live").color(if timeline.live {
                theme.ok.egui()
            } else {
                theme.text.egui()
            })))
            .on_hover_text("back to the present (Esc)");
        actions.control("timeline:live", live.rect);
        if live.clicked() && !timeline.live {
            actions.intents.push(SupervisorIntent::GoLive);
        }
        ui.separator();
        let position = if timeline.live {
            format!("live · {} inputs recorded", timeline.inputs)
        } else {
            format!("input {} of {} · t = {}", timeline.cursor, timeline.inputs, format_ns(timeline.cursor_ns))
        };
        ui.monospace(position);
        if !timeline.recording {
            ui.colored_label(theme.warning.egui(), "recording off");
        }
        if timeline.replay_only {
            ui.colored_label(theme.accent.egui(), "imported recording: replay only");
        }
        ui.separator();
        let save = ui.button("Save recording").on_hover_text(format!(
            "one file with the base snapshot, every input and the program manifest ({} of inputs held)",
            format_bytes(timeline.input_bytes as u64)
        ));
        actions.control("timeline:save", save.rect);
        if save.clicked() {
            actions.save_recording = true;
        }
        let open = ui.button("Open recording").on_hover_text("replay a saved recording (no guest starts); or drop the file on the canvas");
        actions.control("timeline:open", open.rect);
        if open.clicked() {
            actions.open_recording = true;
        }
        let trace = ui.button("Export trace").on_hover_text("Chrome Trace Event JSON: opens in ui.perfetto.dev or chrome://tracing");
        actions.control("timeline:trace", trace.rect);
        if trace.clicked() {
            actions.export_trace = true;
        }
    });
    track_ui(ui, supervisor, theme, &timeline, actions);
}

/// The colour of a marker on the track and in the sequence chart.
pub(super) fn marker_color(theme: &Theme, kind: &MarkerKind) -> egui::Color32 {
    match kind {
        MarkerKind::Spawn { .. } => theme.ok.egui(),
        MarkerKind::Kill { .. } => theme.state_zombie.egui(),
        MarkerKind::Exit { .. } => theme.text_weak.egui(),
        MarkerKind::Trap { .. } => theme.warning.egui(),
        MarkerKind::Denied { .. } => theme.edge_denied.egui(),
    }
}

fn marker_text(supervisor: &Supervisor, marker: &Marker) -> String {
    let who = supervisor
        .viewed_kernel()
        .process(crate::kernel::ProcessId(marker.pid))
        .map_or_else(
            || format!("pid {}", marker.pid),
            |p| format!("{} ({})", p.name, marker.pid),
        );
    let what = match &marker.kind {
        MarkerKind::Spawn { name } => format!("spawn {name} (pid {})", marker.pid),
        MarkerKind::Kill { by: Some(by) } => format!("{who} killed by pid {by}"),
        MarkerKind::Kill { by: None } => format!("{who} killed"),
        MarkerKind::Exit { code } => format!("{who} exited with {code}"),
        MarkerKind::Trap { message } => format!("{who} trapped: {message}"),
        MarkerKind::Denied { error, .. } => format!("{who} denied: {error}"),
    };
    format!(
        "input {} · t = {} · {what}",
        marker.index,
        format_ns(marker.at_ns)
    )
}

/// The track: span, markers (one tick per pixel column and kind), the cursor; click or drag to seek.
fn track_ui(
    ui: &mut egui::Ui,
    supervisor: &Supervisor,
    theme: &Theme,
    timeline: &orbital_supervisor::recording::Timeline,
    actions: &mut UiActions,
) {
    let height = 26.0;
    let (rect, response) = ui.allocate_exact_size(
        egui::vec2(ui.available_width(), height),
        egui::Sense::click_and_drag(),
    );
    actions.control("timeline:track", rect);
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 3.0, theme.memory_bar_back.egui());
    let span = timeline.inputs.saturating_sub(timeline.first).max(1) as f32;
    let x_of = |index: u64| {
        rect.left() + (index.saturating_sub(timeline.first) as f32 / span) * rect.width()
    };
    let index_of = |x: f32| {
        let fraction = ((x - rect.left()) / rect.width()).clamp(0.0, 1.0);
        timeline.first + (fraction * span).round() as u64
    };
    // Markers: many thousands in a long recording; one tick per pixel column and kind.
    let mut drawn: std::collections::HashSet<(i32, u8)> = std::collections::HashSet::new();
    for marker in supervisor.markers() {
        let x = x_of(marker.index);
        let kind = match marker.kind {
            MarkerKind::Spawn { .. } => 0,
            MarkerKind::Kill { .. } => 1,
            MarkerKind::Exit { .. } => 2,
            MarkerKind::Trap { .. } => 3,
            MarkerKind::Denied { .. } => 4,
        };
        if !drawn.insert((x as i32, kind)) {
            continue;
        }
        // Denied requests low, lifecycle markers high, so both stay visible where they crowd.
        let (top, bottom) = if kind == 4 {
            (rect.center().y, rect.bottom() - 2.0)
        } else {
            (rect.top() + 2.0, rect.center().y)
        };
        painter.line_segment(
            [egui::pos2(x, top), egui::pos2(x, bottom)],
            egui::Stroke::new(2.0, marker_color(theme, &marker.kind)),
        );
    }
    // The cursor.
    let x = x_of(timeline.cursor);
    let cursor_color = if timeline.live {
        theme.ok.egui()
    } else {
        theme.warning.egui()
    };
    painter.line_segment(
        [egui::pos2(x, rect.top()), egui::pos2(x, rect.bottom())],
        egui::Stroke::new(3.0, cursor_color),
    );
    painter.circle_filled(egui::pos2(x, rect.top() + 4.0), 5.0, cursor_color);
    actions.control(
        "timeline:cursor",
        egui::Rect::from_center_size(egui::pos2(x, rect.center().y), egui::vec2(10.0, height)),
    );

    if let Some(pointer) = response.hover_pos() {
        let at = index_of(pointer.x);
        let near = supervisor
            .markers()
            .filter(|m| (x_of(m.index) - pointer.x).abs() < 4.0)
            .min_by_key(|m| m.index.abs_diff(at));
        let text = match near {
            Some(marker) => marker_text(supervisor, marker),
            None => format!("input {at} of {}", timeline.inputs),
        };
        response.clone().on_hover_text_at_pointer(text);
    }
    if (response.clicked() || response.dragged())
        && let Some(pointer) = response.interact_pointer_pos()
    {
        let at = index_of(pointer.x);
        if at >= timeline.inputs {
            if !timeline.live {
                actions.intents.push(SupervisorIntent::GoLive);
            }
        } else if at != timeline.cursor || timeline.live {
            actions.intents.push(SupervisorIntent::Seek(at));
        }
    }
}

/// The banner above the graph while the view is in the past.
pub(super) fn past_banner_ui(
    ui: &mut egui::Ui,
    supervisor: &Supervisor,
    data: &PanelData,
    actions: &mut UiActions,
) {
    let theme = &data.theme;
    let timeline = supervisor.timeline();
    let frame = egui::Frame::new()
        .fill(theme.warning.egui())
        .inner_margin(egui::Margin::symmetric(10, 6))
        .corner_radius(3.0);
    let shown = frame.show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.horizontal_wrapped(|ui| {
            let text = format!(
                "viewing the past: t = {}, input {} of {}, Esc for live",
                format_ns(timeline.cursor_ns),
                timeline.cursor,
                timeline.inputs
            );
            ui.label(
                egui::RichText::new(text)
                    .strong()
                    .size(16.0)
                    .color(egui::Color32::BLACK),
            );
            if let Some(input) = timeline
                .cursor
                .checked_sub(1)
                .and_then(|i| supervisor.input_at(i))
            {
                ui.label(
                    egui::RichText::new(format!("· last input: {}", input.text))
                        .color(egui::Color32::BLACK),
                );
            }
            if !timeline.replay_only {
                ui.label(
                    egui::RichText::new("· the live system keeps running underneath")
                        .small()
                        .color(egui::Color32::BLACK),
                );
            }
        });
    });
    actions.control("past_banner", shown.response.rect);
}
