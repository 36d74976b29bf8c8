//! A bar with a figure written over it (a process's memory, an endpoint's queue), drawn as
//! egui's `ProgressBar` draws one but in the enclosing clip rectangle.
//!
//! `ProgressBar` paints its text through a painter clipped to the bar, and egui starts a new mesh,
//! so a new draw call, at every change of clip rectangle: two draws per bar. On a software
//! renderer every draw is set up on its own; the crowd's process list drew 59 WebGL draws a frame
//! with `ProgressBar`s and 21 with these (docs/BENCHMARKS.md). A text too long for the bar is
//! elided ("…") instead of clipped.

use bevy_egui::egui;

/// A bar `width` points wide and a row high, filled to `fraction` (0 to 1; anything else fills
/// nothing) in `fill` (the selection colour if `None`), with `text` over it in the selection's
/// text colour. `rounded`: round ends, the fill at least as wide as its ends (as `ProgressBar`
/// draws it); otherwise square ends.
pub fn text_bar(
    ui: &mut egui::Ui,
    width: f32,
    fraction: f32,
    text: String,
    fill: Option<egui::Color32>,
    rounded: bool,
) -> egui::Response {
    let height = ui.spacing().interact_size.y;
    let (rect, response) = ui.allocate_exact_size(egui::vec2(width, height), egui::Sense::hover());
    response.widget_info(|| {
        egui::WidgetInfo::labeled(egui::WidgetType::ProgressIndicator, ui.is_enabled(), &text)
    });
    if ui.is_rect_visible(rect) {
        let visuals = ui.visuals();
        let inset = ui.spacing().item_spacing.x;
        let text_color = visuals
            .override_text_color
            .unwrap_or(visuals.selection.stroke.color);
        let fill = fill.unwrap_or(visuals.selection.bg_fill);
        let fraction = if fraction.is_finite() {
            fraction.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let radius = if rounded { rect.height() / 2.0 } else { 0.0 };
        let filled_width = (rect.width() * fraction).max(2.0 * radius);
        let filled = egui::Rect::from_min_size(rect.min, egui::vec2(filled_width, rect.height()));
        let galley = egui::WidgetText::from(text).into_galley(
            ui,
            Some(egui::TextWrapMode::Truncate),
            (rect.width() - 2.0 * inset).max(0.0),
            egui::TextStyle::Button,
        );
        let at = rect.left_center() + egui::vec2(inset, -galley.size().y / 2.0);
        let painter = ui.painter();
        painter.rect_filled(rect, radius, visuals.extreme_bg_color);
        painter.rect_filled(filled, radius, fill);
        painter.galley(at, galley, text_color);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lays out `add` in a panel of a fresh egui context and returns the clip rectangles its
    /// output is drawn in (each one draw) and the characters its texts show, with their widths.
    fn draws_of(add: impl Fn(&mut egui::Ui)) -> (usize, Vec<(String, f32)>) {
        let ctx = egui::Context::default();
        let input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(
                egui::Pos2::ZERO,
                egui::vec2(400.0, 300.0),
            )),
            ..Default::default()
        };
        // The second pass draws what the first measured. (Font textures are not uploaded here.)
        ctx.run_ui(input.clone(), |ui| add(ui))
            .textures_delta
            .clear();
        let mut output = ctx.run_ui(input, |ui| add(ui));
        output.textures_delta.clear();
        let mut texts = Vec::new();
        for clipped in &output.shapes {
            if let egui::Shape::Text(t) = &clipped.shape {
                let shown = t
                    .galley
                    .rows
                    .iter()
                    .flat_map(|row| row.glyphs.iter().map(|g| g.chr))
                    .collect();
                texts.push((shown, t.galley.size().x));
            }
        }
        let primitives = ctx.tessellate(output.shapes, output.pixels_per_point);
        (primitives.len(), texts)
    }

    #[test]
    fn a_column_of_bars_draws_in_the_panels_one_clip_rectangle() {
        let rows = |ui: &mut egui::Ui| {
            for (i, text) in ["128 KiB", "3/64", "64.0 MiB"].iter().enumerate() {
                text_bar(
                    ui,
                    70.0,
                    i as f32 / 2.0,
                    text.to_string(),
                    (i == 0).then_some(egui::Color32::from_rgb(80, 120, 200)),
                    i == 1,
                );
            }
        };
        let (draws, texts) = draws_of(rows);
        assert_eq!(draws, 1, "one clip rectangle for every bar and its text");
        let shown: Vec<&str> = texts.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(shown, ["128 KiB", "3/64", "64.0 MiB"]);
        // What egui's ProgressBar does with the same rows: a clip rectangle per bar's text.
        let (progress_draws, _) = draws_of(|ui| {
            for i in 0..3 {
                ui.add(
                    egui::ProgressBar::new(i as f32 / 2.0)
                        .desired_width(70.0)
                        .text("128 KiB"),
                );
            }
        });
        assert!(progress_draws > 1, "{progress_draws}");
    }

    #[test]
    fn a_text_too_long_for_the_bar_is_elided_and_a_bad_fraction_fills_nothing() {
        let (_, texts) = draws_of(|ui| {
            text_bar(
                ui,
                70.0,
                f32::NAN,
                "1234567890 bytes and more".into(),
                Some(egui::Color32::RED),
                false,
            );
        });
        let [(shown, width)] = texts.as_slice() else {
            panic!("{texts:?}")
        };
        assert!(shown.ends_with('…') && shown.starts_with("12"), "{shown}");
        assert!(*width < 70.0, "{width}");
    }
}
