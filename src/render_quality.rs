//! Keeps the canvas fluid on computers without a usable GPU (school laptops, headless browsers).
//!
//! A software renderer (SwiftShader, llvmpipe, lavapipe, WARP) spends most of a frame on MSAA:
//! a minimal Bevy page in headless Chromium on SwiftShader ran at about 3 frames/s with 4x MSAA
//! and 13-16 frames/s with MSAA off. So the camera starts with MSAA off, and once the adapter is
//! known it is turned on only for a hardware GPU. Costly effects (finer circles, more particles)
//! follow the same decision. `RenderQualitySettings` overrides it, and the status line says which
//! renderer was found and what was done. The graph reads [`RenderQuality`] and applies it to its
//! camera and particles.

use bevy::prelude::*;
use bevy::render::renderer::RenderAdapterInfo;
use bevy::render::view::Msaa;

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
}

/// What was found and decided.
#[derive(Resource, Clone, Debug)]
pub struct RenderQuality {
    /// `None` until the renderer has started (or in a headless app).
    pub adapter_name: Option<String>,
    pub software: bool,
    pub reduced: bool,
    pub msaa_samples: u32,
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
        .add_systems(Update, decide_render_quality.in_set(RenderQualitySystems));
}

fn decide_render_quality(
    adapter: Option<Res<RenderAdapterInfo>>,
    settings: Res<RenderQualitySettings>,
    mut quality: ResMut<RenderQuality>,
    mut decided_for: Local<Option<(Option<String>, QualityOverride)>>,
) {
    let adapter_name = adapter.as_ref().map(|a| a.name.clone());
    let key = (adapter_name.clone(), settings.mode);
    if decided_for.as_ref() == Some(&key) {
        return;
    }
    let cpu = adapter
        .as_ref()
        .is_some_and(|a| format!("{:?}", a.device_type) == "Cpu");
    let (reduced, samples, status) =
        decide(adapter_name.as_deref().map(|n| (n, cpu)), settings.mode);
    info!("{status}");
    *quality = RenderQuality {
        software: adapter_name
            .as_deref()
            .is_some_and(|n| is_software_adapter(n, cpu)),
        adapter_name,
        reduced,
        msaa_samples: samples,
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
