//! Files a person hands over and saves. Every file that comes in (dropped on the canvas, picked,
//! read from a path natively) lands in the [`FileInbox`] (`web/drop.rs` holds the browser's
//! listeners) and is dispatched here by its kind: a program (`.wasm`) becomes a
//! [`SupervisorIntent::LoadProgram`], a recording (`.orbitrec`) an
//! [`SupervisorIntent::ImportRecording`]; anything else, or a file that could not be read, a
//! toast saying what to do. A refused intent reaches the toasts as an `IntentRefused`.
//! Saving goes through `web::download` (a browser download, natively a file in the current
//! directory; the toast says where).
//!
//! ```text
//! FileInbox (drop, picker, path) ─▶ dispatch_received_files ─▶ LoadProgram / ImportRecording intent (or a toast)
//! ```

use bevy::prelude::*;

use crate::supervisor::{SupervisorIntent, SupervisorSystems};
use crate::ui_state::{self, Toasts};
use crate::web::drop::{FileInbox, FileKind, RECORDING_EXTENSION, ReceivedFile, base_name};

pub fn files_plugin(app: &mut App) {
    ui_state::ensure_ui_state(app);
    app.init_resource::<FileInbox>()
        .add_systems(Startup, install_file_listeners)
        .add_systems(
            Update,
            dispatch_received_files.before(SupervisorSystems::ApplyIntents),
        );
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
    let _ = inbox; // natively files come from a path
}

/// The intent for a received file, or why it is refused (a file of no kind we take).
pub fn intent_for(file: ReceivedFile) -> Result<SupervisorIntent, String> {
    let name = base_name(&file.name);
    match FileKind::of(&name, &file.bytes) {
        FileKind::Wasm => Ok(SupervisorIntent::LoadProgram {
            name,
            bytes: file.bytes.into(),
            args: Vec::new(),
        }),
        FileKind::Recording => Ok(SupervisorIntent::ImportRecording(file.bytes.into())),
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

/// Asks for a recording to open: the browser's file picker (the file arrives in the inbox);
/// natively the newest `*.orbitrec` in the current directory, read into the inbox.
pub fn pick_recording(inbox: &FileInbox) -> Result<(), String> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::web::drop::open_file_picker(Some(&format!(".{RECORDING_EXTENSION}")));
        let _ = inbox;
        Ok(())
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let dir = std::env::current_dir()
            .map_err(|e| format!("cannot find the current directory: {e}"))?;
        let newest = std::fs::read_dir(&dir)
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .filter_map(|e| e.ok())
            .filter(|e| {
                e.path()
                    .extension()
                    .is_some_and(|x| x == RECORDING_EXTENSION)
            })
            .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok());
        let Some(entry) = newest else {
            return Err(format!(
                "no .{RECORDING_EXTENSION} file in {}: save one first",
                dir.display()
            ));
        };
        read_path(&entry.path().display().to_string(), inbox)
    }
}

/// A file name with the kernel time in it: `orbital-<secs>s.<ext>`.
pub fn file_name(stem: &str, now_ns: u64, extension: &str) -> String {
    format!("orbital-{stem}-{}s.{extension}", now_ns / 1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_file_becomes_its_intent_and_anything_else_a_refusal() {
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
        let recording = ReceivedFile {
            name: "class.orbitrec".into(),
            bytes: b"ORBITREC\x01".to_vec(),
        };
        assert!(matches!(
            intent_for(recording),
            Ok(SupervisorIntent::ImportRecording(bytes)) if bytes.0.len() == 9
        ));
        let text = ReceivedFile {
            name: "hello.c".into(),
            bytes: b"#include".to_vec(),
        };
        assert!(
            intent_for(text)
                .unwrap_err()
                .contains("hello.c: neither a WebAssembly module (.wasm)")
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
