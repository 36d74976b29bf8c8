//! The egui panels around the canvas: top bar (counters, time controls, scenario picker), left
//! (process list, quick spawn, memory map), right (inspector), bottom (terminal, traffic log,
//! capability log, endpoints), plus overlays (help, toasts, tooltip).
//!
//! Panels read the kernel through one short lock of the supervisor per frame and never mutate
//! it: every button turns into a `SupervisorIntent` (or a `LoadScenario`) written after the UI
//! is built. Each panel is one module with one `*_ui` entry point.

mod arrangement;
mod chart_layout;
mod inspector;
mod logs;
mod overlays;
mod processes;
mod sequence_chart;
mod stats;
mod terminal;
mod text_bar;
mod timeline;
mod top_bar;

pub use arrangement::{InspectorPlacement, PanelPlan, PanelToggles};
pub use stats::RateStats;

use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};
use orbital_kernel::ProcessId;

use crate::scenario::{LoadScenario, ScenarioState};
use crate::supervisor::{IntentRefused, SupervisorHandle, SupervisorIntent};
use crate::theme::{Theme, ThemeMode};
use crate::ui_state::{
    self, CanvasArea, ControlState, CssPerPoint, Hovered, Selection, Toasts, speed_label,
};

/// UI state that outlives a frame.
#[derive(Resource, Debug)]
pub struct PanelState {
    pub bottom_tab: BottomTab,
    pub terminal_input: String,
    pub terminal_history: Vec<String>,
    /// Index into `terminal_history` while browsing with up/down; `None` = editing a new line.
    pub history_cursor: Option<usize>,
    pub traffic_only_selected: bool,
    pub chart: sequence_chart::ChartState,
}

impl Default for PanelState {
    fn default() -> Self {
        Self {
            bottom_tab: BottomTab::Terminal,
            terminal_input: String::new(),
            terminal_history: Vec::new(),
            history_cursor: None,
            traffic_only_selected: false,
            chart: sequence_chart::ChartState::default(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BottomTab {
    Terminal,
    Traffic,
    Capabilities,
    Endpoints,
    /// The time-travel strip, as a tab in the classroom layout (a strip under the graph otherwise).
    Timeline,
}

/// What the panels asked for this frame; applied after the supervisor lock is released.
#[derive(Default)]
pub(crate) struct UiActions {
    pub intents: Vec<SupervisorIntent>,
    pub load_scenario: Option<String>,
    pub select: Option<Option<ProcessId>>,
    pub theme_mode: Option<ThemeMode>,
    pub quality: Option<crate::render_quality::QualityOverride>,
    /// "guests at full speed" ticked or unticked in the quality picker.
    pub guests_full_speed: Option<bool>,
    /// A canvas resolution picked in the quality picker.
    pub resolution: Option<crate::render_quality::Resolution>,
    pub toasts: Vec<(String, bool)>,
    /// Named controls and their rects (egui points), for [`crate::graph::CanvasLayout`].
    pub controls: Vec<(String, egui::Rect)>,
    pub inspector_pid: Option<u32>,
    /// The message picked in the sequence chart (`Some(None)` forgets it).
    pub select_message: Option<Option<orbital_supervisor::recording::ChartMessage>>,
    pub toggle_chart: bool,
    pub save_recording: bool,
    pub open_recording: bool,
    pub export_trace: bool,
    /// "Save SVG" in the sequence chart: the picture to write.
    pub save_chart_svg: Option<String>,
    /// The syscall-flow box, when shown: the selected process's flow (if one is selected) and
    /// the box's rectangle in egui points.
    pub syscall_flow: Option<(Option<crate::graph::SyscallFlow>, egui::Rect)>,
    /// "Save picture" was pressed: save the canvas as a PNG.
    pub save_picture: bool,
    /// Rows of text the terminal's output area shows (0 when another tab is open).
    pub terminal_rows: u32,
}

impl UiActions {
    pub fn control(&mut self, name: &str, rect: egui::Rect) {
        self.controls.push((name.to_string(), rect));
    }
}

pub struct PanelsPlugin;

impl Plugin for PanelsPlugin {
    fn build(&self, app: &mut App) {
        ui_state::ensure_ui_state(app);
        app.init_resource::<PanelState>()
            .init_resource::<PanelToggles>()
            .add_message::<crate::handout::SaveCanvasPicture>()
            .init_resource::<RateStats>()
            .init_resource::<crate::web::drop::FileInbox>()
            .init_resource::<crate::programs::ProgramsState>()
            .add_systems(Update, (stats::sample_rates, show_refused_intents))
            .add_systems(EguiPrimaryContextPass, draw_panels);
    }
}

fn show_refused_intents(mut refused: MessageReader<IntentRefused>, mut toasts: ResMut<Toasts>) {
    for r in refused.read() {
        toasts.push(r.reason.clone(), true);
    }
}

/// All the data the panels read, gathered once per frame.
#[derive(bevy::ecs::system::SystemParam)]
pub(crate) struct PanelData<'w, 's> {
    pub supervisor: Res<'w, SupervisorHandle>,
    pub processes: Query<
        'w,
        's,
        (
            &'static crate::supervisor::ProcessEntity,
            &'static crate::supervisor::ProcessView,
        ),
    >,
    pub selection: ResMut<'w, Selection>,
    pub hovered: Res<'w, Hovered>,
    pub theme: ResMut<'w, Theme>,
    pub stats: Res<'w, RateStats>,
    pub scenario: Res<'w, ScenarioState>,
    pub quality: Res<'w, crate::render_quality::RenderQuality>,
    pub quality_settings: ResMut<'w, crate::render_quality::RenderQualitySettings>,
    pub render_scale: Res<'w, crate::render_quality::RenderScale>,
    pub graph: Res<'w, crate::graph::GraphModel>,
    pub selected_message: ResMut<'w, crate::ui_state::SelectedMessage>,
    pub files: Res<'w, crate::web::drop::FileInbox>,
    pub programs: Res<'w, crate::programs::ProgramsState>,
}

#[allow(clippy::too_many_arguments)]
fn draw_panels(
    mut contexts: EguiContexts,
    mut data: PanelData,
    mut state: ResMut<PanelState>,
    mut controls: ResMut<ControlState>,
    mut toasts: ResMut<Toasts>,
    mut area: ResMut<CanvasArea>,
    window: Query<&Window, With<PrimaryWindow>>,
    mut intents_out: MessageWriter<SupervisorIntent>,
    mut scenario_out: MessageWriter<LoadScenario>,
    mut layout_out: ResMut<crate::graph::CanvasLayout>,
    mut applied_theme: Local<Option<ThemeMode>>,
    mut picture_out: MessageWriter<crate::handout::SaveCanvasPicture>,
    mut toggles: ResMut<PanelToggles>,
) -> Result {
    let ctx = contexts.ctx_mut()?.clone();
    if *applied_theme != Some(data.theme.mode) {
        ctx.set_visuals(data.theme.egui_visuals());
        ctx.set_zoom_factor(data.theme.ui_scale);
        *applied_theme = Some(data.theme.mode);
    }
    let mut actions = UiActions::default();
    let (canvas_rect, overlay, speed) = {
        let supervisor = data.supervisor.lock();
        let mut root = egui::Ui::new(
            ctx.clone(),
            "orbital-root".into(),
            egui::UiBuilder::new()
                .layer_id(egui::LayerId::background())
                .max_rect(ctx.viewport_rect()),
        );
        let plan = PanelPlan::new(data.theme.mode, &toggles, data.selection.0.is_some());
        top_bar::top_bar_ui(
            &mut root,
            &supervisor,
            &data,
            &mut controls,
            &mut actions,
            (&plan, &mut toggles),
        );
        let row_height = root.text_style_height(&egui::TextStyle::Monospace);
        let bottom = |root: &mut egui::Ui, state: &mut PanelState, actions: &mut UiActions| {
            // Each layout keeps its own height (the classroom one starts tall enough for `ps`).
            let id = if plan.bottom_full_width {
                "bottom_classroom"
            } else {
                "bottom"
            };
            let height = plan.bottom_height(row_height);
            egui::Panel::bottom(id)
                .resizable(true)
                .default_size(height)
                // The panel shrinks to its content otherwise; in classroom mode `ps` must fit.
                .min_size(if plan.bottom_full_width { height } else { 20.0 })
                .show(root, |ui| {
                    // Wrapped, so the last tab is never cut off on a narrow screen.
                    ui.horizontal_wrapped(|ui| {
                        for (tab, label, name) in [
                            (BottomTab::Terminal, "Terminal", "tab:terminal"),
                            (BottomTab::Traffic, "IPC traffic", "tab:traffic"),
                            (
                                BottomTab::Capabilities,
                                "Capability log",
                                "tab:capabilities",
                            ),
                            (BottomTab::Endpoints, "Endpoints", "tab:endpoints"),
                            (BottomTab::Timeline, "Timeline", "tab:timeline"),
                        ] {
                            if tab == BottomTab::Timeline && !plan.bottom_full_width {
                                continue; // a strip under the graph in this layout
                            }
                            let response = ui.selectable_value(&mut state.bottom_tab, tab, label);
                            actions.control(name, response.rect);
                        }
                    });
                    ui.separator();
                    match state.bottom_tab {
                        BottomTab::Terminal => {
                            terminal::terminal_ui(ui, &supervisor, state, data.selection.0, actions)
                        }
                        BottomTab::Traffic => logs::traffic_log_ui(ui, &supervisor, &data, state),
                        BottomTab::Capabilities => logs::capability_log_ui(ui, &supervisor, &data),
                        BottomTab::Endpoints => logs::endpoints_ui(ui, &supervisor, &data),
                        BottomTab::Timeline if plan.bottom_full_width => {
                            timeline::timeline_ui(ui, &supervisor, &data, actions)
                        }
                        BottomTab::Timeline => state.bottom_tab = BottomTab::Terminal,
                    }
                });
        };
        if plan.bottom_full_width {
            bottom(&mut root, &mut state, &mut actions);
        }
        // The projector theme's larger type would leave the canvas a strip: narrower side panels
        // there (their own ids, so each theme keeps its own widths).
        let projector = data.theme.mode == ThemeMode::Projector;
        let (left_id, left_size, right_id, right_size) = if projector {
            ("processes_projector", 250.0, "inspector_projector", 220.0)
        } else {
            ("processes", 300.0, "inspector", 330.0)
        };
        if plan.processes {
            egui::Panel::left(left_id)
                .resizable(true)
                .default_size(left_size)
                .show(&mut root, |ui| {
                    processes::processes_ui(ui, &supervisor, &data, &mut actions)
                });
        }
        if plan.inspector == InspectorPlacement::Side {
            egui::Panel::right(right_id)
                .resizable(true)
                .default_size(right_size)
                .show(&mut root, |ui| {
                    inspector::inspector_ui(ui, &supervisor, &data, &mut actions)
                });
        }
        if !plan.bottom_full_width {
            bottom(&mut root, &mut state, &mut actions);
            // The timeline strip directly under the graph (shown after the bottom panel, so it
            // sits above it). In the classroom layout it is a tab of the bottom panel instead,
            // so the canvas keeps most of the screen.
            egui::Panel::bottom("timeline")
                .resizable(false)
                .show(&mut root, |ui| {
                    timeline::timeline_ui(ui, &supervisor, &data, &mut actions)
                });
        }
        if !supervisor.is_live() {
            egui::Panel::top("past_banner")
                .show_separator_line(false)
                .show(&mut root, |ui| {
                    timeline::past_banner_ui(ui, &supervisor, &data, &mut actions)
                });
        }
        let canvas = root.available_rect_before_wrap();
        if plan.inspector == InspectorPlacement::Drawer {
            // A drawer over the canvas's right edge: the canvas keeps the whole width.
            let mut open = true;
            let drawer = egui::Window::new("Inspector")
                .id(egui::Id::new("inspector_drawer"))
                .open(&mut open)
                .collapsible(false)
                .resizable(true)
                .default_width(right_size)
                .max_height(canvas.height() - 16.0)
                .anchor(egui::Align2::RIGHT_TOP, egui::vec2(-8.0, 8.0))
                .constrain_to(canvas)
                .show(&ctx, |ui| {
                    inspector::inspector_ui(ui, &supervisor, &data, &mut actions)
                });
            if let Some(drawer) = drawer {
                actions.control("inspector_drawer", drawer.response.rect);
            }
            if !open {
                toggles.inspector = Some(false);
            }
        }
        sequence_chart::sequence_chart_ui(&ctx, &supervisor, &data, &mut state.chart, &mut actions);
        let overlay = overlays::overlays_ui(
            &ctx,
            canvas,
            &supervisor,
            &data,
            &mut controls,
            &toasts,
            &mut actions,
        );
        (canvas, overlay, speed_label(supervisor.time_control()))
    };
    let css = CssPerPoint::of(&ctx, window.single().ok());
    let to_rect = |r: egui::Rect| css.rect_to_css(r);
    let canvas_area = CanvasArea {
        rect: to_rect(canvas_rect),
        overlay: overlay.map(to_rect),
        card: area.card,
    };
    if *area != canvas_area {
        *area = canvas_area;
    }
    let to_css = |r: egui::Rect| crate::graph::CssRect::from_rect(to_rect(r));
    let ui = &mut layout_out.ui;
    ui.controls.clear();
    ui.controls.extend(
        actions
            .controls
            .drain(..)
            .map(|(name, rect)| crate::graph::UiControl {
                name,
                rect: to_css(rect),
            }),
    );
    ui.inspector_pid = actions.inspector_pid;
    ui.terminal_rows = actions.terminal_rows;
    ui.scenario.clone_from(&data.scenario.current);
    ui.scenario_error.clone_from(&data.scenario.error);
    if ui.speed != speed {
        ui.speed = speed.to_string();
    }
    ui.toasts.clear();
    ui.toasts.extend(
        toasts
            .items
            .iter()
            .map(|t| t.text.clone())
            .chain(actions.toasts.iter().map(|(t, _)| t.clone())),
    );
    ui.help_visible = controls.show_help;
    ui.overlay = overlay.map(to_css);
    ui.syscall_flow_box = actions.syscall_flow.as_ref().map(|(_, rect)| to_css(*rect));
    ui.syscall_flow = actions.syscall_flow.take().and_then(|(flow, _)| flow);
    let theme_name = match data.theme.mode {
        ThemeMode::Standard => "standard",
        ThemeMode::Projector => "projector",
    };
    if ui.theme != theme_name {
        ui.theme = theme_name.to_string();
    }
    if ui.render_status != data.quality.status {
        ui.render_status.clone_from(&data.quality.status);
    }
    if actions.toggle_chart {
        state.chart.open = !state.chart.open;
    }
    if let Some(message) = actions.select_message.take() {
        data.selected_message.0 = message;
    }
    recording_files(&data, &mut actions);
    intents_out.write_batch(actions.intents);
    if actions.save_picture {
        picture_out.write(crate::handout::SaveCanvasPicture);
    }
    if let Some(name) = actions.load_scenario {
        scenario_out.write(LoadScenario { name });
    }
    if let Some(select) = actions.select {
        data.selection.0 = select;
    }
    if let Some(mode) = actions.theme_mode {
        *data.theme = Theme::for_mode(mode);
    }
    if let Some(mode) = actions.quality {
        data.quality_settings.mode = mode;
    }
    if let Some(full_speed) = actions.guests_full_speed {
        data.quality_settings.guests_full_speed = full_speed;
    }
    if let Some(resolution) = actions.resolution {
        data.quality_settings.resolution_request = Some(resolution);
    }
    for (text, is_error) in actions.toasts {
        toasts.push(text, is_error);
    }
    Ok(())
}

/// Save recording, Open recording and Export trace, after the supervisor lock is released
/// (a picked file arrives later through [`crate::web::drop::FileInbox`]).
fn recording_files(data: &PanelData, actions: &mut UiActions) {
    let save =
        |what: &str, name: String, mime: &str, bytes: Vec<u8>, toasts: &mut Vec<(String, bool)>| {
            let size = format_bytes(bytes.len() as u64);
            match crate::web::download::deliver_file(&name, mime, &bytes) {
                Ok(where_to) => toasts.push((
                    format!("{what}: {name} saved to {where_to} ({size})"),
                    false,
                )),
                Err(e) => toasts.push((format!("could not save the {what}: {e}"), true)),
            }
        };
    if actions.save_recording {
        let (bytes, now_ns) = {
            let supervisor = data.supervisor.lock();
            (supervisor.export_recording(), supervisor.now_ns())
        };
        let name =
            crate::files::file_name("recording", now_ns, crate::web::drop::RECORDING_EXTENSION);
        save(
            "recording",
            name,
            "application/octet-stream",
            bytes,
            &mut actions.toasts,
        );
    }
    if actions.export_trace {
        let (json, now_ns) = {
            let supervisor = data.supervisor.lock();
            (supervisor.export_trace_json(), supervisor.now_ns())
        };
        let name = crate::files::file_name("trace", now_ns, "json");
        save(
            "trace (open it in ui.perfetto.dev)",
            name,
            "application/json",
            json.into_bytes(),
            &mut actions.toasts,
        );
    }
    if let Some(svg) = actions.save_chart_svg.take() {
        let now_ns = data.supervisor.lock().now_ns();
        let name = crate::files::file_name("sequence-chart", now_ns, "svg");
        save(
            "sequence chart",
            name,
            "image/svg+xml",
            svg.into_bytes(),
            &mut actions.toasts,
        );
    }
    if actions.open_recording
        && let Err(e) = crate::files::pick_recording(&data.files)
    {
        actions
            .toasts
            .push((format!("could not open a recording: {e}"), true));
    }
}

/// The time of the kernel the panels show: the supervisor's clock when live, the kernel time at
/// the timeline's cursor in the past.
pub fn viewed_now_ns(supervisor: &crate::supervisor::Supervisor) -> u64 {
    if supervisor.is_live() {
        supervisor.now_ns()
    } else {
        supervisor.viewed_kernel().now_ns()
    }
}

/// "12.3 MiB", "640 KiB", "512 B".
pub fn format_bytes(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if b >= KIB * KIB * KIB {
        format!("{:.1} GiB", b / (KIB * KIB * KIB))
    } else if b >= KIB * KIB {
        format!("{:.1} MiB", b / (KIB * KIB))
    } else if b >= KIB {
        format!("{:.0} KiB", b / KIB)
    } else {
        format!("{bytes} B")
    }
}

/// "1:02:03" or "2:03.4" from nanoseconds.
pub fn format_ns(ns: u64) -> String {
    let secs = ns as f64 / 1e9;
    let (h, m, s) = (
        (secs / 3600.0) as u64,
        ((secs / 60.0) as u64) % 60,
        secs % 60.0,
    );
    if h > 0 {
        format!("{h}:{m:02}:{s:04.1}")
    } else {
        format!("{m}:{s:04.1}")
    }
}

/// Printable text of a payload preview (other bytes as '·').
pub fn preview_text(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '·'
            }
        })
        .collect()
}

/// "0c 00 00 00 68 65" for a payload preview.
pub fn preview_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_times_and_payloads_are_formatted_for_people() {
        assert_eq!(format_bytes(3 * 1024 * 1024 / 2), "1.5 MiB");
        assert_eq!(preview_text(b"ab\x00c"), "ab·c");
        assert_eq!(preview_hex(&[0, 255, 16]), "00 ff 10");
        assert_eq!(format_ns(62_500_000_000), "1:02.5");
    }

    #[test]
    fn every_panel_system_initialises_without_conflicting_parameters() {
        assert!(crate::schedule_check::initialise_plugin_systems(PanelsPlugin) >= 3);
    }
}
