//! `cargo xtask desktop` (also a step of `cargo xtask test`): the native app in a real window. It
//! starts Xvfb (a virtual X server) and runs the dev-profile binary that `cargo test --workspace`
//! builds, rendering with Mesa's software Vulkan (lavapipe), guests on the `wasmi` host. The app's
//! self-check (`ORBITAL_SCREENSHOT`, src/desktop.rs) prints when its window is open and when the
//! boot set runs (init 1, terminal 2, idle 3), then saves what the window shows and exits. This
//! step fails if the window never appears, the boot set does not run within two minutes, or the
//! screenshot is blank (a handful of colours at most). The screenshot is `target/e2e/desktop.png`,
//! everything the app printed `target/e2e/desktop.log`.
use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use crate::tools::{cargo, run, target_dir};

/// What a new Debian machine needs for this test (`.ci/run` installs them): the virtual X server,
/// Mesa's software Vulkan driver and the Vulkan loader, and the X11 libraries winit loads at run
/// time.
pub const APT_PACKAGES: &str = "xvfb mesa-vulkan-drivers libvulkan1 libx11-6 libx11-xcb1 libxcursor1 libxi6 libxkbcommon-x11-0";

/// The virtual screen: larger than the app's default 1280x720 window.
const SCREEN: &str = "1600x1000x24";
/// From start to the window being open.
const WINDOW_TIMEOUT: Duration = Duration::from_secs(60);
/// From start to the boot set running.
const BOOT_TIMEOUT: Duration = Duration::from_secs(120);
/// From the boot set running to the screenshot on disk (the app draws a few seconds first).
const SCREENSHOT_TIMEOUT: Duration = Duration::from_secs(60);
/// From the screenshot to the app's exit.
const EXIT_TIMEOUT: Duration = Duration::from_secs(20);
/// A screenshot with fewer distinct colours than this is blank (text and particles give hundreds).
const MIN_COLOURS: usize = 16;

/// Builds the guests and the app if `build`, then runs the check; returns the screenshot's path.
pub fn run_desktop_check(root: &Path, build: bool) -> Result<PathBuf, String> {
    let xvfb = find_in_path("Xvfb").ok_or_else(|| {
        format!("Xvfb is not installed; the desktop test needs (Debian) `apt-get install {APT_PACKAGES}`")
    })?;
    if build {
        crate::guests::build(root)?;
        // Exactly the binary `cargo test --workspace` builds (nothing to do when that is fresh):
        // `cargo build -p orbital-playground` would unify dependency features differently and
        // build Bevy a second time.
        run(cargo()
            .current_dir(root)
            .args(["test", "--workspace", "--no-run"]))?;
    }
    let binary = target_dir(root).join("debug").join("orbital-playground");
    if !binary.is_file() {
        return Err(format!(
            "{} is missing: run `cargo test --workspace --no-run`",
            binary.display()
        ));
    }
    let artifacts = target_dir(root).join("e2e");
    std::fs::create_dir_all(&artifacts)
        .map_err(|e| format!("cannot create {}: {e}", artifacts.display()))?;
    let screenshot = artifacts.join("desktop.png");
    let _ = std::fs::remove_file(&screenshot);

    let started = Instant::now();
    let server = Xvfb::start(&xvfb, &artifacts.join("desktop-xvfb.log"))?;
    println!("desktop: Xvfb on display :{} ({SCREEN})", server.display);
    let mut app = Command::new(&binary);
    app.current_dir(root)
        .env("DISPLAY", format!(":{}", server.display))
        .env_remove("WAYLAND_DISPLAY")
        .env("BEVY_ASSET_ROOT", root)
        .env(
            "ORBITAL_GUESTS_DIR",
            target_dir(root).join("guests/wasm32-unknown-unknown/release"),
        )
        .env("ORBITAL_SCREENSHOT", &screenshot)
        // Plain log lines in desktop.log (Bevy's logger colours them otherwise, even into a pipe).
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Only Mesa's software Vulkan driver, even on a machine with a GPU (unless the caller chose).
    if std::env::var_os("VK_DRIVER_FILES").is_none()
        && std::env::var_os("VK_ICD_FILENAMES").is_none()
        && let Some(icd) = lavapipe_icd()
    {
        app.env("VK_DRIVER_FILES", &icd)
            .env("VK_ICD_FILENAMES", &icd);
    }
    let result = watch_app(app, &artifacts.join("desktop.log"));
    drop(server);
    result?;
    let (width, height, colours) = check_screenshot(&screenshot)?;
    println!(
        "desktop: ok in {:.1} s: {} is {width}x{height} with {colours} distinct colours",
        started.elapsed().as_secs_f64(),
        screenshot.display()
    );
    Ok(screenshot)
}

/// What the app's output readers report.
enum Line {
    Out(String),
    Err(String),
}

/// How far the app has come, from its `desktop: ...` lines, and the end of its log output.
#[derive(Default)]
struct Progress {
    window_at: Option<Instant>,
    boot_at: Option<Instant>,
    saved_at: Option<Instant>,
    save_failed: Option<String>,
    /// The last error lines and panic messages (a backtrace would push them out of `tail`).
    errors: VecDeque<String>,
    after_panic: bool,
    tail: VecDeque<String>,
}

fn push_bounded(lines: &mut VecDeque<String>, line: String, max: usize) {
    if lines.len() == max {
        lines.pop_front();
    }
    lines.push_back(line);
}

impl Progress {
    fn take(&mut self, line: Line, log: &mut File) {
        match line {
            Line::Out(line) => {
                let _ = writeln!(log, "{line}");
                if !line.starts_with("desktop: ") {
                    return;
                }
                println!("{line}");
                if line.starts_with("desktop: window open") {
                    self.window_at = Some(Instant::now());
                } else if line.starts_with("desktop: boot set running") {
                    self.boot_at = Some(Instant::now());
                } else if line.starts_with("desktop: screenshot saved") {
                    self.saved_at = Some(Instant::now());
                } else if line.starts_with("desktop: cannot save") {
                    self.save_failed = Some(line);
                }
            }
            Line::Err(line) => {
                let _ = writeln!(log, "{line}");
                if let Some(adapter) = adapter_name(&line) {
                    println!("desktop: adapter {adapter}");
                }
                let panic = line.contains("panicked at");
                if panic || self.after_panic || line.contains("ERROR") {
                    push_bounded(&mut self.errors, line.clone(), 12);
                }
                self.after_panic = panic;
                push_bounded(&mut self.tail, line, 12);
            }
        }
    }

    /// Which time limit has passed, if any.
    fn overdue(&self, started: Instant) -> Option<String> {
        match (self.window_at, self.boot_at, self.saved_at) {
            (None, _, _) if started.elapsed() > WINDOW_TIMEOUT => Some(format!(
                "no window opened within {} s",
                WINDOW_TIMEOUT.as_secs()
            )),
            (Some(_), None, _) if started.elapsed() > BOOT_TIMEOUT => Some(format!(
                "the boot set (init 1, terminal 2, idle 3) did not run within {} s",
                BOOT_TIMEOUT.as_secs()
            )),
            (_, Some(at), None) if at.elapsed() > SCREENSHOT_TIMEOUT => Some(format!(
                "no screenshot within {} s of the boot set running",
                SCREENSHOT_TIMEOUT.as_secs()
            )),
            (_, _, Some(at)) if at.elapsed() > EXIT_TIMEOUT => Some(format!(
                "the app did not exit within {} s of its screenshot",
                EXIT_TIMEOUT.as_secs()
            )),
            _ => None,
        }
    }

    fn stage(&self) -> &'static str {
        match (self.window_at, self.boot_at, self.saved_at) {
            (None, _, _) => "before its window opened",
            (Some(_), None, _) => "before the boot set ran",
            (Some(_), Some(_), None) => "before it saved the screenshot",
            (Some(_), Some(_), Some(_)) => "after its screenshot",
        }
    }
}

/// Runs the app until it has saved its screenshot and exited, enforcing each phase's time limit.
fn watch_app(mut command: Command, log_path: &Path) -> Result<(), String> {
    let mut log =
        File::create(log_path).map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {command:?}: {e}"))?;
    let lines = read_lines(&mut child);
    let mut progress = Progress::default();
    let failure = loop {
        match lines.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => progress.take(line, &mut log),
            Err(RecvTimeoutError::Timeout) => {}
            // Both streams closed: the app is ending; keep polling its exit without spinning.
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep(Duration::from_millis(50)),
        }
        if let Some(failed) = progress.save_failed.take() {
            break failed;
        }
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            // What it printed last may still be on its way.
            while let Ok(line) = lines.recv_timeout(Duration::from_secs(2)) {
                progress.take(line, &mut log);
            }
            if progress.saved_at.is_some() && status.success() {
                return Ok(());
            }
            let mut failure = format!("the app exited ({status}) {}", progress.stage());
            if progress.window_at.is_none() {
                // Most often no Vulkan driver or no X11 library (see the errors printed below).
                failure += &format!("; the window needs (Debian) `apt-get install {APT_PACKAGES}`");
            }
            break failure;
        }
        if let Some(overdue) = progress.overdue(started) {
            break overdue;
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    if !progress.errors.is_empty() {
        eprintln!("desktop: {failure}; the app's last errors:");
        for line in &progress.errors {
            eprintln!("  | {line}");
        }
    }
    eprintln!("desktop: {failure}; the app's last log lines:");
    for line in &progress.tail {
        eprintln!("  | {line}");
    }
    Err(format!(
        "desktop: {failure} (everything the app printed: {})",
        log_path.display()
    ))
}

/// Forwards the child's stdout and stderr, line by line, to one channel.
fn read_lines(child: &mut Child) -> Receiver<Line> {
    let (send, lines) = channel();
    if let Some(out) = child.stdout.take() {
        let send = send.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if send.send(Line::Out(line)).is_err() {
                    break;
                }
            }
        });
    }
    if let Some(err) = child.stderr.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if send.send(Line::Err(line)).is_err() {
                    break;
                }
            }
        });
    }
    lines
}

/// The adapter's name and backend from Bevy's `AdapterInfo { name: "...", .. backend: ... }` log line.
fn adapter_name(line: &str) -> Option<String> {
    let info = &line[line.find("AdapterInfo {")?..];
    let name = info.split("name: \"").nth(1)?.split('"').next()?;
    let backend = info
        .split("backend: ")
        .nth(1)
        .and_then(|b| b.split([',', ' ', '}']).next())
        .unwrap_or("?");
    Some(format!("{name} ({backend})"))
}

/// A running Xvfb, stopped when dropped.
struct Xvfb {
    child: Child,
    display: u32,
}

impl Xvfb {
    /// Starts Xvfb on a free display number (it picks one and writes it to `-displayfd`).
    fn start(xvfb: &Path, log_path: &Path) -> Result<Xvfb, String> {
        let log = File::create(log_path)
            .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
        let child = Command::new(xvfb)
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                SCREEN,
                "-nolisten",
                "tcp",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", xvfb.display()))?;
        let mut server = Xvfb { child, display: 0 };
        let mut out = server.child.stdout.take().ok_or("no stdout from Xvfb")?;
        let (send, number) = channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            let mut byte = [0u8; 1];
            while out.read(&mut byte).is_ok_and(|n| n == 1) && byte[0] != b'\n' {
                text.push(byte[0] as char);
            }
            let _ = send.send(text);
        });
        let text = number
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_default();
        server.display = text.trim().parse().map_err(|_| {
            format!(
                "Xvfb did not start (it printed {text:?} as its display; see {})",
                log_path.display()
            )
        })?;
        Ok(server)
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Decodes the screenshot; its width, height and number of distinct colours, or why it is blank.
pub fn check_screenshot(path: &Path) -> Result<(u32, u32, usize), String> {
    let file = File::open(path).map_err(|e| format!("no screenshot at {}: {e}", path.display()))?;
    let mut reader = png::Decoder::new(BufReader::new(file))
        .read_info()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut pixels = vec![
        0;
        reader
            .output_buffer_size()
            .ok_or("the screenshot is too large")?
    ];
    let info = reader
        .next_frame(&mut pixels)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let channels = match (info.color_type, info.bit_depth) {
        (png::ColorType::Rgb, png::BitDepth::Eight) => 3,
        (png::ColorType::Rgba, png::BitDepth::Eight) => 4,
        other => {
            return Err(format!(
                "{}: expected 8-bit RGB or RGBA, found {other:?}",
                path.display()
            ));
        }
    };
    let colours: HashSet<&[u8]> = pixels[..info.buffer_size()]
        .chunks_exact(channels)
        .map(|pixel| &pixel[..3])
        .collect();
    if colours.len() < MIN_COLOURS {
        return Err(format!(
            "{} is blank: {}x{} with only {} distinct colour(s)",
            path.display(),
            info.width,
            info.height,
            colours.len()
        ));
    }
    Ok((info.width, info.height, colours.len()))
}

/// The lavapipe driver manifest Debian's mesa-vulkan-drivers installs, if any.
fn lavapipe_icd() -> Option<PathBuf> {
    let dir = Path::new("/usr/share/vulkan/icd.d");
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("lvp_icd"))
        })
        .collect();
    found.sort();
    found.into_iter().next()
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_adapter_is_read_from_bevys_log_line() {
        let line = r#"2026-01-01T00:00:00Z  INFO bevy_render::renderer: AdapterInfo { name: "llvmpipe (LLVM 15.0.6, 256 bits)", vendor: 65541, device: 0, device_type: Cpu, driver: "llvmpipe", driver_info: "Mesa 22.3.6", backend: Vulkan }"#;
        assert_eq!(
            adapter_name(line).as_deref(),
            Some("llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan)")
        );
        assert_eq!(adapter_name("INFO something else"), None);
    }

    #[test]
    fn a_uniform_screenshot_is_blank_and_a_varied_one_is_not() {
        let write = |name: &str, pixel: &dyn Fn(u32, u32) -> [u8; 3]| {
            let (width, height) = (40, 30);
            let mut rgb = Vec::new();
            for y in 0..height {
                for x in 0..width {
                    rgb.extend_from_slice(&pixel(x, y));
                }
            }
            let path = std::env::temp_dir()
                .join(format!("xtask-desktop-{name}-{}.png", std::process::id()));
            let mut encoder = png::Encoder::new(File::create(&path).unwrap(), width, height);
            encoder.set_color(png::ColorType::Rgb);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header().unwrap();
            writer.write_image_data(&rgb).unwrap();
            writer.finish().unwrap();
            path
        };
        let blank = write("blank", &|_, _| [20, 24, 32]);
        let varied = write("varied", &|x, y| [(x * 6) as u8, (y * 8) as u8, 90]);
        let blank_result = check_screenshot(&blank);
        let varied_result = check_screenshot(&varied);
        let _ = std::fs::remove_file(&blank);
        let _ = std::fs::remove_file(&varied);
        assert!(
            blank_result
                .unwrap_err()
                .contains("is blank: 40x30 with only 1 distinct colour")
        );
        assert_eq!(varied_result.unwrap(), (40, 30, 1200));
    }
}
