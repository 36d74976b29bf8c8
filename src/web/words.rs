//! The shared memory the app reads and writes (mailboxes, the doorbell), as direct calls to
//! `Atomics` and `TypedArray.prototype.set`.
//!
//! The app's own memory is not shared, so every access to a `SharedArrayBuffer` is a call from
//! wasm into JavaScript; the supervisor makes about twenty of them per syscall. `js_sys::Atomics`
//! declares each with `catch`, which wraps every call in a closure, `Function.prototype.apply`
//! and a `try`: these bindings leave that out. They cannot throw here: every array is an
//! `Int32Array` or `Uint8Array` over a `SharedArrayBuffer` the app made, every index a constant
//! inside it, and every copy fits its view. (Were one to throw, the exception would leave the
//! wasm call like a trap.)
use js_sys::{Int32Array, Uint8Array};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Atomics, js_name = load)]
    pub fn load(words: &Int32Array, index: u32) -> i32;

    #[wasm_bindgen(js_namespace = Atomics, js_name = store)]
    pub fn store(words: &Int32Array, index: u32, value: i32);

    #[wasm_bindgen(js_namespace = Atomics, js_name = add)]
    pub fn add(words: &Int32Array, index: u32, value: i32);

    /// Wakes every waiter on the word.
    #[wasm_bindgen(js_namespace = Atomics, js_name = notify)]
    pub fn notify(words: &Int32Array, index: u32);

    /// Copies `words` (all of it) into `dst`, one plain read per word. As `js_sys` does it for
    /// `Int32Array::copy_to`, without the length check, which is one more call.
    #[wasm_bindgen(js_namespace = Int32Array, js_name = "prototype.set.call")]
    pub fn copy_to(dst: &mut [i32], words: &Int32Array);

    /// Copies `src` into the start of `words`, one plain write per word.
    #[wasm_bindgen(js_namespace = Int32Array, js_name = "prototype.set.call")]
    pub fn copy_from(words: &Int32Array, src: &[i32]);

    /// Copies `bytes` (all of it) into `dst`.
    #[wasm_bindgen(js_namespace = Uint8Array, js_name = "prototype.set.call")]
    pub fn copy_bytes_to(dst: &mut [u8], bytes: &Uint8Array);

    /// Copies `src` into the start of `bytes`.
    #[wasm_bindgen(js_namespace = Uint8Array, js_name = "prototype.set.call")]
    pub fn copy_bytes_from(bytes: &Uint8Array, src: &[u8]);
}
