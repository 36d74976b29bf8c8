//! Pictures for handouts: the canvas (the graph, without the panels around it) saved as a PNG
//! from a button. The frame is taken with Bevy's `Screenshot`, which copies the window's image
//! right after it was rendered (a WebGL canvas read later, without `preserveDrawingBuffer`, is
//! blank), then cropped to the free canvas area and encoded here; the browser downloads it, the
//! desktop app writes it to the current folder.

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};
use bevy::window::PrimaryWindow;

use crate::scenario::ScenarioState;
use crate::ui_state::{self, CanvasArea, Toasts};

/// Save the canvas as a PNG (the "Save picture" button).
#[derive(Message, Debug, Clone, Copy, Default)]
pub struct SaveCanvasPicture;

/// How many pictures were asked for and saved (for the file names and the tests).
#[derive(Resource, Debug, Default, Clone, PartialEq, Eq)]
pub struct HandoutState {
    pub requested: u32,
    pub saved: u32,
    /// The last file's name and size in pixels.
    pub last: Option<(String, u32, u32)>,
}

pub fn handout_plugin(app: &mut App) {
    ui_state::ensure_ui_state(app);
    app.add_message::<SaveCanvasPicture>()
        .init_resource::<HandoutState>()
        .add_systems(Update, request_canvas_picture);
}

fn request_canvas_picture(
    mut requests: MessageReader<SaveCanvasPicture>,
    mut commands: Commands,
    mut state: ResMut<HandoutState>,
) {
    // One picture however often the button was pressed in a frame.
    if requests.read().count() == 0 {
        return;
    }
    state.requested += 1;
    commands
        .spawn(Screenshot::primary_window())
        .observe(on_canvas_captured);
}

#[allow(clippy::too_many_arguments)]
fn on_canvas_captured(
    captured: On<ScreenshotCaptured>,
    area: Res<CanvasArea>,
    window: Query<&Window, With<PrimaryWindow>>,
    scenario: Option<Res<ScenarioState>>,
    mut state: ResMut<HandoutState>,
    mut toasts: ResMut<Toasts>,
) {
    let scale = window.single().map_or(1.0, Window::scale_factor);
    let result = captured
        .image
        .clone()
        .try_into_dynamic()
        .map_err(|e| format!("the window's image format cannot be read: {e}"))
        .and_then(|image| {
            // The alpha channel carries nothing a person sees.
            let rgb = image.to_rgb8();
            let (width, height) = rgb.dimensions();
            let physical = Rect::from_corners(area.rect.min * scale, area.rect.max * scale);
            let (pixels, w, h) = crop_rgb(rgb.as_raw(), width, height, physical)?;
            // Drawn at fewer pixels than shown (a lower resolution for a software renderer,
            // render_quality::Resolution): the picture is what the page shows, at the canvas's
            // size in CSS pixels, as the browser scales it.
            let (pixels, w, h) = if scale < 1.0 {
                let size = area.rect.size().round().max(Vec2::ONE);
                let (sw, sh) = (size.x as u32, size.y as u32);
                (scale_rgb(&pixels, w, h, sw, sh)?, sw, sh)
            } else {
                (pixels, w, h)
            };
            let png = encode_png(w, h, &pixels)?;
            let name = format!(
                "orbital-{}-{}.png",
                scenario
                    .as_ref()
                    .and_then(|s| s.current.clone())
                    .unwrap_or_else(|| "canvas".into()),
                state.saved + 1
            );
            let place = crate::web::download::deliver_file(&name, "image/png", &png)?;
            Ok((name, w, h, place))
        });
    match result {
        Ok((name, w, h, place)) => {
            state.saved += 1;
            toasts.push(
                format!("Saved the canvas as {name} ({w}x{h}) to {place}."),
                false,
            );
            state.last = Some((name, w, h));
        }
        Err(e) => toasts.push(
            format!("Cannot save the canvas as a picture: {e}. Try again, or take a screenshot."),
            true,
        ),
    }
}

/// The part of an RGB image (8 bits a channel, rows top to bottom) inside `rect` (pixels,
/// clamped to the image): its pixels, width and height.
pub fn crop_rgb(
    rgb: &[u8],
    width: u32,
    height: u32,
    rect: Rect,
) -> Result<(Vec<u8>, u32, u32), String> {
    if rgb.len() != width as usize * height as usize * 3 {
        return Err(format!(
            "the image has {} bytes, not {width}x{height}x3",
            rgb.len()
        ));
    }
    let x0 = rect.min.x.round().clamp(0.0, width as f32) as u32;
    let y0 = rect.min.y.round().clamp(0.0, height as f32) as u32;
    let x1 = rect.max.x.round().clamp(0.0, width as f32) as u32;
    let y1 = rect.max.y.round().clamp(0.0, height as f32) as u32;
    if x1 <= x0 || y1 <= y0 {
        return Err(format!(
            "the canvas area {rect:?} is empty or outside the {width}x{height} window"
        ));
    }
    let (w, h) = (x1 - x0, y1 - y0);
    let mut out = Vec::with_capacity(w as usize * h as usize * 3);
    for y in y0..y1 {
        let start = (y as usize * width as usize + x0 as usize) * 3;
        out.extend_from_slice(&rgb[start..start + w as usize * 3]);
    }
    Ok((out, w, h))
}

/// An RGB image (8 bits a channel) of `width`x`height` resampled to `to_width`x`to_height`,
/// bilinear, pixel centres aligned (as a browser scales a canvas up).
pub fn scale_rgb(
    rgb: &[u8],
    width: u32,
    height: u32,
    to_width: u32,
    to_height: u32,
) -> Result<Vec<u8>, String> {
    if rgb.len() != width as usize * height as usize * 3 || width == 0 || height == 0 {
        return Err(format!(
            "the image has {} bytes, not {width}x{height}x3",
            rgb.len()
        ));
    }
    let w = width as usize;
    let at = |x: usize, y: usize, c: usize| f32::from(rgb[(y * w + x) * 3 + c]);
    // The source coordinate of a destination pixel's centre, and its two neighbours' weights.
    let axis = |i: u32, from: u32, to: u32| {
        let p = ((i as f32 + 0.5) * from as f32 / to as f32 - 0.5).clamp(0.0, (from - 1) as f32);
        let lo = p.floor() as usize;
        (lo, (lo + 1).min(from as usize - 1), p - lo as f32)
    };
    let mut out = Vec::with_capacity(to_width as usize * to_height as usize * 3);
    for y in 0..to_height {
        let (y0, y1, fy) = axis(y, height, to_height);
        for x in 0..to_width {
            let (x0, x1, fx) = axis(x, width, to_width);
            for c in 0..3 {
                let top = at(x0, y0, c) * (1.0 - fx) + at(x1, y0, c) * fx;
                let bottom = at(x0, y1, c) * (1.0 - fx) + at(x1, y1, c) * fx;
                out.push((top * (1.0 - fy) + bottom * fy).round() as u8);
            }
        }
    }
    Ok(out)
}

/// 8-bit RGB pixels as a PNG file's bytes.
pub fn encode_png(width: u32, height: u32, rgb: &[u8]) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder
        .write_header()
        .map_err(|e| format!("cannot start the PNG: {e}"))?;
    writer
        .write_image_data(rgb)
        .map_err(|e| format!("cannot encode the PNG: {e}"))?;
    writer
        .finish()
        .map_err(|e| format!("cannot finish the PNG: {e}"))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 4x3 image whose pixel (x, y) is (x, y, 7).
    fn image() -> Vec<u8> {
        (0..3u8)
            .flat_map(|y| (0..4u8).flat_map(move |x| [x, y, 7]))
            .collect()
    }

    #[test]
    fn cropping_keeps_the_canvas_area_and_clamps_to_the_image() {
        let (pixels, w, h) = crop_rgb(&image(), 4, 3, Rect::new(1.0, 1.0, 3.0, 3.0)).unwrap();
        assert_eq!((w, h), (2, 2));
        assert_eq!(pixels, vec![1, 1, 7, 2, 1, 7, 1, 2, 7, 2, 2, 7]);
        let (_, w, h) = crop_rgb(&image(), 4, 3, Rect::new(-5.0, 2.0, 50.0, 9.0)).unwrap();
        assert_eq!((w, h), (4, 1));
        let empty = crop_rgb(&image(), 4, 3, Rect::new(10.0, 0.0, 20.0, 3.0)).unwrap_err();
        assert!(empty.contains("empty or outside"), "{empty}");
        assert!(crop_rgb(&image()[1..], 4, 3, Rect::new(0.0, 0.0, 1.0, 1.0)).is_err());
    }

    #[test]
    fn scaling_up_keeps_flat_colours_and_blends_between_them() {
        // 2x1: black then white, scaled to 4x2.
        let rgb = [0, 0, 0, 255, 255, 255];
        let out = scale_rgb(&rgb, 2, 1, 4, 2).unwrap();
        assert_eq!(out.len(), 4 * 2 * 3);
        let reds: Vec<u8> = out.chunks(3).map(|p| p[0]).collect();
        // Outer pixels keep their colour; the two between blend a quarter and three quarters.
        assert_eq!(reds[..4], [0, 64, 191, 255]);
        assert_eq!(reds[..4], reds[4..], "rows of a one-row image are alike");
        // A flat image stays flat at any size.
        let flat = [18u8, 22, 30].repeat(6);
        let scaled = scale_rgb(&flat, 3, 2, 5, 4).unwrap();
        assert!(scaled.chunks(3).all(|p| p == [18, 22, 30]));
        assert!(
            scale_rgb(&flat, 4, 2, 5, 4).is_err(),
            "the wrong size is refused"
        );
    }

    #[test]
    fn an_encoded_picture_decodes_to_the_same_pixels() {
        let bytes = encode_png(4, 3, &image()).unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut out = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut out).unwrap();
        assert_eq!((info.width, info.height), (4, 3));
        assert_eq!(&out[..info.buffer_size()], image().as_slice());
    }

    #[test]
    fn the_picture_systems_initialise_without_conflicting_parameters() {
        assert!(crate::schedule_check::initialise_plugin_systems(handout_plugin) >= 1);
    }
}
