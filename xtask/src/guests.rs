//! Builds the guest programs (guests/, its own workspace) for wasm32-unknown-unknown.
//! Owned by the guests engineer; this first version only runs cargo with guests/.cargo/config.toml.
use std::path::{Path, PathBuf};

/// Builds every guest program; returns the folder holding `<name>.wasm`.
pub fn build(root: &Path) -> Result<PathBuf, String> {
    crate::dist::ensure_wasm_target()?;
    let target = root.join("target").join("guests");
    crate::run(
        crate::cargo()
            .current_dir(root.join("guests"))
            .env("CARGO_TARGET_DIR", &target)
            .args(["build", "--release", "--target", "wasm32-unknown-unknown", "--workspace"]),
    )?;
    Ok(target.join("wasm32-unknown-unknown").join("release"))
}
