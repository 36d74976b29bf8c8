//! The desktop app's self-check (native only). With `ORBITAL_SCREENSHOT=<file.png>` set, the app
//! waits until the boot set runs (init pid 1, terminal pid 2, idle pid 3, each alive on its own
//! `wasmi` thread and past its first syscall), lets the graph and panels draw for a few seconds,
//! saves what its window shows (the image Bevy presents to the window, egui panels included) as a
//! PNG and exits. Progress goes to stdout as `desktop: ...` lines, which `cargo xtask desktop`
//! (run by `cargo xtask test`) reads while it runs the app under Xvfb.
//!
//! Without the variable the plugin is not added and the app runs as usual.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};
use bevy::window::{PrimaryWindow, RawHandleWrapper};

use crate::kernel::ProcessId;
use crate::supervisor::{ProcessEntity, ProcessView};

/// The variable naming the screenshot file.
pub const SCREENSHOT_ENV: &str = "ORBITAL_SCREENSHOT";

/// The processes the boot starts, with the pids the seed gives them.
pub const BOOT_SET: [(u32, &str); 3] = [(1, "init"), (2, "terminal"), (3, "idle")];

/// How long the app draws after the boot set runs before the screenshot (the startup scenario's
/// processes appear and the layout settles), and at least how many frames.
const SETTLE: Duration = Duration::from_secs(3);
const SETTLE_FRAMES: u32 = 30;

/// Screenshot once the boot set runs, then exit. See the module docs.
pub struct BootScreenshotPlugin {
    pub path: PathBuf,
}

impl BootScreenshotPlugin {
    /// The plugin if `ORBITAL_SCREENSHOT` names a file.
    pub fn from_env() -> Option<BootScreenshotPlugin> {
        let path = std::env::var_os(SCREENSHOT_ENV).filter(|p| !p.is_empty())?;
        Some(BootScreenshotPlugin { path: path.into() })
    }
}

impl Plugin for BootScreenshotPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(ScreenshotState {
            path: self.path.clone(),
            started: Instant::now(),
            frames: 0,
            window_seen: false,
            boot_set_at: None,
            requested: false,
        })
        .add_systems(Last, watch_boot_set);
    }
}

#[derive(Resource)]
struct ScreenshotState {
    path: PathBuf,
    started: Instant,
    frames: u32,
    window_seen: bool,
    /// When (and at which frame) the boot set was first seen running.
    boot_set_at: Option<(Instant, u32)>,
    requested: bool,
}

/// Whether every process of [`BOOT_SET`] is in `processes` under its pid and name, not a zombie,
/// on a live guest thread (a worker id) and has made at least one syscall.
pub fn boot_set_running<'a>(
    processes: impl IntoIterator<Item = (ProcessId, &'a ProcessView)>,
) -> bool {
    let processes: Vec<(ProcessId, &ProcessView)> = processes.into_iter().collect();
    BOOT_SET.iter().all(|&(pid, name)| {
        processes.iter().any(|(p, view)| {
            p.0 == pid
                && view.name == name
                && !view.state.is_zombie()
                && view.worker_id.is_some()
                && view.metrics.syscall_count > 0
        })
    })
}

fn watch_boot_set(
    mut state: ResMut<ScreenshotState>,
    // With a handle: the operating system's window exists (winit has created it).
    windows: Query<&Window, (With<PrimaryWindow>, With<RawHandleWrapper>)>,
    processes: Query<(&ProcessEntity, &ProcessView)>,
    mut commands: Commands,
) {
    state.frames += 1;
    if !state.window_seen {
        let Ok(window) = windows.single() else { return };
        println!(
            "desktop: window open, {}x{} pixels ({:.1} s after start)",
            window.resolution.physical_width(),
            window.resolution.physical_height(),
            state.started.elapsed().as_secs_f64()
        );
        state.window_seen = true;
    }
    let Some((at, frame)) = state.boot_set_at else {
        if boot_set_running(processes.iter().map(|(entity, view)| (entity.pid, view))) {
            let list: Vec<String> = BOOT_SET
                .iter()
                .map(|(pid, name)| format!("{name} {pid}"))
                .collect();
            println!(
                "desktop: boot set running: {} ({:.1} s after start)",
                list.join(", "),
                state.started.elapsed().as_secs_f64()
            );
            state.boot_set_at = Some((Instant::now(), state.frames));
        }
        return;
    };
    if !state.requested && at.elapsed() >= SETTLE && state.frames - frame >= SETTLE_FRAMES {
        state.requested = true;
        commands
            .spawn(Screenshot::primary_window())
            .observe(save_and_exit);
    }
}

fn save_and_exit(
    captured: On<ScreenshotCaptured>,
    state: Res<ScreenshotState>,
    mut exit: MessageWriter<AppExit>,
) {
    let result = captured
        .image
        .clone()
        .try_into_dynamic()
        .map_err(|e| format!("the window's image format cannot be read: {e}"))
        .and_then(|image| {
            // The alpha channel carries nothing a person sees.
            let rgb = image.to_rgb8();
            let (width, height) = rgb.dimensions();
            write_png(&state.path, width, height, rgb.as_raw()).map(|()| (width, height))
        });
    match result {
        Ok((width, height)) => {
            println!(
                "desktop: screenshot saved to {} ({width}x{height}, {:.1} s after start)",
                state.path.display(),
                state.started.elapsed().as_secs_f64()
            );
            exit.write(AppExit::Success);
        }
        Err(e) => {
            println!(
                "desktop: cannot save the screenshot to {}: {e}",
                state.path.display()
            );
            exit.write(AppExit::error());
        }
    }
}

/// Writes 8-bit RGB pixels, row by row, as a PNG file.
pub fn write_png(path: &Path, width: u32, height: u32, rgb: &[u8]) -> Result<(), String> {
    let png = crate::handout::encode_png(width, height, rgb)?;
    std::fs::write(path, png).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{BlockReason, EndpointId, ExitReason, ProcessMetrics, ProcessState};
    use crate::supervisor::MailboxStatus;

    fn view(name: &str, state: ProcessState, syscalls: u64) -> ProcessView {
        ProcessView {
            name: name.into(),
            state,
            metrics: ProcessMetrics {
                syscall_count: syscalls,
                ..ProcessMetrics::default()
            },
            mailbox: MailboxStatus::default(),
            worker_id: Some(1),
            protected: false,
            last_serviced: None,
        }
    }

    #[test]
    fn the_boot_set_runs_when_init_terminal_and_idle_are_alive_under_their_pids_and_have_made_syscalls()
     {
        let init = view(
            "init",
            ProcessState::Blocked(BlockReason::Receive {
                endpoint: EndpointId(0),
            }),
            3,
        );
        let terminal = view("terminal", ProcessState::Running, 1);
        let idle = view("idle", ProcessState::Running, 100);
        let all = [
            (ProcessId(1), &init),
            (ProcessId(2), &terminal),
            (ProcessId(3), &idle),
        ];
        assert!(boot_set_running(all));

        let quiet_idle = view("idle", ProcessState::Running, 0);
        assert!(!boot_set_running([
            (ProcessId(1), &init),
            (ProcessId(2), &terminal),
            (ProcessId(3), &quiet_idle)
        ]));
        let dead_idle = view(
            "idle",
            ProcessState::Zombie(ExitReason::Killed { by: None }),
            100,
        );
        assert!(!boot_set_running([
            (ProcessId(1), &init),
            (ProcessId(2), &terminal),
            (ProcessId(3), &dead_idle)
        ]));
        assert!(!boot_set_running([
            (ProcessId(1), &init),
            (ProcessId(2), &terminal),
            (ProcessId(4), &idle)
        ]));
        assert!(!boot_set_running([
            (ProcessId(1), &init),
            (ProcessId(2), &terminal)
        ]));
    }

    #[test]
    fn a_written_png_decodes_to_the_same_pixels() {
        let (width, height) = (3, 2);
        let rgb: Vec<u8> = (0..width * height * 3).map(|i| (i * 13) as u8).collect();
        let path =
            std::env::temp_dir().join(format!("orbital-desktop-png-{}.png", std::process::id()));
        write_png(&path, width, height, &rgb).unwrap();
        let file = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
        let mut reader = png::Decoder::new(file).read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            (info.width, info.height, info.color_type),
            (width, height, png::ColorType::Rgb)
        );
        assert_eq!(&pixels[..info.buffer_size()], &rgb[..]);
    }
}
