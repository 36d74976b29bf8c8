//! Keys typed right after a click on a text field go into the field, whatever the frame rate.
//!
//! egui focuses a text field at the end of the pass that sees the click, and places the cursor
//! from the layout it had before that pass's keys. At a few frames per second a quick click and the
//! first keys typed after it arrive in one frame. If the field did not have focus, its pass dropped
//! those keys, and the app's shortcuts (which ask bevy_egui whether egui wanted the keyboard *last*
//! frame) took them instead: `p` switched the theme, `s` stepped. If it had focus, the first key
//! was lost or landed after the text typed next (`echo` came out as `cho` or `choe`).
//!
//! So when a frame's egui input has a primary press over one of the app's text fields (where the
//! field was last drawn, with no egui window or popup over it), the keyboard events after the press
//! are held back and given to egui at the start of the next frame, when the click has focused the
//! field and placed its cursor. [`TextFieldPressed`] tells the shortcut systems
//! (`ui_state::keys_free`) that this frame's keys are the field's.

use bevy::prelude::*;
use bevy_egui::{EguiContext, EguiInput, EguiInputSet, EguiPreUpdateSet, PrimaryEguiContext, egui};

use crate::ui_state::{self, TEXT_FIELDS, TextFieldPressed};

pub fn text_focus_plugin(app: &mut App) {
    ui_state::ensure_ui_state(app);
    app.add_systems(
        PreUpdate,
        hold_keys_after_text_field_press
            .after(EguiInputSet::WriteEguiEvents)
            .before(EguiPreUpdateSet::BeginPass),
    );
}

/// True for the events that type: keys, text, clipboard and IME input.
fn is_keyboard(event: &egui::Event) -> bool {
    matches!(
        event,
        egui::Event::Key { .. }
            | egui::Event::Text(_)
            | egui::Event::Paste(_)
            | egui::Event::Copy
            | egui::Event::Cut
            | egui::Event::Ime(_)
    )
}

/// The text field (one of `fields`: egui ids made from these names) under the first primary press
/// in `events`, as the fields were laid out in `ctx`'s last pass, if no egui window or popup lies
/// over it there.
pub fn text_field_pressed(
    ctx: &egui::Context,
    events: &[egui::Event],
    fields: &[&str],
) -> Option<(usize, egui::Id)> {
    let (index, press) = events.iter().enumerate().find_map(|(i, e)| match e {
        egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed: true,
            ..
        } => Some((i, *pos)),
        _ => None,
    })?;
    let top = ctx.layer_id_at(press);
    fields.iter().find_map(|name| {
        let id = egui::Id::new(name);
        let field = ctx.read_response(id)?;
        let uncovered = top.is_none_or(|layer| layer == field.layer_id);
        (field.interact_rect.contains(press) && uncovered).then_some((index, id))
    })
}

/// One frame's egui input: first the keyboard events `held` from the frame before, then this
/// frame's; if a press on a text field comes before keyboard events, those are moved into `held`
/// for the next frame. Returns the pressed field.
pub fn hold_keys_after_press(
    ctx: &egui::Context,
    events: &mut Vec<egui::Event>,
    held: &mut Vec<egui::Event>,
    fields: &[&str],
) -> Option<egui::Id> {
    events.splice(0..0, held.drain(..));
    let (index, id) = text_field_pressed(ctx, events, fields)?;
    let mut at = index + 1;
    while at < events.len() {
        if is_keyboard(&events[at]) {
            held.push(events.remove(at));
        } else {
            at += 1;
        }
    }
    Some(id)
}

fn hold_keys_after_text_field_press(
    mut contexts: Query<(&mut EguiContext, &mut EguiInput), With<PrimaryEguiContext>>,
    mut held: Local<Vec<egui::Event>>,
    mut pressed: ResMut<TextFieldPressed>,
) {
    let Ok((mut context, mut input)) = contexts.single_mut() else {
        pressed.0 = false;
        return;
    };
    let ctx = context.get_mut();
    pressed.0 = hold_keys_after_press(ctx, &mut input.events, &mut held, &TEXT_FIELDS).is_some();
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELD: &str = crate::ui_state::TERMINAL_INPUT;

    /// The app's way: a bottom panel holding the field, on the background layer.
    fn terminal(ctx: &egui::Context, text: &mut String, window_over_field: bool) {
        let mut root = egui::Ui::new(
            ctx.clone(),
            "root".into(),
            egui::UiBuilder::new()
                .layer_id(egui::LayerId::background())
                .max_rect(ctx.viewport_rect()),
        );
        let field = egui::Panel::bottom("terminal")
            .show(&mut root, |ui| {
                ui.add(egui::TextEdit::singleline(text).id(egui::Id::new(FIELD)))
            })
            .inner;
        if window_over_field {
            egui::Window::new("help")
                .fixed_pos(field.rect.left_top() - egui::vec2(0.0, 40.0))
                .fixed_size(egui::vec2(300.0, 200.0))
                .show(ctx, |ui| ui.label("over the terminal"));
        }
    }

    /// What the app's pass sees of one frame's input, with or without holding keys back.
    struct Frames {
        ctx: egui::Context,
        held: Vec<egui::Event>,
        hold: bool,
        window: bool,
        text: String,
    }

    impl Frames {
        fn new(hold: bool, window: bool) -> Self {
            let mut f = Self {
                ctx: egui::Context::default(),
                held: Vec::new(),
                hold,
                window,
                text: String::new(),
            };
            f.frame(vec![]);
            f.frame(vec![]);
            f
        }

        /// Returns the field pressed, if held.
        fn frame(&mut self, mut events: Vec<egui::Event>) -> Option<egui::Id> {
            let pressed = if self.hold {
                hold_keys_after_press(&self.ctx, &mut events, &mut self.held, &[FIELD])
            } else {
                None
            };
            self.ctx.begin_pass(egui::RawInput {
                screen_rect: Some(egui::Rect::from_min_size(
                    egui::Pos2::ZERO,
                    egui::vec2(800.0, 600.0),
                )),
                events,
                ..Default::default()
            });
            terminal(&self.ctx, &mut self.text, self.window);
            self.ctx.end_pass().textures_delta.clear();
            pressed
        }

        fn field_centre(&self) -> egui::Pos2 {
            self.ctx
                .read_response(egui::Id::new(FIELD))
                .expect("the field was drawn")
                .rect
                .center()
        }

        fn focused(&self) -> bool {
            self.ctx.memory(|m| m.has_focus(egui::Id::new(FIELD)))
        }
    }

    /// A quick click at `at` (move, press, release) and `typed`, all in one frame.
    fn click_and_type(at: egui::Pos2, typed: &str) -> Vec<egui::Event> {
        let button = |pressed| egui::Event::PointerButton {
            pos: at,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        };
        let mut events = vec![egui::Event::PointerMoved(at), button(true), button(false)];
        events.extend(typed.chars().map(|c| egui::Event::Text(c.to_string())));
        events
    }

    #[test]
    fn keys_typed_in_the_click_frame_reach_the_field_a_frame_later() {
        let mut f = Frames::new(true, false);
        let at = f.field_centre();
        assert_eq!(
            f.frame(click_and_type(at, "ps")),
            Some(egui::Id::new(FIELD))
        );
        assert_eq!(f.text, "", "the keys wait for the click to focus the field");
        assert!(f.focused());
        assert_eq!(f.frame(vec![]), None);
        assert_eq!(f.text, "ps");
    }

    #[test]
    fn without_holding_egui_drops_the_keys_of_the_click_frame() {
        // The premise: egui alone focuses the field only at the end of the click's pass.
        let mut f = Frames::new(false, false);
        let at = f.field_centre();
        f.frame(click_and_type(at, "ps"));
        f.frame(vec![]);
        assert_eq!(f.text, "");
        assert!(f.focused(), "egui focuses it for the frames after");
    }

    #[test]
    fn a_focused_field_keeps_the_order_of_keys_typed_with_a_click() {
        let mut f = Frames::new(true, false);
        let at = f.field_centre();
        f.frame(click_and_type(at, ""));
        assert!(f.focused());
        f.frame(click_and_type(at, "echo"));
        f.frame(vec![]);
        assert_eq!(f.text, "echo");
    }

    #[test]
    fn without_holding_a_focused_field_loses_the_key_typed_with_the_click() {
        // The premise: the click's cursor comes from the layout before that frame's keys (in the
        // browser the first key also came out last: `echo` as `choe`).
        let mut f = Frames::new(false, false);
        let at = f.field_centre();
        f.frame(click_and_type(at, ""));
        f.frame(click_and_type(at, "e"));
        f.frame(vec![egui::Event::Text("cho".into())]);
        assert_eq!(f.text, "cho");
    }

    #[test]
    fn a_press_elsewhere_holds_nothing() {
        let mut f = Frames::new(true, false);
        let events = click_and_type(egui::pos2(400.0, 200.0), "ps");
        assert_eq!(f.frame(events), None);
        assert!(f.held.is_empty());
        assert!(!f.focused());
    }

    #[test]
    fn a_window_over_the_field_keeps_the_press() {
        let mut f = Frames::new(true, true);
        let at = egui::pos2(60.0, f.field_centre().y);
        assert!(
            f.ctx.layer_id_at(at).is_some(),
            "the window lies over the field's left end"
        );
        assert_eq!(f.frame(click_and_type(at, "ps")), None);
        f.frame(vec![]);
        assert_eq!(f.text, "");
    }

    #[test]
    fn the_hold_system_initialises_without_conflicting_parameters() {
        assert!(crate::schedule_check::initialise_plugin_systems(text_focus_plugin) >= 1);
    }
}
