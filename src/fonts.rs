//! egui's fonts, installed before the first egui pass.
//!
//! The faces are egui's own defaults: Ubuntu Light for words, Hack for code and the terminal, an
//! icon face (⏸ ⏭ ⏮) and Noto Emoji. The first three are in the app's module. Noto Emoji draws
//! only emoji and arrows and is the largest (0.26 MiB of brotli, 7 % of the module), so on the
//! web it is not in the module: it is fetched from [`EMOJI_FONT_URL`] (written by `cargo xtask
//! dist`) while the renderer starts, and added to the fonts when it arrives. Natively it is in the
//! binary from the start.
//!
//! The fallback order is egui's, with Hack added last for words: ◀ and box-drawing characters
//! then have a face while the emoji face is on its way, or if it never arrives (the page logs why
//! and every other character is drawn as before).
use std::sync::{Arc, Mutex};

use bevy::prelude::*;
use bevy_egui::{EguiContext, EguiPreUpdateSet, egui};
use egui::{FontData, FontDefinitions, FontFamily, FontTweak};

/// Where the site keeps the emoji face, relative to the page.
pub const EMOJI_FONT_URL: &str = "assets/fonts/NotoEmoji-Regular.ttf";

const HACK: &str = "Hack";
const UBUNTU: &str = "Ubuntu-Light";
const EMOJI: &str = "NotoEmoji-Regular";
const ICONS: &str = "emoji-icon-font";

/// Where the emoji face stands.
#[derive(Clone, Debug)]
pub enum EmojiFace {
    Loading,
    Ready(Arc<FontData>),
    Failed(String),
}

impl EmojiFace {
    /// The face from a font file's bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> EmojiFace {
        EmojiFace::from_data(FontData::from_owned(bytes))
    }

    /// The face, drawn a little smaller as egui's defaults do.
    fn from_data(data: FontData) -> EmojiFace {
        EmojiFace::Ready(Arc::new(data.tweak(FontTweak {
            scale: 0.81,
            ..default()
        })))
    }
}

/// The emoji face, filled in by the fetch on the web (shared with its future).
#[derive(Resource, Clone)]
pub struct EmojiFont(Arc<Mutex<EmojiFace>>);

impl EmojiFont {
    pub fn new(face: EmojiFace) -> EmojiFont {
        EmojiFont(Arc::new(Mutex::new(face)))
    }

    pub fn set(&self, face: EmojiFace) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = face;
    }

    pub fn get(&self) -> EmojiFace {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Natively: the face from the binary. On the web: loading, with its fetch started.
    fn start() -> EmojiFont {
        #[cfg(not(target_arch = "wasm32"))]
        {
            EmojiFont::new(EmojiFace::from_data(FontData::from_static(
                epaint_default_fonts::NOTO_EMOJI_REGULAR,
            )))
        }
        #[cfg(target_arch = "wasm32")]
        {
            let font = EmojiFont::new(EmojiFace::Loading);
            let slot = font.clone();
            wasm_bindgen_futures::spawn_local(async move {
                slot.set(match crate::web::host::fetch_bytes(EMOJI_FONT_URL).await {
                    Ok(bytes) => EmojiFace::from_bytes(bytes),
                    Err(e) => EmojiFace::Failed(e),
                });
            });
            font
        }
    }
}

/// The playground's fonts, with the emoji face if it is there.
pub fn definitions(emoji: Option<Arc<FontData>>) -> FontDefinitions {
    let mut fonts = FontDefinitions::empty();
    let mut add = |name: &str, data: Arc<FontData>| {
        fonts.font_data.insert(name.to_owned(), data);
    };
    add(
        HACK,
        Arc::new(FontData::from_static(epaint_default_fonts::HACK_REGULAR)),
    );
    add(
        UBUNTU,
        Arc::new(FontData::from_static(epaint_default_fonts::UBUNTU_LIGHT)),
    );
    add(
        ICONS,
        Arc::new(
            FontData::from_static(epaint_default_fonts::EMOJI_ICON).tweak(FontTweak {
                scale: 0.90,
                ..default()
            }),
        ),
    );
    let has_emoji = emoji.is_some();
    if let Some(emoji) = emoji {
        add(EMOJI, emoji);
    }
    let family = |names: &[&str]| -> Vec<String> {
        names
            .iter()
            .filter(|name| has_emoji || **name != EMOJI)
            .map(|name| name.to_string())
            .collect()
    };
    fonts
        .families
        .insert(FontFamily::Monospace, family(&[HACK, UBUNTU, EMOJI, ICONS]));
    fonts.families.insert(
        FontFamily::Proportional,
        family(&[UBUNTU, EMOJI, ICONS, HACK]),
    );
    fonts
}

pub fn fonts_plugin(app: &mut App) {
    app.insert_resource(EmojiFont::start()).add_systems(
        PreUpdate,
        install_fonts
            .after(EguiPreUpdateSet::InitContexts)
            .before(EguiPreUpdateSet::BeginPass),
    );
}

/// What the contexts were last given: `None` before any, else whether with the emoji face.
#[derive(Default)]
struct Installed {
    with_emoji: Option<bool>,
    failure_logged: bool,
}

/// Gives new contexts the fonts before their first pass, and every context the emoji face once
/// it arrives (one `set_fonts` each time: egui rebuilds its glyph atlas on the next pass).
fn install_fonts(
    mut contexts: Query<&mut EguiContext>,
    font: Res<EmojiFont>,
    mut installed: Local<Installed>,
) {
    let face = font.get();
    if let EmojiFace::Failed(why) = &face
        && !installed.failure_logged
    {
        installed.failure_logged = true;
        warn!(
            "cannot load the emoji font {EMOJI_FONT_URL} ({why}): emoji show as boxes, all other text is drawn as usual; check that the site folder has {EMOJI_FONT_URL}"
        );
    }
    let emoji = match face {
        EmojiFace::Ready(data) => Some(data),
        EmojiFace::Loading | EmojiFace::Failed(_) => None,
    };
    let with_emoji = emoji.is_some();
    let all = installed.with_emoji != Some(with_emoji);
    let mut fonts = None;
    for mut context in &mut contexts {
        if all || context.is_added() {
            let fonts = fonts.get_or_insert_with(|| definitions(emoji.clone()));
            context.get_mut().set_fonts(fonts.clone());
        }
    }
    installed.with_emoji = Some(with_emoji);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn families(fonts: &FontDefinitions, family: FontFamily) -> Vec<String> {
        fonts.families.get(&family).cloned().unwrap_or_default()
    }

    #[test]
    fn without_the_emoji_face_every_family_skips_it_and_words_fall_back_to_hack() {
        let fonts = definitions(None);
        assert_eq!(
            families(&fonts, FontFamily::Proportional),
            [UBUNTU, ICONS, HACK]
        );
        assert_eq!(
            families(&fonts, FontFamily::Monospace),
            [HACK, UBUNTU, ICONS]
        );
        assert!(!fonts.font_data.contains_key(EMOJI));
    }

    #[test]
    fn with_the_emoji_face_the_order_is_eguis_plus_hack_last_for_words() {
        let EmojiFace::Ready(face) =
            EmojiFace::from_bytes(epaint_default_fonts::NOTO_EMOJI_REGULAR.to_vec())
        else {
            unreachable!()
        };
        let fonts = definitions(Some(face));
        assert_eq!(
            families(&fonts, FontFamily::Proportional),
            [UBUNTU, EMOJI, ICONS, HACK]
        );
        assert_eq!(
            families(&fonts, FontFamily::Monospace),
            [HACK, UBUNTU, EMOJI, ICONS]
        );
        assert_eq!(fonts.font_data[EMOJI].tweak.scale, 0.81);
    }

    /// Runs one egui pass on `ctx` and names the faces it has, sorted.
    fn pass(ctx: &egui::Context) -> Vec<String> {
        // (Font textures are not uploaded here.)
        ctx.run_ui(egui::RawInput::default(), |_| {})
            .textures_delta
            .clear();
        let mut names: Vec<String> =
            ctx.fonts(|f| f.definitions().font_data.keys().cloned().collect());
        names.sort();
        names
    }

    /// Whether `c` is drawn with a glyph of its own in words, not with the replacement glyph
    /// of a character no face has (egui's `has_glyph` answers "no" for every character of the
    /// face that holds the replacement glyph).
    fn has_glyph(ctx: &egui::Context, c: char) -> bool {
        let glyph = |c: char| {
            ctx.fonts_mut(|f| {
                let galley = f.layout_no_wrap(
                    c.to_string(),
                    egui::FontId::proportional(14.0),
                    egui::Color32::WHITE,
                );
                galley.rows[0].glyphs[0].uv_rect
            })
        };
        glyph(c) != glyph('\u{E000}')
    }

    fn context(app: &mut App, entity: Entity) -> egui::Context {
        let mut context = app.world_mut().get_mut::<EguiContext>(entity).unwrap();
        context.get_mut().clone()
    }

    fn app_with(face: EmojiFace) -> (App, EmojiFont, Entity) {
        let mut app = App::new();
        let font = EmojiFont::new(face);
        app.insert_resource(font.clone())
            .add_systems(PreUpdate, install_fonts);
        let entity = app.world_mut().spawn(EguiContext::default()).id();
        (app, font, entity)
    }

    #[test]
    fn a_context_gets_the_fonts_at_once_and_the_emoji_face_when_it_arrives() {
        let (mut app, font, entity) = app_with(EmojiFace::Loading);
        app.update();
        let ctx = context(&mut app, entity);
        assert_eq!(pass(&ctx), [HACK, UBUNTU, ICONS]);
        for c in ['a', 'ж', '◀', '▶', '⏸', '─'] {
            assert!(
                has_glyph(&ctx, c),
                "no glyph for {c:?} before the emoji face"
            );
        }
        assert!(!has_glyph(&ctx, '😀'), "an emoji before its face arrived");

        // Nothing new: the same fonts stay.
        app.update();
        assert_eq!(pass(&ctx), [HACK, UBUNTU, ICONS]);

        font.set(EmojiFace::from_bytes(
            epaint_default_fonts::NOTO_EMOJI_REGULAR.to_vec(),
        ));
        app.update();
        assert_eq!(pass(&ctx), [HACK, EMOJI, UBUNTU, ICONS]);
        assert!(has_glyph(&ctx, '😀'));

        // A context made later gets the emoji face at once.
        let later = app.world_mut().spawn(EguiContext::default()).id();
        app.update();
        let later = context(&mut app, later);
        assert_eq!(pass(&later), [HACK, EMOJI, UBUNTU, ICONS]);
    }

    #[test]
    fn a_failed_fetch_keeps_the_other_faces() {
        let (mut app, _, entity) = app_with(EmojiFace::Failed("HTTP 404".into()));
        app.update();
        app.update();
        let ctx = context(&mut app, entity);
        assert_eq!(pass(&ctx), [HACK, UBUNTU, ICONS]);
        assert!(has_glyph(&ctx, 'a') && has_glyph(&ctx, '◀'));
    }
}
