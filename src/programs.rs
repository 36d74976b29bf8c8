//! The program manifest, read from the served `assets/programs.ron` as a Bevy asset, so
//! editing it and reloading is enough. (Students' own modules, dropped or picked, arrive through
//! `files.rs` as [`crate::supervisor::SupervisorIntent::LoadProgram`]s.)
//!
//! ```text
//! programs.ron asset ─▶ apply_served_manifest ─▶ Supervisor::replace_manifest (or a notice, built-in kept)
//! ```
//! `window.supervisor.load_program(name, bytes[, args])` and `get_console_json(pid)` are in
//! `web/api.rs`; they apply the same intent.

use bevy::asset::{AssetLoadFailedEvent, AssetLoader, LoadContext, io::Reader};
use bevy::prelude::*;

use crate::supervisor::{Manifest, ManifestError, SupervisorHandle};
use crate::ui_state::Toasts;

/// Where the served manifest is, under `assets/`.
pub const MANIFEST_PATH: &str = "programs.ron";

/// The served program manifest, as an asset.
#[derive(Asset, TypePath, Clone, Debug)]
pub struct ManifestAsset(pub Manifest);

#[derive(Default, TypePath)]
struct ManifestLoader;

impl AssetLoader for ManifestLoader {
    type Asset = ManifestAsset;
    type Settings = ();
    type Error = ManifestLoadError;

    async fn load(
        &self,
        reader: &mut dyn Reader,
        _: &(),
        _: &mut LoadContext<'_>,
    ) -> Result<ManifestAsset, ManifestLoadError> {
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| ManifestLoadError(format!("cannot read assets/{MANIFEST_PATH}: {e}")))?;
        let text = String::from_utf8_lossy(&bytes);
        Manifest::parse(&text, &format!("assets/{MANIFEST_PATH}"))
            .map(ManifestAsset)
            .map_err(|e| ManifestLoadError(e.to_string()))
    }

    fn extensions(&self) -> &[&str] {
        &["programs.ron"]
    }
}

/// Why the served manifest was not used (its text names the file, line and column).
#[derive(Debug)]
pub struct ManifestLoadError(pub String);

impl std::fmt::Display for ManifestLoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ManifestLoadError {}

/// What the spawn panel shows about the served manifest.
#[derive(Resource, Debug, Default)]
pub struct ProgramsState {
    /// Why the served manifest is not in use (the built-in one is), with line and column.
    pub manifest_notice: Option<String>,
    /// True once the served manifest replaced the built-in one.
    pub served_manifest: bool,
    handle: Option<Handle<ManifestAsset>>,
}

/// The systems, in `Update`, before the supervisor applies intents.
#[derive(SystemSet, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProgramsSystems;

pub fn programs_plugin(app: &mut App) {
    app.init_resource::<ProgramsState>()
        .add_systems(Startup, load_served_manifest);
    // Headless tests run without an asset server.
    if app.is_plugin_added::<AssetPlugin>() {
        app.init_asset::<ManifestAsset>()
            .register_asset_loader(ManifestLoader)
            .add_systems(Update, apply_served_manifest.in_set(ProgramsSystems));
    }
}

fn load_served_manifest(asset_server: Option<Res<AssetServer>>, mut state: ResMut<ProgramsState>) {
    if let Some(asset_server) = asset_server {
        state.handle = Some(asset_server.load::<ManifestAsset>(MANIFEST_PATH));
    }
}

fn apply_served_manifest(
    mut state: ResMut<ProgramsState>,
    manifests: Res<Assets<ManifestAsset>>,
    mut events: MessageReader<AssetEvent<ManifestAsset>>,
    mut failures: MessageReader<AssetLoadFailedEvent<ManifestAsset>>,
    handle: Res<SupervisorHandle>,
    mut toasts: ResMut<Toasts>,
) {
    for failure in failures.read() {
        // "Failed to load asset '..' with asset loader '..': <ours>" -> our part.
        let text = failure.error.to_string();
        let message = text
            .rsplit_once("': ")
            .map_or(text.clone(), |(_, ours)| ours.to_string());
        let notice = format!("{message} (the built-in program list is in use)");
        warn!("{notice}");
        toasts.push(notice.clone(), true);
        state.manifest_notice = Some(notice);
    }
    for event in events.read() {
        let (AssetEvent::Added { id } | AssetEvent::Modified { id }) = event else {
            continue;
        };
        let Some(ManifestAsset(manifest)) = manifests.get(*id) else {
            continue;
        };
        match handle.lock().replace_manifest(manifest.clone()) {
            Ok(()) => {
                state.manifest_notice = None;
                state.served_manifest = true;
            }
            Err(e) => {
                let notice = served_refusal(&e);
                toasts.push(notice.clone(), true);
                state.manifest_notice = Some(notice);
            }
        }
    }
}

fn served_refusal(error: &ManifestError) -> String {
    format!("assets/{MANIFEST_PATH}: {error} (the built-in program list is in use)")
}
