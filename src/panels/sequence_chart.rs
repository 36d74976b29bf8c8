//! The sequence chart, in the style of Erlang's `et_viewer`: one lifeline per process, each
//! message an arrow from sender to receiver (slanted when it waited in a queue), blocked periods
//! drawn along the lifeline, denied requests as red marks with their error name. It shows the
//! inputs up to the timeline's cursor; filters by process and by kind; a click on an arrow
//! selects the message (the inspector shows it) and moves the cursor to just after its send.
//!
//! Rows are events, not nanoseconds (as in `et_viewer`): every input that sends, delivers,
//! blocks, wakes or is denied gets a row, so a quiet second takes no space.

use std::collections::BTreeSet;

use bevy_egui::egui;
use orbital_supervisor::recording::{ChartMessage, SequenceChart};

use super::{PanelData, UiActions, format_ns};
use crate::supervisor::{Supervisor, SupervisorIntent};

/// At most this many messages are drawn (the chart stops there and says so).
const MAX_MESSAGES: usize = 400;
/// How often a live chart is rebuilt (it replays its span).
const REFRESH_SECS: f64 = 0.5;
const ROW_PX: f32 = 18.0;
const HEADER_PX: f32 = 34.0;
const MIN_COLUMN_PX: f32 = 110.0;

/// What the chart window keeps between frames.
#[derive(Debug)]
pub struct ChartState {
    pub open: bool,
    /// How many inputs before the cursor the chart covers.
    pub span_inputs: u64,
    pub hidden_pids: BTreeSet<u32>,
    pub show_messages: bool,
    pub show_blocked: bool,
    pub show_denied: bool,
    cache: Option<Cached>,
}

#[derive(Debug)]
struct Cached {
    from: u64,
    to: u64,
    at_secs: f64,
    chart: SequenceChart,
}

impl Default for ChartState {
    fn default() -> Self {
        Self {
            open: false,
            span_inputs: 2000,
            hidden_pids: BTreeSet::new(),
            show_messages: true,
            show_blocked: true,
            show_denied: true,
            cache: None,
        }
    }
}

/// Row of each event input: the sorted list of indices that get a row.
struct Rows(Vec<u64>);

impl Rows {
    fn new(chart: &SequenceChart, state: &ChartState) -> Rows {
        let mut rows = Vec::new();
        if state.show_messages {
            for m in &chart.messages {
                rows.extend(m.sent_index);
                rows.extend(m.delivered_index);
            }
        }
        if state.show_blocked {
            for b in &chart.blocked {
                rows.push(b.from_index);
                rows.extend(b.to_index);
            }
        }
        if state.show_denied {
            rows.extend(chart.denied.iter().map(|d| d.index));
        }
        rows.retain(|i| (chart.from..chart.to).contains(i));
        rows.sort_unstable();
        rows.dedup();
        Rows(rows)
    }

    /// The row of the first event at or after `index` (the chart's end for none).
    fn row(&self, index: u64) -> usize {
        self.0.partition_point(|&i| i < index)
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

/// The chart window (when open). Call every frame.
pub(super) fn sequence_chart_ui(
    ctx: &egui::Context,
    supervisor: &Supervisor,
    data: &PanelData,
    state: &mut ChartState,
    actions: &mut UiActions,
) {
    if !state.open {
        return;
    }
    let timeline = supervisor.timeline();
    let to = timeline.cursor;
    let from = to.saturating_sub(state.span_inputs).max(timeline.first);
    let now_secs = ctx.input(|i| i.time);
    let stale = match &state.cache {
        None => true,
        Some(c) if c.from == from && c.to == to => false,
        // Live, the span moves every frame: rebuild at most every REFRESH_SECS.
        Some(c) => !timeline.live || now_secs - c.at_secs > REFRESH_SECS,
    };
    if stale {
        let chart = supervisor.sequence_chart(from, to, MAX_MESSAGES);
        state.cache = Some(Cached {
            from,
            to,
            at_secs: now_secs,
            chart,
        });
    }
    let mut open = state.open;
    let window = egui::Window::new("Sequence chart")
        .id(egui::Id::new("sequence_chart"))
        .open(&mut open)
        .default_size(egui::vec2(620.0, 460.0))
        .default_pos(egui::pos2(340.0, 90.0))
        .resizable(true)
        .show(ctx, |ui| chart_window_ui(ui, data, state, actions));
    if let Some(window) = window {
        actions.control("sequence_chart", window.response.rect);
    }
    state.open = open;
}

fn chart_window_ui(
    ui: &mut egui::Ui,
    data: &PanelData,
    state: &mut ChartState,
    actions: &mut UiActions,
) {
    let theme = &data.theme;
    let Some(cached) = state.cache.take() else {
        return;
    };
    let chart = &cached.chart;
    ui.horizontal_wrapped(|ui| {
        ui.label("show");
        ui.checkbox(&mut state.show_messages, "messages");
        ui.checkbox(&mut state.show_blocked, "blocked");
        ui.checkbox(&mut state.show_denied, "denied");
        ui.separator();
        ui.label("span");
        egui::ComboBox::from_id_salt("chart_span")
            .selected_text(format!("{} inputs", state.span_inputs))
            .show_ui(ui, |ui| {
                for span in [200, 500, 2000, 10_000, 50_000] {
                    ui.selectable_value(&mut state.span_inputs, span, format!("{span} inputs"));
                }
            });
        egui::ComboBox::from_id_salt("chart_processes")
            .selected_text(format!("processes ({} hidden)", state.hidden_pids.len()))
            .show_ui(ui, |ui| {
                for lifeline in &chart.lifelines {
                    let mut shown = !state.hidden_pids.contains(&lifeline.pid);
                    if ui
                        .checkbox(&mut shown, format!("{} ({})", lifeline.name, lifeline.pid))
                        .changed()
                    {
                        if shown {
                            state.hidden_pids.remove(&lifeline.pid);
                        } else {
                            state.hidden_pids.insert(lifeline.pid);
                        }
                    }
                }
            });
    });
    ui.small(format!(
        "inputs {}..{} · {} messages{} · {} blocked · {} denied · click an arrow to inspect it",
        chart.from,
        chart.to,
        chart.messages.len(),
        if chart.truncated {
            " (more: shorten the span)"
        } else {
            ""
        },
        chart.blocked.len(),
        chart.denied.len()
    ));
    let lifelines: Vec<_> = chart
        .lifelines
        .iter()
        .filter(|l| !state.hidden_pids.contains(&l.pid))
        .collect();
    let rows = Rows::new(chart, state);
    let column = |pid: u32| lifelines.iter().position(|l| l.pid == pid);
    let width = (ui.available_width()).max(lifelines.len() as f32 * MIN_COLUMN_PX);
    let column_px = width / lifelines.len().max(1) as f32;
    let height = HEADER_PX + (rows.len() + 1) as f32 * ROW_PX;
    let selected_id = data
        .selected_message
        .0
        .as_ref()
        .map(|m| (m.from, m.to, m.sent_index));
    egui::ScrollArea::both()
        .id_salt("chart_scroll")
        .stick_to_bottom(true)
        .show(ui, |ui| {
            let (rect, response) =
                ui.allocate_exact_size(egui::vec2(width, height), egui::Sense::click());
            let painter = ui.painter_at(rect);
            let x_of = |col: usize| rect.left() + (col as f32 + 0.5) * column_px;
            let y_of_row = |row: usize| rect.top() + HEADER_PX + (row as f32 + 0.5) * ROW_PX;
            let y_of = |index: u64| y_of_row(rows.row(index));
            let bottom = rect.bottom() - ROW_PX * 0.5;
            let font = egui::FontId::proportional(12.0);
            // Lifelines.
            for (col, lifeline) in lifelines.iter().enumerate() {
                let x = x_of(col);
                let color = theme.program_color(&lifeline.name).egui();
                painter.text(
                    egui::pos2(x, rect.top() + 4.0),
                    egui::Align2::CENTER_TOP,
                    format!("{} ({})", lifeline.name, lifeline.pid),
                    egui::FontId::proportional(13.0),
                    color,
                );
                let top = lifeline
                    .spawned_index
                    .filter(|i| *i >= chart.from)
                    .map_or(rect.top() + HEADER_PX, y_of);
                let end = lifeline
                    .ended_index
                    .filter(|i| *i < chart.to)
                    .map_or(bottom, y_of);
                painter.line_segment(
                    [egui::pos2(x, top), egui::pos2(x, end)],
                    egui::Stroke::new(1.0, theme.text_weak.egui()),
                );
                if lifeline.ended_index.is_some_and(|i| i < chart.to) {
                    painter.line_segment(
                        [egui::pos2(x - 6.0, end), egui::pos2(x + 6.0, end)],
                        egui::Stroke::new(2.0, theme.text_weak.egui()),
                    );
                }
            }
            // Blocked periods: a wide bar along the lifeline.
            if state.show_blocked {
                for span in &chart.blocked {
                    let Some(col) = column(span.pid) else {
                        continue;
                    };
                    let x = x_of(col);
                    let top = y_of(span.from_index.max(chart.from));
                    let end = span.to_index.map_or(bottom, y_of);
                    let bar = egui::Rect::from_min_max(
                        egui::pos2(x - 3.0, top),
                        egui::pos2(x + 3.0, end.max(top + 2.0)),
                    );
                    painter.rect_filled(bar, 1.0, theme.state_blocked.with_alpha(150).egui());
                }
            }
            // Messages.
            let pointer = response.hover_pos();
            let mut nearest: Option<(f32, &ChartMessage)> = None;
            if state.show_messages {
                for message in &chart.messages {
                    let (Some(a), Some(b)) = (column(message.from), column(message.to)) else {
                        continue;
                    };
                    let Some(sent) = message.sent_index else {
                        continue;
                    };
                    let start = egui::pos2(x_of(a), y_of(sent));
                    let end = egui::pos2(x_of(b), message.delivered_index.map_or(bottom, y_of));
                    let selected =
                        selected_id == Some((message.from, message.to, message.sent_index));
                    let color = if selected {
                        theme.selection.egui()
                    } else {
                        theme.accent.egui()
                    };
                    arrow(
                        &painter,
                        start,
                        end,
                        egui::Stroke::new(if selected { 3.0 } else { 1.5 }, color),
                    );
                    if message.delivered_index.is_none() {
                        painter.text(
                            end,
                            egui::Align2::CENTER_BOTTOM,
                            "queued",
                            font.clone(),
                            theme.text_weak.egui(),
                        );
                    }
                    painter.text(
                        start.lerp(end, 0.5) + egui::vec2(0.0, -2.0),
                        egui::Align2::CENTER_BOTTOM,
                        format!("tag {} · {} B", message.tag, message.bytes),
                        egui::FontId::proportional(10.0),
                        theme.text_weak.egui(),
                    );
                    if let Some(p) = pointer {
                        let d = distance_to_segment(p, start, end);
                        if d < 6.0 && nearest.is_none_or(|(best, _)| d < best) {
                            nearest = Some((d, message));
                        }
                    }
                }
            }
            // Denied requests: a red cross on the lifeline with the error's name.
            if state.show_denied {
                for denied in &chart.denied {
                    let Some(col) = column(denied.pid) else {
                        continue;
                    };
                    let at = egui::pos2(x_of(col), y_of(denied.index));
                    let stroke = egui::Stroke::new(2.0, theme.error.egui());
                    painter.line_segment(
                        [at + egui::vec2(-5.0, -5.0), at + egui::vec2(5.0, 5.0)],
                        stroke,
                    );
                    painter.line_segment(
                        [at + egui::vec2(-5.0, 5.0), at + egui::vec2(5.0, -5.0)],
                        stroke,
                    );
                    painter.text(
                        at + egui::vec2(8.0, 0.0),
                        egui::Align2::LEFT_CENTER,
                        format!("{} {}", denied.syscall_name, denied.error),
                        font.clone(),
                        theme.error.egui(),
                    );
                }
            }
            // Where the timeline's cursor stands: the chart's end.
            painter.line_segment(
                [
                    egui::pos2(rect.left(), bottom + ROW_PX * 0.4),
                    egui::pos2(rect.right(), bottom + ROW_PX * 0.4),
                ],
                egui::Stroke::new(1.0, theme.warning.egui()),
            );
            if let Some((_, message)) = nearest {
                let when = message
                    .sent_ns
                    .map_or(String::new(), |ns| format!(" at t = {}", format_ns(ns)));
                response.clone().on_hover_text_at_pointer(format!(
                    "pid {} -> pid {} · ep {} · tag {} · {} B{when}",
                    message.from, message.to, message.endpoint, message.tag, message.bytes
                ));
                if response.clicked() {
                    actions.select_message = Some(Some(message.clone()));
                    if let Some(sent) = message.sent_index {
                        actions.intents.push(SupervisorIntent::Seek(sent + 1));
                    }
                }
            }
            // For browser tests: the first message's arrow midpoint, to click.
            if let Some(message) = chart.messages.iter().find(|m| {
                column(m.from).is_some() && column(m.to).is_some() && m.sent_index.is_some()
            }) && let (Some(a), Some(b), Some(sent)) =
                (column(message.from), column(message.to), message.sent_index)
            {
                let start = egui::pos2(x_of(a), y_of(sent));
                let end = egui::pos2(x_of(b), message.delivered_index.map_or(bottom, y_of));
                let mid = start.lerp(end, 0.5);
                if ui.clip_rect().contains(mid) {
                    actions.control(
                        "chart:first_message",
                        egui::Rect::from_center_size(mid, egui::vec2(4.0, 4.0)),
                    );
                }
            }
        });
    state.cache = Some(cached);
}

fn arrow(painter: &egui::Painter, from: egui::Pos2, to: egui::Pos2, stroke: egui::Stroke) {
    painter.line_segment([from, to], stroke);
    let dir = (to - from).normalized();
    if dir.length() < 0.5 {
        return;
    }
    let back = to - dir * 8.0;
    let side = dir.rot90() * 4.0;
    painter.add(egui::Shape::convex_polygon(
        vec![to, back + side, back - side],
        stroke.color,
        egui::Stroke::NONE,
    ));
}

fn distance_to_segment(p: egui::Pos2, a: egui::Pos2, b: egui::Pos2) -> f32 {
    let ab = b - a;
    let t = if ab.length_sq() > 0.0 {
        ((p - a).dot(ab) / ab.length_sq()).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (a + ab * t - p).length()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_events_in_order_and_an_index_takes_the_next_row() {
        let chart = SequenceChart {
            from: 0,
            to: 100,
            messages: vec![ChartMessage {
                id: 0,
                from: 1,
                to: 2,
                endpoint: 1,
                tag: 0,
                bytes: 4,
                sent_index: Some(10),
                sent_ns: Some(0),
                delivered_index: Some(40),
                delivered_ns: Some(0),
            }],
            ..SequenceChart::default()
        };
        let rows = Rows::new(&chart, &ChartState::default());
        assert_eq!(rows.0, vec![10, 40]);
        assert_eq!(rows.row(10), 0);
        assert_eq!(rows.row(11), 1);
        assert_eq!(rows.row(99), 2);
    }

    #[test]
    fn a_click_near_an_arrow_hits_it() {
        let d = distance_to_segment(
            egui::pos2(5.0, 1.0),
            egui::pos2(0.0, 0.0),
            egui::pos2(10.0, 0.0),
        );
        assert!((d - 1.0).abs() < 1e-5);
    }
}
