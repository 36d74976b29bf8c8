//! A process node drawn as one instance: the disc, the mailbox light and the state ring on one
//! quad, by one shader (`node_glyph.wgsl`).
//!
//! On a software renderer (SwiftShader) every instance of an instanced draw costs about as much
//! as a draw. A node used to be three mesh instances (disc, light, ring: 192 in the crowd's 12
//! draws); it is now one. Everything per node fits in the mesh's 32-bit tag ([`pack_tag`]); the
//! colours and the widths that follow the zoom are in the one material all nodes share
//! ([`NodeGlyphMaterial`]), so Bevy batches every node into one draw.
//!
//! The geometry is the one the meshes had: the disc of the node's radius, the light of
//! `LIGHT_RADIUS_OF_NODE` of the theme's node radius centred `LIGHT_OFFSET` of the radius up and
//! right, the ring centred half the theme's ring width outside the disc and as wide as
//! [`super::draw::line_widths_px`] says at this zoom. Edges are smoothed over one pixel.

use bevy::asset::{AssetPath, embedded_asset, embedded_path};
use bevy::prelude::*;
use bevy::render::render_resource::{AsBindGroup, ShaderType};
use bevy::shader::ShaderRef;
use bevy::sprite_render::{AlphaMode2d, Material2d, Material2dPlugin};

use crate::theme::{Theme, ThemeColor};

/// The light's radius, as a share of the theme's node radius.
pub const LIGHT_RADIUS_OF_NODE: f32 = 0.28;
/// The light's centre, up and right, as a share of the node's radius on each axis.
pub const LIGHT_OFFSET: f32 = 0.72;

/// Colours in the material: the program palette, the zombie body, three mailbox lights, three
/// state rings.
pub const GLYPH_COLORS: usize = 17;
const ZOMBIE_BODY: u32 = 10;
const FIRST_LIGHT: usize = 11;
const FIRST_RING: usize = 14;

/// The disc's radius in the tag: world units in 1/32 steps (up to 2,047).
const DISC_STEPS_PER_UNIT: f32 = 32.0;

/// The body's colour in the material's palette.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyColor {
    /// Index into [`Theme::program_palette`].
    Program(usize),
    Zombie,
}

/// What one node shows, before packing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GlyphState {
    /// World units (the node's radius times its spawn-animation scale).
    pub disc_radius: f32,
    /// The node's spawn-animation scale, 0 to 1.
    pub scale: f32,
    pub body: BodyColor,
    /// 0 idle, 1 pending, 2 ready.
    pub light: u8,
    /// 0 running, 1 blocked, 2 zombie.
    pub ring: u8,
}

/// Packs a node into the mesh tag: bits 0-15 the disc radius (1/32 world units), 16-23 the
/// scale (1/255), 24-27 the body colour, 28-29 the light, 30-31 the ring.
pub fn pack_tag(state: &GlyphState) -> u32 {
    let disc = (state.disc_radius.max(0.0) * DISC_STEPS_PER_UNIT)
        .round()
        .min(f32::from(u16::MAX)) as u32;
    let scale = (state.scale.clamp(0.0, 1.0) * 255.0).round() as u32;
    let body = match state.body {
        BodyColor::Program(i) => (i as u32).min(ZOMBIE_BODY - 1),
        BodyColor::Zombie => ZOMBIE_BODY,
    };
    disc | scale << 16
        | body << 24
        | u32::from(state.light.min(2)) << 28
        | u32::from(state.ring.min(2)) << 30
}

/// The inverse of [`pack_tag`]: what the shader reads.
#[cfg(test)]
pub fn unpack_tag(tag: u32) -> GlyphState {
    let body = (tag >> 24) & 0xF;
    GlyphState {
        disc_radius: (tag & 0xFFFF) as f32 / DISC_STEPS_PER_UNIT,
        scale: ((tag >> 16) & 0xFF) as f32 / 255.0,
        body: if body >= ZOMBIE_BODY {
            BodyColor::Zombie
        } else {
            BodyColor::Program(body as usize)
        },
        light: ((tag >> 28) & 0x3) as u8,
        ring: ((tag >> 30) & 0x3) as u8,
    }
}

/// The state ring's band in world units around a disc of `disc` world units, as the shader draws
/// it: centred `ring_width / 2` outside the disc, `width_px` screen pixels wide at
/// `world_per_px`, never reaching inside the centre. Returns (inner, outer) radius.
pub fn ring_band(disc: f32, ring_width: f32, width_px: f32, world_per_px: f32) -> (f32, f32) {
    let centre = disc + ring_width * 0.5;
    let half = (width_px * world_per_px * 0.5).min(centre);
    (centre - half, centre + half)
}

/// Half the side of the quad a node needs, in world units: the ring, and the light that pokes out
/// past it at the upper right, plus two pixels for the smoothed edge.
pub fn glyph_half_extent(
    disc: f32,
    scale: f32,
    theme: &Theme,
    ring_px: f32,
    world_per_px: f32,
) -> f32 {
    let (_, outer) = ring_band(disc, theme.ring_width, ring_px, world_per_px);
    let light = std::f32::consts::SQRT_2 * LIGHT_OFFSET * disc
        + theme.node_radius * LIGHT_RADIUS_OF_NODE * scale;
    outer.max(light) + 2.0 * world_per_px
}

/// The shared uniform: colours (linear) and the widths that follow the zoom.
#[derive(ShaderType, Clone, Debug, PartialEq)]
pub struct NodeGlyphUniform {
    pub colors: [LinearRgba; GLYPH_COLORS],
    pub ring_width: f32,
    pub ring_half_width: f32,
    pub light_radius: f32,
    pub light_offset: f32,
}

impl NodeGlyphUniform {
    pub fn new(theme: &Theme, ring_px: f32, world_per_px: f32) -> Self {
        let linear = |c: ThemeColor| c.bevy().to_linear();
        let mut colors = [LinearRgba::NONE; GLYPH_COLORS];
        for (slot, color) in colors.iter_mut().zip(theme.program_palette) {
            *slot = linear(color);
        }
        colors[ZOMBIE_BODY as usize] = linear(theme.state_zombie);
        colors[FIRST_LIGHT] = linear(theme.mailbox_idle);
        colors[FIRST_LIGHT + 1] = linear(theme.mailbox_pending);
        colors[FIRST_LIGHT + 2] = linear(theme.mailbox_ready);
        colors[FIRST_RING] = linear(theme.state_running);
        colors[FIRST_RING + 1] = linear(theme.state_blocked);
        colors[FIRST_RING + 2] = linear(theme.state_zombie);
        Self {
            colors,
            ring_width: theme.ring_width,
            ring_half_width: ring_px * world_per_px * 0.5,
            light_radius: theme.node_radius * LIGHT_RADIUS_OF_NODE,
            light_offset: LIGHT_OFFSET,
        }
    }

    /// The colour the shader paints for a body, light or ring slot.
    #[cfg(test)]
    pub fn body_color(&self, body: BodyColor) -> LinearRgba {
        match body {
            BodyColor::Program(i) => self.colors[i.min(ZOMBIE_BODY as usize - 1)],
            BodyColor::Zombie => self.colors[ZOMBIE_BODY as usize],
        }
    }

    #[cfg(test)]
    pub fn light_color(&self, light: u8) -> LinearRgba {
        self.colors[FIRST_LIGHT + usize::from(light.min(2))]
    }

    #[cfg(test)]
    pub fn ring_color(&self, ring: u8) -> LinearRgba {
        self.colors[FIRST_RING + usize::from(ring.min(2))]
    }
}

/// The one material every node shares.
#[derive(Asset, TypePath, AsBindGroup, Clone, Debug)]
pub struct NodeGlyphMaterial {
    #[uniform(0)]
    pub glyph: NodeGlyphUniform,
}

impl Material2d for NodeGlyphMaterial {
    fn vertex_shader() -> ShaderRef {
        shader_ref()
    }

    fn fragment_shader() -> ShaderRef {
        shader_ref()
    }

    fn alpha_mode(&self) -> AlphaMode2d {
        AlphaMode2d::Blend
    }
}

fn shader_ref() -> ShaderRef {
    ShaderRef::Path(
        AssetPath::from_path_buf(embedded_path!("node_glyph.wgsl")).with_source("embedded"),
    )
}

/// Registers the material and its shader. Needs the asset server (a renderer-less test app with
/// `AssetPlugin` gets the material's assets; one without gets nothing, and draws nothing).
pub fn add_node_glyph_material(app: &mut App) {
    if !app
        .world()
        .contains_resource::<bevy::asset::io::embedded::EmbeddedAssetRegistry>()
    {
        return;
    }
    embedded_asset!(app, "node_glyph.wgsl");
    if !app.is_plugin_added::<Material2dPlugin<NodeGlyphMaterial>>() {
        app.add_plugins(Material2dPlugin::<NodeGlyphMaterial>::default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_carries_every_field_and_clamps_what_does_not_fit() {
        let state = GlyphState {
            disc_radius: 22.5,
            scale: 0.5,
            body: BodyColor::Program(7),
            light: 2,
            ring: 1,
        };
        let back = unpack_tag(pack_tag(&state));
        assert!((back.disc_radius - 22.5).abs() < 1.0 / 32.0, "{back:?}");
        assert!((back.scale - 0.5).abs() < 1.0 / 255.0, "{back:?}");
        assert_eq!(
            (back.body, back.light, back.ring),
            (BodyColor::Program(7), 2, 1)
        );
        let zombie = unpack_tag(pack_tag(&GlyphState {
            disc_radius: 1e9,
            scale: 7.0,
            body: BodyColor::Zombie,
            light: 9,
            ring: 9,
        }));
        assert_eq!(zombie.disc_radius, f32::from(u16::MAX) / 32.0);
        assert_eq!(zombie.scale, 1.0);
        assert_eq!(
            (zombie.body, zombie.light, zombie.ring),
            (BodyColor::Zombie, 2, 2)
        );
        // A program index past the palette never reads the zombie's slot.
        let far = unpack_tag(pack_tag(&GlyphState {
            body: BodyColor::Program(40),
            ..state
        }));
        assert_eq!(far.body, BodyColor::Program(9));
    }

    #[test]
    fn the_ring_band_spans_the_old_gizmo_circles_band_at_any_zoom() {
        // Zoom 1: from the disc's edge out to the theme's ring width.
        let (inner, outer) = ring_band(22.0, 4.0, 4.0, 1.0);
        assert_eq!((inner, outer), (22.0, 26.0));
        // Zoomed out four times: 1.5 pixels are 6 world units, around the same centre line.
        let (inner, outer) = ring_band(22.0, 4.0, 1.5, 4.0);
        assert_eq!((inner, outer), (21.0, 27.0));
        // Wider than the disc (far out, tiny disc): a full disc, never a negative radius.
        let (inner, outer) = ring_band(0.5, 0.0, 2.0, 10.0);
        assert_eq!((inner, outer), (0.0, 1.0));
    }

    #[test]
    fn the_quad_holds_the_ring_and_the_light() {
        let theme = Theme::default();
        let half = glyph_half_extent(22.0, 1.0, &theme, 4.0, 1.0);
        let light_far = std::f32::consts::SQRT_2 * LIGHT_OFFSET * 22.0
            + theme.node_radius * LIGHT_RADIUS_OF_NODE;
        assert!(half >= light_far + 2.0 - 1e-4, "{half} {light_far}");
        let (_, outer) = ring_band(22.0, theme.ring_width, 4.0, 1.0);
        assert!(half >= outer + 2.0 - 1e-4);
    }

    #[test]
    fn the_uniform_holds_the_themes_colours_in_linear_space() {
        for theme in [Theme::default(), Theme::projector()] {
            let u = NodeGlyphUniform::new(&theme, 4.0, 2.0);
            assert_eq!(
                u.body_color(BodyColor::Program(3)),
                theme.program_palette[3].bevy().to_linear()
            );
            assert_eq!(
                u.body_color(BodyColor::Zombie),
                theme.state_zombie.bevy().to_linear()
            );
            assert_eq!(u.light_color(1), theme.mailbox_pending.bevy().to_linear());
            assert_eq!(u.ring_color(1), theme.state_blocked.bevy().to_linear());
            assert_eq!(u.ring_half_width, 4.0);
        }
    }
}
