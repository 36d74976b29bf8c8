//! Orbital Playground: the Bevy app that owns the kernel and draws its processes.
pub use orbital_abi as abi;
pub use orbital_kernel as kernel;

pub mod capability_view;
pub mod classroom;
pub mod core_pipeline;
#[cfg(not(target_arch = "wasm32"))]
pub mod desktop;
pub mod files;
pub mod fonts;
pub mod frame_timing;
pub mod graph;
pub mod handout;
pub mod lesson;
pub mod panels;
pub mod pointer_capture;
pub mod programs;
pub mod render_quality;
pub mod scenario;
#[cfg(test)]
mod schedule_check;
pub mod share_link;
pub mod supervisor;
pub mod text_focus;
pub mod theme;
pub mod ui_state;
pub mod web;

use bevy::app::{PluginGroup, PluginGroupBuilder};

/// The page's canvas (web/index.html), sized by its fixed-size parent.
pub const CANVAS: &str = "#orbital-canvas";

/// Bevy's default plugins as the playground sets them up, for the app and for the start-up floor
/// (`src/bin/bevy_floor.rs`): the window on the page's canvas at its shown size, no `.meta`
/// requests, and the core pipeline without its mipmap generator.
pub fn bevy_plugins(title: &str) -> PluginGroupBuilder {
    use bevy::asset::{AssetMetaCheck, AssetPlugin};
    use bevy::core_pipeline::CorePipelinePlugin;
    use bevy::prelude::{DefaultPlugins, default};
    use bevy::window::{Window, WindowPlugin, WindowResolution};
    DefaultPlugins
        .set(WindowPlugin {
            primary_window: Some(Window {
                title: title.into(),
                canvas: Some(CANVAS.into()),
                fit_canvas_to_parent: true,
                resolution: web::initial_canvas_size(CANVAS)
                    .map(WindowResolution::from)
                    .unwrap_or_default(),
                // Let the browser keep its keys (reload, devtools) outside egui's text fields.
                prevent_default_event_handling: false,
                ..default()
            }),
            ..default()
        })
        // Served sites have no `.meta` files; asking for them only produces 404s.
        .set(AssetPlugin {
            meta_check: AssetMetaCheck::Never,
            ..default()
        })
        // Bevy's core pipeline without its mipmap generator, the start's largest cost
        // (src/core_pipeline/mod.rs says why and what it keeps).
        .add_after::<CorePipelinePlugin>(core_pipeline::CorePipelineWithoutMipsPlugin)
        .disable::<CorePipelinePlugin>()
}

/// The visual playground on top of the supervisor: theme, shared UI state, render quality, frame
/// timing, the graph (model and drawing), the panels, scenarios and classroom mode.
///
/// The binary adds, before this group, `DefaultPlugins` and the `SupervisorPlugin` with the host
/// of its platform; `EguiPlugin` is added here unless the binary already did. For a headless app
/// (tests), add `graph::GraphPlugin` and/or `scenario::ScenarioPlugin` alone.
pub struct PlaygroundPlugins;

impl PluginGroup for PlaygroundPlugins {
    fn build(self) -> PluginGroupBuilder {
        PluginGroupBuilder::start::<Self>()
            .add(ensure_egui_plugin)
            .add(fonts::fonts_plugin)
            .add(theme::theme_plugin)
            .add(ui_state::UiStatePlugin)
            .add(render_quality::render_quality_plugin)
            .add(frame_timing::frame_timing_plugin)
            .add(scenario::ScenarioPlugin)
            .add(files::files_plugin)
            .add(programs::programs_plugin)
            .add(graph::GraphPlugin)
            .add(graph::GraphDrawPlugin)
            .add(panels::PanelsPlugin)
            .add(classroom::classroom_plugin)
            .add(capability_view::capability_view_plugin)
            .add(lesson::LessonPlugin)
            .add(pointer_capture::pointer_capture_plugin)
            .add(text_focus::text_focus_plugin)
            .add(handout::handout_plugin)
            .add(js_api_plugin)
    }
}

fn ensure_egui_plugin(app: &mut bevy::app::App) {
    if !app.is_plugin_added::<bevy_egui::EguiPlugin>() {
        app.add_plugins(bevy_egui::EguiPlugin::default());
    }
}

/// `window.supervisor.get_canvas_layout_json()` and `get_frame_timing_json()` for browser tests
/// (no-ops natively). They read snapshots the app writes each frame, so they work between frames.
fn js_api_plugin(app: &mut bevy::app::App) {
    app.add_systems(bevy::app::Startup, expose_visual_snapshots);
}

fn expose_visual_snapshots(
    layout: bevy::ecs::system::Res<graph::SharedCanvasLayout>,
    timing: bevy::ecs::system::Res<frame_timing::SharedFrameTiming>,
) {
    let layout = layout.clone();
    if let Err(e) = web::expose_json("get_canvas_layout_json", move || layout.to_json()) {
        bevy::log::error!("cannot expose get_canvas_layout_json: {e:?}");
    }
    let reader = timing.clone();
    if let Err(e) = web::expose_json("get_frame_timing_json", move || reader.to_json()) {
        bevy::log::error!("cannot expose get_frame_timing_json: {e:?}");
    }
    let resetter = timing.clone();
    let reset = move || {
        resetter.request_reset();
        "{}".to_string()
    };
    if let Err(e) = web::expose_json("reset_frame_timing", reset) {
        bevy::log::error!("cannot expose reset_frame_timing: {e:?}");
    }
}
