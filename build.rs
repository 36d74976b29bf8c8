//! Link settings for the browser build.
//!
//! Bevy's automatic type registration collects types with `inventory`, whose entries are wasm
//! constructors. When nothing outside LTO bitcode refers to `__wasm_call_ctors`, wasm-ld takes
//! the module for a "command" and wraps *every* export (`main`, `__wbindgen_malloc`, each closure
//! call from JavaScript) in a call to all constructors. Fat LTO (the release profile) did exactly
//! that: the syscall servicer re-ran its 600 constructors per wake-up (docs/BENCHMARKS.md).
//! Exporting the function tells wasm-ld the embedder runs constructors itself.
//!
//! Since the site selects bevy_reflect's static backend (Cargo.toml), Bevy's derives submit no
//! constructors at all (`__wasm_call_ctors` is an empty function). The export stays as a guard:
//! a constructor some dependency adds later cannot make wasm-ld wrap every export again.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-bins=--export=__wasm_call_ctors");
    }
}
