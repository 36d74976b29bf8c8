//! The Orbital Playground app: Bevy's default plugins (drawing into the page's canvas in the
//! browser), the supervisor with the right host for the platform, and the playground's features.
use bevy::asset::AssetMetaCheck;
use bevy::core_pipeline::CorePipelinePlugin;
use bevy::prelude::*;
use bevy::window::WindowResolution;
use orbital_playground::PlaygroundPlugins;
use orbital_playground::core_pipeline::CorePipelineWithoutMipsPlugin;
use orbital_playground::supervisor::SupervisorPlugin;

/// The page's canvas (web/index.html), sized by its fixed-size parent.
const CANVAS: &str = "#orbital-canvas";

fn app(supervisor: SupervisorPlugin) -> App {
    let mut app = App::new();
    app.add_plugins(
        DefaultPlugins
            .set(WindowPlugin {
                primary_window: Some(Window {
                    title: "Orbital Playground".into(),
                    canvas: Some(CANVAS.into()),
                    fit_canvas_to_parent: true,
                    resolution: orbital_playground::web::initial_canvas_size(CANVAS)
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
            .add_after::<CorePipelinePlugin>(CorePipelineWithoutMipsPlugin)
            .disable::<CorePipelinePlugin>(),
    )
    .add_plugins(supervisor)
    .add_plugins(PlaygroundPlugins);
    app
}

#[cfg(target_arch = "wasm32")]
fn main() {
    orbital_playground::web::start(app);
}

/// A window on the desktop, guests on the native `wasmi` host. `ORBITAL_SCREENSHOT=<file.png>`
/// saves a screenshot once the boot set runs and exits (`cargo xtask desktop` runs it so).
#[cfg(not(target_arch = "wasm32"))]
fn main() -> AppExit {
    let mut app = app(SupervisorPlugin::default());
    if let Some(screenshot) = orbital_playground::desktop::BootScreenshotPlugin::from_env() {
        app.add_plugins(screenshot);
    }
    app.run()
}
