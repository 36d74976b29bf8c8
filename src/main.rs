//! The Orbital Playground app: Bevy's default plugins (drawing into the page's canvas in the
//! browser), the supervisor with the right host for the platform, and the playground's features.
use bevy::prelude::*;
use orbital_playground::PlaygroundPlugins;
use orbital_playground::supervisor::SupervisorPlugin;

fn app(supervisor: SupervisorPlugin) -> App {
    let mut app = App::new();
    app.add_plugins(orbital_playground::bevy_plugins("Orbital Playground"))
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
