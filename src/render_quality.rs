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
//!
//! In the browser the canvas can also be drawn at fewer pixels than it shows, upscaled by the
//! browser ([`Resolution`]; the page does it, web/render_scale.js, before the app starts): a
//! software renderer's frame is mostly full-screen passes whose cost follows the pixels. "auto"
//! draws 3/4 across and down there (56 % of the pixels), full resolution on a GPU. The picker
//! changes it at once; [`RenderScale`] holds what the page draws at, for the status line.

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
    /// A resolution the person picked, for [`apply_resolution_request`] to hand to the page.
    pub resolution_request: Option<Resolution>,
}

/// How many of the canvas's pixels are drawn (the browser upscales the rest of the way).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// 3/4 on a software renderer, full on a GPU (the page decides from its WebGL2 renderer).
    Auto,
    Full,
    ThreeQuarters,
    Half,
}

impl Resolution {
    pub const ALL: [Resolution; 4] = [
        Resolution::Auto,
        Resolution::Full,
        Resolution::ThreeQuarters,
        Resolution::Half,
    ];

    /// The page's name for it (`window.orbitalRenderScale.set`, `?resolution=`).
    pub fn page_name(self) -> &'static str {
        match self {
            Resolution::Auto => "auto",
            Resolution::Full => "1",
            Resolution::ThreeQuarters => "0.75",
            Resolution::Half => "0.5",
        }
    }

    pub fn from_page_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.page_name() == name)
    }

    /// Its line in the quality picker.
    pub fn label(self) -> &'static str {
        match self {
            Resolution::Auto => "resolution auto (3/4 on a software renderer)",
            Resolution::Full => "resolution full (sharpest)",
            Resolution::ThreeQuarters => "resolution 3/4 (about 1.3x the frames)",
            Resolution::Half => "resolution 1/2 (about 2x the frames, soft text)",
        }
    }
}

/// What the page draws the canvas at: its choice and the scale (1, 0.75, 0.5), or `None` where
/// there is no such page (natively, headless), and the last request's error.
#[derive(Resource, Clone, Debug, Default, PartialEq)]
pub struct RenderScale {
    pub page: Option<(Resolution, f32)>,
    pub error: Option<String>,
}

impl RenderScale {
    /// From the page's answer ([`crate::web::render_scale`]).
    fn from_page(answer: Option<(String, f64)>) -> Self {
        Self {
            page: answer.and_then(|(choice, scale)| {
                Resolution::from_page_name(&choice).map(|r| (r, scale as f32))
            }),
            error: None,
        }
    }

    /// "drawn at 3/4 resolution (auto)", or `None` without a page.
    pub fn describe(&self) -> Option<String> {
        let (choice, scale) = self.page?;
        let size = match scale {
            s if (s - 1.0).abs() < 1e-3 => "full resolution".to_string(),
            s if (s - 0.75).abs() < 1e-3 => "3/4 resolution".to_string(),
            s if (s - 0.5).abs() < 1e-3 => "1/2 resolution".to_string(),
            s => format!("{:.0} % resolution", s * 100.0),
        };
        let whose = if choice == Resolution::Auto {
            "auto"
        } else {
            "your setting"
        };
        Some(format!("drawn at {size} ({whose})"))
    }
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
        .init_resource::<RenderScale>()
        .init_resource::<PacingRequests>()
        .add_message::<bevy::window::WindowScaleFactorChanged>()
        .add_systems(Startup, (expose_set_guest_pacing, read_render_scale))
        .add_systems(
            Update,
            (
                take_pacing_requests,
                apply_resolution_request,
                reread_render_scale_on_rescale,
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

fn read_render_scale(mut scale: ResMut<RenderScale>) {
    *scale = RenderScale::from_page(crate::web::render_scale());
}

/// Hands a picked resolution to the page, which applies it at once (the window's scale factor
/// changes next, and the drawing buffer with it).
pub fn apply_resolution_request(
    mut settings: ResMut<RenderQualitySettings>,
    mut scale: ResMut<RenderScale>,
) {
    let Some(asked) = settings.resolution_request.take() else {
        return;
    };
    match crate::web::set_render_scale(asked.page_name()) {
        Ok(answer) => *scale = RenderScale::from_page(Some(answer)),
        Err(error) => {
            warn!("resolution {}: {error}", asked.page_name());
            scale.error = Some(error);
        }
    }
}

/// The page's scale also changes when something else sets it (`window.orbitalRenderScale.set`
/// from a script): the window's scale factor changes then, so read the page again.
fn reread_render_scale_on_rescale(
    mut rescaled: MessageReader<bevy::window::WindowScaleFactorChanged>,
    mut scale: ResMut<RenderScale>,
) {
    if rescaled.read().count() == 0 {
        return;
    }
    let now = RenderScale::from_page(crate::web::render_scale());
    if now.page != scale.page {
        *scale = now;
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

/// What a decision was made for: the adapter, the override, full speed, the resolution drawn at.
type DecidedFor = (
    Option<String>,
    QualityOverride,
    bool,
    Option<(Resolution, f32)>,
);

fn decide_render_quality(
    adapter: Option<Res<RenderAdapterInfo>>,
    settings: Res<RenderQualitySettings>,
    scale: Res<RenderScale>,
    mut quality: ResMut<RenderQuality>,
    mut decided_for: Local<Option<DecidedFor>>,
) {
    let adapter_name = adapter.as_ref().map(|a| a.name.clone());
    let key = (
        adapter_name.clone(),
        settings.mode,
        settings.guests_full_speed,
        scale.page,
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
    if let Some(drawn_at) = scale.describe() {
        status.push_str(&format!("; {drawn_at}"));
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
    fn resolutions_round_trip_through_the_page_s_names() {
        for r in Resolution::ALL {
            assert_eq!(Resolution::from_page_name(r.page_name()), Some(r));
        }
        assert_eq!(Resolution::from_page_name("2"), None);
        assert_eq!(Resolution::from_page_name(""), None);
    }

    #[test]
    fn the_status_says_what_the_canvas_is_drawn_at_and_whose_choice_it_was() {
        let at = |choice: &str, scale: f64| {
            RenderScale::from_page(Some((choice.to_string(), scale))).describe()
        };
        assert_eq!(
            at("auto", 0.75).as_deref(),
            Some("drawn at 3/4 resolution (auto)")
        );
        assert_eq!(
            at("1", 1.0).as_deref(),
            Some("drawn at full resolution (your setting)")
        );
        assert_eq!(
            at("0.5", 0.5).as_deref(),
            Some("drawn at 1/2 resolution (your setting)")
        );
        assert_eq!(
            at("auto", 0.6).as_deref(),
            Some("drawn at 60 % resolution (auto)")
        );
        // A page that answers with a choice this app does not know, and no page at all.
        assert_eq!(at("0.3", 0.3), None);
        assert_eq!(RenderScale::from_page(None).describe(), None);
    }

    /// Natively there is no page: a resolution picked (by a test, as the picker would) is
    /// refused with a reason, and the status line gains nothing.
    #[test]
    fn a_resolution_asked_of_a_native_app_is_refused_with_a_reason() {
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .add_plugins(render_quality_plugin);
        app.update();
        app.world_mut()
            .resource_mut::<RenderQualitySettings>()
            .resolution_request = Some(Resolution::Half);
        app.update();
        let scale = app.world().resource::<RenderScale>();
        assert_eq!(scale.page, None);
        let error = scale.error.as_deref().unwrap_or_default();
        assert!(error.contains("full resolution"), "{error}");
        assert!(
            app.world()
                .resource::<RenderQualitySettings>()
                .resolution_request
                .is_none(),
            "the request is taken once"
        );
        assert!(
            !app.world()
                .resource::<RenderQuality>()
                .status
                .contains("drawn at")
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
