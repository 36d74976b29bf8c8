//! Students' own programs, as the app offers them: files dropped on the canvas, picked with
//! "Load program…" or read from a path become [`SupervisorIntent::LoadProgram`]s (the
//! supervisor validates, registers and spawns them), and the program manifest is read from
//! the served `assets/programs.ron` as a Bevy asset, so editing it and reloading is enough.
//!
//! ```text
//! FileInbox (drop, picker, path) ─▶ dispatch_received_files ─▶ LoadProgram intent (or a refusal toast)
//! programs.ron asset ─▶ apply_served_manifest ─▶ Supervisor::replace_manifest (or a notice, built-in kept)
//! ```
//! `window.supervisor.load_program(name, bytes[, args])` and `get_console_json(pid)` are in
//! `web/api.rs`; they apply the same intent.

use bevy::asset::{AssetLoadFailedEvent, AssetLoader, LoadContext, io::Reader};
use bevy::prelude::*;

use crate::supervisor::{
    Manifest, ManifestError, SupervisorHandle, SupervisorIntent, SupervisorSystems,
};
use crate::ui_state::Toasts;
use crate::web::drop::{FileInbox, FileKind, ReceivedFile, base_name};

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
    app.init_resource::<FileInbox>()
        .init_resource::<ProgramsState>()
        .add_systems(Startup, (install_file_listeners, load_served_manifest))
        .add_systems(
            Update,
            dispatch_received_files
                .in_set(ProgramsSystems)
                .before(SupervisorSystems::ApplyIntents),
        );
    // Headless tests run without an asset server.
    if app.is_plugin_added::<AssetPlugin>() {
        app.init_asset::<ManifestAsset>()
            .register_asset_loader(ManifestLoader)
            .add_systems(Update, apply_served_manifest.in_set(ProgramsSystems));
    }
}

fn install_file_listeners(inbox: Res<FileInbox>) {
    #[cfg(target_arch = "wasm32")]
    if let Err(e) = crate::web::drop::install("#orbital-canvas", &inbox) {
        error!(
            "cannot listen for files dropped on the canvas: {}",
            crate::web::host::js_error_text(&e)
        );
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = inbox; // natively files come from the path field
}

fn load_served_manifest(asset_server: Option<Res<AssetServer>>, mut state: ResMut<ProgramsState>) {
    if let Some(asset_server) = asset_server {
        state.handle = Some(asset_server.load::<ManifestAsset>(MANIFEST_PATH));
    }
}

/// The load intent for a received file, or why it is refused (a file that is not WebAssembly).
pub fn intent_for(file: ReceivedFile) -> Result<SupervisorIntent, String> {
    let name = base_name(&file.name);
    match FileKind::of(&file.bytes) {
        FileKind::Wasm => Ok(SupervisorIntent::LoadProgram {
            name,
            bytes: file.bytes.into(),
            args: Vec::new(),
        }),
        FileKind::Unknown => Err(FileKind::refusal(&name)),
    }
}

fn dispatch_received_files(
    inbox: Res<FileInbox>,
    mut intents: MessageWriter<SupervisorIntent>,
    mut toasts: ResMut<Toasts>,
) {
    let (files, errors) = inbox.drain();
    for error in errors {
        toasts.push(error, true);
    }
    for file in files {
        match intent_for(file) {
            Ok(intent) => {
                intents.write(intent);
            }
            Err(refusal) => toasts.push(refusal, true),
        }
    }
}

/// Natively, "Load program…" with a path: reads the file into the inbox, or says why not.
pub fn read_path(path: &str, inbox: &FileInbox) -> Result<(), String> {
    let path = path.trim();
    if path.is_empty() {
        return Err("type the path of a .wasm file first".into());
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    inbox.push(ReceivedFile {
        name: base_name(path),
        bytes,
    });
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wasm_file_becomes_a_load_intent_and_anything_else_a_refusal() {
        let wasm = ReceivedFile {
            name: "dir/hello.wasm".into(),
            bytes: b"\0asm\x01\0\0\0".to_vec(),
        };
        match intent_for(wasm) {
            Ok(SupervisorIntent::LoadProgram { name, bytes, args }) => {
                assert_eq!(name, "hello.wasm");
                assert_eq!(bytes.0.len(), 8);
                assert!(args.is_empty());
            }
            other => panic!("expected a load intent, got {other:?}"),
        }
        let text = ReceivedFile {
            name: "hello.c".into(),
            bytes: b"#include".to_vec(),
        };
        assert!(
            intent_for(text)
                .unwrap_err()
                .contains("hello.c: not a WebAssembly module (.wasm)")
        );
    }

    #[test]
    fn a_missing_path_is_refused_with_its_reason() {
        let inbox = FileInbox::default();
        assert!(read_path("", &inbox).is_err());
        assert!(
            read_path("/nonexistent/x.wasm", &inbox)
                .unwrap_err()
                .contains("/nonexistent/x.wasm")
        );
    }
}
