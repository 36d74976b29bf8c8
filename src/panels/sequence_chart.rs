//! The sequence chart, in the style of Erlang's `et_viewer`: one lifeline per process, each
//! message an arrow from sender to receiver (slanted when it waited in a queue), blocked periods
//! drawn along the lifeline, denied requests as red marks with their error name. It shows the
//! inputs up to the timeline's cursor; filters by process and by kind; a click on an arrow
//! selects the message (the inspector shows it) and moves the cursor to just after its send.
//! "Save SVG" writes the same picture as a file for handouts. Where things go is computed in
//! [`super::chart_layout`]; this module paints it and handles the pointer.

use bevy_egui::egui;
use orbital_supervisor::recording::SequenceChart;

use super::chart_layout::{ChartFilter, ChartLayout, HEADER_PX, MIN_COLUMN_PX};
use super::{PanelData, UiActions, format_ns};
use crate::supervisor::{Supervisor, SupervisorIntent};

/// At most this many messages are drawn (the latest; the chart says so).
const MAX_MESSAGES: usize = 400;
/// How often a live chart is rebuilt (it replays its span).
const REFRESH_SECS: f64 = 0.5;

/// What the chart window keeps between frames.
#[derive(Debug)]
pub struct ChartState {
    pub open: bool,
    /// How many inputs before the cursor the chart covers.
    pub span_inputs: u64,
    pub filter: ChartFilter,
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
            filter: ChartFilter::default(),
            cache: None,
        }
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
    // Wide enough for every lifeline when the screen allows (a narrower window hides the
    // right-hand processes, often the busy ones, behind a scroll).
    let screen = ctx.content_rect();
    let lifelines = state.cache.as_ref().map_or(0, |c| c.chart.lifelines.len());
    let width = (lifelines as f32 * MIN_COLUMN_PX + 40.0)
        .max(620.0)
        .min(screen.width() - 20.0);
    let left = 340.0_f32.min(screen.right() - width - 10.0).max(10.0);
    let window = egui::Window::new("Sequence chart")
        .id(egui::Id::new("sequence_chart"))
        .open(&mut open)
        .default_size(egui::vec2(width, 460.0))
        .default_pos(egui::pos2(left, 90.0))
        .resizable(true)
        // Above the lesson toolbar and card (also Foreground), so its title bar is never covered.
        .order(egui::Order::Foreground)
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
        ui.checkbox(&mut state.filter.show_messages, "messages");
        ui.checkbox(&mut state.filter.show_blocked, "blocked");
        ui.checkbox(&mut state.filter.show_denied, "denied");
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
            .selected_text(format!(
                "processes ({} hidden)",
                state.filter.hidden_pids.len()
            ))
            .show_ui(ui, |ui| {
                for lifeline in &chart.lifelines {
                    let mut shown = !state.filter.hidden_pids.contains(&lifeline.pid);
                    if ui
                        .checkbox(&mut shown, format!("{} ({})", lifeline.name, lifeline.pid))
                        .changed()
                    {
                        if shown {
                            state.filter.hidden_pids.remove(&lifeline.pid);
                        } else {
                            state.filter.hidden_pids.insert(lifeline.pid);
                        }
                    }
                }
            });
        ui.separator();
        let r = ui
            .button("Save SVG")
            .on_hover_text("the chart as it is shown, as an SVG picture for handouts and slides");
        actions.control("chart:save_svg", r.rect);
        if r.clicked() {
            let layout = ChartLayout::new(chart, &state.filter, 640.0);
            let title = format!(
                "Orbital Playground sequence chart: inputs {}..{}",
                chart.from, chart.to
            );
            actions.save_chart_svg = Some(layout.to_svg(theme, &title));
        }
    });
    ui.small(format!(
        "inputs {}..{} · {} messages{} · {} blocked · {} denied · click an arrow to inspect it",
        chart.from,
        chart.to,
        chart.messages.len(),
        if chart.truncated {
            " (the latest: the span held more)"
        } else {
            ""
        },
        chart.blocked.len(),
        chart.denied.len()
    ));
    let layout = ChartLayout::new(chart, &state.filter, ui.available_width());
    let selected_id = data
        .selected_message
        .0
        .as_ref()
        .map(|m| (m.from, m.to, m.sent_index));
    egui::ScrollArea::both()
        .id_salt("chart_scroll")
        .stick_to_bottom(true)
        .show(ui, |ui| {
            let (rect, response) = ui.allocate_exact_size(
                egui::vec2(layout.width, layout.height),
                egui::Sense::click(),
            );
            let painter = ui.painter_at(rect);
            let origin = rect.min.to_vec2();
            let font = egui::FontId::proportional(12.0);
            let weak = theme.text_weak.egui();
            for lifeline in &layout.lifelines {
                let (top, end) = (
                    egui::pos2(lifeline.x, lifeline.top) + origin,
                    egui::pos2(lifeline.x, lifeline.end) + origin,
                );
                painter.line_segment([top, end], egui::Stroke::new(1.0, weak));
                if lifeline.ended {
                    painter.line_segment(
                        [end - egui::vec2(6.0, 0.0), end + egui::vec2(6.0, 0.0)],
                        egui::Stroke::new(2.0, weak),
                    );
                }
            }
            for bar in &layout.blocked {
                painter.rect_filled(
                    bar.translate(origin),
                    1.0,
                    theme.state_blocked.with_alpha(150).egui(),
                );
            }
            // The names head the lifelines and stay in view while the chart scrolls (it opens
            // scrolled to its end, the cursor); an arrow under their band is hidden, so neither
            // hovered nor clicked there.
            let names_y = rect.top().max(ui.clip_rect().top());
            let band_bottom = names_y + HEADER_PX - 10.0;
            for laid in &layout.arrows {
                let message = laid.message;
                let (start, end) = (laid.start + origin, laid.end + origin);
                let selected = selected_id == Some((message.from, message.to, message.sent_index));
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
                if laid.queued {
                    painter.text(
                        end,
                        egui::Align2::CENTER_BOTTOM,
                        "queued",
                        font.clone(),
                        weak,
                    );
                }
                painter.text(
                    start.lerp(end, 0.5) + egui::vec2(0.0, -2.0),
                    egui::Align2::CENTER_BOTTOM,
                    format!("tag {} · {} B", message.tag, message.bytes),
                    egui::FontId::proportional(10.0),
                    weak,
                );
            }
            let nearest = arrow_at(
                response.hover_pos(),
                band_bottom,
                layout
                    .arrows
                    .iter()
                    .map(|laid| (laid.start + origin, laid.end + origin, laid.message)),
            );
            // Denied requests: a red cross on the lifeline with the error's name.
            for denied in &layout.denied {
                let at = denied.at + origin;
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
                    &denied.label,
                    font.clone(),
                    theme.error.egui(),
                );
            }
            // Where the timeline's cursor stands: the chart's end.
            painter.line_segment(
                [
                    egui::pos2(rect.left(), rect.top() + layout.cursor_y),
                    egui::pos2(rect.right(), rect.top() + layout.cursor_y),
                ],
                egui::Stroke::new(1.0, theme.warning.egui()),
            );
            if names_y > rect.top() {
                painter.rect_filled(
                    egui::Rect::from_x_y_ranges(rect.x_range(), names_y..=band_bottom),
                    0.0,
                    ui.visuals().window_fill,
                );
            }
            for lifeline in &layout.lifelines {
                painter.text(
                    egui::pos2(lifeline.x + origin.x, names_y + 4.0),
                    egui::Align2::CENTER_TOP,
                    format!("{} ({})", lifeline.name, lifeline.pid),
                    egui::FontId::proportional(13.0),
                    theme.program_color(lifeline.name).egui(),
                );
            }
            if let Some(message) = nearest {
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
            // For browser tests: the midpoint of the arrow shown nearest the middle of the view,
            // to click (the view sticks to the chart's end, so its first arrow scrolls out).
            let view = ui.clip_rect();
            let shown = layout
                .arrows
                .iter()
                .map(|laid| (laid.start + origin).lerp(laid.end + origin, 0.5))
                .filter(|mid| view.shrink(8.0).contains(*mid) && below_names(*mid, band_bottom))
                .min_by(|a, b| {
                    let off = |p: &egui::Pos2| (p.y - view.center().y).abs();
                    off(a).total_cmp(&off(b))
                });
            if let Some(mid) = shown {
                actions.control(
                    "chart:shown_message",
                    egui::Rect::from_center_size(mid, egui::vec2(4.0, 4.0)),
                );
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

/// Whether `p` is below the band of lifeline names (which covers what scrolls under it).
fn below_names(p: egui::Pos2, band_bottom: f32) -> bool {
    p.y > band_bottom
}

/// The arrow the pointer is on (within 6 points; the nearest if several), none while the pointer
/// is over the band of names that hides what scrolled under it.
fn arrow_at<T>(
    pointer: Option<egui::Pos2>,
    band_bottom: f32,
    arrows: impl IntoIterator<Item = (egui::Pos2, egui::Pos2, T)>,
) -> Option<T> {
    let p = pointer.filter(|p| below_names(*p, band_bottom))?;
    arrows
        .into_iter()
        .map(|(a, b, item)| (distance_to_segment(p, a, b), item))
        .filter(|(d, _)| *d < 6.0)
        .min_by(|x, y| x.0.total_cmp(&y.0))
        .map(|(_, item)| item)
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
    fn a_click_near_an_arrow_hits_it() {
        let d = distance_to_segment(
            egui::pos2(5.0, 1.0),
            egui::pos2(0.0, 0.0),
            egui::pos2(10.0, 0.0),
        );
        assert!((d - 1.0).abs() < 1e-5);
    }

    #[test]
    fn the_band_of_names_hides_the_arrows_under_it_from_the_pointer() {
        let arrows = [
            (
                egui::pos2(0.0, 30.0),
                egui::pos2(100.0, 30.0),
                "under the band",
            ),
            (egui::pos2(0.0, 60.0), egui::pos2(100.0, 60.0), "below it"),
            (
                egui::pos2(0.0, 64.0),
                egui::pos2(100.0, 64.0),
                "further below",
            ),
        ];
        let band_bottom = 40.0;
        // On an arrow that scrolled under the names: nothing to hover or click.
        assert_eq!(
            arrow_at(Some(egui::pos2(50.0, 31.0)), band_bottom, arrows),
            None
        );
        // The same arrow with the band scrolled away (the chart at its top) is hit.
        assert_eq!(
            arrow_at(Some(egui::pos2(50.0, 31.0)), 0.0, arrows),
            Some("under the band")
        );
        // Below the band: the nearest arrow within 6 points.
        assert_eq!(
            arrow_at(Some(egui::pos2(50.0, 63.0)), band_bottom, arrows),
            Some("further below")
        );
        assert_eq!(
            arrow_at(Some(egui::pos2(50.0, 75.0)), band_bottom, arrows),
            None
        );
        assert_eq!(arrow_at(None, band_bottom, arrows), None);
    }
}
