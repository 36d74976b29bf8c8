//! The floor of the playground's start-up: Bevy and egui set up exactly as the app sets them up
//! (`orbital_playground::bevy_plugins`, egui with the app's fonts), drawing what every frame of
//! the app needs at the least, one 2D mesh (a node) and one egui panel of text, and nothing of
//! the playground: no kernel, no guests, no graph, no panels.
//!
//! `cargo xtask bench` builds it into the site's `floor/` folder and loads it beside the app in
//! fresh browser contexts: its navigation to first frame is the baseline of the app's (what no
//! change to the playground's own plugins can go below on the same machine). Natively it opens a
//! window with the same drawing.
use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPlugin, EguiPrimaryContextPass, PrimaryEguiContext, egui};
use orbital_playground::{bevy_plugins, fonts, render_quality};

fn floor_app() -> App {
    let mut app = App::new();
    app.add_plugins(bevy_plugins("Orbital Playground: start-up floor"))
        .add_plugins(EguiPlugin::default())
        .add_plugins(fonts::fonts_plugin)
        .add_systems(Startup, spawn_camera_and_node)
        .add_systems(EguiPrimaryContextPass, draw_panel);
    app
}

fn spawn_camera_and_node(
    mut commands: Commands,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<ColorMaterial>>,
) {
    commands.spawn((Camera2d, PrimaryEguiContext, render_quality::initial_msaa()));
    commands.spawn((
        Mesh2d(meshes.add(Circle::new(24.0))),
        MeshMaterial2d(materials.add(Color::srgb(0.35, 0.65, 0.95))),
        Transform::default(),
    ));
}

fn draw_panel(mut contexts: EguiContexts) -> Result {
    let ctx = contexts.ctx_mut()?;
    // A root `Ui` over the whole viewport, as the app's panels lay themselves out.
    let mut root = egui::Ui::new(
        ctx.clone(),
        "floor-root".into(),
        egui::UiBuilder::new()
            .layer_id(egui::LayerId::background())
            .max_rect(ctx.viewport_rect()),
    );
    egui::Panel::left("floor").show(&mut root, |ui| {
        ui.heading("Start-up floor");
        ui.label("Bevy and egui as the playground sets them up, and nothing of the playground.");
    });
    Ok(())
}

#[cfg(target_arch = "wasm32")]
fn main() {
    orbital_playground::web::start_floor(floor_app);
}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> AppExit {
    floor_app().run()
}
