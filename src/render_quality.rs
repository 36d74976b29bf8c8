//! Keeps the canvas fluid on computers without a usable GPU (school laptops, headless browsers).
//!
//! A software renderer (SwiftShader, llvmpipe, lavapipe, WARP) spends most of a frame on MSAA:
//! a minimal Bevy page in headless Chromium on SwiftShader ran at about 3 frames/s with 4x MSAA
//! and 13-16 frames/s with MSAA off. So the camera starts with MSAA off, and once the adapter is
//! known it is turned on only for a hardware GPU. Costly effects (finer circles, more particles,
//! the canvas's own backdrop colour: `graph::camera`) follow the same decision.
//! `RenderQualitySettings` overrides it, and the status line says which renderer was found and
//! what was done. The graph reads [`RenderQuality`] and applies it to its camera and particles.
//!
//! A software renderer also draws on the cores the guests run on: with the default scenario's
//! ping-pong pair flat out, the page drew 6.8-7.6 frames/s on two cores against 10.2-10.8 paused,
//! and 8.8-9.1 paced (web-test site, docs/BENCHMARKS.md). So with reduced effects the
//! supervisor paces running guests to [`SOFTWARE_SYSCALL_CEILING`] syscalls a second (this
//! module hands [`RenderQuality::syscall_ceiling`] to the supervisor); "guests at full speed" in the
//! quality picker, or `window.supervisor.set_guest_pacing("off")`, lifts it.

use bevy::prelude::*;
use bevy::render::renderer::RenderAdapterInfo;
use bevy::render::view::Msaa;

use crate::supervisor::SupervisorHandle;

/// What the person asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QualityOverride {
    /// Decide from the adapter.
    #[default]
    Auto,
    /// MSAA 4x and every effect, even on a software renderer.
    Full,
    /// MSAA off and fewer effects, even on a GPU.
    Reduced,
}

#[derive(Resource, Clone, Debug, Default)]
pub struct RenderQualitySettings {
    pub mode: QualityOverride,
    /// No syscall ceiling even when effects are reduced.
    pub guests_full_speed: bool,
}

/// Running guests' syscalls a second, at most, when effects are reduced on a known adapter:
/// enough for every scenario's traffic to show (a busy edge, its rate, the particles), far below
/// the flat-out rates that starve a CPU renderer.
pub const SOFTWARE_SYSCALL_CEILING: f32 = 2_000.0;

/// The syscall ceiling for a decision: only once the adapter is known (a headless app has none
/// and runs its guests at full speed), only with reduced effects, never when lifted.
pub fn syscall_ceiling(adapter_known: bool, reduced: bool, full_speed: bool) -> Option<f32> {
    (adapter_known && reduced && !full_speed).then_some(SOFTWARE_SYSCALL_CEILING)
}

/// What was found and decided.
#[derive(Resource, Clone, Debug)]
pub struct RenderQuality {
    /// `None` until the renderer has started (or in a headless app).
    pub adapter_name: Option<String>,
    pub software: bool,
    pub reduced: bool,
    pub msaa_samples: u32,
    /// Running guests' syscalls a second, at most (see [`syscall_ceiling`]).
    pub syscall_ceiling: Option<f32>,
    /// One line for the top bar.
    pub status: String,
}

impl RenderQuality {
    /// Particles allowed at once.
    pub fn max_particles(&self) -> usize {
        if self.reduced {
            REDUCED_MAX_PARTICLES
        } else {
            FULL_MAX_PARTICLES
        }
    }

    /// The MSAA setting for the canvas camera.
    pub fn msaa(&self) -> Msaa {
        if self.msaa_samples == 1 {
            Msaa::Off
        } else {
            Msaa::Sample4
        }
    }
}

impl Default for RenderQuality {
    fn default() -> Self {
        Self {
            adapter_name: None,
            software: false,
            reduced: true,
            msaa_samples: 1,
            syscall_ceiling: None,
            status: "Renderer starting: MSAA off until the graphics adapter is known".into(),
        }
    }
}

/// Particles allowed at once when effects are reduced, and with full effects.
pub const REDUCED_MAX_PARTICLES: usize = 64;
pub const FULL_MAX_PARTICLES: usize = 192;

/// Decides [`RenderQuality`]; whoever applies it runs after this set.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub struct RenderQualitySystems;

/// The camera's MSAA before the adapter is known: off, so a software renderer never pays for it.
pub fn initial_msaa() -> Msaa {
    Msaa::Off
}

/// True for a renderer that runs on the CPU, from its wgpu device type and adapter name.
pub fn is_software_adapter(name: &str, device_type_is_cpu: bool) -> bool {
    let name = name.to_ascii_lowercase();
    device_type_is_cpu
        || [
            "swiftshader",
            "llvmpipe",
            "lavapipe",
            "softpipe",
            "software",
            "microsoft basic render",
        ]
        .iter()
        .any(|needle| name.contains(needle))
}

/// The decision for a given adapter and override: (reduced effects, MSAA samples, status line).
pub fn decide(adapter: Option<(&str, bool)>, mode: QualityOverride) -> (bool, u32, String) {
    let software = adapter.is_some_and(|(name, cpu)| is_software_adapter(name, cpu));
    let reduced = match mode {
        QualityOverride::Auto => adapter.is_none() || software,
        QualityOverride::Full => false,
        QualityOverride::Reduced => true,
    };
    let samples = if reduced { 1 } else { 4 };
    let found = match adapter {
        None => "Renderer starting".to_string(),
        Some((name, _)) if software => format!("Software renderer ({name})"),
        Some((name, _)) => format!("GPU ({name})"),
    };
    let what = match (mode, reduced) {
        (QualityOverride::Auto, true) => "MSAA off, effects reduced (auto)",
        (QualityOverride::Auto, false) => "MSAA 4x, full effects (auto)",
        (_, true) => "MSAA off, effects reduced (your setting)",
        (_, false) => "MSAA 4x, full effects (your setting)",
    };
    (reduced, samples, format!("{found}: {what}"))
}

pub fn render_quality_plugin(app: &mut App) {
    app.init_resource::<RenderQualitySettings>()
        .init_resource::<RenderQuality>()
        .init_resource::<PacingRequests>()
        .add_systems(Startup, expose_set_guest_pacing)
        .add_systems(
            Update,
            (
                take_pacing_requests,
                decide_render_quality,
                apply_syscall_ceiling,
            )
                .chain()
                .in_set(RenderQualitySystems),
        );
}

/// `window.supervisor.set_guest_pacing("auto" | "off")`, for pages and benchmarks.
#[derive(Resource, Clone, Default)]
struct PacingRequests(std::sync::Arc<std::sync::Mutex<Option<bool>>>);

fn expose_set_guest_pacing(requests: Res<PacingRequests>) {
    let requests = requests.clone();
    let run = move |arg: String| {
        let full_speed = match arg.trim() {
            "auto" => false,
            "off" => true,
            other => {
                return Err(format!(
                    "set_guest_pacing: unknown setting {other:?}; use \"auto\" (pace guests on a software renderer) or \"off\" (always full speed)"
                ));
            }
        };
        *requests.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(full_speed);
        Ok(format!("guest pacing: {}", arg.trim()))
    };
    if let Err(e) = crate::web::expose_command("set_guest_pacing", run) {
        error!("cannot expose set_guest_pacing: {e:?}");
    }
}

fn take_pacing_requests(
    requests: Res<PacingRequests>,
    mut settings: ResMut<RenderQualitySettings>,
) {
    let asked = requests.0.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(full_speed) = asked
        && settings.guests_full_speed != full_speed
    {
        settings.guests_full_speed = full_speed;
    }
}

/// Hands the decision's syscall ceiling to the supervisor when it changes (an app without a
/// supervisor, such as a headless test of the panels, has nothing to pace).
fn apply_syscall_ceiling(quality: Res<RenderQuality>, handle: Option<Res<SupervisorHandle>>) {
    let Some(handle) = handle else { return };
    if quality.is_changed() || handle.is_added() {
        let mut supervisor = handle.lock();
        if supervisor.syscall_ceiling() != quality.syscall_ceiling {
            supervisor.set_syscall_ceiling(quality.syscall_ceiling);
        }
    }
}

fn decide_render_quality(
    adapter: Option<Res<RenderAdapterInfo>>,
    settings: Res<RenderQualitySettings>,
    mut quality: ResMut<RenderQuality>,
    mut decided_for: Local<Option<(Option<String>, QualityOverride, bool)>>,
) {
    let adapter_name = adapter.as_ref().map(|a| a.name.clone());
    let key = (
        adapter_name.clone(),
        settings.mode,
        settings.guests_full_speed,
    );
    if decided_for.as_ref() == Some(&key) {
        return;
    }
    let cpu = adapter
        .as_ref()
        .is_some_and(|a| format!("{:?}", a.device_type) == "Cpu");
    let (reduced, samples, mut status) =
        decide(adapter_name.as_deref().map(|n| (n, cpu)), settings.mode);
    let ceiling = syscall_ceiling(adapter_name.is_some(), reduced, settings.guests_full_speed);
    if let Some(per_sec) = ceiling {
        status.push_str(&format!(
            "; guests paced to {per_sec:.0} syscalls/s so drawing keeps a core"
        ));
    } else if reduced && settings.guests_full_speed {
        status.push_str("; guests at full speed (your setting)");
    }
    info!("{status}");
    *quality = RenderQuality {
        software: adapter_name
            .as_deref()
            .is_some_and(|n| is_software_adapter(n, cpu)),
        adapter_name,
        reduced,
        msaa_samples: samples,
        syscall_ceiling: ceiling,
        status,
    };
    *decided_for = Some(key);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_render_quality_system_initialises_without_conflicting_parameters() {
        assert!(crate::schedule_check::initialise_plugin_systems(render_quality_plugin) >= 1);
    }

    #[test]
    fn guests_are_paced_only_with_reduced_effects_on_a_known_adapter_unless_lifted() {
        let ceiling = Some(SOFTWARE_SYSCALL_CEILING);
        assert_eq!(syscall_ceiling(true, true, false), ceiling);
        assert_eq!(
            syscall_ceiling(false, true, false),
            None,
            "headless: no adapter"
        );
        assert_eq!(syscall_ceiling(true, false, false), None, "full effects");
        assert_eq!(syscall_ceiling(true, true, true), None, "lifted");
    }

    #[test]
    fn a_headless_app_is_never_paced() {
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .add_plugins(render_quality_plugin);
        app.update();
        let quality = app.world().resource::<RenderQuality>();
        assert_eq!(
            quality.syscall_ceiling, None,
            "no adapter yet: {}",
            quality.status
        );
        // (The software-adapter case is `syscall_ceiling`'s test above: a RenderAdapterInfo
        // wraps a real wgpu adapter's info.)
        app.world_mut()
            .resource_mut::<RenderQualitySettings>()
            .guests_full_speed = true;
        app.update();
        assert_eq!(
            app.world().resource::<RenderQuality>().syscall_ceiling,
            None
        );
    }

    #[test]
    fn software_adapters_are_recognised() {
        assert!(is_software_adapter(
            "ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) (0x0000C0DE)), SwiftShader driver)",
            false
        ));
        assert!(is_software_adapter(
            "llvmpipe (LLVM 15.0.6, 256 bits)",
            false
        ));
        assert!(is_software_adapter("Some adapter", true));
        assert!(!is_software_adapter("NVIDIA GeForce RTX 3060", false));
    }

    #[test]
    fn decision_follows_adapter_and_override() {
        assert_eq!(
            decide(Some(("llvmpipe", false)), QualityOverride::Auto).1,
            1
        );
        assert_eq!(
            decide(Some(("Intel Iris Xe", false)), QualityOverride::Auto).1,
            4
        );
        assert_eq!(
            decide(Some(("llvmpipe", false)), QualityOverride::Full).1,
            4
        );
        assert_eq!(
            decide(Some(("Intel Iris Xe", false)), QualityOverride::Reduced).1,
            1
        );
        let (_, _, status) = decide(Some(("llvmpipe", false)), QualityOverride::Auto);
        assert!(
            status.contains("Software renderer") && status.contains("MSAA off"),
            "{status}"
        );
    }
}
