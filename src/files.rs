//! Files a person saves and opens. Saving: in the browser a download (a Blob and an
//! `<a download>` click), natively a file in the current directory (the toast says where).
//! Opening: in the browser a file picker and files dropped on the canvas, natively the newest
//! `*.orbitrec` in the current directory. Every opened file, however it came, goes through one
//! queue and is routed by its kind ([`FileKind::of`]: the `ORBITREC` magic, or the extension),
//! so another kind (a `.wasm` program) can share the same drop listener by adding a variant.

use std::sync::{Arc, Mutex};

use bevy::prelude::*;

use crate::supervisor::{SupervisorHandle, SupervisorIntent};
use crate::ui_state::{self, Toasts};

/// The extension recordings are saved with.
pub const RECORDING_EXTENSION: &str = "orbitrec";

/// What an opened file is, by its first bytes or else its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Recording,
    Unknown,
}

impl FileKind {
    pub fn of(name: &str, bytes: &[u8]) -> FileKind {
        let by_name = name
            .rsplit_once('.')
            .is_some_and(|(_, ext)| ext.eq_ignore_ascii_case(RECORDING_EXTENSION));
        if bytes.starts_with(b"ORBITREC") || by_name {
            FileKind::Recording
        } else {
            FileKind::Unknown
        }
    }
}

/// A file a person opened, waiting for the next frame.
#[derive(Clone, Debug)]
pub struct OpenedFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Files opened outside a frame (a picker's `change`, a `drop`), drained each frame. Shared
/// state because browser callbacks cannot reach the ECS world.
#[derive(Resource, Clone, Default)]
pub struct OpenedFiles(Arc<Mutex<Vec<OpenedFile>>>);

impl OpenedFiles {
    pub fn push(&self, file: OpenedFile) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(file);
    }

    fn take(&self) -> Vec<OpenedFile> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

pub fn files_plugin(app: &mut App) {
    ui_state::ensure_ui_state(app);
    app.init_resource::<OpenedFiles>()
        .add_systems(Update, open_dropped_files);
    #[cfg(target_arch = "wasm32")]
    app.add_systems(Update, web::install_drop_listener);
}

/// Routes each opened file by its kind. A recording is imported through the intent path (a bad
/// one is refused with what is wrong, and the live system keeps running).
fn open_dropped_files(
    opened: Res<OpenedFiles>,
    handle: Option<Res<SupervisorHandle>>,
    mut toasts: ResMut<Toasts>,
) {
    for file in opened.take() {
        match FileKind::of(&file.name, &file.bytes) {
            FileKind::Recording => {
                let Some(handle) = &handle else { continue };
                let intent = SupervisorIntent::ImportRecording(file.bytes.into());
                // A refusal reaches the toasts as an `IntentRefused`.
                if handle.apply_intent(&intent).is_ok() {
                    let inputs = handle.lock().timeline().inputs;
                    toasts.push(
                        format!("Opened {}: {inputs} inputs, replay only (no guest runs). Drag the timeline to look back; reload the page for a live system.", file.name),
                        false,
                    );
                }
            }
            FileKind::Unknown => toasts.push(
                format!("{} is not a recording (.{RECORDING_EXTENSION}): open a file saved with \"Save recording\".", file.name),
                true,
            ),
        }
    }
}

/// Saves `bytes` as `name`; returns where it went, for the toast.
pub fn save(name: &str, mime: &str, bytes: &[u8]) -> Result<String, String> {
    #[cfg(target_arch = "wasm32")]
    {
        web::download(name, mime, bytes).map(|()| format!("downloaded {name}"))
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = mime;
        let dir = std::env::current_dir()
            .map_err(|e| format!("cannot find the current directory: {e}"))?;
        let path = dir.join(name);
        std::fs::write(&path, bytes)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(format!("saved {}", path.display()))
    }
}

/// Asks for a recording to open: a file picker in the browser; natively the newest
/// `*.orbitrec` in the current directory.
pub fn pick_recording(opened: &OpenedFiles) -> Result<(), String> {
    #[cfg(target_arch = "wasm32")]
    {
        web::pick_file(opened.clone(), &format!(".{RECORDING_EXTENSION}"))
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
        let path = entry.path();
        let bytes =
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        opened.push(OpenedFile {
            name: path.display().to_string(),
            bytes,
        });
        Ok(())
    }
}

/// A file name with the kernel time in it: `orbital-<secs>s.<ext>`.
pub fn file_name(stem: &str, now_ns: u64, extension: &str) -> String {
    format!("orbital-{stem}-{}s.{extension}", now_ns / 1_000_000_000)
}

#[cfg(target_arch = "wasm32")]
mod web {
    use js_sys::{Array, Uint8Array};
    use wasm_bindgen::JsCast;
    use wasm_bindgen::prelude::*;

    use super::{OpenedFile, OpenedFiles};
    use bevy::prelude::*;

    fn js_error(e: JsValue) -> String {
        e.as_string()
            .or_else(|| {
                e.dyn_ref::<js_sys::Error>()
                    .map(|e| String::from(e.message()))
            })
            .unwrap_or_else(|| format!("{e:?}"))
    }

    pub(super) fn download(name: &str, mime: &str, bytes: &[u8]) -> Result<(), String> {
        let document = web_sys::window()
            .and_then(|w| w.document())
            .ok_or("no document")?;
        let parts = Array::of1(&Uint8Array::from(bytes));
        let options = web_sys::BlobPropertyBag::new();
        options.set_type(mime);
        let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
            .map_err(js_error)?;
        let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(js_error)?;
        let anchor: web_sys::HtmlAnchorElement = document
            .create_element("a")
            .map_err(js_error)?
            .dyn_into()
            .map_err(|_| "not an anchor")?;
        anchor.set_href(&url);
        anchor.set_download(name);
        anchor.click();
        // The click has started the download; the URL can go.
        web_sys::Url::revoke_object_url(&url).map_err(js_error)?;
        Ok(())
    }

    /// Reads each file of `files` into the queue (asynchronously: `File.arrayBuffer()`).
    fn read_files(files: web_sys::FileList, opened: OpenedFiles) {
        for i in 0..files.length() {
            let Some(file) = files.get(i) else { continue };
            let opened = opened.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let name = file.name();
                match wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await {
                    Ok(buffer) => opened.push(OpenedFile {
                        name,
                        bytes: Uint8Array::new(&buffer).to_vec(),
                    }),
                    Err(e) => error!("cannot read {name}: {}", js_error(e)),
                }
            });
        }
    }

    pub(super) fn pick_file(opened: OpenedFiles, accept: &str) -> Result<(), String> {
        let document = web_sys::window()
            .and_then(|w| w.document())
            .ok_or("no document")?;
        let input: web_sys::HtmlInputElement = document
            .create_element("input")
            .map_err(js_error)?
            .dyn_into()
            .map_err(|_| "not an input")?;
        input.set_type("file");
        input.set_accept(accept);
        let reader = input.clone();
        let on_change = Closure::<dyn FnMut()>::new(move || {
            if let Some(files) = reader.files() {
                read_files(files, opened.clone());
            }
        });
        input.set_onchange(Some(on_change.as_ref().unchecked_ref()));
        // Lives as long as the input element (one per click).
        on_change.forget();
        input.click();
        Ok(())
    }

    /// Listens for files dropped on the canvas (once the canvas exists).
    pub(super) fn install_drop_listener(opened: Res<OpenedFiles>, mut installed: Local<bool>) {
        if *installed {
            return;
        }
        let Some(canvas) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector("canvas").ok().flatten())
        else {
            return;
        };
        *installed = true;
        // Without preventDefault on dragover the browser opens the file instead of dropping it.
        let on_dragover =
            Closure::<dyn FnMut(web_sys::DragEvent)>::new(|event: web_sys::DragEvent| {
                event.prevent_default()
            });
        let queue = opened.clone();
        let on_drop =
            Closure::<dyn FnMut(web_sys::DragEvent)>::new(move |event: web_sys::DragEvent| {
                event.prevent_default();
                if let Some(files) = event.data_transfer().and_then(|t| t.files()) {
                    read_files(files, queue.clone());
                }
            });
        let added = canvas
            .add_event_listener_with_callback("dragover", on_dragover.as_ref().unchecked_ref())
            .and_then(|()| {
                canvas.add_event_listener_with_callback("drop", on_drop.as_ref().unchecked_ref())
            });
        if let Err(e) = added {
            error!(
                "cannot listen for files dropped on the canvas: {}",
                js_error(e)
            );
        }
        // Live as long as the page.
        on_dragover.forget();
        on_drop.forget();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_routed_by_magic_then_by_extension() {
        assert_eq!(
            FileKind::of("x.bin", b"ORBITREC\x01\x00"),
            FileKind::Recording
        );
        assert_eq!(
            FileKind::of("class.ORBITREC", b"garbage"),
            FileKind::Recording
        );
        assert_eq!(FileKind::of("program.wasm", b"\0asm"), FileKind::Unknown);
    }
}
