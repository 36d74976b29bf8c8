//! `cargo xtask test` and `cargo xtask bench-web`: build the test site, serve it in-process on a
//! free loopback port, and run the browser scripts in `xtask/e2e` against it with Node.js and
//! headless Chromium (playwright-core). Every `xtask/e2e/*.test.mjs` is a test: add a file there
//! and it runs.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::dist::{self, Profile};
use crate::serve;
use crate::tools::{cargo, e2e_dir, ensure_node_modules, run, target_dir};

/// One end-to-end script may take this long before it is killed and counted as failed.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(15 * 60);

fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

/// What one stage of `cargo xtask test` came to.
struct Stage {
    name: String,
    passed: bool,
    secs: f64,
    note: String,
}

pub fn test(root: &Path, e2e_only: bool, no_build: bool) -> Result<(), String> {
    let started = Instant::now();
    let mut stages: Vec<Stage> = Vec::new();
    let mut record = |name: &str, t: Instant, result: Result<(), String>| {
        let (passed, note) = match result {
            Ok(()) => (true, String::new()),
            Err(e) => (false, e),
        };
        stages.push(Stage {
            name: name.into(),
            passed,
            secs: t.elapsed().as_secs_f64(),
            note,
        });
    };

    if !e2e_only {
        // Format first: it takes a second and a failure is the quickest to fix.
        let t = Instant::now();
        record(
            "cargo fmt --check",
            t,
            run(cargo().current_dir(root).args(["fmt", "--all", "--check"])),
        );
        let t = Instant::now();
        crate::guests::build(root)?;
        record("build guests", t, Ok(()));
        let t = Instant::now();
        record(
            "cargo test --workspace",
            t,
            run(cargo().current_dir(root).args(["test", "--workspace"])),
        );
        // The binary `cargo test` just built, in a window under Xvfb (xtask/src/desktop.rs).
        let t = Instant::now();
        record(
            "desktop window (Xvfb)",
            t,
            crate::desktop::run_desktop_check(root, false).map(|_| ()),
        );
        let t = Instant::now();
        let clippy = [
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ];
        record(
            "cargo clippy --workspace -- -D warnings",
            t,
            run(cargo().current_dir(root).args(clippy)),
        );
        // The browser-only code (src/web, the app's wasm32 paths) is compiled out of the native
        // build above, so it is linted for its own target (about 5 minutes from nothing).
        let t = Instant::now();
        let clippy_wasm = [
            "clippy",
            "-p",
            "orbital-playground",
            "--target",
            "wasm32-unknown-unknown",
            "--",
            "-D",
            "warnings",
        ];
        record(
            "cargo clippy (wasm32) -- -D warnings",
            t,
            run(cargo().current_dir(root).args(clippy_wasm)),
        );
    }

    let site = Profile::WebTest.default_out(root);
    if !no_build {
        let t = Instant::now();
        let options = dist::Options {
            profile: Profile::WebTest,
            out: site.clone(),
        };
        dist::dist(root, &options)?.print();
        record("dist (web-test)", t, Ok(()));
    }
    ensure_node_modules(root)?;

    let server = serve::start(&site, "127.0.0.1:0")?;
    println!("xtask test: serving {} at {}", site.display(), server.url());
    let artifacts = target_dir(root).join("e2e");
    std::fs::create_dir_all(&artifacts).map_err(|e| e.to_string())?;

    // The C test programs students' programs are tested with (dropped on the canvas).
    let wasi_dir = crate::guests::build_wasi_programs(root)?;
    let scripts = test_scripts(root)?;
    if scripts.is_empty() {
        return Err(format!(
            "no *.test.mjs scripts in {}",
            e2e_dir(root).display()
        ));
    }
    for script in &scripts {
        let name = format!(
            "e2e {}",
            script.file_name().unwrap_or_default().to_string_lossy()
        );
        println!("\n=== {name}");
        let t = Instant::now();
        let result = run_node(
            root,
            script,
            &server.url(),
            &artifacts,
            &[
                ("ORBITAL_SITE", site.display().to_string()),
                ("ORBITAL_WASI_DIR", wasi_dir.display().to_string()),
            ],
        );
        record(&name, t, result);
    }
    server.stop();

    println!(
        "\n=== cargo xtask test summary ({:.0} s)",
        started.elapsed().as_secs_f64()
    );
    for s in &stages {
        let mark = if s.passed { "ok  " } else { "FAIL" };
        println!("  {mark} {:<40} {:>7.1} s  {}", s.name, s.secs, s.note);
    }
    let failed = stages.iter().filter(|s| !s.passed).count();
    let passed = stages.len() - failed;
    println!("xtask: {passed} passed, {failed} failed");
    if failed > 0 {
        Err(format!("{failed} test stage(s) failed"))
    } else {
        Ok(())
    }
}

fn test_scripts(root: &Path) -> Result<Vec<PathBuf>, String> {
    let dir = e2e_dir(root);
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".test.mjs"))
        })
        .collect();
    scripts.sort();
    Ok(scripts)
}

/// Runs one Node.js script against the served site, killing it after `SCRIPT_TIMEOUT`.
pub fn run_node(
    root: &Path,
    script: &Path,
    url: &str,
    artifacts: &Path,
    env: &[(&str, String)],
) -> Result<(), String> {
    let mut command = Command::new("node");
    command
        .arg(script)
        .current_dir(e2e_dir(root))
        .env("ORBITAL_URL", url)
        .env("ORBITAL_ARTIFACTS", artifacts)
        .env("CHROMIUM", chromium());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot run node ({e}): install Node.js >= 18"))?;
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return if status.success() {
                Ok(())
            } else {
                Err(format!("exited with {status}"))
            };
        }
        if started.elapsed() > SCRIPT_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("killed after {} s", SCRIPT_TIMEOUT.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn bench(root: &Path, profile: Profile, no_build: bool) -> Result<(), String> {
    let site = profile.default_out(root);
    if !no_build {
        dist::dist(
            root,
            &dist::Options {
                profile,
                out: site.clone(),
            },
        )?
        .print();
    }
    ensure_node_modules(root)?;
    let server = serve::start(&site, "127.0.0.1:0")?;
    let bench_dir = target_dir(root).join("bench");
    std::fs::create_dir_all(&bench_dir).map_err(|e| e.to_string())?;
    let out = bench_dir.join("web.json");
    let dist_report = target_dir(root).join(format!("dist-{}.json", profile.name()));
    let result = run_node(
        root,
        &e2e_dir(root).join("bench.mjs"),
        &server.url(),
        &bench_dir,
        &[
            ("ORBITAL_BENCH_OUT", out.display().to_string()),
            ("ORBITAL_DIST_REPORT", dist_report.display().to_string()),
            ("ORBITAL_PROFILE", profile.name().to_string()),
            ("ORBITAL_SITE", site.display().to_string()),
        ],
    );
    server.stop();
    result?;
    println!("benchmark results written to {}", out.display());
    Ok(())
}
