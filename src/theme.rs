//! Every colour and size of the playground, in one place, for the two looks: the standard dark
//! theme for a laptop screen and the high-contrast projector theme (classroom mode) with large type.

use bevy::prelude::*;
use bevy_egui::egui;

/// A colour usable by both Bevy (canvas) and egui (panels).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThemeColor(pub [u8; 4]);

impl ThemeColor {
    pub const fn rgb(r: u8, g: u8, b: u8) -> Self {
        Self([r, g, b, 255])
    }

    pub const fn with_alpha(self, a: u8) -> Self {
        Self([self.0[0], self.0[1], self.0[2], a])
    }

    pub fn bevy(self) -> Color {
        let [r, g, b, a] = self.0;
        Color::srgba_u8(r, g, b, a)
    }

    pub fn egui(self) -> egui::Color32 {
        let [r, g, b, a] = self.0;
        egui::Color32::from_rgba_unmultiplied(r, g, b, a)
    }
}

/// Which look is active.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ThemeMode {
    #[default]
    Standard,
    /// Classroom mode: high contrast, large type, thick lines.
    Projector,
}

/// The active theme. Swap it with [`Theme::for_mode`]; systems read it every frame.
#[derive(Resource, Clone, Debug)]
pub struct Theme {
    pub mode: ThemeMode,
    pub background: ThemeColor,
    pub text: ThemeColor,
    pub text_weak: ThemeColor,
    pub panel_fill: ThemeColor,
    pub accent: ThemeColor,
    pub warning: ThemeColor,
    pub error: ThemeColor,
    pub ok: ThemeColor,
    /// Colours assigned to programs by name (see [`Theme::program_color`]).
    pub program_palette: [ThemeColor; 10],
    pub state_running: ThemeColor,
    pub state_blocked: ThemeColor,
    pub state_zombie: ThemeColor,
    pub mailbox_idle: ThemeColor,
    pub mailbox_pending: ThemeColor,
    pub mailbox_ready: ThemeColor,
    pub particle: ThemeColor,
    pub edge_capability: ThemeColor,
    pub edge_traffic: ThemeColor,
    pub edge_denied: ThemeColor,
    pub selection: ThemeColor,
    pub kill_zone: ThemeColor,
    pub kill_zone_armed: ThemeColor,
    pub memory_bar: ThemeColor,
    pub memory_bar_back: ThemeColor,
    /// Node radius in world units at zoom 1, before memory scaling.
    pub node_radius: f32,
    /// Extra radius for a node at its memory limit.
    pub node_radius_memory_extra: f32,
    pub ring_width: f32,
    pub label_font_size: f32,
    /// A lesson card's caption (egui points, before `ui_scale`).
    pub caption_font_size: f32,
    pub particle_radius: f32,
    pub edge_width: f32,
    pub edge_width_max: f32,
    /// egui: pixels per point for every panel (large type in projector mode).
    pub ui_scale: f32,
    pub kill_zone_size_px: Vec2,
}

impl Default for Theme {
    fn default() -> Self {
        Self::standard()
    }
}

impl Theme {
    pub fn for_mode(mode: ThemeMode) -> Self {
        match mode {
            ThemeMode::Standard => Self::standard(),
            ThemeMode::Projector => Self::projector(),
        }
    }

    pub fn standard() -> Self {
        Self {
            mode: ThemeMode::Standard,
            background: ThemeColor::rgb(18, 22, 30),
            text: ThemeColor::rgb(230, 234, 240),
            text_weak: ThemeColor::rgb(150, 158, 172),
            panel_fill: ThemeColor::rgb(28, 33, 43),
            accent: ThemeColor::rgb(96, 165, 250),
            warning: ThemeColor::rgb(250, 204, 21),
            error: ThemeColor::rgb(248, 81, 73),
            ok: ThemeColor::rgb(74, 222, 128),
            program_palette: [
                ThemeColor::rgb(96, 165, 250),  // blue
                ThemeColor::rgb(244, 114, 182), // pink
                ThemeColor::rgb(52, 211, 153),  // green
                ThemeColor::rgb(251, 146, 60),  // orange
                ThemeColor::rgb(167, 139, 250), // violet
                ThemeColor::rgb(45, 212, 191),  // teal
                ThemeColor::rgb(250, 204, 21),  // yellow
                ThemeColor::rgb(248, 113, 113), // red
                ThemeColor::rgb(163, 230, 53),  // lime
                ThemeColor::rgb(148, 163, 184), // slate
            ],
            state_running: ThemeColor::rgb(74, 222, 128),
            state_blocked: ThemeColor::rgb(250, 204, 21),
            state_zombie: ThemeColor::rgb(120, 120, 130),
            mailbox_idle: ThemeColor::rgb(70, 78, 92),
            mailbox_pending: ThemeColor::rgb(251, 146, 60),
            mailbox_ready: ThemeColor::rgb(74, 222, 128),
            particle: ThemeColor::rgb(255, 255, 255),
            edge_capability: ThemeColor::rgb(90, 100, 120).with_alpha(160),
            edge_traffic: ThemeColor::rgb(96, 165, 250).with_alpha(200),
            edge_denied: ThemeColor::rgb(248, 81, 73),
            selection: ThemeColor::rgb(255, 255, 255),
            kill_zone: ThemeColor::rgb(248, 81, 73).with_alpha(150),
            kill_zone_armed: ThemeColor::rgb(248, 81, 73),
            memory_bar: ThemeColor::rgb(96, 165, 250),
            memory_bar_back: ThemeColor::rgb(50, 56, 68),
            node_radius: 22.0,
            node_radius_memory_extra: 14.0,
            ring_width: 4.0,
            label_font_size: 13.0,
            caption_font_size: 15.0,
            particle_radius: 4.0,
            edge_width: 1.5,
            edge_width_max: 12.0,
            ui_scale: 1.0,
            kill_zone_size_px: Vec2::new(150.0, 90.0),
        }
    }

    /// High contrast on a washed-out projector: black background, saturated colours, large type.
    pub fn projector() -> Self {
        Self {
            mode: ThemeMode::Projector,
            background: ThemeColor::rgb(0, 0, 0),
            text: ThemeColor::rgb(255, 255, 255),
            text_weak: ThemeColor::rgb(210, 210, 210),
            panel_fill: ThemeColor::rgb(12, 12, 12),
            accent: ThemeColor::rgb(0, 200, 255),
            warning: ThemeColor::rgb(255, 220, 0),
            error: ThemeColor::rgb(255, 60, 60),
            ok: ThemeColor::rgb(0, 255, 120),
            program_palette: [
                ThemeColor::rgb(0, 170, 255),
                ThemeColor::rgb(255, 80, 200),
                ThemeColor::rgb(0, 230, 120),
                ThemeColor::rgb(255, 150, 0),
                ThemeColor::rgb(190, 120, 255),
                ThemeColor::rgb(0, 230, 230),
                ThemeColor::rgb(255, 230, 0),
                ThemeColor::rgb(255, 70, 70),
                ThemeColor::rgb(170, 255, 0),
                ThemeColor::rgb(220, 220, 220),
            ],
            state_running: ThemeColor::rgb(0, 255, 120),
            state_blocked: ThemeColor::rgb(255, 220, 0),
            state_zombie: ThemeColor::rgb(140, 140, 140),
            mailbox_idle: ThemeColor::rgb(90, 90, 90),
            mailbox_pending: ThemeColor::rgb(255, 150, 0),
            mailbox_ready: ThemeColor::rgb(0, 255, 120),
            particle: ThemeColor::rgb(255, 255, 255),
            edge_capability: ThemeColor::rgb(160, 160, 160),
            edge_traffic: ThemeColor::rgb(0, 200, 255),
            edge_denied: ThemeColor::rgb(255, 60, 60),
            selection: ThemeColor::rgb(255, 255, 0),
            kill_zone: ThemeColor::rgb(255, 60, 60).with_alpha(180),
            kill_zone_armed: ThemeColor::rgb(255, 60, 60),
            memory_bar: ThemeColor::rgb(0, 200, 255),
            memory_bar_back: ThemeColor::rgb(60, 60, 60),
            node_radius: 28.0,
            node_radius_memory_extra: 16.0,
            ring_width: 6.0,
            label_font_size: 18.0,
            caption_font_size: 18.0,
            particle_radius: 6.0,
            edge_width: 3.0,
            edge_width_max: 16.0,
            ui_scale: 1.35,
            kill_zone_size_px: Vec2::new(180.0, 110.0),
        }
    }

    /// A stable colour per program name (same name, same colour, on every machine).
    pub fn program_color(&self, program: &str) -> ThemeColor {
        self.program_palette[self.program_palette_index(program)]
    }

    /// Where [`Self::program_color`] takes a program's colour from in [`Self::program_palette`].
    pub fn program_palette_index(&self, program: &str) -> usize {
        // The shipped programs get distinct colours; others share the palette by hash.
        const KNOWN: [&str; 10] = [
            "init", "terminal", "spinner", "sender", "receiver", "pingpong", "memhog", "crasher",
            "rogue", "idle",
        ];
        if let Some(index) = KNOWN.iter().position(|k| *k == program) {
            return index;
        }
        let hash = program.bytes().fold(0x811c_9dc5_u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        });
        (hash % self.program_palette.len() as u32) as usize
    }

    /// egui visuals matching this theme.
    pub fn egui_visuals(&self) -> egui::Visuals {
        let mut visuals = egui::Visuals::dark();
        // The panels are not filled by egui: the window's clear colour is the panel colour and
        // the graph is drawn only inside the canvas area, on its own backdrop (`graph::camera`;
        // with reduced effects the whole window takes the background colour).
        // A software renderer pays every filled pixel, blended: the panels' fills cost about a
        // third of the frame.
        visuals.panel_fill = egui::Color32::TRANSPARENT;
        visuals.window_fill = self.panel_fill.egui();
        visuals.override_text_color = Some(self.text.egui());
        visuals.selection.bg_fill = self.accent.egui().gamma_multiply(0.6);
        visuals.hyperlink_color = self.accent.egui();
        visuals.error_fg_color = self.error.egui();
        visuals.warn_fg_color = self.warning.egui();
        if self.mode == ThemeMode::Projector {
            visuals.widgets.noninteractive.fg_stroke.width = 1.5;
            visuals.widgets.inactive.fg_stroke.width = 1.5;
            visuals.widgets.inactive.bg_fill = egui::Color32::from_gray(40);
            visuals.extreme_bg_color = egui::Color32::BLACK;
        }
        visuals
    }
}

/// Inserts the standard theme. (The window's clear colour follows the theme and the render
/// quality together: `graph::camera::follow_theme_and_quality`.)
pub fn theme_plugin(app: &mut App) {
    app.init_resource::<Theme>();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_colours_are_stable_and_spread() {
        let theme = Theme::standard();
        assert_eq!(theme.program_color("sender"), theme.program_color("sender"));
        let names = [
            "init", "terminal", "idle", "sender", "receiver", "pingpong", "memhog", "rogue",
        ];
        let distinct: std::collections::BTreeSet<_> =
            names.iter().map(|n| theme.program_color(n).0).collect();
        assert_eq!(
            distinct.len(),
            names.len(),
            "shipped programs need distinct colours"
        );
    }

    #[test]
    fn projector_theme_is_larger() {
        let (s, p) = (Theme::standard(), Theme::projector());
        assert!(p.label_font_size > s.label_font_size && p.ui_scale > s.ui_scale);
    }
}
