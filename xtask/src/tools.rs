//! Helpers every task uses: where the repository and cargo's target directory are, running
//! cargo and other commands, and installing the wasm32 target and the browser test tools. A leaf:
//! it imports no other task, so tasks import downwards only.
use std::path::{Path, PathBuf};
use std::process::Command;

/// The target guests and the web build compile to.
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// The repository root (the xtask crate lives in `<root>/xtask`). `cargo run` sets
/// `CARGO_MANIFEST_DIR` at run time to the checkout it was invoked in; the compile-time value
/// can name another checkout when several share one target directory (and so one binary).
pub fn repo_root() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}

/// Cargo's target directory: `$CARGO_TARGET_DIR` (relative to the root) or `<root>/target`.
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

/// The cargo that runs this xtask.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Runs a command with inherited output; a non-zero exit is an error naming the command.
pub fn run(command: &mut Command) -> Result<(), String> {
    let shown = format!("{command:?}");
    let status = command
        .status()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}

/// Installs the wasm32 target with rustup when it is missing.
pub fn ensure_wasm_target() -> Result<(), String> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|e| format!("cannot run rustup ({e}): install Rust with rustup, or add the {WASM_TARGET} target yourself"))?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == WASM_TARGET)
    {
        return Ok(());
    }
    println!("xtask: installing the {WASM_TARGET} target");
    run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
}

/// The browser tests' folder (scripts, package.json, node_modules).
pub fn e2e_dir(root: &Path) -> PathBuf {
    root.join("xtask").join("e2e")
}

/// Installs playwright-core (and binaryen) from xtask/e2e/package-lock.json.
pub fn npm_ci(root: &Path) -> Result<(), String> {
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(e2e_dir(root)))
    .map_err(|e| format!("{e}: the browser tests need Node.js >= 18 and npm"))
}

pub fn ensure_node_modules(root: &Path) -> Result<(), String> {
    if e2e_dir(root).join("node_modules/playwright-core").is_dir() {
        return Ok(());
    }
    println!("xtask: installing the browser test tools with `npm ci` in xtask/e2e");
    npm_ci(root)
}
