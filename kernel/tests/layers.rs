//! Layer rule: the kernel, the ABI crate and the supervisor crate never depend on the app's world
//! (bevy, egui, web-sys, wasm-bindgen, js-sys), directly or through anything they pull in.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const FORBIDDEN: [&str; 5] = ["bevy", "egui", "web-sys", "wasm-bindgen", "js-sys"];

fn forbidden_in(name: &str) -> Option<&'static str> {
    let name = name.trim().trim_matches('"');
    FORBIDDEN.iter().copied().find(|f| {
        name == *f || name.starts_with(&format!("{f}_")) || name.starts_with(&format!("{f}-"))
    })
}

/// Dependency names declared in the non-dev dependency tables of a Cargo.toml.
fn declared_dependencies(manifest: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_deps = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            let table = line.trim_matches(|c| c == '[' || c == ']');
            in_deps = (table.ends_with("dependencies") && !table.ends_with("dev-dependencies"))
                || table.contains("dependencies.") && !table.contains("dev-dependencies.");
            // `[dependencies.foo]` names the dependency in the header itself.
            if let Some(name) = table.split("dependencies.").nth(1) {
                if !table.contains("dev-dependencies.") {
                    out.push(name.to_string());
                }
                in_deps = false;
            }
            continue;
        }
        if in_deps
            && !line.is_empty()
            && !line.starts_with('#')
            && let Some((key, value)) = line.split_once('=')
        {
            out.push(key.trim().to_string());
            // `foo = { package = "bar" }` renames: check the real package too.
            if let Some(rest) = value.split("package").nth(1)
                && let Some(real) = rest.split('"').nth(1)
            {
                out.push(real.to_string());
            }
        }
    }
    out
}

#[test]
fn declared_dependencies_parser_sees_what_it_must() {
    let sample = "[dependencies]\nfoo = \"1\"\nweb-sys = { version = \"0.3\" }\n[dev-dependencies]\nbevy = \"0.19\"\n\
                  [target.'cfg(target_arch = \"wasm32\")'.dependencies]\njs = { package = \"js-sys\", version = \"0.3\" }\n\
                  [dependencies.bevy_egui]\nversion = \"0.42\"\n";
    let deps = declared_dependencies(sample);
    assert_eq!(deps, vec!["foo", "web-sys", "js", "js-sys", "bevy_egui"]);
    let bad: Vec<_> = deps.iter().filter_map(|d| forbidden_in(d)).collect();
    assert_eq!(
        bad,
        vec!["web-sys", "js-sys", "bevy"],
        "dev-dependencies are allowed, the rest are caught"
    );
}

#[test]
fn kernel_and_abi_manifests_declare_no_app_dependencies() {
    let kernel_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    for manifest in [
        kernel_dir.join("Cargo.toml"),
        kernel_dir.join("abi/Cargo.toml"),
        kernel_dir.join("../supervisor/Cargo.toml"),
    ] {
        let text = std::fs::read_to_string(&manifest)
            .unwrap_or_else(|e| panic!("reading {}: {e}", manifest.display()));
        for dep in declared_dependencies(&text) {
            assert!(
                forbidden_in(&dep).is_none(),
                "{} depends on {dep}: the kernel and the supervisor must stay free of the app's crates",
                manifest.display()
            );
        }
    }
}

/// The resolved graph, for every target (so a `cfg(wasm32)` dependency is seen too). Not
/// `--offline`: every target's packages (Windows-only ones among them) must be known, and a
/// build for this machine downloads only its own.
#[test]
fn kernel_dependency_tree_has_no_app_crates() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let kernel_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    for package in ["orbital-kernel", "orbital-abi", "orbital-supervisor"] {
        let mut child = Command::new(&cargo)
            .args([
                "tree",
                "-p",
                package,
                "-e",
                "normal,build",
                "--target",
                "all",
                "--prefix",
                "none",
                "--format",
                "{p}",
            ])
            .current_dir(kernel_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running cargo tree");
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("waiting for cargo tree") {
                break status;
            }
            if started.elapsed() > Duration::from_secs(300) {
                let _ = child.kill();
                panic!("cargo tree -p {package} did not finish in 300 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let output = child.wait_with_output().expect("cargo tree output");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            status.success(),
            "cargo tree -p {package} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            stdout.contains(package),
            "cargo tree printed no tree for {package}: {stdout}"
        );
        for line in stdout.lines() {
            let name = line.split_whitespace().next().unwrap_or("");
            assert!(forbidden_in(name).is_none(), "{package} pulls in {line}");
        }
    }
}
