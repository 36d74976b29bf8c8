//! Where the panels go, per theme: the laptop layout (process list left, inspector right, the
//! terminal under the canvas) and the classroom layout for a projector at 1024x768 or 1280x800,
//! where the canvas takes most of the screen: the process list is collapsed (a toggle in the top
//! bar opens it), the inspector is a drawer over the canvas's right edge that opens when a process
//! is selected, and the terminal spans the whole width, tall enough for `ps`. Pure decisions,
//! unit-tested; `draw_panels` follows them.

use bevy::prelude::*;

use crate::theme::ThemeMode;

/// What a person opened or closed; `None` means "the theme's default".
#[derive(Resource, Debug, Default, Clone, PartialEq, Eq)]
pub struct PanelToggles {
    pub processes: Option<bool>,
    pub inspector: Option<bool>,
}

/// How the inspector is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InspectorPlacement {
    /// A side panel beside the canvas.
    Side,
    /// A drawer (a window) over the canvas's right edge, only while a process is selected.
    Drawer,
    Hidden,
}

/// The panel arrangement for one frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PanelPlan {
    pub processes: bool,
    pub inspector: InspectorPlacement,
    /// The terminal panel spans the whole width (drawn before the side panels).
    pub bottom_full_width: bool,
    /// Lines of terminal text the bottom panel is first sized for.
    pub terminal_lines: f32,
    /// The renderer status line goes into a tooltip instead of its own row.
    pub compact_status: bool,
}

/// `ps` prints a header and a line per process; ten lines show a classroom's handful at once.
pub const CLASSROOM_TERMINAL_LINES: f32 = 10.0;

impl PanelPlan {
    pub fn new(mode: ThemeMode, toggles: &PanelToggles, something_selected: bool) -> Self {
        match mode {
            ThemeMode::Standard => Self {
                processes: toggles.processes.unwrap_or(true),
                inspector: if toggles.inspector.unwrap_or(true) {
                    InspectorPlacement::Side
                } else {
                    InspectorPlacement::Hidden
                },
                bottom_full_width: false,
                terminal_lines: 9.0,
                compact_status: false,
            },
            ThemeMode::Projector => Self {
                processes: toggles.processes.unwrap_or(false),
                inspector: if toggles.inspector.unwrap_or(true) && something_selected {
                    InspectorPlacement::Drawer
                } else {
                    InspectorPlacement::Hidden
                },
                bottom_full_width: true,
                terminal_lines: CLASSROOM_TERMINAL_LINES,
                compact_status: true,
            },
        }
    }

    /// The bottom panel's first height in egui points: the terminal's lines, its tab row and its
    /// input line, for a monospace row of `row_height` points.
    pub fn bottom_height(&self, row_height: f32) -> f32 {
        row_height * (self.terminal_lines + 2.0) + 40.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_laptop_layout_keeps_both_side_panels() {
        let plan = PanelPlan::new(ThemeMode::Standard, &PanelToggles::default(), false);
        assert!(plan.processes && !plan.bottom_full_width && !plan.compact_status);
        assert_eq!(plan.inspector, InspectorPlacement::Side);
    }

    #[test]
    fn the_classroom_layout_collapses_the_list_and_draws_the_inspector_as_a_drawer() {
        let toggles = PanelToggles::default();
        let plan = PanelPlan::new(ThemeMode::Projector, &toggles, false);
        assert!(!plan.processes && plan.bottom_full_width && plan.compact_status);
        assert_eq!(plan.inspector, InspectorPlacement::Hidden);
        let selected = PanelPlan::new(ThemeMode::Projector, &toggles, true);
        assert_eq!(selected.inspector, InspectorPlacement::Drawer);
        let opened = PanelToggles {
            processes: Some(true),
            inspector: Some(false),
        };
        let plan = PanelPlan::new(ThemeMode::Projector, &opened, true);
        assert!(plan.processes);
        assert_eq!(plan.inspector, InspectorPlacement::Hidden);
    }

    #[test]
    fn the_classroom_terminal_is_tall_enough_for_ps() {
        let plan = PanelPlan::new(ThemeMode::Projector, &PanelToggles::default(), false);
        let row = 14.0;
        // Ten rows of text besides the tab row and the input line.
        assert!(plan.bottom_height(row) >= row * 12.0);
    }
}
