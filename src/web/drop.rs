//! Files handed to the playground: dropped on the canvas or picked with a file input (in the
//! browser), or read from a path (natively). Every route ends in the [`FileInbox`], which a
//! system drains each frame and dispatches on the file's kind ([`FileKind::of`]: its first bytes,
//! else its extension): a program (`.wasm`) or a recording (`.orbitrec`), one listener for both.
//!
//! ```text
//! canvas `drop` / <input type=file> change ─▶ File.arrayBuffer() ─▶ FileInbox ─▶ (a Bevy system)
//! ```
//! Bevy's winit backend delivers no file drops on the web (its `drag_and_drop` example is not
//! for wasm), hence our own `dragover`/`drop` listeners.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use bevy::prelude::Resource;

/// A file someone handed over: its name (without any folder) and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// What a file is, by its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// Starts with `\0asm` (or is named `*.wasm`): a WebAssembly module (a program to load).
    Wasm,
    /// Starts with `ORBITREC` (or is named `*.orbitrec`): a recording to open (time travel).
    Recording,
    /// Anything else: refused with [`FileKind::refusal`].
    Unknown,
}

/// The WebAssembly magic number.
pub const WASM_MAGIC: &[u8; 4] = b"\0asm";
/// The first bytes of a recording file (see `orbital_supervisor::recording::file`).
pub const RECORDING_MAGIC: [u8; 8] = orbital_supervisor::recording::file::MAGIC;
/// The extension recordings are saved with.
pub const RECORDING_EXTENSION: &str = "orbitrec";

impl FileKind {
    /// By the first bytes; a file whose bytes say nothing goes by its extension, so a damaged
    /// recording or module still reaches the check that names what is wrong with it.
    pub fn of(name: &str, bytes: &[u8]) -> FileKind {
        let extension = name
            .rsplit_once('.')
            .map(|(_, ext)| ext.to_ascii_lowercase());
        if bytes.starts_with(WASM_MAGIC) {
            FileKind::Wasm
        } else if bytes.starts_with(&RECORDING_MAGIC) {
            FileKind::Recording
        } else {
            match extension.as_deref() {
                Some("wasm") => FileKind::Wasm,
                Some(RECORDING_EXTENSION) => FileKind::Recording,
                _ => FileKind::Unknown,
            }
        }
    }

    /// Why a file of an unknown kind was not used, for a person.
    pub fn refusal(name: &str) -> String {
        format!(
            "{name}: neither a WebAssembly module (.wasm) nor a recording (.{RECORDING_EXTENSION}): drop or pick the .wasm file your compiler wrote, or a recording saved with \"Save recording\""
        )
    }
}

/// Files waiting for the next frame, and whether a drag is over the canvas (for the drop hint).
/// Shared with the page's event listeners, which run outside frames.
#[derive(Resource, Clone, Default)]
pub struct FileInbox(Arc<Mutex<InboxState>>);

#[derive(Default)]
struct InboxState {
    files: VecDeque<ReceivedFile>,
    dragging: bool,
    /// Files that could not be read (the browser's message), for a toast.
    errors: Vec<String>,
}

impl FileInbox {
    fn with<T>(&self, f: impl FnOnce(&mut InboxState) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn push(&self, file: ReceivedFile) {
        self.with(|s| s.files.push_back(file));
    }

    pub fn push_error(&self, message: String) {
        self.with(|s| s.errors.push(message));
    }

    /// Every file received since the last call, oldest first, and read errors.
    pub fn drain(&self) -> (Vec<ReceivedFile>, Vec<String>) {
        self.with(|s| (s.files.drain(..).collect(), std::mem::take(&mut s.errors)))
    }

    pub fn set_dragging(&self, dragging: bool) {
        self.with(|s| s.dragging = dragging);
    }

    /// True while a file is dragged over the canvas.
    pub fn dragging(&self) -> bool {
        self.with(|s| s.dragging)
    }
}

/// The file name a path or a browser gives, without folders.
pub fn base_name(name: &str) -> String {
    name.rsplit(['/', '\\']).next().unwrap_or(name).to_string()
}

#[cfg(target_arch = "wasm32")]
pub use web::{install, open_file_picker};

#[cfg(target_arch = "wasm32")]
mod web {
    use js_sys::Uint8Array;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{DragEvent, Event, File, HtmlInputElement};

    use super::{FileInbox, ReceivedFile};
    use crate::web::host::js_error_text;

    /// The hidden file input behind "Load program…" (tests may `setInputFiles` on it).
    pub const FILE_INPUT_ID: &str = "orbital-program-file";

    /// Listens for files dropped on `canvas_selector` and creates the hidden file input; both
    /// feed `inbox`.
    pub fn install(canvas_selector: &str, inbox: &FileInbox) -> Result<(), JsValue> {
        let document = web_sys::window()
            .and_then(|w| w.document())
            .ok_or("no document")?;
        let canvas = document
            .query_selector(canvas_selector)?
            .ok_or_else(|| JsValue::from_str(&format!("no element {canvas_selector}")))?;

        let i = inbox.clone();
        let over = Closure::<dyn FnMut(DragEvent)>::new(move |event: DragEvent| {
            // Without preventDefault the browser refuses the drop (or opens the file).
            event.prevent_default();
            if let Some(transfer) = event.data_transfer() {
                transfer.set_drop_effect("copy");
            }
            i.set_dragging(true);
        });
        canvas.add_event_listener_with_callback("dragover", over.as_ref().unchecked_ref())?;
        canvas.add_event_listener_with_callback("dragenter", over.as_ref().unchecked_ref())?;
        over.forget(); // as long as the page

        let i = inbox.clone();
        let leave = Closure::<dyn FnMut(DragEvent)>::new(move |_: DragEvent| i.set_dragging(false));
        canvas.add_event_listener_with_callback("dragleave", leave.as_ref().unchecked_ref())?;
        leave.forget();

        let i = inbox.clone();
        let drop = Closure::<dyn FnMut(DragEvent)>::new(move |event: DragEvent| {
            event.prevent_default();
            i.set_dragging(false);
            let Some(files) = event.data_transfer().and_then(|t| t.files()) else {
                return;
            };
            for index in 0..files.length() {
                if let Some(file) = files.get(index) {
                    read_into(file, i.clone());
                }
            }
        });
        canvas.add_event_listener_with_callback("drop", drop.as_ref().unchecked_ref())?;
        drop.forget();

        let input: HtmlInputElement = document.create_element("input")?.dyn_into()?;
        input.set_type("file");
        input.set_accept(PROGRAM_ACCEPT);
        input.set_id(FILE_INPUT_ID);
        input.set_attribute("hidden", "")?;
        let i = inbox.clone();
        let target = input.clone();
        let change = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            if let Some(files) = target.files() {
                for index in 0..files.length() {
                    if let Some(file) = files.get(index) {
                        read_into(file, i.clone());
                    }
                }
            }
            // Picking the same file again fires `change` again.
            target.set_value("");
        });
        input.add_event_listener_with_callback("change", change.as_ref().unchecked_ref())?;
        change.forget();
        document.body().ok_or("no body")?.append_child(&input)?;
        Ok(())
    }

    /// What the picker offers by default: programs.
    const PROGRAM_ACCEPT: &str = ".wasm,application/wasm";

    /// Opens the browser's file picker (from a button press: browsers allow it shortly after one),
    /// offering files of `accept` (`None`: programs); whatever is picked goes to the inbox.
    pub fn open_file_picker(accept: Option<&str>) {
        let input = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(FILE_INPUT_ID))
            .and_then(|e| e.dyn_into::<HtmlInputElement>().ok());
        match input {
            Some(input) => {
                input.set_accept(accept.unwrap_or(PROGRAM_ACCEPT));
                input.click()
            }
            None => bevy::log::error!("the program file input #{FILE_INPUT_ID} is missing"),
        }
    }

    fn read_into(file: File, inbox: FileInbox) {
        let name = file.name();
        wasm_bindgen_futures::spawn_local(async move {
            match JsFuture::from(file.array_buffer()).await {
                Ok(buffer) => inbox.push(ReceivedFile {
                    name,
                    bytes: Uint8Array::new(&buffer).to_vec(),
                }),
                Err(e) => inbox.push_error(format!("cannot read {name}: {}", js_error_text(&e))),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_told_apart_by_their_magic() {
        assert_eq!(FileKind::of("x", b"\0asm\x01\0\0\0"), FileKind::Wasm);
        assert_eq!(FileKind::of("a.c", b"int main"), FileKind::Unknown);
        assert_eq!(FileKind::of("x", b""), FileKind::Unknown);
        assert_eq!(
            FileKind::of("x.bin", b"ORBITREC\x01\0"),
            FileKind::Recording
        );
        // Damaged files go by their name, to the check that says what is wrong.
        assert_eq!(
            FileKind::of("class.ORBITREC", b"garbage"),
            FileKind::Recording
        );
        assert_eq!(FileKind::of("hello.wasm", b"garbage"), FileKind::Wasm);
        assert!(FileKind::refusal("a.c").contains("neither a WebAssembly module (.wasm)"));
        assert_eq!(base_name("tmp/x/hello.wasm"), "hello.wasm");
        assert_eq!(base_name(r"C:\x\hello.wasm"), "hello.wasm");
    }

    #[test]
    fn the_inbox_hands_each_file_over_once() {
        let inbox = FileInbox::default();
        inbox.push(ReceivedFile {
            name: "a.wasm".into(),
            bytes: vec![0],
        });
        inbox.set_dragging(true);
        assert!(inbox.dragging());
        assert_eq!(inbox.drain().0.len(), 1);
        assert!(inbox.drain().0.is_empty());
    }
}
